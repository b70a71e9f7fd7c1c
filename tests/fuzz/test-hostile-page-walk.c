/* SPDX-License-Identifier: MIT */
/*
 * Range page walks over hostile page tables, built by hand in a small RAM
 * file: tables that alias one table under every entry must cost what the
 * guest's RAM allows, not what the 128 TiB they seem to cover would (the
 * hang and the runaway copy fuzz-introspect is there to find), while real
 * tables walk as before.
 */
#include <glib/gstdio.h>

#include "base/errors.h"
#include "host/introspect/page-walk.h"

#define PAGE 4096u
#define RAM_PAGES 256u /* 1 MiB */
#define USER_TOP (1ull << 47)

/* x86-64 entries: present, writable, PSE */
#define P 0x1ull
#define RW 0x2ull
#define PSE 0x80ull

typedef struct {
	char *dir, *path;
	SvGuestMem *mem;
	const SvArchOps *arch;
	SvKernelSpace ks;
} Ram;

/* tables[i] fills page i+1; the root is page 1. */
static void ram_open(Ram *r, guint64 (*entry)(guint table, guint index))
{
	g_autofree guint64 *data = g_new0(guint64, RAM_PAGES * PAGE / 8);
	for (guint t = 0; t < 4; t++)
		for (guint i = 0; i < 512; i++)
			data[(t + 1) * 512 + i] = GUINT64_TO_LE(entry(t, i));
	r->dir = g_dir_make_tmp("snapvm-walk-XXXXXX", NULL);
	r->path = g_build_filename(r->dir, "ram", NULL);
	g_assert_true(g_file_set_contents(r->path, (char *)data, RAM_PAGES * PAGE, NULL));
	SvRamRegion region = { .gpa = sv_gpa(0), .size = RAM_PAGES * PAGE, .file_offset = 0 };
	g_autoptr(GError) error = NULL;
	r->mem = sv_guest_mem_open(r->path, &region, 1, &error);
	g_assert_no_error(error);
	r->arch = sv_arch_lookup("x86_64", &error);
	g_assert_no_error(error);
	r->ks = (SvKernelSpace){ .pt_levels = 4 };
}

static void ram_close(Ram *r)
{
	sv_guest_mem_free(r->mem);
	g_unlink(r->path);
	g_rmdir(r->dir);
	g_free(r->path);
	g_free(r->dir);
}

typedef struct {
	guint64 bytes, runs;
} Seen;

static gboolean count(guint64 va, SvGpa pa, guint64 len, guint flags, gpointer data, GError **error)
{
	Seen *s = data;
	s->bytes += len;
	s->runs++;
	return TRUE;
}

static gboolean walk(Ram *r, Seen *seen, GError **error)
{
	SvPageWalkBudget budget;
	sv_page_walk_budget_init(&budget, r->mem);
	/* every user VMA of a process shares the one budget, as capture does */
	return sv_page_walk_range(r->arch, &r->ks, r->mem, sv_gpa(PAGE), 0, USER_TOP, &budget,
				  count, seen, error);
}

/* Every entry of every level points at the next level's one table, and the
 * last level maps nothing: 2^35 entries to look at for a walk of the user
 * half, unless the walk is bounded by RAM. */
static guint64 aliased_empty(guint table, guint index)
{
	return table < 3 ? (guint64)(table + 2) * PAGE | P | RW : 0;
}

static void test_aliased_tables_bounded(void)
{
	Ram r;
	ram_open(&r, aliased_empty);
	Seen seen = { 0 };
	g_autoptr(GError) error = NULL;
	gint64 t0 = g_get_monotonic_time();
	g_assert_false(walk(&r, &seen, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * G_USEC_PER_SEC);
	g_assert_cmpuint(seen.runs, ==, 0);
	ram_close(&r);
}

/* Every directory entry maps the same 2 MiB: 2^26 leaves of 2 MiB each,
 * 128 TiB for a checkpoint to copy, unless mapped bytes are bounded. */
static guint64 aliased_huge(guint table, guint index)
{
	return table < 2 ? (guint64)(table + 2) * PAGE | P | RW : table == 2 ? P | RW | PSE : 0;
}

static void test_aliased_huge_pages_bounded(void)
{
	Ram r;
	ram_open(&r, aliased_huge);
	Seen seen = { 0 };
	g_autoptr(GError) error = NULL;
	g_assert_false(walk(&r, &seen, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
	g_assert_cmpuint(seen.bytes, <=, SV_PAGE_WALK_ALIAS_FACTOR * RAM_PAGES * PAGE + (4u << 20));
	ram_close(&r);
}

/* A real process's shape: one table per level, three pages mapped at
 * 0x400000 and one 2 MiB page at 0x600000. */
static guint64 real_tables(guint table, guint index)
{
	if (table < 2)
		return index == 0 ? (guint64)(table + 2) * PAGE | P | RW : 0;
	if (table == 2)
		return index == 2 ? 4 * PAGE | P | RW : index == 3 ? P | RW | PSE : 0;
	return index < 3 ? (guint64)(10 + index) * PAGE | P | RW : 0;
}

static void test_real_tables_walk(void)
{
	Ram r;
	ram_open(&r, real_tables);
	Seen seen = { 0 };
	g_autoptr(GError) error = NULL;
	g_assert_true(walk(&r, &seen, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(seen.bytes, ==, 3 * PAGE + (2u << 20));
	ram_close(&r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/page-walk/hostile/aliased-tables-bounded", test_aliased_tables_bounded);
	g_test_add_func("/page-walk/hostile/aliased-huge-pages-bounded",
			test_aliased_huge_pages_bounded);
	g_test_add_func("/page-walk/real-tables", test_real_tables_walk);
	return g_test_run();
}
