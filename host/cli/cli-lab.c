/* SPDX-License-Identifier: MIT */
/*
 * cli-lab.c - `snapvm lab run|status|report|exec`: an experiment from a
 * manifest, run as a matrix of runs, checkpoints and restores, locally or
 * on Slurm, judged cell by cell (docs/lab.md).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

#include "base/errors.h"
#include "host/cli/cli.h"
#include "host/lab/lab-engine.h"
#include "host/lab/lab-exec.h"
#include "host/lab/lab-proc.h"
#include "host/lab/lab-report.h"
#include "host/lab/lab-results.h"
#include "host/util/text-escape.h"

/* lab run's exit status when some cell did not reproduce */
#define LAB_EXIT_NOT_REPRODUCED 1

/* Rebuilds report.json and report.html from the results directory. */
static JsonNode *write_report(const char *results, const char *html, GError **error)
{
	g_autoptr(SvLabManifest) m = NULL;
	g_autoptr(GPtrArray) units = NULL;
	if (!sv_lab_results_open(results, &m, &units, error))
		return NULL;
	g_autoptr(JsonNode) report = sv_lab_report_build(results, m, units);
	if (!sv_lab_report_write(results, report, html, error))
		return NULL;
	return g_steal_pointer(&report);
}

static int lab_run(int argc, char **argv)
{
	g_autofree char *results = NULL, *engine = NULL;
	gint jobs = 0;
	gboolean keep = FALSE, no_wait = FALSE, quiet = FALSE;
	g_autofree char *jobs_help =
		g_strdup_printf("Local engine: cells at once (default %d, half the CPUs: a TCG "
				"guest keeps about two threads busy)",
				sv_lab_default_jobs());
	GOptionEntry entries[] = {
		{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &results,
		  "Results directory (default: lab-EXPERIMENT); rerunning on the same one skips "
		  "the cells whose inputs have not changed",
		  "DIR" },
		{ "engine", 'e', 0, G_OPTION_ARG_STRING, &engine,
		  "local (default) or slurm (the cluster sbatch/squeue see: SLURM_CONF or the "
		  "system's; DIR must be on a file system every node sees)",
		  "ENGINE" },
		{ "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, jobs_help, "N" },
		{ "keep-snapshots", 0, 0, G_OPTION_ARG_NONE, &keep,
		  "Keep each cell's snapshot in its folder", NULL },
		{ "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait,
		  "Slurm: submit and return; `snapvm lab status DIR` follows it", NULL },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress lines", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("MANIFEST");
	g_option_context_set_summary(
		ctx, "Runs the experiment MANIFEST describes (docs/lab.md): reference runs of "
		     "each workload, then per cell a run checkpointed at its point\n(left running) "
		     "and restored on its target, judged bitwise, equivalent, differs, "
		     "nondeterministic-baseline or failed.\nWrites DIR/cells/*/result.json, "
		     "DIR/report.json and DIR/report.html and prints a summary.\nExit status: 0 "
		     "when every cell reproduced, 1 when some did not, 125 when snapvm failed, "
		     "130 after Ctrl-C (what ran is stopped; what finished is kept).");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "lab run", &argc, &argv))
		return SV_EXIT_USAGE;
	if (argc != 2) {
		fprintf(stderr, "snapvm lab run: expected one MANIFEST (see --help)\n");
		return SV_EXIT_USAGE;
	}
	gboolean slurm = engine && !strcmp(engine, "slurm");
	if (engine && !slurm && strcmp(engine, "local")) {
		fprintf(stderr, "snapvm lab run: --engine must be local or slurm\n");
		return SV_EXIT_USAGE;
	}
	if (jobs < 0 || jobs > 256 || (no_wait && !slurm)) {
		fprintf(stderr, "snapvm lab run: %s\n",
			no_wait ? "--no-wait is for --engine slurm" : "-j must be 1..256");
		return SV_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(SvLabManifest) m = sv_lab_manifest_load(argv[1], &error);
	g_autoptr(GPtrArray) units = m ? sv_lab_matrix_expand(m, &error) : NULL;
	if (!units) {
		sv_cli_error("lab run", error);
		return SV_EXIT_USAGE;
	}
	if (!results)
		results = g_strdup_printf("lab-%s", m->experiment);
	g_autofree char *abs = g_canonicalize_filename(results, NULL);
	if (!sv_lab_results_prepare(abs, argv[1], m, units, &error)) {
		sv_cli_error("lab run", error);
		return SV_EXIT_FAILURE;
	}
	/* not sv_cli_catch_signals: no reaping of every child here, the
	 * engines wait for their own children by pid */
	int sfd = sv_cli_signal_fd(SFD_NONBLOCK);
	SvLabRunOptions o = { .results = abs,
			      .jobs = jobs,
			      .keep_snapshots = keep,
			      .no_wait = no_wait,
			      .quiet = quiet };
	gboolean ok = slurm ? sv_lab_engine_slurm(&o, units, sfd, &error)
			    : sv_lab_engine_local(&o, units, sfd, &error);
	if (!ok) {
		sv_cli_error("lab run", error);
		/* what finished is reported even so */
		g_autoptr(JsonNode) partial = write_report(abs, NULL, NULL);
		return g_error_matches(error, SV_ERROR, SV_ERROR_INTERRUPTED) ? SV_EXIT_INTERRUPTED
									      : SV_EXIT_FAILURE;
	}
	if (no_wait) {
		printf("submitted; follow it with: snapvm lab status %s\n", abs);
		return 0;
	}
	g_autoptr(JsonNode) report = write_report(abs, NULL, &error);
	if (!report) {
		sv_cli_error("lab run", error);
		return SV_EXIT_FAILURE;
	}
	sv_lab_report_print(stdout, report);
	printf("report: %s/report.html\n", abs);
	return sv_lab_report_all_good(report) ? 0 : LAB_EXIT_NOT_REPRODUCED;
}

static int lab_status(int argc, char **argv)
{
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("RESULTS");
	g_option_context_set_summary(ctx, "How far a lab run is: units done and not done, and "
					  "its Slurm jobs when it was submitted to Slurm.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "lab status", &argc, &argv))
		return SV_EXIT_USAGE;
	if (argc != 2) {
		fprintf(stderr, "snapvm lab status: expected one RESULTS directory\n");
		return SV_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(SvLabManifest) m = NULL;
	g_autoptr(GPtrArray) units = NULL;
	if (!sv_lab_results_open(argv[1], &m, &units, &error)) {
		sv_cli_error("lab status", error);
		return SV_EXIT_FAILURE;
	}
	g_autoptr(JsonNode) report = sv_lab_report_build(argv[1], m, units);
	g_autofree char *slurm = sv_lab_slurm_status(argv[1], &error);
	JsonObject *r = json_node_get_object(report);
	gint64 done = json_object_get_int_member(r, "done");
	if (json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "units");
		json_builder_add_int_value(b, units->len);
		json_builder_set_member_name(b, "done");
		json_builder_add_int_value(b, done);
		json_builder_set_member_name(b, "counts");
		json_builder_add_value(b, json_node_copy(json_object_get_member(r, "counts")));
		json_builder_set_member_name(b, "slurm_jobs");
		if (slurm)
			json_builder_add_string_value(b, slurm);
		else
			json_builder_add_null_value(b);
		json_builder_end_object(b);
		sv_cli_print_json(b, TRUE);
		return 0;
	}
	printf("%" G_GINT64_FORMAT " of %u units done\n", done, units->len);
	if (slurm)
		printf("slurm jobs:\n%s", slurm);
	sv_lab_report_print(stdout, report);
	return 0;
}

static int lab_report(int argc, char **argv)
{
	g_autofree char *html = NULL;
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "html", 0, 0, G_OPTION_ARG_FILENAME, &html,
		  "Also write the HTML report to FILE (it is always written to "
		  "RESULTS/report.html)",
		  "FILE" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print report.json instead of a summary",
		  NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("RESULTS");
	g_option_context_set_summary(
		ctx, "Rebuilds RESULTS/report.json and report.html from the cells' results and "
		     "prints the counts per verdict and the cells that did not reproduce, with "
		     "their reasons.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "lab report", &argc, &argv))
		return SV_EXIT_USAGE;
	if (argc != 2) {
		fprintf(stderr, "snapvm lab report: expected one RESULTS directory\n");
		return SV_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) report = write_report(argv[1], html, &error);
	if (!report) {
		sv_cli_error("lab report", error);
		return SV_EXIT_FAILURE;
	}
	if (json) {
		g_autoptr(JsonGenerator) g = json_generator_new();
		json_generator_set_root(g, report);
		json_generator_set_pretty(g, TRUE);
		g_autofree char *s = json_generator_to_data(g, NULL);
		printf("%s\n", s);
	} else {
		sv_lab_report_print(stdout, report);
	}
	return 0;
}

/* The nth line of a file of unit ids (a Slurm array task's unit). */
static char *nth_line(const char *path, gint n, GError **error)
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, error))
		return NULL;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	if (n < 0 || (guint)n >= g_strv_length(lines) || !*lines[n]) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT, "%s has no line %d", path,
			    n);
		return NULL;
	}
	return g_strdup(lines[n]);
}

