/* SPDX-License-Identifier: MIT */
/*
 * vmaflags [steps] [interval_ms]: anonymous regions each given one kind of
 * madvise advice or lock (MADV_DONTFORK, DONTDUMP, WIPEONFORK, HUGEPAGE,
 * NOHUGEPAGE, MERGEABLE, SEQUENTIAL, RANDOM; mlock, mlock2 ONFAULT), and
 * PR_SET_THP_DISABLE on the mm. Every step checks what the kernel says of
 * each region (/proc/self/smaps VmFlags) and what a child sees after fork:
 * a DONTFORK region is not mapped in it, a WIPEONFORK one reads as zeros.
 * A restore that drops an advice bit fails here, naming it.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workload.h"

#define PAGES 4
#define MLOCK_ONFAULT_ 1

struct region {
	const char *what; /* smaps VmFlags mnemonic (fs/proc/task_mmu.c) */
	int advice;	  /* madvise advice, or -1 mlock, -2 mlock2 ONFAULT */
	unsigned char *p;
};

static struct region regions[] = {
	{ "dc", MADV_DONTFORK, 0 },
	{ "dd", MADV_DONTDUMP, 0 },
	{ "wf", MADV_WIPEONFORK, 0 },
	{ "hg", MADV_HUGEPAGE, 0 },
	{ "nh", MADV_NOHUGEPAGE, 0 },
	{ "mg", MADV_MERGEABLE, 0 },
	{ "sr", MADV_SEQUENTIAL, 0 },
	{ "rr", MADV_RANDOM, 0 },
	{ "lo", -1, 0 },
	{ "lf", -2, 0 },
};
#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

/* The VmFlags line of the smaps entry starting at p: into out. */
static int vmflags_of(const void *p, char *out, size_t cap)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[1024], want[32];
	snprintf(want, sizeof(want), "%lx-", (unsigned long)p);
	int in = 0, found = -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want)))
			in = 1;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, cap, "%s", line + 8);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

static int has_flag(const char *flags, const char *mn)
{
	for (const char *s = flags; (s = strstr(s, mn)); s += 2)
		if ((s == flags || s[-1] == ' ') && (s[2] == ' ' || s[2] == '\n' || !s[2]))
			return 1;
	return 0;
}

/* In a child: DONTFORK's region must be gone, WIPEONFORK's zero, the
 * others as the parent has them. Exit status: 0 fine, else which failed. */
static int check_in_child(uint32_t parent_hash)
{
	pid_t c = fork();
	if (c < 0)
		return 100;
	if (c == 0) {
		for (size_t i = 0; i < NREGIONS; i++) {
			struct region *r = &regions[i];
			int mapped = msync(r->p, PAGES * 4096, MS_ASYNC) == 0;
			if (r->advice == MADV_DONTFORK) {
				if (mapped)
					_exit(10 + (int)i);
				continue;
			}
			if (!mapped)
				_exit(30 + (int)i);
			if (r->advice == MADV_WIPEONFORK) {
				for (size_t k = 0; k < PAGES * 4096; k++)
					if (r->p[k])
						_exit(50 + (int)i);
			}
		}
		uint32_t h = 0;
		for (size_t i = 0; i < NREGIONS; i++)
			if (regions[i].advice != MADV_DONTFORK &&
			    regions[i].advice != MADV_WIPEONFORK)
				h = workload_hash(h, regions[i].p, PAGES * 4096);
		_exit(h == parent_hash ? 0 : 70);
	}
	int st;
	/* which way waitpid failed: 102 EINTR, 103 ECHILD (a checkpoint taken
	 * while this child lived, before checkpoints waited for children to
	 * end, restored the parent alone), 101 else */
	if (waitpid(c, &st, 0) != c)
		return errno == EINTR ? 102 : errno == ECHILD ? 103 : 101;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	struct workload_args a = workload_parse(argc, argv, 10, 20);
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) {
		printf("vmaflags: PR_SET_THP_DISABLE: %s\n", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < NREGIONS; i++) {
		struct region *r = &regions[i];
		/* a guard page between regions, so none merges with another */
		unsigned char *p = mmap(NULL, (PAGES + 1) * 4096, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED || mprotect(p + PAGES * 4096, 4096, PROT_NONE)) {
			printf("vmaflags: mmap: %s\n", strerror(errno));
			return 1;
		}
		r->p = p;
		int rc = r->advice == -1 ? mlock(p, PAGES * 4096)
			 : r->advice == -2
				 ? (int)syscall(SYS_mlock2, p, PAGES * 4096, MLOCK_ONFAULT_)
				 : madvise(p, PAGES * 4096, r->advice);
		if (rc) {
			printf("vmaflags: %s: %s\n", r->what, strerror(errno));
			return 1;
		}
		memset(p, (int)(i + 1), 4096); /* one page written, the rest untouched */
	}
	for (long step = 0; step < a.steps; step++) {
		uint32_t h = 0;
		for (size_t i = 0; i < NREGIONS; i++) {
			struct region *r = &regions[i];
			r->p[(step % PAGES) * 4096 + (size_t)step % 4096] ^= (unsigned char)(step +
											     1);
			char flags[1024];
			/* Linux 6.1 has no mnemonic for VM_LOCKONFAULT: it
			 * shows as "??" beside "lo" (later kernels: "lf") */
			int ok = !vmflags_of(r->p, flags, sizeof(flags)) &&
				 (r->advice == -2
					  ? has_flag(flags, "lo") &&
						    (has_flag(flags, "lf") || has_flag(flags, "??"))
					  : has_flag(flags, r->what));
			if (!ok) {
				printf("vmaflags FAILED at step %ld: region %s lost its flag: %s",
				       step, r->what, flags);
				return 1;
			}
			if (r->advice != MADV_DONTFORK && r->advice != MADV_WIPEONFORK)
				h = workload_hash(h, r->p, PAGES * 4096);
		}
		int thp = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
		int child = check_in_child(h);
		if (thp != 1 || child) {
			printf("vmaflags FAILED at step %ld: thp_disable %d, child check %d\n",
			       step, thp, child);
			return 1;
		}
		printf("vmaflags step %ld regions %zu hash %08x\n", step, NREGIONS, h);
		workload_sleep_ms(a.interval_ms);
	}
	printf("vmaflags done %ld\n", a.steps);
	return 0;
}
