/* SPDX-License-Identifier: MIT */
/*
 * restore-image-parts.h - the parts the flat restore image is built from
 * (private to host/restore/). Each part turns some sections of the snapshot
 * into tables of the image, checking and converting them here, where errors
 * can be reported well, so that the guest restorer only follows orders:
 *
 *   restore-image-task.c    TASK's task and signal state, REGS, TLS, FPU
 *   restore-image-memory.c  MM (fields, auxv), VMAS and the files they map,
 *                           PAGEMAP (the pages the image restores)
 *   restore-image-fds.c     TASK's fds and process environment
 *   restore-image-kobjects.c  fds on anonymous inodes (eventfd, epoll)
 *   restore-image-tables.c  the tables, and what the parts share: strings,
 *                           the files to put in the guest, refusals
 *
 * restore-image-write.c runs them in that order, then lays the tables out
 * and writes the file (include/snapvm/restore-image-format.h).
 */
#ifndef SNAPVM_RESTORE_IMAGE_PARTS_H
#define SNAPVM_RESTORE_IMAGE_PARTS_H

#include <glib.h>

#include "snapvm/restore-image-format.h"
#include "host/restore/restore-image-build.h"
#include "host/snapshot/snapshot-fds.h"
#include "host/snapshot/snapshot-reader.h"

/* The image while it is built: its header (the parts fill their fields,
 * restore-image-write.c the counts and offsets) and its tables. */
typedef struct SvRimgTables {
	struct sv_rimg_header h;
	GByteArray *strings; /* NUL-terminated, "" at offset 0 */
	/* files to put in the guest, one per path: an open regular file joins
	 * the mapped ones, so it is carried and recreated the same way */
	GArray *files;		  /* struct sv_rimg_file */
	GPtrArray *file_shas;	  /* the snapshot's sha256 per file ("" if not carried) */
	GHashTable *file_by_path; /* path -> index (GUINT_TO_POINTER) */
	gboolean uncarried;	  /* some file is not carried (SV_RIMG_NO_FILES) */
	/* memory-only files (restore-image-memfiles.c): inode -> file index,
	 * and the start of each mapping of one -> file index */
	GHashTable *memfile_by_inode, *memfile_by_vma;
	GArray *fsents; /* struct sv_rimg_fsent (restore-image-fs.c) */
	/* task part */
	GArray *sigactions; /* struct sv_rimg_sigaction */
	GArray *sigqueue;   /* struct sv_rimg_sigqueue */
	GArray *regs;	    /* struct sv_rimg_named: REGS, then TLS's integers */
	GVariant *fpu;	    /* ay: the FPU state as the snapshot has it */
	/* memory part */
	GArray *auxv;	   /* guint64 (id, value) pairs, AT_NULL last */
	GArray *vmas;	   /* struct sv_rimg_vma, by start */
	GArray *page_runs; /* SvRestorePageRun, by vaddr: the pages the image restores */
	GArray *lazy_runs; /* SvRestorePageRun, by vaddr: those the pager places (lazy-image.c) */
	/* fds part */
	GArray *fds;	     /* struct sv_rimg_fd, by number */
	GArray *groups;	     /* guint32 */
	GByteArray *fd_data; /* pipes' unread bytes, epoll interest lists */
	/* the threads besides the leader (task part) */
	GArray *threads;	 /* struct sv_rimg_thread */
	GArray *thread_regs;	 /* struct sv_rimg_named, a slice per thread */
	GArray *thread_sigqueue; /* struct sv_rimg_sigqueue, a slice per thread */
	GByteArray *thread_fpu;	 /* FPU states, each 64-byte aligned */
} SvRimgTables;

/* Empty tables (strings holding only ""), header zeroed. */
void sv_rimg_tables_init(SvRimgTables *t);
void sv_rimg_tables_clear(SvRimgTables *t);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvRimgTables, sv_rimg_tables_clear)

/* Appends str and its NUL to the image's strings; returns its offset. */
guint32 sv_rimg_add_string(SvRimgTables *t, const char *str);
/* The index of the file at path, added on first use: carried when the
 * snapshot has its contents (sha, in hex), else t->uncarried is set. */
guint32 sv_rimg_add_file(SvRimgTables *t, const char *path, const char *sha);
/* A file that exists only in memory: one entry per file, never shared
 * with a file at the same path (its name may now be another file's). */
struct sv_rimg_file *sv_rimg_add_memfile(SvRimgTables *t, const char *path, const char *sha,
					 guint32 *ret_index);

/* lazy-image.c (SV_RIMG_LAZY): marks the private anonymous mappings
 * the pager fills SV_RIMG_VMA_LAZY and moves their pages from page_runs
 * to lazy_runs. */
