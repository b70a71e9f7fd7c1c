/* SPDX-License-Identifier: MIT */
/*
 * memfiles.h - the files a process holds that exist only in the guest's
 * memory: unlinked files still open or mapped (ghost files), O_TMPFILE
 * files, memfds and shared anonymous memory. They have no name a restore
 * could find them by, so their contents are carried in the snapshot, read
 * by identity (the inode) while the VM is paused: from the guest's page
 * cache by introspection, or, for pages not in the cache, through the
 * agent by a /proc path that opens the same inode (never by the name it
 * had, which may now mean another file).
 *
 * The result is the TASK dict's SV_TASK_MEMFILES list
 * (include/snapvm/snapshot-task-keys.h); fds of such a file carry
 * SV_TASK_FD_INODE, mappings of it are listed by start address. What
 * cannot be carried (SysV shm, AIO rings, hugetlb, procfs files) is
 * refused here, named.
 */
#ifndef SNAPVM_MEMFILES_H
#define SNAPVM_MEMFILES_H

#include <glib.h>

#include "host/checkpoint/checkpoint.h"
#include "host/introspect/introspect.h"
#include "host/snapshot/snapshot-writer.h"

typedef struct SvMemFiles SvMemFiles;

/* Finds them among fds (the TASK dict's "fds") and vmas (SvGuestVma,
 * possibly as the first member of a larger struct of elem_size bytes) and
 * reads what the page cache holds. Call with the VM paused. */
SvMemFiles *sv_memfiles_capture(const SvIntrospect *in, guint32 pid, GVariant *fds,
				const GArray *vmas, gsize elem_size, GError **error);
void sv_memfiles_free(SvMemFiles *mf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvMemFiles, sv_memfiles_free)

/* The inode of the memory-only file the struct file at `file` opens, or 0
 * if it is not one. */
guint64 sv_memfiles_inode_of(const SvMemFiles *mf, guint64 file);

/* Adds each file's contents to the snapshot (reading through read_file
 * what the page cache lacked); the sha256 of the file with that inode is
 * then sv_memfiles_sha256. */
gboolean sv_memfiles_carry(SvMemFiles *mf, SvSnapshotWriter *w, SvGuestFileFn read_file,
			   gpointer read_file_data, GError **error);
const char *sv_memfiles_sha256(const SvMemFiles *mf, guint64 inode);

/* The SV_TASK_MEMFILES list; NULL if there are none. */
GVariant *sv_memfiles_variant(const SvMemFiles *mf);

/* How many, and the bytes read each way. */
void sv_memfiles_counts(const SvMemFiles *mf, guint *ret_files, guint64 *ret_cache_bytes,
			guint64 *ret_agent_bytes);

#endif
