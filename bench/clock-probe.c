/* SPDX-License-Identifier: MIT */
/*
 * clock-probe SECONDS: the guest workload of bench/guest-clock.sh. Prints
 * the clocksource the guest kernel keeps time with ("clock-probe: source
 * NAME"), then once a second by its own clock, SECONDS times, its
 * CLOCK_MONOTONIC and CLOCK_REALTIME in ns ("clock-probe: at MONO REAL"),
 * which the host stamps with its own clocks as the lines come; then what a
 * clock_gettime(CLOCK_MONOTONIC) costs through the vDSO and as a system
 * call ("clock-probe: gettime VDSO_NS SYSCALL_NS"), and "clock-probe:
 * done".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int64_t ns_of(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ns per call of n calls, timed by CLOCK_MONOTONIC itself */
static double gettime_cost(int use_syscall, int n)
{
	struct timespec ts;
	int64_t t0 = ns_of(CLOCK_MONOTONIC);
	for (int i = 0; i < n; i++) {
		if (use_syscall)
			syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
		else
			clock_gettime(CLOCK_MONOTONIC, &ts);
	}
	return (double)(ns_of(CLOCK_MONOTONIC) - t0) / n;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 10;
	setvbuf(stdout, NULL, _IOLBF, 0);
	char source[64] = "unknown";
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	if (f) {
		if (fscanf(f, "%63s", source) != 1)
			snprintf(source, sizeof(source), "unreadable");
		fclose(f);
	}
	printf("clock-probe: source %s\n", source);
	int64_t next = ns_of(CLOCK_MONOTONIC);
	for (int i = 0; i <= seconds; i++) {
		printf("clock-probe: at %lld %lld\n", (long long)ns_of(CLOCK_MONOTONIC),
		       (long long)ns_of(CLOCK_REALTIME));
		next += 1000000000;
		struct timespec until = { next / 1000000000, next % 1000000000 };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) != 0)
			;
	}
	printf("clock-probe: gettime %.0f %.0f\n", gettime_cost(0, 200000), gettime_cost(1, 20000));
	printf("clock-probe: done\n");
	return 0;
}
