/* SPDX-License-Identifier: MIT */
/*
 * channel.c - frames over the virtio-serial port.
 *
 * How a virtio-console port behaves in the guest (Linux 6.1, QEMU 7.2
 * chardev socket server=on,wait=off; measured, and matching
 * drivers/char/virtio_console.c):
 *   - While no host program is connected to the chardev socket (before the
 *     first connect, and after the host closes - a host shutdown(SHUT_WR)
 *     counts as a close, QEMU drops the connection on EOF): poll() returns
 *     at once with POLLIN|POLLHUP, and keeps doing so; read() returns 0;
 *     write() on an O_NONBLOCK fd fails with EAGAIN (a blocking write would
 *     sleep until a host connects - for ever, maybe).
 *   - Bytes the host sent before it closed are still read first; 0 comes
 *     only after them. Bytes a host sends before the agent opens the port
 *     wait in QEMU (it does not read the socket until the guest opens).
 *   - On every connect and disconnect the driver sends SIGIO to the owner of
 *     an O_ASYNC port fd (main.c uses that to wake up), and poll() turns to
 *     POLLOUT (plus POLLIN when data is there).
 *   - What the guest wrote and QEMU had not passed on when the host went
 *     away is discarded by QEMU, never delivered to the next host.
 * So a disconnected port is not polled, and frames wait in a queue (never
 * a blocking write). On a disconnect, replies queued for the old host are
 * dropped - their tags would mean something else to a new host - and a frame
 * cut off mid-write is restarted whole (OUTPUT/EXIT) or dropped (a reply),
 * so a new host never starts mid-frame. Input that does not parse is
 * skipped up to the next HELLO header: a host (or anything else) writing
 * garbage cannot wedge the agent.
 *
 * Under snapvm's KVM VMM the port is an emulated UART (always connected,
 * a trapped port write per byte): there the VMM usually accepts the
 * agent's rings (ring.c), and the frames go through them, the port only
 * carrying doorbells both ways.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "guest/agent/test-hooks.h"

#define IN_CAP (2 * (SV_PROTO_MAX_PAYLOAD + SV_PROTO_HEADER_SIZE))

/* Past this much queued output, stop reading requests: a host that sends
 * requests and never reads the replies gets back-pressure, not our memory. */
#define OUT_HIGH_WATER (8u << 20)

struct outframe {
	struct outframe *next;
	uint16_t type;
	size_t len;
	size_t off;
	uint8_t data[];
};

struct channel {
	int fd;
	bool connected;
	bool attached; /* connected and a HELLO seen on this connection */
	bool resync;
	uint8_t *in;
	size_t in_len;
	size_t consumed; /* bytes of the frame last returned, dropped on the next call */
	struct outframe *head, *tail;
	size_t queued;
	struct ring *ring; /* the fast transport, or NULL: the port itself */
};

static void drop_head(struct channel *ch);

struct channel *channel_open(int fd)
{
	struct channel *ch = calloc(1, sizeof(*ch));
	if (ch)
		ch->in = malloc(IN_CAP);
	if (!ch || !ch->in) {
		agent_log("out of memory");
		agent_poweroff();
	}
	ch->fd = fd;
	channel_recheck(ch);
	return ch;
}

void channel_use_ring(struct channel *ch, struct ring *r)
{
	ch->ring = r;
}

void channel_close(struct channel *ch)
{
	while (ch->head)
		drop_head(ch);
	close(ch->fd);
	free(ch->in);
	free(ch);
}

int channel_fd(const struct channel *ch)
{
	return ch->fd;
}

bool channel_host_connected(const struct channel *ch)
{
	return ch->connected;
}

bool channel_attached(const struct channel *ch)
{
	return ch->connected && ch->attached;
}

void channel_mark_attached(struct channel *ch)
{
	ch->attached = true;
	ch->resync = false;
}

/* Frames the agent sends on its own survive a disconnect; replies do not. */
static bool unsolicited(uint16_t type)
{
	return type == SV_MSG_OUTPUT || type == SV_MSG_EXIT;
}

size_t channel_queued(const struct channel *ch)
{
	return ch->queued;
}

short channel_poll_events(const struct channel *ch)
{
	if (!ch->connected)
		return 0;
	if (ch->ring)
		return POLLIN; /* the VMM's wake-ups: bytes to read, or room */
	return (ch->queued < OUT_HIGH_WATER ? POLLIN : 0) | (ch->head ? POLLOUT : 0);
}

