/* SPDX-License-Identifier: MIT */
/*
 * test-cli: the snapvm binary end to end, as a user or a script runs it -
 * refusals that need no guest, then real x86_64 guests: a run whose output
 * and status must equal a native run, --detach/list/stop (of a process
 * whose names are terminal escapes, which ps, checkpoint and inspect must
 * show escaped), Ctrl-C, and a guest destroyed under a running `snapvm
 * run`. After each, no QEMU of ours may be left.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/guest-fixture.h"
#include "tests/test-paths.h"

static char *snapvm_path(void)
{
	return sv_test_build_path("host/snapvm");
}

static void assert_refused(const char *const *args, int want_status, const char *needle)
{
	g_auto(SvTestCmd) r = sv_test_snapvm(args);
	if (r.status != want_status || !strstr(r.err, needle))
		g_error("snapvm %s: exit %d, stderr \"%s\"; wanted exit %d and \"%s\"", args[0],
			r.status, r.err, want_status, needle);
}

/* QEMU processes started for our state dir (libvirt names them guest=NAME). */
static guint count_our_qemus(void)
{
	guint n = 0;
	g_autoptr(GDir) d = g_dir_open("/proc", 0, NULL);
	const char *e;
	while ((e = g_dir_read_name(d))) {
		if (!g_ascii_isdigit(e[0]))
			continue;
		g_autofree char *path = g_strdup_printf("/proc/%s/cmdline", e);
		g_autofree char *cmd = NULL;
		gsize len;
		if (!g_file_get_contents(path, &cmd, &len, NULL))
			continue;
		for (gsize i = 0; i + 1 < len; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		if (strstr(cmd, "qemu-system") && strstr(cmd, sv_test_state_dir()))
			n++;
	}
	return n;
}

static void assert_nothing_left(void)
{
	/* libvirt reaps QEMU asynchronously after destroy; allow a moment */
	for (int i = 0; i < 50 && count_our_qemus(); i++)
		g_usleep(100000);
	g_assert_cmpuint(count_our_qemus(), ==, 0);
	const char *list[] = { "list", "--json", NULL };
	g_auto(SvTestCmd) r = sv_test_snapvm(list);
	g_assert_cmpint(r.status, ==, 0);
	g_assert_cmpstr(g_strstrip(r.out), ==, "[]");
}

/* Fails unless text is valid UTF-8 with none of the characters that make
 * a terminal act: C0 controls but newline, DEL, C1 controls. */
static void assert_no_terminal_controls(const char *what, const char *text)
{
	const char *bad = NULL;
	if (!g_utf8_validate(text, -1, &bad))
		g_error("%s: not UTF-8 at byte %td: \"%s\"", what, bad - text, text);
	for (const char *p = text; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if ((c < 0x20 && c != '\n') || (c >= 0x7f && c <= 0x9f))
			g_error("%s: control U+%04X at byte %td: \"%s\"", what, c, p - text, text);
	}
}

static void test_help(void)
{
	const char *top[] = { "--help", NULL };
	g_auto(SvTestCmd) r = sv_test_snapvm(top);
	g_assert_cmpint(r.status, ==, 0);
	for (const char *c = "run"; c; c = NULL)
		g_assert_nonnull(strstr(r.out, c));
	g_assert_nonnull(strstr(r.out, "list"));
	g_assert_nonnull(strstr(r.out, "stop"));
	const char *run[] = { "run", "--help", NULL };
	g_auto(SvTestCmd) r2 = sv_test_snapvm(run);
	g_assert_cmpint(r2.status, ==, 0);
	g_assert_nonnull(strstr(r2.out, "snapvm run"));
	g_assert_nonnull(strstr(r2.out, "--detach"));
}

static void test_refusals(void)
{
	g_autofree char *arm = sv_test_workload("counter", "aarch64");
	const char *wrong_arch[] = { "run", "--arch", "x86_64", "--", arm, NULL };
	assert_refused(wrong_arch, 125, "built for aarch64");
	const char *dynamic[] = { "run", "--arch", "x86_64", "--", "/bin/true", NULL };
	assert_refused(dynamic, 125, "dynamically linked");
	const char *missing[] = { "run", "--", "/nonexistent/prog", NULL };
	assert_refused(missing, 125, "No such file");
	const char *unknown_arch[] = { "run", "--arch", "sparc", "--", arm, NULL };
	assert_refused(unknown_arch, 2,
		       "unknown architecture 'sparc' (known: x86_64, aarch64, riscv64, ppc64le)");
	const char *no_program[] = { "run", NULL };
	assert_refused(no_program, 2, "no PROGRAM");
	const char *bad_accel[] = { "run", "--accel", "hvf", "--", arm, NULL };
	assert_refused(bad_accel, 2, "unknown --accel");
	const char *unknown_cmd[] = { "frobnicate", NULL };
	assert_refused(unknown_cmd, 2, "unknown command");
	const char *stop_missing[] = { "stop", "no-such-vm", NULL };
	assert_refused(stop_missing, 125, "no VM named 'no-such-vm'");
	/* an error message quoting a hostile name shows it escaped */
	const char *inspect_missing[] = { "inspect", "/nonexistent/\x1b]0;x\x07.svs", NULL };
	g_auto(SvTestCmd) im = sv_test_snapvm(inspect_missing);
	g_assert_cmpint(im.status, !=, 0);
	g_assert_nonnull(strstr(im.err, "/nonexistent/\\x1b]0;x\\x07.svs"));
	assert_no_terminal_controls("inspect of a missing file", im.err);
	assert_nothing_left();
}

static void test_run_matches_native(void)
{
	g_autofree char *counter = sv_test_workload("counter", "x86_64");
	const char *native[] = { counter, "30", "0", NULL };
	g_autofree char *expected = sv_test_host_output(native);
	const char *args[] = { "run", "--arch", "x86_64", "--", counter, "30", "0", NULL };
	gint64 t0 = g_get_monotonic_time();
	g_auto(SvTestCmd) r = sv_test_snapvm(args);
	g_test_message("snapvm run of counter: %.1f s", (g_get_monotonic_time() - t0) / 1e6);
	if (r.status != 0)
		g_error("snapvm run failed (%d): %s", r.status, r.err);
	g_assert_cmpstr(r.out, ==, expected);
	assert_nothing_left();
}

/* How snapvm must show what the hostile workload (tests/workloads/hostile.c)
 * names itself, "ESC[31mRED ESC]0;x BEL", and the file it opens. */
#define HOSTILE_COMM_SHOWN "\\x1b[31mRED\\x1b]0;x\\x07"
#define HOSTILE_COMM_JSON "\\u001b[31mRED\\u001b]0;x\\u0007"
#define HOSTILE_PATH_SHOWN "/tmp/\\x1b[2Jclear"

/* ps of VM name, human-readable, from source; escaped names, no control. */
static void assert_ps_escaped(const char *name, const char *source)
{
	const char *ps[] = { "ps", name, "--source", source, NULL };
	g_auto(SvTestCmd) r = sv_test_snapvm(ps);
	if (r.status != 0)
		g_error("snapvm ps --source %s failed (%d): %s", source, r.status, r.err);
	assert_no_terminal_controls("ps", r.out);
	if (!strstr(r.out, HOSTILE_COMM_SHOWN))
		g_error("ps --source %s shows no \"%s\":\n%s", source, HOSTILE_COMM_SHOWN, r.out);
}

/* A checkpoint of the hostile process, shown by inspect: comm, the fd's
 * path and the mapping's path escaped, nothing a terminal acts on. */
static void assert_inspect_escaped(const char *name, guint32 pid)
{
	g_autofree char *dir = g_dir_make_tmp("snapvm-cli-XXXXXX", NULL);
	g_autofree char *snap = g_build_filename(dir, "hostile.svs", NULL);
	g_autofree char *pid_s = g_strdup_printf("%u", pid);
	const char *ck[] = { "checkpoint", name, "--pid", pid_s, "-o", snap, NULL };
	g_auto(SvTestCmd) c = sv_test_snapvm(ck);
	if (c.status != 0)
		g_error("snapvm checkpoint failed (%d): %s", c.status, c.err);
	assert_no_terminal_controls("checkpoint", c.out);
	assert_no_terminal_controls("checkpoint", c.err);
	const char *inspect[] = { "inspect", snap, NULL };
	g_auto(SvTestCmd) r = sv_test_snapvm(inspect);
	if (r.status != 0)
		g_error("snapvm inspect failed (%d): %s", r.status, r.err);
	assert_no_terminal_controls("inspect", r.out);
	assert_no_terminal_controls("inspect", r.err);
	g_autofree char *comm = g_strdup_printf("comm=%s", HOSTILE_COMM_SHOWN);
	/* the fd after the workload's write of 9 bytes */
	g_autofree char *fd = g_strdup_printf("pos 9  %s\n", HOSTILE_PATH_SHOWN);
	g_autofree char *vma = g_strdup_printf("  %s (contents carried)\n", HOSTILE_PATH_SHOWN);
	if (!strstr(r.out, comm) || !strstr(r.out, fd) || !strstr(r.out, vma))
		g_error("inspect shows no \"%s\", \"%s\" or \"%s\":\n%s", comm, fd, vma, r.out);
	/* JSON keeps JSON's escapes (and is UTF-8) */
	const char *inspect_json[] = { "inspect", "--json", snap, NULL };
	g_auto(SvTestCmd) j = sv_test_snapvm(inspect_json);
	g_assert_cmpint(j.status, ==, 0);
	g_assert_true(g_utf8_validate(j.out, -1, NULL));
	g_assert_nonnull(strstr(j.out, HOSTILE_COMM_JSON));
	g_assert_null(strchr(j.out, '\x1b'));
	g_assert_cmpint(g_unlink(snap), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* A detached VM runs the hostile workload (it sleeps like `sleeper`): list,
 * ps from memory and from the agent, a checkpoint and its inspect, stop. */
static void test_detach_list_stop(void)
{
	g_autofree char *hostile = sv_test_workload("hostile", "x86_64");
	const char *run[] = { "run", "--detach", "--json", "--name", "detached-1",
			      "--",  hostile,	 "100000", "100",    NULL };
	g_auto(SvTestCmd) r = sv_test_snapvm(run);
	if (r.status != 0)
		g_error("snapvm run --detach failed (%d): %s", r.status, r.err);
	g_assert_nonnull(strstr(r.out, "\"name\":\"detached-1\""));
	gint64 pid = sv_test_json_int(r.out, "pid");
	g_assert_cmpint(pid, >, 1);
	const char *list[] = { "list", NULL };
	g_auto(SvTestCmd) l = sv_test_snapvm(list);
	g_assert_cmpint(l.status, ==, 0);
	g_assert_nonnull(strstr(l.out, "detached-1"));
	g_assert_nonnull(strstr(l.out, "running"));
	g_assert_cmpuint(count_our_qemus(), ==, 1);
	/* its processes, from guest memory: the workload renames itself just
	 * after it starts, so wait for the new name */
	const char *ps_mem[] = { "ps", "detached-1", "--json", NULL };
	gboolean renamed = FALSE;
	for (int i = 0; i < 50 && !renamed; i++) {
		g_auto(SvTestCmd) pm = sv_test_snapvm(ps_mem);
		if (pm.status != 0)
			g_error("snapvm ps failed (%d): %s", pm.status, pm.err);
		g_assert_nonnull(strstr(pm.err, "paused"));
		renamed = strstr(pm.out, "\"comm\" : \"" HOSTILE_COMM_JSON "\"") != NULL;
		if (!renamed)
			g_usleep(100000);
	}
	g_assert_true(renamed);
	assert_ps_escaped("detached-1", "introspect");
	assert_ps_escaped("detached-1", "agent");
	assert_inspect_escaped("detached-1", pid);
	const char *same_name[] = { "run", "--name", "detached-1", "--", hostile, NULL };
	assert_refused(same_name, 125, "already exists");
	const char *stop[] = { "stop", "detached-1", NULL };
	g_auto(SvTestCmd) s = sv_test_snapvm(stop);
	g_assert_cmpint(s.status, ==, 0);
	assert_nothing_left();
}

/* Starts `snapvm run` of a long sleeper and returns once its first output
 * line arrived (the workload is running). */
static GPid start_long_run(const char *name, int *ret_stdout)
{
	g_autofree char *exe = snapvm_path();
	g_autofree char *sleeper = sv_test_workload("sleeper", "x86_64");
	const char *argv[] = { exe, "run", "--name", name, "--", sleeper, "100000", "100", NULL };
	GPid pid;
	g_autoptr(GError) error = NULL;
	g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
					       NULL, NULL, &pid, NULL, ret_stdout, NULL, &error));
	char c;
	g_assert_cmpint(read(*ret_stdout, &c, 1), ==, 1);
	return pid;
}

static void test_interrupt_stops_vm(void)
{
	int out;
	GPid pid = start_long_run("interrupted-1", &out);
	g_assert_cmpuint(count_our_qemus(), ==, 1);
	/* while `snapvm run` streams on the agent's main port, the agent
	 * answers another snapvm process on its control port */
	const char *ps_agent[] = { "ps", "interrupted-1", "--source", "agent", NULL };
	g_auto(SvTestCmd) pa = sv_test_snapvm(ps_agent);
	if (pa.status != 0)
		g_error("snapvm ps --source agent during a run failed (%d): %s", pa.status, pa.err);
	g_assert_nonnull(strstr(pa.out, "sleeper-x86_64"));
	kill(pid, SIGINT);
	int status;
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	close(out);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 130);
	assert_nothing_left();
}

