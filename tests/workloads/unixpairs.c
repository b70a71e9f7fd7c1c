/* SPDX-License-Identifier: MIT */
/*
 * unixpairs [steps] [interval_ms]: four UNIX socketpairs at the lowest fds,
 * 3-10 (stream, datagram, stream, datagram), every other one with its ends
 * swapped (the socketpair's second socket at the lower fd), each holding two
 * unread messages both ways. A restore makes each pair again at the lowest
 * free fds, which are these very fds, so a restorer that placed one end
 * over the other end's new fd (CRIU's zdtm socket_queues on aarch64) breaks
 * a pair whichever order the kernel gave its sockets. Each step sends one
 * message each way and reads the oldest; the output is what was read.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "workload.h"

#define NPAIRS 4
#define FIRST_FD 3
#define MSG_LEN 8

static long step;

static void fail(const char *what, int fd)
{
	printf("unixpairs FAILED at step %ld: %s, fd %d (errno %d)\n", step, what, fd, errno);
	exit(1);
}

static void put(int from, int pair, char way, long n)
{
	char m[MSG_LEN + 1];
	snprintf(m, sizeof(m), "%d%c%06ld", pair, way, n % 1000000);
	if (send(from, m, MSG_LEN, MSG_DONTWAIT | MSG_NOSIGNAL) != MSG_LEN)
		fail("send", from);
}

/* the oldest message at `at`, which must be the one sent n steps ago */
static void take(int at, int pair, char way, long n, char *out)
{
	char want[MSG_LEN + 1];
	snprintf(want, sizeof(want), "%d%c%06ld", pair, way, n % 1000000);
	if (recv(at, out, MSG_LEN, MSG_DONTWAIT) != MSG_LEN || memcmp(out, want, MSG_LEN))
		fail("recv: not the oldest message", at);
	out[MSG_LEN] = 0;
}

static void setup(void)
{
	for (int p = 0; p < NPAIRS; p++) {
		int sv[2], lo = FIRST_FD + 2 * p;
		if (socketpair(AF_UNIX, p % 2 ? SOCK_DGRAM : SOCK_STREAM, 0, sv) < 0)
			fail("socketpair", lo);
		/* via fds above the pairs, so no dup2 closes a new socket */
		int a = fcntl(sv[p % 2], F_DUPFD, 64), b = fcntl(sv[!(p % 2)], F_DUPFD, 64);
		if (a < 0 || b < 0 || close(sv[0]) < 0 || close(sv[1]) < 0 || dup2(a, lo) != lo ||
		    dup2(b, lo + 1) != lo + 1 || close(a) < 0 || close(b) < 0)
			fail("placing a pair", lo);
		for (long n = 0; n < 2; n++) {
			put(lo, p, 'r', n);
			put(lo + 1, p, 'l', n);
		}
	}
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 20);
	/* the pairs must be the lowest fds, as a fresh process has them */
	for (int fd = FIRST_FD; fd < 64; fd++)
		close(fd);
	setup();
	for (step = 0; step < a.steps; step++) {
		char line[NPAIRS * 2 * (MSG_LEN + 1) + 1] = "", got[MSG_LEN + 1];
		for (int p = 0; p < NPAIRS; p++) {
			int lo = FIRST_FD + 2 * p;
			put(lo, p, 'r', step + 2);
			put(lo + 1, p, 'l', step + 2);
			take(lo + 1, p, 'r', step, got);
			strcat(strcat(line, " "), got);
			take(lo, p, 'l', step, got);
			strcat(strcat(line, " "), got);
		}
		printf("unixpairs %ld:%s\n", step, line);
		workload_sleep_ms(a.interval_ms);
	}
	printf("unixpairs done %ld\n", a.steps);
	return 0;
}
