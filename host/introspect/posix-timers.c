/* SPDX-License-Identifier: MIT */
/*
 * posix-timers.c - a process's POSIX timers (timer_create; struct
 * k_itimer on signal->posix_timers, kernel/time/posix-timers.c): for each,
 * its id (the process names it by that), clock, how it notifies (a signal
 * to the process or to its thread, or nothing), the signal and value it
 * sends (kept in its preallocated sigqueue's siginfo), its interval and,
 * if armed, the time left - read like a timerfd's hrtimer (fd-timerfd.c
 * says why the time left, and how a periodic timer that fired and waits
 * for its signal to be taken is armed for its next period). Refused,
 * naming the timer: CPU-time clocks, alarm clocks. glibc's SIGEV_THREAD
 * timers are, to the kernel, SIGEV_THREAD_ID ones signalling glibc's
 * helper thread with signal 32, and carried as such (the restorer blocks
 * 32 too until each thread has its own mask back: restore-main.c).
 *
 * The entry is the TASK key SV_TASK_POSIX_TIMERS, a(uuuutttt): (id, clock,
 * sigev_notify, signo, sigev_value, time left ns (0: disarmed), interval ns,
 * absolute CLOCK_REALTIME expiry? (0/1)); their overrun counts, where not
 * 0, SV_TASK_POSIX_TIMER_OVERRUNS. The restorer makes a count again the
 * way the kernel makes one (restore-timers.c), which needs an armed
 * periodic CLOCK_MONOTONIC or CLOCK_BOOTTIME timer whose signal it can
 * take itself (the process's or its main thread's), no other such timer
 * on its signal, reaching back at most SV_RIMG_MAX_OVERRUN_REACH_NS: any
 * other timer with a count is refused,
 * naming it and why (it would come back reporting 0).
 */
#include "snapvm/linux-uapi.h"
#include "snapvm/restore-image-format.h" /* SV_RIMG_MAX_OVERRUN_REACH_NS */
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define MAX_TIMERS 4096u
#define SIGEV_SIGNAL_ 0u
#define SIGEV_NONE_ 1u
#define SIGEV_THREAD_ID_ 4u
#define HRTIMER_STATE_ENQUEUED_ 0x01u

typedef struct {
	guint64 list, id, clock, notify, interval, sigq, info, signo, value, tmr, overrun, it_pid,
		numbers;
	guint64 expires, state, base, offset;
} TimerLayout;

static gboolean refuse(GError **error, guint32 pid, guint64 id, const char *what)
{
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "guest pid %u: POSIX timer %u %s; snapvm cannot checkpoint that yet", pid,
		    (guint)id, what);
	return FALSE;
}

/* Whether the restorer can make a timer's overrun count again (see the
 * top): else a refusal saying why. */
static gboolean overrun_remade(guint32 pid, guint64 id, guint64 clock, guint64 tid, guint64 left,
			       guint64 interval, guint64 overrun, GError **error)
{
	g_autofree char *why = NULL;
	if (!left || !interval)
		why = g_strdup("it is not armed periodic");
	else if (clock == SV_LINUX_CLOCK_REALTIME)
		why = g_strdup("it counts CLOCK_REALTIME (arming it in the past would make it an "
			       "absolute timer)");
	else if (tid != pid)
		why = g_strdup_printf("it signals thread %" G_GUINT64_FORMAT
				      ", whose signal the restorer cannot take",
				      tid);
	else if ((overrun + 1) > SV_RIMG_MAX_OVERRUN_REACH_NS / interval)
		why = g_strdup_printf("that reaches back over %llu s",
				      SV_RIMG_MAX_OVERRUN_REACH_NS / 1000000000ull);
	if (!why)
		return TRUE;
	g_autofree char *what =
		g_strdup_printf("has an overrun count (timer_getoverrun) of %" G_GUINT64_FORMAT
				", which restore cannot make again: %s",
				overrun, why);
	return refuse(error, pid, id, what);
}

