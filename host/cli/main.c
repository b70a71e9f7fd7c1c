/* SPDX-License-Identifier: MIT */
/* main.c - `snapvm COMMAND ...`: dispatch to one cli-<command>.c. */
#include <json-glib/json-glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "host/cli/cli.h"
#include "host/util/text-escape.h"

static gint64 start_us;

double sv_cli_elapsed_ms(void)
{
	return (g_get_monotonic_time() - start_us) / 1000.0;
}

void sv_cli_verbose(gboolean on, const char *cmd, const char *fmt, ...)
{
	if (!on)
		return;
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	/* the steps name guest things: comm, the agent's version strings */
	g_autofree char *shown = sv_text_for_terminal(msg, -1);
	fprintf(stderr, "snapvm %s: [%8.1f ms] %s\n", cmd, sv_cli_elapsed_ms(), shown);
}

/* Messages are ours with guest or snapshot strings inside ("carrying
 * /tmp/...: cannot open", the agent's own errors), so the whole message is
 * escaped. Ours are one line each (none holds a newline), so a newline in
 * one can only be embedded and is shown as "\n", not allowed to start a
 * line that poses as snapvm's. */
void sv_cli_error(const char *cmd, const GError *error)
{
	g_autofree char *shown = sv_text_for_terminal(error ? error->message : "failed", -1);
	fprintf(stderr, "snapvm %s: %s\n", cmd, shown);
}

gboolean sv_cli_parse(GOptionContext *ctx, const char *cmd, int *argc, char ***argv)
{
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		/* the message quotes the argument, which may be a pasted guest name */
		g_autofree char *shown = sv_text_for_terminal(error->message, -1);
		fprintf(stderr, "snapvm %s: %s (see snapvm %s --help)\n", cmd, shown, cmd);
		return FALSE;
	}
	return TRUE;
}

void sv_cli_print_json(JsonBuilder *builder, gboolean pretty)
{
	g_autoptr(JsonGenerator) g = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(builder);
	json_generator_set_root(g, root);
	json_generator_set_pretty(g, pretty);
	g_autofree char *s = json_generator_to_data(g, NULL);
	printf("%s\n", s);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "run", sv_cmd_run, "boot a fresh guest and run a static program in it" },
	{ "list", sv_cmd_list, "list the VMs snapvm started" },
	{ "stop", sv_cmd_stop, "stop VMs and remove what they left behind" },
	{ "ps", sv_cmd_ps, "list a VM's processes, read from guest memory" },
	{ "checkpoint", sv_cmd_checkpoint, "write one process's state into a snapshot file" },
	{ "inspect", sv_cmd_inspect, "show and verify what a snapshot file holds" },
	{ "restore", sv_cmd_restore, "carry on a snapshot's process in a fresh guest" },
	{ "pool", sv_cmd_pool, "keep guests booted for restore --pool" },
	{ "image", sv_cmd_image, "build and manage guest images with a Debian userland" },
	{ "lab", sv_cmd_lab, "run a reproducibility experiment: a matrix of runs and restores" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: snapvm COMMAND [OPTIONS] ...\n\n"
		   "Runs a process inside a small Linux guest and snapshots it from outside.\n\n"
		   "Commands:\n");
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'snapvm COMMAND --help' describes a command.\n"
		   "Environment: SNAPVM_STATE_DIR (VMs, libvirt root), SNAPVM_CACHE_DIR (guest "
		   "images), SNAPVM_IMAGE_DIR.\n");
}

int main(int argc, char **argv)
{
	start_us = g_get_monotonic_time();
	setlocale(LC_ALL, "");
	if (argc < 2) {
		usage(stderr);
		return SV_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("snapvm %s\n", SNAPVM_VERSION);
		return 0;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (!strcmp(cmd, commands[i].name)) {
			/* --help of a command then reads "snapvm run [OPTION...]" */
			g_autofree char *prg = g_strdup_printf("snapvm %s", cmd);
			g_set_prgname(prg);
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "snapvm: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return SV_EXIT_USAGE;
}
