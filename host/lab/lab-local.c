/* SPDX-License-Identifier: MIT */
/*
 * lab-local.c - the local engine (lab-engine.h): each task is a `snapvm lab
 * exec` child in a process group of its own, so that cancelling it stops
 * the snapvm commands it runs, and through them their VMs.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/lab/lab-engine.h"
#include "host/lab/lab-proc.h"
#include "host/lab/lab-results.h"

#define POLL_US (100 * 1000)

gint sv_lab_default_jobs(void)
{
	return MAX(1, (gint)g_get_num_processors() / 2);
}

const char *sv_lab_phase_name(SvLabPhase phase)
{
	switch (phase) {
	case SV_LAB_PHASE_CHECKPOINT:
		return "checkpoint";
	case SV_LAB_PHASE_RESTORE:
		return "restore";
	default:
		return "all";
	}
}

char **sv_lab_exec_argv(const SvLabRunOptions *o, const char *id, SvLabPhase phase)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_strv_builder_add_many(b, sv_lab_snapvm_path(), "lab", "exec", o->results, id, "--phase",
				sv_lab_phase_name(phase), NULL);
	if (o->keep_snapshots)
		g_strv_builder_add(b, "--keep-snapshots");
	return g_strv_builder_end(b);
}

typedef enum { TASK_WAITING, TASK_RUNNING, TASK_DONE } TaskState;

typedef struct Task {
	const SvLabUnit *unit;
	SvLabPhase phase;
	gint deps[2]; /* task indexes, -1 for none */
	TaskState state;
	SvLabProc proc;
} Task;

gboolean sv_lab_interrupted(int fd)
{
	char buf[128];
	/* a signalfd reads whole siginfo records: any read means a signal */
	return fd >= 0 && read(fd, buf, sizeof(buf)) > 0;
}

static GArray *plan_tasks(const SvLabRunOptions *o, GPtrArray *units, guint *ret_skipped)
{
	GArray *tasks = g_array_new(FALSE, TRUE, sizeof(Task));
	g_autoptr(GHashTable) baseline_task = g_hash_table_new(g_str_hash, g_str_equal);
	*ret_skipped = 0;
	for (guint i = 0; i < units->len; i++) {
		const SvLabUnit *u = g_ptr_array_index(units, i);
		g_autoptr(JsonObject) done = sv_lab_result_done(o->results, u);
		if (done) {
			(*ret_skipped)++;
			continue;
		}
		if (u->kind == SV_LAB_UNIT_BASELINE) {
			Task t = { .unit = u, .phase = SV_LAB_PHASE_ALL, .deps = { -1, -1 } };
			g_hash_table_insert(baseline_task, u->id, GINT_TO_POINTER(tasks->len + 1));
			g_array_append_val(tasks, t);
			continue;
		}
		gint base = GPOINTER_TO_INT(g_hash_table_lookup(baseline_task, u->baseline_id)) - 1;
		Task cp = { .unit = u, .phase = SV_LAB_PHASE_CHECKPOINT, .deps = { -1, -1 } };
		g_array_append_val(tasks, cp);
		Task rs = { .unit = u,
			    .phase = SV_LAB_PHASE_RESTORE,
			    .deps = { (gint)tasks->len - 1, base } };
		g_array_append_val(tasks, rs);
	}
	return tasks;
}

static gboolean ready(GArray *tasks, const Task *t)
{
	for (int d = 0; d < 2; d++)
		if (t->deps[d] >= 0 && g_array_index(tasks, Task, t->deps[d]).state != TASK_DONE)
			return FALSE;
	return TRUE;
}

