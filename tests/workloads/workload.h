/* SPDX-License-Identifier: MIT */
/* workload.h - what every test workload shares: its two optional arguments
 * ([steps] [interval_ms]), a sleep that stays in nanosleep, and a checksum.
 * Output must be identical run to run and arch to arch: no addresses, no
 * pids, no times. */
#ifndef SNAPVM_WORKLOAD_H
#define SNAPVM_WORKLOAD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct workload_args {
	long steps;
	long interval_ms;
};

static inline struct workload_args workload_parse(int argc, char **argv, long steps,
						  long interval_ms)
{
	struct workload_args a = { steps, interval_ms };
	if (argc > 1)
		a.steps = strtol(argv[1], NULL, 10);
	if (argc > 2)
		a.interval_ms = strtol(argv[2], NULL, 10);
	if (a.steps < 0 || a.interval_ms < 0) {
		fprintf(stderr, "usage: %s [steps] [interval_ms]\n", argv[0]);
		exit(2);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return a;
}

static inline void workload_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (ms > 0 && nanosleep(&ts, &ts) != 0)
		;
}

/* FNV-1a over a buffer, folded into a running value. */
static inline uint32_t workload_hash(uint32_t h, const void *data, size_t n)
{
	const uint8_t *p = data;
	if (!h)
		h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

#endif
