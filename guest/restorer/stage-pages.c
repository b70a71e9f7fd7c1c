/* SPDX-License-Identifier: MIT */
/*
 * stage-pages.c - SV_RIMG_HOST_PAGES, the guest's half: a locked staging
 * area for every stored page, whose frames the host learns on our stdout
 * and fills from outside (include/snapvm/restore-image-format.h).
 *
 * The area is locked and reported a slice at a time, so the host copies
 * one slice while this vCPU faults in the next: the restore costs the
 * longer of the two, not their sum. The restorer stages first and waits
 * for the host last (rst_stage_pages_wait), so that its own work - the
 * process's attributes, threads, files - runs while the host copies too.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "restore.h"

#define PAGE 4096ul
/* Pages per slice: the first small, so that the host starts copying
 * early; then doubling, so that a large area costs few messages (each
 * wakes the agent, and a lock call each) - 12 for 1 GiB. Multiples of
 * 2 MiB counted from the 1 GiB-aligned mapping the area is skewed into,
 * so a slice's mlock splits no huge page (huge pages, the kernel's
 * default, mean 512 times fewer faults and frame runs than small ones,
 * which cost more here even where the guest skips zeroing them,
 * init_on_free=1). */
#define FIRST_SLICE_PAGES 2048ul /* 8 MiB */
#define MAX_SLICE_PAGES 32768ul	 /* 128 MiB */

static uint64_t staged_at, staged_len; /* the staging area, once reported */
static pid_t staged_by;		       /* the restorer that reported it */
static bool filled;		       /* the host said it has filled it */

static void write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			rst_die("cannot write to the host: %s",
				k < 0 ? strerror(errno) : "short write");
		p += k;
		n -= (size_t)k;
	}
}

/* Locks [lo, hi) of the area at `at` (VA offsets), and writes the frames
 * of the runs' pages in it as one page-frame message: run i's pages are
 * at at + pos[i], staging pages first[i].. in the host's numbering. */
static void report_slice(int pm, uint64_t at, uint64_t lo, uint64_t hi, const struct sv_rimg_run *r,
			 uint32_t nruns, const uint64_t *pos, const uint64_t *first, uint64_t total)
{
	static struct sv_rimg_pfn_run runs[MAX_SLICE_PAGES];
	/* Locked: resident, never reclaimed; and compaction must not move
	 * locked pages while the host writes into their frames. */
	if (mlock((void *)(uintptr_t)(at + lo), hi - lo) < 0)
		rst_die("cannot lock %llu bytes of staging: %s", (unsigned long long)(hi - lo),
			strerror(errno));
	uint64_t nruns_out = 0;
	for (uint32_t i = 0; i < nruns; i++) {
		uint64_t start = pos[i], end = pos[i] + r[i].npages * PAGE;
		if (end <= lo || start >= hi)
			continue;
		uint64_t from = start > lo ? start : lo, to = end < hi ? end : hi;
		/* the area as if run i's pages were where its numbering puts
		 * them: staging page first[i] + k at at + pos[i] + k pages */
		uint64_t base = at + pos[i] - first[i] * PAGE;
		nruns_out += rst_frame_runs(pm, base, first[i] + (from - start) / PAGE,
					    (to - from) / PAGE, runs + nruns_out);
	}
	if (!nruns_out)
		return; /* only unused pages here */
	struct sv_rimg_pfn_header hdr = { .nruns = nruns_out, .staging_pages = total };
	memcpy(hdr.magic, SV_RIMG_PFN_MAGIC, 8);
	write_all(STDOUT_FILENO, &hdr, sizeof(hdr));
	write_all(STDOUT_FILENO, runs, nruns_out * sizeof(*runs));
}

/* A restorer giving up (rst_die) after it reported its staging area
 * waits until the host has filled it: the host writes into those frames
 * while the rest of the restorer's work runs, and they are ours only
 * while the restorer lives (the guest kernel reuses them at its exit).
 * Not in a child it forked, which has no staging area. */
static void settle(void)
{
	if (staged_len && !filled && getpid() == staged_by)
		rst_stage_pages_wait();
}

void rst_stage_pages(uint64_t at, const struct sv_rimg_run *runs, uint32_t nruns,
		     const uint64_t *pos, uint64_t end)
{
	uint64_t skew = nruns ? pos[0] : 0, len = end - skew, total = 0;
	uint64_t *first = malloc((nruns + 1) * sizeof(uint64_t));
	if (!first)
		rst_die("out of memory for %u page runs", nruns);
	for (uint32_t i = 0; i < nruns; i++) {
		first[i] = total;
		total += runs[i].npages;
	}
	/* a standby restorer's pre-faulted pages first (standby.c) */
	if (!rst_standby_take(at, end)) {
		void *p = mmap((void *)(uintptr_t)at, end, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED || (uint64_t)(uintptr_t)p != at)
			rst_die("cannot map %llu bytes of staging: %s", (unsigned long long)len,
				strerror(errno));
	}
	rst_standby_drop();
	if (skew)
		munmap((void *)(uintptr_t)at, skew);
	rst_pin_frames_setup();
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		rst_die("cannot open /proc/self/pagemap: %s", strerror(errno));
	/* the slices' ends on 2 MiB boundaries counted from at (1 GiB-
	 * aligned), the area starting skew into the first */
	for (uint64_t stop = 0, n = FIRST_SLICE_PAGES * PAGE, lo = skew; lo < end;
	     n = n * 2 < MAX_SLICE_PAGES * PAGE ? n * 2 : MAX_SLICE_PAGES * PAGE) {
		stop += n;
		if (stop <= lo)
			continue;
		uint64_t hi = stop < end ? stop : end;
		report_slice(pm, at, lo, hi, runs, nruns, pos, first, total);
		lo = hi;
	}
	close(pm);
	free(first);
	staged_at = at + skew;
	staged_len = len;
	staged_by = getpid();
	rst_before_giving_up = settle;
}

void rst_stage_pages_dontfork(bool dontfork)
{
	rst_frames_dontfork(staged_at, staged_len, dontfork, "the staging area");
}

void rst_stage_pages_wait(void)
{
	if (!staged_len || filled)
		return;
	filled = true; /* once: its own give-up below does not wait again */
	sigset_t go;
	sigemptyset(&go);
	sigaddset(&go, SV_RIMG_PFN_SIGNAL);
	struct timespec limit = { 600, 0 };
	if (sigtimedwait(&go, NULL, &limit) != SV_RIMG_PFN_SIGNAL)
		rst_die("the host did not fill the staged pages within 10 minutes");
}
