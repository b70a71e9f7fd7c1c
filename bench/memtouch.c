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
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

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
