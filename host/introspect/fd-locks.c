/* SPDX-License-Identifier: MIT */
/*
 * fd-locks.c - the file locks a process holds through an open file
 * (inode->i_flctx, struct file_lock_context, fs/locks.c): flock locks and
 * OFD locks belong to the open file (fl_file), POSIX (fcntl) locks to the
 * process (fl_owner is its files_struct) and cover the inode, whichever fd
 * took them. Only granted locks are on these lists (waiters hang off
 * fl_blocked_requests). A lease is refused, naming the fd: it needs a
 * lease-breaking peer restore cannot bring back.
 *
 * The entry is SV_TASK_FD_LOCKS, a(uutt): (SV_TASK_LOCK_*, F_RDLCK 0 or
 * F_WRLCK 1, first byte, last byte (OFFSET_MAX: to the end)). A POSIX lock
 * is listed once, on the first fd of its inode opened so that it could
 * take it (read for F_RDLCK, write for F_WRLCK); one no fd could take
 * (its fd closed would have dropped it) cannot be, and is not, there.
 */
#include <string.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define FL_POSIX_ 1u
#define FL_FLOCK_ 2u
#define FL_OFDLCK_ 1024u
#define MAX_LOCKS 4096u

typedef struct {
	guint64 i_flctx, flc_flock, flc_posix, flc_lease;
	guint64 fl_list, fl_owner, fl_flags, fl_type, fl_file, fl_start, fl_end;
} LockLayout;

/* Calls back for each file_lock on the list at head, bounded. */
typedef gboolean (*EachLock)(const SvIntrospect *in, const LockLayout *l, guint64 fl, gpointer data,
			     GError **error);
static gboolean walk(const SvIntrospect *in, const LockLayout *l, guint64 head, guint32 pid,
		     guint fd, EachLock each, gpointer data, GError **error)
{
	guint64 link;
	if (!sv_introspect_read_uint(in, head, 8, &link, error))
		return FALSE;
	for (guint n = 0; link != head; n++) {
		if (n >= MAX_LOCKS) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "guest pid %u: fd %u: its inode's lock list does not end", pid,
				    fd);
			return FALSE;
		}
		if (!each(in, l, link - l->fl_list, data, error) ||
		    !sv_introspect_read_uint(in, link, 8, &link, error))
			return FALSE;
	}
	return TRUE;
}

typedef struct {
	guint64 file, files;
	guint32 mode;		/* the fd's FMODE_READ 1 / FMODE_WRITE 2 */
	GHashTable *posix_done; /* POSIX file_locks listed on an fd already */
	gboolean lease;
	GVariantBuilder *b;
} Collect;

static gboolean one(const SvIntrospect *in, const LockLayout *l, guint64 fl, gpointer data,
		    GError **error)
{
	Collect *c = data;
	guint64 owner, flags, type, file, start, end;
	if (!sv_introspect_read_uint(in, fl + l->fl_owner, 8, &owner, error) ||
	    !sv_introspect_read_uint(in, fl + l->fl_flags, 4, &flags, error) ||
	    !sv_introspect_read_uint(in, fl + l->fl_type, 1, &type, error) ||
	    !sv_introspect_read_uint(in, fl + l->fl_file, 8, &file, error) ||
	    !sv_introspect_read_uint(in, fl + l->fl_start, 8, &start, error) ||
	    !sv_introspect_read_uint(in, fl + l->fl_end, 8, &end, error))
		return FALSE;
	if (type > 1) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "a granted guest lock of type %u",
			    (guint)type);
		return FALSE;
	}
	guint32 kind = 0;
	if ((flags & FL_FLOCK_) && file == c->file)
		kind = SV_TASK_LOCK_FLOCK;
	else if ((flags & FL_OFDLCK_) && file == c->file)
		kind = SV_TASK_LOCK_OFD;
	else if ((flags & FL_POSIX_) && !(flags & FL_OFDLCK_) && owner == c->files) {
		/* on the first fd that could take it: opened for reading
		 * for F_RDLCK, for writing for F_WRLCK */
		if (g_hash_table_contains(c->posix_done, &fl) || !(c->mode & (type == 0 ? 1u : 2u)))
			return TRUE;
		g_hash_table_add(c->posix_done, g_memdup2(&fl, sizeof(fl)));
		kind = SV_TASK_LOCK_POSIX;
	}
	if (kind)
		g_variant_builder_add(c->b, "(uutt)", kind, (guint32)type, start, end);
	return TRUE;
}

static gboolean lease(const SvIntrospect *in, const LockLayout *l, guint64 fl, gpointer data,
		      GError **error)
{
	Collect *c = data;
	guint64 file;
	if (!sv_introspect_read_uint(in, fl + l->fl_file, 8, &file, error))
		return FALSE;
	c->lease |= file == c->file;
	return TRUE;
}

gboolean sv_introspect_fd_locks(const SvIntrospect *in, guint32 pid, guint fd, guint64 file,
				guint64 inode, guint32 mode, guint64 files, GHashTable *posix_done,
				GVariantDict *d, GError **error)
{
	LockLayout l;
	/* 6.9 moved the members every lock has into struct file_lock_core,
	 * file_lock's first member c, with flc_ names: chosen by what BTF has */
	guint64 probe;
	gboolean core = !sv_kernel_types_offset(in->types, "file_lock", "fl_list", &probe, NULL);
	const SvMemberOffset want[] = {
		{ "inode", "i_flctx", &l.i_flctx },
		{ "file_lock_context", "flc_flock", &l.flc_flock },
		{ "file_lock_context", "flc_posix", &l.flc_posix },
		{ "file_lock_context", "flc_lease", &l.flc_lease },
		{ "file_lock", core ? "c.flc_list" : "fl_list", &l.fl_list },
		{ "file_lock", core ? "c.flc_owner" : "fl_owner", &l.fl_owner },
		{ "file_lock", core ? "c.flc_flags" : "fl_flags", &l.fl_flags },
		{ "file_lock", core ? "c.flc_type" : "fl_type", &l.fl_type },
		{ "file_lock", core ? "c.flc_file" : "fl_file", &l.fl_file },
		{ "file_lock", "fl_start", &l.fl_start },
		{ "file_lock", "fl_end", &l.fl_end },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error))
		return FALSE;
	guint64 ctx;
	if (!sv_introspect_read_uint(in, inode + l.i_flctx, 8, &ctx, error))
		return FALSE;
	if (!ctx)
		return TRUE; /* never locked */
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_FD_LOCKS_TYPE));
	Collect c = {
		.file = file, .files = files, .mode = mode, .posix_done = posix_done, .b = &b
	};
	if (!walk(in, &l, ctx + l.flc_lease, pid, fd, lease, &c, error))
		return FALSE;
	if (c.lease) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "guest pid %u: fd %u holds a file lease (F_SETLEASE); snapvm cannot "
			    "checkpoint leases",
			    pid, fd);
		return FALSE;
	}
	if (!walk(in, &l, ctx + l.flc_flock, pid, fd, one, &c, error) ||
	    !walk(in, &l, ctx + l.flc_posix, pid, fd, one, &c, error))
		return FALSE;
	GVariant *v = g_variant_builder_end(&b);
	if (g_variant_n_children(v))
		g_variant_dict_insert_value(d, SV_TASK_FD_LOCKS, v);
	else
		g_variant_unref(g_variant_ref_sink(v));
	return TRUE;
}
