/* SPDX-License-Identifier: MIT */
/*
 * restore-kobjects.c - fds on anonymous inodes: eventfds made with their
 * count and EFD_SEMAPHORE, timerfds armed again with their unread
 * expirations, signalfds with their mask, epoll fds made empty at their turn and filled
 * once every fd is in place (their targets are other fds of the process,
 * at any number, and other epoll fds, filled first).
 *
 * An epoll fd's items come in three rounds (restore-image-kobjects.c):
 * edge-triggered items that were not on the ready list are added first
 * and whatever they report is drained at once - they had reported it
 * before the checkpoint, and an edge is reported once; then the ready
 * ones in ready-list order, so epoll_wait hands them out in that order;
 * then the rest.
 *
 * A one-shot item that had fired before the checkpoint is disarmed: the
 * kernel keeps only its private bits (EPOLLONESHOT, EPOLLET...), and
 * epoll_ctl cannot add an item like that (it adds EPOLLERR | EPOLLHUP to
 * every item). So it goes in with the first round, watching every event,
 * and the drain fires it once, which disarms it as before; its file must
 * report something at that moment, which /proc/self/fdinfo confirms.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "restore.h"

/* include/uapi/linux/timerfd.h; glibc's sys/timerfd.h lacks it */
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

static void set_flags(const struct sv_rimg_fd *f)
{
	if (fcntl(f->fd, F_SETFL, (int)(f->flags & O_NONBLOCK)) < 0)
		rst_die("fd %d: cannot set its flags: %s", f->fd, strerror(errno));
}

static void place(int tmp, const struct sv_rimg_fd *f, int base, const char *what)
{
	tmp = rst_move_up(tmp, base, what);
	rst_place(tmp, f);
	close(tmp);
	set_flags(f);
}

void rst_eventfd_restore(const struct sv_rimg_fd *f, int base)
{
	int e = eventfd(0, EFD_CLOEXEC | (f->kind_flags & EFD_SEMAPHORE ? EFD_SEMAPHORE : 0));
	if (e < 0)
		rst_die("fd %d: eventfd: %s", f->fd, strerror(errno));
	/* the count goes in with one write (never blocks: it was held) */
	uint64_t count = f->value[0];
	if (count && write(e, &count, 8) != 8)
		rst_die("fd %d: cannot set the eventfd's count to %llu: %s", f->fd,
			(unsigned long long)count, strerror(errno));
	place(e, f, base, "an eventfd");
}

void rst_timerfd_restore(const struct sv_rimg_fd *f, int base)
{
	int clockid = (int)(f->kind_flags & 0xffff);
	int t = timerfd_create(clockid, TFD_CLOEXEC);
	if (t < 0)
		rst_die("fd %d: timerfd_create(%d): %s", f->fd, clockid, strerror(errno));
	struct itimerspec its = {
		.it_value = { (time_t)(f->value[0] / 1000000000u),
			      (long)(f->value[0] % 1000000000u) },
		.it_interval = { (time_t)(f->value[1] / 1000000000u),
				 (long)(f->value[1] % 1000000000u) },
	};
	int abs = f->kind_flags & SV_RIMG_TIMERFD_ABSTIME ? TFD_TIMER_ABSTIME : 0;
	if (f->value[0] && timerfd_settime(t, abs, &its, NULL) < 0)
		rst_die("fd %d: timerfd_settime: %s", f->fd, strerror(errno));
	/* settime clears the count: the unread expirations go in after it
	 * (TFD_IOC_SET_TICKS, CONFIG_CHECKPOINT_RESTORE) */
	uint64_t ticks = f->value[2];
	if (ticks && ioctl(t, TFD_IOC_SET_TICKS, &ticks) < 0)
		rst_die("fd %d: cannot give the timerfd its %llu unread expirations "
			"(TFD_IOC_SET_TICKS): %s",
			f->fd, (unsigned long long)ticks, strerror(errno));
	place(t, f, base, "a timerfd");
}

void rst_signalfd_restore(const struct sv_rimg_fd *f, int base)
{
	/* the raw syscall takes the kernel's 8-byte sigset, as captured */
	uint64_t mask = f->value[0];
	int s = (int)syscall(SYS_signalfd4, -1, &mask, sizeof(mask), SFD_CLOEXEC);
	if (s < 0)
		rst_die("fd %d: signalfd: %s", f->fd, strerror(errno));
	place(s, f, base, "a signalfd");
}

void rst_epoll_create(const struct sv_rimg_fd *f, int base)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		rst_die("fd %d: epoll_create1: %s", f->fd, strerror(errno));
	place(ep, f, base, "an epoll fd");
}

static struct sv_rimg_epoll_item item(const uint8_t *data, const struct sv_rimg_fd *f, uint64_t i)
{
	struct sv_rimg_epoll_item it;
	memcpy(&it, data + f->data_off + i * sizeof(it), sizeof(it));
	return it;
}

static int is_epoll(const struct sv_rimg_fd *fds, uint32_t n, int fd)
{
	for (uint32_t k = 0; k < n; k++)
		if (fds[k].fd == fd)
			return fds[k].kind == SV_RIMG_FD_EPOLL;
	return 0;
}

