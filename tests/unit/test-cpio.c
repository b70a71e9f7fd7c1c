/* SPDX-License-Identifier: MIT */
/* The workload initrd: base archive + our newc cpio, read back by GNU cpio
 * (an independent reader of the format). */
#include <glib/gstdio.h>

#include "tests/test-paths.h"
#include "host/image/workload.h"

static void test_initrd_read_back_by_cpio(void)
{
	g_autofree char *dir = g_dir_make_tmp("snapvm-cpio-XXXXXX", NULL);
	/* a base archive made by GNU cpio itself, of odd length */
	g_autofree char *base = g_build_filename(dir, "base.cpio", NULL);
	g_autofree char *cmd = g_strdup_printf(
		"cd %s && mkdir -p root/etc && printf 'x%%.0s' $(seq 1 13) > root/etc/odd && "
		"cd root && find . | LC_ALL=C sort | cpio -o -H newc --quiet > ../base.cpio",
		dir);
	g_assert_cmpint(system(cmd), ==, 0);
	g_autofree char *counter = sv_test_workload("counter", "x86_64");
	g_autofree char *tls = sv_test_workload("tls", "x86_64");
	const char *programs[] = { counter, tls, NULL };
	g_autofree char *out = g_build_filename(dir, "initrd.cpio", NULL);
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_workload_build_initrd(base, programs, out, &error));
	g_assert_no_error(error);
	/* GNU cpio reads one archive per run; the kernel reads them all. Check
	 * the second by skipping the first (padded to 4 bytes). */
	g_autofree char *list = NULL;
	g_autofree char *cmd2 = g_strdup_printf(
		"cd %s && mkdir -p x && cd x && n=$(stat -c %%s ../base.cpio) && "
		"tail -c +$(( (n + 3) / 4 * 4 + 1 )) ../initrd.cpio | cpio -i -d --quiet && "
		"find . -type f | LC_ALL=C sort",
		dir);
	const char *argv[] = { "sh", "-c", cmd2, NULL };
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
				   &list, NULL, NULL, &error));
	g_assert_cmpstr(list, ==, "./workload/counter-x86_64\n./workload/tls-x86_64\n");
	g_autofree char *cmp = g_strdup_printf("cmp %s %s/x/workload/counter-x86_64", counter, dir);
	g_assert_cmpint(system(cmp), ==, 0);
	g_autofree char *rm = g_strdup_printf("rm -rf %s", dir);
	g_assert_cmpint(system(rm), ==, 0);
}

static void test_missing_program_leaves_nothing(void)
{
	g_autofree char *dir = g_dir_make_tmp("snapvm-cpio-XXXXXX", NULL);
	g_autofree char *base = g_build_filename(dir, "base.cpio", NULL);
	g_assert_true(g_file_set_contents(base, "07070", 5, NULL));
	const char *programs[] = { "/nonexistent/prog", NULL };
	g_autofree char *out = g_build_filename(dir, "initrd.cpio", NULL);
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_workload_build_initrd(base, programs, out, &error));
	g_assert_nonnull(error);
	g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
	/* nor any temp file beside it */
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	guint n = 0;
	while (g_dir_read_name(d))
		n++;
	g_assert_cmpuint(n, ==, 1);
	g_unlink(base);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cpio/initrd-read-back", test_initrd_read_back_by_cpio);
	g_test_add_func("/cpio/missing-program", test_missing_program_leaves_nothing);
	return g_test_run();
}
