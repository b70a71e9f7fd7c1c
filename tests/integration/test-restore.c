/* SPDX-License-Identifier: MIT */
/*
 * test-restore.c - snapvm restore, zdtm-style: each test workload is
 * started in one source guest, checkpointed mid-run (--kill), and restored
 * in a fresh guest by the CLI. The restored run's output must carry on
 * exactly where the original stopped: a non-empty suffix, line for line, of
 * the workload's uninterrupted output (the host's native run of its x86_64
 * build, which test-guest.c shows equals a guest run on every arch), with
 * the same exit status. What
 * the original printed before the checkpoint is not compared: stdout lines
 * are flushed one by one, so nothing is lost or doubled in between.
 *
 * memory and blockread need the fd table (a file read through its fd, a
 * pipe fed by an ITIMER_REAL handler); fdenv checks fds at their numbers,
 * shared offsets, close-on-exec, O_NONBLOCK, a pipe's unread bytes, the
 * working directory, umask and RLIMIT_NOFILE after the restore; the
 * kobj-<kind> workloads check pipe ends opened apart (each its own
 * O_NONBLOCK), named FIFOs, eventfds, epoll interest lists, timerfds,
 * signalfds, file locks (flock, OFD, POSIX), socketpairs and a process
 * that is not root (ids, groups, capabilities), listening and unconnected
 * IP sockets, POSIX timers (one signalling a thread of its own), inotify
 * watches.
 *
 * checkpoint --kill loses nothing: over checkpoints at random moments of a
 * fast-printing counter, what the original streamed before it was killed
 * followed by what the restored run prints is exactly the uninterrupted
 * run's output; and a --kill checkpoint that fails (a full disk, a kernel
 * object it does not carry) leaves the process running with its output
 * whole.
 *
  * fsfiles writes and closes files in a directory it made and chdirs into
 * (restored by the snapshot's FS section; with --no-fs the restore fails,
 * naming the missing directory).
 *
 * unlinked, ghost, memfd, tmpfile and shanon hold files that exist only in
 * memory (carried by identity, host/checkpoint/memfiles.h): each checks
 * every step that a write through its mapping is seen through its fd (or
 * second mapping) and back, so a restore that broke the sharing fails.
 *
 * Also: chained checkpoint -> restore -> checkpoint -> restore, a chain
 * of incremental checkpoints (--parent) restored, a restore into a pool
 * guest booted ahead (--pool), restores with --lazy (run/lazy/: pages
 * placed after the process resumes; its pager killed mid-way; a --detach
 * interrupted while it waits for the last page), and the
 * refusals (corrupt snapshot, another arch, a CPU without the snapshot's
 * XSAVE features); a restored sleeper's sleeps timed by the host's clock
 * with the host loaded (run/clock/). Run once per arch with a restorer
 * (--arch).
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "guest-fixture.h"
#include "tests/test-paths.h"

static const char *arch_name = "x86_64";
static SvTestGuest *guest;
static char *tmpdir;
static char *snapvm;
static char *fpu_snapshot;
static long fpu_steps; /* the run fpu_snapshot was taken of */

static const char *const workloads[] = {
	"counter", "fpu", "tls", "memory", "sleeper", "blockread", "fdenv", "handler", "unlinked",
	"ghost", "memfd", "tmpfile", "shanon", "aioring", "uncarried", "fsfiles", "sysvshm",
	"threads",
	/* kernel objects: tests/workloads/kobj.c */
	"kobj-pipes", "kobj-fifo", "kobj-eventfd", "kobj-epoll", "kobj-timerfd", "kobj-signalfd",
	"kobj-locks", "kobj-unix", "kobj-creds", "kobj-inet", "kobj-ptimers", "kobj-inotify",
	"kobj-thtimer", "vmaflags", "procstate", "clocks", "manymaps", "dirtier", "bigmem", "maps",
	"unixpairs", NULL
};

static void require_guest(void)
{
	if (!guest)
		g_test_skip("no guest (boot failed)");
}

/* Runs snapvm with args; returns its exit status, stdout and stderr. */
static int snapvm_cmd(const char *const *args, char **ret_out, char **ret_err)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, snapvm);
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (char *)*a);
	g_ptr_array_add(argv, NULL);
	g_autoptr(GError) error = NULL;
	int status;
	char *out = NULL, *err = NULL;
	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
				   &out, &err, &status, &error));
	g_assert_no_error(error);
	if (err && *err)
		g_test_message("snapvm %s: stderr: %s", args[0], err);
	if (ret_out)
		*ret_out = out;
	else
		g_free(out);
	if (ret_err)
		*ret_err = err;
	else
		g_free(err);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_boot(void)
{
	g_autoptr(GError) error = NULL;
	guest = sv_test_guest_boot(arch_name, workloads, &error);
	g_assert_no_error(error);
	/* From here the CLI (checkpoint) uses libvirt and the control port. */
	sv_machine_release_control(guest->machine);
	tmpdir = g_dir_make_tmp("snapvm-restore-test-XXXXXX", &error);
	g_assert_no_error(error);
}

/* extra, extra2: a workload's third and fourth arguments (uncarried's
 * what; bigmem's MiB and mode), or NULL */
static guint32 start_workload_with(const char *name, long steps, long interval_ms,
				   const char *extra, const char *extra2)
{
	g_autofree char *path = g_strdup_printf("/workload/%s-%s", name, arch_name);
	g_autofree char *s = g_strdup_printf("%ld", steps);
	g_autofree char *i = g_strdup_printf("%ld", interval_ms);
	const char *argv[] = { path, s, i, extra, extra2, NULL };
	g_autoptr(GError) error = NULL;
	guint32 pid;
	g_assert_true(sv_agent_client_run(guest->agent, argv, SV_RUN_BUFFER_WHEN_DETACHED, &pid,
					  &error));
	g_assert_no_error(error);
	return pid;
}

static guint32 start_workload(const char *name, long steps, long interval_ms)
{
	return start_workload_with(name, steps, interval_ms, NULL, NULL);
}

/* A failed checkpoint says what the workload printed: it may have ended
 * before it. */
static void assert_checkpointed(int status, guint32 pid)
{
	if (status == 0)
		return;
	g_autoptr(GError) error = NULL;
	int wait_status = 0;
	g_autofree char *out = sv_test_guest_collect(guest, pid, &wait_status, &error);
	g_error("checkpoint of guest pid %u failed (%d); it printed:\n%s(wait status 0x%x%s%s)",
		pid, status, out ? out : "", wait_status, error ? ", " : "",
		error ? error->message : "");
}

/* The count under key in checkpoint --json's output, which must be there. */
static guint64 json_uint(const char *json, const char *key)
{
	gint64 v = sv_test_json_int(json, key);
	g_assert_cmpint(v, >=, 0);
	return (guint64)v;
}

/* Whether checkpoint --json's output has key with the string value. */
static gboolean json_has(const char *json, const char *key, const char *value)
{
	g_autofree char *pair = g_strdup_printf("\"%s\" : \"%s\"", key, value);
	return strstr(json, pair) != NULL;
}

/* Checkpoints pid to TMP/tag.svs with extra (an option, or NULL),
 * incrementally on parent (or NULL); returns the file, and its --json
 * output in *ret_json. */
static char *checkpoint_json(const char *vm, guint32 pid, const char *tag, const char *parent,
			     gboolean kill, const char *extra, char **ret_json)
{
	char *file = g_strdup_printf("%s/%s.svs", tmpdir, tag);
	g_autofree char *pid_s = g_strdup_printf("%u", pid);
	const char *args[] = { "checkpoint",
			       vm,
			       "--pid",
			       pid_s,
			       "-o",
			       file,
			       "--json",
			       kill ? "--kill" : "--leave-running",
			       parent ? "--parent" : extra,
			       parent,
			       parent ? extra : NULL,
			       NULL };
	assert_checkpointed(snapvm_cmd(args, ret_json, NULL), pid);
	return file;
}

/* Checkpoints pid to TMP/tag.svs, incrementally on parent (or NULL);
 * returns the file and the pages it stores and had present. */
static char *checkpoint_on(const char *vm, guint32 pid, const char *tag, const char *parent,
			   gboolean kill, guint64 *ret_stored, guint64 *ret_present)
{
	g_autofree char *out = NULL;
	char *file = checkpoint_json(vm, pid, tag, parent, kill, NULL, &out);
	*ret_stored = json_uint(out, "pages_stored");
	*ret_present = json_uint(out, "pages_present");
	return file;
}

static char *checkpoint(const char *vm, guint32 pid, const char *tag)
{
	guint64 stored, present;
	return checkpoint_on(vm, pid, tag, NULL, TRUE, &stored, &present);
}

/* The workload's uninterrupted output: its native run on the host (the
 * x86_64 build for every guest arch: the workloads print nothing
 * arch-specific). */
static char *native_output_with(const char *name, long steps, const char *extra, const char *extra2,
				int *ret_status)
{
	g_autofree char *path = sv_test_workload(name, "x86_64");
	g_autofree char *s = g_strdup_printf("%ld", steps);
	const char *argv[] = { path, s, "0", extra, extra2, NULL };
	g_autoptr(GError) error = NULL;
	char *out = NULL;
	int status;
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
				   NULL, &status, &error));
	g_assert_no_error(error);
	*ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return out;
}

static char *native_output(const char *name, long steps, int *ret_status)
{
	return native_output_with(name, steps, NULL, NULL, ret_status);
}

/* The restored output is a suffix of the uninterrupted run's (with
 * arguments extra, extra2 after steps and interval), its status the
 * same. */
static void assert_continuation_with(const char *restored, int restored_status, const char *name,
				     long steps, const char *extra, const char *extra2)
{
	int native_status;
	g_autofree char *native = native_output_with(name, steps, extra, extra2, &native_status);
	gsize n = strlen(restored), m = strlen(native);
	g_test_message("%s: restored %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes", name, n, m);
	if (n == 0 || n > m || strcmp(native + (m - n), restored) != 0 ||
	    (m > n && native[m - n - 1] != '\n'))
		g_error("%s: restored output (exit status %d; the restore's stderr is above) is not "
			"a continuation of the uninterrupted run:\n"
			"--- restored ---\n%s--- uninterrupted ---\n%s",
			name, restored_status, restored, native);
	g_assert_cmpint(restored_status, ==, native_status);
}

static void assert_continuation(const char *restored, int restored_status, const char *name,
				long steps)
{
	assert_continuation_with(restored, restored_status, name, steps, NULL, NULL);
}

