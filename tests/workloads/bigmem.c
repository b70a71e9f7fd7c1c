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
 *
 * bigmem steps interval mib churn: each step first unmaps, discards and
 * moves some of the region (what a process restored with --lazy may do
 * before its pages are all in): one page madvise(MADV_DONTNEED)d and one
 * munmapped and mapped again, each of which must then read zero (no old
 * page may come back into either), and a 16-page window moved elsewhere
 * and back with mremap (its pages must follow it); then rewritten.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Page i of region must read zero (sampled as the check samples). */
static int zero_page(const uint8_t *p, size_t i, const char *after, long s)
{
	for (size_t b = 0; b < PAGE; b = b == PAGE - 1 ? PAGE : MIN(b + 61, PAGE - 1))
		if (p[b]) {
			printf("bigmem FAILED at step %ld: page %zu byte %zu is %u after %s, not 0\n",
			       s, i, b, p[b], after);
			return 0;
		}
	return 1;
}

#define WINDOW 16 /* pages moved and back */

/* The churn of step s (see the top); 0 on a failure, printed. */
static int churn(uint8_t *region, size_t npages, long *version, long s)
{
	size_t j = ((size_t)s * 7 + 1) % npages, k = ((size_t)s * 13 + 5) % npages;
	uint8_t *pj = region + j * PAGE, *pk = region + k * PAGE;
	if (madvise(pj, PAGE, MADV_DONTNEED) < 0) {
		perror("bigmem: madvise");
		return 0;
	}
	if (!zero_page(pj, j, "MADV_DONTNEED", s))
		return 0;
	write_page(pj, j, ++version[j]);
	if (munmap(pk, PAGE) < 0 || mmap(pk, PAGE, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != pk) {
		perror("bigmem: munmap and mmap");
		return 0;
	}
	if (!zero_page(pk, k, "munmap and mmap", s))
		return 0;
	write_page(pk, k, ++version[k]);
	uint8_t *w = region + ((size_t)s * 17 + 3) % (npages - WINDOW) * PAGE;
	void *spare = mmap(NULL, WINDOW * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (spare == MAP_FAILED ||
	    mremap(w, WINDOW * PAGE, WINDOW * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, spare) !=
		    spare ||
	    mremap(spare, WINDOW * PAGE, WINDOW * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, w) != w) {
		perror("bigmem: mremap");
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 50);
	size_t mib = argc > 3 ? strtoul(argv[3], NULL, 10) : 40;
	size_t npages = (mib << 20) / PAGE;
	int churning = argc > 4 && !strcmp(argv[4], "churn");
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
		if (churning && !churn(region, npages, version, s))
			return 1;
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
