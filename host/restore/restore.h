/* SPDX-License-Identifier: MIT */
/*
 * restore.h - what `snapvm restore` does before the guest boots: checks a
 * snapshot can be restored by this build, and packs the guest restorer and
 * the flat restore image into the initrd appended to the guest image's.
 */
#ifndef SNAPVM_RESTORE_PLAN_H
#define SNAPVM_RESTORE_PLAN_H

#include <glib.h>

#include "snapvm/arch.h"
#include "host/agent/agent-client.h"
#include "host/machine/machine.h"
#include "host/restore/restore-image-build.h"
#include "host/snapshot/snapshot-reader.h"

/* The arch of the snapshot, checked against want (the user's --arch, may
 * be NULL) and against the restorers this build has. */
const SvArchOps *sv_restore_arch(SvSnapshotReader *r, const char *want, GError **error);

/* Writes, in dir: the flat image, the restorer, and initrd.cpio (the base
 * initramfs plus both). *ret_initrd is the initrd's path. The image and
 * restorer files are removed once they are in the initrd. */
gboolean sv_restore_build_initrd(SvSnapshotReader *r, const SvArchOps *arch,
				 const char *base_initramfs, const char *dir, SvRestorePages pages,
				 char **ret_initrd, SvRestoreImageInfo *ret_info, GError **error);

/* For a guest that is up already (snapvm pool): the image (a file
 * sv_restore_image_write made, with host pages) and, unless the guest has
 * this very restorer already, the restorer written into the guest through
 * its agent, where the initrd would have put them. */
typedef struct SvAgentClient SvAgentClient;
gboolean sv_restore_send_to_guest(const SvArchOps *arch, const char *image, gboolean with_restorer,
				  SvAgentClient *agent, GError **error);
/* A pool guest's initrd (dir/initrd.cpio, in *ret_initrd): base_initramfs
 * with this build's restorer where a restore puts it, so that a restore
 * into the guest sends only its image (1 MiB less through the agent). */
gboolean sv_restore_build_pool_initrd(const SvArchOps *arch, const char *base_initramfs,
				      const char *dir, char **ret_initrd, GError **error);
/* The SHA-256 (hex) of this build's restorer for arch, which must have
 * one. */
char *sv_restore_restorer_sum(const SvArchOps *arch);

/* The same, with every archive of the NULL-terminated list (the base
 * initramfs, then a root filesystem image's modules.cpio) first. */
gboolean sv_restore_build_initrd_layers(SvSnapshotReader *r, const SvArchOps *arch,
					const char *const *archives, const char *dir,
					SvRestorePages pages, char **ret_initrd,
					SvRestoreImageInfo *ret_info, GError **error);

/* Kernel parameters a restore (or pool) guest booted as want says boots
 * with (arch/<arch>/restorer/restore-cmdline; its TCG-only ones when the
 * backend want->accel picks is TCG's); never NULL, free it. */
char *sv_restore_cmdline(const SvMachineConfig *want);

/* Guest RAM a restore of info needs, in MiB: the initrd is in RAM twice
 * while the kernel unpacks it, and the process's pages once more. */
guint sv_restore_memory_mib(const SvRestoreImageInfo *info, guint at_least);

/* Starts the guest restorer on the image in the initrd, asking the agent for
 * the process's own pid (SV_MSG_RUN_AS_PID); *ret_pid is the pid it got. */
gboolean sv_restore_start(SvAgentClient *agent, guint32 want_pid, guint32 run_flags,
			  guint32 *ret_pid, GError **error);
/* Starts a pool guest's standby restorer with mib MiB (restore --standby;
 * host/pool/pool-standby.h), at a pid a restore is unlikely to want. */
gboolean sv_restore_run_standby(SvAgentClient *agent, guint mib, guint32 *ret_pid, GError **error);
/* The same with a pool guest's standby restorer (host/pool/pool-standby.h),
 * already running with pre-faulted memory: it restores the image as
 * want_pid (SV_MSG_STANDBY_GO). An SV_ERROR_AGENT error when that pid is
 * taken or the standby is gone: sv_restore_start still works then. */
gboolean sv_restore_start_standby(SvAgentClient *agent, guint32 standby_pid, guint32 want_pid,
				  guint32 run_flags, GError **error);

/* SV_RIMG_HOST_PAGES (place-pages.c): copies the pages of runs
 * (SvRestoreImageInfo.runs: the staging order) into guest RAM at the
 * frames the restorer reports, one page-frame message (header and frame
 * runs) at a time; each must continue the staging area where the last one
 * ended. */
typedef struct SvGuestMem SvGuestMem;
typedef struct SvPagePlacer SvPagePlacer;
SvPagePlacer *sv_page_placer_new(const SvGuestMem *mem, SvSnapshotReader *r, const GArray *runs);
void sv_page_placer_free(SvPagePlacer *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvPagePlacer, sv_page_placer_free)
gboolean sv_page_placer_add(SvPagePlacer *p, const guint8 *msg, gsize len, GError **error);
/* Every staged page placed? How many are left? */
gboolean sv_page_placer_done(const SvPagePlacer *p);
guint64 sv_page_placer_left(const SvPagePlacer *p);
guint64 sv_page_placer_bytes(const SvPagePlacer *p);
guint64 sv_page_placer_frame_runs(const SvPagePlacer *p);

/* What the placer would do at each section's first page - its checksum
 * checked, its mapping's page tables filled - done ahead on a thread of
 * its own for every uncompressed section of runs (the snapshot's own, not
 * its parents'), while the guest boots or stages: off the copy's critical
 * path. Nothing else may use r until sv_page_prefetch_finish. A section
 * that fails is left to the placer, which reports it. NULL: nothing to
 * do. */