/* A --kill checkpoint without the guest's files (--no-fs). */
static char *checkpoint_no_fs(guint32 pid, const char *tag)
{
	char *file = g_strdup_printf("%s/%s-no-fs.svs", tmpdir, tag);
	g_autofree char *pid_s = g_strdup_printf("%u", pid);
	const char *ck[] = {
		"checkpoint", guest->machine->name, "--pid", pid_s, "-o", file, "--kill", "--no-fs",
		NULL
	};
	assert_checkpointed(snapvm_cmd(ck, NULL, NULL), pid);
	return file;
}

typedef struct {
	const char *name;
	long steps, interval_ms, checkpoint_after_ms;
	/* counted from this many lines of output (a workload whose set-up
	 * takes long under TCG), else from the start */
	guint after_lines;
} Case;

static void wait_for_lines(guint32 pid, guint lines, GString *out);

static void test_workload(gconstpointer data)
{
	const Case *c = data;
	require_guest();
	if (g_test_failed() || !guest)
		return;
	guint32 pid = start_workload(c->name, c->steps, c->interval_ms);
	if (c->after_lines) {
		g_autoptr(GString) first = g_string_new(NULL);
		wait_for_lines(pid, c->after_lines, first);
	}
	g_usleep((gulong)c->checkpoint_after_ms * 1000);
	g_autofree char *tag = g_strdup_printf("%s-%ld", c->name, c->checkpoint_after_ms);
	g_autofree char *file = checkpoint(guest->machine->name, pid, tag);
	g_autofree char *out = NULL;
	const char *args[] = { "restore", file, NULL };
	int status = snapvm_cmd(args, &out, NULL);
	assert_continuation(out, status, c->name, c->steps);
	if (!strcmp(c->name, "fpu") && !fpu_snapshot) {
		fpu_snapshot = g_strdup(file);
		fpu_steps = c->steps;
	}
}

/* What the original run streamed to the host until it ended. */
static char *streamed_output(guint32 pid, int *ret_wait_status)
{
	g_autoptr(GError) error = NULL;
	char *out = sv_test_guest_collect(guest, pid, ret_wait_status, &error);
	g_assert_no_error(error);
	return out;
}

/* Reads the fixture's port 0 until pid has streamed at least lines lines
 * of stdout, into out. */
static void wait_for_lines(guint32 pid, guint lines, GString *out)
{
	guint seen = 0;
	while (seen < lines) {
		g_auto(SvAgentFrame) f = { 0 };
		g_autoptr(GError) error = NULL;
		g_assert_true(sv_agent_client_recv(guest->agent, 60000, &f, &error));
		guint32 from, stream, n;
		const guint8 *bytes;
		if (f.type != SV_MSG_OUTPUT)
			continue;
		g_assert_true(sv_agent_frame_parse_output(&f, &from, &stream, &bytes, &n, &error));
		if (from != pid || stream != 1)
			continue;
		g_string_append_len(out, (const char *)bytes, n);
		for (guint i = 0; i < n; i++)
			seen += bytes[i] == '\n';
	}
}

/* Checkpoints of a fast-printing counter at random moments (GTest's seed,
 * printed in the log, replays them), each with --kill: the output the
 * original streamed until it was killed, then the restored run's, must be
 * the uninterrupted run's exactly - no line lost, none twice. Half the
 * runs print flat out (caught in write(), blocked on a full pipe, or on a
 * vCPU), checkpointed once a random number of lines has streamed, since
 * how fast that is depends on the arch and the machine's load; half sleep
 * 1 ms a line (caught in nanosleep), checkpointed a random time after the
 * start. SNAPVM_TEST_KILL_ROUNDS sets how many. */
static void test_kill_exact(void)
{
	require_guest();
	if (!guest)
		return;
	const char *env = g_getenv("SNAPVM_TEST_KILL_ROUNDS");
	guint rounds = env ? (guint)g_ascii_strtoull(env, NULL, 10) : 8, exact = 0;
	g_autoptr(GString) report = g_string_new(NULL);
	for (guint r = 0; r < rounds; r++) {
		gboolean flat_out = g_test_rand_bit();
		/* flat out, a guest prints up to ~60000 lines a second: the
		 * checkpoint, started at most 40000 lines in, still finds it
		 * running */
		long steps = flat_out ? 100000 : 4000, interval = flat_out ? 0 : 1;
		guint at = (guint)g_test_rand_int_range(flat_out ? 1000 : 100,
							flat_out ? 40000 : 1500);
		g_autoptr(GString) original = g_string_new(NULL);
		guint32 pid = start_workload("counter", steps, interval);
		if (flat_out)
			wait_for_lines(pid, at, original);
		else
			g_usleep(at * 1000);
		g_autofree char *file = g_strdup_printf("%s/kill-%u.svs", tmpdir, r);
		g_autofree char *pid_s = g_strdup_printf("%u", pid);
		const char *ck[] = { "checkpoint", guest->machine->name,
				     "--pid",	   pid_s,
				     "-o",	   file,
				     "--kill",	   NULL };
		int ck_status = snapvm_cmd(ck, NULL, NULL);
		int original_status, restored_status, native_status;
		g_autofree char *rest = streamed_output(pid, &original_status);
		g_string_append(original, rest);
		if (ck_status != 0)
			g_error("round %u: checkpoint at %u %s failed; the process had printed %" G_GSIZE_FORMAT
				" bytes and ended with wait status 0x%x",
				r, at, flat_out ? "lines" : "ms", original->len, original_status);
		g_assert_true(WIFSIGNALED(original_status));
		g_assert_cmpint(WTERMSIG(original_status), ==, SIGKILL);
		g_autofree char *restored = NULL;
		const char *args[] = { "restore", file, NULL };
		restored_status = snapvm_cmd(args, &restored, NULL);
		g_autofree char *native = native_output("counter", steps, &native_status);
		g_string_append(original, restored);
		gboolean same = !strcmp(original->str, native) && restored_status == native_status;
		exact += same;
		g_string_append_printf(report,
				       "\n  round %u: %s %u %s: %" G_GSIZE_FORMAT
				       " + %" G_GSIZE_FORMAT " bytes of %" G_GSIZE_FORMAT
				       ", exit %d: %s",
				       r, flat_out ? "flat out, after" : "1 ms a line, at", at,
				       flat_out ? "lines" : "ms", original->len - strlen(restored),
				       strlen(restored), strlen(native), restored_status,
				       same ? "exact" : "DIFFERS");
		g_unlink(file);
	}
	g_test_message("%u of %u --kill checkpoints at random moments restored with an exact "
		       "tail:%s",
		       exact, rounds, report->str);
	g_assert_cmpuint(exact, ==, rounds);
}

/* A --kill checkpoint that fails after the capture: the error says the
 * process was left running, no snapshot is left, and the process runs on
 * with its whole output, as if nothing had happened. */
static void assert_kill_fails_left_running(const char *workload, const char *extra, long steps,
					   const char *output, const char *expect, const char *todo)
{
	const long interval = 40;
	guint32 pid = start_workload_with(workload, steps, interval, extra, NULL);
	g_usleep(500 * 1000);
	g_autofree char *pid_s = g_strdup_printf("%u", pid);
	g_autofree char *err = NULL;
	const char *args[] = {
		"checkpoint", guest->machine->name, "--pid", pid_s, "-o", output, "--kill", NULL
	};
	g_assert_cmpint(snapvm_cmd(args, NULL, &err), ==, 125);
	if (!strstr(err, expect)) {
		int early_status;
		g_autofree char *early = streamed_output(pid, &early_status);
		g_error("checkpoint of %s: '%s' lacks '%s'; the process printed:\n%s(wait status "
			"0x%x)",
			workload, err, expect, early, early_status);
	}
	if (todo && !strstr(err, todo))
		g_error("checkpoint of %s %s: '%s' does not say what to do ('%s')", workload,
			extra ? extra : "", err, todo);
	g_autofree char *left = g_strdup_printf("guest pid %u left running", pid);
	g_assert_nonnull(strstr(err, left));
	g_assert_false(g_file_test(output, G_FILE_TEST_EXISTS));
	int status, native_status;
	g_autofree char *out = streamed_output(pid, &status);
	g_autofree char *native = native_output_with(workload, steps, extra, NULL, &native_status);
	g_assert_cmpstr(out, ==, native);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, native_status);
}

static void test_kill_write_fails(void)
{
	require_guest();
	if (!guest)
		return;
	/* a kernel object it does not carry: an AIO ring */
	g_autofree char *snap = g_build_filename(tmpdir, "aioring.svs", NULL);
	assert_kill_fails_left_running("aioring", NULL, 30, snap, "ring (io_setup)", NULL);
	/* a full disk */
	g_autofree char *tiny = g_build_filename(tmpdir, "tiny", NULL);
	g_assert_cmpint(g_mkdir(tiny, 0755), ==, 0);
	if (mount("tmpfs", tiny, "tmpfs", 0, "size=64k") != 0) {
		g_test_skip_printf("cannot mount a small tmpfs for the full-disk case (%s): run "
				   "as root",
				   g_strerror(errno));
		return;
	}
	g_autofree char *full = g_build_filename(tiny, "full.svs", NULL);
	assert_kill_fails_left_running("counter", NULL, 30, full, "No space left on device", NULL);
	umount2(tiny, MNT_DETACH);
}

/* What zdtm found restored wrong without a word, or failing at restore:
 * each refused at checkpoint, naming it, the process left running with
 * its whole output (uncarried.c). */
