/* SPDX-License-Identifier: MIT */
/*
 * restore-memfiles.c - makes again a file that existed only in memory
 * (sv_rimg_file.memfile, restore-image-format.h) from its carried
 * contents, with no name, as it was: a ghost file is made at its old path
 * and unlinked, an O_TMPFILE file in its old directory, a memfd with its
 * name and seals, shared anonymous memory by mapping it and opening the
  * mapping's file, a SysV shm segment with its key, mode and id. Every mapping and fd of it is then made from the one fd
 * returned here, so writes through one are seen through the others, as
 * before. Only pages that hold something are written: holes stay holes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "restore.h"

#define PAGE 4096ul

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

void rst_write_sparse(int fd, const char *path, const uint8_t *data, uint64_t size)
{
	if (ftruncate(fd, (off_t)size) < 0)
		rst_die("cannot size %s to %llu bytes: %s", path, (unsigned long long)size,
			strerror(errno));
	for (uint64_t off = 0; off < size; off += PAGE) {
		size_t len = size - off < PAGE ? (size_t)(size - off) : PAGE;
		if (all_zero(data + off, len))
			continue;
		for (size_t done = 0; done < len;) {
			ssize_t n = pwrite(fd, data + off + done, len - done, (off_t)(off + done));
			if (n <= 0)
				rst_die("cannot write %s: %s", path,
					n < 0 ? strerror(errno) : "short write");
			done += (size_t)n;
		}
	}
}

/* The directory part of path ("/" for a file at the root). */
static void dir_of(const char *path, char *out, size_t cap)
{
	snprintf(out, cap, "%s", path);
	char *slash = strrchr(out, '/');
	if (slash == out)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
}

/* A file with no name in path's directory: made at path and unlinked
 * there, or, when path is taken, made with O_TMPFILE beside it. */
static int nameless(const char *path, uint32_t mode, int at_path)
{
	char dir[PATH_MAX];
	dir_of(path, dir, sizeof(dir));
	rst_mkdir_parents(path);
	int fd = at_path ? open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode) : -1;
	if (fd >= 0) {
		if (unlink(path) < 0)
			rst_die("cannot unlink %s again: %s", path, strerror(errno));
		return fd;
	}
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (fd < 0)
		rst_die("cannot make an unnamed file in %s for %s: %s", dir, path, strerror(errno));
	return fd;
}

/* Shared anonymous memory: a MAP_SHARED|MAP_ANONYMOUS mapping of its size,
 * filled, and its file opened through /proc/self/map_files (the same
 * shmem inode, "/dev/zero (deleted)" as before); the mapping then goes. */
