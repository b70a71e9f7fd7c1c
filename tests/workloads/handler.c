/* SPDX-License-Identifier: MIT */
/*
 * handler [steps] [interval_ms]: what a restored process reaches through
 * its vDSO. Each step reads CLOCK_MONOTONIC after its sleep (a vDSO call,
 * no syscall, in a static glibc too; only checked to be a valid time: a
 * restored process's clock is the fresh guest's, which time namespaces
 * would be needed to hide) and raises SIGUSR1, whose handler
 * counts; returning from the handler goes through the kernel's default
 * signal return (the vDSO's sigreturn trampoline on aarch64, the handler's
 * SA_RESTORER on x86_64). A vDSO not where the process had it, or a kernel
 * that does not know where it is, crashes the step after a restore.
 * The action's sa_mask (SIGUSR2) must be blocked while the handler runs:
 * a restore that wrote the kernel's struct sigaction in another arch's
 * layout (riscv has no sa_restorer) loses it.
 */
#include <signal.h>

#include "workload.h"

static volatile sig_atomic_t hits, mask_lost;

static void on_usr1(int sig)
{
	sigset_t now;
	(void)sig;
	if (sigprocmask(SIG_BLOCK, NULL, &now) || !sigismember(&now, SIGUSR2))
		mask_lost = 1;
	hits++;
}

static int clock_ok(void)
{
	struct timespec t = { -1, -1 };
	return clock_gettime(CLOCK_MONOTONIC, &t) == 0 && t.tv_sec >= 0 && t.tv_nsec >= 0 &&
	       t.tv_nsec < 1000000000;
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	for (long i = 0; i < a.steps; i++) {
		workload_sleep_ms(a.interval_ms);
		int clock = clock_ok();
		raise(SIGUSR1);
		if (hits != i + 1 || !clock || mask_lost) {
			printf("handler step %ld: %d signals handled, clock %s, %s\n", i, (int)hits,
			       clock ? "fine" : "broken",
			       mask_lost ? "SIGUSR2 not blocked in the handler (sa_mask lost)"
					 : "sa_mask kept");
			return 1;
		}
		printf("handler step %ld: %d signals handled\n", i, (int)hits);
	}
	printf("handler done %ld\n", a.steps);
	return 0;
}
