/* SPDX-License-Identifier: MIT */
/*
 * restore-locks.c - the locks the process held through its files: flock
 * and OFD locks belong to an open file and are taken here, once every fd
 * is in place; POSIX locks belong to the process and would be dropped
 * when the blob closes the restorer's own fds of the same files (closing
 * any fd of a file drops them), so they are handed to the blob, which
 * takes them after that (struct rst_posix_lock).
 *
 * Nothing else in a fresh guest holds a lock, so every lock is granted at
 * once; one that is not is a refusal, never a wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "restore.h"

struct rst_posix_lock *rst_posix_locks;
uint32_t rst_nposix_locks;

static struct flock flock_of(const struct sv_rimg_lock *lk)
{
	return (struct flock){ .l_type = lk->write ? F_WRLCK : F_RDLCK,
			       .l_whence = SEEK_SET,
			       .l_start = (off_t)lk->start,
			       .l_len = (off_t)lk->len };
}

void rst_locks_take(const struct sv_rimg_header *h, const struct sv_rimg_fd *fds,
		    const uint8_t *data)
{
	uint32_t nposix = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < h->nfds; i++) {
			const struct sv_rimg_fd *f = &fds[i];
			if (f->kind != SV_RIMG_FD_PATH || f->dup_of >= 0 || !f->data_len)
				continue;
			if (f->data_len % sizeof(struct sv_rimg_lock))
				rst_die("corrupt restore image: fd %d's locks", f->fd);
			for (uint64_t k = 0; k < f->data_len / sizeof(struct sv_rimg_lock); k++) {
				struct sv_rimg_lock lk;
				memcpy(&lk, data + f->data_off + k * sizeof(lk), sizeof(lk));
				struct flock fl = flock_of(&lk);
				int r = 0;
				if (lk.kind == SV_RIMG_LOCK_POSIX) {
					/* counted on the first pass, kept on the second */
					if (pass == 1) {
						rst_posix_locks[nposix] = (struct rst_posix_lock){
							.fd = f->fd,
							.type = (int16_t)fl.l_type,
							.start = (int64_t)fl.l_start,
							.len = (int64_t)fl.l_len,
						};
					}
					nposix++;
				} else if (pass == 1) {
					continue;
				} else if (lk.kind == SV_RIMG_LOCK_FLOCK) {
					r = flock(f->fd, (lk.write ? LOCK_EX : LOCK_SH) | LOCK_NB);
				} else if (lk.kind == SV_RIMG_LOCK_OFD) {
					r = fcntl(f->fd, F_OFD_SETLK, &fl);
				} else {
					rst_die("corrupt restore image: fd %d has a lock of kind %u",
						f->fd, lk.kind);
				}
				if (r < 0)
					rst_die("fd %d: cannot take its %s lock again: %s", f->fd,
						lk.kind == SV_RIMG_LOCK_FLOCK ? "flock" : "OFD",
						strerror(errno));
			}
		}
		if (pass == 0) {
			rst_nposix_locks = nposix;
			rst_posix_locks = calloc(nposix ? nposix : 1, sizeof(*rst_posix_locks));
			if (!rst_posix_locks)
				rst_die("out of memory");
			nposix = 0;
		}
	}
}
