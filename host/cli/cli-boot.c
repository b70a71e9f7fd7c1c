/* SPDX-License-Identifier: MIT */
/*
 * cli-boot.c - the boot sequence `run` and `restore` share (cli.h): start
 * the machine on the initrd the command built, map its RAM if asked, let
 * other snapvm processes at it, and wait for the agent to answer.
 */
#include <glib/gstdio.h>

#include "host/agent/agent-client.h"
#include "host/cli/cli.h"
#include "host/machine/machine.h"

/* The agent's socket appears when the machine does; this only covers a
 * backend that creates it a moment later. */
#define AGENT_CONNECT_TIMEOUT_MS 10000

void sv_cli_guest_clear(SvCliGuest *g)
{
	g_clear_pointer(&g->agent, sv_agent_client_free);
	g_clear_pointer(&g->ram, sv_guest_mem_free);
	g_clear_pointer(&g->machine, sv_machine_free);
}

int sv_cli_boot(const char *cmd, const SvMachineConfig *config, const char *initrd_dir,
		gboolean map_ram, int interrupt_fd, gboolean verbose, SvCliGuest *ret)
{
	*ret = (SvCliGuest){ 0 };
	g_autoptr(GError) error = NULL;
	ret->machine = sv_machine_start(config, &error);
	/* The machine has read the initrd into guest memory by the time it
	 * runs; the copy is not needed any more. */
	g_unlink(config->initrd);
	g_rmdir(initrd_dir);
	if (!ret->machine) {
		sv_cli_error(cmd, error);
		return SV_EXIT_FAILURE;
	}
	SvMachine *m = ret->machine;
	sv_cli_verbose(verbose, cmd, "VM %s started", m->name);
	/* Guest RAM is mapped while this process still holds the machine's
	 * control connection. */
	if (map_ram && !(ret->ram = sv_machine_map_ram(m, &error)))
		goto fail;
	/* Let other snapvm processes (list, checkpoint) use the machine while
	 * we only talk to the agent. */
	sv_machine_release_control(m);
	ret->agent = sv_agent_client_connect(m->agent_socket, AGENT_CONNECT_TIMEOUT_MS, &error);
	if (!ret->agent)
		goto fail;
	sv_agent_client_set_interrupt_fd(ret->agent, interrupt_fd);
	if (!sv_agent_client_hello(ret->agent, SV_CLI_BOOT_TIMEOUT_MS, &ret->agent_info, &error))
		goto fail;
	/* the kvm backend's VMM notes which transport each agent port got
	 * (host/kvm/agent-ring.c); the agent answers only after both */
	static const char *const notes[] = { "agent-channel", "agent-control-channel" };
	for (guint i = 0; i < G_N_ELEMENTS(notes) && verbose; i++) {
		g_autofree char *path = g_build_filename(m->vm_dir, notes[i], NULL);
		g_autofree char *text = NULL;
		if (g_file_get_contents(path, &text, NULL, NULL))
			sv_cli_verbose(verbose, cmd, "%s", g_strchomp(text));
	}
	return 0;
fail:
	return sv_cli_end_vm(cmd, m, FALSE, SV_EXIT_FAILURE, g_steal_pointer(&error), verbose);
}
