/* SPDX-License-Identifier: MIT */
/*
 * unlinked [steps] [interval_ms]: a file that exists only while it is
 * mapped - made in /tmp, mapped read-only, then unlinked (as programs do
 * with temporary files). Each step hashes one page of the mapping, which
 * must still hold what was written. A checkpoint cannot carry such a file by
 * its path: snapvm checkpoint --kill must then fail and leave the process
 * running (test-restore.c).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"

#define PAGES 16
#define PAGE 4096

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 20);
	const char *path = "/tmp/snapvm-unlinked-workload.dat";
	static uint8_t block[PAGES * PAGE];
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (uint8_t)(i * 131 + (i >> 9));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, block, sizeof(block)) != (ssize_t)sizeof(block)) {
		printf("unlinked FAILED: cannot write %s\n", path);
		return 1;
	}
	const uint8_t *map = mmap(NULL, sizeof(block), PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED || close(fd) < 0 || unlink(path) < 0) {
		printf("unlinked FAILED: map and unlink\n");
		return 1;
	}
	uint32_t sum = 0;
	for (long i = 0; i < a.steps; i++) {
		const uint8_t *page = map + (size_t)(i % PAGES) * PAGE;
		if (memcmp(page, block + (size_t)(i % PAGES) * PAGE, PAGE) != 0) {
			printf("unlinked FAILED at step %ld: the mapping changed\n", i);
			return 1;
		}
		sum = workload_hash(sum, page, PAGE);
		printf("unlinked step %ld checksum %08x\n", i, sum);
		workload_sleep_ms(a.interval_ms);
	}
	printf("unlinked done %ld steps checksum %08x\n", a.steps, sum);
	return 0;
}
