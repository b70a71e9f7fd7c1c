/* SPDX-License-Identifier: MIT */
/*
 * Open /proc files in a checkpoint (host/checkpoint/proc-paths.c): which
 * paths are procfs, the process's own /proc/PID/ turned into /proc/self/,
 * another process's refused naming the fd, the rest kept as they are.
 */
#include "host/checkpoint/proc-paths.h"
#include "base/errors.h"

static void test_in_procfs(void)
{
	g_assert_true(sv_path_in_procfs("/proc"));
	g_assert_true(sv_path_in_procfs("/proc/79/maps"));
	g_assert_true(sv_path_in_procfs("/proc/meminfo"));
	g_assert_false(sv_path_in_procfs("/procfoo/x"));
	g_assert_false(sv_path_in_procfs("/tmp/proc/1"));
	g_assert_false(sv_path_in_procfs(NULL));
	g_assert_true(sv_path_unnamed("/"));
	g_assert_false(sv_path_unnamed("/tmp"));
	g_assert_false(sv_path_unnamed(NULL));
}

static void test_for_restore(void)
{
	static const struct {
		const char *path, *want;
	} cases[] = {
		{ "/proc/79/maps", "/proc/self/maps" },
		{ "/proc/79", "/proc/self" },
		{ "/proc/79/task/79/stat", "/proc/self/task/79/stat" },
		{ "/proc/meminfo", "/proc/meminfo" },
		{ "/proc/sys/kernel/hostname", "/proc/sys/kernel/hostname" },
		{ "/proc/self/status", "/proc/self/status" },
		{ "/proc/79x/foo", "/proc/79x/foo" },
		{ "/proc", "/proc" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *got = sv_proc_path_for_restore(cases[i].path, 79, 5, &error);
		g_assert_no_error(error);
		g_assert_cmpstr(got, ==, cases[i].want);
	}
	g_autoptr(GError) error = NULL;
	g_assert_null(sv_proc_path_for_restore("/proc/80/status", 79, 5, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED);
	g_assert_nonnull(strstr(error->message, "fd 5 is /proc/80/status"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/proc-paths/in-procfs", test_in_procfs);
	g_test_add_func("/proc-paths/for-restore", test_for_restore);
	return g_test_run();
}
