/* SPDX-License-Identifier: MIT */
/*
 * memfd [steps] [interval_ms]: a memfd (memfd_create, sealable) sized,
 * filled and sealed against shrinking and growing, mapped MAP_SHARED, with
 * a dup at fd 10. Each step writes through the mapping and the fd and
 * checks each sees the other (memfile.h); prints its seals, its name as
 * /proc/self/fd shows it, and that the seals still refuse a resize.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "memfile.h"

#define SIZE (3 * 4096)

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 20);
	static uint8_t block[SIZE];
	memfile_pattern(block, SIZE);
	int fd = memfd_create("snapvm-memfd", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, block, SIZE) != SIZE ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0 || dup2(fd, 10) != 10) {
		printf("memfd FAILED: cannot make the memfd\n");
		return 1;
	}
	uint8_t *map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		printf("memfd FAILED: map\n");
		return 1;
	}
	uint32_t sum = 0;
	for (long i = 0; i < a.steps; i++) {
		sum = memfile_step("memfd", i, 10, map, NULL, SIZE, sum);
		char name[128] = { 0 }, proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (readlink(proc, name, sizeof(name) - 1) < 0)
			snprintf(name, sizeof(name), "?");
		int resize = ftruncate(fd, SIZE * 2) == 0 ? 0 : errno;
		long nlink, size;
		memfile_stat(fd, &nlink, &size);
		printf("memfd step %ld %s seals 0x%x resize errno %d nlink %ld size %ld checksum "
		       "%08x\n",
		       i, name, fcntl(fd, F_GET_SEALS), resize, nlink, size, sum);
		workload_sleep_ms(a.interval_ms);
	}
	printf("memfd done %ld steps checksum %08x\n", a.steps, sum);
	return 0;
}
