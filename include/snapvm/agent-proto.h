/* SPDX-License-Identifier: MIT */
/*
 * agent-proto.h - the wire protocol between the host (snapvm) and the guest
 * agent (snapvm-agent), carried over a virtio-serial port.
 *
 * Shared verbatim by both sides: it is plain C11 with no GLib so that the
 * static agent can use it. Everything on the wire is little-endian whatever
 * the host or guest byte order, so a big-endian guest arch needs no changes.
 *
 *   frame := header payload
 *
 *   header (16 bytes)
 *   +-------------+---------+--------+-------------+-------------+
 *   | magic  u32  | ver u16 | type16 | length u32  | tag u32     |
 *   | "SNVA"      |   1     |        | payload len | request id  |
 *   +-------------+---------+--------+-------------+-------------+
 *
 *   payload: a sequence of fields, each a le32, a le64 or a byte string
 *   (le32 length, then the bytes; strings carry no NUL). The order of the
 *   fields per message type is listed at enum sv_msg_type.
 *
 * A reply echoes the tag of its request; frames the agent sends on its own
 * (workload output, exit) carry tag 0. A reader must reject a bad magic, an
 * unknown major version, and a length over SV_PROTO_MAX_PAYLOAD before it
 * allocates anything: the peer is not trusted in either direction.
 */
#ifndef SNAPVM_AGENT_PROTO_H
#define SNAPVM_AGENT_PROTO_H

#include "snapvm/le.h"
#include "snapvm/restore-image-format.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SV_PROTO_MAGIC 0x41564e53u /* "SNVA" read as le32 */
#define SV_PROTO_VERSION 1u
#define SV_PROTO_HEADER_SIZE 16u
#define SV_PROTO_MAX_PAYLOAD (1u << 20)
#define SV_PROTO_MAX_ARGS 256u
/* Name of the virtio-serial port; the agent finds it in /sys/class/virtio-ports. */
#define SV_AGENT_PORT_NAME "org.snapvm.agent.0"
/* The control port: same protocol and requests, served alongside port 0, so
 * a second snapvm process can ask the agent things while one streams a
 * workload on port 0. Workload output and the poweroff-on-host-loss tie stay
 * on port 0. */
#define SV_AGENT_CONTROL_PORT_NAME "org.snapvm.agent.1"
/* Where the appended workload cpio puts programs inside the guest. */
#define SV_GUEST_WORKLOAD_DIR "/workload"

