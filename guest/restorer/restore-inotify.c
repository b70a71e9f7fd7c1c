/* SPDX-License-Identifier: MIT */
/*
 * restore-inotify.c - an inotify fd, its watches added again at their
 * paths (IN_DONT_FOLLOW: the path names the watched inode itself) with the
 * wds the process knows them by. The kernel hands wds out one after the
 * other from 1 (idr_alloc_cyclic), so a gap below a wd is stepped over by
 * watching this restorer's own image file and removing the watch, once
 * per number; the IN_IGNORED events that leaves are read away at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "restore.h"

void rst_inotify_restore(const struct sv_rimg_header *h, const struct sv_rimg_fd *f,
			 const uint8_t *data, int base)
{
	if (f->data_off > h->data_len || f->data_len > h->data_len - f->data_off ||
	    f->data_len % sizeof(struct sv_rimg_inotify_watch))
		rst_die("corrupt restore image: fd %d's inotify watches", f->fd);
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in < 0)
		rst_die("fd %d: inotify_init1: %s", f->fd, strerror(errno));
	int next = 1, stepped = 0;
	for (uint64_t i = 0; i < f->data_len / sizeof(struct sv_rimg_inotify_watch); i++) {
		struct sv_rimg_inotify_watch w;
		memcpy(&w, data + f->data_off + i * sizeof(w), sizeof(w));
		const char *path = rst_str(h, w.path_off);
		if (w.wd < next)
			rst_die("corrupt restore image: fd %d's inotify wds are not in order",
				f->fd);
		for (; next < w.wd; next++, stepped = 1) {
			int gap = inotify_add_watch(in, SV_RIMG_GUEST_IMAGE, IN_ACCESS);
			if (gap != next || inotify_rm_watch(in, gap) < 0)
				rst_die("fd %d (inotify): cannot step over wd %d (got %d): %s",
					f->fd, next, gap, strerror(errno));
		}
		int wd = inotify_add_watch(in, path, w.mask | IN_DONT_FOLLOW);
		if (wd < 0)
			rst_die("fd %d (inotify): cannot watch %s again (wd %d): %s", f->fd, path,
				w.wd, strerror(errno));
		if (wd != w.wd)
			rst_die("fd %d (inotify): %s came back as wd %d, not %d (two watches on "
				"one file?)",
				f->fd, path, wd, w.wd);
		next++;
	}
	/* the stepping watches' IN_IGNORED events: not the process's */
	char drain[4096];
	while (stepped && read(in, drain, sizeof(drain)) > 0)
		;
	in = rst_move_up(in, base, "an inotify fd");
	rst_place(in, f);
	close(in);
	if (fcntl(f->fd, F_SETFL, (int)(f->flags & O_NONBLOCK)) < 0)
		rst_die("fd %d: cannot set its flags: %s", f->fd, strerror(errno));
}