static void test_kill_refuses_uncarried(void)
{
	require_guest();
	if (!guest)
		return;
	/* expect: what the refusal names; todo: what it tells the user to
	 * do, where the fix is theirs */
	static const struct {
		const char *what, *expect, *todo;
	} cases[] = {
		{ "sem", "its IPC namespace holds 1 SysV semaphore set",
		  "ipcs lists them, ipcrm -s ID removes one" },
		{ "ipcns", "its IPC namespace has kernel.msgmax set to 12345, not 8192",
		  "sysctl -w kernel.msgmax=8192) before checkpointing" },
		{ "tcpopt", "fd 70 is a TCP socket with TCP_NODELAY set", NULL },
		{ "overrun",
		  "POSIX timer 0 has an overrun count (timer_getoverrun) of 3, which "
		  "restore cannot make again: it counts CLOCK_REALTIME",
		  NULL },
		{ "overrun2", "has an overrun count on signal 34, as another of its timers does",
		  NULL },
		{ "uffd", "is registered with a userfaultfd", NULL },
		{ "child", "has 1 child process (guest pid ",
		  "checkpoint it when it has no children" },
		{ "opath", "fd 70 is an O_PATH descriptor of /tmp", NULL },
		{ "epollgone",
		  "fd 71 is an epoll fd watching a file it was given as fd 72, "
		  "which the process has closed since",
		  "keep fd 72 open on the watched file while it is watched, or remove the item "
		  "(EPOLL_CTL_DEL)" },
		{ "unixpeer",
		  "fd 70 is a UNIX socket connected to a peer no fd of the process holds",
		  "keep the peer's end open in the process" },
		{ "ping", "fd 70 is an ICMP echo (\"ping\") socket",
		  "close it before checkpointing" },
		{ "ping6", "fd 70 is an ICMPv6 echo (\"ping\") socket", NULL },
		{ "tcpclosed", "fd 70 is a TCP socket whose connection from 127.0.0.1:",
		  "is closed (state CLOSE" },
		{ "thloginuid", "has its own audit login uid 1000 and session id", NULL },
	};
	g_autofree char *snap = g_build_filename(tmpdir, "uncarried.svs", NULL);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("uncarried %s", cases[i].what);
		/* 60 steps: a checkpoint under load reached a 30-step run
		 * only after it had ended */
		/* "child": the checkpoint first waits 3 s for it to end */
		long steps = strcmp(cases[i].what, "child") ? 60 : 200;
		assert_kill_fails_left_running("uncarried", cases[i].what, steps, snap,
					       cases[i].expect, cases[i].todo);
	}
}

/* checkpoint --no-fs leaves the files the guest wrote out: fsfiles' cwd,
 * a directory it made, is then missing, and restore says so. */
static void test_no_fs(void)
{
	require_guest();
	if (!guest)
		return;
	guint32 pid = start_workload("fsfiles", 60, 60);
	g_usleep(800 * 1000);
	g_autofree char *file = checkpoint_no_fs(pid, "fsfiles");
	g_autofree char *err = NULL;
	const char *args[] = { "restore", file, NULL };
	g_assert_cmpint(snapvm_cmd(args, NULL, &err), ==, 125);
	g_assert_nonnull(strstr(err, "cannot enter the working directory /tmp/snapvm-fsfiles/sub"));
	g_assert_nonnull(strstr(err, "--no-fs"));
}

/* A named FIFO restore makes itself (no FS section to make it): with
 * the mode and owner it had. */
static void test_fifo_no_fs(void)
{
	require_guest();
	if (!guest)
		return;
	guint32 pid = start_workload("kobj-fifo", 60, 60);
	g_usleep(800 * 1000);
	g_autofree char *file = checkpoint_no_fs(pid, "kobj-fifo");
	g_autofree char *out = NULL;
	const char *args[] = { "restore", file, NULL };
	int status = snapvm_cmd(args, &out, NULL);
	assert_continuation(out, status, "kobj-fifo", 60);
}

/* The line `snapvm inspect FILE` shows for the mapping named name. */
static char *vma_line(const char *file, const char *name)
{
	g_autofree char *out = NULL;
	const char *args[] = { "inspect", file, NULL };
	g_assert_cmpint(snapvm_cmd(args, &out, NULL), ==, 0);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l; l++)
		if (g_str_has_suffix(*l, name))
			return g_strdup(*l);
	g_error("%s has no %s mapping", file, name);
}

/* The mappings `snapvm inspect FILE` lists, each as "start end prot pgoff
 * file". Left out, as they legitimately differ between a process and its
 * restored self: the vm_flags (VM_SOFTDIRTY is set on every fresh mapping
 * and cleared by a soft-dirty checkpoint, for one), and an anonymous
 * mapping's page offset (the kernel's count from where it was first made:
 * a stack that grew has another; /proc/PID/maps shows 0 for all). */
static GPtrArray *vma_list(const char *file)
{
	g_autofree char *out = NULL;
	const char *args[] = { "inspect", file, NULL };
	g_assert_cmpint(snapvm_cmd(args, &out, NULL), ==, 0);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
	gboolean in_vmas = FALSE;
	for (char **l = lines; *l; l++) {
		if (g_str_has_prefix(*l, "VMAs ("))
			in_vmas = TRUE;
		else if (in_vmas && !g_str_has_prefix(*l, "    "))
			in_vmas = FALSE;
		if (!in_vmas || !g_str_has_prefix(*l, "    0x"))
			continue;
		/* start end size(1-2 words) prot vm_flags pgoff file... */
		g_auto(GStrv) w = g_strsplit_set(g_strstrip(*l), " ", -1);
		g_autoptr(GPtrArray) words = g_ptr_array_new();
		for (char **x = w; *x; x++)
			if (**x)
				g_ptr_array_add(words, *x);
		guint prot = 3;
		while (prot < words->len &&
		       !g_regex_match_simple("^[r-][w-][x-]$", words->pdata[prot], 0, 0))
			prot++;
		g_assert_cmpuint(prot + 2, <, words->len);
		gboolean anon = prot + 3 >= words->len ||
				((char *)words->pdata[prot + 3])[0] == '[';
		GString *v = g_string_new(NULL);
		g_string_append_printf(v, "%s %s %s %s", (char *)words->pdata[0],
				       (char *)words->pdata[1], (char *)words->pdata[prot],
				       anon ? "-" : (char *)words->pdata[prot + 2]);
		for (guint k = prot + 3; k < words->len; k++)
			g_string_append_printf(v, " %s", (char *)words->pdata[k]);
		g_ptr_array_add(list, g_string_free(v, FALSE));
	}
	return list;
}

/* A restored process sleeps as long as the host's clock says: the sleeper
 * (SLEEP_STEP_MS a step) restored under TCG with the host loaded by the
 * test from before the restore guest boots (an x86_64 guest that
 * calibrated its TSC under such load kept time 22 times too fast,
 * arch/x86_64/tcg-clock.c). The host times the restored lines as they
 * come: from the first to the last, k steps must take k x SLEEP_STEP_MS,
 * less at most 0.3 s (the first line may come late), more at most half
 * again and 1 s (on a loaded host each sleep ends late, one after the
 * other). */
#define SLEEP_STEP_MS 200
#define SLEEP_STEPS 30
static void test_restored_sleep(void)
{
	require_guest();
	if (g_test_failed() || !guest)
		return;
	guint32 pid = start_workload("sleeper", SLEEP_STEPS, SLEEP_STEP_MS);
	g_usleep(600 * 1000);
	g_autofree char *file = checkpoint(guest->machine->name, pid, "sleeper-clock");
	g_autoptr(GArray) load = sv_test_host_load_start(3);
	const char *argv[] = { snapvm, "restore", "--accel", "tcg", file, NULL };
	g_autoptr(GError) error = NULL;
	GPid child;
	int out_fd;
	g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
					       NULL, NULL, &child, NULL, &out_fd, NULL, &error));
	g_assert_no_error(error);
	g_autoptr(GString) out = g_string_new(NULL);
	gint64 first_at = 0, last_at = 0;
	long first = -1, last = -1;
	FILE *f = fdopen(out_fd, "r");
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		gint64 now = g_get_monotonic_time();
		g_string_append(out, line);
		long step;
		if (sscanf(line, "sleeper woke %ld", &step) != 1)
			continue;
		if (first < 0) {
			first = step;
			first_at = now;
		}
		last = step;
		last_at = now;
	}
	fclose(f);
	int status;
	g_assert_cmpint(waitpid(child, &status, 0), ==, child);
	g_spawn_close_pid(child);
	sv_test_host_load_stop(g_steal_pointer(&load));
	assert_continuation(out->str,
			    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			    "sleeper", SLEEP_STEPS);
	long k = last - first;
	g_assert_cmpint(k, >=, 10);
	double took = (last_at - first_at) / 1e6, want = k * SLEEP_STEP_MS / 1e3;
	g_test_message("%s: %ld restored sleeps of %d ms took %.3f s of the host's time", arch_name,
		       k, SLEEP_STEP_MS, took);
	if (took < want - 0.3 || took > want * 1.5 + 1)
		g_test_fail_printf("%ld restored sleeps of %d ms took %.3f s of the host's time, not "
				   "%.1f s",
				   k, SLEEP_STEP_MS, took, want);
}

/* Checkpoint, restore (detached), checkpoint the restored process, restore
 * that: the second restore still carries on the original run. The first
 * restored process must have had its vDSO where the original had it
 * (x86_64 maps a new one there, aarch64 moves the restorer's): no output
 * would show it (no workload calls into it after a restore), the second
 * snapshot does; and it must have had exactly the original's mappings,
 * the restorer's own region gone. */
static void test_chained(void)
{
	require_guest();
	if (!guest)
		return;
	/* long enough that the restored process is still running when it is
	 * checkpointed again on a loaded machine */
	const long steps = 80, interval = 60;
	guint32 pid = start_workload("counter", steps, interval);
	g_usleep(600 * 1000);
	g_autofree char *first = checkpoint(guest->machine->name, pid, "chain-1");
	const char *restore1[] = { "restore", "--detach", "--json", "--name", "chain", first, NULL };
	g_autofree char *json = NULL;
	g_assert_cmpint(snapvm_cmd(restore1, &json, NULL), ==, 0);
	gint64 restored_pid = sv_test_json_int(json, "pid");
	g_assert_cmpint(restored_pid, ==, pid); /* the same pid, in a fresh guest */
	g_usleep(800 * 1000);
	g_autofree char *second = checkpoint("chain", (guint32)restored_pid, "chain-2");
	static const char *const special[] = { "[vvar]", "[vdso]" };
	for (guint i = 0; i < G_N_ELEMENTS(special); i++) {
		g_autofree char *before = vma_line(first, special[i]);
		g_autofree char *after = vma_line(second, special[i]);
		g_assert_cmpstr(after, ==, before);
	}
	g_autoptr(GPtrArray) vmas_before = vma_list(first);
	g_autoptr(GPtrArray) vmas_after = vma_list(second);
	g_autoptr(GString) diff = g_string_new(NULL);
	for (guint i = 0; i < vmas_after->len; i++)
		if (!g_ptr_array_find_with_equal_func(vmas_before, vmas_after->pdata[i],
						      g_str_equal, NULL))
			g_string_append_printf(diff, "\n  more: %s", (char *)vmas_after->pdata[i]);
	for (guint i = 0; i < vmas_before->len; i++)
		if (!g_ptr_array_find_with_equal_func(vmas_after, vmas_before->pdata[i],
						      g_str_equal, NULL))
			g_string_append_printf(diff, "\n  less: %s", (char *)vmas_before->pdata[i]);
	if (diff->len)
		g_error("the restored process's mappings differ from the original's:%s", diff->str);
	g_test_message("the restored process has the original's %u mappings", vmas_before->len);
	const char *stop[] = { "stop", "chain", NULL };
	snapvm_cmd(stop, NULL, NULL);
	g_autofree char *out = NULL;
	const char *restore2[] = { "restore", second, NULL };
	int status = snapvm_cmd(restore2, &out, NULL);
	assert_continuation(out, status, "counter", steps);
}

