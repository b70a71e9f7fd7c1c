/* SPDX-License-Identifier: MIT */
/*
 * agent.h - snapvm-agent, the guest side of snapvm. It runs as PID 1 of the
 * guest's initramfs, speaks include/snapvm/agent-proto.h over a virtio-serial
 * port, starts workloads and forwards their output, and reports what /proc
 * says. Plain libc, static: the guest has nothing else.
 *
 * Files: main.c (event loop, dispatch), init-setup.c (PID 1 duties),
 * channel.c (frame I/O on the port), workloads.c (children and their
 * output), procfs.c (process list), mempattern.c (guest-physical check).
 */
#ifndef SNAPVM_AGENT_H
#define SNAPVM_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapvm/agent-proto.h"

#define AGENT_VERSION "snapvm-agent 0.1.0"

/* ---- init-setup.c ---- */
/* Mounts /proc, /sys, /dev, /tmp, /run and loads the modules in
 * /lib/modules/load-order. Failures are printed, not fatal: a later step
 * (finding the port) reports what is missing. */
void agent_init_setup(void);
/* Waits up to timeout_ms for the named virtio port and returns its /dev path. */
bool agent_find_port(const char *name, int timeout_ms, char *path, size_t cap);
/* Powers the guest off (as PID 1) or exits (when run by hand). */
void agent_poweroff(void) __attribute__((noreturn));
/* Prints to the console (stderr of PID 1) with an "snapvm-agent: " prefix. */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- channel.c ---- */
struct frame {
	struct sv_frame_header hdr;
	const uint8_t *payload; /* valid until the next channel_next_frame */
};

struct channel;
struct channel *channel_open(int fd);
/* Frees the channel and closes its fd (the agent itself never needs to). */
void channel_close(struct channel *ch);
int channel_fd(const struct channel *ch);
/* Whether the host end is connected, as far as the port lets us know. */
bool channel_host_connected(const struct channel *ch);
/* Events to poll for on the port (0 while the host is away: the port then
 * reports POLLHUP continuously, so the loop re-checks on a timer instead). */
short channel_poll_events(const struct channel *ch);
/* Handles poll results: reads what is there, writes what is queued. */
void channel_handle_events(struct channel *ch, short revents);
/* Re-checks a disconnected port (called on the loop's timer). */
void channel_recheck(struct channel *ch);
/* Returns the next whole, valid frame, or false. Garbage is skipped: after
 * a bad header the channel discards input until a HELLO header. */
bool channel_next_frame(struct channel *ch, struct frame *out);
/* Queues a frame. Never blocks; the queue is drained as the port allows. */
void channel_send(struct channel *ch, uint16_t type, uint32_t tag, const void *payload,
		  uint32_t len);
void channel_send_error(struct channel *ch, uint32_t tag, uint16_t req_type, int err,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Bytes queued and not yet written. */
size_t channel_queued(const struct channel *ch);
/* Tries for up to timeout_ms to write everything queued (before poweroff). */
void channel_flush(struct channel *ch, int timeout_ms);

/* ---- workloads.c ---- */
/* Starts argv; returns the pid, or -errno with *what naming the failed step. */
pid_t workloads_start(char *const argv[], const char **what);
/* Adds the workloads' pipes to a pollfd array; returns how many were added. */
struct pollfd;
int workloads_poll_fds(struct pollfd *fds, int max);
/* Forwards output for pipes that poll marked readable, and emits EXIT frames
 * for workloads that have exited and whose output is drained. */
void workloads_handle_events(struct channel *ch, const struct pollfd *fds, int n);
/* Reaps children (PID 1 reaps orphans too). */
void workloads_reap(struct channel *ch);

/* ---- procfs.c ---- */
/* Reads a small file (a /proc or /sys entry) NUL-terminated into buf. */
bool agent_read_file(const char *path, char *buf, size_t cap);
void procfs_reply_ps(struct channel *ch, uint32_t tag);

/* ---- mempattern.c ---- */
void mempattern_reply(struct channel *ch, uint32_t tag, uint64_t seed, uint32_t npages);

#endif
