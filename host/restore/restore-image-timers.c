/* SPDX-License-Identifier: MIT */
/* restore-image-timers.c - the process's POSIX timers as the restore
 * image's sv_rimg_posix_timer table (in the data area), sorted by id:
 * the restorer makes them in that order, so each gets its own id back. */
#include "snapvm/snapshot-task-keys.h"
#include "host/restore/restore-image-parts.h"

/* timer_create hands out ids from 0 upwards: reaching a high one means
 * making (and deleting) every one below it */
#define MAX_TIMER_ID 4096u
#define SIGEV_THREAD_ID_ 4

static gint by_id(gconstpointer a, gconstpointer b)
{
	const struct sv_rimg_posix_timer *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

gboolean sv_rimg_posix_timers_build(SvRimgTables *t, GVariant *task, GError **error)
{
	g_autoptr(GVariant) v = g_variant_lookup_value(task, SV_TASK_POSIX_TIMERS,
						       G_VARIANT_TYPE(SV_TASK_POSIX_TIMERS_TYPE));
	if (!v)
		return TRUE;
	g_autoptr(GVariant)
		targets = g_variant_lookup_value(task, SV_TASK_POSIX_TIMER_TARGETS,
						 G_VARIANT_TYPE(SV_TASK_POSIX_TIMER_TARGETS_TYPE));
	gsize n = g_variant_n_children(v);
	g_autoptr(GArray) timers = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_posix_timer));
	for (gsize i = 0; i < n; i++) {
		guint32 id, clock, notify, signo;
		guint64 value, left, interval, unused;
		g_variant_get_child(v, i, "(uuuutttt)", &id, &clock, &notify, &signo, &value, &left,
				    &interval, &unused);
		if (id >= MAX_TIMER_ID)
			return sv_rimg_refuse(error,
					      "POSIX timer %u: ids from %u up cannot be made again",
					      id, MAX_TIMER_ID);
		if (signo > 64 || (notify & ~SIGEV_THREAD_ID_) > 1)
			return sv_rimg_refuse(error, "POSIX timer %u is malformed", id);
		struct sv_rimg_posix_timer pt = { .id = (gint32)id,
						  .clock = (gint32)clock,
						  .notify = (gint32)notify,
						  .signo = (gint32)signo,
						  .value = value,
						  .left = left,
						  .interval = interval };
		for (gsize k = 0; targets && k < g_variant_n_children(targets); k++) {
			guint32 tid_of, tid;
			g_variant_get_child(targets, k, "(uu)", &tid_of, &tid);
			if (tid_of == id && (notify & SIGEV_THREAD_ID_))
				pt.tid = (gint32)tid;
		}
		g_array_append_val(timers, pt);
	}
	g_array_sort(timers, by_id);
	for (guint i = 1; i < timers->len; i++)
		if (g_array_index(timers, struct sv_rimg_posix_timer, i).id ==
		    g_array_index(timers, struct sv_rimg_posix_timer, i - 1).id)
			return sv_rimg_refuse(error, "POSIX timer %d appears twice",
					      g_array_index(timers, struct sv_rimg_posix_timer, i)
						      .id);
	/* 8-byte aligned in the data area */
	while (t->fd_data->len % 8)
		g_byte_array_append(t->fd_data, (const guint8 *)"", 1);
	t->h.timers_off = t->fd_data->len;
	t->h.ntimers = timers->len;
	g_byte_array_append(t->fd_data, (const guint8 *)timers->data,
			    timers->len * (guint)sizeof(struct sv_rimg_posix_timer));
	return TRUE;
}
