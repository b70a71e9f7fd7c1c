/* SPDX-License-Identifier: MIT */
/*
 * restore-image-kobjects.c - the restore image's records for fds on
 * anonymous inodes (restore-image-fds.c hands each here by kind):
 * eventfds (count, EFD_SEMAPHORE), timerfds (clock, time left or
 * absolute wall-clock expiry, interval, unread expirations), signalfds
 * (mask), unbound UNIX sockets (a socketpair's ends, with their unread
 * messages) and epoll fds, whose interest lists
 * become sv_rimg_epoll_item arrays in the image's data, each target
 * named by the fd it was added as. That fd must still hold the target's
 * open file: epoll_ctl keys an item by (file, fd), so an item whose fd
 * was closed or reused could not be made again as it was, and is refused.
 */
#include <string.h>

#include "snapvm/linux-uapi.h"
#include "snapvm/snapshot-task-keys.h"
#include "host/restore/restore-image-parts.h"

#define EFD_SEMAPHORE_ 1u
#define EPOLLET_ (1u << 31)
#define EPOLLONESHOT_ (1u << 30)
#define MAX_EPOLL_DATA (4u << 20)

gboolean sv_rimg_fd_eventfd(const SvSnapFd *entry, struct sv_rimg_fd *e, GError **error)
{
	if (!entry->has_eventfd)
		return sv_rimg_refuse(error, "fd %u is an eventfd without its count", entry->fd);
	e->kind = SV_RIMG_FD_EVENTFD;
	e->value[0] = entry->eventfd_count;
	e->kind_flags = entry->eventfd_semaphore ? EFD_SEMAPHORE_ : 0;
	return TRUE;
}

gboolean sv_rimg_fd_timerfd(const SvSnapFd *entry, struct sv_rimg_fd *e, GError **error)
{
	if (!entry->timerfd)
		return sv_rimg_refuse(error, "fd %u is a timerfd without its state", entry->fd);
	guint32 clockid;
	gboolean abs_real;
	g_variant_get(entry->timerfd, "(ubttt)", &clockid, &abs_real, &e->value[0], &e->value[1],
		      &e->value[2]);
	if (clockid != SV_LINUX_CLOCK_REALTIME && clockid != SV_LINUX_CLOCK_MONOTONIC &&
	    clockid != SV_LINUX_CLOCK_BOOTTIME)
		return sv_rimg_refuse(error, "fd %u is a timerfd on clock %u", entry->fd, clockid);
	if (abs_real && clockid != SV_LINUX_CLOCK_REALTIME)
		return sv_rimg_refuse(error,
				      "fd %u is a timerfd with an absolute expiry on a clock "
				      "other than CLOCK_REALTIME",
				      entry->fd);
	e->kind = SV_RIMG_FD_TIMERFD;
	e->kind_flags = clockid | (abs_real ? SV_RIMG_TIMERFD_ABSTIME : 0);
	return TRUE;
}

gboolean sv_rimg_fd_signalfd(const SvSnapFd *entry, struct sv_rimg_fd *e, GError **error)
{
	if (!entry->has_signalfd)
		return sv_rimg_refuse(error, "fd %u is a signalfd without its mask", entry->fd);
	e->kind = SV_RIMG_FD_SIGNALFD;
	e->value[0] = entry->signalfd_mask;
	return TRUE;
}

/* SV_TASK_FD_SOCKET_BUFS, if the snapshot has it: the sizes and locks the
 * restorer makes exactly (SV_RIMG_SOCK_BUFS); the sizes go where the
 * caller's kind keeps them. FALSE if they are out of range: the kernel
 * keeps sizes as an int and only the two lock bits. */
static gboolean socket_bufs(const SvSnapFd *entry, struct sv_rimg_fd *e, guint32 *ret_sndbuf,
			    guint32 *ret_rcvbuf, GError **error)
{
	guint32 locks;
	if (!entry->socket_bufs)
		return TRUE;
	g_variant_get(entry->socket_bufs, SV_TASK_FD_SOCKET_BUFS_TYPE, ret_sndbuf, ret_rcvbuf,
		      &locks);
	if (*ret_sndbuf > G_MAXINT32 || *ret_rcvbuf > G_MAXINT32 || locks > 3)
		return sv_rimg_refuse(error,
				      "fd %u: socket buffers the restorer does not know (send %u, "
				      "receive %u bytes, locks %u)",
				      entry->fd, *ret_sndbuf, *ret_rcvbuf, locks);
	e->kind_flags |= SV_RIMG_SOCK_BUFS | locks << SV_RIMG_SOCK_LOCKS_SHIFT;
	return TRUE;
}

/* The socket identity and peer of the fds list's entry i; FALSE if it is
 * not a socket. */
