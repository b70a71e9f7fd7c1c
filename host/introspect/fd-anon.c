/* SPDX-License-Identifier: MIT */
/*
 * fd-anon.c - fds on anonymous inodes (anon_inode:[eventfd], [eventpoll],
 * [timerfd], ...): which kernel object an fd is, told by its file's
 * f_op (the object's file_operations, found by name in kallsyms: every
 * file of a kind shares one; where kallsyms lacks it, by the name the
 * kernel gave the file), and that object's state from
 * file->private_data, read by the kind's own file (fd-eventfd.c,
 * fd-epoll.c). A kind not carried yet is refused here, naming the fd and
 * the kind: a snapshot must not come back without it.
 */
#include <string.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

typedef gboolean (*CaptureFn)(const SvIntrospect *in, guint32 pid, guint fd, guint64 priv,
			      GVariantDict *d, GError **error);

static const struct {
	const char *fops;  /* the kind's file_operations symbol */
	const char *name;  /* the name anon_inode_getfile gave its dentry */
	const char *kind;  /* SV_TASK_FD_KIND_*, or what it is for a refusal */
	CaptureFn capture; /* NULL: refused */
} kinds[] = {
	{ "eventfd_fops", "[eventfd]", SV_TASK_FD_KIND_EVENTFD, sv_introspect_eventfd },
	{ "eventpoll_fops", "[eventpoll]", SV_TASK_FD_KIND_EPOLL, sv_introspect_epoll },
	{ "timerfd_fops", "[timerfd]", SV_TASK_FD_KIND_TIMERFD, sv_introspect_timerfd },
	{ "signalfd_fops", "[signalfd]", SV_TASK_FD_KIND_SIGNALFD, sv_introspect_signalfd },
	{ "inotify_fops", "inotify", SV_TASK_FD_KIND_INOTIFY, sv_introspect_inotify },
	{ "fanotify_fops", "[fanotify]", "a fanotify group", NULL },
	{ "perf_fops", "[perf_event]", "a perf event", NULL },
	{ "bpf_map_fops", "bpf-map", "a BPF map", NULL },
	{ "bpf_prog_fops", "bpf-prog", "a BPF program", NULL },
	{ "userfaultfd_fops", "[userfaultfd]", "a userfaultfd", NULL },
	{ "pidfd_fops", "[pidfd]", "a pidfd", NULL },
	{ "io_uring_fops", "[io_uring]", "an io_uring", NULL },
};

/* The name of the file's dentry (anon_inode:<name> in /proc/pid/fd):
 * where kallsyms has no data symbols (Debian's arm64 kernel lacks
 * KALLSYMS_ALL), the kind is told by it. */
static char *dentry_name(const SvIntrospect *in, guint64 file, GError **error)
{
	guint64 path_off, dentry_off, d_name, q_name, q_len;
	if (!sv_kernel_types_offset(in->types, "file", "f_path", &path_off, error) ||
	    !sv_kernel_types_offset(in->types, "path", "dentry", &dentry_off, error) ||
	    !sv_kernel_types_offset(in->types, "dentry", "d_name", &d_name, error) ||
	    !sv_kernel_types_offset(in->types, "qstr", "name", &q_name, error) ||
	    !sv_kernel_types_offset(in->types, "qstr", "len", &q_len, error))
		return NULL;
	guint8 b[8];
	if (!sv_introspect_read(in, file + path_off + dentry_off, b, 8, error))
		return NULL;
	guint64 dentry = sv_get_le64(b);
	if (!sv_introspect_read(in, dentry + d_name + q_len, b, 4, error))
		return NULL;
	guint32 len = MIN(sv_get_le32(b), 64u);
	if (!sv_introspect_read(in, dentry + d_name + q_name, b, 8, error))
		return NULL;
	g_autofree char *name = g_malloc0(len + 1);
	if (!sv_introspect_read(in, sv_get_le64(b), name, len, error))
		return NULL;
	return g_steal_pointer(&name);
}

gboolean sv_introspect_fd_anon(const SvIntrospect *in, guint32 pid, guint fd, guint64 file,
			       GVariantDict *d, GError **error)
{
	guint64 f_op_off, priv_off;
	if (!sv_kernel_types_offset(in->types, "file", "f_op", &f_op_off, error) ||
	    !sv_kernel_types_offset(in->types, "file", "private_data", &priv_off, error))
		return FALSE;
	guint8 b[8];
	if (!sv_introspect_read(in, file + f_op_off, b, 8, error))
		return FALSE;
	guint64 f_op = sv_get_le64(b);
	if (!sv_introspect_read(in, file + priv_off, b, 8, error))
		return FALSE;
	guint64 priv = sv_get_le64(b);
	g_autofree char *name = NULL;
	for (guint i = 0; i < G_N_ELEMENTS(kinds); i++) {
		guint64 addr;
		if (sv_kallsyms_lookup(in->syms, kinds[i].fops, &addr, NULL)) {
			if (addr != f_op)
				continue;
		} else {
			if (!name && !(name = dentry_name(in, file, error)))
				return FALSE;
			if (strcmp(name, kinds[i].name))
				continue;
		}
		if (!kinds[i].capture) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "guest pid %u: fd %u is %s; snapvm cannot checkpoint that kind "
				    "of fd yet (see the README's table of kernel objects)",
				    pid, fd, kinds[i].kind);
			return FALSE;
		}
		g_variant_dict_insert(d, SV_TASK_FD_KIND, "s", kinds[i].kind);
		return kinds[i].capture(in, pid, fd, priv, d, error);
	}
	if (!name && !(name = dentry_name(in, file, error)))
		return FALSE;
	g_autofree char *shown = g_strescape(name, NULL);
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "guest pid %u: fd %u is anon_inode:%s, a kind of fd snapvm does not know "
		    "(none of eventfd, epoll, timerfd, signalfd, inotify...)",
		    pid, fd, shown);
	return FALSE;
}