enum sv_msg_type {
	/* host->agent: u32 host protocol version */
	SV_MSG_HELLO = 1,
	/* agent->host: u32 protocol version, str agent version, str uname machine,
	 * str kernel release, u64 agent uptime in ns (CLOCK_BOOTTIME) */
	SV_MSG_HELLO_REPLY = 2,
	/* host->agent: u32 flags (SV_RUN_*), u32 argc, argc x str (argv[0] is the
	 * path, or a name looked up in PATH); with SV_RUN_ENV_CWD then u32 envc,
	 * envc x str (K=V: the whole environment), str working directory */
	SV_MSG_RUN = 3,
	/* agent->host: u32 guest pid of the started workload */
	SV_MSG_RUN_REPLY = 4,
	/* agent->host, tag 0: u32 pid, u32 stream (1 stdout, 2 stderr), str bytes */
	SV_MSG_OUTPUT = 5,
	/* agent->host, tag 0: u32 pid, u32 raw wait status (as waitpid gives it) */
	SV_MSG_EXIT = 6,
	/* host->agent: no fields */
	SV_MSG_PS = 7,
	/* agent->host: u32 count, count x { u32 pid, u32 ppid, u32 state char,
	 * u64 rss in KiB, str comm } */
	SV_MSG_PS_REPLY = 8,
	/* host->agent: u64 seed, u32 page count. The agent fills that many pages of
	 * its own locked memory with sv_pattern_byte(seed, i) and keeps them. */
	SV_MSG_MEMPATTERN = 9,
	/* agent->host: u64 guest virtual address, u32 page size, u32 count,
	 * count x u64 guest-physical address of each page (from /proc/self/pagemap) */
	SV_MSG_MEMPATTERN_REPLY = 10,
	/* agent->host: u32 type of the failed request, i32 errno, str message */
	SV_MSG_ERROR = 11,
	/* host->agent: no fields; the agent answers SV_MSG_OK, syncs and powers off */
	SV_MSG_POWEROFF = 12,
	/* agent->host: no fields; generic acknowledgement */
	SV_MSG_OK = 13,
	/* host->agent: str path, u64 offset, u32 max_len (<= SV_READFILE_MAX_CHUNK).
	 * Only regular files are read. */
	SV_MSG_READFILE = 14,
	/* agent->host: u64 file size, u64 st_ino, u64 st_mtime in ns, str bytes
	 * (at most max_len bytes from offset; fewer only at end of file) */
	SV_MSG_READFILE_REPLY = 15,
	/* host->agent, for tests only: u32 pid, u32 flags (SV_ORACLE_*). The
	 * agent ptrace-seizes and interrupts the process, reads its registers,
	 * maps and memory, and detaches (it runs on as before). */
	SV_MSG_ORACLE = 16,
	/* agent->host: str NT_PRSTATUS bytes (user_regs_struct / user_pt_regs),
	 * str NT_PRFPREG bytes, str NT_X86_XSTATE bytes (empty if the arch has
	 * none), str NT_ARM_TLS bytes (empty if none), str /proc/PID/maps text,
	 * u32 n, n x { u64 start, u64 end, str sha256 hex } - one per maps line,
	 * in order; the hash is empty for a region not readable through
	 * /proc/PID/mem (no 'r', [vvar], [vsyscall]) or with SV_ORACLE_NO_HASHES;
	 * then (optional: older agents end before it) str fds text, a line
	 * "FD POS FLAGS TARGET" per open fd (flags in octal as fdinfo shows
	 * them, O_CLOEXEC included; target as readlink /proc/PID/fd/FD) */
	SV_MSG_ORACLE_REPLY = 17,
	/* host->agent: u32 pid, u32 signal number. The agent sends the signal
	 * (snapvm checkpoint --kill) and answers SV_MSG_OK, or SV_MSG_ERROR with
	 * kill(2)'s errno. */
	SV_MSG_KILL = 18,
	/* host->agent: u32 pid, u32 timeout in ms. The agent freezes the
	 * process (cgroup v2 freezer, guest/agent/hold.c) and answers SV_MSG_OK
	 * once none of its threads can run, or SV_MSG_ERROR (it then runs on
	 * as before). The hold ends with SV_MSG_THAW, or when the channel that
	 * asked for it disconnects (snapvm checkpoint --kill). */
	SV_MSG_FREEZE = 19,
	/* 20..29: snapvm restore. */
	/* host->agent: u32 pid wanted, then the fields of SV_MSG_RUN. RUN, but
	 * the new process gets that pid when it is free (the agent sets
	 * ns_last_pid just before it forks); the reply is SV_MSG_RUN_REPLY with
	 * the pid it got, which the host compares. */
	SV_MSG_RUN_AS_PID = 20,
	/* host->agent: str path, u32 mode, u64 offset, str bytes (at most
	 * SV_WRITEFILE_MAX_CHUNK). Writes the bytes at offset of the file
	 * (offset 0: made afresh, with mode), only a file directly in
	 * SV_RIMG_GUEST_DIR, which the agent makes. SV_MSG_OK, or SV_MSG_ERROR.
	 * A restore into a guest that booted without the restorer and its
	 * image in its initrd (snapvm pool) carries them this way. */
	SV_MSG_WRITEFILE = 21,
	/* host->agent: u32 standby pid, u32 pid wanted, u32 flags (SV_RUN_*,
	 * as for RUN). The standby pid is a
	 * workload the host started as `restorer --standby MIB` (a pool guest's
	 * restorer with pre-faulted memory, waiting). The agent checks that the
	 * wanted pid is free and sends the standby SV_RIMG_STANDBY_SIGNAL with
	 * the pid as its value; the restorer then makes the restoring process
	 * with that pid (clone3 set_tid, CLONE_PARENT: the agent's child) and
	 * ends, and the agent moves the workload (its output and exit) to the
	 * new pid. SV_MSG_RUN_REPLY with the pid, or SV_MSG_ERROR (EEXIST: the
	 * pid is taken; ESRCH: no such standby workload). */
	SV_MSG_STANDBY_GO = 22,
	/* host->agent: u64 wall time (CLOCK_REALTIME, ns since the epoch),
	 * str entropy (SV_RESUMED_MIN_ENTROPY..SV_RESUMED_MAX_ENTROPY bytes
	 * from the host's getrandom). Sent first to a guest started from a
	 * saved state (a base, host/pool/pool-base.h): every copy resumes with
	 * the saved kernel's random state and a wall clock stopped at the
	 * save. The agent mixes the bytes into the kernel's input pool,
	 * crediting them (RNDADDENTROPY), reseeds the CRNG from it
	 * (RNDRESEEDCRNG: every copy's next random bytes differ), and sets
	 * the wall clock. Monotonic and boot time go on from the save.
	 * SV_MSG_OK, or SV_MSG_ERROR naming the step that failed. */
	SV_MSG_RESUMED = 23,
	/* 24..29: reserved for snapvm restore */
	/* host->agent: u32 pid. Ends a hold (SV_MSG_FREEZE): the process runs
	 * on where it was. SV_MSG_OK, or SV_MSG_ERROR (ENOENT: not held). */
	SV_MSG_THAW = 30,
	/* host->agent: u32 pid, u32 arm (0 or 1), str mark (at most
	 * SV_SOFT_DIRTY_MAX_MARK bytes, no NUL). arm 1: the agent forgets
	 * pid's mark, writes "4" to /proc/PID/clear_refs (the kernel clears
	 * every soft-dirty bit of the process, write-protects its pages and
	 * flushes TLBs, so the next write to each sets the bit again) and, once
	 * that succeeded, records mark for pid. arm 0: only asks. Replies
	 * SV_MSG_SOFT_DIRTY_REPLY, or SV_MSG_ERROR. The marks live in the
	 * agent's memory, so a reboot forgets them (host/checkpoint/
	 * dirty-track.h says what the host puts in them). */
	SV_MSG_SOFT_DIRTY = 31,
	/* agent->host: str mark recorded for the pid now ("" if none). */
	SV_MSG_SOFT_DIRTY_REPLY = 32,
	SV_MSG_TYPE_MAX_ = 33
};

