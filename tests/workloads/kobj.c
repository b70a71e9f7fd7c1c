/* SPDX-License-Identifier: MIT */
/*
 * kobj [steps] [interval_ms]: the kernel objects a process holds besides
 * memory and regular files, one kind per binary: built as kobj-<kind>
 * (kobj-pipes-x86_64...), the kind taken from the program's name so the
 * tests run each like any other workload. Every step checks the objects'
 * state as the kernel reports it and prints what it read, so a restore
 * that lost or changed anything prints something else (or FAILED).
 *   pipes:   one pipe with a dup'd end (sharing flags) and both ends
 *            opened again through /proc/self/fd (files of their own, with
 *            their own O_NONBLOCK) and once O_RDWR; always unread bytes;
 *            grown to 1 MiB (F_SETPIPE_SZ, zdtm's pipe03), and a second
 *            pipe (16, 17) shrunk to one page.
 *   fifo:    a named FIFO in /tmp, a non-blocking reader and a blocking
 *            writer, unread bytes in it; a second FIFO open for reading
 *            only (no writer: reads see end of file) - zdtm's fifo and
 *            fifo_ro. Both must still be FIFOs at their paths, with
 *            their mode and owner (uid 1234, gid 4321). And named things
 *            whose name has gone: a directory removed while open (fd 23,
 *            zdtm's rmdir_open), a device node (1:3, /dev/null's)
 *            unlinked while open (fd 24, deleted_dev; needs root), each
 *            with its mode and that owner.
 *   eventfd: a non-blocking counter and a blocking EFD_SEMAPHORE one,
 *            their counts carried across steps.
 *   epoll:   an epoll fd watching an eventfd (level-triggered), a pipe's
 *            read end (edge-triggered) and write end, and a one-shot
 *            eventfd; each step changes some of them and prints what
 *            epoll_wait reports. A second epoll (48) holds a one-shot
 *            item on a pipe (46) that fired at the start and whose
 *            writer is gone since: disarmed, it must stay silent,
 *            never reporting the hang-up.
 *   timerfd: CLOCK_MONOTONIC armed an hour ahead with an hour's period;
 *            a one-shot that expired at the start and is read only at the
 *            end (its count must be 1, then 0); a CLOCK_BOOTTIME one
 *            firing every 20 ms that each step waits for; an absolute
 *            CLOCK_REALTIME one a day ahead; one never armed. Each step
 *            checks their clocks (fdinfo), times and readiness.
 *   signalfd: SIGUSR1 and SIGUSR2 blocked and read through a non-blocking
 *            signalfd: each step reads the signal the previous one raised
 *            (pending across the checkpoint) and raises the next.
 *   locks:   a /tmp file locked every way: flock LOCK_EX (fd 70, with a
 *            dup at 74), an OFD write lock on bytes 0-9 (fd 71), POSIX
 *            read and write locks (fds 72 and 73, bytes 100-199 and 300
 *            to the end); each step probes them from another open file
 *            (fd 75, F_OFD_GETLK and flock LOCK_NB, never closed: closing
 *            an fd of the file would drop the POSIX locks).
 *   unix:    socketpairs: a stream one (fds 80 non-blocking, 81) with
 *            unread bytes both ways; a datagram one (82, 83) with unread
 *            messages of differing lengths (boundaries must stay); a
 *            seqpacket one (84, 85) whose 84 is shut for writing with one
 *            record unread at 85; a lone unbound datagram socket (86);
 *            four stream pairs at the lowest fds (3-10), every other one
 *            with its ends swapped, so that one end restore makes first
 *            has, most likely, the number the other was given (zdtm's
 *            sockets01 lost an end that way). 80's send buffer size is set
 *            (locked), 83's receive size set then unlocked (SO_BUF_LOCK 0),
 *            86's send size locked at its default (SO_BUF_LOCK 1): each
 *            step checks every size and lock is what it was at setup.
 *   creds:   started as root, sets its audit login uid to 1001 and then
 *            1000 (zdtm's loginuid; two new session ids), becomes uids
 *            2000/2001/2002, gids 1000/1001/1002, groups 100 and 200,
 *            keeping CAP_KILL (permitted, inheritable, ambient) and
 *            CAP_NET_BIND_SERVICE (effective, permitted), CAP_SYS_MODULE
 *            dropped from the bounding set; each step prints what the kernel says of them
 *            and checks the login uid and session id are as they were (the
 *            session id only there: an uninterrupted run has another).
 *   inet:    a TCP socket listening on an ephemeral port of 0.0.0.0 with
 *            SO_REUSEADDR (fd 90, non-blocking), a UDP socket on one of
 *            [::] with IPV6_V6ONLY (91), a fresh unbound TCP socket (92), a
 *            UDP socket on 0.0.0.0 with SO_REUSEPORT (93), UDP sockets on
 *            addresses no interface has, bound with IP_FREEBIND: one on
 *            [2001:db8::1] keeping it (94), one on 192.0.2.1 that cleared
 *            it since (95; zdtm's sk-freebind and -false); UDP sockets
 *            bound plainly to 127.0.0.2 (96) and [::1] (97); 93 with
 *            IP_TRANSPARENT, 97 with IPV6_TRANSPARENT; 90 with both
 *            buffer sizes set, 91 with its send size set then unlocked, 93
 *            with its receive size locked at its default (sock_opts02):
 *            each step checks they are bound to the same addresses and
 *            ports, listening, with their options and buffers as at setup,
 *            and have nothing to accept or read.
 *   ptimers: POSIX timers with ids 0, 2, 3, 4 (1 deleted): 0 on
 *            CLOCK_MONOTONIC an hour ahead with an hour's period, signal
 *            SIGRTMIN blocked; 2 on CLOCK_REALTIME with SIGEV_NONE, never
 *            armed; 3 on CLOCK_BOOTTIME every 20 ms with SIGRTMIN+1 and a
 *            value, which each step waits for and checks (its timer id,
 *            its value); 4 on CLOCK_MONOTONIC every 2 s with SIGRTMIN+2
 *            (never taken again), whose overrun count is 3.
 *   thtimer: a POSIX timer (SIGEV_THREAD_ID, as glibc's SIGEV_THREAD
 *            makes them) signalling a second thread every 10 ms, which
 *            takes the signal with sigwaitinfo; and timer 1, glibc's own
 *            SIGEV_THREAD (its helper thread takes signal 32, glibc's
 *            SIGCANCEL, which kills a thread not blocking it: zdtm's
 *            pthread_timers died so after a restore), whose function
 *            counts calls; each step waits for both to count one more,
 *            and checks the main thread has none pending.
 *   sockopt: a socketpair (70, 71) whose end 70 has SO_LINGER set, which
 *            restore does not set again: its checkpoint must be refused,
 *            naming it (zdtm's socket-linger came back without it).
 *   inotify: an inotify fd (60, non-blocking) watching a directory in /tmp
 *            for IN_CREATE | IN_DELETE (wd 1) and a file in it for
 *            IN_MODIFY (wd 3: wd 2 was removed); each step makes, writes
 *            and removes files there and prints the events read back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/eventfd.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/file.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/timerfd.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "workload.h"

static long step = -1;

static int fail(const char *what)
{
	printf("kobj FAILED at step %ld: %s (errno %d)\n", step, what, errno);
	exit(1);
}

/* fd `to` becomes fd (closed) */
static void move_to(int fd, int to)
{
	if (fd < 0 || dup2(fd, to) != to || close(fd) < 0)
		fail("setting up an fd");
}

