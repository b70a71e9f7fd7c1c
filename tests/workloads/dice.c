/* SPDX-License-Identifier: MIT */
/* dice [steps] [interval_ms]: prints a fresh random number each step, from
 * getrandom - the one workload whose output differs from run to run, on
 * purpose: the lab must call its baseline nondeterministic rather than
 * blame a restore. */
#include <sys/random.h>

#include "workload.h"

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	for (long i = 0; i < a.steps; i++) {
		uint64_t roll = 0;
		if (getrandom(&roll, sizeof(roll), 0) != (ssize_t)sizeof(roll))
			return 1;
		printf("dice step %ld rolled %016llx\n", i, (unsigned long long)roll);
		workload_sleep_ms(a.interval_ms);
	}
	printf("dice done %ld steps\n", a.steps);
	return 0;
}
