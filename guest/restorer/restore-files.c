/* SPDX-License-Identifier: MIT */
/*
 * restore-files.c - the restorer's libc half for what the kernel keeps per
 * process outside its memory: the fd table (every fd at its number: files
 * reopened by path with their flags and offset, pipes and FIFOs made
 * again with their unread bytes; stdio inherited from the restorer, which the agent wired to the
 * host like any workload's), then the working directory, umask, resource
 * limits and supplementary groups, and last the interval timers. Pipes
 * and FIFOs are restore-pipes.c's.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include "restore.h"

int rst_path_in_procfs(const char *path)
{
	return !strcmp(path, "/proc") || !strncmp(path, "/proc/", 6);
}

/* An fd of a memory-only file: a new open file of the inode the
 * restorer made (file_fd), opened as the process had it, at its offset. */
static void place_memfile(const struct sv_rimg_fd *f, int file_fd, int base)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", file_fd);
	/* O_TMPFILE (with O_DIRECTORY in it, whose value is the arch's) says
	 * how the file was made, not how it is open */
	int tmp = open(proc, ((int)f->flags & ~O_TMPFILE) | O_CLOEXEC);
	if (tmp < 0)
		rst_die("fd %d: cannot reopen its memory-only file: %s", f->fd, strerror(errno));
	tmp = rst_move_up(tmp, base, "a memory-only file");
	if (f->pos && lseek(tmp, (off_t)f->pos, SEEK_SET) < 0)
		rst_die("fd %d: cannot seek to %llu: %s", f->fd, (unsigned long long)f->pos,
			strerror(errno));
	rst_place(tmp, f);
	close(tmp);
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
		*own[i] = rst_move_up(*own[i], base, "a restorer file");
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
		if (f->dup_of >= 0 && !rst_is_pipe_kind(f->kind)) {
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
			int tmp = (f->kind_flags & SV_RIMG_PATH_GONE)
					  ? rst_open_gone(f, path)
					  : open(path, (int)(f->flags | O_CLOEXEC));
			if (tmp < 0)
				rst_die("fd %d: cannot reopen %s: %s", f->fd, path,
					strerror(errno));
			tmp = rst_move_up(tmp, base, path);
			struct stat st;
			/* a /proc file's offset is set by the blob, once the
			 * text it regenerates is the process's (restore-main.c) */
			if (f->pos && !rst_path_in_procfs(path) && fstat(tmp, &st) == 0 &&
			    !S_ISCHR(st.st_mode) && lseek(tmp, (off_t)f->pos, SEEK_SET) < 0)
				rst_die("fd %d: cannot seek %s to %llu: %s", f->fd, path,
					(unsigned long long)f->pos, strerror(errno));
			rst_place(tmp, f);
			close(tmp);
			break;
		}
		case SV_RIMG_FD_MEMFILE:
			if (f->memfile >= h->nfiles)
				rst_die("corrupt restore image: fd %d names file %u", f->fd,
					f->memfile);
			place_memfile(f, *own[1 + f->memfile], base);
			break;
		case SV_RIMG_FD_PIPE_READ:
		case SV_RIMG_FD_PIPE_WRITE:
		case SV_RIMG_FD_FIFO:
			rst_pipe_restore(h, fds, i, data, base);
			break;
		case SV_RIMG_FD_EVENTFD:
			rst_eventfd_restore(f, base);
			break;
		case SV_RIMG_FD_TIMERFD:
			rst_timerfd_restore(f, base);
			break;
		case SV_RIMG_FD_SIGNALFD:
			rst_signalfd_restore(f, base);
			break;
		case SV_RIMG_FD_INOTIFY:
			rst_inotify_restore(h, f, data, base);
			break;
		case SV_RIMG_FD_UNIX:
			rst_unix_restore(fds, h->nfds, i, data, base);
			break;
		case SV_RIMG_FD_INET:
			rst_inet_restore(f, data, base);
			break;
		case SV_RIMG_FD_EPOLL:
			rst_epoll_create(f, base);
			break;
		default:
			rst_die("corrupt restore image: fd %d has kind %u", f->fd, f->kind);
		}
	}
	rst_epoll_fill(h, fds, data);
	rst_locks_take(h, fds, data);
	return base;
}

void rst_env_restore(const struct sv_rimg_header *h, const uint32_t *groups)
{
	if (!(h->flags & SV_RIMG_FDS))
		return;
	const char *cwd = rst_str(h, h->cwd_off);
	if (cwd[0] && chdir(cwd) < 0)
		rst_die("cannot enter the working directory %s: %s%s", cwd, strerror(errno),
			errno == ENOENT && !h->nfsents
				? " (the snapshot carries no files the guest wrote: checkpointed "
				  "with --no-fs?)"
				: "");
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

void rst_itimers_arm(const struct sv_rimg_header *h, const uint8_t *data)
{
	if (!(h->flags & SV_RIMG_FDS))
		return;
	rst_posix_timers_arm(h, data);
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