static int nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		fail("F_GETFL");
	return !!(fl & O_NONBLOCK);
}

static int reopen(int fd, int flags)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags);
}

/* ---- pipes: fds 10 read, 11 write (O_NONBLOCK), 12 dup of 11, 13 write
 * reopened (blocking), 14 read reopened (O_NONBLOCK), 15 reopened O_RDWR */
static void pipes_setup(void)
{
	int p[2];
	if (pipe(p) < 0)
		fail("pipe");
	move_to(p[0], 10);
	move_to(p[1], 11);
	if (dup2(11, 12) != 12)
		fail("dup");
	move_to(reopen(11, O_WRONLY), 13);
	move_to(reopen(10, O_RDONLY), 14);
	move_to(reopen(10, O_RDWR), 15);
	if (fcntl(11, F_SETFL, O_NONBLOCK) < 0 || fcntl(14, F_SETFL, O_NONBLOCK) < 0)
		fail("F_SETFL");
	if (write(11, "pipes", 5) != 5)
		fail("prefill");
	int q[2];
	if (fcntl(10, F_SETPIPE_SZ, 1 << 20) < 0 || pipe(q) < 0)
		fail("F_SETPIPE_SZ");
	move_to(q[0], 16);
	move_to(q[1], 17);
	if (fcntl(17, F_SETPIPE_SZ, 4096) < 0)
		fail("F_SETPIPE_SZ");
}

static void pipes_step(char *line, size_t cap)
{
	char flags[7];
	for (int fd = 10; fd <= 15; fd++)
		flags[fd - 10] = nonblocking(fd) ? 'n' : 'b';
	flags[6] = 0;
	if (strcmp(flags, "bnnbnb"))
		fail("O_NONBLOCK of the pipe's fds");
	if ((fcntl(15, F_GETFL) & O_ACCMODE) != O_RDWR ||
	    (fcntl(13, F_GETFL) & O_ACCMODE) != O_WRONLY)
		fail("access modes");
	char in = (char)('a' + step % 26), out;
	if (write(step % 2 ? 13 : 12, &in, 1) != 1 || read(14, &out, 1) != 1)
		fail("pipe bytes");
	/* every step's byte goes in before the oldest comes out: 5 unread */
	int n = 0;
	if (ioctl(10, FIONREAD, &n) < 0 || n != 5)
		fail("unread byte count");
	if (fcntl(13, F_GETPIPE_SZ) != 1 << 20 || fcntl(16, F_GETPIPE_SZ) != 4096)
		fail("the pipes' capacities (F_GETPIPE_SZ)");
	snprintf(line, cap, "flags %s read '%c'", flags, out);
}

/* ---- fifo: fds 20 read (O_NONBLOCK), 21 write, of one FIFO; 22 read of
 * another that has no writer */
static char fifo_path[2][64];
/* not root's: a FIFO restore makes (checkpoint --no-fs) must get them */
#define FIFO_UID 1234
#define FIFO_GID 4321

static void fifo_setup(void)
{
	for (int i = 0; i < 2; i++) {
		snprintf(fifo_path[i], sizeof(fifo_path[i]), "/tmp/snapvm-kobj-%d.fifo%d",
			 (int)getpid(), i);
		unlink(fifo_path[i]);
		if (mkfifo(fifo_path[i], 0640) < 0 || chown(fifo_path[i], FIFO_UID, FIFO_GID) < 0)
			fail("mkfifo");
	}
	move_to(open(fifo_path[0], O_RDONLY | O_NONBLOCK), 20);
	move_to(open(fifo_path[0], O_WRONLY), 21);
	move_to(open(fifo_path[1], O_RDONLY | O_NONBLOCK), 22);
	if (write(21, "fifo", 4) != 4)
		fail("prefill");
	char gone[64];
	snprintf(gone, sizeof(gone), "/tmp/snapvm-kobj-%d.gone", (int)getpid());
	if (mkdir(gone, 0751) < 0 || chown(gone, FIFO_UID, FIFO_GID) < 0)
		fail("mkdir");
	move_to(open(gone, O_RDONLY | O_DIRECTORY), 23);
	if (rmdir(gone) < 0 || mknod(gone, S_IFCHR | 0620, makedev(1, 3)) < 0 ||
	    chmod(gone, 0620) < 0 || chown(gone, FIFO_UID, FIFO_GID) < 0)
		fail("mknod");
	move_to(open(gone, O_RDWR), 24);
	if (unlink(gone) < 0)
		fail("unlink");
}

/* fd's inode: of type, mode, that owner, no name left */
static void gone_check(int fd, mode_t type, mode_t mode, dev_t rdev)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != type || (st.st_mode & 07777) != mode ||
	    st.st_uid != FIFO_UID || st.st_gid != FIFO_GID || st.st_nlink != 0 ||
	    st.st_rdev != rdev)
		fail("a removed directory or device node");
}

static void fifo_check(int fd, const char *path, mode_t mode)
{
	struct stat a, b;
	if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || !S_ISFIFO(a.st_mode) ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		fail("the FIFO open is not the one at its path");
	if ((b.st_mode & 07777) != mode)
		fail("the FIFO's mode");
	if (b.st_uid != FIFO_UID || b.st_gid != FIFO_GID)
		fail("the FIFO's owner");
}

static void fifo_step(char *line, size_t cap)
{
	fifo_check(20, fifo_path[0], 0640);
	fifo_check(21, fifo_path[0], 0640);
	fifo_check(22, fifo_path[1], 0640);
	if (!nonblocking(20) || nonblocking(21) || !nonblocking(22))
		fail("O_NONBLOCK of the FIFOs' fds");
	char in = (char)('A' + step % 26), out, none;
	if (write(21, &in, 1) != 1 || read(20, &out, 1) != 1)
		fail("FIFO bytes");
	/* no writer: end of file, not EAGAIN */
	if (read(22, &none, 1) != 0)
		fail("the write-less FIFO does not read as end of file");
	gone_check(23, S_IFDIR, 0751, 0);
	gone_check(24, S_IFCHR, 0620, makedev(1, 3));
	if (write(24, "x", 1) != 1 || read(24, &none, 1) != 0)
		fail("the unlinked /dev/null node");
	snprintf(line, cap, "read '%c'", out);
}

