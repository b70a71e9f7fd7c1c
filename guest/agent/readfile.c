/* SPDX-License-Identifier: MIT */
/*
 * readfile.c - SV_MSG_READFILE: a chunk of a guest file, with the identity
 * (inode, mtime) and size the host needs to tell a file that changed while
 * it read it in chunks. Checkpoint carries file-backed mappings (the static
 * executable) into snapshots this way.
 *
 * Only regular files: a FIFO or a device could block the agent's one loop
 * (O_NONBLOCK keeps even the open from waiting for a FIFO's writer).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

void readfile_reply(struct channel *ch, uint32_t tag, const struct sv_readfile_req *req)
{
	char path[SV_READFILE_MAX_PATH + 1];
	memcpy(path, req->path, req->path_len);
	path[req->path_len] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		channel_send_error(ch, tag, SV_MSG_READFILE, errno, "cannot open %s", path);
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		channel_send_error(ch, tag, SV_MSG_READFILE, e, "cannot stat %s", path);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		channel_send_error(ch, tag, SV_MSG_READFILE, EINVAL, "%s is not a regular file",
				   path);
		return;
	}
	uint8_t *buf = malloc(SV_READFILE_REPLY_OVERHEAD + (size_t)req->max_len);
	if (!buf) {
		close(fd);
		channel_send_error(ch, tag, SV_MSG_READFILE, ENOMEM, "out of memory");
		return;
	}
	uint8_t *data = buf + SV_READFILE_REPLY_OVERHEAD;
	size_t got = 0;
	while (got < req->max_len) {
		if (req->offset + got > (uint64_t)INT64_MAX)
			break; /* past any file's end */
		ssize_t n = pread(fd, data + got, req->max_len - got, (off_t)(req->offset + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			free(buf);
			channel_send_error(ch, tag, SV_MSG_READFILE, e, "cannot read %s", path);
			return;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, SV_READFILE_REPLY_OVERHEAD);
	sv_wbuf_u64(&w, (uint64_t)st.st_size);
	sv_wbuf_u64(&w, (uint64_t)st.st_ino);
	sv_wbuf_u64(&w, (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec);
	sv_wbuf_u32(&w, (uint32_t)got);
	channel_send(ch, SV_MSG_READFILE_REPLY, tag, buf,
		     (uint32_t)(SV_READFILE_REPLY_OVERHEAD + got));
	free(buf);
}