static void test_guest_dies_under_run(void)
{
	int out;
	GPid pid = start_long_run("doomed-1", &out);
	const char *stop[] = { "stop", "doomed-1", NULL };
	g_auto(SvTestCmd) s = sv_test_snapvm(stop);
	g_assert_cmpint(s.status, ==, 0);
	int status;
	gint64 t0 = g_get_monotonic_time();
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	close(out);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 30 * G_USEC_PER_SEC);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 125);
	assert_nothing_left();
}

/* Even SIGKILL of `snapvm run` (no chance to clean up) leaves no QEMU: the
 * agent powers the guest off when the owning connection closes. The record
 * stays, shown as stopped, until `snapvm stop` removes it. */
static void test_killed_run_leaves_no_qemu(void)
{
	int out;
	GPid pid = start_long_run("killed-1", &out);
	kill(pid, SIGKILL);
	int status;
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	close(out);
	for (int i = 0; i < 300 && count_our_qemus(); i++)
		g_usleep(100000);
	g_assert_cmpuint(count_our_qemus(), ==, 0);
	const char *list[] = { "list", NULL };
	g_auto(SvTestCmd) l = sv_test_snapvm(list);
	g_assert_nonnull(strstr(l.out, "killed-1"));
	g_assert_nonnull(strstr(l.out, "stopped"));
	const char *stop[] = { "stop", "--all", NULL };
	g_auto(SvTestCmd) s = sv_test_snapvm(stop);
	g_assert_cmpint(s.status, ==, 0);
	assert_nothing_left();
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	sv_test_state_dir();
	g_test_add_func("/cli/help", test_help);
	g_test_add_func("/cli/refusals", test_refusals);
	g_test_add_func("/cli/run/matches-native", test_run_matches_native);
	g_test_add_func("/cli/run/detach-list-stop", test_detach_list_stop);
	g_test_add_func("/cli/run/interrupt-stops-vm", test_interrupt_stops_vm);
	g_test_add_func("/cli/run/guest-dies", test_guest_dies_under_run);
	g_test_add_func("/cli/run/killed-run-leaves-no-qemu", test_killed_run_leaves_no_qemu);
	int rc = g_test_run();
	sv_test_state_dir_cleanup();
	return rc;
}
