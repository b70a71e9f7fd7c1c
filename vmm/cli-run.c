/* SPDX-License-Identifier: MIT */
/*
 * cli-run.c - `snapvm run`: boot a fresh guest, start a static program in
 * it, stream its output, and exit with its status.
 *
 * The VM belongs to this command unless --detach: any error, Ctrl-C, SIGTERM
 * or SIGHUP stops it before snapvm exits, so no QEMU is left behind.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/agent-client.h"
#include "vmm/cli.h"
#include "vmm/errors.h"
#include "vmm/image.h"
#include "vmm/io-util.h"
#include "vmm/machine.h"
#include "vmm/workload.h"

/* Under TCG on a busy 2-core machine a boot takes seconds; a minute means
 * the guest is not coming up. */
#define BOOT_TIMEOUT_MS 120000

typedef struct RunOptions {
	char *arch;
	char *accel;
	char *cpu;
	char *name;
	char *image;
	char *connect;
	char *append;
	gint memory_mib;
	gint vcpus;
	gboolean detach;
	gboolean json;
	gboolean verbose;
} RunOptions;

static void run_options_clear(RunOptions *o)
{
	g_free(o->arch);
	g_free(o->accel);
	g_free(o->cpu);
	g_free(o->name);
	g_free(o->image);
	g_free(o->connect);
	g_free(o->append);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RunOptions, run_options_clear)

