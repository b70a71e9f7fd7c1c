/* SPDX-License-Identifier: MIT */
/* The guest-physical accessor over a real file: translation through board
 * regions, and refusal of every range a hostile guest could name outside. */
#include <glib/gstdio.h>

#include "base/errors.h"
#include "base/guest-mem.h"

static char *make_ram_file(gsize size)
{
	g_autofree char *dir = g_dir_make_tmp("snapvm-mem-XXXXXX", NULL);
	char *path = g_build_filename(dir, "ram", NULL);
	g_autofree guint8 *data = g_malloc(size);
	for (gsize i = 0; i < size; i++)
		data[i] = (guint8)(i * 7 + (i >> 12));
	g_assert_true(g_file_set_contents(path, (char *)data, size, NULL));
	return path;
}

static void remove_ram_file(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_unlink(path);
	g_rmdir(dir);
}

static void test_two_regions(void)
{
	g_autofree char *path = make_ram_file(64 * 1024);
	/* like the x86 pc board: a low part at 0, the rest at 4 GiB */
	SvRamRegion r[2] = {
		{ .gpa = sv_gpa(0), .size = 48 * 1024, .file_offset = 0 },
		{ .gpa = sv_gpa(1ull << 32), .size = 16 * 1024, .file_offset = 48 * 1024 },
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(SvGuestMem) mem = sv_guest_mem_open(path, r, 2, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(sv_guest_mem_size(mem), ==, 64 * 1024);
	guint8 b[16];
	g_assert_true(sv_guest_mem_read(mem, sv_gpa(100), b, sizeof(b), &error));
	g_assert_cmpuint(b[0], ==, (guint8)(100 * 7));
	g_assert_true(sv_guest_mem_read(mem, sv_gpa((1ull << 32) + 5), b, 1, &error));
	gsize off = 48 * 1024 + 5;
	g_assert_cmpuint(b[0], ==, (guint8)(off * 7 + (off >> 12)));
	remove_ram_file(path);
}

static void test_out_of_range(void)
{
	g_autofree char *path = make_ram_file(8192);
	SvRamRegion r = { .gpa = sv_gpa(0x40000000), .size = 8192, .file_offset = 0 };
	g_autoptr(GError) error = NULL;
	g_autoptr(SvGuestMem) mem = sv_guest_mem_open(path, &r, 1, &error);
	g_assert_no_error(error);
	guint8 b[16];
	const struct {
		guint64 gpa;
		gsize len;
	} bad[] = {
		{ 0, 1 },			  /* below RAM */
		{ 0x40000000 + 8192, 1 },	  /* just past the end */
		{ 0x40000000 + 8190, 4 },	  /* straddles the end */
		{ G_MAXUINT64 - 2, 8 },		  /* wraps around */
		{ 0x40000000, (gsize)G_MAXSIZE }, /* absurd length */
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_clear_error(&error);
		g_assert_null(sv_guest_mem_ptr(mem, sv_gpa(bad[i].gpa), bad[i].len, &error));
		g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	}
	g_clear_error(&error);
	g_assert_true(sv_guest_mem_read(mem, sv_gpa(0x40000000 + 8192 - 16), b, 16, &error));
	remove_ram_file(path);
}

static void test_regions_must_fit_file(void)
{
	g_autofree char *path = make_ram_file(4096);
	SvRamRegion r = { .gpa = sv_gpa(0), .size = 8192, .file_offset = 0 };
	g_autoptr(GError) error = NULL;
	g_assert_null(sv_guest_mem_open(path, &r, 1, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_null(sv_guest_mem_open("/nonexistent/ram", &r, 1, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_NOT_FOUND);
	remove_ram_file(path);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/guest-mem/two-regions", test_two_regions);
	g_test_add_func("/guest-mem/out-of-range", test_out_of_range);
	g_test_add_func("/guest-mem/regions-must-fit", test_regions_must_fit_file);
	return g_test_run();
}
