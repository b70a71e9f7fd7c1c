/* SPDX-License-Identifier: MIT */
/*
 * ghost [steps] [interval_ms]: a ghost file - made in /tmp, open and
 * mapped MAP_SHARED, then unlinked, and its name taken by a new file with
 * other contents (CRIU's unlink_fstat01: a checkpoint that carries by
 * name would carry the impostor). Each step writes through the mapping and
 * the fd and checks each sees the other (memfile.h), and reads on at the
 * fd's own offset; the file must stay unlinked (nlink 0), owned by 1:2 with
 * mode 0640.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "memfile.h"

#define SIZE (5 * 4096 + 123)

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 20);
	const char *path = "/tmp/snapvm-ghost-workload.dat";
	static uint8_t block[SIZE];
	memfile_pattern(block, SIZE);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	/* not root's, as zdtm's unlink_fstat00 (its owner must come back) */
	if (fd < 0 || write(fd, block, SIZE) != SIZE || lseek(fd, 100, SEEK_SET) != 100 ||
	    fchown(fd, 1, 2) < 0) {
		printf("ghost FAILED: cannot write %s\n", path);
		return 1;
	}
	uint8_t *map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED || unlink(path) < 0) {
		printf("ghost FAILED: map and unlink\n");
		return 1;
	}
	int impostor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (impostor < 0 || write(impostor, "impostor\n", 9) != 9 || close(impostor) < 0) {
		printf("ghost FAILED: cannot make the impostor\n");
		return 1;
	}
	uint32_t sum = 0;
	for (long i = 0; i < a.steps; i++) {
		sum = memfile_step("ghost", i, fd, map, NULL, SIZE, sum);
		uint8_t b;
		long nlink, size;
		memfile_stat(fd, &nlink, &size);
		struct stat st;
		if (fstat(fd, &st) < 0 || st.st_uid != 1 || st.st_gid != 2 ||
		    (st.st_mode & 07777) != 0640) {
			printf("ghost FAILED at step %ld: owner or mode\n", i);
			return 1;
		}
		if (read(fd, &b, 1) != 1) {
			printf("ghost FAILED at step %ld: read at the fd's offset\n", i);
			return 1;
		}
		printf("ghost step %ld nlink %ld size %ld offset %ld byte %u checksum %08x\n", i,
		       nlink, size, (long)lseek(fd, 0, SEEK_CUR), b, sum);
		workload_sleep_ms(a.interval_ms);
	}
	unlink(path);
	printf("ghost done %ld steps checksum %08x\n", a.steps, sum);
	return 0;
}
