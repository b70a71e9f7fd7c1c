/* SPDX-License-Identifier: MIT */
/*
 * cli-vm.c - what `run` and `restore` share: the options of the VM they
 * boot and its default name, catching signals so that Ctrl-C stops the VM, streaming the guest
 * process's output until it exits, reporting a detached VM, and the end
 * that stops the VM.
 */
#include <errno.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/agent/agent-client.h"
#include "host/cli/cli.h"
#include "base/errors.h"
#include "host/util/io-util.h"
#include "host/machine/machine.h"

void sv_cli_vm_options_clear(SvCliVmOptions *o)
{
	g_free(o->arch);
	g_free(o->accel);
	g_free(o->cpu);
	g_free(o->name);
	g_free(o->image);
	g_free(o->connect);
	g_free(o->append);
}

gboolean sv_cli_vm_options_check(const SvCliVmOptions *o, const char *cmd)
{
	if (o->accel && strcmp(o->accel, "tcg") && strcmp(o->accel, "kvm") &&
	    strcmp(o->accel, "auto")) {
		fprintf(stderr, "snapvm %s: unknown --accel '%s' (tcg, kvm or auto)\n", cmd,
			o->accel);
		return FALSE;
	}
	if (o->memory_mib != SV_CLI_MEMORY_DEFAULT &&
	    (o->memory_mib < 64 || o->memory_mib > 65536)) {
		fprintf(stderr, "snapvm %s: --memory must be 64..65536 MiB\n", cmd);
		return FALSE;
	}
	return TRUE;
}

/* Signals become events on a signalfd from here on, so a Ctrl-C at any
 * point is handled by stopping the VM rather than killing snapvm; a closed
 * stdout is an EPIPE, not a death. */
int sv_cli_signal_fd(int flags)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &mask, SFD_CLOEXEC | flags);
}

int sv_cli_catch_signals(void)
{
	int sfd = sv_cli_signal_fd(0);
	sv_cli_adopt_orphans();
	return sfd;
}

/* Streams the workload's frames until it exits; returns its wait status.
 */
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
				fprintf(stderr,
					"snapvm %s: [%8.1f ms] first output from the workload\n",
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
	struct sigaction sa = { .sa_handler = reap_children,
				.sa_flags = SA_RESTART | SA_NOCLDSTOP };
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

int sv_cli_end_vm(const char *cmd, SvMachine *m, gboolean keep_vm, int rc, GError *error,
		  gboolean verbose)
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
		sv_cli_verbose(verbose, cmd, "VM stopped");
	}
	return rc;
}

int sv_cli_follow_process(const char *cmd, SvMachine *m, SvAgentClient *agent, guint32 pid,
			  const SvCliVmOptions *o)
{
	if (o->detach) {
		sv_cli_print_detached(m, pid, o->json);
		return sv_cli_end_vm(cmd, m, TRUE, 0, NULL, o->verbose);
	}
	GError *error = NULL;
	int status = 0, rc = SV_EXIT_FAILURE;
	if (sv_cli_stream_until_exit(agent, pid, o->verbose ? cmd : NULL, &status, &error)) {
		rc = sv_cli_exit_code(status);
		sv_cli_verbose(o->verbose, cmd, "process exited, status %d", rc);
	}
	return sv_cli_end_vm(cmd, m, FALSE, rc, error, o->verbose);
}

char *sv_cli_vm_name(const char *base)
{
	g_autofree char *name = g_strdup(base);
	g_strcanon(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-", '_');
	if (strlen(name) > 32)
		name[32] = '\0';
	return g_strdup_printf("%s-%04x", name[0] == '.' || name[0] == '-' ? "vm" : name,
			       g_random_int_range(0, 0x10000));
}

char *sv_cli_cpu_help(const char *lead)
{
	GString *s = g_string_new(lead);
	g_string_append(s, " Default: a portable model (");
	for (const SvArchOps *const *a = sv_arch_all(); *a; a++)
		g_string_append_printf(s, "%s%s %s", a == sv_arch_all() ? "" : ", ", (*a)->name,
				       (*a)->qemu->default_cpu);
	g_string_append(s, "). max: every feature QEMU's TCG emulates,");
	for (const SvArchOps *const *a = sv_arch_all(); *a; a++)
		if ((*a)->qemu->max_cpu_summary)
			g_string_append_printf(s, " %s: %s;", (*a)->name,
					       (*a)->qemu->max_cpu_summary);
	g_string_append(s, " its snapshots restore where their FPU/SIMD features exist. "
			   "host: not available (TCG cannot pass a CPU through; --accel kvm "
			   "presents the portable model only)");
	return g_string_free(s, FALSE);
}
