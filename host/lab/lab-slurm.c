/* SPDX-License-Identifier: MIT */
/*
 * lab-slurm.c - the Slurm engine (lab-engine.h), through Slurm's own client
 * commands, so it talks to whatever cluster they see (SLURM_CONF or the
 * system's configuration) and needs no library of a matching version.
 *
 * One `sbatch --array` per (arch, accelerator) for the first phase (the
 * baselines and every cell's run and checkpoint), constrained to nodes with
 * those features; one per (arch, restore accelerator) for the restores,
 * `--dependency=afterok` on every first-phase job. Where the cluster has
 * more than one node with the features, a cell's checkpoint phase is
 * pinned to one node and its restore kept off it (lab-slurm-nodes.h), so
 * every restore runs on another node than its checkpoint, as restoring a
 * lab's result elsewhere would; its provenance names both nodes.
 * `snapvm lab exec` exits 0
 * once it has recorded a result, failed cells included, so afterok holds
 * unless a unit could not even record its failure; such restores can never
 * start, and are cancelled here (or by the cluster's kill_invalid_depend).
 * The results directory must be on a file system every node sees.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/lab/lab-engine.h"
#include "host/lab/lab-proc.h"
#include "host/lab/lab-results.h"
#include "host/lab/lab-slurm-nodes.h"

/* How often squeue is asked; a cluster's controller is shared. */
#define POLL_S 2
#define SLURM_COMMAND_TIMEOUT_S 60
#define JOBS_FILE "jobs.json"

static char *slurm_dir(const char *results)
{
	return g_build_filename(results, "slurm", NULL);
}

/* The job each array task runs: the unit on line SLURM_ARRAY_TASK_ID of
 * the list, in the phase given. */
static gboolean write_job_script(const SvLabRunOptions *o, const char *path, GError **error)
{
	g_autofree char *snapvm = g_shell_quote(sv_lab_snapvm_path());
	g_autofree char *results = g_shell_quote(o->results);
	g_autofree char *script = g_strdup_printf(
		"#!/bin/sh\n# written by snapvm lab run: one unit of a lab run per array task\n"
		"exec %s lab exec %s --list \"$1\" --index \"$SLURM_ARRAY_TASK_ID\" --phase \"$2\"%s\n",
		snapvm, results, o->keep_snapshots ? " --keep-snapshots" : "");
	return g_file_set_contents_full(path, script, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0755,
					error);
}

static const char *constraint_accel(const char *accel)
{
	/* auto takes KVM where it opens, else TCG: any node will do */
	return !strcmp(accel, "auto") ? NULL : accel;
}

/* One array job to submit: the units of a phase with the same arch and
 * accelerator, and for a cell whose checkpoint is pinned to a node, that
 * node: the checkpoint's --nodelist, the restore's --exclude. */
typedef struct {
	char *arch, *accel, *node;
	GPtrArray *ids;
} Group;

static void group_free(Group *g)
{
	g_free(g->arch);
	g_free(g->accel);
	g_free(g->node);
	g_ptr_array_unref(g->ids);
	g_free(g);
}