/* Incremental checkpoints: a full one, one on it and one on that (--kill),
 * each storing less than it has; the last restores and carries on
 * the run (its pages from all three files); inspect --verify checks the
 * chain; without its middle file the restore is refused, naming it; and
 * -o may not replace a parent. */
static void test_incremental(void)
{
	require_guest();
	if (!guest)
		return;
	const long steps = 40, interval = 60;
	guint32 pid = start_workload("memory", steps, interval);
	g_usleep(500 * 1000);
	guint64 stored[3], present[3];
	g_autofree char *full = checkpoint_on(guest->machine->name, pid, "inc-0", NULL, FALSE,
					      &stored[0], &present[0]);
	g_autofree char *pid_s = g_strdup_printf("%u", pid);
	g_autofree char *err = NULL;
	const char *self[] = { "checkpoint", guest->machine->name, "--pid", pid_s, "-o",
			       full,	     "--parent",	   full,    NULL };
	g_assert_cmpint(snapvm_cmd(self, NULL, &err), ==, 125);
	g_assert_nonnull(strstr(err, "which the new snapshot needs as its parent"));
	g_usleep(300 * 1000);
	g_autofree char *inc1_json = NULL;
	g_autofree char *inc1 = checkpoint_json(guest->machine->name, pid, "inc-1", full, FALSE,
						NULL, &inc1_json);
	stored[1] = json_uint(inc1_json, "pages_stored");
	present[1] = json_uint(inc1_json, "pages_present");
	/* the executable, unchanged, is not stored again: the parent's copy
	 * (or the root filesystem image's) is referred to, and the restore
	 * below reads it from there */
	g_assert_cmpuint(json_uint(inc1_json, "files_from_parent") +
				 json_uint(inc1_json, "files_referenced"),
			 >=, 1);
	g_usleep(300 * 1000);
	g_autofree char *inc2 = checkpoint_on(guest->machine->name, pid, "inc-2", inc1, TRUE,
					      &stored[2], &present[2]);
	g_test_message("pages stored of present: full %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
		       ", then %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
		       ", then %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT,
		       stored[0], present[0], stored[1], present[1], stored[2], present[2]);
	/* the program's text at least is as it was: not stored again (how
	 * much else changed depends on how far the run got meanwhile) */
	g_assert_cmpuint(stored[1], <, present[1]);
	g_assert_cmpuint(stored[2], <, present[2]);
	const char *verify[] = { "inspect", "--verify", inc2, NULL };
	g_assert_cmpint(snapvm_cmd(verify, NULL, NULL), ==, 0);
	g_autofree char *out = NULL;
	const char *restore[] = { "restore", inc2, NULL };
	int status = snapvm_cmd(restore, &out, NULL);
	assert_continuation(out, status, "memory", steps);
	g_autofree char *moved = g_strdup_printf("%s.away", inc1);
	g_assert_cmpint(g_rename(inc1, moved), ==, 0);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(snapvm_cmd(restore, NULL, &err), ==, 125);
	g_assert_nonnull(strstr(err, "put it back where it was"));
}

/* Whether the guests of this arch keep soft-dirty bits (x86_64's Debian
 * kernel does; arm64's 6.1 has none). */
static gboolean arch_soft_dirty(void)
{
	return !strcmp(arch_name, "x86_64");
}

/* Starts dirtier (80 ms a step) and waits until its memory is filled:
 * its first lines. */
static guint32 start_dirtier(long steps)
{
	guint32 pid = start_workload("dirtier", steps, 80);
	g_autoptr(GString) first = g_string_new(NULL);
	wait_for_lines(pid, 2, first);
	return pid;
}

/* Restores file: the output carries on the workload's uninterrupted run. */
static void restore_continues(const char *file, const char *name, long steps)
{
	g_autofree char *out = NULL;
	const char *restore[] = { "restore", file, NULL };
	int status = snapvm_cmd(restore, &out, NULL);
	assert_continuation(out, status, name, steps);
}

/* Files through an incremental chain: fsfiles appends to its log every
 * step and leaves its sparse file and its executable as they were. The
 * incremental checkpoint after a step refers to the parent's copies of
 * what did not change and stores the log anew; its restore carries on the
 * uninterrupted run, which reads the log back every step (a stale log,
 * taken from the parent, would print another line). */
static void test_incremental_files(void)
{
	require_guest();
	if (!guest)
		return;
	const long steps = 60, interval = 60;
	guint32 pid = start_workload("fsfiles", steps, interval);
	g_usleep(800 * 1000);
	g_autofree char *json0 = NULL, *json1 = NULL;
	g_autofree char *full = checkpoint_json(guest->machine->name, pid, "fsinc-0", NULL, FALSE,
						NULL, &json0);
	/* a few steps: the log grows */
	g_usleep(4 * interval * 1000);
	g_autofree char *inc = checkpoint_json(guest->machine->name, pid, "fsinc-1", full, TRUE,
					       NULL, &json1);
	guint64 carried = json_uint(json1, "files") + json_uint(json1, "fs_files");
	guint64 from_parent = json_uint(json1, "files_from_parent");
	g_test_message("incremental: %" G_GUINT64_FORMAT
		       " files referred to the parent of %" G_GUINT64_FORMAT " carried",
		       from_parent, carried);
	g_assert_cmpuint(from_parent, >=, 1);
	g_assert_cmpuint(from_parent, <, carried);
	const char *verify[] = { "inspect", "--verify", inc, NULL };
	g_assert_cmpint(snapvm_cmd(verify, NULL, NULL), ==, 0);
	restore_continues(inc, "fsfiles", steps);
}

/* Incremental checkpoints of dirtier, which writes a few scattered pages
 * a step (small and huge pages, and a mapping replaced at the same
 * address) and prints a checksum of all of it: a full one (arming the
 * soft-dirty bits), one on it and one on that (--kill), the last two
 * choosing their pages by the bits (x86_64; hashes elsewhere) and storing
 * far fewer than present. The last restores and carries on the run: one
 * written page missed, and the next checksum would differ from the
 * uninterrupted run's. */
static void test_incremental_soft_dirty(void)
{
	require_guest();
	if (!guest)
		return;
	/* long enough to outlast three checkpoints on a loaded machine */
	const long steps = 300;
	guint32 pid = start_dirtier(steps);
	const char *method = arch_soft_dirty() ? "soft-dirty" : "hashes";
	g_autofree char *json0 = NULL, *json1 = NULL, *json2 = NULL;
	g_autofree char *full = checkpoint_json(guest->machine->name, pid, "sd-0", NULL, FALSE,
						NULL, &json0);
	g_assert_true(strstr(json0, arch_soft_dirty() ? "\"soft_dirty_armed\" : true"
						      : "\"soft_dirty_armed\" : false"));
	g_usleep(500 * 1000);
	g_autofree char *inc1 = checkpoint_json(guest->machine->name, pid, "sd-1", full, FALSE,
						NULL, &json1);
	g_usleep(500 * 1000);
	g_autofree char *inc2 = checkpoint_json(guest->machine->name, pid, "sd-2", inc1, TRUE, NULL,
						&json2);
	const char *jsons[] = { json1, json2 };
	for (guint i = 0; i < G_N_ELEMENTS(jsons); i++) {
		guint64 stored = json_uint(jsons[i], "pages_stored");
		guint64 present = json_uint(jsons[i], "pages_present");
		g_test_message("incremental %u (%s): %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
			       " pages stored",
			       i + 1, method, stored, present);
		g_assert_true(json_has(jsons[i], "dirty_tracking", method));
		/* 16 MiB of small pages written 8 a step: most are not stored */
		g_assert_cmpuint(stored * 3, <, present);
	}
	restore_continues(inc2, "dirtier", steps);
}

/* checkpoint --precopy --kill of dirtier: its pages copied in rounds while
 * the VM runs, most of them taken from there at the pause; the snapshot is
 * one file (inspect --verify) and restores to carry on the run exactly
 * (one written page missed, and a checksum would differ). Where the guests
 * keep no soft-dirty bits it is refused, the process left running. */
static void test_precopy(void)
{
	require_guest();
	if (!guest)
		return;
	/* long enough to outlast three checkpoints on a loaded machine */
	const long steps = 300;
	guint32 pid = start_dirtier(steps);
	if (!arch_soft_dirty()) {
		g_autofree char *pid_s = g_strdup_printf("%u", pid);
		g_autofree char *file = g_strdup_printf("%s/pre.svs", tmpdir);
		g_autofree char *err = NULL;
		const char *args[] = { "checkpoint", guest->machine->name, "--pid", pid_s, "-o",
				       file,	     "--precopy",	   NULL };
		g_assert_cmpint(snapvm_cmd(args, NULL, &err), !=, 0);
		g_assert_nonnull(strstr(err, "soft-dirty"));
		g_assert_nonnull(strstr(err, "left running"));
		g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
		return;
	}
	g_autofree char *json = NULL;
	g_autofree char *file = checkpoint_json(guest->machine->name, pid, "pre", NULL, TRUE,
						"--precopy=3", &json);
	guint64 present = json_uint(json, "pages_present");
	guint64 from_rounds = json_uint(json, "pages_from_precopy");
	g_test_message("precopy: %" G_GUINT64_FORMAT " rounds, %" G_GUINT64_FORMAT
		       " of %" G_GUINT64_FORMAT " pages from them, pause %" G_GUINT64_FORMAT " ms",
		       json_uint(json, "precopy_rounds"), from_rounds, present,
		       json_uint(json, "pause_ms"));
	g_assert_cmpuint(json_uint(json, "precopy_rounds"), >=, 1);
	g_assert_true(json_has(json, "dirty_tracking", "soft-dirty"));
	/* 20 MiB of it, of which a few pages a step are written */
	g_assert_cmpuint(from_rounds * 2, >, present);
	const char *verify[] = { "inspect", "--verify", file, NULL };
	g_assert_cmpint(snapvm_cmd(verify, NULL, NULL), ==, 0);
	restore_continues(file, "dirtier", steps);
}

