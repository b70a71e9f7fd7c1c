/* SPDX-License-Identifier: MIT */
/*
 * fsfiles [steps] [interval_ms]: files a process writes and closes, which
 * only the guest's filesystem keeps (CRIU's cwd00, and what a restore must
 * put back): makes /tmp/snapvm-fsfiles with a subdirectory (modes 0750,
 * 0700) and chdirs into it; writes and closes log.txt (0640), a sparse
 * file (a page at 0 and one at 1 MiB, a fixed mtime), a symbolic link and
 * a hard link to the log, a FIFO. Each step appends a line to the log
 * (open, write, close) and reads everything back: the log's contents, each
 * file's type, mode, size and link count, the sparse file's holes and
 * mtime, the link's target, the working directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workload.h"

#define TOP "/tmp/snapvm-fsfiles"
#define SUB TOP "/sub"
#define HOLE_AT (1 << 20)

static void fail(const char *what)
{
	printf("fsfiles FAILED: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void clean(void)
{
	static const char *const files[] = { SUB "/log.txt", SUB "/sparse.dat", SUB "/link",
					     SUB "/hard",    SUB "/fifo",	NULL };
	for (const char *const *f = files; *f; f++)
		unlink(*f);
	rmdir(SUB);
	rmdir(TOP);
}

static void make(void)
{
	static uint8_t page[4096];
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i * 7 + 3);
	if (mkdir(TOP, 0750) < 0 || mkdir(SUB, 0700) < 0 || chdir(SUB) < 0)
		fail("make the directories");
	int fd = open("log.txt", O_WRONLY | O_CREAT | O_EXCL, 0640);
	if (fd < 0 || write(fd, "start\n", 6) != 6 || close(fd) < 0)
		fail("write log.txt");
	fd = open("sparse.dat", O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || pwrite(fd, page, sizeof(page), 0) != sizeof(page) ||
	    pwrite(fd, page, sizeof(page), HOLE_AT) != sizeof(page) || close(fd) < 0)
		fail("write sparse.dat");
	struct timespec t[2] = { { 1000000000, 5 }, { 1234567890, 123456789 } };
	if (utimensat(AT_FDCWD, "sparse.dat", t, 0) < 0)
		fail("set sparse.dat's times");
	if (symlink("log.txt", "link") < 0 || link("log.txt", "hard") < 0 ||
	    mkfifo("fifo", 0620) < 0)
		fail("make the links and the FIFO");
}

/* One line about the file at path. */
static uint32_t describe(const char *path, uint32_t sum)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		fail(path);
	char line[256];
	int n = snprintf(line, sizeof(line), "%s mode %o size %ld nlink %ld", path,
			 (unsigned)st.st_mode, S_ISDIR(st.st_mode) ? 0L : (long)st.st_size,
			 (long)st.st_nlink);
	printf("  %s\n", line);
	return workload_hash(sum, line, (size_t)n);
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 20);
	umask(022);
	clean();
	make();
	uint32_t sum = 0;
	for (long i = 0; i < a.steps; i++) {
		char line[64], buf[4096] = { 0 }, target[64] = { 0 }, cwd[256] = { 0 };
		int n = snprintf(line, sizeof(line), "step %ld\n", i);
		int fd = open("log.txt", O_WRONLY | O_APPEND);
		if (fd < 0 || write(fd, line, (size_t)n) != n || close(fd) < 0)
			fail("append to log.txt");
		fd = open("hard", O_RDONLY); /* the same file by its other name */
		ssize_t len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (len < 0 || close(fd) < 0)
			fail("read back log.txt");
		struct stat sp;
		if (readlink("link", target, sizeof(target) - 1) < 0 || !getcwd(cwd, sizeof(cwd)) ||
		    stat("sparse.dat", &sp) < 0)
			fail("read the link, the cwd and the sparse file");
		sum = workload_hash(sum, buf, (size_t)len);
		printf("fsfiles step %ld cwd %s link %s log %ld bytes sparse holes %s mtime "
		       "%ld.%09ld\n",
		       i, cwd, target, (long)len,
		       (long long)sp.st_blocks * 512 < (long long)sp.st_size ? "yes" : "no",
		       (long)sp.st_mtim.tv_sec, (long)sp.st_mtim.tv_nsec);
		static const char *const all[] = { TOP,	   ".",	   "log.txt", "sparse.dat",
						   "link", "hard", "fifo",    NULL };
		for (const char *const *p = all; *p; p++)
			sum = describe(*p, sum);
		printf("fsfiles step %ld checksum %08x\n", i, sum);
		workload_sleep_ms(a.interval_ms);
	}
	clean();
	printf("fsfiles done %ld steps checksum %08x\n", a.steps, sum);
	return 0;
}