typedef struct SvPagePrefetch SvPagePrefetch;
SvPagePrefetch *sv_page_prefetch_start(SvSnapshotReader *r, const GArray *runs);
/* Waits for it to end (NULL: nothing). */
void sv_page_prefetch_finish(SvPagePrefetch *pf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvPagePrefetch, sv_page_prefetch_finish)

/* Writes len bytes at guest-physical gpa into guest RAM as the placer
 * does (checked by guest-mem, pwrite into the RAM file). */
typedef struct SvGuestRamWriter SvGuestRamWriter;
SvGuestRamWriter *sv_guest_ram_writer_new(void);
void sv_guest_ram_writer_free(SvGuestRamWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvGuestRamWriter, sv_guest_ram_writer_free)
gboolean sv_guest_ram_write(SvGuestRamWriter *w, const SvGuestMem *mem, guint64 gpa,
			    const void *src, gsize len, GError **error);
/* Writes len bytes of data with w at the frames of frames (struct
 * sv_rimg_pfn_run, 4 KiB pages, in order), offset bytes into them: a
 * standby's mailbox (host/pool/pool-standby.h). */
gboolean sv_guest_ram_write_frames(SvGuestRamWriter *w, const SvGuestMem *mem, const GArray *frames,
				   guint64 offset, const void *data, gsize len, GError **error);

/* SV_RIMG_HOST_PAGES with the restorer running (host-pages.c): its
 * page-frame messages, the first bytes of its stdout, answered with the
 * pages in guest RAM as they come, then SV_RIMG_PFN_SIGNAL to let it go
 * on; its stderr meanwhile goes to err_fd (a refusal says why there), and
 * stdout that follows the last message to out_fd. */
/* What guest process pid did next, as the agent reports it. */
typedef struct SvRestoreProcessEvent {
	gboolean exited; /* with wait status: */
	int status;
	guint32 stream; /* else output on stream 1 or 2: */
	const guint8 *bytes;
	guint32 len;
} SvRestoreProcessEvent;
/* Receives frames until one is pid's output or exit (others' are
 * skipped); ev's bytes live as long as *frame. */
gboolean sv_restore_recv_process(SvAgentClient *agent, guint32 pid, gint timeout_ms,
				 SvAgentFrame *frame, SvRestoreProcessEvent *ev, GError **error);
typedef struct SvRestoreHostPages {
	gboolean exited;    /* the restorer exited instead (a refusal), with: */
	int status;	    /* its wait status */
	guint64 bytes;	    /* copied into guest RAM */
	guint messages;	    /* page-frame messages */
	guint64 frame_runs; /* physically contiguous runs in them */
	gint64 first_us;    /* monotonic time the first message came */
} SvRestoreHostPages;
gboolean sv_restore_host_pages(SvAgentClient *agent, guint32 pid, const SvGuestMem *mem,
			       SvSnapshotReader *r, const GArray *runs, int out_fd, int err_fd,
			       SvRestoreHostPages *ret, GError **error);

/* `restore --lazy` (lazy-host.c; the guest's half and the design:
 * guest/restorer/lazy-pager.c). After the staged pages, the restorer's
 * next stdout bytes are the pager's buffer message: read here (stderr to
 * err_fd meanwhile, output after it to out_fd), the frames of the
 * buffer's pages in *ret_frames (guint64 each). If the restorer exits
 * instead, *ret_exited and its wait status. */
gboolean sv_lazy_recv_buffer(SvAgentClient *agent, guint32 pid, int out_fd, int err_fd,
			     GArray **ret_frames, gboolean *ret_exited, int *ret_status,
			     GError **error);
/* Serves the pager from a thread of its own: the waited-for pages first,
 * then every other page of lazy_runs (SvRestorePageRun, by vaddr), until
 * the pager says it placed the last one, or stopped, or shows no sign of
 * life for stall_us (SV_LAZY_HOST_STALL_US: then an error in its stats,
 * and FAILED for a pager that wakes up after all). */
#define SV_LAZY_HOST_STALL_US (300 * G_USEC_PER_SEC)
typedef struct SvLazyServer SvLazyServer;
SvLazyServer *sv_lazy_server_start(const SvGuestMem *mem, SvSnapshotReader *r,
				   const GArray *lazy_runs, GArray *frames, gint64 stall_us,
				   GError **error);
typedef struct SvLazyStats {
	gboolean done;	/* the pager placed every page (or the process was gone) */
	gint64 done_us; /* monotonic time the host saw it */
	guint64 bytes;	/* sent */
	guint chunks;	/* slots filled */
	guint wanted;	/* of them for a waiting thread */
	guint64 faults; /* the pager's count of faults, and those zero-filled */
	guint64 zero_faults;
	char *error;   /* the server's own failure (the pager was told), or NULL */
	gint64 cpu_us; /* the server thread's CPU time, user + system */
} SvLazyStats;
void sv_lazy_stats_clear(SvLazyStats *s);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvLazyStats, sv_lazy_stats_clear)
/* Waits until the server has nothing left to do (the pager's last word,
 * or the server's failure): TRUE; FALSE as soon as interrupt_fd (-1:
 * none) is readable - a signalfd, Ctrl-C - with the server still going. */
gboolean sv_lazy_server_wait(SvLazyServer *s, int interrupt_fd);
/* Waits until the server has nothing left to do (wait: the pager's last
 * word) or stops it now (!wait), and frees it; its figures in *ret. */
void sv_lazy_server_finish(SvLazyServer *s, gboolean wait, SvLazyStats *ret);

#endif