/* The idle pool guests `snapvm pool status --json` lists. */
static guint pool_idle(void)
{
	g_autofree char *out = NULL;
	const char *status[] = { "pool", "status", "--json", NULL };
	g_assert_cmpint(snapvm_cmd(status, &out, NULL), ==, 0);
	guint n = 0;
	for (const char *p = out; (p = strstr(p, "\"idle\" : true")); p++)
		n++;
	return n;
}

/* restore --pool takes the idle guest `pool start` booted (no boot of its
 * own), carries on the run in it, and a replacement is booted in the
 * background; pool stop stops it. */
static void test_pool(void)
{
	require_guest();
	if (!guest)
		return;
	g_autofree char *name = NULL;
	const char *start[] = { "pool", "start",    "--arch", arch_name, "--accel",
				"tcg",	"--memory", "512",    NULL };
	g_assert_cmpint(snapvm_cmd(start, &name, NULL), ==, 0);
	g_strstrip(name);
	g_assert_true(g_str_has_prefix(name, "pool-"));
	g_assert_cmpuint(pool_idle(), ==, 1);
	const long steps = 30, interval = 60;
	guint32 pid = start_workload("counter", steps, interval);
	g_usleep(500 * 1000);
	g_autofree char *file = checkpoint(guest->machine->name, pid, "pooled");
	g_autofree char *out = NULL, *err = NULL;
	const char *restore[] = { "restore", "--pool", "--accel", "tcg", "-v", file, NULL };
	int status = snapvm_cmd(restore, &out, &err);
	g_autofree char *took = g_strdup_printf("took pool guest %s", name);
	g_assert_nonnull(strstr(err, took));
	g_assert_null(strstr(err, "guest boot done"));
	assert_continuation(out, status, "counter", steps);
	/* the replacement: booted by a snapvm of its own */
	gint64 until = g_get_monotonic_time() + 300 * G_USEC_PER_SEC;
	while (pool_idle() == 0 && g_get_monotonic_time() < until)
		g_usleep(2 * G_USEC_PER_SEC);
	g_assert_cmpuint(pool_idle(), ==, 1);
	const char *stop[] = { "pool", "stop", NULL };
	g_assert_cmpint(snapvm_cmd(stop, NULL, NULL), ==, 0);
	g_assert_cmpuint(pool_idle(), ==, 0);
}

/* restore --base (host/pool/pool-base.h): `pool save` boots a pool guest
 * and saves it into the cache; two restores of one snapshot then each
 * start from that saved state instead of booting (one after the other: a
 * base runs one VM at a time) and carry on exactly. Every copy of the
 * saved guest resumes with the same kernel CRNG state, so each must be
 * reseeded from the host (SV_MSG_RESUMED): a new process in each (the
 * entropy workload, written in through the agent) must print other
 * AT_RANDOM bytes and other /dev/urandom bytes than in the other copy. A
 * copy's wall clock, stopped at the save, must be the host's again. Then
 * the base's saved state cut short: the next restore --base boots
 * instead, exactly, says why (-v, --json's base_fallback) and removes the
 * base. */
static char *json_line(const char *err);

static char *base_guest_entropy(const char *vm, guint32 pid, const char *name, long steps,
				time_t *ret_guest_now)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SvMachine) m = sv_machine_open(vm, &error);
	g_assert_no_error(error);
	/* the restored process's output, buffered while no host was
	 * attached, first (a collect drops other processes' output) */
	SvTestGuest g = { .arch = guest->arch, .machine = m };
	g.agent = sv_agent_client_connect(m->agent_socket, 10000, &error);
	g_assert_no_error(error);
	g_assert_true(sv_agent_client_hello(g.agent, 30000, &g.info, &error));
	int status = -1;
	g_autofree char *out = sv_test_guest_collect(&g, pid, &status, &error);
	g_assert_no_error(error);
	assert_continuation(out, WIFEXITED(status) ? WEXITSTATUS(status) : 128, name, steps);
	g_autofree char *local = sv_test_workload("entropy", arch_name);
	g_autofree char *bytes = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(local, &bytes, &len, &error));
	const char *path = SV_RIMG_GUEST_DIR "/entropy";
	g_assert_true(sv_agent_client_write_file(g.agent, path, 0700, bytes, len, &error));
	g_assert_no_error(error);
	const char *argv[] = { path, NULL };
	char *random = sv_test_guest_run(&g, argv, &status, &error);
	g_assert_no_error(error);
	g_assert_cmpint(status, ==, 0);
	const char *now = strstr(random, "\ntime ");
	g_assert_nonnull(now);
	*ret_guest_now = (time_t)g_ascii_strtoll(now + strlen("\ntime "), NULL, 10);
	sv_agent_client_free(g.agent);
	const char *stop[] = { "stop", vm, NULL };
	g_assert_cmpint(snapvm_cmd(stop, NULL, NULL), ==, 0);
	return random;
}

static void test_base_twice(void)
{
	require_guest();
	if (!guest)
		return;
	g_autofree char *saved = NULL;
	const char *save[] = { "pool", "save",	   "--arch", arch_name, "--accel",
			       "tcg",  "--memory", "768",    "--json",	NULL };
	g_assert_cmpint(snapvm_cmd(save, &saved, NULL), ==, 0);
	g_test_message("pool save: %s", saved);
	const long steps = 30, interval = 60;
	guint32 pid = start_workload("counter", steps, interval);
	g_usleep(500 * 1000);
	g_autofree char *file = checkpoint(guest->machine->name, pid, "based");
	g_autofree char *random[2] = { NULL, NULL };
	for (guint i = 0; i < 2; i++) {
		g_autofree char *out = NULL, *err = NULL;
		const char *restore[] = { "restore",  "--base", "--no-refill", "--accel", "tcg",
					  "--detach", "-v",	file,	       NULL };
		g_assert_cmpint(snapvm_cmd(restore, &out, &err), ==, 0);
		if (!strstr(err, "started from the saved base") || strstr(err, "guest boot done"))
			g_error("restore %u did not start from the saved base:\n%s", i + 1, err);
		g_auto(GStrv) words = g_strsplit(g_strstrip(out), " ", -1);
		g_assert_cmpuint(g_strv_length(words), >=, 2);
		guint32 restored = (guint32)g_ascii_strtoull(words[1], NULL, 10);
		time_t guest_now = 0;
		random[i] = base_guest_entropy(words[0], restored, "counter", steps, &guest_now);
		g_test_message("copy %u: %s", i + 1, random[i]);
		/* set from the host's on resuming: within a minute under load */
		g_assert_cmpint(llabs((long long)(guest_now - time(NULL))), <, 60);
	}
	g_auto(GStrv) a = g_strsplit(random[0], "\n", -1);
	g_auto(GStrv) b = g_strsplit(random[1], "\n", -1);
	g_assert_cmpuint(g_strv_length(a), >=, 2);
	g_assert_cmpuint(g_strv_length(b), >=, 2);
	g_assert_true(g_str_has_prefix(a[0], "at_random ") && g_str_has_prefix(a[1], "urandom "));
	if (!strcmp(a[0], b[0]) || !strcmp(a[1], b[1]))
		g_error("two guests resumed from one base share randomness:\n%s---\n%s", random[0],
			random[1]);

	const char *at = strstr(saved, "\"base\" : \"");
	g_assert_nonnull(at);
	at += strlen("\"base\" : \"");
	g_autofree char *dir = g_strndup(at, strcspn(at, "\""));
	g_autofree char *state = g_build_filename(dir, "state.sav", NULL);
	GStatBuf st;
	g_assert_cmpint(g_stat(state, &st), ==, 0);
	g_assert_cmpint(truncate(state, st.st_size / 2), ==, 0);
	g_autofree char *out = NULL, *err = NULL;
	const char *restore[] = { "restore", "--base", "--no-refill", "--accel", "tcg",
				  "--json",  "-v",     file,	      NULL };
	int status = snapvm_cmd(restore, &out, &err);
	assert_continuation(out, status, "counter", steps);
	g_autofree char *json = json_line(err);
	if (!json || !strstr(json, "\"guest\":\"boot\"") ||
	    !strstr(json, "\"base_fallback\":\"the saved base ") ||
	    !strstr(err, "cannot be loaded") || !strstr(err, "guest boot done"))
		g_error("a base cut short was not reported and booted around:\n%s", err);
	g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
}

/* restore --pool into a guest whose standby restorer pre-faulted memory
 * while it waited (pool start --prefault, host/pool/pool-standby.h): the
 * staging area takes those pages (the standby makes the process with its
 * own pid), and the run carries on exactly - bigmem checks every page, so a
 * page lost or left zero shows; vmaflags, that the moved pages keep each
 * region's flags. bigmem's 40 MiB against a 16 MiB pool: pre-faulted
 * pages, then fresh ones; vmaflags' few against 128 MiB: the rest of the
 * pool unmapped. standby-unused: a pool guest whose restorer is another
 * build's (its record changed) - the restore ends the standby, waits
 * until it has gone (its locked pool freed) and restores the usual way.
 * The others get their image through the standby's mailbox (guest RAM the
 * host writes), not the agent's channel. */
typedef struct {
	Case c;
	const char *memory, *prefault;
	const char *path; /* run/pool-prefault/PATH; NULL: the workload's name */
	gboolean foreign_restorer;
} PoolCase;

/* Makes pool guest name's record say its restorer is another build's. */
static void pool_guest_foreign_restorer(const char *name)
{
	g_autofree char *record = g_build_filename(g_getenv("SNAPVM_STATE_DIR"), "vms", name,
						   "pool-restorer.sha256", NULL);
	g_assert_true(g_file_test(record, G_FILE_TEST_IS_REGULAR));
	g_assert_true(g_file_set_contents(record, "another build", -1, NULL));
}

