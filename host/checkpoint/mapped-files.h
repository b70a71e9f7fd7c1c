/* SPDX-License-Identifier: MIT */
/*
 * mapped-files.h - the contents of the named files a process maps that
 * live in guest memory anyway (tmpfs, ramfs: their page cache is the
 * file), read at the pause from the page cache by the mapping's own inode.
 *
 * Why: carrying them through the guest agent (checkpoint.c's carry_file)
 * costs 0.1 to 0.5 s for a 772 KB static executable under TCG, a large part
 * of an incremental checkpoint; the page cache gives the same bytes in a
 * millisecond. Read with the VM paused, because a page a running guest
 * frees (a truncate) could be reused under the read. Bounded by
 * SV_MAPPED_FILES_MAX_BYTES in all, so the pause stays short; the files
 * left over, those on other file systems (a disk's pages may be only on
 * disk) and any the walk cannot read are carried through the agent as
 * before. Nothing here fails a checkpoint.
 */
#ifndef SNAPVM_MAPPED_FILES_H
#define SNAPVM_MAPPED_FILES_H

#include <glib.h>

#include "host/checkpoint/memfiles.h"
#include "host/introspect/introspect.h"

#define SV_MAPPED_FILES_MAX_BYTES (16u << 20)

/* vmas: SvCaptureVma; mf: the memory-only files (left to memfiles.h).
 * Returns path -> GBytes of each file read whole. */
GHashTable *sv_mapped_files_capture(const SvIntrospect *in, const GArray *vmas,
				    const SvMemFiles *mf);

#endif
