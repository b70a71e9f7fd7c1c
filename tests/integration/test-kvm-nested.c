/* SPDX-License-Identifier: MIT */
/*
 * test-kvm-nested.c - the kvm backend on a host without /dev/kvm.
 *
 * QEMU TCG boots an L1 guest with -cpu max,+svm from the x86_64 image's own
 * kernel; its initramfs (images/build-l1-image.sh) loads kvm.ko and
 * kvm-amd.ko, so L1 has /dev/kvm, and runs `snapvm run --accel kvm` of a
 * test workload there. Its output must equal the workload's output run
 * natively on this host. About 25 s of wall time here; suite
 * integration-kvm-nested.
 *
 * Also: where /dev/kvm does not open, `--accel kvm` must fail saying so and
 * point at --accel tcg (skipped, with the reason, where it does open).
 */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test-paths.h"
#include "tests/integration/guest-fixture.h"

#define L1_TIMEOUT_S 600
#define COUNTER_ARGS "40", "0"

static char *source_path(const char *rel)
{
	const char *s = g_getenv("SNAPVM_SOURCE_DIR");
	g_assert_nonnull(s);
	return g_build_filename(s, rel, NULL);
}

static void test_no_kvm_message(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		g_test_skip("/dev/kvm opens on this host: nothing to refuse");
		return;
	}
	g_autofree char *snapvm = sv_test_build_path("vmm/snapvm");
	g_autofree char *counter = sv_test_workload("counter", "x86_64");
	const char *argv[] = { snapvm, "run", "--accel", "kvm", "--", counter, "1", "0", NULL };
	g_autofree char *out = NULL, *err = NULL;
	int status = 0;
	g_autoptr(GError) error = NULL;
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, &out, &err, &status,
				   &error));
	g_assert_no_error(error);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 125);
	g_assert_nonnull(strstr(err, "/dev/kvm"));
	g_assert_nonnull(strstr(err, "--accel tcg"));
}

/* The lines between the job's markers, without kernel log lines that the
 * L1 console may interleave. Edits log. */
static char *between_markers(char *log, int *ret_rc)
{
	/* the L1 console's tty turns "\n" into "\r\n" */
	char *w = log;
	for (const char *r = log; *r; r++)
		if (*r != '\r')
			*w++ = *r;
	*w = '\0';
	const char *b = strstr(log, "=== OUTPUT BEGIN\n");
	const char *e = b ? strstr(b, "=== OUTPUT END rc=") : NULL;
	if (!b || !e)
		return NULL;
	*ret_rc = atoi(e + strlen("=== OUTPUT END rc="));
	b += strlen("=== OUTPUT BEGIN\n");
	g_autofree char *body = g_strndup(b, e - b);
	g_auto(GStrv) lines = g_strsplit(body, "\n", -1);
	GString *s = g_string_new(NULL);
	for (guint i = 0; lines[i]; i++) {
		if (!lines[i][0] && !lines[i + 1])
			break;
		if (g_regex_match_simple("^\\[ *[0-9]+\\.[0-9]+\\] ", lines[i], 0, 0))
			continue;
		g_string_append_printf(s, "%s\n", g_strchomp(lines[i]));
	}
	return g_string_free(s, FALSE);
}

