/* SPDX-License-Identifier: MIT */
/*
 * clocks [steps] [interval_ms]: CLOCK_MONOTONIC and CLOCK_BOOTTIME as a
 * process sees them must only go forward, by at least each sleep, and keep
 * their distance (nothing suspends the machine): a restore into a fresh
 * machine, whose clocks start near zero, must continue them from the
 * checkpoint's values (time namespaces). Prints no times.
 */
#include <string.h>
#include <time.h>

#include "workload.h"

static int64_t ns_of(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	int64_t mono = ns_of(CLOCK_MONOTONIC), boot = ns_of(CLOCK_BOOTTIME);
	const int64_t gap = boot - mono;
	for (long step = 0; step < a.steps; step++) {
		workload_sleep_ms(a.interval_ms);
		int64_t m = ns_of(CLOCK_MONOTONIC), b = ns_of(CLOCK_BOOTTIME);
		int64_t slept = (int64_t)a.interval_ms * 1000000;
		int64_t drift = (b - m) - gap;
		if (m - mono < slept || b - boot < slept || drift > 1000000000 ||
		    drift < -1000000000) {
			printf("clocks FAILED at step %ld: monotonic moved %lld ns, boottime %lld "
			       "ns over a %lld ns sleep; boottime-monotonic drifted %lld ns\n",
			       step, (long long)(m - mono), (long long)(b - boot), (long long)slept,
			       (long long)drift);
			return 1;
		}
		mono = m;
		boot = b;
		printf("clocks step %ld forward\n", step);
	}
	printf("clocks done %ld\n", a.steps);
	return 0;
}
