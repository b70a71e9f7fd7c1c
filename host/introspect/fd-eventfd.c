/* SPDX-License-Identifier: MIT */
/*
 * fd-eventfd.c - an eventfd's state (struct eventfd_ctx, fs/eventfd.c):
 * its 64-bit count and the flags it was made with, of which only
 * EFD_SEMAPHORE still matters (non-blocking is the file's O_NONBLOCK,
 * in f_flags like any fd's; close-on-exec is the fd table's).
 */
#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define EFD_SEMAPHORE_ 1u

gboolean sv_introspect_eventfd(const SvIntrospect *in, guint32 pid, guint fd, guint64 ctx,
			       GVariantDict *d, GError **error)
{
	guint64 count_off, flags_off;
	if (!sv_kernel_types_offset(in->types, "eventfd_ctx", "count", &count_off, error) ||
	    !sv_kernel_types_offset(in->types, "eventfd_ctx", "flags", &flags_off, error))
		return FALSE;
	guint8 c[8], f[4];
	if (!sv_introspect_read(in, ctx + count_off, c, 8, error) ||
	    !sv_introspect_read(in, ctx + flags_off, f, 4, error))
		return FALSE;
	guint64 count = sv_get_le64(c);
	if (count == G_MAXUINT64) { /* eventfd_write refuses it: a broken guest */
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "guest pid %u: fd %u, an eventfd, has the impossible count 2^64-1", pid,
			    fd);
		return FALSE;
	}
	g_variant_dict_insert(d, SV_TASK_FD_EVENTFD_COUNT, "t", count);
	g_variant_dict_insert(d, SV_TASK_FD_EVENTFD_SEMAPHORE, "b",
			      (sv_get_le32(f) & EFD_SEMAPHORE_) != 0);
	return TRUE;
}
