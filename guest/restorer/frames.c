/* SPDX-License-Identifier: MIT */
/*
 * frames.c - the guest frames of memory the restorer locks for the host
 * to write into (the staging area, stage-pages.c; a standby's mailbox,
 * standby.c): found in /proc/self/pagemap, and kept where they are while
 * the host writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "restore.h"

#define PAGE 4096ul

void rst_pin_frames_setup(void)
{
	int fd = open("/proc/sys/vm/compact_unevictable_allowed", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "0", 1) != 1)
			dprintf(STDERR_FILENO, "snapvm restore: note: compaction stays allowed\n");
		close(fd);
	}
}

uint64_t rst_frame_runs(int pm, uint64_t at, uint64_t first, uint64_t n,
			struct sv_rimg_pfn_run *runs)
{
	static uint64_t ent[4096];
	uint64_t nruns = 0;
	for (uint64_t done = 0; done < n;) {
		uint64_t m = n - done < 4096 ? n - done : 4096;
		ssize_t got = pread(pm, ent, m * 8, (off_t)((at / PAGE + first + done) * 8));
		if (got != (ssize_t)(m * 8))
			rst_die("cannot read /proc/self/pagemap: %s", strerror(errno));
		for (uint64_t k = 0; k < m; k++) {
			uint64_t pfn = ent[k] & ((1ull << 55) - 1), page = first + done + k;
			if (!(ent[k] >> 63) || !pfn)
				rst_die("locked page %llu is not in RAM", (unsigned long long)page);
			struct sv_rimg_pfn_run *last = nruns ? &runs[nruns - 1] : NULL;
			if (last && last->pfn + last->npages == pfn)
				last->npages++;
			else
				runs[nruns++] = (struct sv_rimg_pfn_run){ .staging_page = page,
									  .pfn = pfn,
									  .npages = 1 };
		}
		done += m;
	}
	return nruns;
}

void rst_frames_dontfork(uint64_t at, uint64_t len, bool dontfork, const char *what)
{
	if (len && madvise((void *)(uintptr_t)at, len, dontfork ? MADV_DONTFORK : MADV_DOFORK) < 0)
		rst_die("cannot mark %s %s a fork: %s", what,
			dontfork ? "to be left out of" : "to be copied by", strerror(errno));
}