/* The time left (ns, at least 1 us) of an hrtimer-based timer, or 0. */
static gboolean time_left(const SvIntrospect *in, const TimerLayout *l, guint64 tmr, guint64 clock,
			  guint64 interval, guint64 *ret, GError **error)
{
	guint64 exp, state, base, offset = 0, now;
	if (!sv_introspect_read_uint(in, tmr + l->expires, 8, &exp, error) ||
	    !sv_introspect_read_uint(in, tmr + l->state, 1, &state, error))
		return FALSE;
	*ret = 0;
	if (!(state & HRTIMER_STATE_ENQUEUED_) && !interval)
		return TRUE; /* disarmed, or a one-shot that fired */
	if (in->clock_hint_ns)
		now = in->clock_hint_ns;
	else if (!sv_introspect_guest_monotonic(in, &now, NULL, error))
		return FALSE;
	if (!sv_introspect_read_uint(in, tmr + l->base, 8, &base, error) ||
	    (clock != SV_LINUX_CLOCK_MONOTONIC &&
	     !sv_introspect_read_uint(in, base + l->offset, 8, &offset, error)))
		return FALSE;
	now += offset;
	if (!(state & HRTIMER_STATE_ENQUEUED_) && (gint64)(now - exp) >= 0)
		exp += ((now - exp) / interval + 1) * interval;
	*ret = (gint64)(exp - now) > 1000 ? exp - now : 1000;
	return TRUE;
}

