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
#define CLOCK_MONOTONIC_ 1
#define CLOCK_BOOTTIME_ 7

/* Its overrun count, if not 0, for the restorer to make again; only as
 * posix-timers.c checked at checkpoint (a hostile snapshot gets the same
 * answer): an armed periodic CLOCK_MONOTONIC or CLOCK_BOOTTIME timer that
 * signals the process or its main thread, reaching back at most
 * SV_RIMG_MAX_OVERRUN_REACH_NS. */
static gboolean timer_overrun(GVariant *overruns, guint32 pid, struct sv_rimg_posix_timer *pt,
			      GError **error)
{
	for (gsize k = 0; overruns && k < g_variant_n_children(overruns); k++) {
		guint32 id;
		guint64 count;
		g_variant_get_child(overruns, k, "(ut)", &id, &count);
		if (id != (guint32)pt->id || !count)
			continue;
		if (!pt->left || !pt->interval || (pt->notify & ~SIGEV_THREAD_ID_) != 0 ||
		    (pt->clock != CLOCK_MONOTONIC_ && pt->clock != CLOCK_BOOTTIME_) ||
		    (pt->tid > 0 && (guint32)pt->tid != pid) || count > G_MAXINT ||
		    count + 1 > SV_RIMG_MAX_OVERRUN_REACH_NS / pt->interval)
			return sv_rimg_refuse(
				error,
				"POSIX timer %u has an overrun count of %" G_GUINT64_FORMAT
				" that snapvm cannot make again (checkpoint refuses "
				"those)",
				id, count);
		pt->overrun = count;
	}
	return TRUE;
}

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
	g_autoptr(GVariant) overruns =
		g_variant_lookup_value(task, SV_TASK_POSIX_TIMER_OVERRUNS,
				       G_VARIANT_TYPE(SV_TASK_POSIX_TIMER_OVERRUNS_TYPE));
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
		if (!timer_overrun(overruns, t->h.pid, &pt, error))
			return FALSE;
		g_array_append_val(timers, pt);
	}
	g_array_sort(timers, by_id);
	for (guint i = 1; i < timers->len; i++)
		if (g_array_index(timers, struct sv_rimg_posix_timer, i).id ==
		    g_array_index(timers, struct sv_rimg_posix_timer, i - 1).id)
			return sv_rimg_refuse(error, "POSIX timer %d appears twice",
					      g_array_index(timers, struct sv_rimg_posix_timer, i)
						      .id);
	/* The restorer takes each re-counting timer's signal by its number
	 * (restore-timers.c): a second such timer on the same signal could
	 * have its signal taken by the first's next expiry, the restore then
	 * failing in the guest, or miscounting. */
	for (guint i = 0; i < timers->len; i++)
		for (guint j = 0; j < i; j++) {
			const struct sv_rimg_posix_timer *a =
				&g_array_index(timers, struct sv_rimg_posix_timer, j);
			const struct sv_rimg_posix_timer *b =
				&g_array_index(timers, struct sv_rimg_posix_timer, i);
			if (a->overrun && b->overrun && a->signo == b->signo)
				return sv_rimg_refuse(
					error,
					"POSIX timers %d and %d both have an overrun count on "
					"signal %d: snapvm makes one per signal again",
					a->id, b->id, b->signo);
		}
	/* 8-byte aligned in the data area */
	while (t->fd_data->len % 8)
		g_byte_array_append(t->fd_data, (const guint8 *)"", 1);
	t->h.timers_off = t->fd_data->len;
	t->h.ntimers = timers->len;
	g_byte_array_append(t->fd_data, (const guint8 *)timers->data,
			    timers->len * (guint)sizeof(struct sv_rimg_posix_timer));
	return TRUE;
}