static void drop_head(struct channel *ch)
{
	struct outframe *f = ch->head;
	ch->head = f->next;
	if (!ch->head)
		ch->tail = NULL;
	ch->queued -= f->len - f->off;
	free(f);
}

static void host_went_away(struct channel *ch)
{
	ch->connected = false;
	ch->attached = false;
	struct outframe **pp = &ch->head;
	ch->tail = NULL;
	while (*pp) {
		struct outframe *f = *pp;
		if (!unsolicited(f->type)) {
			*pp = f->next;
			ch->queued -= f->len - f->off;
			free(f);
			continue;
		}
		ch->queued += f->off;
		f->off = 0;
		ch->tail = f;
		pp = &f->next;
	}
	/* Input already read stays: whole frames the old host sent before it
	 * closed are still served (a POWEROFF, say); a cut-off one is dropped by
	 * channel_next_frame. */
}

/* What the ring from the host holds, as far as the input buffer takes it
 * and the output queue is short (the same back-pressure as the port's). */
static void read_ring(struct channel *ch)
{
	if (ch->queued >= OUT_HIGH_WATER)
		return;
	if (ch->in_len == IN_CAP) {
		ch->in_len = 0; /* only garbage fills this much */
		ch->resync = true;
	}
	ch->in_len += ring_read(ch->ring, ch->in + ch->in_len, IN_CAP - ch->in_len);
}

static void read_input(struct channel *ch)
{
	if (ch->ring) {
		/* drain the wake-ups first: one that comes later is for bytes
		 * the ring has after this look */
		ring_drain_port(ch->ring);
		read_ring(ch);
		return;
	}
	for (;;) {
		if (ch->in_len == IN_CAP) {
			/* Only garbage can fill this much: no valid frame is larger. */
			ch->in_len = 0;
			ch->resync = true;
		}
		ssize_t n = read(ch->fd, ch->in + ch->in_len, IN_CAP - ch->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return; /* EAGAIN: all read */
		if (n == 0) {
			host_went_away(ch);
			return;
		}
		ch->in_len += n;
	}
}

void channel_recheck(struct channel *ch)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };
	if (poll(&p, 1, 0) < 0)
		return;
	if (!(p.revents & POLLHUP)) {
		ch->connected = true;
		return;
	}
	if (ch->connected) {
		read_input(ch); /* what the host sent before it went; ends in host_went_away */
		if (ch->connected)
			host_went_away(ch);
	}
}

static void write_ring(struct channel *ch)
{
	bool wrote = false;
	while (ch->head) {
		struct outframe *f = ch->head;
		size_t n = ring_write(ch->ring, f->data + f->off, f->len - f->off);
		wrote |= n > 0;
		f->off += n;
		ch->queued -= n;
		if (f->off < f->len)
			break; /* full: the VMM wakes us when it has taken bytes */
		drop_head(ch);
	}
	if (wrote)
		ring_doorbell(ch->ring);
}

