/* SPDX-License-Identifier: MIT */
/*
 * fd-timerfd.c - a timerfd's state (struct timerfd_ctx, fs/timerfd.c):
 * its clock, interval, expirations not yet read (ticks), and, when armed,
 * its hrtimer's expiry, which is absolute on the timer's clock. A fresh
 * guest's CLOCK_MONOTONIC and CLOCK_BOOTTIME start near zero, so an expiry
 * on them is kept as the time left (the guest's now: CLOCK_MONOTONIC as
 * process-env.c reads it, plus the hrtimer base's offset to the timer's
 * clock); an absolute CLOCK_REALTIME expiry (TFD_TIMER_ABSTIME) is wall
 * time, the same in every guest, and kept as it is. A periodic timer that
 * fired is not queued again until read (timerfd_read forwards it): its
 * missed periods are counted into ticks and it is armed for the next.
 * Alarm clocks and TFD_TIMER_CANCEL_ON_SET are refused.
 */
#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/linux-uapi.h"
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define TFD_TIMER_ABSTIME_ 1u
#define HRTIMER_STATE_ENQUEUED_ 0x01u

typedef struct {
	guint64 tintv, ticks, clockid, settime_flags, might_cancel, expired;
	guint64 tmr, state, base, offset;
} TimerfdLayout;

static gboolean refuse(GError **error, guint32 pid, guint fd, const char *what)
{
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "guest pid %u: fd %u is a timerfd %s; snapvm cannot checkpoint that yet", pid,
		    fd, what);
	return FALSE;
}

gboolean sv_introspect_timerfd(const SvIntrospect *in, guint32 pid, guint fd, guint64 ctx,
			       GVariantDict *d, GError **error)
{
	TimerfdLayout l;
	const SvMemberOffset want[] = {
		{ "timerfd_ctx", "tintv", &l.tintv },
		{ "timerfd_ctx", "ticks", &l.ticks },
		{ "timerfd_ctx", "clockid", &l.clockid },
		{ "timerfd_ctx", "settime_flags", &l.settime_flags },
		{ "timerfd_ctx", "might_cancel", &l.might_cancel },
		{ "timerfd_ctx", "expired", &l.expired },
		{ "timerfd_ctx", "t.tmr", &l.tmr },
		{ "hrtimer", "state", &l.state },
		{ "hrtimer", "base", &l.base },
		{ "hrtimer_clock_base", "offset", &l.offset },
	};
	guint64 node_expires;
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) ||
	    !sv_kernel_types_offset(in->types, "hrtimer", "node.expires", &node_expires, error))
		return FALSE;
	guint64 tmr = ctx + l.tmr;
	guint64 intv, ticks, clockid, sflags, cancel, expired, exp, state;
	if (!sv_introspect_read_uint(in, ctx + l.tintv, 8, &intv, error) ||
	    !sv_introspect_read_uint(in, ctx + l.ticks, 8, &ticks, error) ||
	    !sv_introspect_read_uint(in, ctx + l.clockid, 4, &clockid, error) ||
	    !sv_introspect_read_uint(in, ctx + l.settime_flags, 2, &sflags, error) ||
	    !sv_introspect_read_uint(in, ctx + l.might_cancel, 1, &cancel, error) ||
	    !sv_introspect_read_uint(in, ctx + l.expired, 2, &expired, error))
		return FALSE;
	if (clockid != SV_LINUX_CLOCK_REALTIME && clockid != SV_LINUX_CLOCK_MONOTONIC &&
	    clockid != SV_LINUX_CLOCK_BOOTTIME)
		return refuse(error, pid, fd, "on an alarm clock (CLOCK_*_ALARM)");
	if (cancel & 0xff)
		return refuse(error, pid, fd, "set with TFD_TIMER_CANCEL_ON_SET");
	if (!sv_introspect_read_uint(in, tmr + node_expires, 8, &exp, error) ||
	    !sv_introspect_read_uint(in, tmr + l.state, 1, &state, error))
		return FALSE;
	gboolean abs_real = clockid == SV_LINUX_CLOCK_REALTIME && (sflags & TFD_TIMER_ABSTIME_);
	gboolean armed = (state & HRTIMER_STATE_ENQUEUED_) || ((expired & 0xffff) && intv);
	guint64 value = 0; /* 0: disarmed; else time left, or the absolute expiry */
	if (armed) {
		guint64 now, base, offset = 0;
		if (!in->clock_hint_ns && !sv_introspect_guest_monotonic(in, &now, NULL, error))
			return FALSE;
		if (in->clock_hint_ns)
			now = in->clock_hint_ns;
		if (!sv_introspect_read_uint(in, tmr + l.base, 8, &base, error) ||
		    (clockid != SV_LINUX_CLOCK_MONOTONIC &&
		     !sv_introspect_read_uint(in, base + l.offset, 8, &offset, error)))
			return FALSE;
		now += offset;
		if (!(state & HRTIMER_STATE_ENQUEUED_) && (gint64)(now - exp) >= 0) {
			/* fired, and not read since: timerfd_read would add
			 * the periods missed until now and queue the next */
			guint64 missed = (now - exp) / intv;
			ticks += missed;
			exp += (missed + 1) * intv;
		}
		/* due but not yet fired: as good as now */
		value = abs_real ? exp : (gint64)(exp - now) > 1000 ? exp - now : 1000;
	}
	g_variant_dict_insert(d, SV_TASK_FD_TIMERFD, SV_TASK_FD_TIMERFD_TYPE, (guint32)clockid,
			      abs_real, value, intv, ticks);
	return TRUE;
}