static void fifo_done(void)
{
	unlink(fifo_path[0]);
	unlink(fifo_path[1]);
}

/* ---- eventfd: fd 30 counter (EFD_NONBLOCK), fd 31 semaphore */
static void eventfd_setup(void)
{
	move_to(eventfd(5, EFD_NONBLOCK), 30);
	move_to(eventfd(0, EFD_SEMAPHORE), 31);
}

static void eventfd_step(char *line, size_t cap)
{
	if (!nonblocking(30) || nonblocking(31))
		fail("O_NONBLOCK of the eventfds");
	uint64_t count, sem, add = (uint64_t)step + 3, two = 2;
	if (read(30, &count, 8) != 8)
		fail("reading the counter");
	/* each step leaves a count behind for the next to read, and one
	 * more in the semaphore than it takes */
	if (write(30, &add, 8) != 8 || write(31, &two, 8) != 8 || read(31, &sem, 8) != 8)
		fail("eventfd writes");
	if (sem != 1)
		fail("the semaphore read more than 1");
	snprintf(line, cap, "counter %llu semaphore read %llu", (unsigned long long)count,
		 (unsigned long long)sem);
}

/* the semaphore's count: one per step */
static void eventfd_done(void)
{
	uint64_t one;
	long n = 0;
	if (fcntl(31, F_SETFL, O_NONBLOCK) < 0)
		fail("F_SETFL");
	while (read(31, &one, 8) == 8)
		n++;
	if (n != step)
		fail("the semaphore's count");
}

/* ---- epoll: fd 40 epoll; 41 eventfd (EPOLLIN, level), 42/43 a pipe's
 * read end (EPOLLIN | EPOLLET) and write end (EPOLLOUT), 44 eventfd
 * (EPOLLIN | EPOLLONESHOT), 45 a second epoll watching 41; 48 an epoll
 * whose one-shot item on pipe end 46 has fired (writer 47 closed) */
static void epoll_setup(void)
{
	int p[2];
	move_to(epoll_create1(0), 40);
	move_to(eventfd(0, EFD_NONBLOCK), 41);
	if (pipe2(p, O_NONBLOCK) < 0)
		fail("pipe");
	move_to(p[0], 42);
	move_to(p[1], 43);
	move_to(eventfd(1, EFD_NONBLOCK), 44);
	move_to(epoll_create1(EPOLL_CLOEXEC), 45);
	struct {
		int ep, fd;
		uint32_t events;
		uint64_t data;
	} add[] = {
		{ 40, 41, EPOLLIN, 0x4141 },
		{ 40, 42, EPOLLIN | EPOLLET, 0x4242 },
		{ 40, 43, EPOLLOUT, 0x4343 },
		{ 40, 44, EPOLLIN | EPOLLONESHOT, 0x4444 },
		{ 45, 41, EPOLLIN | EPOLLOUT, 0x4545 },
		{ 40, 45, EPOLLIN, 0x4646 },
	};
	for (size_t i = 0; i < sizeof(add) / sizeof(add[0]); i++) {
		struct epoll_event ev = { .events = add[i].events, .data.u64 = add[i].data };
		if (epoll_ctl(add[i].ep, EPOLL_CTL_ADD, add[i].fd, &ev) < 0)
			fail("epoll_ctl");
	}
	move_to(epoll_create1(0), 48);
	if (pipe(p) < 0)
		fail("pipe");
	move_to(p[0], 46);
	struct epoll_event once = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 0x4848 };
	if (write(p[1], "o", 1) != 1 || epoll_ctl(48, EPOLL_CTL_ADD, 46, &once) < 0 ||
	    epoll_wait(48, &once, 1, 0) != 1 || close(p[1]) < 0)
		fail("the one-shot item");
}

static int by_data(const void *a, const void *b)
{
	const struct epoll_event *x = a, *y = b;
	return (x->data.u64 > y->data.u64) - (x->data.u64 < y->data.u64);
}

static void epoll_step(char *line, size_t cap)
{
	uint64_t one = 1, v;
	/* the eventfd is readable on even steps; the pipe gets a byte
	 * every third step (edge-triggered: reported once per byte) */
	if (step % 2 == 0 ? write(41, &one, 8) != 8 : read(41, &v, 8) != 8)
		fail("eventfd");
	if (step % 3 == 0 && write(43, "e", 1) != 1)
		fail("pipe");
	struct epoll_event ev[8];
	int n = epoll_wait(40, ev, 8, 0);
	if (n < 0)
		fail("epoll_wait");
	qsort(ev, (size_t)n, sizeof(ev[0]), by_data);
	size_t at = (size_t)snprintf(line, cap, "ready");
	for (int i = 0; i < n && at < cap; i++)
		at += (size_t)snprintf(line + at, cap - at, " %llx:%x",
				       (unsigned long long)ev[i].data.u64, ev[i].events);
	struct epoll_event inner[2];
	n = epoll_wait(45, inner, 2, 0);
	if (n < 0)
		fail("epoll_wait (inner)");
	if (at < cap)
		at += (size_t)snprintf(line + at, cap - at, " inner %d", n);
	n = epoll_wait(48, inner, 2, 0);
	if (n < 0)
		fail("epoll_wait (one-shot)");
	if (at < cap)
		snprintf(line + at, cap - at, " fired one-shot %d", n);
}

/* ---- timerfd: fds 50-54 */
#define HOUR 3600
static struct timespec real_deadline;

static long clock_of(int fd)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	long id = -1;
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "clockid: %ld", &id) == 1)
			break;
	if (f)
		fclose(f);
	return id;
}

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void timerfd_setup(void)
{
	move_to(timerfd_create(CLOCK_MONOTONIC, 0), 50);
	move_to(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), 51);
	move_to(timerfd_create(CLOCK_BOOTTIME, 0), 52);
	move_to(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK), 53);
	move_to(timerfd_create(CLOCK_MONOTONIC, 0), 54);
	struct itimerspec hour = { { HOUR, 0 }, { HOUR, 0 } }, once = { { 0, 0 }, { 0, 1000 } },
			  tick = { { 0, 20000000 }, { 0, 20000000 } };
	clock_gettime(CLOCK_REALTIME, &real_deadline);
	real_deadline.tv_sec += 24 * HOUR;
	struct itimerspec day = { { 0, 0 }, real_deadline };
	if (timerfd_settime(50, 0, &hour, NULL) < 0 || timerfd_settime(51, 0, &once, NULL) < 0 ||
	    timerfd_settime(52, 0, &tick, NULL) < 0 ||
	    timerfd_settime(53, TFD_TIMER_ABSTIME, &day, NULL) < 0)
		fail("timerfd_settime");
	while (!readable(51))
		workload_sleep_ms(1);
}