static void write_output(struct channel *ch)
{
	if (ch->ring) {
		write_ring(ch);
		return;
	}
	while (ch->head) {
		struct outframe *f = ch->head;
		ssize_t n = write(ch->fd, f->data + f->off, f->len - f->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* EAGAIN: the port is full; poll tells us when not */
		f->off += n;
		ch->queued -= n;
		if (f->off == f->len)
			drop_head(ch);
	}
}

void channel_handle_events(struct channel *ch, short revents)
{
	/* On POLLHUP, read first: what the host sent before closing comes
	 * before the 0 that tells read_input it is gone. */
	if (revents & (POLLIN | POLLHUP | POLLERR))
		read_input(ch);
	if (ch->connected && (revents & (POLLHUP | POLLERR)))
		channel_recheck(ch);
	if (ch->connected && (revents & POLLOUT || (ch->ring && revents & POLLIN)))
		write_output(ch);
}

/*
 * The longest payload each request can have. A header claiming more is
 * garbage at once, instead of after the agent has waited for (and
 * swallowed) that many bytes - which could be the next host's HELLOs.
 * HELLO leaves room for fields a later host might add; RUN and the types
 * the agent does not serve (answered with an error) keep the protocol cap.
 * The test hooks' types have limits only where the hooks are built in.
 */
static uint32_t max_payload(uint16_t type)
{
	switch (type) {
	case SV_MSG_HELLO:
		return 64;
	case SV_MSG_PS:
		return 0;
	case SV_MSG_POWEROFF:
		return 0;
	case SV_MSG_READFILE:
		return 4 + SV_READFILE_MAX_PATH + 8 + 4;
	default:
		return test_hooks_max_payload(type) ? test_hooks_max_payload(type)
						    : SV_PROTO_MAX_PAYLOAD;
	}
}

/* Finds a plausible HELLO header in the input and drops what is before it. */
static void resync(struct channel *ch)
{
	for (size_t i = 0; i + SV_PROTO_HEADER_SIZE <= ch->in_len; i++) {
		struct sv_frame_header h;
		if (sv_frame_header_decode(ch->in + i, &h) == SV_PROTO_OK &&
		    h.type == SV_MSG_HELLO && h.length >= 4 &&
		    h.length <= max_payload(SV_MSG_HELLO)) {
			memmove(ch->in, ch->in + i, ch->in_len - i);
			ch->in_len -= i;
			ch->resync = false;
			return;
		}
	}
	/* keep a tail that may be the start of a header */
	size_t keep = ch->in_len < SV_PROTO_HEADER_SIZE ? ch->in_len : SV_PROTO_HEADER_SIZE - 1;
	memmove(ch->in, ch->in + ch->in_len - keep, keep);
	ch->in_len = keep;
}

bool channel_next_frame(struct channel *ch, struct frame *out)
{
	if (ch->consumed) {
		memmove(ch->in, ch->in + ch->consumed, ch->in_len - ch->consumed);
		ch->in_len -= ch->consumed;
		ch->consumed = 0;
	}
	/* a ring may hold more than the last look took: no wake-up comes
	 * for it */
	if (ch->ring)
		read_ring(ch);
	for (;;) {
		if (ch->resync)
			resync(ch);
		if (ch->resync || ch->in_len < SV_PROTO_HEADER_SIZE) {
			if (!ch->connected) {
				/* the next host starts afresh */
				ch->in_len = 0;
				ch->resync = false;
			}
			return false;
		}
		enum sv_proto_status st = sv_frame_header_decode(ch->in, &out->hdr);
		if (st == SV_PROTO_OK && out->hdr.length > max_payload(out->hdr.type))
			st = SV_PROTO_TOO_LONG;
		if (st != SV_PROTO_OK) {
			agent_log("bad frame from host (%s); skipping to the next HELLO",
				  sv_proto_status_str(st));
			channel_send_error(ch, out->hdr.tag, out->hdr.type, EPROTO,
					   "bad frame: %s; input discarded up to the next HELLO",
					   sv_proto_status_str(st));
			ch->resync = true;
			/* skip this header's first byte so resync looks further */
			memmove(ch->in, ch->in + 1, ch->in_len - 1);
			ch->in_len -= 1;
			continue;
		}
		size_t total = SV_PROTO_HEADER_SIZE + out->hdr.length;
		if (ch->in_len < total) {
			if (!ch->connected)
				ch->in_len = 0; /* cut off by the disconnect: never whole */
			return false;
		}
		out->payload = ch->in + SV_PROTO_HEADER_SIZE;
		ch->consumed = total;
		return true;
	}
}

void channel_send(struct channel *ch, uint16_t type, uint32_t tag, const void *payload,
		  uint32_t len)
{
	if (!ch->connected && !unsolicited(type))
		return; /* a reply to a host that is gone */
	struct outframe *f = malloc(sizeof(*f) + SV_PROTO_HEADER_SIZE + len);
	if (!f) {
		agent_log("out of memory queueing a frame");
		return;
	}
	f->next = NULL;
	f->type = type;
	f->len = SV_PROTO_HEADER_SIZE + len;
	f->off = 0;
	sv_frame_header_encode(f->data, type, len, tag);
	if (len)
		memcpy(f->data + SV_PROTO_HEADER_SIZE, payload, len);
	if (ch->tail)
		ch->tail->next = f;
	else
		ch->head = f;
	ch->tail = f;
	ch->queued += f->len;
	if (ch->connected)
		write_output(ch);
}

void channel_send_error(struct channel *ch, uint32_t tag, uint16_t req_type, int err,
			const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	uint8_t buf[sizeof(msg) + 16];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_u32(&w, req_type);
	sv_wbuf_u32(&w, (uint32_t)err);
	sv_wbuf_str(&w, msg);
	channel_send(ch, SV_MSG_ERROR, tag, buf, (uint32_t)w.len);
}

void channel_flush(struct channel *ch, int timeout_ms)
{
	for (int waited = 0; ch->head && ch->connected && waited < timeout_ms; waited += 10) {
		struct pollfd p = { .fd = ch->fd, .events = ch->ring ? POLLIN : POLLOUT };
		if (poll(&p, 1, 10) > 0)
			channel_handle_events(ch, p.revents);
	}
}
