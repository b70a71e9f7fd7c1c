/* SPDX-License-Identifier: MIT */
/* memfile.h - what the workloads of files that exist only in memory
 * (ghost, memfd, tmpfile, shanon) share: one step that writes through
 * the mapping and through the fd and checks each sees the other's write,
 * the sharing a restore must keep. */
#ifndef SNAPVM_MEMFILE_H
#define SNAPVM_MEMFILE_H

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workload.h"

/* Fills a buffer with the pattern every memfile workload starts from. */
static inline void memfile_pattern(uint8_t *buf, size_t size)
{
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 9));
}

/* Step i over a file of size bytes, open at fd and mapped shared at map
 * (view: a second mapping of the same memory, or NULL to use the fd).
 * Returns the running checksum, or exits 1 when sharing is broken. */
static inline uint32_t memfile_step(const char *name, long i, int fd, uint8_t *map,
				    const uint8_t *view, size_t size, uint32_t sum)
{
	static uint8_t buf[1 << 16];
	size_t at = (size_t)(i * 4099) % size, at2 = (size_t)(i * 8191 + 17) % size;
	map[at] = (uint8_t)(map[at] + i + 1);
	uint8_t b = (uint8_t)(i * 7);
	if (fd >= 0 && pwrite(fd, &b, 1, (off_t)at2) != 1) {
		printf("%s FAILED at step %ld: pwrite\n", name, i);
		exit(1);
	}
	if (fd < 0)
		map[at2] = b;
	const uint8_t *seen = view;
	if (!seen) {
		if (size > sizeof(buf) || pread(fd, buf, size, 0) != (ssize_t)size) {
			printf("%s FAILED at step %ld: pread\n", name, i);
			exit(1);
		}
		seen = buf;
	}
	if (memcmp(seen, map, size) != 0 || map[at2] != b) {
		printf("%s FAILED at step %ld: the fd and the mapping differ\n", name, i);
		exit(1);
	}
	sum = workload_hash(sum, map, size);
	return sum;
}

/* What fstat says of the file: its link count and size. */
static inline void memfile_stat(int fd, long *nlink, long *size)
{
	struct stat st;
	*nlink = *size = -1;
	if (fstat(fd, &st) == 0) {
		*nlink = (long)st.st_nlink;
		*size = (long)st.st_size;
	}
}

#endif
