/* SPDX-License-Identifier: MIT */
/*
 * aioring [steps] [interval_ms]: holds an AIO context (io_setup), whose
 * ring the kernel maps into the process: something snapvm does not carry,
 * so `checkpoint --kill` must refuse it, naming it, and leave the process
 * running (test-restore.c). Counts like counter meanwhile.
 */
#include <sys/syscall.h>
#include <unistd.h>

#include "workload.h"

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 20);
	unsigned long ctx = 0;
	if (syscall(SYS_io_setup, 4, &ctx) != 0) {
		printf("aioring FAILED: io_setup\n");
		return 1;
	}
	uint32_t sum = 0;
	for (long i = 0; i < a.steps; i++) {
		sum = workload_hash(sum, &i, sizeof(i));
		printf("aioring step %ld checksum %08x\n", i, sum);
		workload_sleep_ms(a.interval_ms);
	}
	syscall(SYS_io_destroy, ctx);
	printf("aioring done %ld steps checksum %08x\n", a.steps, sum);
	return 0;
}
