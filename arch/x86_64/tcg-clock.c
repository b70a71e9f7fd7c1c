/* SPDX-License-Identifier: MIT */
/*
 * tcg-clock.c - the kernel parameters that make an x86_64 guest under TCG
 * keep the host's time.
 *
 * What went wrong without them: QEMU's pc board as snapvm's domain XML
 * makes it has no ACPI, so the guest kernel finds neither the HPET nor the
 * ACPI PM timer and has only the PIT to measure the TSC's frequency
 * against. Under TCG each PIT read is slow and, on a loaded host, often
 * interrupted. Mostly both PIT calibrations fail ("tsc: Fast TSC
 * calibration failed", "Unable to calibrate against PIT", "No reference
 * (HPET/PMTIMER) available"), the kernel marks the TSC unstable and keeps
 * time with the refined-jiffies clocksource, a count of timer ticks, which
 * the loaded host delivers late, lost or in bursts: measured, 2.6-9.9%
 * slow, and once, at load 16-20, 22 times too fast (a 1 s nanosleep took
 * 45 ms); every clock_gettime is then a system call (16-22 us). Or a
 * disturbed PIT loop passes its checks: a TSC taken for 251 MHz instead of
 * 2596, a clock 10 times too fast.
 *
 * Under TCG the guest's TSC is the host's cycle counter, read as it is
 * (QEMU's cpu_get_host_ticks: rdtsc on an x86_64 host, with only an offset
 * added), so its frequency is the host's own: measured here against the
 * host's CLOCK_MONOTONIC_RAW, which the host kernel derives from that same
 * counter at its own figure, and handed to the guest as tsc_early_khz=.
 * The guest then keeps time with the TSC from boot: the host's rate to
 * within a few ppm, read in the vDSO (170 ns a clock_gettime under TCG),
 * and boots faster on a loaded host (no calibration loops: a trivial
 * `snapvm run` took 10.6 s against 14.5, medians of 3 at load 14-15).
 *
 * tsc=reliable: that counter runs at a constant rate (the host's flags
 * say so, or nothing is passed) and is the same on every vCPU. Left to check it, the
 * kernel's clocksource watchdog compares the TSC against
 * jiffies, the one other clocksource it has here, which lose ticks under
 * load: the watchdog skipped a check where jiffies had counted 512 ms
 * against the TSC's 1345 ms, and would mark the TSC unstable, and go back
 * to jiffies, on a smaller error.
 *
 * Only the qemu backend (always TCG) passes these; a guest of our own KVM
 * VMM (host/kvm/) keeps time with kvmclock, which KVM maintains.
 */
#include <string.h>
#include <time.h>

#include "arch/x86_64/x86_64-private.h"

#if defined(__x86_64__)
#include <x86intrin.h>

/* Each measurement: two readings this far apart. */
#define TSC_MEASURE_US 20000
/* A measurement whose readings leave more doubt than this is taken again:
 * 50 ppm is 4 s a day. */
#define TSC_MAX_ERROR 50e-6
#define TSC_ATTEMPTS 5

typedef struct {
	guint64 tsc;   /* at the middle of the clock read */
	guint64 width; /* TSC cycles the clock read took: the reading's doubt */
	gint64 ns;     /* CLOCK_MONOTONIC_RAW */
} TscReading;

/* The host's TSC and clock read together: of a few tries, the one with the
 * fewest cycles around the clock read (a try preempted in between loses). */
static TscReading tsc_reading(void)
{
	TscReading best = { .width = G_MAXUINT64 };
	for (guint i = 0; i < 16; i++) {
		struct timespec ts;
		guint64 before = __rdtsc();
		clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
		guint64 after = __rdtsc();
		if (after >= before && after - before < best.width)
			best = (TscReading){ .tsc = before + (after - before) / 2,
					     .width = after - before,
					     .ns = ts.tv_sec * G_GINT64_CONSTANT(1000000000) +
						   ts.tv_nsec };
	}
	return best;
}

/* Whether the host's TSC counts at one rate whatever its cores' frequency
 * (constant_tsc in /proc/cpuinfo's flags): only then is one measurement
 * the guest's for good. nonstop_tsc (it keeps counting in deep idle) is
 * not asked for: a VM's CPU often lacks the flag (KVM hides invtsc unless
 * asked to show it) while its counter keeps running all the same. */
static gboolean host_tsc_constant_rate(void)
{
	g_autofree char *cpuinfo = NULL;
	if (!g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL))
		return FALSE;
	const char *flags = strstr(cpuinfo, "\nflags");
	if (!flags)
		return FALSE;
	const char *end = strchr(flags + 1, '\n');
	g_autofree char *line = g_strndup(flags, end ? (gsize)(end - flags) : strlen(flags));
	g_auto(GStrv) words = g_strsplit_set(line, " \t", -1);
	return g_strv_contains((const char *const *)words, "constant_tsc");
}

guint64 sv_x86_host_tsc_khz(void)
{
	if (!host_tsc_constant_rate())
		return 0;
	for (guint attempt = 0; attempt < TSC_ATTEMPTS; attempt++) {
		TscReading a = tsc_reading();
		g_usleep(TSC_MEASURE_US);
		TscReading b = tsc_reading();
		if (b.ns <= a.ns || b.tsc <= a.tsc || a.width == G_MAXUINT64 ||
		    b.width == G_MAXUINT64)
			continue;
		guint64 cycles = b.tsc - a.tsc;
		if ((a.width + b.width) / 2.0 / (double)cycles > TSC_MAX_ERROR)
			continue;
		/* cycles per ms; rounded, not cut */
		return (cycles * 1000000 + (guint64)(b.ns - a.ns) / 2) / (guint64)(b.ns - a.ns);
	}
	return 0;
}
#else
/* On other hosts QEMU's TCG counts the guest's TSC with whatever that host
 * has (or in host nanoseconds, where QEMU knows no cycle counter for it):
 * not measured here, so the guest calibrates its TSC itself, as before. */
guint64 sv_x86_host_tsc_khz(void)
{
	return 0;
}
#endif

char *sv_x86_tcg_clock_cmdline(void)
{
	/* the host's TSC frequency does not change while it runs: measured
	 * once a process (a pool boots several guests) */
	static gsize once;
	static guint64 khz;
	if (g_once_init_enter(&once)) {
		khz = sv_x86_host_tsc_khz();
		g_once_init_leave(&once, 1);
	}
	return khz ? g_strdup_printf("tsc_early_khz=%" G_GUINT64_FORMAT " tsc=reliable", khz)
		   : NULL;
}
