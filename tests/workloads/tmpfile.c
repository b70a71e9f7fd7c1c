/* SPDX-License-Identifier: MIT */
/*
 * tmpfile [steps] [interval_ms]: a file made with O_TMPFILE in /tmp (never
 * linked), mode 0604, filled with a hole in its middle, mapped
 * MAP_SHARED. Each step writes through the mapping and the fd and checks
 * each sees the other (memfile.h); prints its link count, size and mode.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "memfile.h"

#define SIZE (8 * 4096)

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 20);
	static uint8_t block[4096];
	memfile_pattern(block, sizeof(block));
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0604);
	if (fd < 0 || pwrite(fd, block, 4096, 0) != 4096 ||
	    pwrite(fd, block, 4096, SIZE - 4096) != 4096) {
		printf("tmpfile FAILED: cannot make an O_TMPFILE file in /tmp\n");
		return 1;
	}
	uint8_t *map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		printf("tmpfile FAILED: map\n");
		return 1;
	}
	uint32_t sum = 0;
	for (long i = 0; i < a.steps; i++) {
		sum = memfile_step("tmpfile", i, fd, map, NULL, SIZE, sum);
		struct stat st;
		if (fstat(fd, &st) < 0) {
			printf("tmpfile FAILED: fstat\n");
			return 1;
		}
		printf("tmpfile step %ld nlink %ld size %ld mode %o checksum %08x\n", i,
		       (long)st.st_nlink, (long)st.st_size, (unsigned)(st.st_mode & 07777), sum);
		workload_sleep_ms(a.interval_ms);
	}
	printf("tmpfile done %ld steps checksum %08x\n", a.steps, sum);
	return 0;
}
