/* SPDX-License-Identifier: MIT */
/*
 * fd-inotify.c - an inotify instance (struct fsnotify_group, fs/notify/):
 * its watches, each an inotify_inode_mark on group->marks_list with its wd,
 * the events it watches (mark->mask) and its IN_ONESHOT / IN_EXCL_UNLINK
 * (mark->flags, since 5.19), on an inode named by a path (one of its
 * dentries under the first mount of its filesystem): restore adds each
 * again at that path, which must hold the same file in the restore guest
 * (the snapshot's FS section makes it so for what the guest wrote).
 * Refused, naming the fd: unread events (the queue is not carried), a
 * watch on an inode with no name left (unlinked), more than MAX_WATCHES.
 */
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define MAX_WATCHES 8192u
#define IN_ALL_EVENTS_ 0xfffu
#define IN_EXCL_UNLINK_ 0x04000000u
#define IN_ONESHOT_ 0x80000000u
#define MARK_FLAG_EXCL_UNLINK 0x10u /* FSNOTIFY_MARK_FLAG_* */
#define MARK_FLAG_IN_ONESHOT 0x20u
#define MARK_FLAG_ATTACHED 0x02u

typedef struct {
	guint64 marks_list, notification_list, g_list, mask, flags, connector, obj, wd;
	guint64 i_marks, i_dentry, i_sb, i_nlink, d_alias, s_mounts, mnt_instance, mount_mnt;
} InotifyLayout;

static gboolean refuse(GError **error, guint32 pid, guint fd, const char *what)
{
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "guest pid %u: fd %u is an inotify instance %s; snapvm cannot checkpoint that",
		    pid, fd, what);
	return FALSE;
}

/* A path of the inode: its first dentry, under the first mount of its
 * filesystem; NULL with *unnamed set when it has no name left. */
static char *inode_path(const SvIntrospect *in, const InotifyLayout *l, guint64 inode,
			gboolean *unnamed, GError **error)
{
	guint64 nlink, alias, sb, first_mount;
	*unnamed = FALSE;
	if (!sv_introspect_read_uint(in, inode + l->i_nlink, 4, &nlink, error) ||
	    !sv_introspect_read_uint(in, inode + l->i_dentry, 8, &alias, error) ||
	    !sv_introspect_read_uint(in, inode + l->i_sb, 8, &sb, error) ||
	    !sv_introspect_read_uint(in, sb + l->s_mounts, 8, &first_mount, error))
		return NULL;
	if (!nlink || !alias || first_mount == sb + l->s_mounts) {
		*unnamed = TRUE;
		return NULL;
	}
	guint64 mount = first_mount - l->mnt_instance;
	return sv_introspect_path_at(in, mount + l->mount_mnt, alias - l->d_alias, error);
}

gboolean sv_introspect_inotify(const SvIntrospect *in, guint32 pid, guint fd, guint64 group,
			       GVariantDict *d, GError **error)
{
	InotifyLayout l;
	const SvMemberOffset want[] = {
		{ "fsnotify_group", "marks_list", &l.marks_list },
		{ "fsnotify_group", "notification_list", &l.notification_list },
		{ "fsnotify_mark", "g_list", &l.g_list },
		{ "fsnotify_mark", "mask", &l.mask },
		{ "fsnotify_mark", "flags", &l.flags },
		{ "fsnotify_mark", "connector", &l.connector },
		{ "fsnotify_mark_connector", "obj", &l.obj },
		{ "inotify_inode_mark", "wd", &l.wd },
		{ "inode", "i_fsnotify_marks", &l.i_marks },
		{ "inode", "i_dentry", &l.i_dentry },
		{ "inode", "i_sb", &l.i_sb },
		{ "inode", "i_nlink", &l.i_nlink },
		{ "dentry", "d_u.d_alias", &l.d_alias },
		{ "super_block", "s_mounts", &l.s_mounts },
		{ "mount", "mnt_instance", &l.mnt_instance },
		{ "mount", "mnt", &l.mount_mnt },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error))
		return FALSE;
	guint64 queued;
	if (!sv_introspect_read_uint(in, group + l.notification_list, 8, &queued, error))
		return FALSE;
	if (queued != group + l.notification_list)
		return refuse(error, pid, fd, "with events not yet read");
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_FD_INOTIFY_TYPE));
	const guint64 head = group + l.marks_list;
	guint64 link;
	if (!sv_introspect_read_uint(in, head, 8, &link, error))
		return FALSE;
	for (guint n = 0; link != head; n++) {
		if (n >= MAX_WATCHES)
			return refuse(error, pid, fd,
				      "with over 8192 watches (or a list that does not end)");
		guint64 mark = link - l.g_list, mask, flags, conn, obj, wd;
		if (!sv_introspect_read_uint(in, mark + l.mask, 4, &mask, error) ||
		    !sv_introspect_read_uint(in, mark + l.flags, 4, &flags, error) ||
		    !sv_introspect_read_uint(in, mark + l.connector, 8, &conn, error) ||
		    !sv_introspect_read_uint(in, mark + l.wd, 4, &wd, error))
			return FALSE;
		/* a mark being torn down (inotify_rm_watch racing the pause) is
		 * no longer on an inode */
		if ((flags & MARK_FLAG_ATTACHED) && conn) {
			if (!sv_introspect_read_uint(in, conn + l.obj, 8, &obj, error))
				return FALSE;
			gboolean unnamed;
			g_autofree char *path =
				obj ? inode_path(in, &l, obj - l.i_marks, &unnamed, error) : NULL;
			if (!path) {
				if (obj && !unnamed)
					return FALSE;
				g_autofree char *what =
					g_strdup_printf("whose watch %u is on a file with no name "
							"left (unlinked)",
							(guint)wd);
				return refuse(error, pid, fd, what);
			}
			guint32 user = (guint32)(mask & IN_ALL_EVENTS_) |
				       (flags & MARK_FLAG_EXCL_UNLINK ? IN_EXCL_UNLINK_ : 0) |
				       (flags & MARK_FLAG_IN_ONESHOT ? IN_ONESHOT_ : 0);
			g_variant_builder_add(&b, "(uus)", (guint32)wd, user, path);
		}
		if (!sv_introspect_read_uint(in, link, 8, &link, error))
			return FALSE;
	}
	g_variant_dict_insert_value(d, SV_TASK_FD_INOTIFY, g_variant_builder_end(&b));
	return TRUE;
}
