/* SPDX-License-Identifier: MIT */
/*
 * cli-run.c - `snapvm run`: boot a fresh guest, start a program in it
 * (a static host binary; with --image NAME also a dynamic one, or a command
 * of the image's userland), stream its output, and exit with its status.
 *
 * The VM belongs to this command unless --detach: any error, Ctrl-C, SIGTERM
 * or SIGHUP stops it before snapvm exits, so no QEMU is left behind.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "base/errors.h"
#include "host/agent/agent-client.h"
#include "host/cli/cli-run-files.h"
#include "host/cli/cli.h"
#include "host/image/image.h"
#include "host/image/rootfs.h"
#include "host/image/workload.h"
#include "host/machine/machine.h"

#define DEFAULT_WORKDIR "/work"

typedef struct RunOptions {
	SvCliVmOptions vm;
	gint vcpus;
	char **copy_in;
	char **copy_out;
	char **env;
	char *workdir;
	char *pid_file;
} RunOptions;

static void run_options_clear(RunOptions *o)
{
	sv_cli_vm_options_clear(&o->vm);
	g_strfreev(o->copy_in);
	g_strfreev(o->copy_out);
	g_strfreev(o->env);
	g_free(o->workdir);
	g_free(o->pid_file);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RunOptions, run_options_clear)

/* The image decides the arch unless --arch names one; then they agree. */
static gboolean check_rootfs_arch(const SvRootfs *r, const char *asked, const SvArchOps **arch,
				  GError **error)
{
	if (asked && strcmp(asked, r->arch) != 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "image '%s' is an %s image, not %s: run it with --arch %s, or build "
			    "one for %s with snapvm image build --arch %s --packages %s",
			    r->name, r->arch, asked, r->arch, asked, asked,
			    r->requested[0] ? r->requested[0] : "...");
		return FALSE;
	}
	*arch = sv_arch_lookup(r->arch, error);
	return *arch != NULL;
}

/* The program's environment: a login-like default (with an image) or the
 * agent's, then --env K=V, each replacing a K already there. */
static char **build_env(gboolean image, char **sets, GError **error)
{
	static const char *const image_env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
		"TERM=dumb", "LANG=C.UTF-8", NULL
	};
	static const char *const minimal_env[] = { "PATH=/bin:/workload", "HOME=/", "TERM=dumb",
						   NULL };
	g_auto(GStrv) env = g_strdupv((char **)(image ? image_env : minimal_env));
	for (char **s = sets; s && *s; s++) {
		const char *eq = strchr(*s, '=');
		if (!eq || eq == *s) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "--env %s: give K=V", *s);
			return NULL;
		}
		g_autofree char *key = g_strndup(*s, eq - *s);
		env = g_environ_setenv(env, key, eq + 1, TRUE);
	}
	return g_steal_pointer(&env);
}

/* The agent says only "No such file or directory" or "Exec format error":
 * say which file, in which image, and what to do. */
static void explain_start_failure(GError **error, const char *program, gboolean host_program,
				  const SvRootfs *r, const char *const *envp)
{
	const char *msg = (*error)->message;
	if (!g_error_matches(*error, SV_ERROR, SV_ERROR_AGENT))
		return;
	gboolean missing = g_str_has_suffix(msg, g_strerror(ENOENT));
	gboolean no_loader = g_str_has_suffix(msg, g_strerror(ENOEXEC));
	g_autofree char *pk = g_strjoinv(",", r->requested);
	g_autofree char *interp = host_program ? sv_workload_interpreter(program) : NULL;
	char *better = NULL;
	if (host_program && missing && interp)
		better = g_strdup_printf(
			"%s is dynamically linked and its loader %s is not in image '%s' "
			"(packages %s): add the libraries it needs (libc6, ...) to the image",
			program, interp, r->name, pk);
	else if (!host_program && missing)
		better = g_strdup_printf("%s is not in image '%s' (packages %s; PATH=%s): add the "
					 "package that has it, or give a host file as ./PROGRAM",
					 program, r->name, pk,
					 g_environ_getenv((char **)envp, "PATH"));
	else if (!host_program && no_loader)
		better = g_strdup_printf("%s is in image '%s' but cannot start: its dynamic loader "
					 "is missing from the image",
					 program, r->name);
	if (better) {
		g_clear_error(error);
		g_set_error_literal(error, SV_ERROR, SV_ERROR_NOT_FOUND, better);
		g_free(better);
	}
}

