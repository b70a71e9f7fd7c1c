/* SPDX-License-Identifier: MIT */
/*
 * cli-ps.c - `snapvm ps VM [--source introspect|agent] [--json]`: the guest's
 * processes, read from guest memory alone (the VM paused for the moment of
 * reading) or, for cross-checking, as the agent's /proc shows them.
 */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "host/agent/agent-client.h"
#include "host/cli/cli.h"
#include "base/errors.h"
#include "host/introspect/introspect.h"
#include "host/machine/machine.h"
#include "host/util/text-escape.h"

static GArray *ps_introspect(SvMachine *m, double *ret_pause_ms, GError **error)
{
	SvMachineState st;
	if (!sv_machine_check_introspectable(m, &st, error))
		return NULL;
	/* The kernel profile (BTF, kallsyms) and the constants it reads from
	 * RAM do not change once the guest has booted: found before the pause,
	 * as a checkpoint does. Under nested KVM loading them took 6.8 s, all
	 * of it with the VM paused. */
	g_autoptr(SvGuestMem) mem = sv_machine_map_ram(m, error);
	if (!mem)
		return NULL;
	g_autoptr(SvIntrospect) in = sv_introspect_new(m->arch, m->image_dir, mem, error);
	if (!in)
		return NULL;
	gint64 t0 = g_get_monotonic_time();
	if (st == SV_MACHINE_RUNNING && !sv_machine_pause(m, error))
		return NULL;
	g_autoptr(GError) local = NULL;
	GArray *procs = sv_introspect_processes(in, &local);
	/* resume whatever happened: a ps must not leave the VM stopped */
	if (st == SV_MACHINE_RUNNING) {
		g_autoptr(GError) resume_error = NULL;
		if (!sv_machine_resume(m, &resume_error) && !local)
			local = g_steal_pointer(&resume_error);
	}
	*ret_pause_ms = (g_get_monotonic_time() - t0) / 1000.0;
	if (local) {
		g_clear_pointer(&procs, g_array_unref);
		g_propagate_error(error, g_steal_pointer(&local));
	}
	return procs;
}

/* Over the agent's control port, which `snapvm run` streaming output on
 * the main port leaves free; over the main port for a machine without one
 * (a backend that has no second port yet, or a VM started before it existed). */
static GArray *ps_agent(SvMachine *m, GError **error)
{
	const char *sock = g_file_test(m->agent_control_socket, G_FILE_TEST_EXISTS)
				   ? m->agent_control_socket
				   : m->agent_socket;
	g_autoptr(SvAgentClient) agent = sv_agent_client_connect(sock, 2000, error);
	if (!agent)
		return NULL;
	g_autoptr(GError) local = NULL;
	if (!sv_agent_client_hello(agent, 5000, NULL, &local)) {
		if (g_error_matches(local, SV_ERROR, SV_ERROR_TIMEOUT)) {
			g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT,
				    "the agent of VM '%s' did not answer on %s, which serves one "
				    "client at a time: another snapvm process may hold it; use "
				    "--source introspect",
				    m->name, sock);
			return NULL;
		}
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	return sv_agent_client_ps(agent, error);
}

static gint by_pid(gconstpointer a, gconstpointer b)
{
	const SvGuestProcess *x = a, *y = b;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int sv_cmd_ps(int argc, char **argv)
{
	gboolean json = FALSE;
	g_autofree char *source = NULL;
	GOptionEntry entries[] = {
		{ "source", 's', 0, G_OPTION_ARG_STRING, &source,
		  "introspect (default: guest memory, no help from the guest) or agent (its /proc)",
		  "SOURCE" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON array", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("VM");
	g_option_context_set_summary(
		ctx, "Lists the guest's processes: pid, parent, state, resident memory, command.\n"
		     "With --source introspect the VM is paused while its memory is read.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "ps", &argc, &argv))
		return SV_EXIT_USAGE;
	if (argc != 2) {
		fprintf(stderr, "snapvm ps: name one VM (snapvm list shows them)\n");
		return SV_EXIT_USAGE;
	}
	const char *src = source ? source : "introspect";
	if (strcmp(src, "introspect") && strcmp(src, "agent")) {
		fprintf(stderr, "snapvm ps: unknown --source '%s' (introspect or agent)\n", src);
		return SV_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(SvMachine) m = sv_machine_open(argv[1], &error);
	double pause_ms = 0;
	g_autoptr(GArray) procs = NULL;
	if (m)
		procs = !strcmp(src, "agent") ? ps_agent(m, &error)
					      : ps_introspect(m, &pause_ms, &error);
	if (m)
		sv_machine_release_control(m);
	if (!procs) {
		sv_cli_error("ps", error);
		return SV_EXIT_FAILURE;
	}
	g_array_sort(procs, by_pid);
	if (!strcmp(src, "introspect"))
		fprintf(stderr, "snapvm ps: VM paused %.1f ms while its memory was read\n",
			pause_ms);
	if (json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		json_builder_begin_array(b);
		for (guint i = 0; i < procs->len; i++) {
			const SvGuestProcess *p = &g_array_index(procs, SvGuestProcess, i);
			char state[2] = { p->state, 0 };
			/* comm is whatever bytes the guest wrote (prctl PR_SET_NAME):
			 * JSON strings must be UTF-8, so invalid bytes become U+FFFD */
			gsize len = strnlen(p->comm, sizeof(p->comm));
			g_autofree char *comm = g_utf8_make_valid(p->comm, (gssize)len);
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "pid");
			json_builder_add_int_value(b, p->pid);
			json_builder_set_member_name(b, "ppid");
			json_builder_add_int_value(b, p->ppid);
			json_builder_set_member_name(b, "state");
			json_builder_add_string_value(b, state);
			json_builder_set_member_name(b, "rss_kib");
			json_builder_add_int_value(b, (gint64)p->rss_kib);
			json_builder_set_member_name(b, "comm");
			json_builder_add_string_value(b, comm);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
		sv_cli_print_json(b, TRUE);
		return 0;
	}
	printf("%7s %7s %s %9s  %s\n", "PID", "PPID", "S", "RSS KiB", "COMMAND");
	for (guint i = 0; i < procs->len; i++) {
		const SvGuestProcess *p = &g_array_index(procs, SvGuestProcess, i);
		/* comm is the guest's choice of bytes: escapes shown, not
		 * acted on; valid UTF-8 names shown as they are */
		gsize len = strnlen(p->comm, sizeof(p->comm));
		g_autofree char *comm = sv_text_for_terminal(p->comm, (gssize)len);
		printf("%7u %7u %c %9" G_GUINT64_FORMAT "  %s\n", p->pid, p->ppid, p->state,
		       p->rss_kib, comm);
	}
	return 0;
}