gboolean sv_introspect_posix_timers(const SvIntrospect *in, const SvTaskRef *ref, guint64 signal,
				    GVariantDict *d, GError **error)
{
	TimerLayout l;
	guint64 head_off;
	const SvMemberOffset want[] = {
		{ "signal_struct", "posix_timers", &head_off },
		{ "k_itimer", "list", &l.list },
		{ "k_itimer", "it_id", &l.id },
		{ "k_itimer", "it_clock", &l.clock },
		{ "k_itimer", "it_sigev_notify", &l.notify },
		{ "k_itimer", "it_interval", &l.interval },
		{ "k_itimer", "it_overrun_last", &l.overrun },
		{ "k_itimer", "it_pid", &l.it_pid },
		{ "pid", "numbers", &l.numbers },
		{ "k_itimer", "sigq", &l.sigq },
		{ "k_itimer", "it.real.timer", &l.tmr },
		{ "sigqueue", "info", &l.info },
		{ "kernel_siginfo", "si_signo", &l.signo },
		{ "kernel_siginfo", "_sifields._timer._sigval", &l.value },
		{ "hrtimer", "node.expires", &l.expires },
		{ "hrtimer", "state", &l.state },
		{ "hrtimer", "base", &l.base },
		{ "hrtimer_clock_base", "offset", &l.offset },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error))
		return FALSE;
	/* a list_head up to 6.9 (it ends where it began), an hlist_head
	 * since (it ends at NULL); told apart by BTF size */
	guint64 head = signal + head_off, link, head_size;
	if (!sv_kernel_types_size(in->types, "signal_struct", "posix_timers", &head_size, error) ||
	    !sv_introspect_read_uint(in, head, 8, &link, error))
		return FALSE;
	const guint64 end = head_size == 8 ? 0 : head;
	if (link == end)
		return TRUE;
	g_auto(GVariantBuilder)
		b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_POSIX_TIMERS_TYPE));
	g_auto(GVariantBuilder) overruns =
		G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_POSIX_TIMER_OVERRUNS_TYPE));
	g_auto(GVariantBuilder)
		targets = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_POSIX_TIMER_TARGETS_TYPE));
	guint64 overrun_signals = 0; /* bit signo-1: a timer with a count signals it */
	for (guint n = 0; link != end; n++) {
		if (n >= MAX_TIMERS) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "guest pid %u: its POSIX timer list does not end", ref->pid);
			return FALSE;
		}
		guint64 t = link - l.list, id, clock, notify, interval, sigq, signo, value, left;
		if (!sv_introspect_read_uint(in, t + l.id, 4, &id, error) ||
		    !sv_introspect_read_uint(in, t + l.clock, 4, &clock, error) ||
		    !sv_introspect_read_uint(in, t + l.notify, 4, &notify, error) ||
		    !sv_introspect_read_uint(in, t + l.interval, 8, &interval, error) ||
		    !sv_introspect_read_uint(in, t + l.sigq, 8, &sigq, error) ||
		    !sv_introspect_read_uint(in, sigq + l.info + l.signo, 4, &signo, error) ||
		    !sv_introspect_read_uint(in, sigq + l.info + l.value, 8, &value, error))
			return FALSE;
		if (clock != SV_LINUX_CLOCK_REALTIME && clock != SV_LINUX_CLOCK_MONOTONIC &&
		    clock != SV_LINUX_CLOCK_BOOTTIME)
			return refuse(error, ref->pid, id,
				      "counts a CPU-time or alarm clock (only CLOCK_REALTIME, "
				      "CLOCK_MONOTONIC and CLOCK_BOOTTIME are carried)");
		notify &= ~SIGEV_THREAD_ID_;
		if (notify != SIGEV_SIGNAL_ && notify != SIGEV_NONE_)
			return refuse(error, ref->pid, id, "notifies by SIGEV_THREAD");
		if (!time_left(in, &l, t + l.tmr, clock, interval, &left, error))
			return FALSE;
		guint64 raw_notify, overrun, tid = ref->pid;
		if (!sv_introspect_read_uint(in, t + l.notify, 4, &raw_notify, error) ||
		    !sv_introspect_read_uint(in, t + l.overrun, 8, &overrun, error))
			return FALSE;
		/* SIGEV_THREAD_ID: the thread it_pid names (glibc's SIGEV_THREAD
		 * helper thread among them), by its tid in the guest's one pid
		 * namespace (numbers[0].nr) */
		if (raw_notify & SIGEV_THREAD_ID_) {
			guint64 pid;
			if (!sv_introspect_read_uint(in, t + l.it_pid, 8, &pid, error) ||
			    !sv_introspect_read_uint(in, pid + l.numbers, 4, &tid, error))
				return FALSE;
			g_variant_builder_add(&targets, "(uu)", (guint32)id, (guint32)tid);
		}
		/* a s64 the kernel hands out capped at INT_MAX */
		if ((gint64)overrun > 0) {
			overrun = MIN(overrun, (guint64)G_MAXINT);
			if (!overrun_remade(ref->pid, id, clock, tid, left, interval, overrun,
					    error))
				return FALSE;
			/* the restorer takes a re-counting timer's signal by its
			 * number: one such timer per signal (restore-image-timers.c
			 * refuses a snapshot with two, too late to leave the
			 * process running) */
			guint64 bit = signo >= 1 && signo <= 64 ? 1ull << (signo - 1) : 0;
			if (overrun_signals & bit) {
				g_autofree char *what = g_strdup_printf(
					"has an overrun count on signal %u, as another of its "
					"timers does: restore makes one such count per signal again",
					(guint)signo);
				return refuse(error, ref->pid, id, what);
			}
			overrun_signals |= bit;
			g_variant_builder_add(&overruns, "(ut)", (guint32)id, overrun);
		}
		g_variant_builder_add(&b, "(uuuutttt)", (guint32)id, (guint32)clock,
				      (guint32)raw_notify, (guint32)signo, value, left, interval,
				      (guint64)0);
		if (!sv_introspect_read_uint(in, link, 8, &link, error))
			return FALSE;
	}
	g_variant_dict_insert_value(d, SV_TASK_POSIX_TIMERS, g_variant_builder_end(&b));
	g_variant_dict_insert_value(d, SV_TASK_POSIX_TIMER_OVERRUNS,
				    g_variant_builder_end(&overruns));
	g_variant_dict_insert_value(d, SV_TASK_POSIX_TIMER_TARGETS,
				    g_variant_builder_end(&targets));
	return TRUE;
}