static int lab_exec(int argc, char **argv)
{
	g_autofree char *phase = NULL, *list = NULL;
	gint index = -1;
	gboolean keep = FALSE;
	GOptionEntry entries[] = {
		{ "phase", 0, 0, G_OPTION_ARG_STRING, &phase,
		  "all (default), checkpoint or restore", "PHASE" },
		{ "list", 0, 0, G_OPTION_ARG_FILENAME, &list,
		  "Take UNIT from line --index of FILE (a Slurm array task)", "FILE" },
		{ "index", 0, 0, G_OPTION_ARG_INT, &index, "Line of --list, from 0", "N" },
		{ "keep-snapshots", 0, 0, G_OPTION_ARG_NONE, &keep, "Keep the cell's snapshot",
		  NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("RESULTS [UNIT]");
	g_option_context_set_summary(
		ctx, "Runs one unit of a prepared lab run (what `lab run` starts for each unit, "
		     "here or as a Slurm job) and records its result in "
		     "RESULTS/cells/UNIT/.\nExits 0 once the result is recorded, whatever the "
		     "verdict.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "lab exec", &argc, &argv))
		return SV_EXIT_USAGE;
	SvLabPhase ph = SV_LAB_PHASE_ALL;
	if (phase && !strcmp(phase, "checkpoint"))
		ph = SV_LAB_PHASE_CHECKPOINT;
	else if (phase && !strcmp(phase, "restore"))
		ph = SV_LAB_PHASE_RESTORE;
	else if (phase && strcmp(phase, "all")) {
		fprintf(stderr, "snapvm lab exec: --phase must be all, checkpoint or restore\n");
		return SV_EXIT_USAGE;
	}
	if (argc != (list ? 2 : 3)) {
		fprintf(stderr, "snapvm lab exec: expected RESULTS and UNIT (or --list and "
				"--index)\n");
		return SV_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	g_autofree char *id = list ? nth_line(list, index, &error) : g_strdup(argv[2]);
	g_autoptr(SvLabManifest) m = NULL;
	g_autoptr(GPtrArray) units = NULL;
	if (!id || !sv_lab_results_open(argv[1], &m, &units, &error)) {
		sv_cli_error("lab exec", error);
		return SV_EXIT_FAILURE;
	}
	const SvLabUnit *u = sv_lab_matrix_find(units, id);
	if (!u) {
		g_autofree char *shown = sv_text_for_terminal(id, -1);
		fprintf(stderr, "snapvm lab exec: no unit %s in %s\n", shown, argv[1]);
		return SV_EXIT_USAGE;
	}
	sv_lab_proc_stop_on_signals();
	SvLabExecContext ectx = { .results = argv[1], .manifest = m, .keep_snapshots = keep };
	if (!sv_lab_exec_unit(&ectx, u, ph, &error)) {
		sv_cli_error("lab exec", error);
		return SV_EXIT_FAILURE;
	}
	return sv_lab_proc_stop_requested() ? SV_EXIT_INTERRUPTED : 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{ "run", lab_run, "run an experiment's manifest as a matrix, locally or on Slurm" },
	{ "status", lab_status, "how far a lab run is" },
	{ "report", lab_report, "summary, report.json and report.html of a lab run" },
	{ "exec", lab_exec, "run one unit of a lab run (what lab run and Slurm jobs start)" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: snapvm lab SUBCOMMAND [OPTIONS] ...\n\n"
		   "Reproducibility experiments: workloads x arches x accelerators x checkpoint "
		   "points x restore targets,\neach cell judged against uninterrupted reference "
		   "runs (docs/lab.md).\n\nSubcommands:\n");
	for (gsize i = 0; i < G_N_ELEMENTS(subcommands); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'snapvm lab SUBCOMMAND --help' describes one.\n");
}

int sv_cmd_lab(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return SV_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(subcommands); i++) {
		if (!strcmp(argv[1], subcommands[i].name)) {
			g_autofree char *prg = g_strdup_printf("snapvm lab %s", argv[1]);
			g_set_prgname(prg);
			return subcommands[i].fn(argc - 1, argv + 1);
		}
	}
	g_autofree char *shown = sv_text_for_terminal(argv[1], -1);
	fprintf(stderr, "snapvm lab: unknown subcommand '%s'\n\n", shown);
	usage(stderr);
	return SV_EXIT_USAGE;
}
