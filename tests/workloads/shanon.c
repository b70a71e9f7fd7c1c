/* SPDX-License-Identifier: MIT */
/*
 * shanon [steps] [interval_ms]: shared anonymous memory
 * (MAP_SHARED|MAP_ANONYMOUS, a shmem file underneath), with a second
 * mapping of the same memory (mremap of old size 0). Each step writes
 * through one and checks the other sees it (memfile.h), a page of it never
 * touched (a hole) staying zero.
 */
#include <sys/mman.h>

#include "memfile.h"

#define SIZE (6 * 4096)

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 20);
	uint8_t *map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		printf("shanon FAILED: map\n");
		return 1;
	}
	memfile_pattern(map, 4 * 4096);
	uint8_t *view = mremap(map, 0, SIZE, MREMAP_MAYMOVE);
	if (view == MAP_FAILED) {
		printf("shanon FAILED: a second mapping\n");
		return 1;
	}
	uint32_t sum = 0;
	for (long i = 0; i < a.steps; i++) {
		sum = memfile_step("shanon", i, -1, map, view, SIZE, sum);
		printf("shanon step %ld checksum %08x\n", i, sum);
		workload_sleep_ms(a.interval_ms);
	}
	printf("shanon done %ld steps checksum %08x\n", a.steps, sum);
	return 0;
}
