/* SPDX-License-Identifier: MIT */
/* fd-place.c - putting a new fd at the number the snapshot had it, for
 * every kind's restorer (restore-files.c, restore-pipes.c,
 * restore-kobjects.c). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "restore.h"

int rst_move_up(int fd, int above, const char *what)
{
	/* -1: an entry with nothing opened (carried filesystem contents,
	 * SysV segments), nothing to move */
	if (fd < 0 || fd >= above)
		return fd;
	int n = fcntl(fd, F_DUPFD_CLOEXEC, above);
	if (n < 0)
		rst_die("cannot move %s (fd %d) above fd %d: %s", what, fd, above, strerror(errno));
	close(fd);
	return n;
}

void rst_place(int tmp, const struct sv_rimg_fd *f)
{
	if (dup3(tmp, f->fd, f->cloexec ? O_CLOEXEC : 0) < 0)
		rst_die("cannot make fd %d: %s", f->fd, strerror(errno));
}