static void timerfd_step(char *line, size_t cap)
{
	static const long clocks[] = { CLOCK_MONOTONIC, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
				       CLOCK_REALTIME, CLOCK_MONOTONIC };
	for (int fd = 50; fd <= 54; fd++)
		if (clock_of(fd) != clocks[fd - 50])
			fail("a timerfd's clock");
	if (nonblocking(50) || !nonblocking(51) || nonblocking(52) || !nonblocking(53))
		fail("O_NONBLOCK of the timerfds");
	struct itimerspec t;
	if (timerfd_gettime(50, &t) < 0 || t.it_interval.tv_sec != HOUR ||
	    t.it_interval.tv_nsec != 0 ||
	    (t.it_value.tv_sec == HOUR ? t.it_value.tv_nsec > 0 : t.it_value.tv_sec > HOUR) ||
	    t.it_value.tv_sec < HOUR - 600)
		fail("the hour timer");
	if (timerfd_gettime(51, &t) < 0 || t.it_value.tv_sec || t.it_value.tv_nsec || !readable(51))
		fail("the expired one-shot");
	uint64_t ticks;
	if (read(52, &ticks, 8) != 8 || ticks < 1)
		fail("the 20 ms timer");
	if (timerfd_gettime(52, &t) < 0 || t.it_interval.tv_nsec != 20000000)
		fail("the 20 ms timer's interval");
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (timerfd_gettime(53, &t) < 0 || t.it_value.tv_sec > real_deadline.tv_sec - now.tv_sec ||
	    t.it_value.tv_sec < real_deadline.tv_sec - now.tv_sec - 2 || readable(53))
		fail("the wall-clock deadline");
	if (timerfd_gettime(54, &t) < 0 || t.it_value.tv_sec || t.it_value.tv_nsec ||
	    t.it_interval.tv_sec || readable(54))
		fail("the disarmed timer");
	snprintf(line, cap, "hour armed, one-shot unread, 20 ms fired, deadline set, idle");
}

static void timerfd_done(void)
{
	uint64_t ticks;
	if (read(51, &ticks, 8) != 8 || ticks != 1 || read(51, &ticks, 8) != -1 || errno != EAGAIN)
		fail("the one-shot's count");
}

/* ---- signalfd: fd 60 */
static void signalfd_setup(void)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &m, NULL) < 0)
		fail("sigprocmask");
	move_to(signalfd(-1, &m, SFD_NONBLOCK), 60);
}

static void signalfd_step(char *line, size_t cap)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", 60);
	FILE *f = fopen(path, "r");
	unsigned long long mask = 0;
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "sigmask: %llx", &mask) == 1)
			break;
	if (f)
		fclose(f);
	if (mask != (1ull << (SIGUSR1 - 1) | 1ull << (SIGUSR2 - 1)) || !nonblocking(60))
		fail("the signalfd's mask or flags");
	struct signalfd_siginfo si;
	ssize_t n = read(60, &si, sizeof(si));
	if (step == 0 ? n != -1 || errno != EAGAIN : n != sizeof(si))
		fail("reading the signalfd");
	int next = step % 2 ? SIGUSR2 : SIGUSR1;
	if (raise(next) < 0)
		fail("raise");
	snprintf(line, cap, "read %s",
		 step == 0		   ? "nothing"
		 : si.ssi_signo == SIGUSR1 ? "SIGUSR1"
		 : si.ssi_signo == SIGUSR2 ? "SIGUSR2"
					   : "another signal");
}

/* ---- locks: fds 70-75 */
static char lock_path[64];

