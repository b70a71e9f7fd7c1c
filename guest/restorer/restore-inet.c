/* SPDX-License-Identifier: MIT */
/*
 * restore-inet.c - IPv4 and IPv6 sockets that need no peer: made again
 * with their options, bound to their address and port again if they were
 * bound, listening again if they were, with their buffer sizes and locks.
 * A fresh guest has nothing bound, but if the address is taken, or one
 * its guest had is missing, restore fails here, naming the fd, the
 * address and the error; the snapshot is unchanged and can be restored
 * elsewhere. An address its guest lacked too is bound with IP_FREEBIND,
 * as the original was (bind_again).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "restore.h"

static void opt(int s, int level, int name, int on, const struct sv_rimg_fd *f, const char *what)
{
	if (on && setsockopt(s, level, name, &on, sizeof(on)) < 0)
		rst_die("fd %d: cannot set %s: %s", f->fd, what, strerror(errno));
}

/* bind with IP_FREEBIND as the socket had it (set before the bind, as it
 * was: it lets the address be one no interface has). A socket the
 * checkpoint found bound, without it, to an address no interface of its
 * guest had (SV_RIMG_INET_NONLOCAL: bound with it and cleared since, or
 * through IP_TRANSPARENT or the ip_nonlocal_bind sysctl) is bound the
 * same way and has it cleared again, so what the kernel holds is what it
 * held. Any other bind is plain: an address its guest had and this one
 * lacks fails, naming it, rather than leave a socket no packet reaches. */
static int bind_again(int s, const struct sv_rimg_fd *f, const struct sockaddr *a, socklen_t len)
{
	int freebind = !!(f->kind_flags & SV_RIMG_INET_FREEBIND);
	int nonlocal = !freebind && (f->kind_flags & SV_RIMG_INET_NONLOCAL);
	opt(s, SOL_IP, IP_FREEBIND, freebind || nonlocal, f, "IP_FREEBIND");
	int r = bind(s, a, len), err = errno, off = 0;
	if (nonlocal && setsockopt(s, SOL_IP, IP_FREEBIND, &off, sizeof(off)) < 0)
		rst_die("fd %d: cannot clear IP_FREEBIND: %s", f->fd, strerror(errno));
	errno = err;
	return r;
}

void rst_inet_restore(const struct sv_rimg_fd *f, const uint8_t *data, int base)
{
	int family = (int)(f->value[0] & 0xffff), type = (int)(f->value[0] >> 16 & 0xffff);
	unsigned port = (unsigned)(f->value[1] & 0xffff);
	int backlog = (int)(f->value[1] >> 32);
	if ((family != AF_INET || f->data_len != 4) && (family != AF_INET6 || f->data_len != 16))
		rst_die("corrupt restore image: fd %d's address", f->fd);
	int s = socket(family, type | SOCK_CLOEXEC, 0);
	if (s < 0)
		rst_die("fd %d: socket: %s", f->fd, strerror(errno));
	s = rst_move_up(s, base, "a socket");
	opt(s, SOL_SOCKET, SO_REUSEADDR, f->kind_flags & SV_RIMG_INET_REUSEADDR, f, "SO_REUSEADDR");
	opt(s, SOL_SOCKET, SO_REUSEPORT, f->kind_flags & SV_RIMG_INET_REUSEPORT, f, "SO_REUSEPORT");
	/* (the restorer has CAP_NET_ADMIN, which it needs; SOL_IP sets the
	 * flag IPV6_TRANSPARENT sets too) */
	opt(s, SOL_IP, IP_TRANSPARENT, !!(f->kind_flags & SV_RIMG_INET_TRANSPARENT), f,
	    "IP_TRANSPARENT");
	if (family == AF_INET6) {
		int v6only = !!(f->kind_flags & SV_RIMG_INET_V6ONLY);
		if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
			rst_die("fd %d: cannot set IPV6_V6ONLY: %s", f->fd, strerror(errno));
	}
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	memcpy(family == AF_INET6 ? (void *)&a6.sin6_addr : (void *)&a4.sin_addr,
	       data + f->data_off, f->data_len);
	const uint8_t zero[16] = { 0 };
	int bound = port || memcmp(data + f->data_off, zero, f->data_len);
	if (bound &&
	    bind_again(s, f, family == AF_INET6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4,
		       family == AF_INET6 ? sizeof(a6) : sizeof(a4)) < 0) {
		char text[INET6_ADDRSTRLEN] = "?";
		inet_ntop(family, data + f->data_off, text, sizeof(text));
		rst_die("fd %d: cannot bind its %s socket to %s%s%s:%u again in this guest: %s",
			f->fd, type == SOCK_STREAM ? "TCP" : "UDP", family == AF_INET6 ? "[" : "",
			text, family == AF_INET6 ? "]" : "", port, strerror(errno));
	}
	if ((f->kind_flags & SV_RIMG_INET_LISTEN) && listen(s, backlog) < 0)
		rst_die("fd %d: listen: %s", f->fd, strerror(errno));
	rst_place(s, f);
	close(s);
	if (f->kind_flags & SV_RIMG_SOCK_BUFS)
		rst_sock_buffers(f->fd, f->value[2] & 0xffffffffu, f->value[2] >> 32,
				 (int)SV_RIMG_SOCK_LOCKS(f->kind_flags));
	if (fcntl(f->fd, F_SETFL, (int)(f->flags & O_NONBLOCK)) < 0)
		rst_die("fd %d: cannot set its flags: %s", f->fd, strerror(errno));
}
