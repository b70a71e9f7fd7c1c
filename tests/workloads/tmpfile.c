/* SPDX-License-Identifier: MIT */
/*
 * tmpfile [steps] [interval_ms]: a file made with O_TMPFILE in /tmp (never
 * linked), mode 0604, filled with a hole in its middle, mapped
 * MAP_SHARED. Each step writes through the mapping and the fd and checks
 * each sees the other (memfile.h); prints its link count, size and mode,
 * and its modification time, which the step before set (futimens) after
 * writing: a restore must put it back after filling the file (zdtm's
 * file_attr).
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
	struct timespec times[2] = { { 5000, 0 }, { 1000000, 123456789 } };
	if (futimens(fd, times) < 0) {
		printf("tmpfile FAILED: futimens\n");
		return 1;
	}
	for (long i = 0; i < a.steps; i++) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			printf("tmpfile FAILED: fstat\n");
			return 1;
		}
		long mtime = (long)st.st_mtim.tv_sec, mtime_ns = st.st_mtim.tv_nsec;
		sum = memfile_step("tmpfile", i, fd, map, NULL, SIZE, sum);
		times[0].tv_sec = 5000 + i;
		times[1].tv_sec = 1000000 + i;
		if (fstat(fd, &st) < 0 || futimens(fd, times) < 0) {
			printf("tmpfile FAILED: fstat, futimens\n");
			return 1;
		}
		printf("tmpfile step %ld nlink %ld size %ld mode %o mtime %ld.%09ld checksum %08x\n",
		       i, (long)st.st_nlink, (long)st.st_size, (unsigned)(st.st_mode & 07777),
		       mtime, mtime_ns, sum);
		workload_sleep_ms(a.interval_ms);
	}
	printf("tmpfile done %ld steps checksum %08x\n", a.steps, sum);
	return 0;
}
