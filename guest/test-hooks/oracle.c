/* SPDX-License-Identifier: MIT */
/*
 * oracle.c - SV_MSG_ORACLE, for tests only (test-hooks.h): what the kernel's own debugging
 * interfaces say about a process, to check snapvm's reading of it from guest
 * memory against. snapvm itself never does this to the process it
 * checkpoints; a test asks for it.
 *
 * PTRACE_SEIZE then PTRACE_INTERRUPT (no signal is sent, so the process sees
 * nothing but a syscall restart), waitpid for the stop (bounded), the
 * register sets, /proc/PID/maps, a SHA-256 of every readable region through
 * /proc/PID/mem, its fds (/proc/PID/fdinfo and fd links), then PTRACE_DETACH: the process runs on as before (a
 * process that was stopped stays stopped; a signal that arrived meanwhile is
 * passed on). Only the thread pid is stopped; other threads run on.
 *
 * On aarch64 the kernel moves pc back onto the svc of an interrupted syscall
 * before the stop (arch/arm64/kernel/signal.c do_signal: "so that a debugger
 * will see the already changed PC"); x86_64 does it after, so rip still
 * points past the syscall instruction there.
 */
#include <dirent.h>
#include <elf.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest/agent/test-hooks.h"
#include "guest/lib/sha256.h"

#define STOP_TIMEOUT_MS 10000
#define REGSET_CAP (64u * 1024)
#define MAPS_CAP (512u * 1024)
#define HASH_CHUNK (64u * 1024)
#define MAX_STRAYS 16

/* Tracees that did not stop in time: detached when their stop shows up in
 * the agent's reaping (test_hooks_child_stopped). */
static pid_t strays[MAX_STRAYS];

void oracle_stray_stop(pid_t pid, int status)
{
	for (int i = 0; i < MAX_STRAYS; i++) {
		if (strays[i] != pid)
			continue;
		int sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
		ptrace(PTRACE_DETACH, pid, NULL, (void *)(long)sig);
		strays[i] = 0;
		return;
	}
}

static void add_stray(pid_t pid)
{
	for (int i = 0; i < MAX_STRAYS; i++) {
		if (!strays[i]) {
			strays[i] = pid;
			return;
		}
	}
	agent_log("oracle: pid %d is left traced (too many tracees that did not stop)", (int)pid);
}