/* Submits one array over the group's ids; returns the job id or NULL. */
static char *submit(const SvLabRunOptions *o, const char *script, const Group *g, SvLabPhase phase,
		    const char *dependency, GError **error)
{
	g_autofree char *dir = slurm_dir(o->results);
	g_autofree char *list_name = g_strdup_printf("%s-%s-%s%s%s.list", sv_lab_phase_name(phase),
						     g->arch, g->accel, g->node ? "-" : "",
						     g->node ? g->node : "");
	g_autofree char *list = g_build_filename(dir, list_name, NULL);
	g_autoptr(GString) text = g_string_new(NULL);
	for (guint i = 0; i < g->ids->len; i++)
		g_string_append_printf(text, "%s\n", (char *)g->ids->pdata[i]);
	if (!g_file_set_contents_full(list, text->str, (gssize)text->len,
				      G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
		return NULL;
	const char *acc = constraint_accel(g->accel);
	g_autofree char *out = g_build_filename(dir, "%A_%a.out", NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	for (const char *const *a = (const char *const[]){ "sbatch", "--parsable", "--ntasks=1",
							   /* a TCG guest: about two threads busy */
							   "--cpus-per-task=1", NULL };
	     *a; a++)
		g_ptr_array_add(argv, g_strdup(*a));
	g_ptr_array_add(argv, g_strdup_printf("--array=0-%u", g->ids->len - 1));
	g_ptr_array_add(argv, g_strdup_printf("--constraint=%s%s%s", g->arch, acc ? "&" : "",
					      acc ? acc : ""));
	g_ptr_array_add(argv, g_strdup_printf("--output=%s", out));
	g_ptr_array_add(argv, g_strdup_printf("--chdir=%s", o->results));
	g_ptr_array_add(argv,
			g_strdup_printf("--job-name=snapvm-lab-%s", sv_lab_phase_name(phase)));
	if (g->node)
		g_ptr_array_add(argv,
				g_strdup_printf(phase == SV_LAB_PHASE_RESTORE ? "--exclude=%s"
									      : "--nodelist=%s",
						g->node));
	if (dependency)
		g_ptr_array_add(argv, g_strdup_printf("--dependency=afterok:%s", dependency));
	g_ptr_array_add(argv, g_strdup(script));
	g_ptr_array_add(argv, g_strdup(list));
	g_ptr_array_add(argv, g_strdup(sv_lab_phase_name(phase)));
	g_ptr_array_add(argv, NULL);
	g_autofree char *stdout_text = NULL;
	if (!sv_lab_proc_capture((const char *const *)argv->pdata, SLURM_COMMAND_TIMEOUT_S,
				 &stdout_text, NULL, error))
		return NULL;
	/* --parsable: "jobid" or "jobid;cluster" */
	g_strstrip(stdout_text);
	char *semi = strchr(stdout_text, ';');
	if (semi)
		*semi = '\0';
	if (!*stdout_text || strspn(stdout_text, "0123456789") != strlen(stdout_text)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "sbatch printed no job id: %s",
			    stdout_text);
		return NULL;
	}
	return g_strdup(stdout_text);
}

/* Adds id to the group of (arch, accel, node) in groups, made in
 * first-seen order. */
static void group_add(GPtrArray *groups, const char *arch, const char *accel, const char *node,
		      const char *id)
{
	Group *g = NULL;
	for (guint i = 0; i < groups->len && !g; i++) {
		Group *c = groups->pdata[i];
		if (!strcmp(c->arch, arch) && !strcmp(c->accel, accel) && !g_strcmp0(c->node, node))
			g = c;
	}
	if (!g) {
		g = g_new0(Group, 1);
		g->arch = g_strdup(arch);
		g->accel = g_strdup(accel);
		g->node = g_strdup(node);
		g->ids = g_ptr_array_new();
		g_ptr_array_add(groups, g);
	}
	g_ptr_array_add(g->ids, (gpointer)id);
}

static gboolean submit_groups(const SvLabRunOptions *o, const char *script, GPtrArray *groups,
			      SvLabPhase phase, const char *dependency, GPtrArray *job_ids,
			      GError **error)
{
	for (guint i = 0; i < groups->len; i++) {
		char *job = submit(o, script, groups->pdata[i], phase, dependency, error);
		if (!job)
			return FALSE;
		g_ptr_array_add(job_ids, job);
	}
	return TRUE;
}

static gboolean write_jobs(const char *results, GPtrArray *job_ids, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "jobs");
	json_builder_begin_array(b);
	for (guint i = 0; i < job_ids->len; i++)
		json_builder_add_string_value(b, job_ids->pdata[i]);
	json_builder_end_array(b);
	json_builder_end_object(b);
	g_autofree char *dir = slurm_dir(results);
	g_autofree char *path = g_build_filename(dir, JOBS_FILE, NULL);
	return sv_lab_write_json(path, b, error);
}

static GPtrArray *read_jobs(const char *results)
{
	g_autofree char *dir = slurm_dir(results);
	g_autofree char *path = g_build_filename(dir, JOBS_FILE, NULL);
	g_autoptr(JsonNode) n = sv_lab_read_json(path, NULL);
	if (!n || !json_object_has_member(json_node_get_object(n), "jobs"))
		return NULL;
	JsonArray *a = json_object_get_array_member(json_node_get_object(n), "jobs");
	GPtrArray *jobs = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		const char *id = json_array_get_string_element(a, i);
		/* job ids only: they become squeue and scancel arguments */
		if (id && *id && strspn(id, "0123456789") == strlen(id))
			g_ptr_array_add(jobs, g_strdup(id));
	}
	return jobs;
}

