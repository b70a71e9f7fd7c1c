/* SPDX-License-Identifier: MIT */
/*
 * writefile.c - SV_MSG_WRITEFILE: a chunk of a file for a restore, written
 * into SV_RIMG_GUEST_DIR (and nowhere else: the request decoder allows one
 * name right in it). A guest booted idle for `snapvm pool` gets the
 * restorer and its image this way instead of in its initrd.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

void writefile_reply(struct channel *ch, uint32_t tag, const struct sv_writefile_req *req)
{
	char path[SV_READFILE_MAX_PATH + 1];
	memcpy(path, req->path, req->path_len);
	path[req->path_len] = '\0';
	if (mkdir(SV_RIMG_GUEST_DIR, 0700) < 0 && errno != EEXIST) {
		channel_send_error(ch, tag, SV_MSG_WRITEFILE, errno, "cannot make %s",
				   SV_RIMG_GUEST_DIR);
		return;
	}
	int flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
	if (req->offset == 0)
		flags |= O_CREAT | O_TRUNC;
	int fd = open(path, flags, (mode_t)req->mode);
	if (fd < 0) {
		channel_send_error(ch, tag, SV_MSG_WRITEFILE, errno, "cannot open %s", path);
		return;
	}
	/* O_TRUNC keeps an old file's mode */
	if (req->offset == 0 && fchmod(fd, (mode_t)req->mode) < 0) {
		int e = errno;
		close(fd);
		channel_send_error(ch, tag, SV_MSG_WRITEFILE, e, "cannot chmod %s", path);
		return;
	}
	size_t done = 0;
	while (done < req->data_len) {
		ssize_t n = pwrite(fd, req->data + done, req->data_len - done,
				   (off_t)(req->offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			channel_send_error(ch, tag, SV_MSG_WRITEFILE, e, "cannot write %s", path);
			return;
		}
		done += (size_t)n;
	}
	if (close(fd) < 0) {
		channel_send_error(ch, tag, SV_MSG_WRITEFILE, errno, "cannot write %s", path);
		return;
	}
	channel_send(ch, SV_MSG_OK, tag, NULL, 0);
}