static void test_pool_prefault(gconstpointer data)
{
	const PoolCase *pc = data;
	require_guest();
	if (!guest)
		return;
	g_autofree char *err = NULL, *name = NULL;
	const char *start[] = { "pool", "start",    "--arch",	arch_name,    "--accel",    "tcg",
				"-v",	"--memory", pc->memory, "--prefault", pc->prefault, NULL };
	g_assert_cmpint(snapvm_cmd(start, &name, &err), ==, 0);
	g_autofree char *faulted = g_strdup_printf("%s MiB pre-faulted", pc->prefault);
	g_assert_nonnull(strstr(err, faulted));
	g_clear_pointer(&err, g_free);
	if (pc->foreign_restorer)
		pool_guest_foreign_restorer(g_strstrip(name));
	const Case *c = &pc->c;
	guint32 pid = start_workload(c->name, c->steps, c->interval_ms);
	if (c->after_lines) {
		g_autoptr(GString) first = g_string_new(NULL);
		wait_for_lines(pid, c->after_lines, first);
	}
	g_usleep((gulong)c->checkpoint_after_ms * 1000);
	g_autofree char *tag = g_strdup_printf("%s-prefault", c->name);
	g_autofree char *file = checkpoint(guest->machine->name, pid, tag);
	g_autofree char *out = NULL;
	const char *restore[] = { "restore", "--pool", "--no-refill", "--accel",
				  "tcg",     "-v",     file,	      NULL };
	int status = snapvm_cmd(restore, &out, &err);
	g_assert_nonnull(strstr(err, "took pool guest"));
	g_autofree char *as = g_strdup_printf("restorer started as guest pid %u (the standby", pid);
	/* the workload's pid may be a kernel thread's in the pool guest (a
	 * kworker more under load): the hand-over is then refused and the
	 * usual start restores it as another pid - the fallback, still
	 * checked for an exact continuation, but not what this case is for */
	gboolean pid_taken = !pc->foreign_restorer && !strstr(err, as) &&
			     strstr(err, "is taken in the fresh guest");
	if (pc->foreign_restorer) {
		if (!strstr(err, "its standby restorer is not used (another build's restorer): "
				 "ended, its memory free"))
			g_error("the standby restorer was not ended and waited for:\n%s", err);
		g_assert_null(strstr(err, as));
	} else if (!strstr(err, as)) {
		if (!pid_taken)
			g_error("the standby restorer did not restore pid %u:\n%s", pid, err);
	} else if (!strstr(err, "image written into the standby's mailbox, in guest RAM")) {
		g_error("the image did not go through the standby's mailbox:\n%s", err);
	}
	assert_continuation(out, status, c->name, c->steps);
	const char *stop[] = { "pool", "stop", NULL };
	g_assert_cmpint(snapvm_cmd(stop, NULL, NULL), ==, 0);
	if (pid_taken)
		g_test_incomplete("the workload's pid was taken in the pool guest: restored "
				  "exactly the usual way, not by the standby");
}

/* restore --lazy (guest/restorer/lazy-pager.c): the process runs before
 * the pages of its private anonymous memory are in place; a pager brings
 * them in through a userfaultfd. bigmem reads every page each step, so a
 * page missed, zero-filled or out of place fails the run; threads, that
 * every thread's faults are served (the uffd is per mm); bigmem "churn"
 * madvises, munmaps and mremaps parts of its region each step, from the
 * first one after the restore on (userfaultfd events: what was discarded
 * must read zero, what moved must arrive where it went). --json's figures
 * (on stderr) say it was lazy and how many pages came that way. */
typedef struct {
	Case c;
	const char *mib, *mode; /* bigmem's third and fourth arguments */
	gboolean pool;		/* into a pool guest (`pool start` first) */
} LazyCase;

/* The JSON object restore --json printed on stderr (its last line
 * starting with '{'), or NULL. */
static char *json_line(const char *err)
{
	g_auto(GStrv) lines = g_strsplit(err ? err : "", "\n", -1);
	const char *at = NULL;
	for (guint i = 0; lines[i]; i++)
		if (lines[i][0] == '{')
			at = lines[i];
	return g_strdup(at);
}

static void test_lazy(gconstpointer data)
{
	const LazyCase *lc = data;
	const Case *c = &lc->c;
	require_guest();
	if (!guest)
		return;
	if (lc->pool) {
		const char *start[] = { "pool", "start",    "--arch", arch_name, "--accel",
					"tcg",	"--memory", "640",    NULL };
		g_assert_cmpint(snapvm_cmd(start, NULL, NULL), ==, 0);
	}
	guint32 pid = start_workload_with(c->name, c->steps, c->interval_ms, lc->mib, lc->mode);
	if (c->after_lines) {
		g_autoptr(GString) first = g_string_new(NULL);
		wait_for_lines(pid, c->after_lines, first);
	}
	g_usleep((gulong)c->checkpoint_after_ms * 1000);
	g_autofree char *tag = g_strdup_printf("%s-lazy%s%s", c->name, lc->mode ? "-" : "",
					       lc->mode ? lc->mode : "");
	g_autofree char *file = checkpoint(guest->machine->name, pid, tag);
	g_autofree char *out = NULL, *err = NULL;
	const char *restore[] = { "restore",
				  "--lazy",
				  "--json",
				  "--accel",
				  "tcg",
				  "-v",
				  lc->pool ? "--pool" : file,
				  lc->pool ? "--no-refill" : NULL,
				  lc->pool ? file : NULL,
				  NULL };
	int status = snapvm_cmd(restore, &out, &err);
	assert_continuation_with(out, status, c->name, c->steps, lc->mib, lc->mode);
	if (lc->pool) {
		g_assert_nonnull(strstr(err, "took pool guest"));
		const char *stop[] = { "pool", "stop", NULL };
		g_assert_cmpint(snapvm_cmd(stop, NULL, NULL), ==, 0);
	}
	g_autofree char *json = json_line(err);
	g_assert_nonnull(json);
	g_assert_nonnull(strstr(json, "\"lazy\":true"));
	g_assert_cmpint(sv_test_json_int(json, "running_ms"), >, 0);
	g_assert_cmpint(sv_test_json_int(json, "first_output_ms"), >=,
			sv_test_json_int(json, "running_ms"));
	/* bigmem's region is all lazy; threads' stacks and heap */
	g_assert_cmpint(sv_test_json_int(json, "lazy_pages"), >, 0);
	g_test_message("%s", json);
}

/* Kills the guest process called comm in VM name (through its agent's
 * second port) once it shows, polling up to timeout_s; FALSE if it never
 * did. */
static gboolean kill_when_seen(const char *name, const char *comm, guint timeout_s)
{
	gint64 until = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < until) {
		g_usleep(50 * 1000);
		g_autoptr(SvMachine) m = sv_machine_open(name, NULL);
		if (!m)
			continue;
		g_autoptr(SvAgentClient)
			a = sv_agent_client_connect(m->agent_control_socket, 2000, NULL);
		SvAgentInfo info;
		if (!a || !sv_agent_client_hello(a, 5000, &info, NULL))
			continue;
		/* one connection from here: listing often is what this is */
		while (g_get_monotonic_time() < until) {
			g_autoptr(GArray) ps = sv_agent_client_ps(a, NULL);
			for (guint i = 0; ps && i < ps->len; i++) {
				const SvGuestProcess *p = &g_array_index(ps, SvGuestProcess, i);
				if (!strcmp(p->comm, comm))
					return sv_agent_client_kill(a, p->pid, SIGKILL, NULL);
			}
			if (!ps)
				break;
			g_usleep(20 * 1000);
		}
	}
	return FALSE;
}

/* A `restore --lazy -v` running (argv), its output read as it comes. */
typedef struct {
	GPid child;
	GIOChannel *out, *err;
	GString *said; /* its stderr so far */
} LazyRestore;

static void lazy_restore_spawn(LazyRestore *r, const char *const *argv)
{
	int out_fd, err_fd;
	g_autoptr(GError) error = NULL;
	g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
					       NULL, NULL, &r->child, NULL, &out_fd, &err_fd,
					       &error));
	g_assert_no_error(error);
	r->out = g_io_channel_unix_new(out_fd);
	r->err = g_io_channel_unix_new(err_fd);
	g_io_channel_set_close_on_unref(r->out, TRUE);
	g_io_channel_set_close_on_unref(r->err, TRUE);
	r->said = g_string_new(NULL);
}

/* Reads its stderr until a line holding text: TRUE; FALSE at its end. */
static gboolean lazy_restore_until(LazyRestore *r, const char *text)
{
	for (;;) {
		g_autofree char *line = NULL;
		if (g_io_channel_read_line(r->err, &line, NULL, NULL, NULL) != G_IO_STATUS_NORMAL)
			return FALSE;
		g_string_append(r->said, line);
		if (strstr(line, text))
			return TRUE;
	}
}

/* Reads the rest and waits for it: its wait status; r->said all it said. */
static int lazy_restore_end(LazyRestore *r)
{
	g_autofree char *out = NULL, *rest = NULL;
	g_io_channel_read_to_end(r->out, &out, NULL, NULL);
	g_io_channel_read_to_end(r->err, &rest, NULL, NULL);
	g_string_append(r->said, rest ? rest : "");
	int status;
	g_assert_cmpint(waitpid(r->child, &status, 0), ==, r->child);
	g_spawn_close_pid(r->child);
	g_clear_pointer(&r->out, g_io_channel_unref);
	g_clear_pointer(&r->err, g_io_channel_unref);
	g_test_message("restore: %s", r->said->str);
	return status;
}

/* A snapshot of bigmem with 160 MiB (seconds of lazy pages under TCG),
 * taken once it has filled them, named tag. */
static char *checkpoint_bigmem_160(const char *tag)
{
	guint32 pid = start_workload_with("bigmem", 20, 50, "160", NULL);
	g_autoptr(GString) first = g_string_new(NULL);
	wait_for_lines(pid, 1, first);
	return checkpoint(guest->machine->name, pid, tag);
}

/* restore --lazy whose pager dies while pages still come (SIGKILLed by
 * the test once the process runs): its guard, which holds
 * the userfaultfd so that no fault meanwhile gets a zero page, kills the
 * process and says why - never a hang, never a run on wrong pages. */
static void test_lazy_pager_dies(void)
{
	require_guest();
	if (!guest)
		return;
	g_autofree char *file = checkpoint_bigmem_160("bigmem-pager-dies");
	const char *argv[] = { snapvm, "restore", "--lazy",	     "--accel", "tcg",
			       "-v",   "--name",  "lazy-pager-dies", file,	NULL };
	LazyRestore r = { 0 };
	lazy_restore_spawn(&r, argv);
	/* its stderr until the process runs (bigmem prints nothing before
	 * it has read all its pages) */
	gboolean killed = lazy_restore_until(&r, "the process runs;") &&
			  kill_when_seen("lazy-pager-dies", "snapvm-pager", 60);
	int status = lazy_restore_end(&r);
	g_autoptr(GString) said = r.said;
	if (!killed && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		g_test_skip("the pager had placed every page before it could be killed");
		return;
	}
	g_assert_true(killed);
	g_assert_true(WIFEXITED(status));
	/* killed by the guard; or, if the pager died before the blob had
	 * registered the lazy mappings, the blob's own refusal (125) */
	if (WEXITSTATUS(status) != 128 + SIGKILL)
		g_assert_cmpint(WEXITSTATUS(status), ==, 125);
	g_assert_nonnull(strstr(said->str,
				"the pager died before the last page was placed; process"));
}