static void report_done(const SvLabRunOptions *o, const Task *t, guint done, guint total)
{
	if (o->quiet)
		return;
	const char *what = sv_lab_phase_name(t->phase);
	g_autofree char *verdict = NULL;
	if (t->phase != SV_LAB_PHASE_CHECKPOINT) {
		g_autofree char *path = sv_lab_unit_file(o->results, t->unit->id,
							 SV_LAB_RESULT_FILE);
		g_autoptr(JsonNode) n = sv_lab_read_json(path, NULL);
		verdict = g_strdup(n ? json_object_get_string_member_with_default(
					       json_node_get_object(n), "verdict", "?")
				     : "no result");
	}
	fprintf(stderr, "snapvm lab: [%u/%u] %s %s%s%s (%.1f s)\n", done, total, t->unit->id,
		t->unit->kind == SV_LAB_UNIT_BASELINE ? "baseline" : what, verdict ? ": " : "",
		verdict ? verdict : "", t->proc.seconds);
}

gboolean sv_lab_engine_local(const SvLabRunOptions *o, GPtrArray *units, int interrupt_fd,
			     GError **error)
{
	guint skipped = 0;
	g_autoptr(GArray) tasks = plan_tasks(o, units, &skipped);
	if (!o->quiet && skipped)
		fprintf(stderr,
			"snapvm lab: %u of %u units already done for the same inputs, "
			"skipped\n",
			skipped, units->len);
	guint done = 0, running = 0;
	gint jobs = o->jobs > 0 ? o->jobs : sv_lab_default_jobs();
	g_autofree char *logs = g_build_filename(o->results, "logs", NULL);
	g_mkdir_with_parents(logs, 0755);
	while (done < tasks->len) {
		if (sv_lab_interrupted(interrupt_fd)) {
			for (guint i = 0; i < tasks->len; i++) {
				Task *t = &g_array_index(tasks, Task, i);
				if (t->state == TASK_RUNNING)
					sv_lab_proc_stop_group(&t->proc);
			}
			g_set_error(error, SV_ERROR, SV_ERROR_INTERRUPTED,
				    "interrupted: %u of %u tasks were done; their results are in "
				    "%s, and `snapvm lab run` again carries on from there",
				    done, tasks->len, o->results);
			return FALSE;
		}
		for (guint i = 0; i < tasks->len && running < (guint)jobs; i++) {
			Task *t = &g_array_index(tasks, Task, i);
			if (t->state != TASK_WAITING || !ready(tasks, t))
				continue;
			g_auto(GStrv) argv = sv_lab_exec_argv(o, t->unit->id, t->phase);
			g_autofree char *name = g_strdup_printf("%s.%s.log", t->unit->id,
								sv_lab_phase_name(t->phase));
			g_autofree char *log = g_build_filename(logs, name, NULL);
			g_autoptr(GError) e = NULL;
			if (!sv_lab_proc_start_group((const char *const *)argv, log, log, &t->proc,
						     &e)) {
				/* counted as done: what depends on it records why it
				 * cannot go on, and the other tasks carry on */
				fprintf(stderr, "snapvm lab: %s %s: cannot start: %s\n",
					t->unit->id, sv_lab_phase_name(t->phase), e->message);
				t->state = TASK_DONE;
				done++;
				continue;
			}
			t->state = TASK_RUNNING;
			running++;
		}
		g_usleep(POLL_US);
		for (guint i = 0; i < tasks->len; i++) {
			Task *t = &g_array_index(tasks, Task, i);
			if (t->state != TASK_RUNNING || !sv_lab_proc_poll(&t->proc))
				continue;
			/* a unit that could not record its result is reported here;
			 * what depends on it runs and records why it cannot go on */
			t->state = TASK_DONE;
			running--;
			done++;
			report_done(o, t, done, tasks->len);
			if (sv_lab_proc_exit_code(&t->proc) && !o->quiet)
				fprintf(stderr,
					"snapvm lab: %s %s: snapvm lab exec exited %d (see "
					"%s/logs)\n",
					t->unit->id, sv_lab_phase_name(t->phase),
					sv_lab_proc_exit_code(&t->proc), o->results);
		}
	}
	return TRUE;
}