/* SV_MSG_RESUMED: the entropy's size, bytes (the CRNG's key is 32). */
#define SV_RESUMED_MIN_ENTROPY 32u
#define SV_RESUMED_MAX_ENTROPY 512u

/* SV_MSG_READFILE: fixed part of a reply (u64 size, u64 ino, u64 mtime, u32
 * length of the bytes), and so the largest chunk one request can ask for. */
#define SV_READFILE_REPLY_OVERHEAD 28u
#define SV_READFILE_MAX_CHUNK (SV_PROTO_MAX_PAYLOAD - SV_READFILE_REPLY_OVERHEAD)
/* Longest path a READFILE request may carry (PATH_MAX without its NUL). */
#define SV_READFILE_MAX_PATH 4095u

/* SV_MSG_WRITEFILE: the most bytes one request carries. */
#define SV_WRITEFILE_MAX_CHUNK (SV_PROTO_MAX_PAYLOAD - (4u + SV_READFILE_MAX_PATH + 4u + 8u + 4u))

/* SV_MSG_ORACLE flags */
enum {
	/* registers and maps only: no SHA-256 of every region (big mappings
	 * take long to hash under TCG) */
	SV_ORACLE_NO_HASHES = 1u << 0,
	SV_ORACLE_FLAGS_ALL_ = SV_ORACLE_NO_HASHES,
};

