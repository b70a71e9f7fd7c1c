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
#define MARK_FLAG_EXCL_UNLINK 0x10u /* FSNOTIFY_MARK_FLAG_*, unchanged 5.19..6.12 */
#define MARK_FLAG_IN_ONESHOT 0x20u
#define MARK_FLAG_ATTACHED 0x02u

typedef struct {
	guint64 marks_list, notification_list, g_list, mask, flags, connector, fsn_mark, wd;
	guint64 conn_type, obj, i_marks, i_dentry, i_sb, i_nlink, d_alias, s_mounts;
	guint64 mnt_instance, mount_mnt;
	guint64 mask_size, flags_size, wd_size, conn_type_size, i_nlink_size;
	gint64 obj_type_inode;
	/* where fsnotify_mark_connector.obj points: at the inode itself (a
	 * void *, 6.12), or at the inode's i_fsnotify_marks (a
	 * fsnotify_connp_t *, 6.1) */
	gboolean obj_is_inode;
} InotifyLayout;

static gboolean refuse(GError **error, guint32 pid, guint fd, const char *what)
{
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "guest pid %u: fd %u is an inotify instance %s; snapvm cannot checkpoint that",
		    pid, fd, what);
	return FALSE;
}

/* Every offset, size and constant the walk uses, from the kernel's BTF. */
static gboolean inotify_layout(const SvKernelTypes *kt, InotifyLayout *l, GError **error)
{
	const SvMemberOffset want[] = {
		{ "fsnotify_group", "marks_list", &l->marks_list },
		{ "fsnotify_group", "notification_list", &l->notification_list },
		{ "fsnotify_mark", "g_list", &l->g_list },
		{ "fsnotify_mark", "mask", &l->mask },
		{ "fsnotify_mark", "flags", &l->flags },
		{ "fsnotify_mark", "connector", &l->connector },
		{ "inotify_inode_mark", "fsn_mark", &l->fsn_mark },
		{ "inotify_inode_mark", "wd", &l->wd },
		{ "fsnotify_mark_connector", "type", &l->conn_type },
		{ "fsnotify_mark_connector", "obj", &l->obj },
		{ "inode", "i_fsnotify_marks", &l->i_marks },
		{ "inode", "i_dentry", &l->i_dentry },
		{ "inode", "i_sb", &l->i_sb },
		{ "inode", "i_nlink", &l->i_nlink },
		{ "dentry", "d_u.d_alias", &l->d_alias },
		{ "super_block", "s_mounts", &l->s_mounts },
		{ "mount", "mnt_instance", &l->mnt_instance },
		{ "mount", "mnt", &l->mount_mnt },
	};
	g_autofree char *pointee = NULL;
	if (!sv_kernel_types_offsets(kt, want, G_N_ELEMENTS(want), error) ||
	    !sv_kernel_types_size(kt, "fsnotify_mark", "mask", &l->mask_size, error) ||
	    !sv_kernel_types_size(kt, "fsnotify_mark", "flags", &l->flags_size, error) ||
	    !sv_kernel_types_size(kt, "inotify_inode_mark", "wd", &l->wd_size, error) ||
	    !sv_kernel_types_size(kt, "fsnotify_mark_connector", "type", &l->conn_type_size,
				  error) ||
	    !sv_kernel_types_size(kt, "inode", "i_nlink", &l->i_nlink_size, error) ||
	    !sv_kernel_types_enum_value(kt, "fsnotify_obj_type", "FSNOTIFY_OBJ_TYPE_INODE",
					&l->obj_type_inode, error) ||
	    !sv_kernel_types_pointee(kt, "fsnotify_mark_connector", "obj", &pointee, error))
		return FALSE;
	if (g_strcmp0(pointee, "void") == 0)
		l->obj_is_inode = TRUE;
	else if (g_strcmp0(pointee, "fsnotify_connp_t") == 0)
		l->obj_is_inode = FALSE;
	else {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "the guest kernel's fsnotify_mark_connector.obj points to '%s', "
			    "neither the object (void *) nor its connector pointer "
			    "(fsnotify_connp_t *): snapvm does not know this fsnotify layout",
			    pointee);
		return FALSE;
	}
	return TRUE;
}

/* The inode a watch's connector hangs on, or 0 when the connector is
 * detached (obj NULL: the inode is going away). The inode's
 * i_fsnotify_marks must point back at the connector: checked, so that a
 * layout we misread or hostile guest memory gives an error, not a walk
 * through unrelated memory. */
static gboolean connector_inode(const SvIntrospect *in, const InotifyLayout *l, guint64 conn,
				guint64 *ret_inode, GError **error)
{
	guint64 type, obj, back;
	if (!sv_introspect_read_uint(in, conn + l->conn_type, (guint)l->conn_type_size, &type,
				     error) ||
	    !sv_introspect_read_uint(in, conn + l->obj, 8, &obj, error))
		return FALSE;
	*ret_inode = 0;
	if (!obj)
		return TRUE;
	if (type != (guint64)l->obj_type_inode) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "an inotify mark's fsnotify connector at 0x%" G_GINT64_MODIFIER
			    "x has object type %" G_GUINT64_FORMAT ", not an inode",
			    conn, type);
		return FALSE;
	}
	guint64 inode = l->obj_is_inode ? obj : obj - l->i_marks;
	if (!sv_introspect_read_uint(in, inode + l->i_marks, 8, &back, error))
		return FALSE;
	if (back != conn) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "the inode at 0x%" G_GINT64_MODIFIER "x of an inotify mark does not "
			    "point back at its fsnotify connector 0x%" G_GINT64_MODIFIER "x",
			    inode, conn);
		return FALSE;
	}
	*ret_inode = inode;
	return TRUE;
}

/* A path of the inode: its first dentry, under the first mount of its
 * filesystem; NULL with *unnamed set when it has no name left. */
static char *inode_path(const SvIntrospect *in, const InotifyLayout *l, guint64 inode,
			gboolean *unnamed, GError **error)
{
	guint64 nlink, alias, sb, first_mount;
	*unnamed = FALSE;
	if (!sv_introspect_read_uint(in, inode + l->i_nlink, (guint)l->i_nlink_size, &nlink,
				     error) ||
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
	if (!inotify_layout(in->types, &l, error))
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
		guint64 mark = link - l.g_list, mask, flags, conn, inode, wd;
		if (!sv_introspect_read_uint(in, mark + l.mask, (guint)l.mask_size, &mask, error) ||
		    !sv_introspect_read_uint(in, mark + l.flags, (guint)l.flags_size, &flags,
					     error) ||
		    !sv_introspect_read_uint(in, mark + l.connector, 8, &conn, error) ||
		    !sv_introspect_read_uint(in, mark - l.fsn_mark + l.wd, (guint)l.wd_size, &wd,
					     error))
			return FALSE;
		/* a mark being torn down (inotify_rm_watch racing the pause) is
		 * no longer on an inode */
		if ((flags & MARK_FLAG_ATTACHED) && conn) {
			if (!connector_inode(in, &l, conn, &inode, error))
				return FALSE;
			gboolean unnamed;
			g_autofree char *path = inode ? inode_path(in, &l, inode, &unnamed, error)
						      : NULL;
			if (!path) {
				if (inode && !unnamed)
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
