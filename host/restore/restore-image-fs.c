/* SPDX-License-Identifier: MIT */
/* restore-image-fs.c - the restore image's fs part: the files the guest
 * wrote since boot (the snapshot's FS section, snapshot-fs-keys.h) as
 * sv_rimg_fsent entries, checked here (absolute paths without . or ..,
 * parents before children, hard links and contents that exist) so that the
 * restorer only follows them (see restore-image-parts.h). */
#include <string.h>

#include "snapvm/snapshot-fs-keys.h"
#include "host/restore/restore-image-parts.h"

#define MAX_FS_ENTRIES 200000u
#define S_IFMT_ 0170000u

static gboolean clean_path(const char *p)
{
	if (p[0] != '/' || strlen(p) > 4095 || !strcmp(p, "/"))
		return FALSE;
	g_auto(GStrv) parts = g_strsplit(p + 1, "/", -1);
	for (char **s = parts; *s; s++)
		if (!**s || !strcmp(*s, ".") || !strcmp(*s, ".."))
			return FALSE;
	return TRUE;
}

static guint32 kind_of(guint32 mode)
{
	switch (mode & S_IFMT_) {
	case 0040000:
		return SV_RIMG_FS_DIR;
	case 0100000:
		return SV_RIMG_FS_FILE;
	case 0120000:
		return SV_RIMG_FS_SYMLINK;
	case 0010000: /* FIFO */
	case 0020000: /* character device */
	case 0060000: /* block device */
		return SV_RIMG_FS_NODE;
	default:
		return 0; /* sockets: whoever bound them binds them again */
	}
}

static gboolean add_entry(SvRimgTables *t, GVariant *d, GHashTable *seen, GError **error)
{
	const char *path = "", *sha = "", *target = NULL, *link = NULL;
	guint32 mode = 0, uid = 0, gid = 0, rdev = 0;
	g_variant_lookup(d, SV_FS_PATH, "&s", &path);
	g_variant_lookup(d, SV_FS_MODE, "u", &mode);
	g_variant_lookup(d, SV_FS_UID, "u", &uid);
	g_variant_lookup(d, SV_FS_GID, "u", &gid);
	g_variant_lookup(d, SV_FS_RDEV, "u", &rdev);
	g_variant_lookup(d, SV_FS_SHA256, "&s", &sha);
	g_variant_lookup(d, SV_FS_TARGET, "&s", &target);
	g_variant_lookup(d, SV_FS_LINK, "&s", &link);
	struct sv_rimg_fsent e = { .kind = link ? SV_RIMG_FS_LINK : kind_of(mode),
				   .file = -1,
				   .mode = mode,
				   .uid = uid,
				   .gid = gid,
				   /* the kernel's dev_t: major above bit 20 */
				   .rdev_major = rdev >> 20,
				   .rdev_minor = rdev & 0xfffff };
	g_variant_lookup(d, SV_FS_ATIME, SV_FS_TIME_TYPE, &e.atime_sec, &e.atime_nsec);
	g_variant_lookup(d, SV_FS_MTIME, SV_FS_TIME_TYPE, &e.mtime_sec, &e.mtime_nsec);
	if (!clean_path(path))
		return sv_rimg_refuse(error, "the snapshot's filesystem names a file '%s'", path);
	if (!e.kind)
		return TRUE;
	/* a parent the FS section lacks is a directory the guest booted
	 * with: the restore guest has it too (the restorer makes it if not) */

	if (e.kind == SV_RIMG_FS_LINK && (!g_hash_table_contains(seen, link) || !clean_path(link)))
		return sv_rimg_refuse(error,
				      "the snapshot's filesystem links %s to %s, which it does not "
				      "hold before it",
				      path, link);
	if (e.kind == SV_RIMG_FS_SYMLINK && (!target || !target[0] || strlen(target) > 4095))
		return sv_rimg_refuse(error, "the snapshot's symbolic link %s has no target", path);
	if (e.kind == SV_RIMG_FS_FILE) {
		if (strlen(sha) != 64)
			return sv_rimg_refuse(error, "the snapshot's file %s has no contents",
					      path);
		guint32 index;
		struct sv_rimg_file *f = sv_rimg_add_memfile(t, path, sha, &index);
		f->memfile = SV_RIMG_MEMFILE_FS_DATA;
		e.file = (gint32)index;
	}
	e.path_off = sv_rimg_add_string(t, path);
	e.target_off = sv_rimg_add_string(t, link ? link : target ? target : "");
	g_hash_table_add(seen, g_strdup(path));
	g_array_append_val(t->fsents, e);
	return TRUE;
}

gboolean sv_rimg_fs_build(SvRimgTables *t, GVariant *fs, GError **error)
{
	if (!fs)
		return TRUE; /* checkpointed with --no-fs, or before FS existed */
	gsize n = g_variant_n_children(fs);
	if (n > MAX_FS_ENTRIES)
		return sv_rimg_refuse(error,
				      "the snapshot's filesystem has %" G_GSIZE_FORMAT
				      " files; at most %u are restored",
				      n, MAX_FS_ENTRIES);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(fs, i);
		if (!add_entry(t, d, seen, error))
			return FALSE;
	}
	t->h.nfsents = t->fsents->len;
	return TRUE;
}