/* Waits for the tracee's first stop; 0, or -errno (ETIMEDOUT, ESRCH). */
static int wait_stop(pid_t pid, int *status)
{
	for (int waited = 0;; waited += 2) {
		pid_t r = waitpid(pid, status, __WALL | WNOHANG);
		if (r == pid) {
			if (WIFSTOPPED(*status))
				return 0;
			workloads_note_status(pid,
					      *status); /* it exited: its EXIT must still go out */
			return -ESRCH;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (waited >= STOP_TIMEOUT_MS)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
	}
}

struct regset {
	uint8_t *data;
	uint32_t len;
};

/* A regset the kernel does not have for this task (EINVAL, ENODEV) is empty. */
static void get_regset(pid_t pid, unsigned type, struct regset *out)
{
	out->len = 0;
	out->data = type ? malloc(REGSET_CAP) : NULL;
	if (!out->data)
		return;
	struct iovec iov = { .iov_base = out->data, .iov_len = REGSET_CAP };
	if (ptrace(PTRACE_GETREGSET, pid, (void *)(long)type, &iov) == 0)
		out->len = (uint32_t)iov.iov_len;
}

/* The whole of a /proc text file (maps); NULL if unreadable or too long. */
static char *read_text(const char *path, uint32_t *len, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	char *buf = malloc(MAPS_CAP + 1);
	size_t got = 0;
	*err = buf ? 0 : ENOMEM;
	while (buf && got < MAPS_CAP) {
		ssize_t n = read(fd, buf + got, MAPS_CAP - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				*err = errno;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (buf && (got == MAPS_CAP || *err)) {
		*err = *err ? *err : EOVERFLOW;
		free(buf);
		return NULL;
	}
	if (buf)
		buf[got] = '\0';
	*len = (uint32_t)got;
	return buf;
}

/* One line per open fd, "FD POS FLAGS TARGET\n": pos and flags (octal,
 * close-on-exec included as O_CLOEXEC) from /proc/PID/fdinfo/FD, target
 * from readlink /proc/PID/fd/FD. */
static char *fd_text(pid_t pid, uint32_t *len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	size_t cap = 4096, used = 0;
	char *out = malloc(cap);
	struct dirent *e;
	while (out && dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		char link[512], info[1024], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/%d/fd/%s", (int)pid, e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		snprintf(link, sizeof(link), "/proc/%d/fdinfo/%s", (int)pid, e->d_name);
		unsigned long long pos = 0;
		unsigned flags = 0;
		int fd = open(link, O_RDONLY | O_CLOEXEC);
		ssize_t k = fd >= 0 ? read(fd, info, sizeof(info) - 1) : -1;
		if (fd >= 0)
			close(fd);
		info[k > 0 ? k : 0] = '\0';
		sscanf(info, "pos: %llu flags: %o", &pos, &flags);
		size_t need = strlen(e->d_name) + strlen(target) + 64;
		if (used + need > cap) {
			cap = (used + need) * 2;
			char *grown = realloc(out, cap);
			if (!grown) {
				free(out);
				out = NULL;
				break;
			}
			out = grown;
		}
		used += (size_t)snprintf(out + used, cap - used, "%s %llu %o %s\n", e->d_name, pos,
					 flags, target);
	}
	if (dir)
		closedir(dir);
	*len = (uint32_t)used;
	return out;
}

/* SHA-256 of [start, end) read through /proc/PID/mem; false if any of it
 * cannot be read. */
static bool hash_region(int mem_fd, uint64_t start, uint64_t end, uint8_t *chunk, char hex[65])
{
	if (mem_fd < 0 || end <= start || end > (uint64_t)INT64_MAX)
		return false;
	struct sha256 s;
	sha256_init(&s);
	for (uint64_t a = start; a < end;) {
		size_t want = end - a < HASH_CHUNK ? (size_t)(end - a) : HASH_CHUNK;
		ssize_t n = pread(mem_fd, chunk, want, (off_t)a);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		sha256_update(&s, chunk, (size_t)n);
		a += (uint64_t)n;
	}
	sha256_final_hex(&s, hex);
	return true;
}

static void put_regset(struct sv_wbuf *w, const struct regset *r)
{
	sv_wbuf_bytes(w, r->data, r->len);
}

void oracle_reply(struct channel *ch, uint32_t tag, const struct sv_oracle_req *req)
{
	pid_t pid = (pid_t)req->pid;
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) {
		channel_send_error(ch, tag, SV_MSG_ORACLE, errno, "PTRACE_SEIZE of pid %d",
				   (int)pid);
		return;
	}
	int status = 0;
	int r = ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0 ? -errno : wait_stop(pid, &status);
	if (r == -ETIMEDOUT)
		add_stray(pid);
	if (r < 0) {
		channel_send_error(ch, tag, SV_MSG_ORACLE, -r, "pid %d did not stop for ptrace",
				   (int)pid);
		return;
	}
	/* A signal-delivery-stop (event 0) carries a signal the process must
	 * still get; the interrupt's own stop (PTRACE_EVENT_STOP) none. */
	int pass_sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;

	struct regset regs[4];
	get_regset(pid, NT_PRSTATUS, &regs[0]);
	get_regset(pid, NT_PRFPREG, &regs[1]);
	get_regset(pid, oracle_arch.nt_xstate, &regs[2]);
	get_regset(pid, oracle_arch.nt_tls, &regs[3]);

	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	uint32_t maps_len = 0;
	int maps_err = 0;
	char *maps = read_text(path, &maps_len, &maps_err);
	uint32_t nlines = 0;
	for (uint32_t i = 0; maps && i < maps_len; i++)
		nlines += maps[i] == '\n';

	uint32_t fds_len = 0;
	char *fds = fd_text(pid, &fds_len);
	size_t cap = 4 * 4 + regs[0].len + regs[1].len + regs[2].len + regs[3].len + 4 + maps_len +
		     4 + (size_t)nlines * (8 + 8 + 4 + 64) + 4 + fds_len;
	uint8_t *buf = maps ? malloc(cap) : NULL;
	uint8_t *chunk = buf && !(req->flags & SV_ORACLE_NO_HASHES) ? malloc(HASH_CHUNK) : NULL;
	int err = !maps ? maps_err : !buf ? ENOMEM : 0;
	if (buf) {
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		int mem_fd = chunk ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		struct sv_wbuf w;
		sv_wbuf_init(&w, buf, cap);
		for (int i = 0; i < 4; i++)
			put_regset(&w, &regs[i]);
		sv_wbuf_bytes(&w, maps, maps_len);
		sv_wbuf_u32(&w, nlines);
		char *line = maps;
		for (uint32_t i = 0; i < nlines; i++) {
			char *nl = strchr(line, '\n');
			*nl = '\0';
			unsigned long long start = 0, end = 0;
			char perms[8] = "";
			sscanf(line, "%llx-%llx %7s", &start, &end, perms);
			char hex[65] = "";
			if (perms[0] != 'r' || !hash_region(mem_fd, start, end, chunk, hex))
				hex[0] = '\0';
			sv_wbuf_u64(&w, start);
			sv_wbuf_u64(&w, end);
			sv_wbuf_str(&w, hex);
			*nl = '\n';
			line = nl + 1;
		}
		if (mem_fd >= 0)
			close(mem_fd);
		sv_wbuf_bytes(&w, fds ? fds : "", fds_len);
		if (w.overflow || w.len > SV_PROTO_MAX_PAYLOAD)
			err = EOVERFLOW;
		cap = w.len;
	}
	/* Detach first: the process must not wait for the host to read. */
	if (ptrace(PTRACE_DETACH, pid, NULL, (void *)(long)pass_sig) < 0)
		agent_log("oracle: PTRACE_DETACH of pid %d: %s", (int)pid, strerror(errno));
	if (err)
		channel_send_error(ch, tag, SV_MSG_ORACLE, err, "reading pid %d", (int)pid);
	else
		channel_send(ch, SV_MSG_ORACLE_REPLY, tag, buf, (uint32_t)cap);
	for (int i = 0; i < 4; i++)
		free(regs[i].data);
	free(maps);
	free(fds);
	free(buf);
	free(chunk);
}
