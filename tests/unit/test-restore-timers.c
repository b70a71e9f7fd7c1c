/* SPDX-License-Identifier: MIT */
/*
 * The restorer's remaking of a POSIX timer's overrun count
 * (guest/restorer/restore-timers.c, compiled here for the host kernel),
 * with the first try delayed between arming and taking the signal, as a
 * loaded host delays a guest's vCPU: the count must still come back
 * exactly, and the timer keep the phase the checkpoint saw. CI met a
 * restore that gave up with "came back as 1, not 2" after such a delay:
 * each retry armed a whole period later than its own reading of the
 * clock, one period too recent whenever the retry itself was not late.
 */
#include <glib.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static guint delay_try0_us;
#define RST_TIMERS_AFTER_ARM(try) ((try) == 0 && delay_try0_us ? g_usleep(delay_try0_us) : (void)0)

#include "guest/restorer/restore-timers.c"

int64_t rst_timens_offset(clockid_t clock)
{
	(void)clock;
	return 0;
}

#define MS 1000000ull

static guint64 now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (guint64)t.tv_sec * 1000000000ull + (guint64)t.tv_nsec;
}

/* A 20 ms timer with an overrun count of 2 and 10 ms left, remade with
 * the first try delayed by delay_us; checks the count and the phase. */
static void remake(guint delay_us)
{
	int signo = SIGRTMIN + 1;
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, signo);
	g_assert_cmpint(sigprocmask(SIG_BLOCK, &m, NULL), ==, 0);
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = signo };
	int id = -1;
	g_assert_cmpint(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id), ==, 0);
	struct sv_rimg_posix_timer t = { .id = id,
					 .clock = CLOCK_MONOTONIC,
					 .notify = SIGEV_SIGNAL,
					 .signo = signo,
					 .left = 10 * MS,
					 .interval = 20 * MS,
					 .overrun = 2 };
	delay_try0_us = delay_us;
	guint64 before = now_ns();
	arm_with_overrun(&t, id);
	struct itimerspec its;
	g_assert_cmpint(syscall(SYS_timer_gettime, id, &its), ==, 0);
	guint64 after = now_ns();
	g_assert_cmpint(syscall(SYS_timer_getoverrun, id), ==, 2);
	/* its next expiry is on the grid of 20 ms from before + 10 ms, give
	 * or take the moments arm_with_overrun took to read its clock and
	 * this to read the time left */
	gint64 next = (gint64)(after + (guint64)its.it_value.tv_sec * 1000000000ull +
			       (guint64)its.it_value.tv_nsec);
	gint64 off = (next - (gint64)(before + t.left)) % (gint64)t.interval;
	if (off > (gint64)t.interval / 2)
		off -= (gint64)t.interval;
	if (off < -(gint64)t.interval / 2)
		off += (gint64)t.interval;
	g_test_message("delay %u us: next expiry %" G_GINT64_FORMAT " us off the grid", delay_us,
		       off / 1000);
	g_assert_cmpint(off, >, -(gint64)(2 * MS));
	g_assert_cmpint(off, <, (gint64)(8 * MS));
	g_assert_cmpint(syscall(SYS_timer_delete, id), ==, 0);
	/* nothing of it left queued */
	struct timespec none = { 0, 0 };
	while (sigtimedwait(&m, NULL, &none) == signo)
		;
}

static void test_no_delay(void)
{
	remake(0);
}

/* late past its next expiry (10 ms left): the first try counts 3 */
static void test_first_try_late(void)
{
	remake(15000);
}

/* late by more than a period: the re-armed timer has queued its signal
 * again before the second try, which must not take that stale one */
static void test_first_try_late_by_periods(void)
{
	remake(55000);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/restore-timers/overrun/no-delay", test_no_delay);
	g_test_add_func("/restore-timers/overrun/first-try-late", test_first_try_late);
	g_test_add_func("/restore-timers/overrun/first-try-late-by-periods",
			test_first_try_late_by_periods);
	return g_test_run();
}
