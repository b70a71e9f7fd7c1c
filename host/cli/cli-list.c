/* SPDX-License-Identifier: MIT */
/* cli-list.c - `snapvm list`: the VMs snapvm started, with their state. */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "host/cli/cli.h"
#include "host/machine/machine.h"
#include "host/util/text-escape.h"

int sv_cmd_list(int argc, char **argv)
{
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON array", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_option_context_set_summary(ctx, "Lists every VM snapvm started and has not stopped: "
					  "name, arch, backend, state, memory.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "list", &argc, &argv))
		return SV_EXIT_USAGE;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) names = sv_machine_list_names(&error);
	if (!names) {
		sv_cli_error("list", error);
		return SV_EXIT_FAILURE;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_array(b);
	if (!json)
		printf("%-24s %-8s %-7s %-8s %s\n", "NAME", "ARCH", "BACKEND", "STATE", "MEMORY");
	for (guint i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		g_autoptr(GError) e = NULL;
		g_autoptr(SvMachine) m = sv_machine_open(name, &e);
		if (!m) {
			/* a VM's record is read back from its state dir; the
			 * reason may quote what it holds */
			g_autofree char *shown = sv_text_for_terminal(e->message, -1);
			fprintf(stderr, "snapvm list: %s: %s\n", name, shown);
			continue;
		}
		SvMachineState st = sv_machine_get_state(m, &e);
		const char *state = e ? "unknown" : sv_machine_state_str(st);
		sv_machine_release_control(m);
		if (json) {
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "name");
			json_builder_add_string_value(b, m->name);
			json_builder_set_member_name(b, "arch");
			json_builder_add_string_value(b, m->arch->name);
			json_builder_set_member_name(b, "backend");
			json_builder_add_string_value(b, m->ops->backend);
			json_builder_set_member_name(b, "state");
			json_builder_add_string_value(b, state);
			json_builder_set_member_name(b, "memory_mib");
			json_builder_add_int_value(b, m->memory_mib);
			json_builder_end_object(b);
		} else {
			printf("%-24s %-8s %-7s %-8s %u MiB\n", m->name, m->arch->name,
			       m->ops->backend, state, m->memory_mib);
		}
	}
	json_builder_end_array(b);
	if (json)
		sv_cli_print_json(b, TRUE);
	return 0;
}
