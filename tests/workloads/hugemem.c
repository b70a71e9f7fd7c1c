/* SPDX-License-Identifier: MIT */
/*
 * hugemem [steps] [interval_ms] [mib]: two anonymous regions of mib MiB
 * each (default 8), every page written, so that a kernel with
 * transparent huge pages backs them with them: one 2 MiB-aligned, the
 * other 1 MiB off (1 MiB above a 2 MiB boundary: its huge pages start
 * 1 MiB in), apart, so each is a mapping of its own. Each step checks
 * that each region is still backed by at least as much huge-page memory
 * as right after it was written (AnonHugePages of its smaps entry) and
 * that PR_GET_THP_DISABLE is unchanged: a restore must lay the memory
 * out as it was - the same data in small pages costs a TLB entry per
 * 4 KiB - and leave the process's own THP setting as it set it. Then it
 * checks a sample of every page and prints the step and a checksum.
 * Where the kernel gave no huge pages (THP off, or no memory for them),
 * only the prctl state is compared; the output is the same either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "huge-pages.h"
#include "workload.h"

#define PAGE 4096ul
#define HUGE (2ul << 20)

/* Region r's byte b of page i. */
static uint8_t pattern(int r, size_t i, size_t b)
{
	return (uint8_t)(i * 13 + b * 7 + (i >> 9) + (size_t)r * 101);
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 50);
	size_t mib = argc > 3 ? strtoul(argv[3], NULL, 10) : 8;
	size_t len = mib << 20, npages = len / PAGE;
	/* room for both, 2 MiB apart at least, and for the alignment */
	size_t span = 2 * len + 4 * HUGE;
	uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!mib || mib % 2 || m == MAP_FAILED) {
		fprintf(stderr, "usage: %s [steps] [interval_ms] [even MiB]\n", argv[0]);
		return 2;
	}
	uint8_t *region[2];
	region[0] = (uint8_t *)(((uintptr_t)m + HUGE - 1) & ~(HUGE - 1));
	region[1] = region[0] + len + HUGE + HUGE / 2;
	/* only the two regions stay mapped */
	munmap(m, (size_t)(region[0] - m));
	munmap(region[0] + len, (size_t)(region[1] - region[0] - len));
	munmap(region[1] + len, (size_t)(m + span - region[1] - len));
	long huge_before[2];
	for (int r = 0; r < 2; r++) {
		for (size_t i = 0; i < npages; i++)
			for (size_t b = 0; b < PAGE; b++)
				region[r][i * PAGE + b] = pattern(r, i, b);
		huge_before[r] = huge_kb(region[r]);
	}
	int thp_before = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
	printf("hugemem ready: 2 x %zu MiB\n", mib);
	uint32_t sum = 0;
	for (long s = 0; s < a.steps; s++) {
		int thp = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
		for (int r = 0; r < 2; r++) {
			long huge = huge_kb(region[r]);
			if (huge < huge_before[r] || thp != thp_before) {
				printf("hugemem FAILED at step %ld: region %d has %ld kB of huge "
				       "pages (was %ld), thp_disable %d (was %d)\n",
				       s, r, huge, huge_before[r], thp, thp_before);
				return 1;
			}
			for (size_t i = 0; i < npages; i++)
				for (size_t b = 0; b < PAGE; b += 509)
					if (region[r][i * PAGE + b] != pattern(r, i, b)) {
						printf("hugemem FAILED at step %ld: region %d page "
						       "%zu byte %zu is %u, not %u\n",
						       s, r, i, b, region[r][i * PAGE + b],
						       pattern(r, i, b));
						return 1;
					}
			sum = workload_hash(sum, region[r] + ((size_t)s * 4099 % npages) * PAGE,
					    PAGE);
		}
		printf("hugemem step %ld checksum %08x\n", s, sum);
		workload_sleep_ms(a.interval_ms);
	}
	return 0;
}
