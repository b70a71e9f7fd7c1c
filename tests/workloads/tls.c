/* SPDX-License-Identifier: MIT */
/* tls [steps] [interval_ms]: __thread variables (initialised and zeroed),
 * reached through the thread pointer (fs base on x86_64, tpidr_el0 on
 * aarch64), checked every step - a restore that loses TLS fails here. */
#include <string.h>

#include "workload.h"

static __thread long tls_counter = 1000;
static __thread long tls_table[8] = { 1, 2, 3, 5, 8, 13, 21, 34 };
static __thread char tls_zeroed[64];

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	long expect_counter = 1000;
	for (long i = 0; i < a.steps; i++) {
		tls_counter += i;
		expect_counter += i;
		tls_table[i % 8] = tls_table[(i + 7) % 8] + tls_table[(i + 6) % 8];
		tls_zeroed[i % 64] ^= (char)(i + 1);
		if (tls_counter != expect_counter) {
			printf("tls FAILED at step %ld: counter %ld, expected %ld\n", i,
			       tls_counter, expect_counter);
			return 1;
		}
		uint32_t h = workload_hash(0, tls_table, sizeof(tls_table));
		h = workload_hash(h, tls_zeroed, sizeof(tls_zeroed));
		printf("tls step %ld counter %ld table-hash %08x\n", i, tls_counter, h);
		workload_sleep_ms(a.interval_ms);
	}
	printf("tls done %ld\n", a.steps);
	return 0;
}
