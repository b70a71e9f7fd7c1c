/* SPDX-License-Identifier: MIT */
/*
 * Where the restorer stages each page run (guest/restorer/stage-layout.c):
 * every run large enough to hold a huge page starts at an offset that
 * agrees with its target modulo the huge-page size - the blob's mremap
 * then moves whole huge pages, where one agreeing run only (the largest:
 * the area's skew) kept them and the rest were split into small pages -
 * in the host's order, runs apart, with no more unused room than the
 * budget (a sixteenth of the pages plus two huge pages).
 */
#include <glib.h>

#include "guest/restorer/restore.h"

#define PAGE 4096ul
#define HUGE (2ul << 20)

static void assert_layout(const struct sv_rimg_run *runs, guint n, const uint64_t *pos,
			  uint64_t end)
{
	uint64_t data = 0, unused = 0;
	for (guint i = 0; i < n; i++) {
		data += runs[i].npages * PAGE;
		g_assert_cmpuint(pos[i] % PAGE, ==, 0);
		if (i)
			g_assert_cmpuint(pos[i], >=, pos[i - 1] + runs[i - 1].npages * PAGE);
		unused += i ? pos[i] - (pos[i - 1] + runs[i - 1].npages * PAGE) : 0;
	}
	g_assert_cmpuint(end, ==, pos[n - 1] + runs[n - 1].npages * PAGE);
	g_assert_cmpuint(unused, <=, data / 16 + 2 * HUGE);
}

/* Two large runs 1 MiB apart in phase (tests/workloads/hugemem.c's), and
 * small ones between: both large ones agree with their targets. */
static void test_two_phases(void)
{
	const struct sv_rimg_run runs[] = {
		{ .vaddr = 0x400000, .npages = 3 },		  /* small: as it comes */
		{ .vaddr = 0x7f0000200000, .npages = 2048 },	  /* 8 MiB, aligned */
		{ .vaddr = 0x7f0000b00000 + PAGE, .npages = 5 },  /* small */
		{ .vaddr = 0x7f0001100000, .npages = 2048 },	  /* 8 MiB, 1 MiB off */
		{ .vaddr = 0x7f0003123000, .npages = 1024 + 17 }, /* 4 MiB and a bit */
	};
	uint64_t pos[G_N_ELEMENTS(runs)];
	uint64_t end = rst_stage_layout(runs, G_N_ELEMENTS(runs), HUGE, pos);
	assert_layout(runs, G_N_ELEMENTS(runs), pos, end);
	g_assert_cmpuint(pos[0], ==, 0);
	g_assert_cmpuint(pos[2], ==, pos[1] + 2048 * PAGE); /* right after */
	for (guint i = 1; i < G_N_ELEMENTS(runs); i += 2)
		g_assert_cmpuint((pos[i] - runs[i].vaddr) % HUGE, ==, 0);
}

/* The first run's offset is free (the area starts there); past the
 * budget, large runs follow each other as they come. */
static void test_budget(void)
{
	struct sv_rimg_run runs[64];
	for (guint i = 0; i < G_N_ELEMENTS(runs); i++) /* 4 MiB each, phases all over */
		runs[i] = (struct sv_rimg_run){
			.vaddr = 0x10000000ul * (i + 1) + (i * 311 % 512) * PAGE, .npages = 1024
		};
	uint64_t pos[G_N_ELEMENTS(runs)];
	uint64_t end = rst_stage_layout(runs, G_N_ELEMENTS(runs), HUGE, pos);
	assert_layout(runs, G_N_ELEMENTS(runs), pos, end);
	g_assert_cmpuint((pos[0] - runs[0].vaddr) % HUGE, ==, 0);
	g_assert_cmpuint(pos[0], <, HUGE);
	guint agree = 0;
	for (guint i = 0; i < G_N_ELEMENTS(runs); i++)
		agree += (pos[i] - runs[i].vaddr) % HUGE == 0;
	g_assert_cmpuint(agree, >, 1);
	g_assert_cmpuint(agree, <, G_N_ELEMENTS(runs)); /* the budget ran out */
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/stage-layout/two-phases", test_two_phases);
	g_test_add_func("/stage-layout/budget", test_budget);
	return g_test_run();
}
