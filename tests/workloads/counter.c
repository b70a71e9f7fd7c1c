/* SPDX-License-Identifier: MIT */
/* counter [steps] [interval_ms]: an integer counter with a running checksum.
 * The simplest state there is: a few integers in registers and on the stack. */
#include "workload.h"

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
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