/* SV_MSG_RUN flags */
enum {
	/* keep the workload's output in the agent while no host listens */
	SV_RUN_BUFFER_WHEN_DETACHED = 1u << 0,
	/* the VM belongs to this host connection: if it closes (the host
	 * process died, even by SIGKILL), power the guest off */
	SV_RUN_POWEROFF_ON_HOST_LOSS = 1u << 1,
	/* the request carries the environment and working directory */
	SV_RUN_ENV_CWD = 1u << 2,
	/* STANDBY_GO only: the host writes the restore image into the
	 * standby's mailbox once the agent has handed over - only then, since
	 * the frames are the standby's only while it lives (a standby that died
	 * before the restore has given them back to the guest kernel) - and the
	 * standby waits for it (restore-image-format.h) */
	SV_RUN_STANDBY_MAIL = 1u << 3,
};

struct sv_frame_header {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t length;
	uint32_t tag;
};

enum sv_proto_status {
	SV_PROTO_OK = 0,
	SV_PROTO_BAD_MAGIC,
	SV_PROTO_BAD_VERSION,
	SV_PROTO_BAD_TYPE,
	SV_PROTO_TOO_LONG,
};

static inline const char *sv_proto_status_str(enum sv_proto_status s)
{
	switch (s) {
	case SV_PROTO_OK:
		return "ok";
	case SV_PROTO_BAD_MAGIC:
		return "bad magic (not a snapvm agent frame)";
	case SV_PROTO_BAD_VERSION:
		return "unsupported protocol version";
	case SV_PROTO_BAD_TYPE:
		return "unknown message type";
	case SV_PROTO_TOO_LONG:
		return "payload longer than the protocol allows";
	}
	return "unknown";
}

static inline void sv_frame_header_encode(uint8_t out[SV_PROTO_HEADER_SIZE], uint16_t type,
					  uint32_t length, uint32_t tag)
{
	sv_put_le32(out, SV_PROTO_MAGIC);
	sv_put_le16(out + 4, SV_PROTO_VERSION);
	sv_put_le16(out + 6, type);
	sv_put_le32(out + 8, length);
	sv_put_le32(out + 12, tag);
}

/* Decodes and checks a header; *out is filled even on failure for diagnostics. */
static inline enum sv_proto_status sv_frame_header_decode(const uint8_t in[SV_PROTO_HEADER_SIZE],
							  struct sv_frame_header *out)
{
	out->magic = sv_get_le32(in);
	out->version = sv_get_le16(in + 4);
	out->type = sv_get_le16(in + 6);
	out->length = sv_get_le32(in + 8);
	out->tag = sv_get_le32(in + 12);
	if (out->magic != SV_PROTO_MAGIC)
		return SV_PROTO_BAD_MAGIC;
	if (out->version != SV_PROTO_VERSION)
		return SV_PROTO_BAD_VERSION;
	if (out->type == 0 || out->type >= SV_MSG_TYPE_MAX_)
		return SV_PROTO_BAD_TYPE;
	if (out->length > SV_PROTO_MAX_PAYLOAD)
		return SV_PROTO_TOO_LONG;
	return SV_PROTO_OK;
}

/*
 * Payload writer over a caller-owned buffer. Overflow is sticky: write every
 * field, then check ->overflow once.
 */
struct sv_wbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool overflow;
};

static inline void sv_wbuf_init(struct sv_wbuf *w, uint8_t *data, size_t cap)
{
	w->data = data;
	w->len = 0;
	w->cap = cap;
	w->overflow = false;
}

static inline uint8_t *sv_wbuf_reserve(struct sv_wbuf *w, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return NULL;
	}
	uint8_t *p = w->data + w->len;
	w->len += n;
	return p;
}

static inline void sv_wbuf_u32(struct sv_wbuf *w, uint32_t v)
{
	uint8_t *p = sv_wbuf_reserve(w, 4);
	if (p)
		sv_put_le32(p, v);
}

static inline void sv_wbuf_u64(struct sv_wbuf *w, uint64_t v)
{
	uint8_t *p = sv_wbuf_reserve(w, 8);
	if (p)
		sv_put_le64(p, v);
}

static inline void sv_wbuf_bytes(struct sv_wbuf *w, const void *bytes, uint32_t n)
{
	sv_wbuf_u32(w, n);
	uint8_t *p = sv_wbuf_reserve(w, n);
	if (p && n)
		memcpy(p, bytes, n);
}

