/* SPDX-License-Identifier: MIT */
/*
 * restore-unix.c - unbound UNIX sockets: a socketpair made again at its
 * first fd (a lone socket alone), both ends placed, their buffer sizes
 * and locks made (restore-sockbuf.c), then each end's unread messages
 * sent again through its peer (a stream's bytes in one go, each datagram
 * or seqpacket record as one message, so boundaries stay), and last the
 * shutdowns, which would forbid those sends.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "restore.h"

/* f's unread messages, sent again through `through` (its peer) */
static void resend(const struct sv_rimg_fd *f, const uint8_t *data, int through)
{
	uint64_t at = 0;
	while (at < f->data_len) {
		uint32_t len;
		if (f->data_len - at < 4)
			rst_die("corrupt restore image: fd %d's messages", f->fd);
		memcpy(&len, data + f->data_off + at, 4);
		at += 4;
		if (len > f->data_len - at)
			rst_die("corrupt restore image: fd %d's messages", f->fd);
		ssize_t n = send(through, data + f->data_off + at, len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n != (ssize_t)len)
			rst_die("fd %d: cannot queue its %u unread bytes again: %s", f->fd, len,
				n < 0 ? strerror(errno) : "short send");
		at += len;
	}
}

void rst_unix_restore(const struct sv_rimg_fd *fds, uint32_t nfds, uint32_t i, const uint8_t *data,
		      int base)
{
	const struct sv_rimg_fd *f = &fds[i];
	for (uint32_t k = 0; k < i; k++)
		if (fds[k].kind == SV_RIMG_FD_UNIX && fds[k].pipe == f->pipe)
			return; /* made at the pair's first fd */
	const struct sv_rimg_fd *end[2] = { NULL, NULL };
	for (uint32_t k = i; k < nfds; k++)
		if (fds[k].kind == SV_RIMG_FD_UNIX && fds[k].pipe == f->pipe && fds[k].dup_of < 0) {
			uint32_t e = fds[k].kind_flags & 1;
			if (end[e])
				rst_die("corrupt restore image: fd %d and %d are one end",
					end[e]->fd, fds[k].fd);
			end[e] = &fds[k];
		}
	int type = (int)f->value[0];
	int sv[2] = { -1, -1 };
	if (end[0] && end[1]) {
		if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
			rst_die("fd %d: socketpair: %s", f->fd, strerror(errno));
	} else if ((sv[0] = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) < 0) {
		rst_die("fd %d: socket: %s", f->fd, strerror(errno));
	}
	/* Both above base before either is placed: the new sockets take the
	 * lowest free fds, which may be the pair's own fds the other way
	 * round (end 0, the lower kernel address, at the higher fd), and
	 * placing one end there would close the other's new socket. */
	for (int e = 0; e < 2; e++)
		sv[e] = rst_move_up(sv[e], base, "a socket");
	for (int e = 0; e < 2; e++) {
		if (!end[e])
			continue;
		int s = sv[end[0] && end[1] ? e : 0];
		rst_place(s, end[e]);
		close(s);
		uint32_t kf = end[e]->kind_flags;
		rst_sock_buffers(end[e]->fd, end[e]->value[1], end[e]->value[2],
				 kf & SV_RIMG_SOCK_BUFS ? (int)SV_RIMG_SOCK_LOCKS(kf) : -1);
	}
	for (int e = 0; e < 2; e++)
		if (end[e] && end[e]->data_len)
			resend(end[e], data, end[!e] ? end[!e]->fd : -1);
	for (int e = 0; e < 2; e++) {
		if (!end[e])
			continue;
		uint32_t shut = end[e]->kind_flags >> 8 & 3; /* RCV_SHUTDOWN 1, SEND_SHUTDOWN 2 */
		int how = shut == 3 ? SHUT_RDWR : shut == 2 ? SHUT_WR : SHUT_RD;
		if (shut && shutdown(end[e]->fd, how) < 0)
			rst_die("fd %d: shutdown: %s", end[e]->fd, strerror(errno));
		if (fcntl(end[e]->fd, F_SETFL, (int)(end[e]->flags & O_NONBLOCK)) < 0)
			rst_die("fd %d: cannot set its flags: %s", end[e]->fd, strerror(errno));
	}
}
