/* SPDX-License-Identifier: MIT */
/*
 * restore-gone.c - see restore.h: a directory or character device whose
 * name had gone (rmdir'd or unlinked while the process held it open).
 *
 * It is made at a name of the restorer's in /tmp, opened as it was, named
 * no more (rmdir, unlink), then given its mode and owner. The name holds
 * the restorer's pid and the fd, but a restore that died between making
 * and removing it leaves it behind, and a later restorer given the same
 * pid (a fresh guest counts pids the same way) would find it there: the
 * next free name is taken instead, and the leftover left alone (it may be
 * a directory something was put into since).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "restore.h"

/* How many leftovers of earlier restores one name may have beside it. */
#define GONE_NAME_TRIES 64

int rst_open_gone(const struct sv_rimg_fd *f, const char *was)
{
	char name[80];
	int dir = (f->i_mode & S_IFMT) == S_IFDIR;
	for (int n = 0;; n++) {
		if (n)
			snprintf(name, sizeof(name), "/tmp/.snapvm-gone-%d-%d.%d", (int)getpid(),
				 f->fd, n);
		else
			snprintf(name, sizeof(name), "/tmp/.snapvm-gone-%d-%d", (int)getpid(),
				 f->fd);
		if (dir ? mkdir(name, 0700) == 0
			: mknod(name, S_IFCHR | 0600, (dev_t)f->value[0]) == 0)
			break;
		if (errno != EEXIST || n + 1 == GONE_NAME_TRIES)
			rst_die("fd %d: cannot make the removed %s %s again at %s: %s%s", f->fd,
				dir ? "directory" : "device node", was, name, strerror(errno),
				errno == EEXIST ? " (and at every name before it: remove the "
						  "/tmp/.snapvm-gone-* that earlier restores left)"
						: "");
	}
	int fd = open(name, (int)(f->flags | O_CLOEXEC));
	int err = errno;
	if ((dir ? rmdir(name) : unlink(name)) < 0)
		rst_die("fd %d: cannot remove %s: %s", f->fd, name, strerror(errno));
	if (fd >= 0 &&
	    (fchmod(fd, f->i_mode & 07777) < 0 ||
	     fchown(fd, (uid_t)(f->value[1] & 0xffffffffu), (gid_t)(f->value[1] >> 32)) < 0))
		rst_die("fd %d: cannot give %s its mode and owner: %s", f->fd, was,
			strerror(errno));
	errno = err;
	return fd;
}
