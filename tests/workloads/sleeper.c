/* SPDX-License-Identifier: MIT */
/* sleeper [steps] [interval_ms]: spends its life in nanosleep, so a
 * checkpoint almost always finds it inside that syscall (restart case). */
#include "workload.h"

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 50);
	for (long i = 0; i < a.steps; i++) {
		workload_sleep_ms(a.interval_ms);
		printf("sleeper woke %ld\n", i);
	}
	printf("sleeper done %ld\n", a.steps);
	return 0;
}