static void lock_setup(void)
{
	snprintf(lock_path, sizeof(lock_path), "/tmp/snapvm-kobj-%d.lock", (int)getpid());
	int fd = open(lock_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		fail("lock file");
	move_to(fd, 70);
	move_to(open(lock_path, O_RDWR), 71);
	move_to(open(lock_path, O_RDONLY), 72);
	move_to(open(lock_path, O_RDWR), 73);
	if (dup2(70, 74) != 74)
		fail("dup");
	move_to(open(lock_path, O_RDWR), 75);
	struct flock ofd = { .l_type = F_WRLCK, .l_start = 0, .l_len = 10 };
	struct flock rd = { .l_type = F_RDLCK, .l_start = 100, .l_len = 100 };
	struct flock wr = { .l_type = F_WRLCK, .l_start = 300, .l_len = 0 };
	if (flock(70, LOCK_EX | LOCK_NB) < 0 || fcntl(71, F_OFD_SETLK, &ofd) < 0 ||
	    fcntl(72, F_SETLK, &rd) < 0 || fcntl(73, F_SETLK, &wr) < 0)
		fail("taking the locks");
}

/* What another open file sees over [start, start+len) when it asks for
 * type: 'U' free, else 'R'/'W' and whose ('o' an OFD lock, 'p' this
 * process's POSIX lock) with the range, into out. */
static void probe(int type, off_t start, off_t len, char *out, size_t cap)
{
	struct flock q = { .l_type = (short)type, .l_start = start, .l_len = len };
	if (fcntl(75, F_OFD_GETLK, &q) < 0)
		fail("F_OFD_GETLK");
	if (q.l_type == F_UNLCK) {
		snprintf(out, cap, "U");
		return;
	}
	if (q.l_pid != -1 && q.l_pid != getpid())
		fail("a lock held by another process");
	snprintf(out, cap, "%c%c[%lld+%lld]", q.l_type == F_WRLCK ? 'W' : 'R',
		 q.l_pid == -1 ? 'o' : 'p', (long long)q.l_start, (long long)q.l_len);
}

static void lock_step(char *line, size_t cap)
{
	if (flock(75, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		fail("the flock lock is gone");
	char a[48], b[48], c[48], d[48], e[48];
	probe(F_WRLCK, 0, 10, a, sizeof(a));
	probe(F_WRLCK, 100, 100, b, sizeof(b));
	probe(F_RDLCK, 100, 100, c, sizeof(c));
	probe(F_RDLCK, 300, 100, d, sizeof(d));
	probe(F_WRLCK, 20, 10, e, sizeof(e));
	struct stat st;
	if (fstat(70, &st) < 0 || st.st_size != 4096)
		fail("the lock file");
	snprintf(line, cap, "flock held, probes %s %s %s %s %s", a, b, c, d, e);
}

static void lock_done(void)
{
	unlink(lock_path);
}

/* ---- socket buffers (unix, inet): each socket's sizes and SO_BUF_LOCK
 * bits, read at setup and compared at each step */
#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72 /* Linux 5.14; older libc headers lack it */
#endif
struct bufs {
	int snd, rcv, lock;
};

static int sol_socket(int fd, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, name, &v, &len) < 0)
		fail("getsockopt SOL_SOCKET");
	return v;
}

static void bufs_read(int first, int n, struct bufs *out)
{
	for (int i = 0; i < n; i++)
		out[i] = (struct bufs){ sol_socket(first + i, SO_SNDBUF),
					sol_socket(first + i, SO_RCVBUF),
					sol_socket(first + i, SO_BUF_LOCK) };
}

static void bufs_same(int first, int n, const struct bufs *was)
{
	struct bufs now[8];
	bufs_read(first, n, now);
	for (int i = 0; i < n; i++)
		if (now[i].snd != was[i].snd || now[i].rcv != was[i].rcv ||
		    now[i].lock != was[i].lock) {
			printf("kobj: fd %d's buffers are %d/%d lock %d, were %d/%d lock %d\n",
			       first + i, now[i].snd, now[i].rcv, now[i].lock, was[i].snd,
			       was[i].rcv, was[i].lock);
			fail("socket buffer sizes or SO_BUF_LOCK");
		}
}

static void set_int(int fd, int name, int v)
{
	if (setsockopt(fd, SOL_SOCKET, name, &v, sizeof(v)) < 0)
		fail("setsockopt SOL_SOCKET");
}

/* ---- unix: fds 80-86 */
static struct bufs unix_bufs[7];

static void unix_setup(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		fail("socketpair stream");
	move_to(sv[0], 80);
	move_to(sv[1], 81);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
		fail("socketpair dgram");
	move_to(sv[0], 82);
	move_to(sv[1], 83);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		fail("socketpair seqpacket");
	move_to(sv[0], 84);
	move_to(sv[1], 85);
	move_to(socket(AF_UNIX, SOCK_DGRAM, 0), 86);
	for (int i = 0; i < 4; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			fail("socketpair low");
		move_to(sv[i & 1], 100 + 2 * i);
		move_to(sv[!(i & 1)], 101 + 2 * i);
	}
	for (int fd = 100; fd < 108; fd++)
		move_to(fd, fd - 97);
	if (fcntl(80, F_SETFL, O_NONBLOCK) < 0 || write(80, "unix", 4) != 4 ||
	    write(81, "r", 1) != 1 || send(82, "one", 3, 0) != 3 || send(82, "three", 5, 0) != 5 ||
	    send(84, "last", 4, 0) != 4 || shutdown(84, SHUT_WR) < 0)
		fail("unix setup");
	/* a send size of its own (locked), a receive size set then unlocked,
	 * a send size locked at its default (sock_opts02) */
	set_int(80, SO_SNDBUF, 40000);
	set_int(83, SO_RCVBUF, 20000);
	set_int(83, SO_BUF_LOCK, 0);
	set_int(86, SO_BUF_LOCK, 1);
	bufs_read(80, 7, unix_bufs);
	if (unix_bufs[0].lock != 1 || unix_bufs[3].lock != 0 || unix_bufs[6].lock != 1)
		fail("unix setup: SO_BUF_LOCK");
}

static void unix_step(char *line, size_t cap)
{
	int n80 = -1, n81 = -1, type = 0;
	socklen_t len = sizeof(type);
	if (!nonblocking(80) || nonblocking(81) ||
	    getsockopt(86, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_DGRAM)
		fail("flags or socket type");
	if (ioctl(80, FIONREAD, &n80) < 0 || ioctl(81, FIONREAD, &n81) < 0 || n80 != 1 || n81 != 4)
		fail("unread stream bytes");
	/* one byte in each way, the oldest out */
	char in = (char)('a' + step % 26), back = (char)('A' + step % 26), got, got_back;
	if (write(80, &in, 1) != 1 || read(81, &got, 1) != 1 || write(81, &back, 1) != 1 ||
	    read(80, &got_back, 1) != 1)
		fail("stream bytes");
	/* datagrams keep their lengths: two are always queued */
	char msg[16] = "0123456789", dg[16];
	if (send(82, msg, (size_t)(step % 7 + 1), 0) != step % 7 + 1)
		fail("send datagram");
	ssize_t dn = recv(83, dg, sizeof(dg), 0);
	if (dn <= 0)
		fail("recv datagram");
	/* the record sent before the shutdown waits; the other way works */
	char rec[8];
	if (recv(85, rec, sizeof(rec), MSG_PEEK | MSG_DONTWAIT) != 4 || memcmp(rec, "last", 4))
		fail("the seqpacket record");
	if (send(84, "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		fail("the seqpacket's shutdown");
	if (send(85, "y", 1, 0) != 1 || recv(84, rec, sizeof(rec), 0) != 1 || rec[0] != 'y')
		fail("the seqpacket's other way");
	/* the low pairs: still each other's peer */
	for (int fd = 3; fd < 11; fd += 2) {
		char c;
		if (write(fd, "l", 1) != 1 || read(fd + 1, &c, 1) != 1 || c != 'l' ||
		    write(fd + 1, "h", 1) != 1 || read(fd, &c, 1) != 1 || c != 'h')
			fail("a low socketpair");
	}
	bufs_same(80, 7, unix_bufs);
	snprintf(line, cap, "stream '%c' '%c' datagram %d bytes '%.*s' bufs %d/%d %d/%d", got,
		 got_back, (int)dn, (int)dn, dg, unix_bufs[0].snd, unix_bufs[0].lock,
		 unix_bufs[3].rcv, unix_bufs[3].lock);
}

static void unix_done(void)
{
	char rec[8];
	if (recv(85, rec, sizeof(rec), 0) != 4 || recv(85, rec, sizeof(rec), 0) != 0)
		fail("the seqpacket's end");
}

/* ---- creds */
static void caps_now(uint64_t out[3])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		fail("capget");
	out[0] = (uint64_t)d[1].effective << 32 | d[0].effective;
	out[1] = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	out[2] = (uint64_t)d[1].inheritable << 32 | d[0].inheritable;
}

/* /proc/self/<name> as a number */
static unsigned long proc_self_number(const char *name)
{
	char path[64], text[32] = "";
	snprintf(path, sizeof(path), "/proc/self/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, text, sizeof(text) - 1) <= 0 || close(fd) < 0)
		fail("reading /proc/self/loginuid or sessionid");
	return strtoul(text, NULL, 10);
}

static unsigned long loginuid_was, sessionid_was;

static void creds_setup(void)
{
	static const gid_t groups[] = { 100, 200 };
	/* twice, so that the session id is past a fresh guest's first: the
	 * restorer counts up to it */
	int fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1001", 4) != 4 || pwrite(fd, "1000", 4, 0) != 4 || close(fd) < 0)
		fail("setting the audit login uid");
	loginuid_was = proc_self_number("loginuid");
	sessionid_was = proc_self_number("sessionid");
	if (loginuid_was != 1000 || !sessionid_was || sessionid_was == 4294967295ul)
		fail("the audit login uid or session id set");
	if (setgroups(2, groups) < 0 || prctl(PR_CAPBSET_DROP, CAP_SYS_MODULE, 0, 0, 0) < 0 ||
	    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setresgid(1000, 1001, 1002) < 0 ||
	    setresuid(2000, 2001, 2002) < 0)
		fail("becoming another user");
	uint64_t kill = 1ull << CAP_KILL, bind = 1ull << CAP_NET_BIND_SERVICE;
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)bind, (uint32_t)(kill | bind), (uint32_t)kill }, { 0, 0, 0 }
	};
	if (syscall(SYS_capset, &h, d) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0) < 0)
		fail("capabilities");
}

