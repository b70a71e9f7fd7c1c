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
 *   overrun2:   POSIX timers 0 and 1 on CLOCK_MONOTONIC, both signalling
 *               SIGRTMIN every 500 ms, each armed 1.75 s in the past: an
 *               overrun of 3 on each, on one signal (restore re-counts
 *               one timer per signal);
 *   uffd:       an anonymous mapping registered with a userfaultfd
 *               (missing-page mode) and never touched, the fd held by a
 *               grandchild only;
 *   child:      a child process, asleep until this one ends: restored
 *               without it, this one's wait() would fail with ECHILD;
 *   opath:      an O_PATH fd (70) of /tmp (opath_file);
 *   epollgone:  an epoll fd (71) watching a pipe it was given as fd 72,
 *               since moved to fd 73 (zdtm's epoll);
 *   unixpeer:   a stream socketpair's end (70) whose peer was closed
 *               (socket_close_data);
 *   ping:       an ICMP echo socket (fd 70; socket_icmp);
 *   ping6:      an ICMPv6 echo socket (fd 70; socket6_icmp);
 *   tcpclosed:  a TCP socket (fd 70) whose connection its peer reset
 *               (state CLOSE; socket-tcp-close2);
 *   thloginuid: a second thread that set its own audit login uid (through
 *               /proc/thread-self/loginuid), unlike the leader's (needs
 *               root and CONFIG_AUDIT).
 * (sock_opts02's buffer locks and a set audit login uid are carried now:
 * kobj's unix, inet and creds.)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

/* n timers on clock, signalling SIGRTMIN every period_ns, each armed
 * 3.5 periods in the past: taking their signals counts an overrun of 3 on
 * each (timer_getoverrun). The signal stays blocked afterwards, so the
 * counts stay what they are until the checkpoint. */
static void overrun_setup(clockid_t clock, int n, long period_ns)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN);
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN };
	int id[2] = { -1, -1 };
	struct timespec now, wait = { 5, 0 };
	if (n > 2 || sigprocmask(SIG_BLOCK, &m, NULL) < 0)
		fail("timer_create");
	for (int i = 0; i < n; i++)
		if (syscall(SYS_timer_create, clock, &ev, &id[i]) < 0)
			fail("timer_create");
	if (clock_gettime(clock, &now) < 0)
		fail("clock_gettime");
	int64_t at = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - period_ns * 7 / 2;
	struct itimerspec late = { { period_ns / 1000000000, period_ns % 1000000000 },
				   { at / 1000000000, at % 1000000000 } };
	for (int i = 0; i < n; i++)
		if (syscall(SYS_timer_settime, id[i], TIMER_ABSTIME, &late, NULL) < 0)
			fail("timer_settime");
	/* one signal each, queued in the order they fired */
	for (int i = 0; i < n; i++)
		if (sigtimedwait(&m, NULL, &wait) != SIGRTMIN)
			fail("a timer's signal");
	for (int i = 0; i < n; i++)
		if (syscall(SYS_timer_getoverrun, id[i]) != 3)
			fail("an overrun of 3");
}

/* an untouched anonymous mapping registered with a userfaultfd: touching
 * it would wait for a fault handler nobody runs */
static void uffd_setup(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	/* the host's native run the test compares with may forbid it (a
	 * container's seccomp): there it only counts; in the guest the
	 * checkpoint's refusal shows the registration happened */
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		return;
	void *at = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			0);
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) < 0 || at == MAP_FAILED)
		fail("userfaultfd");
	struct uffdio_register reg = { .range = { (uint64_t)(uintptr_t)at, 16 * 4096 },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0)
		fail("UFFDIO_REGISTER");
	/* The fd is another process's, as a fault handler's would be: a
	 * grandchild keeps it (the registration lasts while the file does)
	 * until this process ends; this one closes its own, so that the
	 * mapping, not the fd, is what the checkpoint finds. Not a child: a
	 * process with children is refused for that first. */
	pid_t parent = getpid(), child = fork();
	int status;
	if (child < 0)
		fail("fork");
	if (child == 0) {
		if (fork() != 0)
			_exit(0); /* the grandchild goes on, its parent's reaped */
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		while (kill(parent, 0) == 0)
			usleep(100 * 1000);
		_exit(0);
	}
	if (waitpid(child, &status, 0) != child)
		fail("waitpid");
	if (close(fd) < 0)
		fail("close");
}

/* a child that sleeps until this process ends (its parent-death signal) */
static void child_setup(void)
{
	pid_t parent = getpid(), child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() == parent)
			pause();
		_exit(0);
	}
}

/* fd 70: a TCP client over loopback whose peer closed with a reset
 * (SO_LINGER 0), so that it is in CLOSE with ECONNRESET pending. */
static void tcp_closed_setup(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct linger now = { .l_onoff = 1, .l_linger = 0 };
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;
	if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0 ||
	    connect(c, (struct sockaddr *)&a, sizeof(a)) < 0 || (s = accept(l, NULL, NULL)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_LINGER, &now, sizeof(now)) < 0 || close(s) < 0 ||
	    close(l) < 0)
		fail("a reset TCP connection");
	move_to(c, 70);
	workload_sleep_ms(100); /* the reset crosses loopback */
}

/* a thread of its own audit login uid; tells `done` once it has one */
static void *loginuid_thread(void *done)
{
	write_file("/proc/thread-self/loginuid", "1000");
	if (write(*(int *)done, "x", 1) != 1)
		fail("write");
	for (;;)
		pause();
	return NULL;
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
		overrun_setup(CLOCK_REALTIME, 1, 100000000);
	} else if (!strcmp(what, "overrun2")) {
		overrun_setup(CLOCK_MONOTONIC, 2, 500000000);
	} else if (!strcmp(what, "uffd")) {
		uffd_setup();
	} else if (!strcmp(what, "child")) {
		child_setup();
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
	} else if (!strcmp(what, "ping")) {
		/* no group may make ping sockets by default, root's included */
		write_file("/proc/sys/net/ipv4/ping_group_range", "0 0");
		move_to(socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), 70);
	} else if (!strcmp(what, "ping6")) {
		write_file("/proc/sys/net/ipv4/ping_group_range", "0 0"); /* IPv6's too */
		move_to(socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6), 70);
	} else if (!strcmp(what, "tcpclosed")) {
		tcp_closed_setup();
	} else if (!strcmp(what, "thloginuid")) {
		static int done[2];
		pthread_t t;
		char c;
		if (pipe(done) < 0 || pthread_create(&t, NULL, loginuid_thread, &done[1]) != 0 ||
		    read(done[0], &c, 1) != 1)
			fail("a thread with a login uid of its own");
	} else {
		fprintf(stderr,
			"uncarried: what: sem, ipcns, tcpopt, overrun, overrun2, uffd, child, "
			"opath, epollgone, unixpeer, ping, ping6, tcpclosed or thloginuid\n");
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