/* include/linux/eventpoll.h's EP_PRIVATE_BITS: what a fired one-shot
 * item keeps */
#define EP_PRIVATE_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)
#define EP_ALL_EVENTS                                                                            \
	(EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND | \
	 EPOLLMSG | EPOLLRDHUP | EPOLLERR | EPOLLHUP)

static int disarmed(uint32_t events)
{
	return (events & EPOLLONESHOT) && !(events & ~(uint32_t)EP_PRIVATE_BITS);
}

/* The events /proc/self/fdinfo/<ep> shows for target fd tfd; dies if it
 * shows none for it. */
static uint32_t fdinfo_events(int ep, int tfd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		rst_die("fd %d (epoll): cannot open %s: %s", ep, path, strerror(errno));
	/* a line per item, "tfd: %8d events: %8x data: ..." (fs/eventpoll.c) */
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	ssize_t got;
	while (buf && (got = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)got;
		if (len == cap)
			buf = realloc(buf, (cap *= 2) + 1);
	}
	close(fd);
	if (!buf)
		rst_die("out of memory");
	buf[len] = 0;
	for (char *l = strstr(buf, "tfd:"); l; l = strstr(l + 1, "tfd:")) {
		int t;
		unsigned ev;
		if (sscanf(l, "tfd: %d events: %x", &t, &ev) == 2 && t == tfd) {
			free(buf);
			return ev;
		}
	}
	free(buf);
	rst_die("fd %d (epoll): %s does not list fd %d", ep, path, tfd);
}

/* After the first round's drain: every disarmed one-shot item must have
 * fired (its events back to the private bits only). */
static void check_disarmed(const struct sv_rimg_fd *f, const uint8_t *data)
{
	for (uint64_t i = 0; i < f->kind_flags; i++) {
		struct sv_rimg_epoll_item it = item(data, f, i);
		if (disarmed(it.events) && !disarmed(fdinfo_events(f->fd, it.fd)))
			rst_die("fd %d (epoll): its one-shot item for fd %d had fired before the "
				"checkpoint, and fd %d reports no event now to fire it again: it "
				"would come back armed",
				f->fd, it.fd, it.fd);
	}
}

static void fill(const struct sv_rimg_fd *f, const uint8_t *data)
{
	uint64_t n = f->data_len / sizeof(struct sv_rimg_epoll_item);
	for (uint64_t i = 0; i < n; i++) {
		struct sv_rimg_epoll_item it = item(data, f, i);
		struct epoll_event ev = { .events = it.events, .data.u64 = it.data };
		if (disarmed(it.events))
			ev.events |= EP_ALL_EVENTS;
		if (epoll_ctl(f->fd, EPOLL_CTL_ADD, it.fd, &ev) < 0)
			rst_die("fd %d (epoll): cannot watch fd %d again: %s", f->fd, it.fd,
				strerror(errno));
		if (i + 1 != f->kind_flags)
			continue;
		/* drain what the idle edge-triggered items report */
		struct epoll_event out[64];
		int got;
		do
			got = epoll_wait(f->fd, out, 64, 0);
		while (got == 64);
		if (got < 0)
			rst_die("fd %d (epoll): epoll_wait: %s", f->fd, strerror(errno));
		check_disarmed(f, data);
	}
}

void rst_epoll_fill(const struct sv_rimg_header *h, const struct sv_rimg_fd *fds,
		    const uint8_t *data)
{
	/* an epoll fd whose targets include epoll fds waits for those:
	 * filled in rounds, each taking those with no unfilled epoll target
	 * (the kernel forbids loops, and the image is checked: a round that
	 * fills nothing is a corrupt image) */
	uint32_t left = 0;
	uint8_t *done = calloc(h->nfds ? h->nfds : 1, 1);
	if (!done)
		rst_die("out of memory");
	for (uint32_t i = 0; i < h->nfds; i++) {
		const struct sv_rimg_fd *f = &fds[i];
		if (f->kind != SV_RIMG_FD_EPOLL || f->dup_of >= 0) {
			done[i] = 1;
			continue;
		}
		if (f->data_len % sizeof(struct sv_rimg_epoll_item) ||
		    f->kind_flags > f->data_len / sizeof(struct sv_rimg_epoll_item))
			rst_die("corrupt restore image: fd %d's epoll items", f->fd);
		left++;
	}
	while (left) {
		uint32_t filled = 0;
		for (uint32_t i = 0; i < h->nfds; i++) {
			if (done[i])
				continue;
			int ready = 1;
			uint64_t n = fds[i].data_len / sizeof(struct sv_rimg_epoll_item);
			for (uint64_t k = 0; k < n && ready; k++) {
				int t = item(data, &fds[i], k).fd;
				for (uint32_t j = 0; j < h->nfds && ready; j++)
					ready = !(fds[j].fd == t && !done[j] &&
						  is_epoll(fds, h->nfds, t));
			}
			if (!ready)
				continue;
			fill(&fds[i], data);
			done[i] = 1;
			filled++;
		}
		if (!filled)
			rst_die("corrupt restore image: epoll fds watch each other in a loop");
		left -= filled;
	}
	free(done);
}
