/* SPDX-License-Identifier: MIT */
#include "host/util/io-util.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

gboolean sv_write_all_fd(int fd, const void *buf, gsize n)
{
	const guint8 *p = buf;
	struct stat st;
	gboolean is_socket = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
	while (n) {
		ssize_t w = is_socket ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return FALSE;
		}
		p += w;
		n -= w;
	}
	return TRUE;
}
