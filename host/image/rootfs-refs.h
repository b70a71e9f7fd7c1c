/* SPDX-License-Identifier: MIT */
/*
 * rootfs-refs.h - the files a snapshot references in its root filesystem
 * image instead of carrying them (python3, libc, libpython, numpy's .so
 * files): the image's files.tsv index says which paths it has, with what
 * sha256, size and mtime; a file qualifies when the guest's file at that
 * path still has the image's size and mtime (one that was written to in the
 * RAM overlay does not) - its contents then are the image's, which restore
 * boots again (rootfs-choice.c checks it is the same image).
 */
#ifndef SNAPVM_ROOTFS_REFS_H
#define SNAPVM_ROOTFS_REFS_H

#include <glib.h>

#include "host/image/rootfs.h"

/* The guest's view of a file: size and mtime (ns). FALSE with error when
 * it cannot be asked; FALSE without error when there is no such file. */
typedef gboolean (*SvGuestStatFn)(const char *path, gpointer data, guint64 *ret_size,
				  gint64 *ret_mtime_ns, GError **error);

typedef struct SvRootfsRefs SvRootfsRefs;

/* Loads r's index; stat asks the guest. */
SvRootfsRefs *sv_rootfs_refs_new(const SvRootfs *r, SvGuestStatFn stat, gpointer stat_data,
				 GError **error);
void sv_rootfs_refs_free(SvRootfsRefs *refs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvRootfsRefs, sv_rootfs_refs_free)

/* Whether path is referenced rather than carried (recorded once if so).
 * FALSE with error only when the guest could not be asked. */
gboolean sv_rootfs_refs_take(SvRootfsRefs *refs, const char *path, gboolean *ret_referenced,
			     GError **error);
/* The references, for the snapshot's IMAGE_FILES section (path, sha256,
 * size), or NULL when there are none. */
GVariant *sv_rootfs_refs_variant(const SvRootfsRefs *refs);
guint sv_rootfs_refs_count(const SvRootfsRefs *refs);

#endif
