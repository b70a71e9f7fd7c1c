/* SPDX-License-Identifier: MIT */
/*
 * restore-pipes.c - pipes and named FIFOs, each made once, at its first
 * fd: its unread bytes written back, then every fd that had an end of it
 * given one. Each open file of the snapshot gets its own open file again:
 * a dup (dup_of) shares its first fd's, but a pipe end opened separately
 * (open("/proc/self/fd/N"), as zdtm's pipe01/pipe02 do) is a file of its
 * own, with its own O_NONBLOCK. Giving every fd of an end the one file
 * pipe2 made lost exactly that: the last fd's flags won for all of them.
 *
 * A FIFO is made at its path if the guest lacks it (a fresh guest has
 * nothing its first run made under /tmp), then held open O_RDWR while its
 * fds are opened, so that no open blocks waiting for the other side and
 * its bytes have a reader to stay for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "restore.h"

int rst_is_pipe_kind(uint32_t kind)
{
	return kind == SV_RIMG_FD_PIPE_READ || kind == SV_RIMG_FD_PIPE_WRITE ||
	       kind == SV_RIMG_FD_FIFO;
}

static void write_back(int wfd, const uint8_t *data, uint64_t len, int fd)
{
	/* the default 64 KiB may be less than a pipe enlarged with
	 * F_SETPIPE_SZ held */
	if (len > 65536 && (uint64_t)fcntl(wfd, F_GETPIPE_SZ) < len &&
	    fcntl(wfd, F_SETPIPE_SZ, (int)len) < 0)
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

/* The FIFO at path, made with f's mode and owner if missing; an O_RDWR
 * fd of it. */
static int hold_fifo(const char *path, const struct sv_rimg_fd *f)
{
	const int fd = f->fd;
	struct stat st;
	if (stat(path, &st) == 0) {
		if (!S_ISFIFO(st.st_mode))
			rst_die("fd %d: %s exists in this guest but is not a FIFO", fd, path);
	} else if (errno != ENOENT || mkfifo(path, 0600) < 0 ||
		   ((f->kind_flags & SV_RIMG_FIFO_OWNER) &&
		    chown(path, (uid_t)f->value[0], (gid_t)f->value[1]) < 0) ||
		   chmod(path, (mode_t)(f->i_mode & 07777)) < 0) {
		rst_die("fd %d: cannot make the FIFO %s: %s", fd, path, strerror(errno));
	}
	/* O_RDWR never waits for a peer on Linux (fifo(7)) */
	int h = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (h < 0)
		rst_die("fd %d: cannot open the FIFO %s: %s", fd, path, strerror(errno));
	return h;
}

/* A new open file of the pipe or FIFO, opened as g was (its access mode),
 * through the held end's /proc link (which reaches an anonymous pipe too)
 * or the FIFO's path. Non-blocking to open: its peer is held anyway. */
static int reopen(const struct sv_rimg_header *h, const struct sv_rimg_fd *g, int held)
{
	char link[64];
	const char *path = link;
	if (g->kind == SV_RIMG_FD_FIFO)
		path = rst_str(h, g->path_off);
	else
		snprintf(link, sizeof(link), "/proc/self/fd/%d", held);
	int fd = open(path, (int)(g->flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		rst_die("fd %d: cannot open another file of its pipe through %s: %s", g->fd, path,
			strerror(errno));
	return fd;
}

void rst_pipe_restore(const struct sv_rimg_header *h, const struct sv_rimg_fd *fds, uint32_t i,
		      const uint8_t *data, int base)
{
	const struct sv_rimg_fd *f = &fds[i];
	for (uint32_t k = 0; k < i; k++)
		if (rst_is_pipe_kind(fds[k].kind) && fds[k].pipe == f->pipe)
			return; /* made at its first fd */
	/* ends[0] reads, ends[1] writes; a FIFO's one O_RDWR fd does both */
	int ends[2];
	if (f->kind == SV_RIMG_FD_FIFO) {
		ends[0] = rst_move_up(hold_fifo(rst_str(h, f->path_off), f), base, "a FIFO");
		ends[1] = ends[0];
	} else {
		if (pipe2(ends, O_CLOEXEC) < 0)
			rst_die("fd %d: pipe2: %s", f->fd, strerror(errno));
		ends[0] = rst_move_up(ends[0], base, "a pipe");
		ends[1] = rst_move_up(ends[1], base, "a pipe");
	}
	for (uint32_t k = i; k < h->nfds; k++)
		if (rst_is_pipe_kind(fds[k].kind) && fds[k].pipe == f->pipe && fds[k].value[2] &&
		    fds[k].value[2] != 65536 &&
		    fcntl(ends[1], F_SETPIPE_SZ, (int)fds[k].value[2]) < 0)
			rst_die("fd %d: cannot give the pipe its capacity of %llu bytes: %s",
				fds[k].fd, (unsigned long long)fds[k].value[2], strerror(errno));
	for (uint32_t k = i; k < h->nfds; k++)
		if (rst_is_pipe_kind(fds[k].kind) && fds[k].pipe == f->pipe && fds[k].data_len)
			write_back(ends[1], data + fds[k].data_off, fds[k].data_len, fds[k].fd);
	int given[2] = { 0, 0 }; /* pipe2's end already given to an fd */
	for (uint32_t k = i; k < h->nfds; k++) {
		const struct sv_rimg_fd *g = &fds[k];
		if (!rst_is_pipe_kind(g->kind) || g->pipe != f->pipe)
			continue;
		if (g->dup_of >= 0) {
			/* a dup shares the open file, flags and all; its
			 * first fd is lower, so made already */
			if (g->dup_of >= g->fd ||
			    dup3(g->dup_of, g->fd, g->cloexec ? O_CLOEXEC : 0) < 0)
				rst_die("fd %d: cannot dup fd %d: %s", g->fd, g->dup_of,
					strerror(errno));
			continue;
		}
		uint32_t acc = g->flags & O_ACCMODE;
		int end = acc == O_RDONLY ? 0 : 1;
		int tmp;
		if (g->kind != SV_RIMG_FD_FIFO && acc != O_RDWR && !given[end]) {
			tmp = ends[end];
			given[end] = 1;
		} else {
			tmp = rst_move_up(reopen(h, g, ends[end]), base, "a pipe");
		}
		rst_place(tmp, g);
		if (tmp != ends[0] && tmp != ends[1])
			close(tmp);
		if (fcntl(g->fd, F_SETFL, (int)(g->flags & (O_NONBLOCK | O_DIRECT))) < 0)
			rst_die("fd %d: cannot set its flags: %s", g->fd, strerror(errno));
	}
	close(ends[0]);
	if (ends[1] != ends[0])
		close(ends[1]);
}
