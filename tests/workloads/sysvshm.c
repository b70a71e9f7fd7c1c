/* SPDX-License-Identifier: MIT */
/*
 * sysvshm [steps] [interval_ms]: a SysV shm segment (IPC_PRIVATE, mode
 * 0640, three pages and a bit) attached twice. Each step writes through
 * one attachment and checks the other sees it (memfile.h), then asks the
 * kernel about the segment by the id it was given (IPC_STAT: size, mode,
 * attachments), which must still name it; at the end it detaches both and
 * removes it.
 */
#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "memfile.h"

#define SIZE (3 * 4096 + 100)

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 20);
	int id = shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0640);
	uint8_t *map = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
	uint8_t *view = id < 0 ? (void *)-1 : shmat(id, NULL, SHM_RDONLY);
	if (map == (void *)-1 || view == (void *)-1) {
		printf("sysvshm FAILED: shmget and shmat: %s\n", strerror(errno));
		return 1;
	}
	memfile_pattern(map, 2 * 4096);
	uint32_t sum = 0;
	for (long i = 0; i < a.steps; i++) {
		sum = memfile_step("sysvshm", i, -1, map, view, SIZE, sum);
		struct shmid_ds ds;
		if (shmctl(id, IPC_STAT, &ds) < 0) {
			printf("sysvshm FAILED at step %ld: IPC_STAT of its id: %s\n", i,
			       strerror(errno));
			return 1;
		}
		printf("sysvshm step %ld size %ld mode %o attached %ld checksum %08x\n", i,
		       (long)ds.shm_segsz, (unsigned)(ds.shm_perm.mode & 0777), (long)ds.shm_nattch,
		       sum);
		workload_sleep_ms(a.interval_ms);
	}
	if (shmdt(view) < 0 || shmdt(map) < 0 || shmctl(id, IPC_RMID, NULL) < 0) {
		printf("sysvshm FAILED: detach and remove: %s\n", strerror(errno));
		return 1;
	}
	printf("sysvshm done %ld steps checksum %08x\n", a.steps, sum);
	return 0;
}
