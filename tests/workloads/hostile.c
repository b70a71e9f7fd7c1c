/* SPDX-License-Identifier: MIT */
/*
 * hostile [steps] [interval_ms]: a process whose names are terminal escape
 * sequences, as a hostile guest would choose them, so the tests can check
 * that snapvm shows them escaped (`ps`, `inspect`) instead of letting them
 * act on the terminal:
 *   - comm (prctl PR_SET_NAME) "ESC[31mRED ESC]0;x BEL": a colour and a
 *     window-title (OSC) sequence;
 *   - a file "/tmp/ESC[2Jclear" (a clear-screen sequence in its name), open
 *     at fd 20 and mapped read-only, so its path shows both in the fd table
 *     and among the VMAs.
 * Then it sleeps like `sleeper`, one line a step.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "workload.h"

/* 14 bytes: fits comm's 15 */
#define HOSTILE_COMM "\x1b[31mRED\x1b]0;x\x07"
#define HOSTILE_PATH "/tmp/\x1b[2Jclear"
#define HOSTILE_FD 20

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 50);
	if (prctl(PR_SET_NAME, HOSTILE_COMM) < 0) {
		printf("hostile FAILED: prctl\n");
		return 1;
	}
	static const char contents[] = "hostile\n";
	int fd = open(HOSTILE_PATH, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, contents, sizeof(contents)) != (ssize_t)sizeof(contents) ||
	    dup2(fd, HOSTILE_FD) < 0 || close(fd) < 0 ||
	    mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, HOSTILE_FD, 0) == MAP_FAILED) {
		printf("hostile FAILED: file setup\n");
		return 1;
	}
	for (long i = 0; i < a.steps; i++) {
		workload_sleep_ms(a.interval_ms);
		printf("hostile woke %ld\n", i);
	}
	printf("hostile done %ld\n", a.steps);
	return 0;
}
