/* SPDX-License-Identifier: MIT */
/*
 * checkpoint.h - one process's complete state, taken from outside its guest
 * into a snapshot file (include/snapvm/snapshot-format.h).
 *
 * The VM is paused only while guest memory is read: the task's registers,
 * FPU, TLS, signal and mm state are decoded and its present pages copied
 * into host memory; the VM is then resumed and the snapshot written from the
 * copy, atomically. The target is never ptraced.
 *
 * With kill_after nothing is ever lost: the process is first frozen by the
 * guest agent (cgroup v2 freezer, guest/agent/hold.c), so it cannot run on
 * past the state captured; it is killed only once the snapshot is durably
 * written (fsync'd, renamed) and read back valid. If any step fails it is
 * thawed and runs on as if nothing happened, and the error says so.
 *
 * Every thread of the process is taken. A thread caught running on a vCPU:
 * in user mode its live registers come from that vCPU; in kernel mode (mid
 * syscall, mid context switch) the VM is resumed for a moment and paused
 * again, a bounded number of times, until every thread is either off every
 * CPU (its state then all saved in memory) or in user mode.
 */
#ifndef SNAPVM_CHECKPOINT_H
#define SNAPVM_CHECKPOINT_H

#include <glib.h>

#include "host/machine/machine.h"

/* Reads a guest file whose contents a file-backed mapping needs (the
 * agent's READFILE); NULL: file contents are not carried. */
typedef GBytes *(*SvGuestFileFn)(const char *path, gpointer data, GError **error);
/* Reports progress of the longest phase: bytes done of total. */
typedef void (*SvProgressFn)(const char *phase, guint64 done, guint64 total, gpointer data);

typedef struct SvCheckpointOptions {
	guint32 pid;
	const char *output;
	gboolean kill_after; /* kill the process once its state is copied */
	int zstd_level;	     /* 0: page data stored raw */
	/* an earlier snapshot of the same process: only the pages that changed
	 * since are stored (incremental; page-select.h), or NULL */
	const char *parent;
	/* > 0: copy the pages while the VM runs, in at most this many rounds,
	 * before the pause copies what was written since (precopy.h) */
	guint precopy_rounds;
	SvGuestFileFn read_file;
	gpointer read_file_data;
	/* carry the files the guest wrote since boot (fs-carry.h) */
	gboolean carry_fs;
	SvProgressFn progress;
	gpointer progress_data;
	/* The agent's hold on the process, for kill_after (nothing outside
	 * the guest can stop or kill one of its processes). freeze returns
	 * once no thread of pid can run; thaw lets it run on where it was. */
	gboolean (*freeze)(guint32 pid, gpointer data, GError **error);
	gboolean (*thaw)(guint32 pid, gpointer data, GError **error);
	gboolean (*kill)(guint32 pid, gpointer data, GError **error);
	gpointer control_data;
	/* The guest agent's soft-dirty marks (SV_MSG_SOFT_DIRTY, dirty-track.h):
	 * arm clears pid's soft-dirty bits and records mark; else only asks;
	 * *ret_mark: the mark recorded now. NULL: pages are hashed. */
	gboolean (*soft_dirty)(guint32 pid, gboolean arm, const char *mark, char **ret_mark,
			       gpointer data, GError **error);
	/* Files of the guest's root filesystem image that need not be carried
	 * (host/image/rootfs-refs.h); NULL: carry every file. */
	struct SvRootfsRefs *image_refs;
} SvCheckpointOptions;

typedef struct SvCheckpointStats {
	double profile_ms;     /* the guest kernel's profile and RAM view made ready */
	double track_ms;       /* soft-dirty judged or armed through the agent */
	double carry_ms;       /* of write_ms: the files carried (fs, mapped, open) */
	double freeze_ms;      /* kill_after: until the process was held still */
	double held_ms;	       /* kill_after: from then until it was killed */
	double prepare_ms;     /* before the pause: the copy's destination faulted in
				* (beside track_ms, on a thread of its own; a soft-dirty
				* incremental one: counted, and faulted in if large) */
	double pause_ms;       /* the VM stopped, all attempts together */
	double copy_ms;	       /* of which: copying pages out of guest RAM */
	double pause_files_ms; /* and reading memory-only and guest-written files */
	double write_ms;       /* writing the snapshot after the resume */
	double verify_ms;      /* kill_after: reading it back before the kill */
	double total_ms;
	/* where an incremental checkpoint's fixed cost goes */
	double parent_ms;      /* --parent: opened, its chain checked, its page hashes read (on a
			    * thread of its own, beside profile_ms) */
	double parent_wait_ms; /* of which waited for once the profile was ready */
	double writer_ms;      /* the new file made, before anything is held */
	double capture_ms;     /* of pause_ms: the capture (state, VMAs, page walk, copy) */
	double hashes_ms;      /* of write_ms: the new snapshot's page hashes and their section */
	double finish_ms;      /* of write_ms: the file's tables, fsync and rename */
	guint attempts;	       /* pauses it took to find the task off the kernel */
	guint vmas;
	guint files;		   /* carried by path */
	guint64 files_agent_bytes; /* their bytes read through the agent */
	guint64 files_cache_bytes; /* and from the page cache (mapped-files.h) */
	guint files_from_parent;   /* carried files the parent had: referred to */
	guint64 files_from_parent_bytes;
	guint memfiles;		      /* carried by identity: in memory only (memfiles.h) */
	guint64 memfiles_cache_bytes; /* their bytes read from the page cache */
	guint64 memfiles_agent_bytes; /* and through the agent */
	guint fs_files;		      /* written since boot, carried (carry_fs) */
	guint64 fs_bytes;	      /* their contents, from the page cache */
	guint files_referenced;	      /* in the root filesystem image, not carried */
	guint64 pages_present;	      /* mapped pages copied */
	guint64 pages_stored; /* of which non-zero (or, incremental, changed), in the file */
	double hash_ms;	      /* hashing the pages (after the resume; incremental: in the pause) */
	guint64 file_size;
	guint precopy_rounds;	    /* --precopy: rounds run */
	guint64 precopy_pages;	    /* pages they copied, all together */
	guint64 precopy_last_pages; /* of which the last round's */
	guint64 pages_from_precopy; /* present pages written from the rounds' copies */
	double precopy_ms;	    /* the rounds, from first arm to last copy */
	double precopy_held_ms;	    /* the process frozen for re-arms, all rounds */
	double precopy_paused_ms;   /* the VM paused for the rounds' walks */
	int dirty_method;	    /* SvDirtyMethod (dirty-track.h): how the pages were chosen */
	gboolean dirty_armed;	    /* soft-dirty bits cleared for a later incremental */
	char *dirty_note;	    /* why soft-dirty was not used or armed, or NULL */
	const char *regs_source;    /* the leader's: "memory" or "vcpu" */
	SvSyscallFixup syscall;	    /* the leader's */
	guint threads;		    /* the leader included */
	guint threads_on_vcpu;	    /* whose registers came from a vCPU */
	/* set when the VM could not be resumed after the capture (the guest
	 * died meanwhile): the snapshot was written all the same */
	char *resume_error;
} SvCheckpointStats;

void sv_checkpoint_stats_clear(SvCheckpointStats *st);

gboolean sv_checkpoint(SvMachine *m, const SvCheckpointOptions *o, SvCheckpointStats *stats,
		       GError **error);

#endif
