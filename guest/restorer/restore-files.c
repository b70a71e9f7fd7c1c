/* SPDX-License-Identifier: MIT */
/*
 * restore-files.c - the restorer's libc half for what the kernel keeps per
 * process outside its memory: the fd table (every fd at its number: files
 * reopened by path with their flags and offset, pipes made again with
 * pipe2, their unread bytes written back, dup'd to every fd that had an
 * end; stdio inherited from the restorer, which the agent wired to the
 * host like any workload's), then the working directory, umask, resource
 * limits and supplementary groups, and last the interval timers.
 *
 * The restorer's own fds (the image, the files the blob maps) are moved
 * above every fd of the snapshot first, so creating those never closes
 * one of ours; the blob closes from there up once it is done with them.
 * Each new fd is made at a number above them too and then dup3'd into
 * place, so making one never lands on a number still to be filled.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "restore.h"

int rst_path_in_procfs(const char *path)
{
	return !strcmp(path, "/proc") || !strncmp(path, "/proc/", 6);
}

/* An fd at or above `above`, close-on-exec, the original closed. */
static int move_up(int fd, int above, const char *what)
{
	if (fd >= above)
		return fd;
	int n = fcntl(fd, F_DUPFD_CLOEXEC, above);
	if (n < 0)
		rst_die("cannot move %s (fd %d) above fd %d: %s", what, fd, above, strerror(errno));
	close(fd);
	return n;
}

static void place(int tmp, const struct sv_rimg_fd *f)
{
	if (dup3(tmp, f->fd, f->cloexec ? O_CLOEXEC : 0) < 0)
		rst_die("cannot make fd %d: %s", f->fd, strerror(errno));
}

static void write_back(int wfd, const uint8_t *data, uint64_t len, int fd)
{
	/* the default 64 KiB may be less than a pipe enlarged with
	 * F_SETPIPE_SZ held */
	if (len > 65536 && fcntl(wfd, F_SETPIPE_SZ, (int)len) < 0)
		rst_die("fd %d: cannot grow the pipe to %llu bytes: %s", fd,
			(unsigned long long)len, strerror(errno));
	while (len) {
		ssize_t n = write(wfd, data, len);
		if (n <= 0)
			rst_die("fd %d: cannot write back the pipe's unread bytes: %s", fd,
				n < 0 ? strerror(errno) : "short write");
		data += n;
		len -= (uint64_t)n;
	}
}

