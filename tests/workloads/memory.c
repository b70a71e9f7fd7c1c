/* SPDX-License-Identifier: MIT */
/*
 * memory [steps] [interval_ms]: every kind of mapping a checkpoint must
 * carry, verified each step:
 *   - the heap, grown with sbrk every step;
 *   - an anonymous 1 MiB region with a PROT_NONE guard page after it;
 *   - a 256 MiB sparse anonymous region of which a few pages are touched;
 *   - a file (made in /tmp) mapped MAP_PRIVATE and written to, so its pages
 *     differ from the file's, and the same file mapped MAP_SHARED.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "workload.h"

#define PAGE 4096ul
#define ANON_SIZE (1ul << 20)
#define SPARSE_SIZE (256ul << 20)
#define FILE_SIZE (64ul << 10)
#define HEAP_STEP (64ul << 10)

/* The guard page must still be a PROT_NONE mapping of its own, as
 * /proc/self/maps says (touching it would just kill us). */
static int guard_intact(const void *guard)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 1; /* no /proc: nothing to check against */
	char line[512];
	int ok = 0;
	unsigned long want = (unsigned long)guard;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && lo <= want && want < hi)
			ok = !strcmp(perms, "---p");
	}
	fclose(f);
	return ok;
}

static uint8_t fill(long step, size_t i)
{
	return (uint8_t)(step * 131 + i * 7 + (i >> 12));
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	const char *path = "/tmp/snapvm-memory-workload.dat";
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror("memory: open");
		return 1;
	}
	uint8_t block[FILE_SIZE];
	for (size_t i = 0; i < FILE_SIZE; i++)
		block[i] = (uint8_t)(i ^ (i >> 8));
	if (write(fd, block, FILE_SIZE) != (ssize_t)FILE_SIZE)
		return 1;
	uint8_t *priv = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	uint8_t *shared = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	/* anon region + guard: map both, then take access away from the last page */
	uint8_t *anon = mmap(NULL, ANON_SIZE + PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *sparse = mmap(NULL, SPARSE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (priv == MAP_FAILED || shared == MAP_FAILED || anon == MAP_FAILED ||
	    sparse == MAP_FAILED) {
		perror("memory: mmap");
		return 1;
	}
	if (mprotect(anon + ANON_SIZE, PAGE, PROT_NONE) < 0)
		return 1;
	uint8_t *heap_start = sbrk(0);
	size_t heap_len = 0;
	uint32_t sum = 0;
	for (long s = 0; s < a.steps; s++) {
		/* grow the heap and fill the new part */
		uint8_t *more = sbrk(HEAP_STEP);
		if (more == (void *)-1) {
			perror("memory: sbrk");
			return 1;
		}
		for (size_t i = 0; i < HEAP_STEP; i++)
			more[i] = fill(s, i);
		heap_len += HEAP_STEP;
		/* rewrite one page of each other region */
		size_t ap = (size_t)s % (ANON_SIZE / PAGE);
		for (size_t i = 0; i < PAGE; i++)
			anon[ap * PAGE + i] = fill(s, i + 1);
		size_t sp = ((size_t)s * 4099) % (SPARSE_SIZE / PAGE);
		sparse[sp * PAGE] = (uint8_t)(s + 1);
		size_t fp = (size_t)s % (FILE_SIZE / PAGE);
		priv[fp * PAGE + 1] = (uint8_t)(s + 2);
		shared[fp * PAGE + 2] = (uint8_t)(s + 3);
		/* verify everything written so far */
		for (long t = 0; t <= s; t++) {
			const uint8_t *h = heap_start + (size_t)t * HEAP_STEP;
			for (size_t i = 0; i < HEAP_STEP; i += 511)
				if (h[i] != fill(t, i)) {
					printf("memory FAILED: heap step %ld byte %zu\n", t, i);
					return 1;
				}
			if (sparse[(((size_t)t * 4099) % (SPARSE_SIZE / PAGE)) * PAGE] == 0) {
				printf("memory FAILED: sparse page of step %ld lost\n", t);
				return 1;
			}
		}
		/* the private write stays private, the shared one is the file */
		uint8_t from_file[3];
		if (pread(fd, from_file, 3, (off_t)(fp * PAGE)) != 3 ||
		    from_file[1] != block[fp * PAGE + 1] ||
		    priv[fp * PAGE + 1] != (uint8_t)(s + 2) || from_file[2] != (uint8_t)(s + 3) ||
		    shared[fp * PAGE + 2] != (uint8_t)(s + 3)) {
			printf("memory FAILED: file mappings inconsistent at step %ld\n", s);
			return 1;
		}
		if (!guard_intact(anon + ANON_SIZE)) {
			printf("memory FAILED: guard page is no longer PROT_NONE at step %ld\n", s);
			return 1;
		}
		sum = workload_hash(sum, heap_start, heap_len);
		sum = workload_hash(sum, anon, ANON_SIZE);
		sum = workload_hash(sum, priv, FILE_SIZE);
		sum = workload_hash(sum, shared, FILE_SIZE);
		printf("memory step %ld heap %zu KiB checksum %08x\n", s, heap_len >> 10, sum);
		workload_sleep_ms(a.interval_ms);
	}
	unlink(path);
	printf("memory done %ld\n", a.steps);
	return 0;
}
