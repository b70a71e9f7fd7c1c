/* SPDX-License-Identifier: MIT */
/*
 * restore-sockbuf.c - a socket's buffer sizes and their locks, made
 * exactly. setsockopt(SO_SNDBUFFORCE / SO_RCVBUFFORCE) stores twice what
 * it is given (at least the kernel's minimum) and locks that size
 * (sk_userlocks); SO_BUF_LOCK (Linux 5.14) then sets both lock bits to
 * what the process had, so a size set and later unlocked, or locked
 * without a size of its own, comes back as it was. Each is read back:
 * a size no setsockopt can make (odd, the kernel's own tuning) stops the
 * restore, naming the fd.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "restore.h"

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72 /* Linux 5.14; older libc headers lack it */
#endif

static int get_opt(int fd, int opt, const char *what)
{
	int v = 0;
	socklen_t len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0)
		rst_die("fd %d: cannot read its %s: %s", fd, what, strerror(errno));
	return v;
}

static void set_size(int fd, int opt, int force, uint64_t want, const char *what)
{
	if ((uint64_t)get_opt(fd, opt, what) == want)
		return;
	int half = (int)(want / 2); /* the kernel doubles what it is given */
	if (setsockopt(fd, SOL_SOCKET, force, &half, sizeof(half)) < 0)
		rst_die("fd %d: cannot set its %s to %llu bytes: %s", fd, what,
			(unsigned long long)want, strerror(errno));
	int now = get_opt(fd, opt, what);
	if ((uint64_t)now != want)
		rst_die("fd %d: its %s comes back as %d bytes, not the %llu it had (the kernel "
			"makes only even sizes from its minimum up)",
			fd, what, now, (unsigned long long)want);
}

void rst_sock_buffers(int fd, uint64_t sndbuf, uint64_t rcvbuf, int locks)
{
	set_size(fd, SO_SNDBUF, SO_SNDBUFFORCE, sndbuf, "send buffer size");
	set_size(fd, SO_RCVBUF, SO_RCVBUFFORCE, rcvbuf, "receive buffer size");
	if (locks < 0 || get_opt(fd, SO_BUF_LOCK, "SO_BUF_LOCK") == locks)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_BUF_LOCK, &locks, sizeof(locks)) < 0)
		rst_die("fd %d: cannot set SO_BUF_LOCK to %d (Linux 5.14 has it): %s", fd, locks,
			strerror(errno));
	int now = get_opt(fd, SO_BUF_LOCK, "SO_BUF_LOCK");
	if (now != locks)
		rst_die("fd %d: its SO_BUF_LOCK comes back as %d, not %d", fd, now, locks);
}
