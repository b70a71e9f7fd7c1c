/* SPDX-License-Identifier: MIT */
#include "tests/integration/guest-fixture.h"

#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test-paths.h"
#include "base/errors.h"
#include "host/image/image.h"
#include "host/image/workload.h"
#include "host/util/state-paths.h"

static char *state_dir;

/* A failed assertion aborts the test program before it can stop its VMs;
 * this kills every QEMU started for this state dir, so a failing test
 * leaves nothing running either. */
static void kill_our_qemus(void)
{
	if (!state_dir)
		return;
	GDir *d = g_dir_open("/proc", 0, NULL);
	const char *e;
	while (d && (e = g_dir_read_name(d))) {
		char path[64], cmd[8192];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n; i++)
			cmd[i] = cmd[i] ? cmd[i] : ' ';
		cmd[n] = '\0';
		if (strstr(cmd, "qemu-system") && strstr(cmd, state_dir))
			kill((pid_t)atoi(e), SIGKILL);
	}
	if (d)
		g_dir_close(d);
}

static void remove_state_dir(void)
{
	/* RAM files of killed QEMUs stay in the tmpfs dir libvirt-worker.c chose */
	g_autofree char *cmd = g_strdup_printf(
		"d=$(readlink '%s/libvirt/ram-dir') && case \"$d\" in /dev/shm/snapvm-*) rm -rf \"$d\";; esac; "
		"rm -rf '%s'",
		state_dir, state_dir);
	if (system(cmd) != 0)
		g_printerr("# could not remove %s\n", state_dir);
}

/* g_assert fails with SIGABRT, g_error with SIGTRAP, and meson's timeout
 * (or a person) ends a test with SIGTERM or SIGINT: each way the guests go
 * first - a QEMU left behind would run on with nobody to stop it */
static void on_abort(int sig)
{
	kill_our_qemus();
	remove_state_dir();
	signal(sig, SIG_DFL);
	raise(sig);
}

const char *sv_test_state_dir(void)
{
	if (!state_dir) {
		state_dir = g_dir_make_tmp("snapvm-test-XXXXXX", NULL);
		g_assert_nonnull(state_dir);
		g_setenv("SNAPVM_STATE_DIR", state_dir, TRUE);
		signal(SIGABRT, on_abort);
		signal(SIGTRAP, on_abort);
		signal(SIGTERM, on_abort);
		signal(SIGINT, on_abort);
	}
	return state_dir;
}

void sv_test_state_dir_cleanup(void)
{
	if (!state_dir)
		return;
	g_autoptr(GPtrArray) names = sv_machine_list_names(NULL);
	for (guint i = 0; names && i < names->len; i++) {
		g_autoptr(SvMachine) m = sv_machine_open(names->pdata[i], NULL);
		if (m)
			sv_machine_stop(m, FALSE, NULL, NULL);
	}
	kill_our_qemus();
	remove_state_dir();
	g_clear_pointer(&state_dir, g_free);
}

SvTestGuest *sv_test_guest_boot(const char *arch_name, const char *const *workloads, GError **error)
{
	sv_test_state_dir();
	const SvArchOps *arch = sv_arch_lookup(arch_name, error);
	if (!arch)
		return NULL;
	g_autoptr(SvImage) image = sv_image_open(arch, NULL, error);
	if (!image)
		return NULL;
	g_autoptr(GPtrArray) programs = g_ptr_array_new_with_free_func(g_free);
	for (const char *const *w = workloads; w && *w; w++)
		g_ptr_array_add(programs, sv_test_workload(*w, arch->name));
	g_ptr_array_add(programs, NULL);
	g_autofree char *initrd = g_build_filename(sv_test_state_dir(), "test-initrd.cpio", NULL);
	if (!sv_workload_build_initrd(image->initramfs, (const char *const *)programs->pdata,
				      initrd, error))
		return NULL;
	static guint serial;
	g_autofree char *name = g_strdup_printf("test-%s-%u", arch->name, serial++);
	SvMachineConfig config = {
		.arch = arch,
		.name = name,
		.accel = "tcg",
		.memory_mib = 512,
		.vcpus = 1,
		.image_dir = image->dir,
		.kernel = image->kernel,
		.initrd = initrd,
	};
	g_autofree SvTestGuest *g = g_new0(SvTestGuest, 1);
	g->arch = arch;
	gint64 t0 = g_get_monotonic_time();
	g->machine = sv_machine_start(&config, error);
	if (!g->machine)
		return NULL;
	sv_machine_release_control(g->machine);
	g->agent = sv_agent_client_connect(g->machine->agent_socket, 10000, error);
	if (!g->agent || !sv_agent_client_hello(g->agent, 180000, &g->info, error)) {
		g_autofree char *log = NULL;
		g_file_get_contents(g->machine->console_log, &log, NULL, NULL);
		g_printerr("# guest console:\n%s\n", log ? log : "(none)");
		sv_test_guest_free(g_steal_pointer(&g));
		return NULL;
	}
	g->boot_ms = (g_get_monotonic_time() - t0) / 1000.0;
	return g_steal_pointer(&g);
}

void sv_test_guest_free(SvTestGuest *g)
{
	if (!g)
		return;
	g_clear_pointer(&g->agent, sv_agent_client_free);
	if (g->machine) {
		sv_machine_stop(g->machine, FALSE, NULL, NULL);
		sv_machine_free(g->machine);
	}
	g_free(g);
}

char *sv_test_guest_run(SvTestGuest *g, const char *const *argv, int *ret_wait_status,
			GError **error)
{
	guint32 pid;
	if (!sv_agent_client_run(g->agent, argv, 0, &pid, error))
		return NULL;
	return sv_test_guest_collect(g, pid, ret_wait_status, error);
}