void sv_rimg_lazy_split(SvRimgTables *t, guint64 page_size);

/* Fails with SV_ERROR_INVALID_ARGUMENT and the message: a snapshot
 * restore cannot honour. */
gboolean sv_rimg_refuse(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* The task part: h's pid, comm and task fields (robust list, rseq,
 * signal masks, sigaltstack, personality), the signal actions and queued
 * signals, the registers by name (REGS, and the integers of TLS, whose
 * descriptor tables must be empty) and the FPU state; then the same of
 * every other thread (SV_TASK_THREADS) into the thread tables. */
gboolean sv_rimg_task_build(SvRimgTables *t, GVariant *task, GVariant *regs, GVariant *tls,
			    GVariant *fpu, GError **error);

/* The memory part, in three steps: h's mm fields and the saved auxv (MM);
 * the mappings and the files they map (VMAS); and, once the files are
 * known, the pages to restore (PAGEMAP), less those a private file mapping
 * reads from its carried file anyway. */
gboolean sv_rimg_mm_build(SvRimgTables *t, GVariant *mm, GError **error);
/* The files that exist only in memory (TASK's SV_TASK_MEMFILES), before
 * the mappings and fds that name them. */
gboolean sv_rimg_memfiles_build(SvRimgTables *t, GVariant *task, GError **error);
/* Makes e (flags already set) an fd of the memory-only file with that
 * inode, at offset pos. */
gboolean sv_rimg_memfile_fd(SvRimgTables *t, struct sv_rimg_fd *e, guint64 inode, guint64 pos,
			    GError **error);
gboolean sv_rimg_vmas_build(SvRimgTables *t, GVariant *vmas, GError **error);
gboolean sv_rimg_page_runs_build(SvRimgTables *t, SvSnapshotReader *r, GVariant *pagemap,
				 GError **error);

/* The files the guest wrote since boot (the snapshot's FS section; NULL:
 * none): h's nfsents and the fs entries, their contents as files. */
gboolean sv_rimg_fs_build(SvRimgTables *t, GVariant *fs, GError **error);

/* The fds part: h's SV_RIMG_FDS fields (not the offsets), the fd table,
 * groups and pipe data. A snapshot without an "fds" entry gives an image
 * without SV_RIMG_FDS. */
gboolean sv_rimg_fds_build(SvRimgTables *t, GVariant *task, GError **error);

/* restore-image-timers.c: the TASK's POSIX timers into t->fd_data, h's
 * ntimers and timers_off. */
gboolean sv_rimg_posix_timers_build(SvRimgTables *t, GVariant *task, GError **error);

/* restore-image-kobjects.c: entry's record e, of an eventfd, a timerfd,
 * a signalfd; of an
 * epoll fd (its interest list into t->fd_data, each target checked
 * against the snapshot's fds list). */
gboolean sv_rimg_fd_eventfd(const SvSnapFd *entry, struct sv_rimg_fd *e, GError **error);
gboolean sv_rimg_fd_timerfd(const SvSnapFd *entry, struct sv_rimg_fd *e, GError **error);
gboolean sv_rimg_fd_signalfd(const SvSnapFd *entry, struct sv_rimg_fd *e, GError **error);
/* restore-image-inotify.c: an inotify fd (its snapshot entry d): its
 * watches, sorted by wd, into t->fd_data */
gboolean sv_rimg_fd_inotify(SvRimgTables *t, GVariant *d, struct sv_rimg_fd *e, GError **error);
/* restore-image-locks.c: the locks entry holds, into t->fd_data as e's. */
gboolean sv_rimg_fd_locks(SvRimgTables *t, const SvSnapFd *entry, struct sv_rimg_fd *e,
			  GError **error);
/* ret_pair: the socket's pair identity (the same for both ends) */
gboolean sv_rimg_fd_unix(SvRimgTables *t, GVariant *fds, const SvSnapFd *entry,
			 struct sv_rimg_fd *e, guint64 *ret_pair, GError **error);
gboolean sv_rimg_fd_inet(SvRimgTables *t, const SvSnapFd *entry, struct sv_rimg_fd *e,
			 GError **error);
gboolean sv_rimg_fd_epoll(SvRimgTables *t, GVariant *fds, const SvSnapFd *entry,
			  struct sv_rimg_fd *e, GError **error);
/* What the process sees of the kernel around it: h's SV_RIMG_PRCTL,
 * SV_RIMG_UTS and SV_RIMG_CLOCKS fields, each when the snapshot has it. */
gboolean sv_rimg_process_build(SvRimgTables *t, GVariant *task, GError **error);

#endif