/* squeue's lines "JOBID STATE REASON" for jobs still queued or running. */
static char *squeue(GPtrArray *jobs, GError **error)
{
	g_autoptr(GString) list = g_string_new(NULL);
	for (guint i = 0; i < jobs->len; i++)
		g_string_append_printf(list, "%s%s", i ? "," : "", (char *)jobs->pdata[i]);
	g_autofree char *j = g_strdup_printf("--jobs=%s", list->str);
	const char *argv[] = { "squeue", "--noheader", "--array", j, "--format=%i %T %r", NULL };
	char *out = NULL;
	if (!sv_lab_proc_capture(argv, SLURM_COMMAND_TIMEOUT_S, &out, NULL, error))
		return NULL;
	return out;
}

static void scancel(GPtrArray *jobs)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_strv_builder_add(b, "scancel");
	for (guint i = 0; i < jobs->len; i++)
		g_strv_builder_add(b, jobs->pdata[i]);
	g_auto(GStrv) argv = g_strv_builder_end(b);
	sv_lab_proc_capture((const char *const *)argv, SLURM_COMMAND_TIMEOUT_S, NULL, NULL, NULL);
}

static guint count_done(const SvLabRunOptions *o, GPtrArray *units)
{
	guint n = 0;
	for (guint i = 0; i < units->len; i++) {
		g_autofree char *path = sv_lab_unit_file(o->results,
							 ((SvLabUnit *)units->pdata[i])->id,
							 SV_LAB_RESULT_FILE);
		n += g_file_test(path, G_FILE_TEST_EXISTS);
	}
	return n;
}

/* Waits until none of jobs is queued or running, showing progress; on a
 * signal, scancels them all. */
static gboolean wait_jobs(const SvLabRunOptions *o, GPtrArray *units, GPtrArray *jobs,
			  int interrupt_fd, GError **error)
{
	guint last = G_MAXUINT;
	for (;;) {
		if (sv_lab_interrupted(interrupt_fd)) {
			scancel(jobs);
			g_set_error(error, SV_ERROR, SV_ERROR_INTERRUPTED,
				    "interrupted: Slurm jobs cancelled; the finished cells' results "
				    "are in %s, and `snapvm lab run` again carries on from there",
				    o->results);
			return FALSE;
		}
		g_autoptr(GError) e = NULL;
		g_autofree char *out = squeue(jobs, &e);
		if (!out) {
			/* "Invalid job id": every job has left the controller */
			if (e && strstr(e->message, "Invalid job id"))
				return TRUE;
			g_propagate_prefixed_error(error, g_steal_pointer(&e), "polling Slurm: ");
			return FALSE;
		}
		g_auto(GStrv) lines = g_strsplit(g_strstrip(out), "\n", -1);
		guint queued = 0, running = 0;
		g_autoptr(GPtrArray) never = g_ptr_array_new_with_free_func(g_free);
		for (guint i = 0; lines[i]; i++) {
			g_auto(GStrv) f = g_strsplit(lines[i], " ", 3);
			if (g_strv_length(f) < 2)
				continue;
			running += !strcmp(f[1], "RUNNING");
			queued += !strcmp(f[1], "PENDING");
			if (f[2] && strstr(f[2], "DependencyNeverSatisfied"))
				g_ptr_array_add(never, g_strdup(f[0]));
		}
		if (never->len)
			scancel(never);
		guint done = count_done(o, units);
		if (!o->quiet && done != last)
			fprintf(stderr,
				"snapvm lab: slurm: %u of %u units done, %u tasks running, "
				"%u pending\n",
				done, units->len, running, queued);
		last = done;
		if (running + queued == 0)
			return TRUE;
		sleep(POLL_S);
	}
}

/* The nodes that take jobs now, with their features. */
static GPtrArray *usable_nodes(GError **error)
{
	const char *argv[] = { "sinfo", "--noheader", "--Node", "--format=" SV_LAB_SINFO_FORMAT,
			       NULL };
	g_autofree char *out = NULL;
	if (!sv_lab_proc_capture(argv, SLURM_COMMAND_TIMEOUT_S, &out, NULL, error)) {
		g_prefix_error(error, "asking Slurm for its nodes: ");
		return NULL;
	}
	return sv_lab_slurm_nodes_parse(out);
}

/* The first phase's arrays, then the restores' arrays depending on them;
 * the job ids into jobs as they are submitted, then into jobs.json. */
