/* SPDX-License-Identifier: MIT */
/*
 * stage-layout.c - where each page run goes in the staging area
 * (SV_RIMG_HOST_PAGES, stage-pages.c). The blob moves a run's staged pages
 * into place with one mremap, which keeps a huge page whole only where the
 * staging area and the run's target agree modulo the huge-page size;
 * elsewhere it splits each into small pages, and the restored process
 * then runs on small pages where it had huge ones (a TLB entry per 4 KiB).
 * Skewing the whole area agrees with one run only, so each run large
 * enough to hold a huge page whatever its offset starts where it agrees
 * with its target, the pages before it left unused: less than a huge page
 * per run, and in all at most a sixteenth of the staged bytes plus two
 * huge pages - past that, runs follow each other as they come (small
 * pages, no more memory: the guest's memory is sized for the pages).
 */
#include "restore.h"

#define PAGE 4096ul

uint64_t rst_stage_layout(const struct sv_rimg_run *runs, uint32_t nruns, uint64_t huge,
			  uint64_t *pos)
{
	uint64_t data = 0, p = 0;
	for (uint32_t i = 0; i < nruns; i++)
		data += runs[i].npages * PAGE;
	uint64_t budget = data / 16 + 2 * huge;
	for (uint32_t i = 0; i < nruns; i++) {
		uint64_t len = runs[i].npages * PAGE, gap = (runs[i].vaddr - p) & (huge - 1);
		/* the first run's offset costs nothing: the area starts there */
		if (len >= 2 * huge && (i == 0 || gap <= budget)) {
			budget -= i ? gap : 0;
			p += gap;
		}
		pos[i] = p;
		p += len;
	}
	return p;
}
