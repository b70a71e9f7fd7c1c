/* SPDX-License-Identifier: MIT */
/*
 * cli-run.c - `snapvm run`: boot a fresh guest, start a static program in
 * it, stream its output, and exit with its status.
 *
 * The VM belongs to this command unless --detach: any error, Ctrl-C, SIGTERM
 * or SIGHUP stops it before snapvm exits, so no QEMU is left behind.
 */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "host/agent/agent-client.h"
#include "host/cli/cli.h"
#include "host/image/image.h"
#include "host/image/workload.h"
#include "host/machine/machine.h"

typedef struct RunOptions {
	SvCliVmOptions vm;
	gint vcpus;
	char *pid_file;
} RunOptions;

static void run_options_clear(RunOptions *o)
{
	sv_cli_vm_options_clear(&o->vm);
	g_free(o->pid_file);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RunOptions, run_options_clear)

int sv_cmd_run(int argc, char **argv)
{
	g_auto(RunOptions) o = { .vm = SV_CLI_VM_OPTIONS_INIT, .vcpus = 1 };
	g_autofree char *cpu_help = sv_cli_cpu_help("QEMU CPU model (--accel tcg), e.g. max.");
	GOptionEntry entries[] = {
		{ "arch", 'a', 0, G_OPTION_ARG_STRING, &o.vm.arch,
		  "Guest architecture: x86_64 or aarch64 (default: the host's)", "ARCH" },
		{ "accel", 0, 0, G_OPTION_ARG_STRING, &o.vm.accel,
		  "Accelerator: tcg, kvm or auto (default auto: snapvm's KVM VMM when /dev/kvm "
		  "opens and offers the portable CPU model, else tcg)",
		  "ACCEL" },
		{ "cpu", 0, 0, G_OPTION_ARG_STRING, &o.vm.cpu, cpu_help, "MODEL" },
		{ "memory", 'm', 0, G_OPTION_ARG_INT, &o.vm.memory_mib,
		  "Guest RAM in MiB (default 512)", "MIB" },
		{ "vcpus", 0, 0, G_OPTION_ARG_INT, &o.vcpus, "Number of vCPUs (default 1)", "N" },
		{ "name", 'n', 0, G_OPTION_ARG_STRING, &o.vm.name,
		  "VM name (default: program name plus a random suffix)", "NAME" },
		{ "detach", 'd', 0, G_OPTION_ARG_NONE, &o.vm.detach,
		  "Leave the VM running; print its name and the workload's guest pid", NULL },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o.vm.json, "With --detach, print JSON", NULL },
		{ "image", 0, 0, G_OPTION_ARG_FILENAME, &o.vm.image,
		  "Guest image directory (default: the cache's current image for the arch)",
		  "DIR" },
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &o.vm.connect,
		  "libvirt URI (default: libvirt's embedded driver under the state dir; another "
		  "daemon must run QEMU as a user that can read the image and state dirs, e.g. "
		  "qemu.conf user = \"root\")",
		  "URI" },
		{ "append", 0, 0, G_OPTION_ARG_STRING, &o.vm.append, "Extra kernel command line",
		  "ARGS" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &o.vm.verbose,
		  "Print the steps with timestamps on stderr", NULL },
		{ "pid-file", 0, 0, G_OPTION_ARG_FILENAME, &o.pid_file,
		  "Once the program runs, write its guest pid to FILE (atomically): for scripts "
		  "that checkpoint it while its output streams here (snapvm lab does)",
		  "FILE" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("[--] PROGRAM [ARGS...]");
	g_option_context_set_summary(
		ctx,
		"Boots a fresh guest, copies PROGRAM (a static binary for the guest arch) into "
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
	if (!sv_cli_vm_options_check(&o.vm, "run"))
		return SV_EXIT_USAGE;
	if (o.vcpus < 1 || o.vcpus > 64) {
		fprintf(stderr, "snapvm run: --vcpus must be 1..64\n");
		return SV_EXIT_USAGE;
	}
	const char *accel = o.vm.accel ? o.vm.accel : "auto";
	const char *program = argv[first];
	g_autoptr(GError) error = NULL;
	const SvArchOps *arch = o.vm.arch ? sv_arch_lookup(o.vm.arch, &error) : sv_arch_host();
	if (!arch) {
		sv_cli_error("run", error);
		return SV_EXIT_USAGE;
	}
	if (!sv_workload_check(program, arch, &error)) {
		sv_cli_error("run", error);
		return SV_EXIT_FAILURE;
	}
	g_autoptr(SvImage) image = sv_image_open(arch, o.vm.image, &error);
	if (!image) {
		sv_cli_error("run", error);
		return SV_EXIT_FAILURE;
	}
	g_autofree char *guest_name = g_path_get_basename(program);
	g_autofree char *name = o.vm.name ? g_strdup(o.vm.name) : sv_cli_vm_name(guest_name);

	int sfd = sv_cli_catch_signals();

	sv_cli_verbose(o.vm.verbose, "run", "checked %s; image %s", program, image->dir);
	SvMachineConfig config = {
		.arch = arch,
		.name = name,
		.accel = accel,
		.memory_mib = o.vm.memory_mib > 0 ? (guint)o.vm.memory_mib : 512,
		.vcpus = (guint)o.vcpus,
		.cpu_model = o.vm.cpu,
		.image_dir = image->dir,
		.kernel = image->kernel,
		.cmdline_extra = o.vm.append,
		.connect_uri = o.vm.connect,
	};
	/* The initrd (image + workload) is built in a temporary dir, read by
	 * the machine as it starts, and removed then. */
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
	sv_cli_verbose(o.vm.verbose, "run", "initrd with the workload written");
	g_auto(SvCliGuest) g = { 0 };
	int rc = sv_cli_boot("run", &config, tmpdir, FALSE, sfd, o.vm.verbose, &g);
	if (rc)
		return rc;
	sv_cli_verbose(o.vm.verbose, "run", "agent %s up on %s %s", g.agent_info.agent_version,
		       g.agent_info.machine, g.agent_info.kernel_release);
	g_autofree char *guest_path = g_strdup_printf("%s/%s", SV_GUEST_WORKLOAD_DIR, guest_name);
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_ptr_array_add(args, guest_path);
	for (int i = first + 1; i < argc; i++)
		g_ptr_array_add(args, argv[i]);
	g_ptr_array_add(args, NULL);
	guint32 pid = 0;
	if (!sv_agent_client_run(g.agent, (const char *const *)args->pdata,
				 o.vm.detach ? SV_RUN_BUFFER_WHEN_DETACHED
					     : SV_RUN_POWEROFF_ON_HOST_LOSS,
				 &pid, &error))
		return sv_cli_end_vm("run", g.machine, FALSE, SV_EXIT_FAILURE,
				     g_steal_pointer(&error), o.vm.verbose);
	sv_cli_verbose(o.vm.verbose, "run", "workload started as guest pid %u", pid);
	if (o.pid_file) {
		g_autofree char *text = g_strdup_printf("%u\n", pid);
		if (!g_file_set_contents(o.pid_file, text, -1, &error))
			return sv_cli_end_vm("run", g.machine, FALSE, SV_EXIT_FAILURE,
					     g_steal_pointer(&error), o.vm.verbose);
	}
	return sv_cli_follow_process("run", g.machine, g.agent, pid, &o.vm);
}
