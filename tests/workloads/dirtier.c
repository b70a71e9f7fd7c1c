/* SPDX-License-Identifier: MIT */
/*
 * dirtier [steps] [interval_ms]: writes a few scattered pages each step
 * and prints a checksum of all it holds, so an incremental checkpoint that
 * misses one written page (dirty tracking, host/checkpoint/dirty-track.h)
 * restores a process whose next checksum differs from the uninterrupted
 * run's. Its memory:
 *   - 16 MiB of small pages (MADV_NOHUGEPAGE), 8 scattered writes a step;
 *   - 4 MiB asked for in huge pages (MADV_HUGEPAGE; the guest may or may
 *     not give them), one write a step;
 *   - every 4th step, a 256 KiB mapping (between two PROT_NONE guard pages,
 *     so it never merges) unmapped and mapped afresh at the same address,
 *     half of it written: new pages whose PTEs were never written since the
 *     last arm, which only the VMA's VM_SOFTDIRTY marks;
 *   - every 5th step, one small page dropped (MADV_DONTNEED) and read
 *     again: it reads as zeros from the kernel's zero page, an entry that
 *     is not marked written.
 */
#include <string.h>
#include <sys/mman.h>

#include "workload.h"

#define PAGE 4096ul
#define SMALL (16ul << 20)
#define HUGE_PAGE (2ul << 20)
#define HUGE (4ul << 20)
#define REMAP (256ul << 10)
#define WRITES_PER_STEP 8

/* A 64-bit word-wise checksum: quick enough over 20 MiB under TCG. */
static uint64_t sum(uint64_t h, const void *p, size_t len)
{
	const uint64_t *w = p;
	for (size_t i = 0; i < len / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ull + i;
	return h;
}

static void *map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("dirtier: mmap");
		exit(1);
	}
	return p;
}

static void fill(uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8)
		*(uint64_t *)(void *)(p + i) = (i + seed) * 0x9e3779b97f4a7c15ull;
}

static uint64_t next(uint64_t *x)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return *x;
}

/* Flips bits of one word somewhere in [p, p + len). */
static void write_somewhere(uint8_t *p, size_t len, uint64_t *x)
{
	uint64_t v = next(x);
	size_t page = v % (len / PAGE), off = ((v >> 32) % (PAGE / 8)) * 8;
	*(uint64_t *)(void *)(p + page * PAGE + off) ^= v;
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	uint8_t *small = map(SMALL, PROT_READ | PROT_WRITE);
	madvise(small, SMALL, MADV_NOHUGEPAGE);
	uint8_t *huge_map = map(HUGE + HUGE_PAGE, PROT_READ | PROT_WRITE);
	uint8_t *huge = (uint8_t *)(((uintptr_t)huge_map + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
	madvise(huge, HUGE, MADV_HUGEPAGE);
	uint8_t *guarded = map(REMAP + 2 * PAGE, PROT_NONE);
	uint8_t *part = guarded + PAGE;
	if (mprotect(part, REMAP, PROT_READ | PROT_WRITE)) {
		perror("dirtier: mprotect");
		return 1;
	}
	fill(small, SMALL, 1);
	fill(huge, HUGE, 2);
	fill(part, REMAP, 3);
	uint64_t x = 88172645463325252ull;
	for (long s = 0; s < a.steps; s++) {
		for (int k = 0; k < WRITES_PER_STEP; k++)
			write_somewhere(small, SMALL, &x);
		write_somewhere(huge, HUGE, &x);
		if (s % 4 == 3) {
			if (munmap(part, REMAP) ||
			    mmap(part, REMAP, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != part) {
				perror("dirtier: remap");
				return 1;
			}
			/* the other half reads as zeros */
			memset(part, (int)(s & 0xff), REMAP / 2);
		}
		if (s % 5 == 2) {
			uint8_t *gone = small + (next(&x) % (SMALL / PAGE)) * PAGE;
			madvise(gone, PAGE, MADV_DONTNEED);
		}
		uint64_t h = sum(sum(sum(0, small, SMALL), huge, HUGE), part, REMAP);
		printf("dirtier step %ld checksum %016llx\n", s, (unsigned long long)h);
		workload_sleep_ms(a.interval_ms);
	}
	printf("dirtier done %ld steps\n", a.steps);
	return 0;
}
