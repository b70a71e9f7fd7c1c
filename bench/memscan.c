/* SPDX-License-Identifier: MIT */
/*
 * memscan MIB: the workload of bench/restore-lazy.sh. Touches MIB MiB of
 * anonymous memory (a different non-zero word everywhere, as memtouch
 * does), prints "memscan: touched MIB MiB", then sleeps in 10 ms steps
 * until it finds itself restored - CLOCK_REALTIME moved against
 * CLOCK_MONOTONIC by more than a second: a restore carries the monotonic
 * clock on from the checkpoint (a time namespace) while the wall clock is
 * the new guest's - then prints "memscan: restored" at once, reads every
 * word back (checking it), prints "memscan: scanned MIB MiB" and exits:
 * the time to its first output, and to its last page used, after a
 * restore.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static int64_t ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 64;
	if (mib <= 0) {
		fprintf(stderr, "usage: %s MIB\n", argv[0]);
		return 2;
	}
	size_t len = (size_t)mib << 20;
	uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("memscan: mmap");
		return 1;
	}
	for (size_t i = 0; i < len / 8; i++)
		p[i] = (i + 1) * 0x9e3779b97f4a7c15ull;
	printf("memscan: touched %ld MiB\n", mib);
	fflush(stdout);
	int64_t skew = ns(CLOCK_REALTIME) - ns(CLOCK_MONOTONIC);
	for (;;) {
		struct timespec step = { 0, 10 * 1000 * 1000 };
		nanosleep(&step, NULL);
		int64_t d = ns(CLOCK_REALTIME) - ns(CLOCK_MONOTONIC) - skew;
		if (d > 1000000000 || d < -1000000000)
			break;
	}
	printf("memscan: restored\n");
	fflush(stdout);
	for (size_t i = 0; i < len / 8; i++)
		if (p[i] != (i + 1) * 0x9e3779b97f4a7c15ull) {
			printf("memscan: FAILED: word %zu is %016llx\n", i,
			       (unsigned long long)p[i]);
			return 1;
		}
	printf("memscan: scanned %ld MiB\n", mib);
	return 0;
}