/* restore --detach --lazy interrupted (SIGINT, as Ctrl-C) while it waits
 * for the last page: it stops at once, says the process cannot run
 * without the rest and goes with its VM (130) - it was deaf to the
 * signal, and a process left behind would hang on its next fault. */
static void test_lazy_detach_interrupted(void)
{
	require_guest();
	if (!guest)
		return;
	g_autofree char *file = checkpoint_bigmem_160("bigmem-detach-int");
	const char *argv[] = { snapvm, "restore", "--lazy",	     "--detach", "--accel", "tcg",
			       "-v",   "--name",  "lazy-detach-int", file,	 NULL };
	LazyRestore r = { 0 };
	lazy_restore_spawn(&r, argv);
	gboolean sent = lazy_restore_until(&r, "waiting for the last lazy page") &&
			kill(r.child, SIGINT) == 0;
	int status = lazy_restore_end(&r);
	g_autoptr(GString) said = r.said;
	g_autoptr(SvMachine) left = sv_machine_open("lazy-detach-int", NULL);
	if (left) { /* detached, or a failure below: not left behind */
		const char *stop[] = { "stop", "lazy-detach-int", NULL };
		snapvm_cmd(stop, NULL, NULL);
	}
	/* the signal comes within ms of the wait's start, 160 MiB take
	 * seconds to place under TCG: an exit 0 is the signal unread */
	g_assert_true(sent);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 130);
	g_assert_nonnull(strstr(said->str, "it cannot run without the rest, so it is killed"));
	g_assert_null(left);
}

/* Workload `workload` (steps, interval) detached in a guest of its own
 * named vm, booted with option opt=value; its pid there. */
static gint64 start_in_own_guest(const char *workload, const char *vm, const char *opt,
				 const char *value, const char *steps, const char *interval)
{
	g_autofree char *prog = sv_test_workload(workload, arch_name);
	const char *run[] = { "run", "--accel", "tcg",	  "--arch",   arch_name, opt,
			      value, "--name",	vm,	  "--detach", "--json",	 "--",
			      prog,  steps,	interval, NULL };
	g_autofree char *json = NULL;
	g_assert_cmpint(snapvm_cmd(run, &json, NULL), ==, 0);
	gint64 pid = sv_test_json_int(json, "pid");
	g_assert_cmpint(pid, >, 0);
	return pid;
}

/* Threads caught running on vCPUs: a guest of its own with 2 vCPUs, the
 * four threads computing flat out, checkpointed without --kill (nothing
 * freezes them) until a pause finds some in user mode on a vCPU - their
 * registers and FPU then come from the vCPU, the others' from memory -
 * and that snapshot restores exactly. */
static void test_threads_on_vcpus(void)
{
	require_guest();
	if (!guest)
		return;
	const long steps = 300;
	g_autofree char *name = g_strdup_printf("threads2-%s", arch_name);
	gint64 pid = start_in_own_guest("threads", name, "--vcpus", "2", "300", "0");
	g_autofree char *pid_s = g_strdup_printf("%" G_GINT64_FORMAT, pid);
	g_autofree char *file = NULL;
	gint64 on_vcpu = 0;
	/* a checkpoint takes tens of ms before its pause: the first ones may
	 * come before the workload has started its threads */
	gint64 starting_until = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	for (guint i = 0; i < 12 && on_vcpu <= 0; i++) {
		g_free(file);
		file = g_strdup_printf("%s/threads-vcpus-%u.svs", tmpdir, i);
		g_autofree char *out = NULL, *err = NULL;
		const char *ck[] = {
			"checkpoint", name, "--pid", pid_s, "-o", file, "--json", NULL
		};
		int rc = snapvm_cmd(ck, &out, &err);
		/* riscv64 refuses a thread caught changing its FP state on a
		 * vCPU (QEMU 7.2's gdbstub has no fcsr), the process left
		 * running, and says to try again: the next pause does */
		if (rc != 0 && err && strstr(err, "checkpoint it again"))
			continue;
		g_assert_cmpint(rc, ==, 0);
		if (sv_test_json_int(out, "threads") < 5 &&
		    g_get_monotonic_time() < starting_until) {
			g_usleep(300 * 1000);
			i--; /* not an attempt: wraps to G_MAXUINT, then to 0 */
			continue;
		}
		g_assert_cmpint(sv_test_json_int(out, "threads"), ==, 5);
		on_vcpu = sv_test_json_int(out, "threads_on_vcpu");
		g_test_message("checkpoint %u: %" G_GINT64_FORMAT " of 5 threads on a vCPU", i,
			       on_vcpu);
	}
	const char *stop[] = { "stop", name, NULL };
	snapvm_cmd(stop, NULL, NULL);
	if (on_vcpu <= 0) {
		g_test_incomplete("no thread was caught on a vCPU in user mode in 12 pauses");
		return;
	}
	g_autofree char *out = NULL;
	const char *restore[] = { "restore", file, NULL };
	int status = snapvm_cmd(restore, &out, NULL);
	assert_continuation(out, status, "threads", steps);
}

/* Huge pages where the process had them: hugemem's two regions, one
 * 2 MiB-aligned and one 1 MiB off, each checked at every step to have at
 * least the huge pages it had before (the run fails if not), in guests
 * large enough for the kernel to turn transparent huge pages on (it
 * leaves them off below 512 MiB of RAM, as in the shared guest). The
 * staging area agreed with one run only, so the other region came back
 * in small pages (stage-layout.c). */
static void test_hugemem(void)
{
	require_guest();
	if (!guest)
		return;
	g_autofree char *name = g_strdup_printf("hugemem-%s", arch_name);
	gint64 pid = start_in_own_guest("hugemem", name, "--memory", "768", "200", "50");
	/* its 16 MiB written (well under a second under TCG), some steps on */
	g_usleep(4 * G_USEC_PER_SEC);
	g_autofree char *file = g_strdup_printf("%s/hugemem.svs", tmpdir);
	g_autofree char *pid_s = g_strdup_printf("%" G_GINT64_FORMAT, pid);
	const char *ck[] = { "checkpoint", name, "--pid", pid_s, "-o", file, "--kill", NULL };
	int rc = snapvm_cmd(ck, NULL, NULL);
	const char *stop[] = { "stop", name, NULL };
	snapvm_cmd(stop, NULL, NULL);
	g_assert_cmpint(rc, ==, 0);
	g_autofree char *out = NULL;
	const char *restore[] = { "restore", "--memory", "768", file, NULL };
	int status = snapvm_cmd(restore, &out, NULL);
	assert_continuation(out, status, "hugemem", 200);
}

/* Refused before any guest boots. */
static void test_refusals(void)
{
	g_autofree char *err = NULL;
	g_autofree char *missing = g_build_filename(tmpdir ? tmpdir : "/nonexistent", "none.svs",
						    NULL);
	const char *a1[] = { "restore", missing, NULL };
	g_assert_cmpint(snapvm_cmd(a1, NULL, &err), ==, 125);
	g_assert_nonnull(strstr(err, "cannot open snapshot"));
	if (!fpu_snapshot) {
		g_test_skip("no snapshot from the fpu test");
		return;
	}
	/* another arch: the message names both */
	g_clear_pointer(&err, g_free);
	const char *other = strcmp(arch_name, "x86_64") ? "x86_64" : "aarch64";
	const char *a2[] = { "restore", "--arch", other, fpu_snapshot, NULL };
	g_assert_cmpint(snapvm_cmd(a2, NULL, &err), ==, 125);
	g_autofree char *expect = g_strdup_printf("is of an %s process and cannot be restored in "
						  "an %s guest",
						  arch_name, other);
	g_assert_nonnull(strstr(err, expect));
	/* a corrupt snapshot: the reader names where */
	gchar *data;
	gsize len;
	g_assert_true(g_file_get_contents(fpu_snapshot, &data, &len, NULL));
	data[len / 2] ^= 0x5a;
	data[200] ^= 0x5a;
	g_autofree char *bad = g_build_filename(tmpdir, "corrupt.svs", NULL);
	g_assert_true(g_file_set_contents(bad, data, (gssize)len, NULL));
	g_free(data);
	g_clear_pointer(&err, g_free);
	const char *a3[] = { "restore", bad, NULL };
	g_assert_cmpint(snapvm_cmd(a3, NULL, &err), ==, 125);
	g_assert_nonnull(strstr(err, "snapvm restore: "));
}

/* The fpu snapshot uses AVX; a guest CPU model without it is refused by
 * name, with what to pick instead, before any guest boots (asking QEMU
 * costs ~60 ms; a boot several seconds). */
static void test_cpu_lacks_avx(void)
{
	if (strcmp(arch_name, "x86_64")) {
		g_test_skip("AVX is x86_64's (every aarch64 CPU model restore uses has FP/SIMD)");
		return;
	}
	if (!fpu_snapshot) {
		g_test_skip("no snapshot from the fpu test");
		return;
	}
	g_autofree char *out = NULL, *err = NULL;
	const char *args[] = { "restore", "--accel", "tcg", "--cpu", "Nehalem", fpu_snapshot, NULL };
	gint64 t0 = g_get_monotonic_time();
	g_assert_cmpint(snapvm_cmd(args, &out, &err), ==, 125);
	gint64 ms = (g_get_monotonic_time() - t0) / 1000;
	g_test_message("refused in %" G_GINT64_FORMAT " ms", ms);
	g_assert_cmpint(ms, <, 2000);
	g_assert_cmpstr(out, ==, "");
	g_assert_nonnull(strstr(err, "uses AVX, which CPU model Nehalem lacks"));
	g_assert_nonnull(strstr(err,
				"e.g. Haswell-noTSX-IBRS (the default: omit --cpu) or --cpu max"));
}

/* --cpu max (libvirt's mode='maximum'; "Unknown CPU model max" as a model
 * name) restores the fpu snapshot; host is refused before boot. */
