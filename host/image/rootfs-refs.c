/* SPDX-License-Identifier: MIT */
/* rootfs-refs.c - files referenced in a root filesystem image (rootfs-refs.h). */
#include "host/image/rootfs-refs.h"

#include <string.h>

#include "base/errors.h"
#include "snapvm/snapshot-format.h"

/* The index lists every file of an image: a generous bound on a file that
 * could also come from an imported image. */
#define MAX_INDEX_BYTES (256u << 20)

typedef struct {
	char sha256[65];
	guint64 size;
	gint64 mtime; /* seconds */
} IndexEntry;

struct SvRootfsRefs {
	GHashTable *index; /* path -> IndexEntry */
	GHashTable *taken; /* path -> IndexEntry (borrowed), the referenced ones */
	GPtrArray *order;  /* paths of taken, in the order they were taken */
	SvGuestStatFn stat;
	gpointer stat_data;
};

void sv_rootfs_refs_free(SvRootfsRefs *refs)
{
	if (!refs)
		return;
	g_clear_pointer(&refs->taken, g_hash_table_unref);
	g_clear_pointer(&refs->index, g_hash_table_unref);
	g_clear_pointer(&refs->order, g_ptr_array_unref);
	g_free(refs);
}

static gboolean all_digits(const char *s)
{
	if (!*s)
		return FALSE;
	for (; *s; s++)
		if (!g_ascii_isdigit(*s))
			return FALSE;
	return TRUE;
}

/* "sha256 \t size \t mtime \t /path" per line (images/build-rootfs.sh). */
static gboolean parse_line(const char *line, char **ret_path, IndexEntry *e)
{
	g_auto(GStrv) f = g_strsplit(line, "\t", 4);
	if (g_strv_length(f) != 4 || strlen(f[0]) != 64 || !all_digits(f[1]) || !all_digits(f[2]) ||
	    f[3][0] != '/')
		return FALSE;
	for (int i = 0; i < 64; i++)
		if (!g_ascii_isxdigit(f[0][i]))
			return FALSE;
	memcpy(e->sha256, f[0], 65);
	e->size = g_ascii_strtoull(f[1], NULL, 10);
	e->mtime = (gint64)g_ascii_strtoull(f[2], NULL, 10);
	*ret_path = g_strdup(f[3]);
	return TRUE;
}

SvRootfsRefs *sv_rootfs_refs_new(const SvRootfs *r, SvGuestStatFn stat, gpointer stat_data,
				 GError **error)
{
	g_autofree char *path = g_build_filename(r->dir, "files.tsv", NULL);
	g_autoptr(GMappedFile) mf = g_mapped_file_new(path, FALSE, error);
	if (!mf)
		return NULL;
	gsize len = g_mapped_file_get_length(mf);
	if (len > MAX_INDEX_BYTES) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA, "%s is too large (%zu bytes)",
			    path, len);
		return NULL;
	}
	g_autofree char *text = g_strndup(g_mapped_file_get_contents(mf), len);
	g_autoptr(SvRootfsRefs) refs = g_new0(SvRootfsRefs, 1);
	refs->index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	refs->taken = g_hash_table_new(g_str_hash, g_str_equal);
	refs->order = g_ptr_array_new();
	refs->stat = stat;
	refs->stat_data = stat_data;
	guint lineno = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *p = NULL;
		IndexEntry e;
		if (!parse_line(line, &p, &e)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "%s line %u is not \"sha256, size, mtime, /path\"", path,
				    lineno);
			return NULL;
		}
		g_hash_table_replace(refs->index, p, g_memdup2(&e, sizeof(e)));
	}
	return g_steal_pointer(&refs);
}

gboolean sv_rootfs_refs_take(SvRootfsRefs *refs, const char *path, gboolean *ret_referenced,
			     GError **error)
{
	*ret_referenced = FALSE;
	if (g_hash_table_contains(refs->taken, path)) {
		*ret_referenced = TRUE;
		return TRUE;
	}
	gpointer key = NULL, value = NULL;
	if (!g_hash_table_lookup_extended(refs->index, path, &key, &value))
		return TRUE; /* not the image's: carried */
	const IndexEntry *e = value;
	guint64 size = 0;
	gint64 mtime_ns = 0;
	g_autoptr(GError) local = NULL;
	if (!refs->stat(path, refs->stat_data, &size, &mtime_ns, &local)) {
		if (local) {
			g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
		return TRUE; /* gone from the guest: the carrying says so */
	}
	/* written to since the image was made: carried as it is now */
	if (size != e->size || mtime_ns / 1000000000 != e->mtime)
		return TRUE;
	g_hash_table_insert(refs->taken, key, value);
	g_ptr_array_add(refs->order, key);
	*ret_referenced = TRUE;
	return TRUE;
}

GVariant *sv_rootfs_refs_variant(const SvRootfsRefs *refs)
{
	if (!refs || refs->order->len == 0)
		return NULL;
	g_auto(GVariantBuilder)
		b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_IMAGE_FILES_TYPE));
	for (guint i = 0; i < refs->order->len; i++) {
		const char *path = refs->order->pdata[i];
		const IndexEntry *e = g_hash_table_lookup(refs->taken, path);
		g_variant_builder_add(&b, "(sst)", path, e->sha256, e->size);
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

guint sv_rootfs_refs_count(const SvRootfsRefs *refs)
{
	return refs ? refs->order->len : 0;
}
