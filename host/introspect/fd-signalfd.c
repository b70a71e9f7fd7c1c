/* SPDX-License-Identifier: MIT */
/* fd-signalfd.c - a signalfd's mask (struct signalfd_ctx, fs/signalfd.c,
 * stored inverted): all it holds; the signals it reads are the process's pending ones,
 * which the task state carries. */
#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-task-keys.h"
#include "host/introspect/introspect-private.h"

gboolean sv_introspect_signalfd(const SvIntrospect *in, guint32 pid, guint fd, guint64 ctx,
				GVariantDict *d, GError **error)
{
	(void)pid;
	(void)fd;
	guint64 off;
	guint8 b[8];
	if (!sv_kernel_types_offset(in->types, "signalfd_ctx", "sigmask", &off, error) ||
	    !sv_introspect_read(in, ctx + off, b, 8, error))
		return FALSE;
	/* do_signalfd4 keeps the complement: the signals it does not read */
	g_variant_dict_insert(d, SV_TASK_FD_SIGNALFD_MASK, "t", ~sv_get_le64(b));
	return TRUE;
}
