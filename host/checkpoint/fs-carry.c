/* SPDX-License-Identifier: MIT */
/* fs-carry.c - see fs-carry.h. */
#include "host/checkpoint/fs-carry.h"

#include "snapvm/snapshot-fs-keys.h"
#include "host/introspect/introspect.h"

GVariant *sv_fs_carry(GPtrArray *entries, SvSnapshotWriter *w, GHashTable *carried, GError **error)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_FS_TYPE));
	for (guint i = 0; i < entries->len; i++) {
		const SvGuestFsEntry *e = entries->pdata[i];
		g_auto(GVariantDict) d;
		g_variant_dict_init(&d, NULL);
		g_variant_dict_insert(&d, SV_FS_PATH, "s", e->path);
		g_variant_dict_insert(&d, SV_FS_MODE, "u", e->i_mode);
		g_variant_dict_insert(&d, SV_FS_UID, "u", e->uid);
		g_variant_dict_insert(&d, SV_FS_GID, "u", e->gid);
		g_variant_dict_insert(&d, SV_FS_ATIME, SV_FS_TIME_TYPE, e->atime_sec,
				      e->atime_nsec);
		g_variant_dict_insert(&d, SV_FS_MTIME, SV_FS_TIME_TYPE, e->mtime_sec,
				      e->mtime_nsec);
		g_variant_dict_insert(&d, SV_FS_RDEV, "u", e->rdev);
		if (e->link)
			g_variant_dict_insert(&d, SV_FS_LINK, "s", e->link);
		if (e->target)
			g_variant_dict_insert(&d, SV_FS_TARGET, "s", e->target);
		if (e->contents && !e->link) {
			char *sha = sv_snapshot_writer_add_file(w, e->contents, error);
			if (!sha)
				return NULL;
			g_variant_dict_insert(&d, SV_FS_SIZE, "t", e->size);
			g_variant_dict_insert(&d, SV_FS_SHA256, "s", sha);
			g_hash_table_replace(carried, g_strdup(e->path), sha);
		}
		g_variant_builder_add_value(&b, g_variant_dict_end(&d));
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}