int sv_cmd_run(int argc, char **argv)
{
	g_auto(RunOptions) o = { .vm = SV_CLI_VM_OPTIONS_INIT, .vcpus = 1 };
	g_autofree char *cpu_help = sv_cli_cpu_help("QEMU CPU model (--accel tcg), e.g. max.");
	GOptionEntry entries[] = {
		{ "arch", 'a', 0, G_OPTION_ARG_STRING, &o.vm.arch,
		  "Guest architecture: x86_64, aarch64, riscv64 or ppc64le (default: the host's)",
		  "ARCH" },
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
		  "A root filesystem image built by snapvm image build (a name: the guest gets "
		  "its Debian userland; see snapvm image list), or a base guest image directory "
		  "(a path with '/'; default: the cache's current image for the arch)",
		  "NAME|DIR" },
		{ "copy-in", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.copy_in,
		  "Put a host file or directory into the working directory first (GUEST: "
		  "another name, relative to it or absolute under /work); repeatable",
		  "HOST[:GUEST]" },
		{ "copy-out", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.copy_out,
		  "After the program exits, write guest file GUEST (relative to the working "
		  "directory) to HOST; repeatable",
		  "GUEST:HOST" },
		{ "workdir", 'w', 0, G_OPTION_ARG_FILENAME, &o.workdir,
		  "The program's working directory (default /work with --image or --copy-in, "
		  "else /)",
		  "DIR" },
		{ "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &o.env,
		  "Set an environment variable for the program; repeatable", "K=V" },
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
		"it and runs it there.\nWith --image NAME the guest has that image's Debian "
		"userland: PROGRAM may be dynamically linked,\nand a PROGRAM that is not a host "
		"path (no '/', or no such host file) is a command looked up in the\nguest's "
		"PATH. Its stdout and stderr stream here; its exit status becomes snapvm's "
		"(128+N if\nsignal N killed it). snapvm's own failures exit 125, Ctrl-C 130. "
		"The VM is stopped when the program\nends, unless --detach.");
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
	g_autoptr(SvRootfs) rootfs = NULL;
	if (o.vm.image && !strchr(o.vm.image, '/')) {
		rootfs = sv_rootfs_open(o.vm.image, &error);
		if (!rootfs || !check_rootfs_arch(rootfs, o.vm.arch, &arch, &error)) {
			sv_cli_error("run", error);
			return SV_EXIT_FAILURE;
		}
	}
	/* a host file, packed into /workload; otherwise a command of the image */
	gboolean host_program = !rootfs ||
				(strchr(program, '/') && g_file_test(program, G_FILE_TEST_EXISTS));
	if (host_program &&
	    !sv_workload_check_with_libraries(program, arch, rootfs != NULL, &error)) {
		sv_cli_error("run", error);
		return SV_EXIT_FAILURE;
	}
	const char *workdir = o.workdir ? o.workdir : rootfs || o.copy_in ? DEFAULT_WORKDIR : NULL;
	g_auto(SvRunFiles) files = { 0 };
	if (!sv_run_files_copy_in(&files, o.copy_in, workdir ? workdir : "/", &error) ||
	    !sv_run_files_check_copy_out(o.copy_out, &error)) {
		sv_cli_error("run", error);
		return SV_EXIT_USAGE;
	}
	if (o.copy_out && o.vm.detach) {
		fprintf(stderr,
			"snapvm run: --copy-out needs the program's end: not with --detach\n");
		return SV_EXIT_USAGE;
	}
	g_auto(GStrv) envp = NULL;
	if (rootfs || o.env || workdir) {
		envp = build_env(rootfs != NULL, o.env, &error);
		if (!envp) {
			sv_cli_error("run", error);
			return SV_EXIT_USAGE;
		}
	}
	g_autoptr(SvImage) image = sv_image_open(arch, rootfs ? NULL : o.vm.image, &error);
	if (!image || (rootfs && !sv_rootfs_check_kernel(rootfs, image->kernel_release, &error))) {
		sv_cli_error("run", error);
		return SV_EXIT_FAILURE;
	}
	g_autofree char *guest_name = g_path_get_basename(program);
	g_autofree char *name = o.vm.name ? g_strdup(o.vm.name) : sv_cli_vm_name(guest_name);

	int sfd = sv_cli_catch_signals();

	sv_cli_verbose(o.vm.verbose, "run", "checked %s; image %s%s%s", program, image->dir,
		       rootfs ? " with root filesystem " : "", rootfs ? rootfs->dir : "");
	/* the agent switches into the disk's root when the command line says so */
	g_autofree char *cmdline = rootfs ? g_strjoin(" ", SV_ROOTFS_CMDLINE, o.vm.append, NULL)
					  : g_strdup(o.vm.append);
	SvMachineConfig config = {
		.arch = arch,
		.name = name,
		.accel = accel,
		.memory_mib = o.vm.memory_mib > 0 ? (guint)o.vm.memory_mib : 512,
		.vcpus = (guint)o.vcpus,
		.cpu_model = o.vm.cpu,
		.image_dir = image->dir,
		.kernel = image->kernel,
		.cmdline_extra = cmdline,
		.disk = rootfs ? rootfs->disk : NULL,
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
	const char *programs[] = { host_program ? program : NULL, NULL };
	const char *archives[] = { image->initramfs, rootfs ? rootfs->modules_cpio : NULL, NULL };
	if (!sv_workload_build_initrd_layers(archives, programs,
					     (const SvInitrdExtra *)files.extras->data,
					     files.extras->len, initrd, &error)) {
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
	g_autofree char *guest_path = host_program ? g_strdup_printf("%s/%s", SV_GUEST_WORKLOAD_DIR,
								     guest_name)
						   : g_strdup(program);
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_ptr_array_add(args, guest_path);
	for (int i = first + 1; i < argc; i++)
		g_ptr_array_add(args, argv[i]);
	g_ptr_array_add(args, NULL);
	guint32 pid = 0;
	if (!sv_agent_client_run_in(g.agent, (const char *const *)args->pdata,
				    (const char *const *)envp, workdir,
				    o.vm.detach ? SV_RUN_BUFFER_WHEN_DETACHED
						: SV_RUN_POWEROFF_ON_HOST_LOSS,
				    &pid, &error)) {
		if (rootfs)
			explain_start_failure(&error, program, host_program, rootfs,
					      (const char *const *)envp);
		return sv_cli_end_vm("run", g.machine, FALSE, SV_EXIT_FAILURE,
				     g_steal_pointer(&error), o.vm.verbose);
	}
	sv_cli_verbose(o.vm.verbose, "run", "workload started as guest pid %u", pid);
	if (o.pid_file) {
		g_autofree char *text = g_strdup_printf("%u\n", pid);
		if (!g_file_set_contents(o.pid_file, text, -1, &error))
			return sv_cli_end_vm("run", g.machine, FALSE, SV_EXIT_FAILURE,
					     g_steal_pointer(&error), o.vm.verbose);
	}
	if (!o.copy_out)
		return sv_cli_follow_process("run", g.machine, g.agent, pid, &o.vm);
	int status = 0;
	rc = SV_EXIT_FAILURE;
	if (sv_cli_stream_until_exit(g.agent, pid, o.vm.verbose ? "run" : NULL, &status, &error) &&
	    sv_run_files_copy_out(g.agent, o.copy_out, workdir ? workdir : "/", &error))
		rc = sv_cli_exit_code(status);
	return sv_cli_end_vm("run", g.machine, FALSE, rc, g_steal_pointer(&error), o.vm.verbose);
}