int rst_files_restore(const struct sv_rimg_header *h, const struct sv_rimg_fd *fds,
		      const uint8_t *data, int **own, int nown)
{
	if (!(h->flags & SV_RIMG_FDS))
		return 3;
	int base = 3;
	for (uint32_t i = 0; i < h->nfds; i++) {
		if (fds[i].fd < 0 || (uint32_t)fds[i].fd >= SV_RIMG_MAX_FD ||
		    (i && fds[i].fd <= fds[i - 1].fd))
			rst_die("corrupt restore image: fd entry %u", i);
		if (fds[i].data_len > h->data_len ||
		    fds[i].data_off > h->data_len - fds[i].data_len)
			rst_die("corrupt restore image: fd %d's pipe data out of bounds",
				fds[i].fd);
		if (fds[i].fd + 1 > base)
			base = fds[i].fd + 1;
	}
	/* fds at and above base must be allowed: the soft RLIMIT_NOFILE (the
	 * snapshot's own limits come back later, in rst_env_restore) */
	struct rlimit nofile;
	rlim_t need = (rlim_t)base + (rlim_t)nown + 16;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < need) {
		nofile.rlim_cur = need;
		if (nofile.rlim_max < need)
			nofile.rlim_max = need;
		if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
			rst_die("cannot allow fds up to %llu: %s", (unsigned long long)need,
				strerror(errno));
	}
	for (int i = 0; i < nown; i++)
		*own[i] = move_up(*own[i], base, "a restorer file");
	/* whatever else the restorer has below base (stdio the snapshot does
	 * not keep, anything inherited) goes */
	for (int fd = 0, k = 0; fd < base; fd++) {
		while (k < (int)h->nfds && fds[k].fd < fd)
			k++;
		int keep = k < (int)h->nfds && fds[k].fd == fd && fds[k].kind == SV_RIMG_FD_STDIO;
		if (!keep)
			close(fd);
	}
	for (uint32_t i = 0; i < h->nfds; i++) {
		const struct sv_rimg_fd *f = &fds[i];
		if (f->dup_of >= 0 && (f->kind == SV_RIMG_FD_PATH || f->kind == SV_RIMG_FD_STDIO)) {
			/* a dup shares the open file (its offset and flags);
			 * a dup of stdio shares the restorer's */
			if (f->dup_of >= f->fd ||
			    dup3(f->dup_of, f->fd, f->cloexec ? O_CLOEXEC : 0) < 0)
				rst_die("fd %d: cannot dup fd %d: %s", f->fd, f->dup_of,
					strerror(errno));
			continue;
		}
		switch (f->kind) {
		case SV_RIMG_FD_STDIO:
			if (fcntl(f->fd, F_SETFD, f->cloexec ? FD_CLOEXEC : 0) < 0)
				rst_die("fd %d: the restorer has no such stdio fd: %s", f->fd,
					strerror(errno));
			break;
		case SV_RIMG_FD_PATH: {
			const char *path = rst_str(h, f->path_off);
			int tmp = open(path, (int)(f->flags | O_CLOEXEC));
			if (tmp < 0)
				rst_die("fd %d: cannot reopen %s: %s", f->fd, path,
					strerror(errno));
			tmp = move_up(tmp, base, path);
			struct stat st;
			/* a /proc file's offset is set by the blob, once the
			 * text it regenerates is the process's (restore-main.c) */
			if (f->pos && !rst_path_in_procfs(path) && fstat(tmp, &st) == 0 &&
			    !S_ISCHR(st.st_mode) && lseek(tmp, (off_t)f->pos, SEEK_SET) < 0)
				rst_die("fd %d: cannot seek %s to %llu: %s", f->fd, path,
					(unsigned long long)f->pos, strerror(errno));
			place(tmp, f);
			close(tmp);
			break;
		}
		case SV_RIMG_FD_PIPE_READ:
		case SV_RIMG_FD_PIPE_WRITE: {
			/* the first fd of a pipe makes it; every fd of it (both
			 * ends, every dup) gets its end now */
			int done = 0;
			for (uint32_t k = 0; k < i && !done; k++)
				done = (fds[k].kind == SV_RIMG_FD_PIPE_READ ||
					fds[k].kind == SV_RIMG_FD_PIPE_WRITE) &&
				       fds[k].pipe == f->pipe;
			if (done)
				break;
			int p[2];
			if (pipe2(p, O_CLOEXEC) < 0)
				rst_die("fd %d: pipe2: %s", f->fd, strerror(errno));
			p[0] = move_up(p[0], base, "a pipe");
			p[1] = move_up(p[1], base, "a pipe");
			for (uint32_t k = i; k < h->nfds; k++) {
				const struct sv_rimg_fd *g = &fds[k];
				if ((g->kind != SV_RIMG_FD_PIPE_READ &&
				     g->kind != SV_RIMG_FD_PIPE_WRITE) ||
				    g->pipe != f->pipe)
					continue;
				if (g->data_len)
					write_back(p[1], data + g->data_off, g->data_len, g->fd);
			}
			for (uint32_t k = i; k < h->nfds; k++) {
				const struct sv_rimg_fd *g = &fds[k];
				if ((g->kind != SV_RIMG_FD_PIPE_READ &&
				     g->kind != SV_RIMG_FD_PIPE_WRITE) ||
				    g->pipe != f->pipe)
					continue;
				place(p[g->kind == SV_RIMG_FD_PIPE_WRITE], g);
				/* O_NONBLOCK belongs to the open file: both
				 * dups of an end share it, as they did */
				if (fcntl(g->fd, F_SETFL,
					  (int)(g->flags & (O_NONBLOCK | O_DIRECT))) < 0)
					rst_die("fd %d: cannot set its flags: %s", g->fd,
						strerror(errno));
			}
			close(p[0]);
			close(p[1]);
			break;
		}
		default:
			rst_die("corrupt restore image: fd %d has kind %u", f->fd, f->kind);
		}
	}
	return base;
}

void rst_env_restore(const struct sv_rimg_header *h, const uint32_t *groups)
{
	if (!(h->flags & SV_RIMG_FDS))
		return;
	const char *cwd = rst_str(h, h->cwd_off);
	if (cwd[0] && chdir(cwd) < 0)
		rst_die("cannot enter the working directory %s: %s", cwd, strerror(errno));
	umask((mode_t)h->umask);
	if (h->ngroups > 65536)
		rst_die("corrupt restore image: %u groups", h->ngroups);
	if (setgroups(h->ngroups, (const gid_t *)groups) < 0)
		rst_die("setgroups: %s", strerror(errno));
	for (uint32_t i = 0; i < h->nrlimits && i < SV_RIMG_RLIMITS; i++) {
		struct rlimit rl = { (rlim_t)h->rlimits[i][0], (rlim_t)h->rlimits[i][1] };
		if (setrlimit((int)i, &rl) < 0)
			rst_die("setrlimit(%u, %llu, %llu): %s", i, (unsigned long long)rl.rlim_cur,
				(unsigned long long)rl.rlim_max, strerror(errno));
	}
}

static struct timeval tv(uint64_t ns)
{
	/* rounded up: a timer must not fire earlier than it would have */
	uint64_t us = (ns + 999) / 1000;
	return (struct timeval){ .tv_sec = (time_t)(us / 1000000),
				 .tv_usec = (suseconds_t)(us % 1000000) };
}

void rst_itimers_arm(const struct sv_rimg_header *h)
{
	if (!(h->flags & SV_RIMG_FDS))
		return;
	static const int which[3] = { ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF };
	for (int i = 0; i < 3; i++) {
		if (!h->itimers[i][0])
			continue;
		struct itimerval it = { .it_interval = tv(h->itimers[i][1]),
					.it_value = tv(h->itimers[i][0]) };
		if (setitimer(which[i], &it, NULL) < 0)
			rst_die("setitimer(%d): %s", which[i], strerror(errno));
	}
}
