/* SPDX-License-Identifier: MIT */
/*
 * paths.c - the path of a struct path (a {vfsmount, dentry} pair) as
 * d_path would print it: dentry names up to the root of their mount, then
 * on through the mount's mountpoint in its parent mount (prepend_path in
 * fs/d_path.c). Used for mapped files (vmas.c), open files and the working
 * directory (files.c, process-env.c).
 */
#include "snapvm/le.h" /* sv_get_le* */
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define MAX_PATH_DEPTH 64

typedef struct {
	guint64 path_mnt, path_dentry, d_name, d_parent, qstr_name, qstr_len;
	guint64 mount_mnt, mount_parent, mount_mountpoint, mnt_root;
} PathLayout;

static gboolean rd64(const SvIntrospect *in, guint64 va, guint64 *v, GError **error)
{
	guint8 b[8];
	if (!sv_introspect_read(in, va, b, 8, error))
		return FALSE;
	*v = sv_get_le64(b);
	return TRUE;
}

/* A dentry's own name (d_name), at most NAME_MAX bytes. */
static char *dentry_name(const SvIntrospect *in, const PathLayout *l, guint64 dentry,
			 GError **error)
{
	guint8 b[4];
	guint64 name;
	if (!sv_introspect_read(in, dentry + l->d_name + l->qstr_len, b, 4, error) ||
	    !rd64(in, dentry + l->d_name + l->qstr_name, &name, error))
		return NULL;
	guint32 len = MIN(sv_get_le32(b), 255u);
	g_autofree char *s = g_malloc0(len + 1);
	if (!sv_introspect_read(in, name, s, len, error))
		return NULL;
	return g_steal_pointer(&s);
}

char *sv_introspect_path(const SvIntrospect *in, guint64 path, GError **error)
{
	PathLayout l;
	const SvMemberOffset want[] = {
		{ "path", "mnt", &l.path_mnt },
		{ "path", "dentry", &l.path_dentry },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error))
		return NULL;
	guint64 mnt, dentry;
	if (!rd64(in, path + l.path_mnt, &mnt, error) ||
	    !rd64(in, path + l.path_dentry, &dentry, error))
		return NULL;
	return sv_introspect_path_at(in, mnt, dentry, error);
}

char *sv_introspect_path_at(const SvIntrospect *in, guint64 mnt, guint64 dentry, GError **error)
{
	PathLayout l;
	const SvMemberOffset want[] = {
		{ "dentry", "d_name", &l.d_name },
		{ "dentry", "d_parent", &l.d_parent },
		{ "qstr", "name", &l.qstr_name },
		{ "qstr", "len", &l.qstr_len },
		{ "mount", "mnt", &l.mount_mnt },
		{ "mount", "mnt_parent", &l.mount_parent },
		{ "mount", "mnt_mountpoint", &l.mount_mountpoint },
		{ "vfsmount", "mnt_root", &l.mnt_root },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error))
		return NULL;
	guint64 mount = mnt - l.mount_mnt;
	g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
	for (guint depth = 0; depth < MAX_PATH_DEPTH; depth++) {
		guint64 mnt_root, parent;
		if (!rd64(in, mount + l.mount_mnt + l.mnt_root, &mnt_root, error) ||
		    !rd64(in, dentry + l.d_parent, &parent, error))
			return NULL;
		if (dentry == parent && dentry != mnt_root && depth == 0) {
			/* a pseudo file's own dentry (alloc_file_pseudo: memfd,
			 * shared anonymous memory, SysV shm, aio rings), which
			 * d_path prints through d_dname as "/" and its name */
			char *s = dentry_name(in, &l, dentry, error);
			if (!s)
				return NULL;
			g_ptr_array_add(parts, s);
			break;
		}
		if (dentry == mnt_root || dentry == parent) {
			guint64 up;
			if (!rd64(in, mount + l.mount_parent, &up, error))
				return NULL;
			if (up == mount)
				break; /* the root mount's root: the path is complete */
			if (!rd64(in, mount + l.mount_mountpoint, &dentry, error))
				return NULL;
			mount = up;
			continue;
		}
		char *s = dentry_name(in, &l, dentry, error);
		if (!s)
			return NULL;
		g_ptr_array_add(parts, s);
		dentry = parent;
	}
	GString *out = g_string_new(NULL);
	for (guint i = parts->len; i > 0; i--)
		g_string_append_printf(out, "/%s", (const char *)parts->pdata[i - 1]);
	if (!out->len)
		g_string_append_c(out, '/');
	/* names are bytes to Linux, but a snapshot's are strings (GVariant
	 * 's', which must be UTF-8): refused, not passed on to crash later */
	if (!g_utf8_validate(out->str, out->len, NULL)) {
		g_autofree char *shown = g_utf8_make_valid(out->str, out->len);
		g_string_free(out, TRUE);
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "a file's path is not UTF-8 (%s); snapvm cannot name it", shown);
		return NULL;
	}
	return g_string_free(out, FALSE);
}
