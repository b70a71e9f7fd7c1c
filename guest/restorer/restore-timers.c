/* SPDX-License-Identifier: MIT */
/*
 * restore-timers.c - POSIX timers, made again with the ids the process
 * knows them by: timer_create hands out the lowest free id from where the
 * last one stopped (0 in a fresh process), so the table (sorted by id)
 * is made in order, a placeholder taking each id in between and deleted
 * afterwards. Armed with the time left, with every signal blocked like
 * the interval timers (a timer that fires before the process runs leaves
 * its signal pending for it).
 *
 * The overrun count (timer_getoverrun) has no setter: the kernel counts
 * it when it re-arms a periodic timer whose signal was taken late - the
 * periods missed since it fired. So a timer with a count of N is first
 * armed with its interval I at the absolute time E - (N + 1) * I, E being
 * its next expiry: in the past, it fires at once; taking its signal here
 * (sigtimedwait: it is the process's or this thread's, and every signal is
 * blocked) re-arms it, counting N + 1 periods forward (an overrun of N) to
 * exactly E. Before any other timer is armed that could queue the same
 * signal, and before the process's pending signals are queued.
 *
 * The kernel turns an absolute time in a time namespace into its own by
 * subtracting the namespace's offset, and a time before its own boot
 * becomes 0 (do_timens_ktime_to_host): a count reaching back before the
 * restore guest booted came back short (by 2 of 3 in CI on 2026-12-07).
 * So the restorer first waits until the guest's own clock has got that
 * far: checkpoint keeps the reach under SV_RIMG_MAX_OVERRUN_REACH_NS.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "restore.h"

/* What runs between arming a try and taking its signal: nothing here;
 * tests/unit/test-restore-timers.c delays a try as a loaded host does */
#ifndef RST_TIMERS_AFTER_ARM
#define RST_TIMERS_AFTER_ARM(try) ((void)0)
#endif

static struct timespec ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000u),
				  .tv_nsec = (long)(ns % 1000000000u) };
}

static uint64_t ns_of(struct timespec t)
{
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t clock_now(const struct sv_rimg_posix_timer *t)
{
	struct timespec now;
	if (clock_gettime(t->clock, &now) < 0)
		rst_die("POSIX timer %d: clock_gettime(%d): %s", t->id, t->clock, strerror(errno));
	return ns_of(now);
}

/* Disarms t (made as id) and takes any signal of its still queued, so
 * that the next try starts clean: a try whose timer was re-armed may
 * have queued one since, and taking that stale one (the kernel does not
 * re-arm for it) would read back a count of 0. */
static void disarm_and_drain(const struct sv_rimg_posix_timer *t, int id)
{
	struct itimerspec off = { 0 };
	if (syscall(SYS_timer_settime, id, 0, &off, NULL) < 0)
		rst_die("POSIX timer %d: timer_settime: %s", t->id, strerror(errno));
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, t->signo);
	struct timespec none = { 0, 0 };
	siginfo_t si;
	while (sigtimedwait(&one, &si, &none) == t->signo)
		;
}

/* One try: t (made as id) armed so that its next expiry is the grid
 * point next, with timer_getoverrun giving t->overrun, as the comment at
 * the top says; returns the count the kernel made - one more if next
 * passed before the signal was taken. */
static int try_overrun(const struct sv_rimg_posix_timer *t, int id, uint64_t next, int try)
{
	uint64_t back = (t->overrun + 1) * t->interval;
	struct itimerspec its = { .it_interval = ts(t->interval), .it_value = ts(next - back) };
	if (syscall(SYS_timer_settime, id, TIMER_ABSTIME, &its, NULL) < 0)
		rst_die("POSIX timer %d: timer_settime: %s", t->id, strerror(errno));
	RST_TIMERS_AFTER_ARM(try);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, t->signo);
	siginfo_t si;
	struct timespec wait = { 5, 0 };
	if (sigtimedwait(&one, &si, &wait) != t->signo || si.si_code != SI_TIMER ||
	    si.si_timerid != id)
		rst_die("POSIX timer %d: its signal %d did not come as it was armed in the past "
			"(to count its overruns again)",
			t->id, t->signo);
	return (int)syscall(SYS_timer_getoverrun, id);
}

