/* SPDX-License-Identifier: MIT */
/* small-file.c - a small /proc or /sys entry (a process's stat, a port's
 * name) read whole with one read, for the files that look things up there
 * (init-setup.c, procfs.c, hold.c). */
#include <fcntl.h>
#include <unistd.h>

#include "agent.h"

bool agent_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}
