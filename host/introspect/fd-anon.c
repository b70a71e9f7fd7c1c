/* SPDX-License-Identifier: MIT */
/*
 * fd-anon.c - fds on anonymous inodes (anon_inode:[eventfd], [eventpoll],
 * [timerfd], ...): which kernel object an fd is, told by its file's
 * f_op (the object's file_operations, found by name in kallsyms: every
 * file of a kind shares one), and that object's state from
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
	const char *kind;  /* SV_TASK_FD_KIND_*, or what it is for a refusal */
	CaptureFn capture; /* NULL: refused */
} kinds[] = {
	{ "eventfd_fops", SV_TASK_FD_KIND_EVENTFD, sv_introspect_eventfd },
	{ "eventpoll_fops", SV_TASK_FD_KIND_EPOLL, sv_introspect_epoll },
	{ "timerfd_fops", "a timerfd", NULL },
	{ "signalfd_fops", "a signalfd", NULL },
	{ "inotify_fops", "an inotify instance", NULL },
	{ "fanotify_fops", "a fanotify group", NULL },
	{ "perf_fops", "a perf event", NULL },
	{ "bpf_map_fops", "a BPF map", NULL },
	{ "bpf_prog_fops", "a BPF program", NULL },
	{ "userfaultfd_fops", "a userfaultfd", NULL },
	{ "pidfd_fops", "a pidfd", NULL },
	{ "io_uring_fops", "an io_uring", NULL },
	{ "memfd_secret_fops", "a memfd_secret", NULL },
};

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
	for (guint i = 0; i < G_N_ELEMENTS(kinds); i++) {
		guint64 addr;
		if (!sv_kallsyms_lookup(in->syms, kinds[i].fops, &addr, NULL) || addr != f_op)
			continue;
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
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "guest pid %u: fd %u is an anonymous inode of a kind snapvm does not know "
		    "(its file_operations at 0x%" G_GINT64_MODIFIER "x are none of eventfd, "
		    "epoll, timerfd, signalfd, inotify...)",
		    pid, fd, f_op);
	return FALSE;
}
