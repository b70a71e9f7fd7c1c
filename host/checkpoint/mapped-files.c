/* SPDX-License-Identifier: MIT */
/* mapped-files.c - see mapped-files.h. */
#include "host/checkpoint/mapped-files.h"

#include "host/checkpoint/capture.h"
#include "host/checkpoint/proc-paths.h"

/* The contents of one mapping's file, or NULL to leave it to the agent. */
static GBytes *read_mapped(const SvIntrospect *in, const SvGuestVma *v, guint64 budget,
			   guint64 *ret_inode)
{
	SvFileIdentity id;
	SvPageCacheRead r = { 0 };
	if (!v->file || !v->name || sv_path_unnamed(v->name) ||
	    !sv_introspect_file_identity(in, v->file, &id, NULL) || id.nlink == 0 ||
	    (id.fs_magic != SV_TMPFS_MAGIC && id.fs_magic != SV_RAMFS_MAGIC))
		return NULL;
	/* holes: a page neither file system has in its cache reads as zeros */
	if (!sv_introspect_page_cache(in, id.inode, budget, TRUE, &r, NULL) || !r.complete) {
		g_clear_pointer(&r.contents, g_bytes_unref);
		return NULL;
	}
	*ret_inode = id.inode;
	return r.contents;
}

GHashTable *sv_mapped_files_capture(const SvIntrospect *in, const GArray *vmas,
				    const SvMemFiles *mf)
{
	GHashTable *by_path = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						    (GDestroyNotify)g_bytes_unref);
	/* path -> inode read for it; G_MAXUINT64: two inodes, left alone */
	g_autoptr(GHashTable)
		inodes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	guint64 budget = SV_MAPPED_FILES_MAX_BYTES;
	for (guint i = 0; i < vmas->len; i++) {
		const SvCaptureVma *cv = &g_array_index(vmas, SvCaptureVma, i);
		const SvGuestVma *v = &cv->vma;
		if (!cv->file_backed || sv_memfiles_inode_of(mf, v->file) || !v->name)
			continue;
		SvFileIdentity id;
		guint64 *seen = g_hash_table_lookup(inodes, v->name);
		if (seen &&
		    (*seen == G_MAXUINT64 ||
		     (sv_introspect_file_identity(in, v->file, &id, NULL) && id.inode == *seen)))
			continue;
		if (seen) {
			/* one path, two files (one replaced under the other's
			 * mapping): which one the path means is the agent's */
			*seen = G_MAXUINT64;
			g_hash_table_remove(by_path, v->name);
			continue;
		}
		guint64 inode = G_MAXUINT64;
		GBytes *contents = read_mapped(in, v, budget, &inode);
		g_hash_table_insert(inodes, g_strdup(v->name), g_memdup2(&inode, sizeof(inode)));
		if (!contents)
			continue;
		budget -= MIN(budget, g_bytes_get_size(contents));
		g_hash_table_insert(by_path, g_strdup(v->name), contents);
	}
	return by_path;
}