static int shared_anonymous(const char *path, const uint8_t *data, uint64_t size)
{
	uint64_t len = (size + PAGE - 1) & ~(PAGE - 1);
	if (!len)
		rst_die("shared anonymous memory %s has no size", path);
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		rst_die("cannot map %llu bytes of shared anonymous memory: %s",
			(unsigned long long)len, strerror(errno));
	for (uint64_t off = 0; off < size; off += PAGE) {
		size_t n = size - off < PAGE ? (size_t)(size - off) : PAGE;
		if (!all_zero(data + off, n))
			memcpy(m + off, data + off, n);
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/map_files/%llx-%llx",
		 (unsigned long long)(uintptr_t)m, (unsigned long long)((uintptr_t)m + len));
	int fd = open(proc, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		rst_die("cannot open the shared anonymous memory's file %s: %s", proc,
			strerror(errno));
	munmap(m, len);
	return fd;
}

int rst_memfile_create(const struct sv_rimg_header *h, const struct sv_rimg_file *f,
		       const uint8_t *data)
{
	const char *path = rst_str(h, f->path_off);
	uint32_t mode = f->mode & 07777;
	int fd;
	switch (f->memfile) {
	case SV_RIMG_MEMFILE_GHOST:
	case SV_RIMG_MEMFILE_TMPFILE:
		fd = nameless(path, mode, f->memfile == SV_RIMG_MEMFILE_GHOST);
		break;
	case SV_RIMG_MEMFILE_MEMFD: {
		const char *name = strncmp(path, "/memfd:", 7) ? path + 1 : path + 7;
		/* without MFD_ALLOW_SEALING a memfd is born sealed with F_SEAL_SEAL */
		unsigned flags = MFD_CLOEXEC | (f->seals == F_SEAL_SEAL ? 0 : MFD_ALLOW_SEALING);
		fd = memfd_create(name, flags);
		if (fd < 0)
			rst_die("memfd_create(%s): %s", name, strerror(errno));
		break;
	}
	case SV_RIMG_MEMFILE_SHMEM:
		return shared_anonymous(path, data, f->size);
	default:
		rst_die("corrupt restore image: file %s has memory-only kind %u", path, f->memfile);
	}
	rst_write_sparse(fd, path, data, f->size);
	/* owner first: fchown clears the set-id bits fchmod gives */
	if (f->owner && fchown(fd, (uid_t)f->uid, (gid_t)f->gid) < 0)
		rst_die("cannot give %s its owner %u:%u: %s", path, f->uid, f->gid,
			strerror(errno));
	if (fchmod(fd, mode) < 0)
		rst_die("cannot give %s its mode %o: %s", path, mode, strerror(errno));
	/* after its contents: writing them set the times to now (zdtm's
	 * file_attr reads an unlinked file's mtime back) */
	const struct timespec times[2] = {
		{ .tv_sec = (time_t)f->atime_sec, .tv_nsec = (long)f->atime_nsec },
		{ .tv_sec = (time_t)f->mtime_sec, .tv_nsec = (long)f->mtime_nsec },
	};
	if (f->times && futimens(fd, times) < 0)
		rst_die("cannot give %s its access and modification times: %s", path,
			strerror(errno));
	if (f->memfile == SV_RIMG_MEMFILE_MEMFD && f->seals && f->seals != F_SEAL_SEAL &&
	    fcntl(fd, F_ADD_SEALS, (int)f->seals) < 0)
		rst_die("cannot seal memfd %s with 0x%x: %s", path, f->seals, strerror(errno));
	return fd;
}

/* The segment's id is chosen through kernel.shm_next_id (as CRIU does):
 * the process may hold it and call shmctl or shmat with it again. */
static void set_next_id(int id)
{
	int fd = open("/proc/sys/kernel/shm_next_id", O_WRONLY | O_CLOEXEC);
	char s[32];
	int n = snprintf(s, sizeof(s), "%d", id);
	if (fd < 0 || write(fd, s, (size_t)n) != n)
		rst_die("cannot choose SysV shm id %d (kernel.shm_next_id): %s", id,
			strerror(errno));
	close(fd);
}

void rst_sysv_create(const struct sv_rimg_header *h, const struct sv_rimg_file *f,
		     const uint8_t *data)
{
	const char *path = rst_str(h, f->path_off);
	set_next_id(f->sysv_id);
	int id = shmget((key_t)f->sysv_key, f->size, IPC_CREAT | IPC_EXCL | (int)(f->mode & 0777));
	if (id < 0)
		rst_die("cannot make SysV shm segment %s (key 0x%x, %llu bytes): %s", path,
			f->sysv_key, (unsigned long long)f->size, strerror(errno));
	/* the kernel forgets shm_next_id once it has used it */

	if (id != f->sysv_id)
		rst_die("SysV shm segment %s came back with id %d, not %d", path, id, f->sysv_id);
	uint8_t *m = shmat(id, NULL, 0);
	if (m == (void *)-1)
		rst_die("cannot attach SysV shm segment %s: %s", path, strerror(errno));
	for (uint64_t off = 0; off < f->size; off += PAGE) {
		size_t n = f->size - off < PAGE ? (size_t)(f->size - off) : PAGE;
		if (!all_zero(data + off, n))
			memcpy(m + off, data + off, n);
	}
	shmdt(m);
}
