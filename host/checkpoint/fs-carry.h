/* SPDX-License-Identifier: MIT */
/*
 * fs-carry.h - the FS section of a snapshot (snapshot-fs-keys.h): the
 * files the guest wrote since it booted (host/introspect/guest-fs.c),
 * read while the VM is paused, their contents carried as FILE sections.
 * checkpoint --no-fs leaves it out.
 */
#ifndef SNAPVM_FS_CARRY_H
#define SNAPVM_FS_CARRY_H

#include <glib.h>

#include "host/snapshot/snapshot-writer.h"

/* The most file contents carried: restore puts them all through guest RAM */
#define SV_FS_CARRY_MAX_BYTES (256ull << 20)

/* Adds each regular file's contents to w and returns the FS section;
 * carried (path -> sha256 hex, g_free'd values) gets each regular file,
 * so a file the process maps or holds open at that path is not read
 * again. */
GVariant *sv_fs_carry(GPtrArray *entries, SvSnapshotWriter *w, GHashTable *carried, GError **error);

#endif