static gboolean socket_of(GVariant *fds, gsize i, guint32 *ret_fd, guint64 *ret_id,
			  guint64 *ret_peer)
{
	g_autoptr(GVariant) d = g_variant_get_child_value(fds, i);
	g_autoptr(GVariant) s = g_variant_lookup_value(d, SV_TASK_FD_SOCKET,
						       G_VARIANT_TYPE(SV_TASK_FD_SOCKET_TYPE));
	if (!s || !g_variant_lookup(d, SV_TASK_FD_FD, "u", ret_fd))
		return FALSE;
	g_variant_get(s, "(uuttuuu)", NULL, NULL, ret_id, ret_peer, NULL, NULL, NULL);
	return TRUE;
}

gboolean sv_rimg_fd_unix(SvRimgTables *t, GVariant *fds, const SvSnapFd *entry,
			 struct sv_rimg_fd *e, guint64 *ret_pair, GError **error)
{
	if (!entry->socket)
		return sv_rimg_refuse(error, "fd %u is a UNIX socket without its state", entry->fd);
	guint32 family, type, shutdown, sndbuf, rcvbuf;
	guint64 id, peer;
	g_variant_get(entry->socket, "(uuttuuu)", &family, &type, &id, &peer, &shutdown, &sndbuf,
		      &rcvbuf);
	if (family != SV_LINUX_AF_UNIX ||
	    (type != SV_LINUX_SOCK_STREAM && type != SV_LINUX_SOCK_DGRAM &&
	     type != SV_LINUX_SOCK_SEQPACKET) ||
	    !id || shutdown > 3)
		return sv_rimg_refuse(error, "fd %u: a socket the restorer does not know",
				      entry->fd);
	if (peer) {
		/* both ends in the process, each the other's peer */
		gboolean found = FALSE;
		for (gsize i = 0; i < g_variant_n_children(fds) && !found; i++) {
			guint32 fd;
			guint64 other, other_peer;
			found = socket_of(fds, i, &fd, &other, &other_peer) && other == peer &&
				other_peer == id;
		}
		if (!found)
			return sv_rimg_refuse(error,
					      "fd %u is a UNIX socket connected to a peer outside "
					      "the process (another process's end of a socketpair, "
					      "or a named socket): it cannot be connected again",
					      entry->fd);
	}
	gsize n = entry->socket_queue ? g_variant_n_children(entry->socket_queue) : 0;
	if (n && !peer)
		return sv_rimg_refuse(error,
				      "fd %u is an unconnected UNIX socket with unread messages: "
				      "no peer to send them again",
				      entry->fd);
	e->kind = SV_RIMG_FD_UNIX;
	e->kind_flags = (peer && id > peer ? 1u : 0u) | shutdown << 8;
	if (!socket_bufs(entry, e, &sndbuf, &rcvbuf, error))
		return FALSE;
	e->value[0] = type;
	e->value[1] = sndbuf;
	e->value[2] = rcvbuf;
	e->data_off = t->fd_data->len;
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) m = g_variant_get_child_value(entry->socket_queue, i);
		gsize len;
		const guint8 *bytes = g_variant_get_fixed_array(m, &len, 1);
		if (t->fd_data->len + len + 4 > MAX_EPOLL_DATA * 4)
			return sv_rimg_refuse(error, "the sockets hold over %u MiB of unread data",
					      MAX_EPOLL_DATA * 4 >> 20);
		guint32 l32 = GUINT32_TO_LE((guint32)len);
		g_byte_array_append(t->fd_data, (const guint8 *)&l32, 4);
		g_byte_array_append(t->fd_data, bytes, (guint)len);
	}
	e->data_len = t->fd_data->len - e->data_off;
	*ret_pair = peer && peer < id ? peer : id;
	return TRUE;
}

gboolean sv_rimg_fd_inet(SvRimgTables *t, const SvSnapFd *entry, struct sv_rimg_fd *e,
			 GError **error)
{
	if (!entry->inet)
		return sv_rimg_refuse(error, "fd %u is an IP socket without its state", entry->fd);
	guint32 family, type, port, backlog, flags;
	g_autoptr(GVariant) addr = NULL;
	g_variant_get(entry->inet, "(uu@ayuuu)", &family, &type, &addr, &port, &backlog, &flags);
	gsize alen;
	const guint8 *a = g_variant_get_fixed_array(addr, &alen, 1);
	if (!((family == SV_LINUX_AF_INET && alen == 4) ||
	      (family == SV_LINUX_AF_INET6 && alen == 16)) ||
	    (type != SV_LINUX_SOCK_STREAM && type != SV_LINUX_SOCK_DGRAM) || port > 65535 ||
	    (flags & ~SV_TASK_INET_KNOWN) ||
	    ((flags & SV_TASK_INET_LISTEN) && type != SV_LINUX_SOCK_STREAM))
		return sv_rimg_refuse(error, "fd %u: an IP socket the restorer does not know",
				      entry->fd);
	e->kind = SV_RIMG_FD_INET;
	e->value[0] = family | (guint64)type << 16;
	e->value[1] = port | (guint64)backlog << 32;
	/* SV_TASK_INET_* and SV_RIMG_INET_* are the same bits */
	G_STATIC_ASSERT(SV_TASK_INET_FREEBIND == SV_RIMG_INET_FREEBIND &&
			SV_TASK_INET_LISTEN == SV_RIMG_INET_LISTEN &&
			SV_TASK_INET_NONLOCAL == SV_RIMG_INET_NONLOCAL &&
			SV_TASK_INET_TRANSPARENT == SV_RIMG_INET_TRANSPARENT);
	e->kind_flags = flags;
	guint32 sndbuf = 0, rcvbuf = 0;
	if (!socket_bufs(entry, e, &sndbuf, &rcvbuf, error))
		return FALSE;
	e->value[2] = sndbuf | (guint64)rcvbuf << 32;
	e->data_off = t->fd_data->len;
	e->data_len = alen;
	g_byte_array_append(t->fd_data, a, (guint)alen);
	return TRUE;
}