static gboolean submit_all(const SvLabRunOptions *o, const char *script, GPtrArray *groups1,
			   GPtrArray *groups2, GPtrArray *jobs, GError **error)
{
	if (!submit_groups(o, script, groups1, SV_LAB_PHASE_CHECKPOINT, NULL, jobs, error))
		return FALSE;
	g_autoptr(GString) dependency = g_string_new(NULL);
	for (guint i = 0; i < jobs->len; i++)
		g_string_append_printf(dependency, "%s%s", i ? ":" : "", (char *)jobs->pdata[i]);
	return submit_groups(o, script, groups2, SV_LAB_PHASE_RESTORE,
			     jobs->len ? dependency->str : NULL, jobs, error) &&
	       write_jobs(o->results, jobs, error);
}

gboolean sv_lab_engine_slurm(const SvLabRunOptions *o, GPtrArray *units, int interrupt_fd,
			     GError **error)
{
	for (const char *const *t =
		     (const char *const[]){ "sbatch", "squeue", "scancel", "sinfo", NULL };
	     *t; t++) {
		g_autofree char *found = g_find_program_in_path(*t);
		if (!found) {
			g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
				    "engine slurm needs Slurm's %s (Debian: apt-get install "
				    "slurm-client) and a cluster it reaches (SLURM_CONF)",
				    *t);
			return FALSE;
		}
	}
	g_autofree char *dir = slurm_dir(o->results);
	g_mkdir_with_parents(dir, 0755);
	g_autofree char *script = g_build_filename(dir, "job.sh", NULL);
	if (!write_job_script(o, script, error))
		return FALSE;
	g_autoptr(GPtrArray) nodes = usable_nodes(error);
	if (!nodes)
		return FALSE;
	g_autoptr(GPtrArray) groups1 = g_ptr_array_new_with_free_func((GDestroyNotify)group_free);
	g_autoptr(GPtrArray) groups2 = g_ptr_array_new_with_free_func((GDestroyNotify)group_free);
	/* "arch accel restore_accel" -> cells placed so far, for round robin */
	g_autoptr(GHashTable) placed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	guint skipped = 0;
	for (guint i = 0; i < units->len; i++) {
		const SvLabUnit *u = g_ptr_array_index(units, i);
		g_autoptr(JsonObject) done = sv_lab_result_done(o->results, u);
		if (done) {
			skipped++;
			continue;
		}
		if (u->kind != SV_LAB_UNIT_CELL) {
			group_add(groups1, u->arch, u->accel, NULL, u->id);
			continue;
		}
		g_autofree char *key = g_strdup_printf("%s %s %s", u->arch, u->accel,
						       u->restore_accel);
		guint n = GPOINTER_TO_UINT(g_hash_table_lookup(placed, key));
		g_hash_table_replace(placed, g_steal_pointer(&key), GUINT_TO_POINTER(n + 1));
		const char *node = sv_lab_slurm_checkpoint_node(nodes, u->arch,
								constraint_accel(u->accel),
								constraint_accel(u->restore_accel),
								n);
		group_add(groups1, u->arch, u->accel, node, u->id);
		group_add(groups2, u->arch, u->restore_accel, node, u->id);
	}
	if (!o->quiet && skipped)
		fprintf(stderr,
			"snapvm lab: %u of %u units already done for the same inputs, "
			"skipped\n",
			skipped, units->len);
	g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func(g_free);
	if (!submit_all(o, script, groups1, groups2, jobs, error)) {
		/* nothing half-submitted is left behind */
		if (jobs->len)
			scancel(jobs);
		return FALSE;
	}
	if (!o->quiet)
		fprintf(stderr, "snapvm lab: slurm: submitted %u array jobs for %u units\n",
			jobs->len, units->len - skipped);
	if (o->no_wait || jobs->len == 0)
		return TRUE;
	return wait_jobs(o, units, jobs, interrupt_fd, error);
}

char *sv_lab_slurm_status(const char *results, GError **error)
{
	g_autoptr(GPtrArray) jobs = read_jobs(results);
	if (!jobs || jobs->len == 0)
		return NULL;
	g_autoptr(GError) e = NULL;
	g_autofree char *out = squeue(jobs, &e);
	if (!out)
		return g_strdup_printf("(squeue failed: %s)\n", e->message);
	return *out ? g_steal_pointer(&out) : g_strdup("(none queued or running)\n");
}
