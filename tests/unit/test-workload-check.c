/* SPDX-License-Identifier: MIT */
/* `snapvm run` refuses what cannot run in the guest, saying why - checked on
 * the real workload binaries meson built and on the host's own programs. */
#include <glib/gstdio.h>

#include "tests/test-paths.h"
#include "base/errors.h"
#include "host/image/workload.h"

static void expect_refusal(const char *path, const char *arch_name, const char *needle)
{
	const SvArchOps *arch = sv_arch_lookup(arch_name, NULL);
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_workload_check(path, arch, &error));
	g_assert_nonnull(error);
	if (!strstr(error->message, needle))
		g_error("message for %s lacks \"%s\": %s", path, needle, error->message);
}

static void test_static_accepted_for_its_arch(void)
{
	for (const SvArchOps *const *a = sv_arch_all(); *a; a++) {
		g_autofree char *p = sv_test_workload("counter", (*a)->name);
		g_autoptr(GError) error = NULL;
		g_assert_true(sv_workload_check(p, *a, &error));
		g_assert_no_error(error);
	}
}

static void test_other_arch_refused(void)
{
	g_autofree char *arm = sv_test_workload("counter", "aarch64");
	expect_refusal(arm, "x86_64", "built for aarch64");
	expect_refusal(arm, "x86_64", "--arch aarch64");
	g_autofree char *x86 = sv_test_workload("counter", "x86_64");
	expect_refusal(x86, "aarch64", "built for x86_64");
}

static void test_dynamic_refused(void)
{
	/* the host's own /bin/true is dynamically linked */
	expect_refusal("/bin/true", "x86_64", "dynamically linked");
}

static void test_not_elf_and_missing(void)
{
	expect_refusal("/etc/os-release", "x86_64", "not an ELF");
	expect_refusal("/nonexistent/program", "x86_64", "No such file");
	expect_refusal("/tmp", "x86_64", "not a regular file");
}

static void test_truncated_elf(void)
{
	g_autofree char *src = sv_test_workload("counter", "x86_64");
	g_autofree char *data = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(src, &data, &len, NULL));
	g_autofree char *dir = g_dir_make_tmp("snapvm-elf-XXXXXX", NULL);
	g_autofree char *p = g_build_filename(dir, "cut", NULL);
	/* header intact, program headers cut off */
	g_assert_true(g_file_set_contents(p, data, 80, NULL));
	expect_refusal(p, "x86_64", "corrupt ELF");
	g_unlink(p);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/workload-check/static-accepted", test_static_accepted_for_its_arch);
	g_test_add_func("/workload-check/other-arch", test_other_arch_refused);
	g_test_add_func("/workload-check/dynamic", test_dynamic_refused);
	g_test_add_func("/workload-check/not-elf-or-missing", test_not_elf_and_missing);
	g_test_add_func("/workload-check/truncated", test_truncated_elf);
	return g_test_run();
}