/* The count is (dequeue time - armed time) / interval, so it is right
 * only if the signal is taken within the period before next, the first
 * grid point after now. A try that took it late (the kernel ran the
 * expired timer a few ms late under load, or this vCPU waited) counted
 * one more: the next try arms for the grid point after the new now.
 * The grid is fixed once, from the time left the checkpoint read, so
 * the phase is kept, as if the restore had taken that much longer. */
static void arm_with_overrun(const struct sv_rimg_posix_timer *t, int id)
{
	if (t->overrun > 0x7fffffffu || t->overrun + 1 > SV_RIMG_MAX_OVERRUN_REACH_NS / t->interval)
		rst_die("corrupt restore image: POSIX timer %d's overrun count", t->id);
	uint64_t back = (t->overrun + 1) * t->interval;
	/* A timer that has overrun has fired: its expiries are on a grid of
	 * its interval, and the next is at most one away. The time left the
	 * checkpoint read may be more, measured from the guest's clock at its
	 * last timekeeping update, which an idle tickless guest leaves behind
	 * (aarch64 came back one short ten times running): the same phase
	 * within one interval. */
	uint64_t left = (t->left - 1) % t->interval + 1;
	/* the kernel's own clock must have reached next - back: else wait */
	int64_t own = (int64_t)(clock_now(t) + left) - (int64_t)back - rst_timens_offset(t->clock);
	if (own < 0) {
		struct timespec wait = { .tv_sec = (time_t)(-own / 1000000000),
					 .tv_nsec = (long)(-own % 1000000000) };
		while (nanosleep(&wait, &wait) < 0 && errno == EINTR)
			;
	}
	uint64_t grid = clock_now(t) + left;
	int got = -1;
	for (int tries = 0; tries < 10 && got != (int)t->overrun; tries++) {
		if (tries)
			disarm_and_drain(t, id);
		uint64_t now = clock_now(t), next = grid;
		if (now >= next)
			next += ((now - next) / t->interval + 1) * t->interval;
		got = try_overrun(t, id, next, tries);
	}
	if (got != (int)t->overrun)
		rst_die("POSIX timer %d: its overrun count came back as %d, not %llu, ten times",
			t->id, got, (unsigned long long)t->overrun);
}

void rst_posix_timers_arm(const struct sv_rimg_header *h, const uint8_t *data)
{
	if (!h->ntimers)
		return;
	if (h->timers_off > h->data_len ||
	    h->ntimers > (h->data_len - h->timers_off) / sizeof(struct sv_rimg_posix_timer))
		rst_die("corrupt restore image: its POSIX timers");
	int fillers[4096], nfill = 0;
	for (uint32_t i = 0; i < h->ntimers; i++) {
		struct sv_rimg_posix_timer t;
		memcpy(&t, data + h->timers_off + i * sizeof(t), sizeof(t));
		struct sigevent sev;
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = t.notify;
		sev.sigev_signo = t.signo;
		sev.sigev_value.sival_ptr = (void *)(uintptr_t)t.value;
		/* SIGEV_THREAD_ID: its thread, already made with its tid */
		sev._sigev_un._tid = t.tid > 0 ? t.tid : (int)getpid();
		int id = -1;
		for (;;) {
			if (syscall(SYS_timer_create, t.clock, &sev, &id) < 0)
				rst_die("POSIX timer %d: timer_create: %s", t.id, strerror(errno));
			if (id == t.id)
				break;
			if (id > t.id || nfill == (int)(sizeof(fillers) / sizeof(fillers[0])))
				rst_die("POSIX timer %d: timer_create gave id %d", t.id, id);
			fillers[nfill++] = id;
		}
		if (t.overrun)
			arm_with_overrun(&t, id);
	}
	for (uint32_t i = 0; i < h->ntimers; i++) {
		struct sv_rimg_posix_timer t;
		memcpy(&t, data + h->timers_off + i * sizeof(t), sizeof(t));
		struct itimerspec its = { .it_interval = ts(t.interval), .it_value = ts(t.left) };
		if (!t.overrun && t.left && syscall(SYS_timer_settime, t.id, 0, &its, NULL) < 0)
			rst_die("POSIX timer %d: timer_settime: %s", t.id, strerror(errno));
	}
	for (int i = 0; i < nfill; i++)
		syscall(SYS_timer_delete, fillers[i]);
}
