/* SPDX-License-Identifier: MIT */
/* restore-image-locks.c - the locks a file or directory fd held, as the
 * restore image's sv_rimg_lock array for that fd (see
 * host/introspect/fd-locks.c for what is listed where). */
#include "snapvm/snapshot-task-keys.h"
#include "host/restore/restore-image-parts.h"

#define OFFSET_MAX_ G_MAXINT64
#define MAX_LOCKS_PER_FD 4096u

gboolean sv_rimg_fd_locks(SvRimgTables *t, const SvSnapFd *entry, struct sv_rimg_fd *e,
			  GError **error)
{
	gsize n = g_variant_n_children(entry->locks);
	if (n > MAX_LOCKS_PER_FD)
		return sv_rimg_refuse(error, "fd %u holds %" G_GSIZE_FORMAT " locks", entry->fd, n);
	e->data_off = t->fd_data->len;
	for (gsize i = 0; i < n; i++) {
		guint32 kind, type;
		guint64 start, end;
		g_variant_get_child(entry->locks, i, "(uutt)", &kind, &type, &start, &end);
		if ((kind != SV_TASK_LOCK_FLOCK && kind != SV_TASK_LOCK_POSIX &&
		     kind != SV_TASK_LOCK_OFD) ||
		    type > 1 || start > OFFSET_MAX_ || end > OFFSET_MAX_ || end < start)
			return sv_rimg_refuse(error, "fd %u: lock %" G_GSIZE_FORMAT " is malformed",
					      entry->fd, i);
		struct sv_rimg_lock lk = {
			.kind = kind == SV_TASK_LOCK_FLOCK   ? SV_RIMG_LOCK_FLOCK
				: kind == SV_TASK_LOCK_POSIX ? SV_RIMG_LOCK_POSIX
							     : SV_RIMG_LOCK_OFD,
			.write = type,
			.start = kind == SV_TASK_LOCK_FLOCK ? 0 : start,
			/* the kernel's last byte OFFSET_MAX is fcntl's "to the end" */
			.len = kind == SV_TASK_LOCK_FLOCK || end == OFFSET_MAX_ ? 0
										: end - start + 1,
		};
		g_byte_array_append(t->fd_data, (const guint8 *)&lk, sizeof(lk));
	}
	e->data_len = n * sizeof(struct sv_rimg_lock);
	return TRUE;
}