static void test_nested_run(void)
{
	g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
	g_assert_nonnull(qemu); /* scripts/setup.sh installs qemu-system-x86 */
	const char *cache = g_getenv("SNAPVM_CACHE_DIR");
	g_autofree char *cache_dir = cache ? g_strdup(cache)
					   : g_build_filename(g_get_home_dir(), ".cache", "snapvm",
							      NULL);
	g_autofree char *image = g_build_filename(cache_dir, "images", "x86_64", "current", NULL);
	g_autofree char *kernel = g_build_filename(image, "vmlinux", NULL);
	if (!g_file_test(kernel, G_FILE_TEST_EXISTS))
		g_error("no x86_64 image at %s: run scripts/setup.sh", image);

	g_autofree char *snapvm = sv_test_build_path("vmm/snapvm");
	g_autofree char *counter = sv_test_workload("counter", "x86_64");
	const char *native[] = { counter, COUNTER_ARGS, NULL };
	g_autofree char *expected = sv_test_host_output(native);

	g_autoptr(GError) error = NULL;
	g_autofree char *tmp = g_dir_make_tmp("snapvm-kvm-nested-XXXXXX", &error);
	g_assert_no_error(error);
	g_autofree char *job = g_build_filename(tmp, "job.sh", NULL);
	g_autofree char *cpio = g_build_filename(tmp, "l1.cpio", NULL);
	g_autofree char *log = g_build_filename(tmp, "l1.log", NULL);
	/* 2 vCPUs in L2: the MP table and AP start-up are part of the test */
	g_file_set_contents(job,
			    "#!/bin/sh\n"
			    "snapvm run --accel kvm --vcpus 2 --image /l2 -- /workload/counter "
			    "40 0 >/tmp/out 2>/tmp/err\n"
			    "rc=$?\n"
			    "cat /tmp/err\n"
			    "echo '=== OUTPUT BEGIN'\n"
			    "cat /tmp/out\n"
			    "echo \"=== OUTPUT END rc=$rc\"\n"
			    "[ $rc = 0 ] || cat /tmp/state/logs/*.console.log 2>/dev/null | tail -40\n",
			    -1, &error);
	g_assert_no_error(error);
	g_autofree char *builder = source_path("images/build-l1-image.sh");
	g_autofree char *add_job = g_strdup_printf("%s=/job.sh", job);
	g_autofree char *add_counter = g_strdup_printf("%s=/workload/counter", counter);
	const char *build[] = { builder, "--snapvm", snapvm, "--out", cpio, "--image", image,
				"--add", add_job, "--add", add_counter, NULL };
	int status = 0;
	g_assert_true(g_spawn_sync(NULL, (char **)build, NULL, 0, NULL, NULL, NULL, NULL, &status,
				   &error));
	g_assert_no_error(error);
	g_assert_true(g_spawn_check_wait_status(status, &error));
	g_assert_no_error(error);

	g_autofree char *timeout = g_strdup_printf("%d", L1_TIMEOUT_S);
	g_autofree char *serial = g_strdup_printf("file:%s", log);
	const char *l1[] = { "timeout", "-s", "KILL", timeout, qemu, "-accel", "tcg", "-M", "pc",
			     "-cpu", "max,+svm", "-m", "2048", "-nodefaults", "-nographic",
			     "-no-reboot", "-kernel", kernel, "-initrd", cpio, "-append",
			     "console=ttyS0 nokaslr quiet loglevel=3 panic=-1", "-serial", serial,
			     NULL };
	gint64 t0 = g_get_monotonic_time();
	g_assert_true(g_spawn_sync(NULL, (char **)l1, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
				   NULL, &status, &error));
	g_assert_no_error(error);
	g_test_message("L1 under TCG, snapvm run --accel kvm inside: %.1f s",
		       (g_get_monotonic_time() - t0) / 1e6);
	g_autofree char *text = NULL;
	g_file_get_contents(log, &text, NULL, NULL);
	int rc = -1;
	g_autofree char *got = text ? between_markers(text, &rc) : NULL;
	if (!got || rc != 0 || strcmp(got, expected) != 0)
		g_test_message("L1 console:\n%s", text ? text : "(none)");
	g_assert_nonnull(got);
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpstr(got, ==, expected);

	const char *files[] = { job, cpio, log };
	for (guint i = 0; i < G_N_ELEMENTS(files); i++)
		g_unlink(files[i]);
	g_rmdir(tmp);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	sv_test_state_dir();
	g_test_add_func("/kvm/no-kvm-message", test_no_kvm_message);
	g_test_add_func("/kvm/nested/run", test_nested_run);
	int r = g_test_run();
	sv_test_state_dir_cleanup();
	return r;
}