static inline void sv_wbuf_str(struct sv_wbuf *w, const char *s)
{
	sv_wbuf_bytes(w, s, (uint32_t)strlen(s));
}

/*
 * Payload reader. A short or malformed payload sets ->bad (sticky) and every
 * later read returns zero / NULL, so a parser reads all fields and checks
 * ->bad once at the end.
 */
struct sv_rbuf {
	const uint8_t *data;
	size_t len;
	size_t off;
	bool bad;
};

static inline void sv_rbuf_init(struct sv_rbuf *r, const uint8_t *data, size_t len)
{
	r->data = data;
	r->len = len;
	r->off = 0;
	r->bad = false;
}

static inline const uint8_t *sv_rbuf_take(struct sv_rbuf *r, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->data + r->off;
	r->off += n;
	return p;
}

static inline uint32_t sv_rbuf_u32(struct sv_rbuf *r)
{
	const uint8_t *p = sv_rbuf_take(r, 4);
	return p ? sv_get_le32(p) : 0;
}

static inline uint64_t sv_rbuf_u64(struct sv_rbuf *r)
{
	const uint8_t *p = sv_rbuf_take(r, 8);
	return p ? sv_get_le64(p) : 0;
}

/* Returns a pointer into the payload (not NUL-terminated) and its length. */
static inline const uint8_t *sv_rbuf_bytes(struct sv_rbuf *r, uint32_t *len_out)
{
	uint32_t n = sv_rbuf_u32(r);
	const uint8_t *p = sv_rbuf_take(r, n);
	*len_out = p ? n : 0;
	return p;
}

/* Copies a string field into dst (always NUL-terminated, truncated to cap-1). */
static inline void sv_rbuf_str(struct sv_rbuf *r, char *dst, size_t cap)
{
	uint32_t n;
	const uint8_t *p = sv_rbuf_bytes(r, &n);
	size_t k = (p && cap) ? (n < cap - 1 ? n : cap - 1) : 0;
	if (k)
		memcpy(dst, p, k);
	if (cap)
		dst[k] = '\0';
}

/* True when every byte was consumed and nothing was short. */
static inline bool sv_rbuf_done(const struct sv_rbuf *r)
{
	return !r->bad && r->off == r->len;
}

/* SV_MSG_READFILE request: one encoder and one checker for both ends. */
struct sv_readfile_req {
	const uint8_t *path; /* into the payload, not NUL-terminated */
	uint32_t path_len;
	uint64_t offset;
	uint32_t max_len;
};

static inline void sv_readfile_req_encode(struct sv_wbuf *w, const char *path, uint64_t offset,
					  uint32_t max_len)
{
	sv_wbuf_str(w, path);
	sv_wbuf_u64(w, offset);
	sv_wbuf_u32(w, max_len);
}

/* False for a malformed request: short or with trailing bytes, a path empty,
 * longer than SV_READFILE_MAX_PATH or holding a NUL, or max_len over
 * SV_READFILE_MAX_CHUNK. */
static inline bool sv_readfile_req_decode(const uint8_t *payload, size_t len,
					  struct sv_readfile_req *out)
{
	struct sv_rbuf r;
	sv_rbuf_init(&r, payload, len);
	out->path = sv_rbuf_bytes(&r, &out->path_len);
	out->offset = sv_rbuf_u64(&r);
	out->max_len = sv_rbuf_u32(&r);
	return sv_rbuf_done(&r) && out->path_len > 0 && out->path_len <= SV_READFILE_MAX_PATH &&
	       !memchr(out->path, '\0', out->path_len) && out->max_len <= SV_READFILE_MAX_CHUNK;
}

/* SV_MSG_WRITEFILE request. */
struct sv_writefile_req {
	const uint8_t *path; /* not NUL-terminated */
	uint32_t path_len;
	uint32_t mode;
	uint64_t offset;
	const uint8_t *data;
	uint32_t data_len;
};

/* False when malformed, or for a path that is not one name right in
 * SV_RIMG_GUEST_DIR. */
