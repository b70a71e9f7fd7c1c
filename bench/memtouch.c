/* SPDX-License-Identifier: MIT */
/*
 * memtouch MIB [PCT SECS [spread|block]]: the guest workload of bench/checkpoint.sh and
 * bench/incremental.sh. Maps MIB MiB of anonymous memory, writes every byte
 * (no page is zero, so none is elided from a snapshot), prints "memtouch:
 * touched MIB MiB" and then sleeps until killed, off its CPU, so a
 * checkpoint finds it in nanosleep. With PCT and SECS it wakes every SECS
 * seconds and rewrites one word in PCT% of its pages (the same pages each
 * time, with a new value each time): what an incremental checkpoint taken
 * after the first rewrite must store. The pages are spread evenly over
 * the region (spread, the default: with huge pages, every one of them is
 * written), or the first PCT% of it (block: a hot part, as most programs
 * have, so written huge pages are few).
 *
 * memtouch MIB scan (bench/restore-lazy.sh): instead, it sleeps in 10 ms
 * steps until it finds itself restored - CLOCK_REALTIME moved against
 * CLOCK_MONOTONIC by more than a second: a restore carries the monotonic
 * clock on from the checkpoint (a time namespace) while the wall clock is
 * the new guest's - then prints "memtouch: restored" at once, reads every
 * word back (checking it), prints "memtouch: scanned MIB MiB" and exits:
 * the time to its first output, and to its last page used, after a
 * restore. Its lines also say how much of its region is huge pages
 * (smaps AnonHugePages) and its PR_GET_THP_DISABLE, after the touch and
 * after the restore, and the scan's own time and CPU time
 * (CLOCK_MONOTONIC, which a restore carries on): the process's own
 * speed, told apart from the command's end, which also counts the
 * process's exit and the VM's stop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>

#include "../tests/workloads/huge-pages.h"

static int64_t ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* memtouch MIB scan, once p's len bytes are touched */
static int scan_after_restore(const uint64_t *p, size_t len, long mib)
{
	printf("memtouch: huge pages %ld kB, thp_disable %d\n", huge_kb(p),
	       (int)prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
	fflush(stdout);
	int64_t skew = ns(CLOCK_REALTIME) - ns(CLOCK_MONOTONIC);
	for (;;) {
		struct timespec step = { 0, 10 * 1000 * 1000 };
		nanosleep(&step, NULL);
		int64_t d = ns(CLOCK_REALTIME) - ns(CLOCK_MONOTONIC) - skew;
		if (d > 1000000000 || d < -1000000000)
			break;
	}
	printf("memtouch: restored\n");
	fflush(stdout); /* first: the bench times the first output */
	printf("memtouch: huge pages %ld kB, thp_disable %d\n", huge_kb(p),
	       (int)prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
	int64_t t0 = ns(CLOCK_MONOTONIC), cpu0 = ns(CLOCK_PROCESS_CPUTIME_ID);
	for (size_t i = 0; i < len / 8; i++)
		if (p[i] != (i + 1) * 0x9e3779b97f4a7c15ull) {
			printf("memtouch: FAILED: word %zu is %016llx\n", i,
			       (unsigned long long)p[i]);
			return 1;
		}
	int64_t wall = ns(CLOCK_MONOTONIC) - t0, cpu = ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	printf("memtouch: scanned %ld MiB in %lld ms (%lld ms of its CPU); huge pages %ld kB, "
	       "thp_disable %d\n",
	       mib, (long long)(wall / 1000000), (long long)(cpu / 1000000), huge_kb(p),
	       (int)prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
	return 0;
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
		perror("memtouch: mmap");
		return 1;
	}
	/* a different non-zero word everywhere: no zero page, nothing two
	 * pages share */
	for (size_t i = 0; i < len / 8; i++)
		p[i] = (i + 1) * 0x9e3779b97f4a7c15ull;
	printf("memtouch: touched %ld MiB\n", mib);
	fflush(stdout);
	if (argc > 2 && !strcmp(argv[2], "scan"))
		return scan_after_restore(p, len, mib);
	long pct = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	long secs = argc > 3 ? strtol(argv[3], NULL, 10) : 3600;
	int block = argc > 4 && !strcmp(argv[4], "block");
	size_t pages = len / 4096, words = 4096 / 8;
	for (uint64_t gen = 1;; gen++) {
		struct timespec ts = { secs > 0 ? secs : 3600, 0 };
		nanosleep(&ts, NULL);
		/* page i is rewritten when i * PCT / 100 steps to a new integer */
		for (size_t i = 0; pct > 0 && i < pages; i++)
			if (block ? i < pages * pct / 100 : (i + 1) * pct / 100 != i * pct / 100)
				p[i * words] = gen * 0x9e3779b97f4a7c15ull + i;
	}
}
