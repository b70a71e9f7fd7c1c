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

/* Kernel parameters the restore guest of arch boots with (never NULL). */
const char *sv_restore_cmdline(const SvArchOps *arch);

/* Guest RAM a restore of info needs, in MiB: the initrd is in RAM twice
 * while the kernel unpacks it, and the process's pages once more. */
guint sv_restore_memory_mib(const SvRestoreImageInfo *info, guint at_least);

/* Starts the guest restorer on the image in the initrd, asking the agent for
 * the process's own pid (SV_MSG_RUN_AS_PID); *ret_pid is the pid it got. */
typedef struct SvAgentClient SvAgentClient;
gboolean sv_restore_start(SvAgentClient *agent, guint32 want_pid, guint32 run_flags,
			  guint32 *ret_pid, GError **error);

/* SV_RIMG_HOST_PAGES: copies the pages of runs (SvRestoreImageInfo.runs:
 * the staging order) into guest RAM at the frames the restorer reported
 * (msg: its whole stdout message, header and frame runs), after checking
 * they cover its staging area exactly. */
typedef struct SvGuestMem SvGuestMem;
gboolean sv_restore_place_pages(const SvGuestMem *mem, SvSnapshotReader *r, const GArray *runs,
				GBytes *msg, guint64 *ret_bytes, GError **error);

#endif
