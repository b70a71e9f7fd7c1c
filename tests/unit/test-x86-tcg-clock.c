/* SPDX-License-Identifier: MIT */
/*
 * The host's TSC frequency that x86_64 guests under TCG are given
 * (arch/x86_64/tcg-clock.c): measured against CLOCK_MONOTONIC_RAW over
 * 20 ms, it must agree with the TSC's advance over a 15 times longer
 * sleep timed by the other host clock (CLOCK_MONOTONIC, which NTP may slew
 * by at most 500 ppm), and the kernel parameters must carry it. Skipped on
 * a host that is not x86_64 (no TSC to measure) or whose TSC's rate is
 * not constant (not measured).
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arch/x86_64/x86_64-private.h"

#if defined(__x86_64__)
#include <x86intrin.h>

static gint64 monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

/* The TSC's rate over a 300 ms sleep, in kHz; the reads around each clock
 * read are kept only when close together, else the test retries. */
static double tsc_khz_over_sleep(void)
{
	for (guint attempt = 0; attempt < 20; attempt++) {
		guint64 a0 = __rdtsc();
		gint64 n0 = monotonic_ns();
		guint64 a1 = __rdtsc();
		g_usleep(300000);
		guint64 b0 = __rdtsc();
		gint64 n1 = monotonic_ns();
		guint64 b1 = __rdtsc();
		/* 20 us of doubt at each end is 130 ppm of 300 ms at most */
		if (a1 - a0 > 60000 || b1 - b0 > 60000)
			continue;
		double cycles = (double)((b0 + b1) / 2 - (a0 + a1) / 2);
		return cycles * 1e6 / (double)(n1 - n0);
	}
	g_error("the TSC and CLOCK_MONOTONIC were never read close together in 20 tries");
}

/* Skips (TRUE) where the host's TSC's rate is not constant: nothing is
 * measured there. */
static gboolean skip_without_constant_tsc(void)
{
	g_autofree char *cpuinfo = NULL;
	g_assert_true(g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL));
	if (strstr(cpuinfo, " constant_tsc"))
		return FALSE;
	g_assert_cmpuint(sv_x86_host_tsc_khz(), ==, 0);
	g_test_skip("the host's TSC's rate is not constant (no constant_tsc)");
	return TRUE;
}

static void test_host_tsc_khz(void)
{
	if (skip_without_constant_tsc())
		return;
	guint64 khz = sv_x86_host_tsc_khz();
	g_test_message("host TSC: %" G_GUINT64_FORMAT " kHz", khz);
	g_assert_cmpuint(khz, >, 100000);   /* 100 MHz */
	g_assert_cmpuint(khz, <, 10000000); /* 10 GHz */
	double slept = tsc_khz_over_sleep();
	double off = (double)khz / slept - 1;
	g_test_message("over a 300 ms sleep: %.0f kHz (%+.1f ppm)", slept, off * 1e6);
	g_assert_cmpfloat(off, <, 1e-3);
	g_assert_cmpfloat(off, >, -1e-3);
}

static void test_cmdline_carries_it(void)
{
	if (skip_without_constant_tsc())
		return;
	g_autofree char *cmdline = sv_x86_tcg_clock_cmdline();
	g_assert_nonnull(cmdline);
	guint64 khz = 0;
	char tail[32] = "";
	g_assert_cmpint(sscanf(cmdline, "tsc_early_khz=%" G_GUINT64_FORMAT " %31s", &khz, tail), ==,
			2);
	g_assert_cmpstr(tail, ==, "tsc=reliable");
	/* measured once per process: a second call says the same */
	g_autofree char *again = sv_x86_tcg_clock_cmdline();
	g_assert_cmpstr(again, ==, cmdline);
	double off = (double)khz / tsc_khz_over_sleep() - 1;
	g_assert_cmpfloat(off, <, 1e-3);
	g_assert_cmpfloat(off, >, -1e-3);
}
#else
static void test_host_tsc_khz(void)
{
	g_assert_cmpuint(sv_x86_host_tsc_khz(), ==, 0);
	g_test_skip("the host is not x86_64: it has no TSC to measure");
}

static void test_cmdline_carries_it(void)
{
	g_assert_null(sv_x86_tcg_clock_cmdline());
	g_test_skip("the host is not x86_64: the guest calibrates its TSC itself");
}
#endif

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/x86/tcg-clock/host-tsc-khz", test_host_tsc_khz);
	g_test_add_func("/x86/tcg-clock/cmdline-carries-it", test_cmdline_carries_it);
	return g_test_run();
}
