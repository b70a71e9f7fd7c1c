/* SPDX-License-Identifier: MIT */
/* cli-stop.c - `snapvm stop NAME...`: stop VMs and remove their state. */
#include <stdio.h>

#include "host/cli/cli.h"
#include "host/machine/machine.h"

static gboolean stop_one(const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SvMachine) m = sv_machine_open(name, &error);
	if (!m || !sv_machine_stop(m, FALSE, NULL, &error)) {
		sv_cli_error("stop", error);
		return FALSE;
	}
	return TRUE;
}

int sv_cmd_stop(int argc, char **argv)
{
	gboolean all = FALSE;
	GOptionEntry entries[] = {
		{ "all", 0, 0, G_OPTION_ARG_NONE, &all, "Stop every VM snapvm started", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("NAME...");
	g_option_context_set_summary(ctx, "Stops the named VMs at once (their guests get no "
					  "shutdown) and removes their state.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "stop", &argc, &argv))
		return SV_EXIT_USAGE;
	if (argc < 2 && !all) {
		fprintf(stderr, "snapvm stop: name a VM (snapvm list shows them) or use --all\n");
		return SV_EXIT_USAGE;
	}
	gboolean ok = TRUE;
	if (all) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) names = sv_machine_list_names(&error);
		for (guint i = 0; names && i < names->len; i++)
			ok &= stop_one(names->pdata[i]);
	}
	for (int i = 1; i < argc; i++)
		ok &= stop_one(argv[i]);
	return ok ? 0 : SV_EXIT_FAILURE;
}