static inline bool sv_writefile_req_decode(const uint8_t *payload, size_t len,
					   struct sv_writefile_req *out)
{
	static const char dir[] = SV_RIMG_GUEST_DIR "/";
	const size_t dlen = sizeof(dir) - 1;
	struct sv_rbuf r;
	sv_rbuf_init(&r, payload, len);
	out->path = sv_rbuf_bytes(&r, &out->path_len);
	out->mode = sv_rbuf_u32(&r);
	out->offset = sv_rbuf_u64(&r);
	out->data = sv_rbuf_bytes(&r, &out->data_len);
	if (!sv_rbuf_done(&r) || out->path_len <= dlen || out->path_len > SV_READFILE_MAX_PATH ||
	    memcmp(out->path, dir, dlen) || out->mode > 07777 ||
	    out->data_len > SV_WRITEFILE_MAX_CHUNK || out->offset > (uint64_t)1 << 40)
		return false;
	const uint8_t *name = out->path + dlen;
	size_t nlen = out->path_len - dlen;
	return !memchr(name, '/', nlen) && !memchr(name, '\0', nlen) &&
	       !(nlen == 1 && name[0] == '.') && !(nlen == 2 && name[0] == '.' && name[1] == '.');
}

/* SV_MSG_SOFT_DIRTY request. */
#define SV_SOFT_DIRTY_MAX_MARK 64u
struct sv_soft_dirty_req {
	uint32_t pid;
	uint32_t arm;
	const uint8_t *mark; /* not NUL-terminated */
	uint32_t mark_len;
};

static inline void sv_soft_dirty_req_encode(struct sv_wbuf *w, uint32_t pid, uint32_t arm,
					    const char *mark)
{
	sv_wbuf_u32(w, pid);
	sv_wbuf_u32(w, arm);
	sv_wbuf_str(w, mark);
}

/* False when short or long, for pid 0 or 1, arm not 0 or 1, or a mark too
 * long or holding a NUL. */
static inline bool sv_soft_dirty_req_decode(const uint8_t *payload, size_t len,
					    struct sv_soft_dirty_req *out)
{
	struct sv_rbuf r;
	sv_rbuf_init(&r, payload, len);
	out->pid = sv_rbuf_u32(&r);
	out->arm = sv_rbuf_u32(&r);
	out->mark = sv_rbuf_bytes(&r, &out->mark_len);
	return sv_rbuf_done(&r) && out->pid > 1 && out->pid <= 0x3fffffffu && out->arm <= 1 &&
	       out->mark_len <= SV_SOFT_DIRTY_MAX_MARK &&
	       (out->mark_len == 0 || !memchr(out->mark, '\0', out->mark_len));
}

/* SV_MSG_ORACLE request. */
struct sv_oracle_req {
	uint32_t pid;
	uint32_t flags;
};

static inline void sv_oracle_req_encode(struct sv_wbuf *w, uint32_t pid, uint32_t flags)
{
	sv_wbuf_u32(w, pid);
	sv_wbuf_u32(w, flags);
}

/* False when short or long, for pid 0 or 1 (the agent itself), or unknown flags. */
static inline bool sv_oracle_req_decode(const uint8_t *payload, size_t len,
					struct sv_oracle_req *out)
{
	struct sv_rbuf r;
	sv_rbuf_init(&r, payload, len);
	out->pid = sv_rbuf_u32(&r);
	out->flags = sv_rbuf_u32(&r);
	return sv_rbuf_done(&r) && out->pid > 1 && out->pid <= 0x3fffffffu &&
	       !(out->flags & ~(uint32_t)SV_ORACLE_FLAGS_ALL_);
}

/*
 * The byte the agent writes at offset i of a SV_MSG_MEMPATTERN region: a
 * splitmix64 of seed and the 8-byte word index, so every page differs and a
 * host that reads the wrong frame notices.
 */
static inline uint8_t sv_pattern_byte(uint64_t seed, uint64_t i)
{
	uint64_t z = seed + (i / 8 + 1) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint8_t)(z >> (8 * (i % 8)));
}

#endif /* SNAPVM_AGENT_PROTO_H */
