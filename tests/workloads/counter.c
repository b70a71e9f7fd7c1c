/* SPDX-License-Identifier: MIT */
/* counter [steps] [interval_ms] [file]: an integer counter with a running
 * checksum. The simplest state there is: a few integers in registers and on
 * the stack. A file named third is opened and held, not mapped, for the whole
 * run: one whose contents only the guest agent can carry (test-kvm-nested
 * measures the agent channel's speed with it); the output is the same. */
#include <fcntl.h>

#include "workload.h"

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	if (argc > 3 && open(argv[3], O_RDONLY) < 0) {
		perror(argv[3]);
		return 2;
	}
	uint64_t value = 1;
	uint32_t sum = 0;
	for (long i = 0; i < a.steps; i++) {
		value = value * 6364136223846793005ull + 1442695040888963407ull;
		sum = workload_hash(sum, &value, sizeof(value));
		printf("counter step %ld value %016llx checksum %08x\n", i,
		       (unsigned long long)value, sum);
		workload_sleep_ms(a.interval_ms);
	}
	printf("counter done %ld steps checksum %08x\n", a.steps, sum);
	return 0;
}