static void creds_step(char *line, size_t cap)
{
	uid_t r, e, s;
	gid_t gr, ge, gs, groups[8];
	uint64_t c[3];
	if (getresuid(&r, &e, &s) < 0 || getresgid(&gr, &ge, &gs) < 0)
		fail("ids");
	int ng = getgroups(8, groups);
	caps_now(c);
	unsigned long loginuid = proc_self_number("loginuid");
	unsigned long sessionid = proc_self_number("sessionid");
	if (loginuid != loginuid_was || sessionid != sessionid_was) {
		printf("kobj: login uid %lu session %lu, were %lu and %lu\n", loginuid, sessionid,
		       loginuid_was, sessionid_was);
		fail("the audit login uid or session id");
	}
	snprintf(line, cap,
		 "uids %u/%u/%u fs %d gids %u/%u/%u fs %d groups %d:%u,%u caps e %llx p %llx i %llx "
		 "ambient %d bounding kill %d module %d securebits %x loginuid %lu",
		 r, e, s, setfsuid((uid_t)-1), gr, ge, gs, setfsgid((gid_t)-1), ng,
		 ng > 0 ? groups[0] : 0, ng > 1 ? groups[1] : 0, (unsigned long long)c[0],
		 (unsigned long long)c[1], (unsigned long long)c[2],
		 prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0),
		 prctl(PR_CAPBSET_READ, CAP_KILL, 0, 0, 0),
		 prctl(PR_CAPBSET_READ, CAP_SYS_MODULE, 0, 0, 0),
		 prctl(PR_GET_SECUREBITS, 0, 0, 0, 0), loginuid);
}

/* ---- inet: fds 90-97 */
#define INET_FDS 8
static unsigned inet_port[INET_FDS];
static struct bufs inet_bufs[INET_FDS];

static unsigned port_of(int fd)
{
	struct sockaddr_in6 a;
	socklen_t len = sizeof(a);
	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		fail("getsockname");
	return ntohs(a.sin6_port); /* sin_port sits at the same place */
}

static int sockopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	if (getsockopt(fd, level, name, &v, &len) < 0)
		fail("getsockopt");
	return v;
}

static void inet_setup(void)
{
	int one = 1;
	struct sockaddr_in any4 = { .sin_family = AF_INET };
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6 };
	move_to(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), 90);
	move_to(socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0), 91);
	move_to(socket(AF_INET, SOCK_STREAM, 0), 92);
	move_to(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), 93);
	if (setsockopt(90, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(90, (struct sockaddr *)&any4, sizeof(any4)) < 0 || listen(90, 5) < 0 ||
	    setsockopt(91, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    bind(91, (struct sockaddr *)&any6, sizeof(any6)) < 0 ||
	    setsockopt(93, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(93, (struct sockaddr *)&any4, sizeof(any4)) < 0)
		fail("inet setup");
	struct sockaddr_in6 doc6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in doc4 = { .sin_family = AF_INET };
	move_to(socket(AF_INET6, SOCK_DGRAM, 0), 94);
	move_to(socket(AF_INET, SOCK_DGRAM, 0), 95);
	int zero = 0;
	if (inet_pton(AF_INET6, "2001:db8::1", &doc6.sin6_addr) != 1 ||
	    inet_pton(AF_INET, "192.0.2.1", &doc4.sin_addr) != 1 ||
	    setsockopt(94, SOL_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(94, (struct sockaddr *)&doc6, sizeof(doc6)) < 0 ||
	    setsockopt(95, SOL_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(95, (struct sockaddr *)&doc4, sizeof(doc4)) < 0 ||
	    setsockopt(95, SOL_IP, IP_FREEBIND, &zero, sizeof(zero)) < 0)
		fail("inet setup: IP_FREEBIND");
	/* addresses the guest has, bound plainly: one of loopback's prefix
	 * that is not its address, and IPv6's loopback */
	struct sockaddr_in lo4 = { .sin_family = AF_INET };
	struct sockaddr_in6 lo6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	move_to(socket(AF_INET, SOCK_DGRAM, 0), 96);
	move_to(socket(AF_INET6, SOCK_DGRAM, 0), 97);
	if (inet_pton(AF_INET, "127.0.0.2", &lo4.sin_addr) != 1 ||
	    bind(96, (struct sockaddr *)&lo4, sizeof(lo4)) < 0 ||
	    bind(97, (struct sockaddr *)&lo6, sizeof(lo6)) < 0)
		fail("inet setup: loopback addresses");
	/* IP_TRANSPARENT on 93, IPV6_TRANSPARENT (the same flag) on 97 */
	if (setsockopt(93, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0 ||
	    setsockopt(97, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one)) < 0)
		fail("inet setup: IP_TRANSPARENT");
	for (int i = 0; i < INET_FDS; i++)
		inet_port[i] = port_of(90 + i);
	/* both sizes of its own (locked), a send size set then unlocked, the
	 * receive size locked at its default (sock_opts02) */
	set_int(90, SO_SNDBUF, 50000);
	set_int(90, SO_RCVBUF, 70000);
	set_int(91, SO_SNDBUF, 30000);
	set_int(91, SO_BUF_LOCK, 0);
	set_int(93, SO_BUF_LOCK, 2);
	bufs_read(90, INET_FDS, inet_bufs);
	if (inet_bufs[0].lock != 3 || inet_bufs[1].lock != 0 || inet_bufs[3].lock != 2)
		fail("inet setup: SO_BUF_LOCK");
}

static void inet_step(char *line, size_t cap)
{
	for (int i = 0; i < INET_FDS; i++)
		if (port_of(90 + i) != inet_port[i] || (i != 2) != (inet_port[i] != 0))
			fail("a socket's port");
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	socklen_t l6 = sizeof(a6), l4 = sizeof(a4);
	char t6[INET6_ADDRSTRLEN] = "", t4[INET_ADDRSTRLEN] = "";
	if (getsockname(94, (struct sockaddr *)&a6, &l6) < 0 ||
	    getsockname(95, (struct sockaddr *)&a4, &l4) < 0 ||
	    !inet_ntop(AF_INET6, &a6.sin6_addr, t6, sizeof(t6)) ||
	    !inet_ntop(AF_INET, &a4.sin_addr, t4, sizeof(t4)) || strcmp(t6, "2001:db8::1") ||
	    strcmp(t4, "192.0.2.1"))
		fail("a free-bound socket's address");
	if (sockopt(94, SOL_IP, IP_FREEBIND) != 1 || sockopt(95, SOL_IP, IP_FREEBIND) != 0)
		fail("IP_FREEBIND");
	if (sockopt(93, SOL_IP, IP_TRANSPARENT) != 1 ||
	    sockopt(97, SOL_IPV6, IPV6_TRANSPARENT) != 1 ||
	    sockopt(96, SOL_IP, IP_TRANSPARENT) != 0)
		fail("IP_TRANSPARENT");
	if (sockopt(90, SOL_SOCKET, SO_ACCEPTCONN) != 1 ||
	    sockopt(90, SOL_SOCKET, SO_REUSEADDR) != 1 ||
	    sockopt(91, IPPROTO_IPV6, IPV6_V6ONLY) != 1 ||
	    sockopt(92, SOL_SOCKET, SO_ACCEPTCONN) != 0 ||
	    sockopt(93, SOL_SOCKET, SO_REUSEPORT) != 1 ||
	    sockopt(91, SOL_SOCKET, SO_TYPE) != SOCK_DGRAM)
		fail("a socket's options");
	char b;
	if (accept(90, NULL, NULL) != -1 || errno != EAGAIN || recv(91, &b, 1, 0) != -1 ||
	    errno != EAGAIN || recv(93, &b, 1, 0) != -1 || errno != EAGAIN)
		fail("something to accept or read");
	if (!nonblocking(90) || nonblocking(92))
		fail("O_NONBLOCK of the sockets");
	bufs_same(90, INET_FDS, inet_bufs);
	snprintf(line, cap,
		 "listening, ports kept, options kept, nothing waiting, bufs %d/%d %d/%d",
		 inet_bufs[0].snd, inet_bufs[0].rcv, inet_bufs[1].snd, inet_bufs[3].lock);
}

/* ---- ptimers: raw ids, as the kernel hands them out */
static int ptimer(int clock, int notify, int signo, uintptr_t value)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = notify;
	sev.sigev_signo = signo;
	sev.sigev_value.sival_ptr = (void *)value;
	int id = -1;
	if (syscall(SYS_timer_create, clock, &sev, &id) < 0)
		fail("timer_create");
	return id;
}

static void ptimers_setup(void)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN);
	sigaddset(&m, SIGRTMIN + 1);
	sigaddset(&m, SIGRTMIN + 2);
	if (sigprocmask(SIG_BLOCK, &m, NULL) < 0)
		fail("sigprocmask");
	int a = ptimer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN, 0x1234);
	int gone = ptimer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
	int b = ptimer(CLOCK_REALTIME, SIGEV_NONE, 0, 0);
	int c = ptimer(CLOCK_BOOTTIME, SIGEV_SIGNAL, SIGRTMIN + 1, 0x5678);
	struct itimerspec hour = { { HOUR, 0 }, { HOUR, 0 } },
			  tick = { { 0, 20000000 }, { 0, 20000000 } };
	if (a != 0 || gone != 1 || b != 2 || c != 3 || syscall(SYS_timer_delete, gone) < 0 ||
	    syscall(SYS_timer_settime, a, 0, &hour, NULL) < 0 ||
	    syscall(SYS_timer_settime, c, 0, &tick, NULL) < 0)
		fail("timer setup");
	/* 4: every 2 s, armed 7 s in the past: taking its signal re-arms it
	 * 1 s ahead, counting an overrun of exactly 3, which stays (its
	 * signal is never taken again). Its count reaches 8 s back, further
	 * than a restore guest has been up: the restorer waits for its clock
	 * (restore-timers.c) */
	int d = ptimer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 2, 0x9abc);
	struct timespec now;
	do /* a guest's clock starts at its boot */
		clock_gettime(CLOCK_MONOTONIC, &now);
	while (now.tv_sec < 8 && !sleep(1));
	struct itimerspec late = { { 2, 0 }, { now.tv_sec - 7, now.tv_nsec } };
	sigset_t four;
	sigemptyset(&four);
	sigaddset(&four, SIGRTMIN + 2);
	struct timespec wait = { 5, 0 };
	if (d != 4 || syscall(SYS_timer_settime, d, TIMER_ABSTIME, &late, NULL) < 0 ||
	    sigtimedwait(&four, NULL, &wait) != SIGRTMIN + 2)
		fail("timer 4 setup");
}