char *sv_test_guest_collect(SvTestGuest *g, guint32 pid, int *ret_wait_status, GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL);
	for (;;) {
		g_auto(SvAgentFrame) f = { 0 };
		if (!sv_agent_client_recv(g->agent, 300000, &f, error))
			return NULL;
		guint32 from, stream, n;
		const guint8 *bytes;
		int status;
		if (f.type == SV_MSG_OUTPUT) {
			if (!sv_agent_frame_parse_output(&f, &from, &stream, &bytes, &n, error))
				return NULL;
			if (from == pid && stream == 1)
				g_string_append_len(out, (const char *)bytes, n);
			else if (from == pid)
				g_printerr("# guest stderr: %.*s", (int)n, bytes);
		} else if (f.type == SV_MSG_EXIT) {
			if (!sv_agent_frame_parse_exit(&f, &from, &status, error))
				return NULL;
			if (from == pid) {
				*ret_wait_status = status;
				return g_string_free(g_steal_pointer(&out), FALSE);
			}
		}
	}
}

GArray *sv_test_host_load_start(guint n)
{
	GArray *pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
	pid_t parent = getpid();
	for (guint i = 0; i < n; i++) {
		pid_t pid = fork();
		g_assert_cmpint(pid, >=, 0);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent) /* it died before the prctl */
				_exit(0);
			for (volatile guint64 spin = 0;; spin++)
				;
		}
		g_array_append_val(pids, pid);
	}
	return pids;
}

void sv_test_host_load_stop(GArray *pids)
{
	for (guint i = 0; i < pids->len; i++) {
		pid_t pid = g_array_index(pids, pid_t, i);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	g_array_unref(pids);
}

char *sv_test_host_output(const char *const *argv)
{
	char *out = NULL;
	gint status = 0;
	g_autoptr(GError) error = NULL;
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
				   NULL, &status, &error));
	g_assert_no_error(error);
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	return out;
}

/* Takes "NAME VALUE" out of argv; returns VALUE, or NULL without one. */
static const char *take_option(int *argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < *argc; i++) {
		if (!strcmp(argv[i], name)) {
			const char *value = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], (*argc - i - 1) * sizeof(char *));
			*argc -= 2;
			return value;
		}
	}
	return NULL;
}

const char *sv_test_take_arch(int *argc, char **argv, const char *fallback)
{
	const char *kernel = take_option(argc, argv, "--kernel");
	if (kernel && !g_getenv("SNAPVM_IMAGE_DIR")) {
		g_autofree char *cache = sv_cache_dir();
		g_autofree char *name = g_strdup_printf("images-%s", kernel);
		g_autofree char *dir = g_build_filename(cache, name, NULL);
		g_setenv("SNAPVM_IMAGE_DIR", dir, TRUE);
	}
	const char *arch = take_option(argc, argv, "--arch");
	return arch ? arch : fallback;
}

void sv_test_cmd_clear(SvTestCmd *r)
{
	g_free(r->out);
	g_free(r->err);
}

SvTestCmd sv_test_snapvm(const char *const *args)
{
	return sv_test_snapvm_env(args, NULL);
}

SvTestCmd sv_test_snapvm_env(const char *const *args, char **envp)
{
	g_autofree char *exe = sv_test_build_path("host/snapvm");
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, exe);
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (gpointer)*a);
	g_ptr_array_add(argv, NULL);
	SvTestCmd r = { 0 };
	g_autoptr(GError) error = NULL;
	gint wait_status;
	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
				   &r.out, &r.err, &wait_status, &error));
	g_assert_no_error(error);
	r.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
	return r;
}

static GPtrArray *only_paths;

void sv_test_take_paths(int *argc, char **argv)
{
	only_paths = g_ptr_array_new();
	int kept = 1;
	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < *argc)
			g_ptr_array_add(only_paths, argv[++i]);
		else
			argv[kept++] = argv[i];
	}
	argv[kept] = NULL;
	*argc = kept;
}

/* Whether path is one asked for or under one (as -p matches). */
gboolean sv_test_wanted(const char *path)
{
	if (!only_paths || !only_paths->len)
		return TRUE;
	for (guint i = 0; i < only_paths->len; i++) {
		const char *p = only_paths->pdata[i];
		gsize n = strlen(p);
		if (!strncmp(path, p, n) && (path[n] == 0 || path[n] == '/'))
			return TRUE;
	}
	return FALSE;
}

static gint64 json_find_int(JsonNode *node, const char *key)
{
	if (JSON_NODE_HOLDS_OBJECT(node)) {
		JsonObject *o = json_node_get_object(node);
		JsonNode *m = json_object_get_member(o, key);
		if (m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_INT64)
			return json_node_get_int(m);
		/* times (pause_ms, ...) are fractional: their whole part */
		if (m && JSON_NODE_HOLDS_VALUE(m) && json_node_get_value_type(m) == G_TYPE_DOUBLE)
			return (gint64)json_node_get_double(m);
		g_autoptr(GList) members = json_object_get_values(o);
		for (GList *l = members; l; l = l->next) {
			gint64 v = json_find_int(l->data, key);
			if (v >= 0)
				return v;
		}
	} else if (JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *a = json_node_get_array(node);
		for (guint i = 0; i < json_array_get_length(a); i++) {
			gint64 v = json_find_int(json_array_get_element(a, i), key);
			if (v >= 0)
				return v;
		}
	}
	return -1;
}

gint64 sv_test_json_int(const char *json, const char *key)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	if (!json || !json_parser_load_from_data(parser, json, -1, NULL))
		return -1;
	return json_find_int(json_parser_get_root(parser), key);
}
