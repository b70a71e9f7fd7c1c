/* SPDX-License-Identifier: MIT */
/* huge-pages.h - how much of a mapping the kernel backs with transparent
 * huge pages: what a restore must keep as the process had it (hugemem)
 * and what the restore benches report beside their times (memtouch). */
#ifndef SNAPVM_HUGE_PAGES_H
#define SNAPVM_HUGE_PAGES_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* kB of the mapping holding p that are huge pages (its smaps entry's
 * AnonHugePages), or -1 when smaps cannot say */
static inline long huge_kb(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[256];
	long kb = -1;
	int inside = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char *dash = strchr(line, '-'), *space = strchr(line, ' ');
		if (dash && space && dash < space && sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

#endif