static void ptimers_step(char *line, size_t cap)
{
	struct itimerspec t;
	if (syscall(SYS_timer_gettime, 0, &t) < 0 || t.it_interval.tv_sec != HOUR ||
	    (t.it_value.tv_sec == HOUR ? t.it_value.tv_nsec > 0 : t.it_value.tv_sec > HOUR) ||
	    t.it_value.tv_sec < HOUR - 600)
		fail("timer 0");
	if (syscall(SYS_timer_gettime, 1, &t) != -1 || errno != EINVAL)
		fail("timer 1 is back");
	if (syscall(SYS_timer_gettime, 2, &t) < 0 || t.it_value.tv_sec || t.it_value.tv_nsec)
		fail("timer 2");
	if (syscall(SYS_timer_gettime, 3, &t) < 0 || t.it_interval.tv_nsec != 20000000)
		fail("timer 3");
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN + 1);
	siginfo_t si;
	struct timespec wait = { 2, 0 };
	if (sigtimedwait(&m, &si, &wait) != SIGRTMIN + 1 || si.si_code != SI_TIMER ||
	    si.si_timerid != 3 || si.si_value.sival_ptr != (void *)0x5678)
		fail("timer 3's signal");
	if (syscall(SYS_timer_getoverrun, 4) != 3)
		fail("timer 4's overrun count");
	snprintf(line, cap, "ids 0 2 3 4: hour armed, none idle, 20 ms fired with its value");
}

/* ---- thtimer: timer 0 signals the second thread, timer 1 is glibc's
 * SIGEV_THREAD */
static volatile int thtimer_fired, thtimer_called;

static void thtimer_call(union sigval v)
{
	(void)v;
	__atomic_add_fetch(&thtimer_called, 1, __ATOMIC_SEQ_CST);
}
static volatile pid_t thtimer_tid;

static void *thtimer_thread(void *arg)
{
	(void)arg;
	thtimer_tid = (pid_t)syscall(SYS_gettid);
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN + 3);
	for (;;) {
		siginfo_t si;
		if (sigwaitinfo(&m, &si) == SIGRTMIN + 3 && si.si_code == SI_TIMER)
			__atomic_add_fetch(&thtimer_fired, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void thtimer_setup(void)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN + 3);
	pthread_t t;
	if (sigprocmask(SIG_BLOCK, &m, NULL) < 0 ||
	    pthread_create(&t, NULL, thtimer_thread, NULL) != 0)
		fail("the timer's thread");
	while (!thtimer_tid)
		workload_sleep_ms(1);
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN + 3;
	sev._sigev_un._tid = thtimer_tid;
	int id = -1;
	struct itimerspec tick = { { 0, 10000000 }, { 0, 10000000 } };
	if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id) < 0 ||
	    syscall(SYS_timer_settime, id, 0, &tick, NULL) < 0)
		fail("timer_create (SIGEV_THREAD_ID)");
	struct sigevent glibc = { .sigev_notify = SIGEV_THREAD,
				  .sigev_notify_function = thtimer_call };
	timer_t t1;
	struct itimerspec tick_t = { { 0, 10000000 }, { 0, 10000000 } };
	if (timer_create(CLOCK_MONOTONIC, &glibc, &t1) < 0 ||
	    timer_settime(t1, 0, &tick_t, NULL) < 0)
		fail("timer_create (SIGEV_THREAD)");
}

