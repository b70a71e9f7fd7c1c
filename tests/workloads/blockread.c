/* SPDX-License-Identifier: MIT */
/*
 * blockread [steps] [interval_ms]: blocks in read() on a pipe that a SIGALRM
 * handler writes one byte into, every interval (setitimer). The handler is
 * installed with SA_RESTART, so if the alarm lands while read() sleeps, the
 * kernel restarts the read and it then returns the handler's byte; a
 * checkpoint usually finds the process inside read(). SIGUSR1 stays blocked
 * the whole time, and the program checks it still is after every wake-up -
 * handlers and masks must survive a checkpoint.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "workload.h"

static int pipe_fds[2];
static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	char c = (char)('a' + alarms % 26);
	alarms++;
	if (write(pipe_fds[1], &c, 1) < 0)
		_exit(4);
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	if (pipe(pipe_fds) < 0)
		return 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	sigset_t blocked;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	long us = a.interval_ms > 0 ? a.interval_ms * 1000 : 1000;
	struct itimerval it = { { us / 1000000, us % 1000000 }, { us / 1000000, us % 1000000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	uint32_t sum = 0;
	for (long i = 0; i < a.steps; i++) {
		char c;
		ssize_t n;
		do
			n = read(pipe_fds[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1) {
			printf("blockread FAILED: read returned %zd\n", n);
			return 1;
		}
		sigset_t now;
		sigprocmask(SIG_BLOCK, NULL, &now);
		if (!sigismember(&now, SIGUSR1)) {
			printf("blockread FAILED: SIGUSR1 no longer blocked at step %ld\n", i);
			return 1;
		}
		sum = workload_hash(sum, &c, 1);
		printf("blockread step %ld got '%c' checksum %08x\n", i, c, sum);
	}
	printf("blockread done %ld\n", a.steps);
	return 0;
}
