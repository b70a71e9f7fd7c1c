/* SPDX-License-Identifier: MIT */
/*
 * uncarried [steps] [interval_ms] [what]: holds one thing snapvm cannot
 * restore exactly, so a checkpoint must refuse it, naming it, and leave
 * the process running (test-restore.c); counts like counter meanwhile.
 * Each is one zdtm found restored wrong, or failing at restore:
 *   sem:        a SysV semaphore set with an undo entry (zdtm's sem), in
 *               an IPC namespace of its own (needs root);
 *   ipcns:      kernel.msgmax changed in an IPC namespace of its own
 *               (zdtm's ipc_namespace; needs root);
 *   tcpopt:     a TCP socket (fd 70) with TCP_NODELAY (sock_tcp_opts00);
 *   overrun:    POSIX timer 0 on CLOCK_REALTIME, every 100 ms, armed 350
 *               ms in the past: taking its signal counts an overrun of 3
 *               (timer_getoverrun), which restore makes again only for
 *               the monotonic clocks;
 *   sigevthread: a glibc SIGEV_THREAD timer every 10 ms, whose helper
 *               thread takes signal 32 (zdtm's pthread_timers, killed by
 *               that signal after a restore);
 *   opath:      an O_PATH fd (70) of /tmp (opath_file);
 *   epollgone:  an epoll fd (71) watching a pipe it was given as fd 72,
 *               since moved to fd 73 (zdtm's epoll);
 *   unixpeer:   a stream socketpair's end (70) whose peer was closed
 *               (socket_close_data).
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

static int fail(const char *what)
{
	printf("uncarried FAILED: %s\n", what);
	exit(1);
}

static void move_to(int fd, int to)
{
	if (fd < 0 || dup2(fd, to) != to || close(fd) < 0)
		fail("setting up an fd");
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s) || close(fd) < 0)
		fail(path);
}

static void overrun_setup(void)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN);
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN };
	int id = -1;
	struct timespec now, wait = { 5, 0 };
	if (sigprocmask(SIG_BLOCK, &m, NULL) < 0 ||
	    syscall(SYS_timer_create, CLOCK_REALTIME, &ev, &id) < 0 ||
	    clock_gettime(CLOCK_REALTIME, &now) < 0)
		fail("timer_create");
	long ns = now.tv_nsec - 350000000L;
	struct itimerspec late = { { 0, 100000000 },
				   { now.tv_sec - (ns < 0), ns < 0 ? ns + 1000000000L : ns } };
	if (syscall(SYS_timer_settime, id, TIMER_ABSTIME, &late, NULL) < 0 ||
	    sigtimedwait(&m, NULL, &wait) != SIGRTMIN || syscall(SYS_timer_getoverrun, id) != 3)
		fail("an overrun of 3");
}

static void on_timer(union sigval v)
{
	(void)v;
}

static void sigev_thread_setup(void)
{
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_timer };
	struct itimerspec every = { { 0, 10000000 }, { 0, 10000000 } };
	timer_t id;
	if (timer_create(CLOCK_MONOTONIC, &ev, &id) < 0 || timer_settime(id, 0, &every, NULL) < 0)
		fail("a SIGEV_THREAD timer");
}

static void setup(const char *what)
{
	int p[2];
	if (!strcmp(what, "sem")) {
		struct sembuf up = { .sem_num = 0, .sem_op = 1, .sem_flg = SEM_UNDO };
		int id;
		if (unshare(CLONE_NEWIPC) < 0 || (id = semget(IPC_PRIVATE, 1, 0600)) < 0 ||
		    semop(id, &up, 1) < 0)
			fail("a semaphore set");
	} else if (!strcmp(what, "ipcns")) {
		if (unshare(CLONE_NEWIPC) < 0)
			fail("unshare");
		write_file("/proc/sys/kernel/msgmax", "12345");
	} else if (!strcmp(what, "tcpopt")) {
		int one = 1;
		move_to(socket(AF_INET, SOCK_STREAM, 0), 70);
		if (setsockopt(70, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			fail("TCP_NODELAY");
	} else if (!strcmp(what, "overrun")) {
		overrun_setup();
	} else if (!strcmp(what, "sigevthread")) {
		sigev_thread_setup();
	} else if (!strcmp(what, "opath")) {
		move_to(open("/tmp", O_PATH), 70);
	} else if (!strcmp(what, "epollgone")) {
		struct epoll_event ev = { .events = EPOLLIN };
		if (pipe(p) < 0)
			fail("pipe");
		move_to(epoll_create1(0), 71);
		move_to(p[0], 72);
		if (epoll_ctl(71, EPOLL_CTL_ADD, 72, &ev) < 0)
			fail("epoll_ctl");
		move_to(72, 73);
	} else if (!strcmp(what, "unixpeer")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0 || close(p[1]) < 0)
			fail("socketpair");
		move_to(p[0], 70);
	} else {
		fprintf(stderr, "uncarried: what: sem, ipcns, tcpopt, overrun, sigevthread, opath, "
				"epollgone or unixpeer\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc > 3 ? 3 : argc, argv, 20, 20);
	setup(argc > 3 ? argv[3] : "");
	uint32_t sum = 0;
	for (long i = 0; i < a.steps; i++) {
		sum = workload_hash(sum, &i, sizeof(i));
		printf("uncarried step %ld checksum %08x\n", i, sum);
		workload_sleep_ms(a.interval_ms);
	}
	printf("uncarried done %ld steps checksum %08x\n", a.steps, sum);
	return 0;
}