/* The open file at fd in the snapshot's fd list; 0 if it has no such fd. */
static guint64 file_at(GVariant *fds, guint32 fd)
{
	for (gsize i = 0; i < g_variant_n_children(fds); i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(fds, i);
		guint32 n;
		guint64 file = 0;
		if (g_variant_lookup(d, SV_TASK_FD_FD, "u", &n) && n == fd &&
		    g_variant_lookup(d, SV_TASK_FD_FILE, "t", &file))
			return file;
	}
	return 0;
}

/* A one-shot item that has fired keeps only EP_PRIVATE_BITS (WAKEUP,
 * ONESHOT, ET, EXCLUSIVE: include/linux/eventpoll.h): disarmed */
static gboolean oneshot_fired(guint32 events)
{
	const guint32 private_bits = (1u << 29) | EPOLLONESHOT_ | EPOLLET_ | (1u << 28);
	return (events & EPOLLONESHOT_) && !(events & ~private_bits);
}

gboolean sv_rimg_fd_epoll(SvRimgTables *t, GVariant *fds, const SvSnapFd *entry,
			  struct sv_rimg_fd *e, GError **error)
{
	if (!entry->epoll)
		return sv_rimg_refuse(error, "fd %u is an epoll fd without its interest list",
				      entry->fd);
	gsize n = g_variant_n_children(entry->epoll);
	if (t->fd_data->len + n * sizeof(struct sv_rimg_epoll_item) > MAX_EPOLL_DATA)
		return sv_rimg_refuse(error, "the epoll fds watch over %u MiB of items",
				      MAX_EPOLL_DATA >> 20);
	/* The restorer adds them in three rounds: edge-triggered items that
	 * were not ready and one-shot items that have fired (then drains what
	 * they report: already reported before the checkpoint; that disarms
	 * the one-shot ones again), the ready ones in ready-list order, the
	 * rest. kind_flags counts the first round. */
	g_autoptr(GArray) first = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_epoll_item));
	g_autoptr(GArray) rest = g_array_new(FALSE, TRUE, sizeof(struct sv_rimg_epoll_item));
	for (gsize i = 0; i < n; i++) {
		guint64 file, data;
		guint32 fd, events;
		gboolean ready;
		g_variant_get_child(entry->epoll, i, "(tuutb)", &file, &fd, &events, &data, &ready);
		if (fd >= SV_RIMG_MAX_FD || !file || file_at(fds, fd) != file)
			return sv_rimg_refuse(error,
					      "fd %u (epoll) watches a file it was given as fd %u, "
					      "which no longer holds it (closed or reused): epoll "
					      "keys it by that pair, so it cannot be added again",
					      entry->fd, fd);
		if (fd == entry->fd)
			return sv_rimg_refuse(error, "fd %u (epoll) watches itself", fd);
		struct sv_rimg_epoll_item it = { .fd = (gint32)fd, .events = events, .data = data };
		gboolean et_idle = (events & EPOLLET_) && !(events & EPOLLONESHOT_) && !ready;
		g_array_append_val(et_idle || oneshot_fired(events) ? first : rest, it);
	}
	e->kind = SV_RIMG_FD_EPOLL;
	e->kind_flags = first->len;
	e->data_off = t->fd_data->len;
	e->data_len = (guint64)(first->len + rest->len) * sizeof(struct sv_rimg_epoll_item);
	g_byte_array_append(t->fd_data, (const guint8 *)first->data,
			    first->len * (guint)sizeof(struct sv_rimg_epoll_item));
	g_byte_array_append(t->fd_data, (const guint8 *)rest->data,
			    rest->len * (guint)sizeof(struct sv_rimg_epoll_item));
	return TRUE;
}
