/* SPDX-License-Identifier: MIT */
/*
 * agent.h - snapvm-agent, the guest side of snapvm. It runs as PID 1 of the
 * guest's initramfs, speaks include/snapvm/agent-proto.h over a virtio-serial
 * port, starts workloads and forwards their output, and reports what /proc
 * says. Plain libc, static: the guest has nothing else.
 *
 * Files: main.c (event loop, dispatch, reaping children), init-setup.c
 * (PID 1 duties), image-root.c (a run's root filesystem image, loopback), log.c (messages on the console), small-file.c (reading
 * /proc and /sys entries), channel.c (frame I/O on the port), ring.c (the kvm backend's rings in guest RAM), workloads.c
 * (children: start, forward output), outbuf.c (bounded output buffers),
 * procfs.c (process list), readfile.c (file contents for the host), hold.c
 * (freezing a process while its snapshot is written), restore-pid.c (the
 * pid a restored process gets). The requests only tests send are
 * guest/test-hooks/ (through guest/agent/test-hooks.h), built in only with -Dtest_hooks=true.
 */
#ifndef SNAPVM_AGENT_H
#define SNAPVM_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapvm/agent-proto.h"

#define AGENT_VERSION "snapvm-agent 0.1.0"

/* ---- log.c ---- */
/* Prints to the console (stderr of PID 1) with an "snapvm-agent: " prefix. */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- small-file.c ---- */
/* Reads a small file (a /proc or /sys entry) NUL-terminated into buf. */
bool agent_read_file(const char *path, char *buf, size_t cap);

/* ---- init-setup.c ---- */
/* Mounts /proc, /sys, /dev, /tmp, /run and loads the modules in
 * /lib/modules/load-order. Failures are printed, not fatal: a later step
 * (finding the port) reports what is missing. */
void agent_init_setup(void);
/* ---- image-root.c ---- */
/* With snapvm.root=DEV on the kernel command line: mounts /dev/DEV (ext4,
 * read-only) under a RAM overlay and makes it the root. True when done or
 * not asked for; false (after saying why) when the root cannot be entered. */
bool agent_enter_image_root(void);
/* Brings lo up (127.0.0.1). Failures are printed, not fatal. */
void agent_loopback_up(void);

/* ---- init-setup.c (continued) ---- */
/* Waits up to timeout_ms for the named virtio port and returns its /dev path. */
bool agent_find_port(const char *name, int timeout_ms, char *path, size_t cap);
/* Powers the guest off (as PID 1) or exits (when run by hand). */
void agent_poweroff(void) __attribute__((noreturn));
/* As PID 1: makes fds 0-2 the console if the kernel could not, and turns
 * crashes into a message and a power-off (PID 1 must never die). */
void agent_init_guard(void);

/* ---- channel.c ---- */
struct frame {
	struct sv_frame_header hdr;
	const uint8_t *payload; /* valid until the next channel_next_frame */
};

struct channel;
struct ring;
struct channel *channel_open(int fd);
/* From now on the channel's bytes go through the rings (ring.c); the port
 * only carries wake-ups. */
void channel_use_ring(struct channel *ch, struct ring *r);
/* Frees the channel and closes its fd (the agent itself never needs to). */
void channel_close(struct channel *ch);
int channel_fd(const struct channel *ch);
/* Whether a host program is connected to the port, as far as it lets us know. */
bool channel_host_connected(const struct channel *ch);
/* Connected, and that host has said HELLO on this connection: only then is
 * workload output sent (see workloads.c). */
bool channel_attached(const struct channel *ch);
/* Called on HELLO: the peer is a snapvm host and the input is at a frame
 * boundary. */
void channel_mark_attached(struct channel *ch);
/* Events to poll for on the port (0 while the host is away: the port then
 * reports POLLHUP continuously; main.c waits for SIGIO instead). */
short channel_poll_events(const struct channel *ch);
/* Handles poll results: reads what is there, writes what is queued. */
void channel_handle_events(struct channel *ch, short revents);
/* Re-checks a disconnected port (on SIGIO and on the loop's slow timer). */
void channel_recheck(struct channel *ch);
/* Returns the next whole, valid frame, or false. Garbage is skipped: after
 * a bad header the channel discards input until a HELLO header. */
bool channel_next_frame(struct channel *ch, struct frame *out);
/* Queues a frame. Never blocks; the queue is drained as the port allows.
 * Replies queued while no host is connected are dropped (nobody asked for
 * them); OUTPUT and EXIT frames wait for the next host. */
void channel_send(struct channel *ch, uint16_t type, uint32_t tag, const void *payload,
		  uint32_t len);