static char *default_name(const char *program)
{
	g_autofree char *base = g_path_get_basename(program);
	g_strcanon(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-", '_');
	if (strlen(base) > 32)
		base[32] = '\0';
	return g_strdup_printf("%s-%04x", base[0] == '.' || base[0] == '-' ? "vm" : base,
			       g_random_int_range(0, 0x10000));
}

/* Streams the workload's frames until it exits; returns its wait status.
 * Shared with `snapvm restore` (cli.h). */
gboolean sv_cli_stream_until_exit(SvAgentClient *agent, guint32 pid, const char *verbose_cmd,
				  int *ret_status, GError **error)
{
	gboolean first_output = TRUE;
	for (;;) {
		g_auto(SvAgentFrame) f = { 0 };
		if (!sv_agent_client_recv(agent, -1, &f, error))
			return FALSE;
		guint32 from, stream, n;
		const guint8 *bytes;
		if (f.type == SV_MSG_OUTPUT) {
			if (!sv_agent_frame_parse_output(&f, &from, &stream, &bytes, &n, error))
				return FALSE;
			if (from != pid)
				continue;
			if (first_output && verbose_cmd)
				fprintf(stderr, "snapvm %s: [%8.1f ms] first output from the workload\n",
					verbose_cmd, sv_cli_elapsed_ms());
			first_output = FALSE;
			/* A closed stdout (snapvm run ... | head) is not an error
			 * of the workload: keep draining so it can finish. */
			sv_write_all_fd(stream == 1 ? STDOUT_FILENO : STDERR_FILENO, bytes, n);
		} else if (f.type == SV_MSG_EXIT) {
			int status;
			if (!sv_agent_frame_parse_exit(&f, &from, &status, error))
				return FALSE;
			if (from != pid)
				continue;
			*ret_status = status;
			return TRUE;
		}
		/* Anything else (late HELLO replies) is not for us. */
	}
}

/* QEMU is started by a libvirt worker process that exits long before the VM
 * stops, so QEMU's parent would be init - and libvirt, destroying the VM,
 * waits until init reaps it, which can take seconds. As a subreaper this
 * process adopts QEMU instead and reaps it the moment it exits. */
static void reap_children(int sig)
{
	int saved = errno;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

void sv_cli_adopt_orphans(void)
{
	struct sigaction sa = { .sa_handler = reap_children, .sa_flags = SA_RESTART | SA_NOCLDSTOP };
	sigaction(SIGCHLD, &sa, NULL);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

int sv_cli_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return SV_EXIT_FAILURE;
}

void sv_cli_print_detached(const SvMachine *m, guint32 pid, gboolean json)
{
	if (json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, m->name);
		json_builder_set_member_name(b, "arch");
		json_builder_add_string_value(b, m->arch->name);
		json_builder_set_member_name(b, "pid");
		json_builder_add_int_value(b, pid);
		json_builder_end_object(b);
		sv_cli_print_json(b, FALSE);
	} else {
		printf("%s %u\n", m->name, pid);
	}
	fflush(stdout);
}

int sv_cmd_run(int argc, char **argv)
{
	g_auto(RunOptions) o = { .memory_mib = 512, .vcpus = 1 };
	GOptionEntry entries[] = {
		{ "arch", 'a', 0, G_OPTION_ARG_STRING, &o.arch,
		  "Guest architecture: x86_64 or aarch64 (default: the host's)", "ARCH" },
		{ "accel", 0, 0, G_OPTION_ARG_STRING, &o.accel,
		  "Accelerator: tcg, kvm or auto (default auto: snapvm's KVM VMM when /dev/kvm "
		  "opens and offers the portable CPU model, else tcg)",
		  "ACCEL" },
		{ "cpu", 0, 0, G_OPTION_ARG_STRING, &o.cpu,
		  "QEMU CPU model (default: a portable model, Haswell-noTSX-IBRS / cortex-a57)",
		  "MODEL" },
		{ "memory", 'm', 0, G_OPTION_ARG_INT, &o.memory_mib, "Guest RAM in MiB (default 512)",
		  "MIB" },
		{ "vcpus", 0, 0, G_OPTION_ARG_INT, &o.vcpus, "Number of vCPUs (default 1)", "N" },
		{ "name", 'n', 0, G_OPTION_ARG_STRING, &o.name,
		  "VM name (default: program name plus a random suffix)", "NAME" },
		{ "detach", 'd', 0, G_OPTION_ARG_NONE, &o.detach,
		  "Leave the VM running; print its name and the workload's guest pid", NULL },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "With --detach, print JSON", NULL },
		{ "image", 0, 0, G_OPTION_ARG_FILENAME, &o.image,
		  "Guest image directory (default: the cache's current image for the arch)", "DIR" },
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &o.connect,
		  "libvirt URI (default: libvirt's embedded driver under the state dir; another "
		  "daemon must run QEMU as a user that can read the image and state dirs, e.g. "
		  "qemu.conf user = \"root\")",
		  "URI" },
		{ "append", 0, 0, G_OPTION_ARG_STRING, &o.append, "Extra kernel command line",
		  "ARGS" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &o.verbose,
		  "Print the steps with timestamps on stderr", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("[--] PROGRAM [ARGS...]");
	g_option_context_set_summary(
		ctx, "Boots a fresh guest, copies PROGRAM (a static binary for the guest arch) into "
		     "it and runs it there.\nIts stdout and stderr stream here; its exit status "
		     "becomes snapvm's (128+N if signal N killed it).\nsnapvm's own failures exit "
		     "125, Ctrl-C 130. The VM is stopped when the program ends, unless --detach.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	/* Options end at PROGRAM: its own arguments are passed through untouched. */
	g_option_context_set_strict_posix(ctx, TRUE);
	if (!sv_cli_parse(ctx, "run", &argc, &argv))
		return SV_EXIT_USAGE;
	int first = 1;
	if (first < argc && !strcmp(argv[first], "--"))
		first++;
	if (first >= argc) {
		fprintf(stderr, "snapvm run: no PROGRAM given (snapvm run [OPTIONS] -- PROGRAM "
				"[ARGS...])\n");
		return SV_EXIT_USAGE;
	}
	if (o.memory_mib < 64 || o.memory_mib > 65536 || o.vcpus < 1 || o.vcpus > 64) {
		fprintf(stderr, "snapvm run: --memory must be 64..65536 MiB and --vcpus 1..64\n");
		return SV_EXIT_USAGE;
	}
	const char *accel = o.accel ? o.accel : "auto";
	if (strcmp(accel, "tcg") && strcmp(accel, "kvm") && strcmp(accel, "auto")) {
		fprintf(stderr, "snapvm run: unknown --accel '%s' (tcg, kvm or auto)\n", accel);
		return SV_EXIT_USAGE;
	}
	const char *program = argv[first];
	g_autoptr(GError) error = NULL;
	const SvArchOps *arch = o.arch ? sv_arch_lookup(o.arch, &error) : sv_arch_host();
	if (!arch) {
		sv_cli_error("run", error);
		return SV_EXIT_USAGE;
	}
	if (!sv_workload_check(program, arch, &error)) {
		sv_cli_error("run", error);
		return SV_EXIT_FAILURE;
	}
	g_autoptr(SvImage) image = sv_image_open(arch, o.image, &error);
	if (!image) {
		sv_cli_error("run", error);
		return SV_EXIT_FAILURE;
	}
	g_autofree char *name = o.name ? g_strdup(o.name) : default_name(program);

	/* Signals become events on a signalfd from here on, so a Ctrl-C at any
	 * point is handled by stopping the VM rather than killing snapvm. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	sv_cli_adopt_orphans();

	sv_cli_verbose(o.verbose, "run", "checked %s; image %s", program, image->dir);
	g_autofree char *guest_name = g_path_get_basename(program);
	SvMachineConfig config = {
		.arch = arch,
		.name = name,
		.accel = accel,
		.memory_mib = (guint)o.memory_mib,
		.vcpus = (guint)o.vcpus,
		.cpu_model = o.cpu,
		.image_dir = image->dir,
		.kernel = image->kernel,
		.cmdline_extra = o.append,
		.connect_uri = o.connect,
	};
	/* The initrd (image + workload) lives in the VM directory, which
	 * sv_machine_start creates; build it in the state dir first. */
	g_autoptr(SvMachine) m = NULL;
	{
		g_autofree char *tmpdir = g_dir_make_tmp("snapvm-initrd-XXXXXX", &error);
		if (!tmpdir) {
			sv_cli_error("run", error);
			return SV_EXIT_FAILURE;
		}
		g_autofree char *initrd = g_build_filename(tmpdir, "initrd.cpio", NULL);
		const char *programs[] = { program, NULL };
		if (!sv_workload_build_initrd(image->initramfs, programs, initrd, &error)) {
			g_rmdir(tmpdir);
			sv_cli_error("run", error);
			return SV_EXIT_FAILURE;
		}
		config.initrd = initrd;
		sv_cli_verbose(o.verbose, "run", "initrd with the workload written");
		m = sv_machine_start(&config, &error);
		/* QEMU has read the initrd into guest memory by the time the
		 * domain runs; the copy is not needed any more. */
		g_unlink(initrd);
		g_rmdir(tmpdir);
	}
	if (!m) {
		sv_cli_error("run", error);
		return SV_EXIT_FAILURE;
	}
	sv_cli_verbose(o.verbose, "run", "VM %s started", m->name);
	/* Let other snapvm processes (list, checkpoint) use libvirt while we
	 * only stream output over the agent socket. */
	sv_machine_release_control(m);

	int rc = SV_EXIT_FAILURE;
	gboolean keep_vm = FALSE;
	SvAgentInfo info;
	guint32 pid = 0;
	int status = 0;
	g_autofree char *guest_path = g_strdup_printf("%s/%s", SV_GUEST_WORKLOAD_DIR, guest_name);
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_autoptr(SvAgentClient) agent = sv_agent_client_connect(m->agent_socket, 10000, &error);
	if (!agent)
		goto out;
	sv_agent_client_set_interrupt_fd(agent, sfd);
	if (!sv_agent_client_hello(agent, BOOT_TIMEOUT_MS, &info, &error))
		goto out;
	sv_cli_verbose(o.verbose, "run", "agent %s up on %s %s", info.agent_version, info.machine, info.kernel_release);
	g_ptr_array_add(args, guest_path);
	for (int i = first + 1; i < argc; i++)
		g_ptr_array_add(args, argv[i]);
	g_ptr_array_add(args, NULL);
	if (!sv_agent_client_run(agent, (const char *const *)args->pdata,
				 o.detach ? SV_RUN_BUFFER_WHEN_DETACHED
					  : SV_RUN_POWEROFF_ON_HOST_LOSS,
				 &pid, &error))
		goto out;
	sv_cli_verbose(o.verbose, "run", "workload started as guest pid %u", pid);
	if (o.detach) {
		sv_cli_print_detached(m, pid, o.json);
		keep_vm = TRUE;
		rc = 0;
		goto out;
	}
	if (!sv_cli_stream_until_exit(agent, pid, o.verbose ? "run" : NULL, &status, &error))
		goto out;
	rc = sv_cli_exit_code(status);
	sv_cli_verbose(o.verbose, "run", "workload exited, status %d", rc);
out:
	rc = sv_cli_end_vm("run", m, keep_vm, rc, g_steal_pointer(&error));
	if (!keep_vm)
		sv_cli_verbose(o.verbose, "run", "VM stopped");
	return rc;
}

int sv_cli_end_vm(const char *cmd, SvMachine *m, gboolean keep_vm, int rc, GError *error)
{
	if (error && g_error_matches(error, SV_ERROR, SV_ERROR_INTERRUPTED)) {
		fprintf(stderr, "snapvm %s: interrupted; stopping VM %s\n", cmd, m->name);
		rc = SV_EXIT_INTERRUPTED;
		g_clear_error(&error);
	}
	if (error)
		sv_cli_error(cmd, error);
	g_clear_error(&error);
	if (!keep_vm) {
		g_autoptr(GError) stop_error = NULL;
		g_autofree char *kept = NULL;
		/* On failure keep the console log: it says why a guest died. */
		gboolean failed = rc == SV_EXIT_FAILURE;
		if (!sv_machine_stop(m, failed, &kept, &stop_error))
			sv_cli_error(cmd, stop_error);
		else if (kept)
			fprintf(stderr, "snapvm %s: guest console log kept at %s\n", cmd, kept);
	}
	return rc;
}