static void thtimer_step(char *line, size_t cap)
{
	int before = __atomic_load_n(&thtimer_fired, __ATOMIC_SEQ_CST);
	for (int ms = 0; __atomic_load_n(&thtimer_fired, __ATOMIC_SEQ_CST) == before; ms++) {
		if (ms > 5000)
			fail("the thread no longer gets its timer's signal");
		workload_sleep_ms(1);
	}
	int called = __atomic_load_n(&thtimer_called, __ATOMIC_SEQ_CST);
	for (int ms = 0; __atomic_load_n(&thtimer_called, __ATOMIC_SEQ_CST) == called; ms++) {
		if (ms > 5000)
			fail("the SIGEV_THREAD timer's function is no longer called");
		workload_sleep_ms(1);
	}
	sigset_t p;
	if (sigpending(&p) < 0 || sigismember(&p, SIGRTMIN + 3))
		fail("the timer signals the main thread");
	snprintf(line, cap, "the thread got its timer's signal, glibc's called its function");
}

/* ---- sockopt: fds 70, 71 */
static void sockopt_setup(void)
{
	int sv[2];
	struct linger l = { .l_onoff = 1, .l_linger = 5 };
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0)
		fail("SO_LINGER");
	move_to(sv[0], 70);
	move_to(sv[1], 71);
}

static void sockopt_step(char *line, size_t cap)
{
	struct linger l;
	socklen_t n = sizeof(l);
	if (getsockopt(70, SOL_SOCKET, SO_LINGER, &l, &n) < 0 || !l.l_onoff || l.l_linger != 5)
		fail("SO_LINGER came back otherwise");
	snprintf(line, cap, "linger on, 5 s");
}

/* ---- inotify: fd 60 */
static char inotify_dir[64], inotify_file[80];

static void inotify_setup(void)
{
	snprintf(inotify_dir, sizeof(inotify_dir), "/tmp/snapvm-kobj-inotify-%d", (int)getpid());
	snprintf(inotify_file, sizeof(inotify_file), "%s/watched", inotify_dir);
	char gone[96];
	snprintf(gone, sizeof(gone), "%s/gone", inotify_dir);
	int f, g;
	if (mkdir(inotify_dir, 0755) < 0 ||
	    (f = open(inotify_file, O_CREAT | O_WRONLY, 0644)) < 0 || close(f) < 0 ||
	    (g = open(gone, O_CREAT | O_WRONLY, 0644)) < 0 || close(g) < 0)
		fail("the watched files");
	move_to(inotify_init1(IN_NONBLOCK), 60);
	if (inotify_add_watch(60, inotify_dir, IN_CREATE | IN_DELETE) != 1 ||
	    inotify_add_watch(60, gone, IN_MODIFY) != 2 || inotify_rm_watch(60, 2) < 0 ||
	    inotify_add_watch(60, inotify_file, IN_MODIFY) != 3)
		fail("inotify_add_watch");
	char drain[4096];
	while (read(60, drain, sizeof(drain)) > 0)
		;
}

static void inotify_step(char *line, size_t cap)
{
	char name[96];
	snprintf(name, sizeof(name), "%s/s%ld", inotify_dir, step);
	int f = open(name, O_CREAT | O_WRONLY, 0644), w = open(inotify_file, O_WRONLY);
	if (f < 0 || w < 0 || write(w, "x", 1) != 1 || close(w) < 0 || close(f) < 0 ||
	    unlink(name) < 0)
		fail("the watched files");
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n = read(60, buf, sizeof(buf));
	if (n <= 0)
		fail("reading the inotify fd");
	size_t at = (size_t)snprintf(line, cap, "events");
	for (char *p = buf; p < buf + n && at < cap;) {
		struct inotify_event *e = (struct inotify_event *)p;
		at += (size_t)snprintf(line + at, cap - at, " %d:%x:%s", e->wd, e->mask,
				       e->len ? e->name : "");
		p += sizeof(*e) + e->len;
	}
}

static void inotify_done(void)
{
	char gone[96];
	snprintf(gone, sizeof(gone), "%s/gone", inotify_dir);
	unlink(gone);
	unlink(inotify_file);
	rmdir(inotify_dir);
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 20);
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	static const struct {
		const char *kind;
		void (*setup)(void);
		void (*step)(char *, size_t);
		void (*done)(void);
	} kinds[] = {
		{ "pipes", pipes_setup, pipes_step, NULL },
		{ "fifo", fifo_setup, fifo_step, fifo_done },
		{ "eventfd", eventfd_setup, eventfd_step, eventfd_done },
		{ "epoll", epoll_setup, epoll_step, NULL },
		{ "timerfd", timerfd_setup, timerfd_step, timerfd_done },
		{ "signalfd", signalfd_setup, signalfd_step, NULL },
		{ "locks", lock_setup, lock_step, lock_done },
		{ "unix", unix_setup, unix_step, unix_done },
		{ "creds", creds_setup, creds_step, NULL },
		{ "inet", inet_setup, inet_step, NULL },
		{ "ptimers", ptimers_setup, ptimers_step, NULL },
		{ "inotify", inotify_setup, inotify_step, inotify_done },
		{ "thtimer", thtimer_setup, thtimer_step, NULL },
		{ "sockopt", sockopt_setup, sockopt_step, NULL },
	};
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t n = strlen(kinds[k].kind);
		if (strncmp(name, "kobj-", 5) || strncmp(name + 5, kinds[k].kind, n) ||
		    (name[5 + n] && name[5 + n] != '-'))
			continue;
		kinds[k].setup();
		uint32_t sum = 0;
		for (step = 0; step < a.steps; step++) {
			char line[256];
			kinds[k].step(line, sizeof(line));
			sum = workload_hash(sum, line, strlen(line));
			printf("kobj-%s step %ld %s checksum %08x\n", kinds[k].kind, step, line,
			       sum);
			workload_sleep_ms(a.interval_ms);
		}
		if (kinds[k].done)
			kinds[k].done();
		printf("kobj-%s done %ld\n", kinds[k].kind, a.steps);
		return 0;
	}
	fprintf(stderr,
		"%s: not one of kobj-pipes, -fifo, -eventfd, -epoll, -timerfd, -signalfd, -locks, -unix, -creds, -inet, -ptimers, -inotify, -thtimer, -sockopt\n",
		name);
	return 2;
}
