/* SPDX-License-Identifier: MIT */
/* restore-image-memfiles.c - the restore image's files that exist only in
 * memory (the snapshot's SV_TASK_MEMFILES: unlinked, O_TMPFILE, memfd,
 * shared anonymous): one sv_rimg_file each, carried, with how to make it
 * again; the mappings and fds that name them find them by start address
 * and inode (see restore-image-parts.h). */
#include <string.h>

#include "snapvm/snapshot-task-keys.h"
#include "host/restore/restore-image-parts.h"

#define S_IFMT_ 0170000u
#define S_IFREG_ 0100000u
/* memfd seals (include/uapi/linux/fcntl.h) */
#define F_SEAL_ALL_ 0x3fu
#define F_SEAL_WRITE_ 0x8u
#define F_SEAL_FUTURE_WRITE_ 0x10u

static guint32 kind_of(const char *kind)
{
	static const struct {
		const char *name;
		guint32 kind;
	} kinds[] = {
		{ SV_TASK_MEMFILE_KIND_GHOST, SV_RIMG_MEMFILE_GHOST },
		{ SV_TASK_MEMFILE_KIND_TMPFILE, SV_RIMG_MEMFILE_TMPFILE },
		{ SV_TASK_MEMFILE_KIND_MEMFD, SV_RIMG_MEMFILE_MEMFD },
		{ SV_TASK_MEMFILE_KIND_SHMEM, SV_RIMG_MEMFILE_SHMEM },
		{ SV_TASK_MEMFILE_KIND_SYSV, SV_RIMG_MEMFILE_SYSV },
	};
	for (guint i = 0; i < G_N_ELEMENTS(kinds); i++)
		if (!strcmp(kind, kinds[i].name))
			return kinds[i].kind;
	return SV_RIMG_MEMFILE_NONE;
}

static gboolean is_sha256_hex(const char *s)
{
	if (strlen(s) != 64)
		return FALSE;
	for (const char *p = s; *p; p++)
		if (!g_ascii_isxdigit(*p))
			return FALSE;
	return TRUE;
}

static gboolean add_memfile(SvRimgTables *t, GVariant *entry, gsize n, GError **error)
{
	guint64 inode = 0;
	const char *kind = "", *path = "", *sha = "";
	guint32 i_mode = 0, seals = 0;
	g_variant_lookup(entry, SV_TASK_MEMFILE_INODE, "t", &inode);
	g_variant_lookup(entry, SV_TASK_MEMFILE_KIND, "&s", &kind);
	g_variant_lookup(entry, SV_TASK_MEMFILE_PATH, "&s", &path);
	g_variant_lookup(entry, SV_TASK_MEMFILE_SHA256, "&s", &sha);
	g_variant_lookup(entry, SV_TASK_MEMFILE_I_MODE, "u", &i_mode);
	g_variant_lookup(entry, SV_TASK_MEMFILE_SEALS, "u", &seals);
	g_autoptr(GVariant)
		vmas = g_variant_lookup_value(entry, SV_TASK_MEMFILE_VMAS, G_VARIANT_TYPE("at"));
	guint32 k = kind_of(kind);
	if (!inode || !k || path[0] != '/' || !is_sha256_hex(sha) ||
	    (i_mode & S_IFMT_) != S_IFREG_ || (seals & ~F_SEAL_ALL_))
		return sv_rimg_refuse(error,
				      "memory-only file %" G_GSIZE_FORMAT
				      " of the snapshot (%s, '%s') "
				      "lacks its identity, kind, contents or mode, or has unknown "
				      "seals",
				      n, kind, path);
	if (g_hash_table_contains(t->memfile_by_inode, &inode))
		return sv_rimg_refuse(error, "memory-only file %s appears twice in the snapshot",
				      path);
	gsize nvmas = 0;
	const guint64 *starts = vmas ? g_variant_get_fixed_array(vmas, &nvmas, sizeof(guint64))
				     : NULL;
	/* a mapping of a file sealed against writing cannot be made from the
	 * writable fd the restorer fills it through */
	if (nvmas && (seals & (F_SEAL_WRITE_ | F_SEAL_FUTURE_WRITE_)))
		return sv_rimg_refuse(error,
				      "memfd %s is sealed against writing and mapped; restoring "
				      "that is not supported yet",
				      path);
	guint32 index;
	struct sv_rimg_file *f = sv_rimg_add_memfile(t, path, sha, &index);
	f->memfile = k;
	f->seals = seals;
	f->mode = i_mode & 07777;
	f->owner = g_variant_lookup(entry, SV_TASK_MEMFILE_OWNER, "(uu)", &f->uid, &f->gid);
	gint64 asec, msec;
	guint32 ansec, mnsec;
	if (g_variant_lookup(entry, SV_TASK_MEMFILE_TIMES, SV_TASK_MEMFILE_TIMES_TYPE, &asec,
			     &ansec, &msec, &mnsec)) {
		if (ansec > 999999999u || mnsec > 999999999u)
			return sv_rimg_refuse(error,
					      "memory-only file %s has a time of over 10^9 ns",
					      path);
		f->times = 1;
		f->atime_sec = asec;
		f->atime_nsec = ansec;
		f->mtime_sec = msec;
		f->mtime_nsec = mnsec;
	}
	if (k == SV_RIMG_MEMFILE_SYSV) {
		gint32 id = -1;
		g_variant_lookup(entry, SV_TASK_MEMFILE_SYSV_KEY, "u", &f->sysv_key);
		g_variant_lookup(entry, SV_TASK_MEMFILE_SYSV_ID, "i", &id);
		if (id < 0)
			return sv_rimg_refuse(error, "SysV shm segment %s has no id", path);
		f->sysv_id = id;
	}
	g_hash_table_insert(t->memfile_by_inode, g_memdup2(&inode, sizeof(inode)),
			    GUINT_TO_POINTER(index));
	for (gsize i = 0; i < nvmas; i++) {
		if (g_hash_table_contains(t->memfile_by_vma, &starts[i]))
			return sv_rimg_refuse(error,
					      "the mapping at 0x%" G_GINT64_MODIFIER
					      "x maps two memory-only files",
					      starts[i]);
		g_hash_table_insert(t->memfile_by_vma, g_memdup2(&starts[i], sizeof(guint64)),
				    GUINT_TO_POINTER(index));
	}
	return TRUE;
}

gboolean sv_rimg_memfiles_build(SvRimgTables *t, GVariant *task, GError **error)
{
	g_autoptr(GVariant) list = g_variant_lookup_value(task, SV_TASK_MEMFILES,
							  G_VARIANT_TYPE(SV_TASK_MEMFILES_TYPE));
	for (gsize i = 0; list && i < g_variant_n_children(list); i++) {
		g_autoptr(GVariant) entry = g_variant_get_child_value(list, i);
		if (!add_memfile(t, entry, i, error))
			return FALSE;
	}
	return TRUE;
}

gboolean sv_rimg_memfile_fd(SvRimgTables *t, struct sv_rimg_fd *e, guint64 inode, guint64 pos,
			    GError **error)
{
	gpointer index;
	if (!g_hash_table_lookup_extended(t->memfile_by_inode, &inode, NULL, &index))
		return sv_rimg_refuse(error,
				      "fd %d names a memory-only file the snapshot does not hold",
				      e->fd);
	e->kind = SV_RIMG_FD_MEMFILE;
	e->memfile = GPOINTER_TO_UINT(index);
	e->pos = pos;
	return TRUE;
}
