/* SPDX-License-Identifier: MIT */
/* threads [steps] [interval_ms] [nthreads] [mib]: four pthreads (or
 * nthreads, 1-4; with 1 the main thread does the work itself, alone), each keeping a hash chain
 * in a __thread variable and a running sum in a double (live in an FP/SIMD
 * register while it computes), printing one line per step in turn - thread
 * 0, 1, 2, 3, handed on by a condition variable - then meeting at a
 * barrier; thread 0 sleeps the interval while the others compute the next
 * step and wait for their turn. The main thread waits in pthread_join.
 * Every thread checks each step that its TLS and its tid are still its
 * own: a restore that mixes up threads, loses a thread pointer, an FP
 * register or a tid fails here. mib: that many MiB of heap touched first
 * (default 0), so that runs with and without threads can be compared at
 * the same memory size. */
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "workload.h"

#define MAX_THREADS 4
#define WORK 200000 /* hash steps per line: about 10 ms under TCG */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t round_done;
static int turn, nthreads = MAX_THREADS;

static __thread int my_index = -1;
static __thread uint64_t chain;
static __thread double sum;

struct worker {
	int index;
	long tid;
	struct workload_args args;
	pthread_t thread;
};

static void fail(const char *what, int index, long step)
{
	printf("threads FAILED: thread %d step %ld: %s\n", index, step, what);
	exit(1);
}

static void *work(void *data)
{
	struct worker *w = data;
	my_index = w->index;
	chain = 0x9e3779b97f4a7c15ull * (uint64_t)(w->index + 1);
	sum = w->index;
	w->tid = syscall(SYS_gettid);
	for (long step = 0; step < w->args.steps; step++) {
		uint64_t h = chain;
		double f = sum;
		for (long k = 0; k < WORK; k++) {
			h = h * 6364136223846793005ull + 1442695040888963407ull + (uint64_t)k;
			f += (double)(h >> 44); /* exact: the sum stays below 2^53 */
		}
		chain = h;
		sum = f;
		if (my_index != w->index)
			fail("its __thread variable holds another thread's value", w->index, step);
		if (syscall(SYS_gettid) != w->tid)
			fail("its thread id changed", w->index, step);
		pthread_mutex_lock(&lock);
		while (turn != w->index)
			pthread_cond_wait(&turn_changed, &lock);
		printf("threads step %ld thread %d chain %016llx sum %.0f\n", step, w->index,
		       (unsigned long long)chain, sum);
		turn = (turn + 1) % nthreads;
		pthread_cond_broadcast(&turn_changed);
		pthread_mutex_unlock(&lock);
		pthread_barrier_wait(&round_done);
		if (w->index == 0)
			workload_sleep_ms(w->args.interval_ms);
	}
	return (void *)(uintptr_t)(chain ^ (uint64_t)sum);
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	long mib = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
	if (argc > 3)
		nthreads = (int)strtol(argv[3], NULL, 10);
	if (nthreads < 1 || nthreads > MAX_THREADS || mib < 0 || mib > 4096) {
		fprintf(stderr, "usage: %s [steps] [interval_ms] [nthreads 1-4] [mib]\n", argv[0]);
		return 2;
	}
	if (mib) {
		volatile char *heap = malloc((size_t)mib << 20);
		for (long i = 0; heap && i < mib << 20; i += 4096)
			heap[i] = (char)(i >> 12 | 1);
	}
	struct worker w[MAX_THREADS];
	pthread_barrier_init(&round_done, NULL, (unsigned)nthreads);
	if (nthreads == 1) {
		w[0] = (struct worker){ .index = 0, .args = a };
		uint64_t r = (uint64_t)(uintptr_t)work(&w[0]);
		printf("threads done %ld %016llx\n", a.steps, (unsigned long long)r);
		return 0;
	}
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ .index = i, .args = a };
		if (pthread_create(&w[i].thread, NULL, work, &w[i])) {
			printf("threads FAILED: pthread_create\n");
			return 1;
		}
	}
	uint64_t all = 0;
	for (int i = 0; i < nthreads; i++) {
		void *r;
		pthread_join(w[i].thread, &r);
		all = all * 31 + (uint64_t)(uintptr_t)r;
	}
	printf("threads done %ld %016llx\n", a.steps, (unsigned long long)all);
	return 0;
}