static void test_cpu_max(void)
{
	if (!fpu_snapshot) {
		g_test_skip("no snapshot from the fpu test");
		return;
	}
	g_autofree char *out = NULL, *err = NULL;
	const char *args[] = { "restore", "--accel", "tcg", "--cpu", "max", fpu_snapshot, NULL };
	int status = snapvm_cmd(args, &out, NULL);
	assert_continuation(out, status, "fpu", fpu_steps);
	const char *host[] = { "restore", "--accel", "tcg", "--cpu", "host", fpu_snapshot, NULL };
	g_assert_cmpint(snapvm_cmd(host, NULL, &err), ==, 125);
	g_assert_nonnull(
		strstr(err, "--cpu host passes the host's CPU through, which needs --accel kvm"));
}

/* The paths given with -p, taken out before GTest sees them: GLib runs
 * each -p on its own and prints a TAP plan after each, which meson's TAP
 * parser refuses (tests after a late plan); only the tests asked for are
 * added instead, so that one run prints one plan. */
static void add_func(const char *path, GTestFunc f)
{
	if (sv_test_wanted(path))
		g_test_add_func(path, f);
}

int main(int argc, char **argv)
{
	arch_name = sv_test_take_arch(&argc, argv, arch_name);
	sv_test_take_paths(&argc, argv);
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	sv_test_state_dir();
	snapvm = sv_test_build_path("host/snapvm");
	static const Case cases[] = {
		/* 60 steps where the checkpoint comes late in a 30-step run: a
		 * checkpoint under load reached a 30-step counter only after
		 * it had ended ("no guest process with pid N") */
		{ "counter", 60, 60, 500, 0 },
		{ "counter", 60, 60, 1400, 0 },
		{ "fpu", 60, 60, 800, 0 },
		{ "tls", 30, 60, 800, 0 },
		{ "sleeper", 60, 60, 800, 0 },
		{ "memory", 20, 60, 500, 0 },
		{ "memory", 40, 60, 1100, 0 },
		{ "blockread", 30, 60, 500, 0 },
		{ "blockread", 30, 60, 1000, 0 },
		{ "blockread", 60, 60, 1500, 0 },
		{ "fdenv", 30, 60, 500, 0 },
		{ "fdenv", 60, 60, 1200, 0 },
		{ "handler", 60, 60, 800, 0 },
		/* four threads: thread 0 asleep while the others compute or
		 * wait for their turn (condition variable), or all at the
		 * round's barrier; main in pthread_join */
		{ "threads", 30, 60, 500, 0 },
		{ "threads", 30, 60, 1300, 0 },
		/* all computing: caught on the way to user mode or in it */
		{ "threads", 300, 0, 900, 0 },
		/* files that exist only in memory, carried by identity; and
		 * the files it wrote and closed, its cwd among them (60 steps:
		 * a checkpoint under load may take over a second to pause) */
		{ "unlinked", 60, 60, 800, 0 },
		{ "ghost", 60, 60, 800, 0 },
		{ "memfd", 60, 60, 800, 0 },
		{ "tmpfile", 60, 60, 800, 0 },
		{ "shanon", 60, 60, 800, 0 },
		{ "fsfiles", 60, 60, 800, 0 },
		{ "sysvshm", 60, 60, 800, 0 },
		/* kernel objects (kobj.c): each kind once, mid-run */
		{ "kobj-pipes", 60, 60, 800, 0 },
		{ "kobj-fifo", 60, 60, 800, 0 },
		{ "kobj-eventfd", 60, 60, 800, 0 },
		{ "kobj-epoll", 60, 60, 800, 0 },
		{ "kobj-timerfd", 60, 60, 800, 0 },
		{ "kobj-signalfd", 60, 60, 800, 0 },
		{ "kobj-locks", 60, 60, 800, 0 },
		{ "kobj-unix", 60, 60, 800, 0 },
		{ "kobj-creds", 60, 60, 800, 0 },
		{ "kobj-inet", 60, 60, 800, 0 },
		/* counted from its first line: its set-up waits for the
		 * guest's clock to pass 8 s and then arms timer 4 7 s back; a
		 * checkpoint before that (a young source guest) restores into a
		 * guest younger still, where the kernel clamps a time-namespace
		 * time before its own boot to 0 (do_timens_ktime_to_host) */
		{ "kobj-ptimers", 60, 60, 800, 1 },
		{ "kobj-inotify", 60, 60, 800, 0 },
		{ "kobj-thtimer", 60, 60, 800, 0 },
		/* socketpairs at the lowest fds, where the restorer makes them
		 * again: an end placed over its peer's new fd broke the pair
		 * (zdtm socket_queues on aarch64) */
		{ "unixpairs", 60, 60, 800, 0 },
		/* what the process sees of the kernel (fidelity) */
		{ "vmaflags", 60, 100, 800, 0 },
		{ "procstate", 60, 100, 800, 0 },
		{ "clocks", 60, 100, 800, 0 },
		{ "manymaps", 30, 250, 1000, 2 },
		/* its own /proc/self/maps, the same after the restore as before
		 * the checkpoint but for device and inode numbers (maps.c): no
		 * restorer region left */
		{ "maps", 40, 60, 800, 0 },
		/* pages placed by the host in several slices (stage-pages.c) */
		{ "bigmem", 20, 50, 800, 1 },
	};
	/* GTest runs a suite's own tests before its subsuites, and subsuites
	 * in the order they were made: boot, then run/..., then after-fpu/ */
#define PATH(fmt, ...) g_strdup_printf("/restore/%s/" fmt, arch_name, __VA_ARGS__)
	g_autofree char *boot = PATH("%s", "boot");
	add_func(boot, test_boot);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *p = PATH("run/%s/at-%ldms", cases[i].name,
					  cases[i].checkpoint_after_ms);
		if (sv_test_wanted(p))
			g_test_add_data_func(p, &cases[i], test_workload);
	}
	/* after the other workloads: the pid of the first workload after boot
	 * may be taken in a fresh guest by a kernel thread its boot started
	 * later (aarch64 under load), and the restored process then runs
	 * under another pid (restore-pid.c) */
	g_autofree char *chained = PATH("%s", "run/chained/counter");
	add_func(chained, test_chained);
	g_autofree char *restored_sleep = PATH("%s", "run/clock/sleeper-under-load");
	add_func(restored_sleep, test_restored_sleep);
	g_autofree char *incremental = PATH("%s", "run/incremental/memory");
	add_func(incremental, test_incremental);
	g_autofree char *inc_files = PATH("%s", "run/incremental/files");
	add_func(inc_files, test_incremental_files);
	g_autofree char *soft_dirty = PATH("%s", "run/incremental/soft-dirty");
	add_func(soft_dirty, test_incremental_soft_dirty);
	g_autofree char *precopy = PATH("%s", "run/precopy/dirtier");
	add_func(precopy, test_precopy);
	g_autofree char *pool = PATH("%s", "run/pool/counter");
	add_func(pool, test_pool);
	g_autofree char *based = PATH("%s", "run/base/twice");
	add_func(based, test_base_twice);
	static const PoolCase prefault[] = {
		{ { "bigmem", 20, 50, 800, 1 }, "640", "16", NULL, FALSE },
		{ { "vmaflags", 60, 100, 800, 0 }, "640", "128", NULL, FALSE },
		{ { "counter", 20, 50, 800, 0 }, "640", "128", "standby-unused", TRUE },
	};
	for (guint i = 0; i < G_N_ELEMENTS(prefault); i++) {
		g_autofree char *p = PATH("run/pool-prefault/%s",
					  prefault[i].path ? prefault[i].path : prefault[i].c.name);
		if (sv_test_wanted(p))
			g_test_add_data_func(p, &prefault[i], test_pool_prefault);
	}
	static const LazyCase lazy[] = {
		/* bigmem without churn: the pool case below (CI time) */
		{ { "threads", 30, 60, 800, 0 }, NULL, NULL, FALSE },
		{ { "bigmem", 20, 50, 800, 1 }, "40", "churn", FALSE },
	};
	for (guint i = 0; i < G_N_ELEMENTS(lazy); i++) {
		g_autofree char *p = PATH("run/lazy/%s%s%s", lazy[i].c.name,
					  lazy[i].mode ? "-" : "",
					  lazy[i].mode ? lazy[i].mode : "");
		if (sv_test_wanted(p))
			g_test_add_data_func(p, &lazy[i], test_lazy);
	}
	g_autofree char *pager_dies = PATH("%s", "run/lazy/pager-dies");
	add_func(pager_dies, test_lazy_pager_dies);
	g_autofree char *detach_int = PATH("%s", "run/lazy/detach-interrupted");
	add_func(detach_int, test_lazy_detach_interrupted);
	static const LazyCase lazy_pool = { { "bigmem", 20, 50, 800, 1 }, NULL, NULL, TRUE };
	g_autofree char *lazy_pool_path = PATH("%s", "run/lazy-pool/bigmem");
	if (sv_test_wanted(lazy_pool_path))
		g_test_add_data_func(lazy_pool_path, &lazy_pool, test_lazy);
	g_autofree char *hugemem = PATH("%s", "run/hugemem/huge-pages-kept");
	add_func(hugemem, test_hugemem);
	g_autofree char *on_vcpus = PATH("%s", "threads/on-vcpus");
	add_func(on_vcpus, test_threads_on_vcpus);
	g_autofree char *no_fs = PATH("%s", "run/fsfiles/no-fs");
	add_func(no_fs, test_no_fs);
	g_autofree char *fifo_no_fs = PATH("%s", "run/kobj-fifo/no-fs");
	add_func(fifo_no_fs, test_fifo_no_fs);
	g_autofree char *kill_exact = PATH("%s", "kill/exact-tail-at-random-moments");
	add_func(kill_exact, test_kill_exact);
	g_autofree char *kill_fails = PATH("%s", "kill/write-fails-left-running");
	add_func(kill_fails, test_kill_write_fails);
	g_autofree char *kill_uncarried = PATH("%s", "kill/refuses-uncarried-left-running");
	add_func(kill_uncarried, test_kill_refuses_uncarried);
	g_autofree char *refusals = PATH("%s", "after-fpu/refusals");
	add_func(refusals, test_refusals);
	g_autofree char *cpu = PATH("%s", "after-fpu/cpu-lacks-avx");
	add_func(cpu, test_cpu_lacks_avx);
	g_autofree char *cpu_max = PATH("%s", "after-fpu/cpu-max");
	add_func(cpu_max, test_cpu_max);
	int rc = g_test_run();
	sv_test_guest_free(guest);
	sv_test_state_dir_cleanup();
	if (tmpdir) {
		g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
		(void)!system(cmd);
	}
	g_free(fpu_snapshot);
	g_free(snapvm);
	return rc;
}
