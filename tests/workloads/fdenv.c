/* SPDX-License-Identifier: MIT */
/*
 * fdenv [steps] [interval_ms]: the per-process state outside memory that a
 * checkpoint must carry, verified each step:
 *   - working directory /tmp, umask 027, RLIMIT_NOFILE 200/300;
 *   - a regular file (made in /tmp, only open, never mapped) at fd 20 with
 *     a dup at fd 21 that is close-on-exec; they share one offset, which
 *     the steps advance by reading;
 *   - stdout dup'd to fd 40 (as `exec 40>&1` would), through which every
 *     step line is written: it must still reach the host after restore;
 *   - a non-blocking pipe, write end at fd 30 and read end at fd 31, that
 *     always holds unread bytes: each step writes one and reads the oldest;
 *   - no other fd above stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workload.h"

#define FILE_SIZE 4096
#define FILE_FD 20
#define FILE_DUP 21
#define PIPE_W 30
#define PIPE_R 31
#define OUT_DUP 40

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 37 + (i >> 5));
}

static int fail(long step, const char *what)
{
	printf("fdenv FAILED at step %ld: %s\n", step, what);
	return 1;
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 20, 20);
	const char *path = "/tmp/snapvm-fdenv-workload.dat";
	if (chdir("/tmp") < 0)
		return fail(-1, "chdir");
	umask(027);
	struct rlimit rl = { 200, 300 };
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return fail(-1, "setrlimit");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint8_t block[FILE_SIZE];
	for (size_t i = 0; i < FILE_SIZE; i++)
		block[i] = pattern(i);
	if (fd < 0 || write(fd, block, FILE_SIZE) != FILE_SIZE || lseek(fd, 100, SEEK_SET) != 100 ||
	    dup2(fd, FILE_FD) < 0 || dup3(fd, FILE_DUP, O_CLOEXEC) < 0 || close(fd) < 0)
		return fail(-1, "file setup");
	int p[2];
	if (pipe2(p, O_NONBLOCK) < 0 || dup2(p[1], PIPE_W) < 0 || dup2(p[0], PIPE_R) < 0 ||
	    close(p[0]) < 0 || close(p[1]) < 0)
		return fail(-1, "pipe setup");
	if (dup2(STDOUT_FILENO, OUT_DUP) < 0)
		return fail(-1, "stdout dup");
	if (write(PIPE_W, "fdenv", 5) != 5)
		return fail(-1, "pipe prefill");
	static const char prefill[] = "fdenv";
	uint32_t sum = 0;
	for (long s = 0; s < a.steps; s++) {
		char cwd[64];
		if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/tmp"))
			return fail(s, "working directory");
		mode_t m = umask(0);
		umask(m);
		if (m != 027)
			return fail(s, "umask");
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != 200 || rl.rlim_max != 300)
			return fail(s, "RLIMIT_NOFILE");
		if (fcntl(FILE_FD, F_GETFD) != 0 || fcntl(FILE_DUP, F_GETFD) != FD_CLOEXEC ||
		    fcntl(PIPE_W, F_GETFD) != 0 || fcntl(PIPE_R, F_GETFD) != 0)
			return fail(s, "close-on-exec flags");
		if (!(fcntl(PIPE_R, F_GETFL) & O_NONBLOCK) ||
		    !(fcntl(PIPE_W, F_GETFL) & O_NONBLOCK) ||
		    (fcntl(FILE_FD, F_GETFL) & O_ACCMODE) != O_RDWR)
			return fail(s, "file status flags");
		for (int other = 3; other < 64; other++)
			if (other != FILE_FD && other != FILE_DUP && other != PIPE_W &&
			    other != PIPE_R && other != OUT_DUP &&
			    (fcntl(other, F_GETFD) != -1 || errno != EBADF))
				return fail(s, "an fd that should not be open");
		/* the dup shares the offset: read through each in turn */
		off_t at = lseek(FILE_FD, 0, SEEK_CUR);
		if (at + 8 > FILE_SIZE) /* long runs go round */
			at = lseek(FILE_DUP, 0, SEEK_SET);
		uint8_t got[8];
		if (read(s % 2 ? FILE_DUP : FILE_FD, got, 8) != 8 || memcmp(got, block + at, 8))
			return fail(s, "file contents or offset");
		/* one byte in, the oldest out: the pipe is never empty */
		char in = (char)('A' + s % 26), out;
		if (write(PIPE_W, &in, 1) != 1 || read(PIPE_R, &out, 1) != 1)
			return fail(s, "pipe");
		char want = s < 5 ? prefill[s] : (char)('A' + (s - 5) % 26);
		if (out != want)
			return fail(s, "pipe bytes out of order");
		sum = workload_hash(sum, got, 8);
		sum = workload_hash(sum, &out, 1);
		/* stdout is line-buffered and flushed at each newline, so
		 * lines through the dup stay in order with printf's */
		if (dprintf(OUT_DUP, "fdenv step %ld offset %lld pipe '%c' checksum %08x\n", s,
			    (long long)at, out, sum) < 0)
			return fail(s, "write through the stdout dup");
		workload_sleep_ms(a.interval_ms);
	}
	unlink(path);
	printf("fdenv done %ld\n", a.steps);
	return 0;
}
