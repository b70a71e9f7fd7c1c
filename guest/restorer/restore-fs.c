/* SPDX-License-Identifier: MIT */
/*
 * restore-fs.c - puts back the files the guest wrote before the checkpoint
 * (sv_rimg_fsent, restore-image-format.h), before anything else of the
 * process is made: directories, regular files (zero pages left as holes),
 * symbolic links, hard links, FIFOs and device nodes, with their owners
 * and modes; then, children before parents, their access and modification
 * times (making a child touches its directory's). What the path held in
 * this guest is replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "restore.h"

/* Whatever is at path goes (not a directory: one the guest has is kept). */
static void clear(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		rst_die("cannot replace %s: %s", path, strerror(errno));
}

static void make(const struct sv_rimg_header *h, const struct sv_rimg_fsent *e,
		 const struct sv_rimg_file *files, const uint8_t *img, uint64_t img_size)
{
	const char *path = rst_str(h, e->path_off), *target = rst_str(h, e->target_off);
	mode_t perm = (mode_t)(e->mode & 07777);
	if (path[0] != '/')
		rst_die("corrupt restore image: file path %s", path);
	rst_mkdir_parents(path);
	switch (e->kind) {
	case SV_RIMG_FS_DIR:
		if (mkdir(path, perm) < 0 && errno != EEXIST)
			rst_die("cannot make directory %s: %s", path, strerror(errno));
		break;
	case SV_RIMG_FS_FILE: {
		if (e->file < 0 || (uint32_t)e->file >= h->nfiles)
			rst_die("corrupt restore image: file %s has no contents", path);
		const struct sv_rimg_file *f = &files[e->file];
		if (f->data_off > img_size || f->size > img_size - f->data_off)
			rst_die("corrupt restore image: file %s out of bounds", path);
		clear(path);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, perm);
		if (fd < 0)
			rst_die("cannot create %s: %s", path, strerror(errno));
		rst_write_sparse(fd, path, img + f->data_off, f->size);
		close(fd);
		break;
	}
	case SV_RIMG_FS_SYMLINK:
		clear(path);
		if (symlink(target, path) < 0)
			rst_die("cannot make symbolic link %s: %s", path, strerror(errno));
		break;
	case SV_RIMG_FS_LINK:
		clear(path);
		if (link(target, path) < 0)
			rst_die("cannot link %s to %s: %s", path, target, strerror(errno));
		return; /* the inode's owner and mode came with its first name */
	case SV_RIMG_FS_NODE:
		clear(path);
		if (mknod(path, (mode_t)e->mode, makedev(e->rdev_major, e->rdev_minor)) < 0)
			rst_die("cannot make %s: %s", path, strerror(errno));
		break;
	default:
		rst_die("corrupt restore image: %s has file kind %u", path, e->kind);
	}
	if (lchown(path, (uid_t)e->uid, (gid_t)e->gid) < 0)
		rst_die("cannot give %s its owner %u:%u: %s", path, e->uid, e->gid,
			strerror(errno));
	/* after chown, which drops set-id bits */
	if (e->kind != SV_RIMG_FS_SYMLINK && chmod(path, perm) < 0)
		rst_die("cannot give %s its mode %o: %s", path, (unsigned)perm, strerror(errno));
}

void rst_fs_restore(const struct sv_rimg_header *h, const struct sv_rimg_fsent *fsents,
		    const struct sv_rimg_file *files, const uint8_t *img, uint64_t img_size)
{
	for (uint32_t i = 0; i < h->nfsents; i++)
		make(h, &fsents[i], files, img, img_size);
	for (uint32_t i = h->nfsents; i-- > 0;) {
		const struct sv_rimg_fsent *e = &fsents[i];
		if (e->kind == SV_RIMG_FS_LINK)
			continue;
		struct timespec t[2] = {
			{ .tv_sec = (time_t)e->atime_sec,
			  .tv_nsec = (long)(e->atime_nsec % 1000000000u) },
			{ .tv_sec = (time_t)e->mtime_sec,
			  .tv_nsec = (long)(e->mtime_nsec % 1000000000u) },
		};
		const char *path = rst_str(h, e->path_off);
		if (utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW) < 0)
			rst_die("cannot set the times of %s: %s", path, strerror(errno));
	}
}
