/* SPDX-License-Identifier: MIT */
/*
 * bigmem [steps] [interval_ms] [mib]: an anonymous region of mib MiB
 * (default 40: more than two of the restorer's 16 MiB staging slices, so
 * a restore places it in several page-frame messages), every page written
 * with a pattern of its own. Each step checks every page (69 bytes of
 * each, its first and last among them: a page out of place differs in
 * all of them; every byte would cost seconds a step under TCG),
 * then rewrites one page in steps (a stripe), and prints the step and a
 * checksum. A page placed wrong, twice, or not at all by a restore shows
 * as a FAILED line naming it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "workload.h"

#define PAGE 4096ul
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* Byte b of page i after its version v. */
static uint8_t pattern(size_t i, long v, size_t b)
{
	return (uint8_t)(i * 31 + (size_t)v * 17 + b + (i >> 8));
}

static void write_page(uint8_t *p, size_t i, long v)
{
	for (size_t b = 0; b < PAGE; b++)
		p[b] = pattern(i, v, b);
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 50);
	size_t mib = argc > 3 ? strtoul(argv[3], NULL, 10) : 40;
	size_t npages = (mib << 20) / PAGE;
	uint8_t *region = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long *version = calloc(npages, sizeof(long));
	if (region == MAP_FAILED || !version) {
		perror("bigmem: mmap");
		return 1;
	}
	for (size_t i = 0; i < npages; i++)
		write_page(region + i * PAGE, i, 0);
	printf("bigmem ready: %zu pages\n", npages);
	fflush(stdout);
	uint32_t sum = 0;
	for (long s = 0; s < a.steps; s++) {
		for (size_t i = 0; i < npages; i++) {
			const uint8_t *p = region + i * PAGE;
			for (size_t b = 0; b < PAGE;
			     b = b == PAGE - 1 ? PAGE : MIN(b + 61, PAGE - 1))
				if (p[b] != pattern(i, version[i], b)) {
					printf("bigmem FAILED at step %ld: page %zu byte %zu is %u, "
					       "not %u\n",
					       s, i, b, p[b], pattern(i, version[i], b));
					return 1;
				}
		}
		for (size_t i = (size_t)s % (size_t)a.steps; i < npages; i += (size_t)a.steps)
			write_page(region + i * PAGE, i, ++version[i]);
		sum = workload_hash(sum, region + ((size_t)s * 4099 % npages) * PAGE, PAGE);
		printf("bigmem step %ld checksum %08x\n", s, sum);
		fflush(stdout);
		workload_sleep_ms(a.interval_ms);
	}
	return 0;
}