void channel_send_error(struct channel *ch, uint32_t tag, uint16_t req_type, int err,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Bytes queued and not yet written. */
size_t channel_queued(const struct channel *ch);
/* Tries for up to timeout_ms to write everything queued (before poweroff). */
void channel_flush(struct channel *ch, int timeout_ms);

/* ---- ring.c: the kvm backend's fast transport (snapvm/agent-ring.h) ---- */
/* Offers rings to the VMM on the port fd (before anything else is written
 * there) and waits for its answer: the rings if accepted, else NULL (the
 * port stays a serial line; the console says why). */
struct ring *ring_offer(int fd);
/* Copies what fits of buf into the ring to the host; the rest must wait
 * for the port to be readable (the VMM's wake-up). */
size_t ring_write(struct ring *r, const void *buf, size_t len);
/* Takes up to cap bytes from the ring from the host. */
size_t ring_read(struct ring *r, void *buf, size_t cap);
/* Tells the VMM the ring to the host has new bytes. */
void ring_doorbell(struct ring *r);
/* Reads the VMM's wake-ups off the port (they carry nothing). */
void ring_drain_port(struct ring *r);

/* ---- workloads.c ---- */
/* Starts argv with envp (NULL: a default environment) in cwd (NULL: "/");
 * an argv[0] without a slash is looked up in envp's PATH. Returns the pid,
 * or -errno with *what naming the failed step. */
pid_t workloads_start(char *const argv[], char *const envp[], const char *cwd, const char **what);
/* Adds the workloads' pipes to a pollfd array; returns how many were added. */
struct pollfd;
int workloads_poll_fds(const struct channel *ch, struct pollfd *fds, int max);
/* Reads the pipes that poll marked readable into the workloads' buffers. */
void workloads_handle_events(const struct channel *ch, const struct pollfd *fds, int n);
/* Records a child's exit, as waitpid reported it (main.c reaps children,
 * the oracle waits for its tracee); other statuses, and the exits of
 * orphans that are not workloads, are ignored. */
void workloads_note_status(pid_t pid, int status);
/* Workload `standby` becomes pid `to` (SV_MSG_STANDBY_GO: its process
 * makes `to`, the agent's child too, and ends): output and exit are then
 * `to`'s. 0, or -ESRCH when standby is no running workload. */
int workloads_hand_over(pid_t standby, pid_t to);
/* Undoes it (the signal could not be sent). */
void workloads_hand_back(pid_t to, pid_t standby);
/* Moves buffered output, then EXIT frames, into the channel while a host
 * is attached and the channel queue is short. */
void workloads_pump(struct channel *ch);

/* ---- outbuf.c ---- */
/* A workload's output waiting for the host: a FIFO of chunks, each from one
 * stream, bounded by dropping the oldest bytes (counted, so the host gets a
 * note saying how many). */
#define OUTBUF_CHUNK (64u * 1024) /* largest OUTPUT frame payload's bytes */
#define OUTBUF_CAP (4u << 20)	  /* per workload */
struct outchunk;
struct outbuf {
	struct outchunk *head, *tail;
	size_t len;	  /* bytes held */
	uint64_t dropped; /* bytes dropped and not yet reported */
};
/* Appends bytes of stream (1 stdout, 2 stderr); drops the oldest past
 * OUTBUF_CAP. False if out of memory (the bytes are counted as dropped). */
bool outbuf_append(struct outbuf *b, uint32_t stream, const uint8_t *data, size_t n);
/* The oldest chunk's stream and bytes (at most OUTBUF_CHUNK); false if empty. */
bool outbuf_peek(const struct outbuf *b, uint32_t *stream, const uint8_t **data, size_t *n);
/* Drops the chunk outbuf_peek returned. */
void outbuf_pop(struct outbuf *b);
void outbuf_clear(struct outbuf *b);

/* ---- procfs.c ---- */
void procfs_reply_ps(struct channel *ch, uint32_t tag);

/* ---- readfile.c ---- */
void readfile_reply(struct channel *ch, uint32_t tag, const struct sv_readfile_req *req);

/* ---- writefile.c ---- */
void writefile_reply(struct channel *ch, uint32_t tag, const struct sv_writefile_req *req);

/* ---- soft-dirty.c ---- */
void soft_dirty_reply(struct channel *ch, uint32_t tag, const struct sv_soft_dirty_req *req);

/* ---- hold.c ---- */
/* Freezes pid (cgroup v2 freezer) for owner, waiting up to timeout_ms
 * until every thread has stopped; 0, or -errno with *what saying which step
 * failed (the process is then left running as it was). */
int hold_freeze(const struct channel *owner, pid_t pid, uint32_t timeout_ms, const char **what);
/* Thaws a held pid and puts it back in its cgroup; 0, or -errno
 * (-ENOENT: not held). */
int hold_thaw(pid_t pid);

/* ---- resumed.c ---- */
/* SV_MSG_RESUMED's work: len bytes of entropy into the kernel's
 * input pool, credited, the CRNG reseeded, the wall clock set to wall_ns.
 * 0, or -errno and in *what the step that failed. */
int resumed_apply(const uint8_t *entropy, uint32_t len, uint64_t wall_ns, const char **what);
/* Lets go of processes whose owner disconnected, and removes the cgroups
 * of held processes that have exited. */
void hold_tidy(void);

/* ---- restore-pid.c ---- */
/* Makes the agent's next fork get pid, if no process has it (snapvm
 * restore); best effort: the host checks the pid it got. */
void restore_claim_pid(uint32_t pid);
/* SV_MSG_STANDBY_GO: checks that pid is free, moves workload standby to
 * it and signals the standby restorer to restore as pid. 0 or -errno. */
int restore_standby_go(uint32_t standby, uint32_t pid, bool mail);

#endif
