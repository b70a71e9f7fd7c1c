/* SPDX-License-Identifier: MIT */
/*
 * memtouch MIB: the guest workload of bench/checkpoint.sh. Maps MIB MiB of
 * anonymous memory, writes every byte (no page is zero, so none is elided
 * from a snapshot), prints "memtouch: touched MIB MiB" and then sleeps until
 * killed, off its CPU, so a checkpoint finds it in nanosleep.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
	for (;;) {
		struct timespec ts = { 3600, 0 };
		nanosleep(&ts, NULL);
	}
}
