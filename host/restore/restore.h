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
#include "host/restore/restore-image-build.h"
#include "host/snapshot/snapshot-reader.h"

/* The arch of the snapshot, checked against want (the user's --arch, may
 * be NULL) and against the restorers this build has. */
const SvArchOps *sv_restore_arch(SvSnapshotReader *r, const char *want, GError **error);

/* Writes, in dir: the flat image, the restorer, and initrd.cpio (the base
 * initramfs plus both). *ret_initrd is the initrd's path. The image and
 * restorer files are removed once they are in the initrd. */
gboolean sv_restore_build_initrd(SvSnapshotReader *r, const SvArchOps *arch,
				 const char *base_initramfs, const char *dir, gboolean host_pages,
				 char **ret_initrd, SvRestoreImageInfo *ret_info, GError **error);

/* For a guest that is up already (snapvm pool): the restorer and image (a
 * file sv_restore_image_write made, with host pages) written into the
 * guest through its agent, where the initrd would have put them. */
typedef struct SvAgentClient SvAgentClient;
gboolean sv_restore_send_to_guest(const SvArchOps *arch, const char *image, SvAgentClient *agent,
				  GError **error);

/* The same, with every archive of the NULL-terminated list (the base
 * initramfs, then a root filesystem image's modules.cpio) first. */
gboolean sv_restore_build_initrd_layers(SvSnapshotReader *r, const SvArchOps *arch,
					const char *const *archives, const char *dir,
					gboolean host_pages, char **ret_initrd,
					SvRestoreImageInfo *ret_info, GError **error);

/* Kernel parameters the restore guest of arch boots with (never NULL). */
const char *sv_restore_cmdline(const SvArchOps *arch);

/* Guest RAM a restore of info needs, in MiB: the initrd is in RAM twice
 * while the kernel unpacks it, and the process's pages once more. */
guint sv_restore_memory_mib(const SvRestoreImageInfo *info, guint at_least);

/* Starts the guest restorer on the image in the initrd, asking the agent for
 * the process's own pid (SV_MSG_RUN_AS_PID); *ret_pid is the pid it got. */
gboolean sv_restore_start(SvAgentClient *agent, guint32 want_pid, guint32 run_flags,
			  guint32 *ret_pid, GError **error);

/* SV_RIMG_HOST_PAGES: copies the pages of runs (SvRestoreImageInfo.runs:
 * the staging order) into guest RAM at the frames the restorer reported
 * (msg: its whole stdout message, header and frame runs), after checking
 * they cover its staging area exactly. */
typedef struct SvGuestMem SvGuestMem;
gboolean sv_restore_place_pages(const SvGuestMem *mem, SvSnapshotReader *r, const GArray *runs,
				GBytes *msg, guint64 *ret_bytes, GError **error);

/* SV_RIMG_HOST_PAGES with the restorer running (host-pages.c): first its
 * page-frame message, the first bytes of its stdout. */
typedef struct SvRestorePageFrames {
	guint32 pid;	 /* the restorer's */
	GBytes *msg;	 /* the message: header and frame runs */
	GBytes *after;	 /* stdout that came after it */
	gboolean exited; /* the restorer exited instead (a refusal), with: */
	int status;	 /* its wait status */
} SvRestorePageFrames;
void sv_restore_page_frames_clear(SvRestorePageFrames *f);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvRestorePageFrames, sv_restore_page_frames_clear)

/* Waits for restorer pid's message; its stderr meanwhile goes to err_fd
 * (a refusal says why there). */
gboolean sv_restore_wait_page_frames(SvAgentClient *agent, guint32 pid, int err_fd,
				     SvRestorePageFrames *ret, GError **error);
/* The answer: the pages of runs into guest RAM at the frames
 * (sv_restore_place_pages; *ret_bytes copied), the stdout that followed
 * the message to out_fd, and SV_RIMG_PFN_SIGNAL to let the restorer go on. */
gboolean sv_restore_answer_page_frames(SvAgentClient *agent, const SvRestorePageFrames *frames,
				       const SvGuestMem *mem, SvSnapshotReader *r,
				       const GArray *runs, int out_fd, guint64 *ret_bytes,
				       GError **error);

#endif
