/* SPDX-License-Identifier: MIT */
/*
 * lab-exec.c - one lab unit, driven through snapvm's own commands
 * (lab-exec.h). Why subprocesses rather than calls into the library: the
 * lab then measures exactly what a user's `snapvm run`, `checkpoint` and
 * `restore` do, each command keeps its own guarantees (no VM left behind
 * on SIGTERM, the process left running when a checkpoint fails), and a
 * Slurm job on another node runs the very same thing.
 */
#include "host/lab/lab-exec.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/lab/lab-proc.h"
#include "host/lab/lab-provenance.h"
#include "host/lab/lab-results.h"
#include "host/lab/lab-state.h"
#include "host/lab/lab-verdict.h"
#include "host/snapshot/snapshot-reader.h"
#include "include/snapvm/snapshot-format.h"
#include "host/util/state-paths.h"

/* How often a cell looks for its process and at its output: a point in
 * lines is reached at most this late. */
#define WATCH_INTERVAL_US (20 * 1000)
/* `snapvm ps` and `checkpoint` of a running guest; generous for TCG under load. */
#define COMMAND_TIMEOUT_S 300

/* Where a run's copy of declared output i lands: next to its stdout,
 * "<run>.out<i>-<basename>" (the index keeps two same-named outputs apart). */
static char *output_file(const char *run_prefix, const SvLabWorkload *w, guint i)
{
	g_autofree char *base = g_path_get_basename(w->outputs[i]);
	return g_strdup_printf("%s.out%u-%s", run_prefix, i, base);
}

/* The snapvm command line of a run or restore. run_prefix (a path in the
 * unit's dir, "…/ref-1"): the declared outputs are copied out next to it. */
static char **run_argv(const char *cmd, const SvLabUnit *u, const char *accel, const char *name,
		       const char *target, const char *pid_file, const char *run_prefix)
{
	const SvLabWorkload *w = u->workload;
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_strv_builder_add_many(b, sv_lab_snapvm_path(), cmd, "--accel", accel, NULL);
	if (name)
		g_strv_builder_add_many(b, "--name", name, NULL);
	if (pid_file)
		g_strv_builder_add_many(b, "--pid-file", pid_file, NULL);
	for (guint i = 0; w->outputs && w->outputs[i]; i++) {
		g_autofree char *file = output_file(run_prefix, w, i);
		g_autofree char *spec = g_strdup_printf("%s:%s", w->outputs[i], file);
		g_strv_builder_add_many(b, "--copy-out", spec, NULL);
	}
	if (strcmp(cmd, "run")) {
		g_strv_builder_add(b, target);
		return g_strv_builder_end(b);
	}
	g_strv_builder_add_many(b, "--arch", u->arch, NULL);
	if (w->image)
		g_strv_builder_add_many(b, "--image", w->image, NULL);
	for (guint i = 0; w->env && w->env[i]; i++)
		g_strv_builder_add_many(b, "--env", w->env[i], NULL);
	for (guint i = 0; w->copy_in && w->copy_in[i]; i++)
		g_strv_builder_add_many(b, "--copy-in", w->copy_in[i], NULL);
	g_strv_builder_add(b, "--");
	/* command and args may be absent (NULL): addv takes no NULL */
	if (w->image && w->command)
		g_strv_builder_addv(b, (const char **)w->command);
	else if (!w->image)
		g_strv_builder_add(b, target);
	if (w->args)
		g_strv_builder_addv(b, (const char **)w->args);
	return g_strv_builder_end(b);
}

static void add_double(JsonBuilder *b, const char *key, double v)
{
	json_builder_set_member_name(b, key);
	json_builder_add_double_value(b, v);
}

static void add_int(JsonBuilder *b, const char *key, gint64 v)
{
	json_builder_set_member_name(b, key);
	json_builder_add_int_value(b, v);
}

/* The members every result.json starts with. */
static void begin_result(JsonBuilder *b, const SvLabUnit *u)
{
	json_builder_begin_object(b);
	sv_lab_json_add_str(b, "id", u->id);
	sv_lab_json_add_str(b, "kind", u->kind == SV_LAB_UNIT_CELL ? "cell" : "baseline");
	sv_lab_json_add_str(b, "input_hash", u->input_hash);
	sv_lab_json_add_str(b, "workload", u->workload->name);
	sv_lab_json_add_str(b, "arch", u->arch);
	sv_lab_json_add_str(b, "accel", u->accel);
	if (u->kind == SV_LAB_UNIT_CELL) {
		sv_lab_json_add_str(b, "checkpoint_at", u->point_label);
		sv_lab_json_add_str(b, "restore_on", u->target_label);
		sv_lab_json_add_str(b, "restore_accel", u->restore_accel);
		sv_lab_json_add_str(b, "baseline", u->baseline_id);
	}
}

static gboolean end_result(JsonBuilder *b, const SvLabExecContext *ctx, const SvLabUnit *u,
			   const char *started, JsonObject *checkpoint_where, GError **error)
{
	g_autofree char *finished = sv_lab_now_iso8601();
	sv_lab_json_add_str(b, "started", started);
	sv_lab_json_add_str(b, "finished", finished);
	sv_lab_provenance_add(b, u->arch, u->accel, ctx->manifest->sha256, u->program_sha256,
			      u->image_sha256, checkpoint_where);
	json_builder_end_object(b);
	g_autofree char *path = sv_lab_unit_file(ctx->results, u->id, SV_LAB_RESULT_FILE);
	return sv_lab_write_json(path, b, error);
}

/* Why a snapvm command failed: its exit status and its last stderr line. */
static char *command_failure(const char *what, int code, const char *stderr_path)
{
	g_autofree char *last = sv_lab_error_line(stderr_path);
	g_autofree char *base = g_path_get_basename(stderr_path);
	return g_strdup_printf("%s exited %d: %s (log: %s)", what, code, last ? last : "no message",
			       base);
}

/* Member "outputs": each declared output's copy (file name) and sha256. */
static void add_outputs(JsonBuilder *b, const SvLabWorkload *w, const char *run_prefix)
{
	if (!w->outputs || !w->outputs[0])
		return;
	json_builder_set_member_name(b, "outputs");
	json_builder_begin_object(b);
	for (guint i = 0; w->outputs[i]; i++) {
		g_autofree char *file = output_file(run_prefix, w, i);
		g_autofree char *name = g_path_get_basename(file);
		g_autoptr(GMappedFile) f = g_mapped_file_new(file, FALSE, NULL);
		g_autofree char *sha =
			f ? g_compute_checksum_for_data(G_CHECKSUM_SHA256,
							(guchar *)g_mapped_file_get_contents(f),
							g_mapped_file_get_length(f))
			  : NULL;
		json_builder_set_member_name(b, w->outputs[i]);
		json_builder_begin_object(b);
		sv_lab_json_add_str(b, "file", name);
		sv_lab_json_add_str(b, "sha256", sha);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
}

static gboolean exec_baseline(const SvLabExecContext *ctx, const SvLabUnit *u, GError **error)
{
	g_autofree char *started = sv_lab_now_iso8601();
	g_autoptr(JsonBuilder) b = json_builder_new();
	begin_result(b, u);
	g_autofree char *reason = NULL;
	json_builder_set_member_name(b, "runs");
	json_builder_begin_array(b);
	for (gint i = 1; i <= ctx->manifest->reference_runs && !reason; i++) {
		g_autofree char *out_name = g_strdup_printf("ref-%d.stdout", i);
		g_autofree char *err_name = g_strdup_printf("ref-%d.stderr", i);
		g_autofree char *out = sv_lab_unit_file(ctx->results, u->id, out_name);
		g_autofree char *err = sv_lab_unit_file(ctx->results, u->id, err_name);
		g_autofree char *run_name = g_strdup_printf("ref-%d", i);
		g_autofree char *prefix = sv_lab_unit_file(ctx->results, u->id, run_name);
		g_auto(GStrv) argv = run_argv("run", u, u->accel, NULL, u->program, NULL, prefix);
		SvLabProc p;
		g_autoptr(GError) e = NULL;
		if (!sv_lab_proc_start((const char *const *)argv, out, err, &p, &e) ||
		    !sv_lab_proc_wait(&p, u->workload->timeout_s, &e)) {
			reason = g_strdup_printf("reference run %d: %s", i, e->message);
			break;
		}
		int code = sv_lab_proc_exit_code(&p);
		if (code == 125 || code == 130) {
			g_autofree char *what = g_strdup_printf("reference run %d: snapvm run", i);
			reason = command_failure(what, code, err);
			break;
		}
		g_autofree char *data = NULL;
		gsize len = 0;
		g_file_get_contents(out, &data, &len, NULL);
		g_autofree char *sha = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
								   (guchar *)data, len);
		json_builder_begin_object(b);
		sv_lab_json_add_str(b, "stdout", out_name);
		sv_lab_json_add_str(b, "stdout_sha256", sha);
		add_int(b, "exit_code", code);
		add_double(b, "seconds", p.seconds);
		add_outputs(b, u->workload, prefix);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	sv_lab_json_add_str(b, "verdict", reason ? "failed" : "ok");
	sv_lab_json_add_str(b, "reason", reason);
	return end_result(b, ctx, u, started, NULL, error);
}

/* The guest pid `snapvm run --pid-file` wrote, or 0 while the guest is
 * still booting. */
static guint32 read_pid_file(const char *path)
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	guint64 pid = 0;
	if (!g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, G_MAXINT32, &pid, NULL))
		return 0;
	return (guint32)pid;
}

/* Lines a growing output file holds, counted as it grows: only the bytes
 * written since the last look are read. */
typedef struct LineCount {
	gint64 offset, lines;
} LineCount;

static gint64 count_lines(const char *path, LineCount *lc)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lc->lines;
	char buf[65536];
	ssize_t n;
	while ((n = pread(fd, buf, sizeof(buf), lc->offset)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			lc->lines += buf[i] == '\n';
		lc->offset += n;
	}
	close(fd);
	return lc->lines;
}

typedef struct CheckpointPhase {
	char *reason; /* set when the phase failed */
	guint32 pid;
	int exit_code;
	double original_s, workload_s, checkpoint_s;
	JsonNode *checkpoint; /* snapvm checkpoint --json */
	char *snapshot_sha256;
	char *snapshot_format;
	gint64 snapshot_bytes;
} CheckpointPhase;

static void checkpoint_phase_clear(CheckpointPhase *c)
{
	g_free(c->reason);
	g_clear_pointer(&c->checkpoint, json_node_unref);
	g_free(c->snapshot_sha256);
	g_free(c->snapshot_format);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CheckpointPhase, checkpoint_phase_clear)

static gboolean point_reached(const SvLabUnit *u, gint64 seen_us, const char *out, LineCount *lc)
{
	if (u->point.kind == SV_LAB_POINT_SECONDS)
		return g_get_monotonic_time() - seen_us >=
		       (gint64)(u->point.seconds * G_USEC_PER_SEC);
	return count_lines(out, lc) >= u->point.lines;
}

static void describe_snapshot(const char *path, CheckpointPhase *c)
{
	g_autoptr(GMappedFile) f = g_mapped_file_new(path, FALSE, NULL);
	if (f) {
		c->snapshot_sha256 =
			g_compute_checksum_for_data(G_CHECKSUM_SHA256,
						    (guchar *)g_mapped_file_get_contents(f),
						    g_mapped_file_get_length(f));
		c->snapshot_bytes = (gint64)g_mapped_file_get_length(f);
	}
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(path, NULL);
	if (r)
		c->snapshot_format = g_strdup_printf("%u.%u", SV_SNAP_MAJOR,
						     sv_snapshot_reader_minor(r));
}

/* Runs the workload, checkpoints it at the point and lets it finish. */
static void run_checkpoint(const SvLabExecContext *ctx, const SvLabUnit *u, CheckpointPhase *c)
{
	g_autofree char *out = sv_lab_unit_file(ctx->results, u->id, "original.stdout");
	g_autofree char *err = sv_lab_unit_file(ctx->results, u->id, "original.stderr");
	g_autofree char *snap = sv_lab_unit_file(ctx->results, u->id, SV_LAB_SNAPSHOT_FILE);
	g_autofree char *cp_err = sv_lab_unit_file(ctx->results, u->id, "checkpoint.stderr");
	g_autofree char *pid_file = sv_lab_unit_file(ctx->results, u->id, "original.pid");
	g_autofree char *name = g_strdup_printf("lab%d-%08x", getpid(), g_random_int());
	g_autofree char *prefix = sv_lab_unit_file(ctx->results, u->id, "original");
	g_auto(GStrv) argv = run_argv("run", u, u->accel, name, u->program, pid_file, prefix);
	SvLabProc run;
	g_autoptr(GError) e = NULL;
	g_unlink(snap);
	g_unlink(pid_file);
	if (!sv_lab_proc_start((const char *const *)argv, out, err, &run, &e)) {
		c->reason = g_strdup_printf("snapvm run: %s", e->message);
		return;
	}
	gint64 deadline = run.started_us + (gint64)(u->workload->timeout_s * G_USEC_PER_SEC);
	gint64 seen_us = 0;
	LineCount lc = { 0 };
	while (!sv_lab_proc_poll(&run) && g_get_monotonic_time() < deadline &&
	       !sv_lab_proc_stop_requested()) {
		if (!c->pid) {
			c->pid = read_pid_file(pid_file);
			seen_us = g_get_monotonic_time();
		}
		if (c->pid && point_reached(u, seen_us, out, &lc))
			break;
		g_usleep(WATCH_INTERVAL_US);
	}
	if (run.exited) {
		c->reason =
			run.wait_status && sv_lab_proc_exit_code(&run) == 125
				? command_failure("snapvm run", 125, err)
				: g_strdup_printf("the workload ended (exit %d, %" G_GINT64_FORMAT
						  " lines) before checkpoint point %s",
						  sv_lab_proc_exit_code(&run),
						  count_lines(out, &lc), u->point_label);
		return;
	}
	if (sv_lab_proc_stop_requested()) {
		sv_lab_proc_stop(&run);
		c->reason = g_strdup("interrupted (the lab run was cancelled)");
		return;
	}
	if (g_get_monotonic_time() >= deadline) {
		sv_lab_proc_stop(&run);
		c->reason = g_strdup_printf("checkpoint point %s not reached within the "
					    "workload's timeout (%.0f s)",
					    u->point_label, u->workload->timeout_s);
		return;
	}
	g_autofree char *cp_out = NULL, *cp_stderr = NULL;
	gint64 cp_start = g_get_monotonic_time();
	g_autofree char *pid = g_strdup_printf("%u", c->pid);
	const char *cp[] = { sv_lab_snapvm_path(), "checkpoint", name, "--pid", pid, "-o", snap,
			     "--leave-running",	   "--json",	 NULL };
	gboolean ok = sv_lab_proc_capture(cp, COMMAND_TIMEOUT_S, &cp_out, &cp_stderr, &e);
	c->checkpoint_s = (g_get_monotonic_time() - cp_start) / (double)G_USEC_PER_SEC;
	g_file_set_contents(cp_err, cp_stderr ? cp_stderr : "", -1, NULL);
	if (ok) {
		g_autoptr(JsonParser) p = json_parser_new();
		if (json_parser_load_from_data(p, cp_out, -1, NULL) &&
		    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
			c->checkpoint = json_node_copy(json_parser_get_root(p));
		else
			c->reason = g_strdup("snapvm checkpoint --json printed no JSON object");
	} else {
		/* a short workload may end while its checkpoint starts: say so */
		g_usleep(G_USEC_PER_SEC);
		if (sv_lab_proc_poll(&run))
			c->reason = g_strdup_printf(
				"the workload ended (exit %d) before checkpoint point %s could be "
				"taken; give it more steps or an earlier point (snapvm checkpoint: %s)",
				sv_lab_proc_exit_code(&run), u->point_label, e->message);
		else
			c->reason = g_strdup_printf("%s (log: checkpoint.stderr)", e->message);
	}
	/* the original carries on either way and its whole output is compared */
	g_clear_error(&e);
	double left = MAX(1.0, (deadline - g_get_monotonic_time()) / (double)G_USEC_PER_SEC);
	if (!sv_lab_proc_wait(&run, left, &e)) {
		if (!c->reason)
			c->reason = g_strdup_printf("original run: %s", e->message);
		return;
	}
	c->exit_code = sv_lab_proc_exit_code(&run);
	c->original_s = run.seconds;
	c->workload_s = (g_get_monotonic_time() - seen_us) / (double)G_USEC_PER_SEC;
	if (!c->reason && (c->exit_code == 125 || c->exit_code == 130))
		c->reason = command_failure("snapvm run (the original)", c->exit_code, err);
	if (!c->reason)
		describe_snapshot(snap, c);
}

static gboolean exec_checkpoint(const SvLabExecContext *ctx, const SvLabUnit *u, GError **error)
{
	g_autofree char *started = sv_lab_now_iso8601();
	g_auto(CheckpointPhase) c = { 0 };
	run_checkpoint(ctx, u, &c);
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	sv_lab_json_add_str(b, "input_hash", u->input_hash);
	sv_lab_json_add_str(b, "started", started);
	sv_lab_json_add_str(b, "reason", c.reason);
	add_int(b, "pid", c.pid);
	add_int(b, "exit_code", c.exit_code);
	add_double(b, "original_s", c.original_s);
	add_double(b, "workload_s", c.workload_s);
	add_double(b, "checkpoint_s", c.checkpoint_s);
	sv_lab_json_add_str(b, "snapshot_sha256", c.snapshot_sha256);
	sv_lab_json_add_str(b, "snapshot_format", c.snapshot_format);
	add_int(b, "snapshot_bytes", c.snapshot_bytes);
	/* for the restore's provenance, which may run on another node */
	json_builder_set_member_name(b, "where");
	json_builder_begin_object(b);
	sv_lab_where_add(b);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "checkpoint");
	if (c.checkpoint)
		json_builder_add_value(b, json_node_copy(c.checkpoint));
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	g_autofree char *path = sv_lab_unit_file(ctx->results, u->id, SV_LAB_CHECKPOINT_FILE);
	return sv_lab_write_json(path, b, error);
}

static GBytes *read_bytes(const char *path)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &data, &len, NULL))
		return g_bytes_new(NULL, 0);
	return g_bytes_new_take(g_steal_pointer(&data), len);
}

/* The baseline's reference runs, or NULL with *ret_reason. */
static GArray *load_references(const SvLabExecContext *ctx, const SvLabUnit *u, double *ret_mean_s,
			       char **ret_reason)
{
	g_autofree char *path = sv_lab_unit_file(ctx->results, u->baseline_id, SV_LAB_RESULT_FILE);
	g_autoptr(GError) e = NULL;
	g_autoptr(JsonNode) n = sv_lab_read_json(path, &e);
	if (!n) {
		*ret_reason = g_strdup_printf("baseline %s has no result: %s", u->baseline_id,
					      e->message);
		return NULL;
	}
	JsonObject *o = json_node_get_object(n);
	if (g_strcmp0(json_object_get_string_member_with_default(o, "verdict", ""), "ok")) {
		*ret_reason =
			g_strdup_printf("baseline %s failed: %s", u->baseline_id,
					json_object_get_string_member_with_default(o, "reason",
										   "no reason"));
		return NULL;
	}
	JsonArray *runs = json_object_has_member(o, "runs")
				  ? json_object_get_array_member(o, "runs")
				  : NULL;
	guint n_runs = runs ? json_array_get_length(runs) : 0;
	if (n_runs == 0) {
		*ret_reason = g_strdup_printf("baseline %s has no runs", u->baseline_id);
		return NULL;
	}
	GArray *refs = g_array_new(FALSE, TRUE, sizeof(SvLabRunOutput));
	double total = 0;
	for (guint i = 0; i < n_runs; i++) {
		JsonObject *r = json_array_get_object_element(runs, i);
		const char *name = r ? json_object_get_string_member_with_default(r, "stdout", "")
				     : "";
		/* the name is ours, but the file may have been edited: no paths */
		g_autofree char *base = g_path_get_basename(name);
		g_autofree char *file = sv_lab_unit_file(ctx->results, u->baseline_id, base);
		SvLabRunOutput out = {
			.out = read_bytes(file),
			.exit_code = (int)json_object_get_int_member_with_default(r, "exit_code",
										  -1),
		};
		total += json_object_get_double_member_with_default(r, "seconds", 0);
		g_array_append_val(refs, out);
	}
	*ret_mean_s = total / n_runs;
	return refs;
}

static void clear_refs(GArray *refs)
{
	for (guint i = 0; refs && i < refs->len; i++)
		g_bytes_unref(g_array_index(refs, SvLabRunOutput, i).out);
	if (refs)
		g_array_unref(refs);
}

/* Judges declared output i as stdout was judged (same exit statuses), and
 * folds its verdict into j: a cell is as good as its worst output. */
static void judge_output(const SvLabExecContext *ctx, const SvLabUnit *u, guint i, GArray *refs,
			 const SvLabRunOutput *original, const SvLabRunOutput *restored,
			 SvLabJudgement *j)
{
	const SvLabWorkload *w = u->workload;
	g_autoptr(GArray) outs = g_array_new(FALSE, TRUE, sizeof(SvLabRunOutput));
	for (guint r = 0; r < refs->len; r++) {
		g_autofree char *run_name = g_strdup_printf("ref-%u", r + 1);
		g_autofree char *prefix = sv_lab_unit_file(ctx->results, u->baseline_id, run_name);
		g_autofree char *file = output_file(prefix, w, i);
		SvLabRunOutput o = { .out = read_bytes(file),
				     .exit_code = g_array_index(refs, SvLabRunOutput, r).exit_code };
		g_array_append_val(outs, o);
	}
	g_autofree char *orig_prefix = sv_lab_unit_file(ctx->results, u->id, "original");
	g_autofree char *rest_prefix = sv_lab_unit_file(ctx->results, u->id, "restored");
	g_autofree char *orig_file = output_file(orig_prefix, w, i);
	g_autofree char *rest_file = output_file(rest_prefix, w, i);
	SvLabRunOutput o = { .out = read_bytes(orig_file), .exit_code = original->exit_code };
	SvLabRunOutput r = { .out = read_bytes(rest_file), .exit_code = restored->exit_code };
	SvLabJudgement oj = { 0 };
	sv_lab_judge(sv_lab_manifest_comparator(ctx->manifest, w->outputs[i]),
		     (SvLabRunOutput *)outs->data, outs->len, &o, &r, &oj);
	j->restored = j->restored && oj.restored;
	if (oj.verdict > j->verdict) {
		j->verdict = oj.verdict;
		g_free(j->detail);
		j->detail = g_strdup_printf("output %s: %s", w->outputs[i],
					    oj.detail ? oj.detail : "differs");
	}
	sv_lab_judgement_clear(&oj);
	g_bytes_unref(o.out);
	g_bytes_unref(r.out);
	for (guint k = 0; k < outs->len; k++)
		g_bytes_unref(g_array_index(outs, SvLabRunOutput, k).out);
}

/* o's member name when it is an object, else NULL (o may be NULL). */
static JsonObject *object_member(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;
	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static gboolean exec_restore(const SvLabExecContext *ctx, const SvLabUnit *u, GError **error)
{
	g_autofree char *started = sv_lab_now_iso8601();
	g_autofree char *cp_path = sv_lab_unit_file(ctx->results, u->id, SV_LAB_CHECKPOINT_FILE);
	g_autofree char *snap = sv_lab_unit_file(ctx->results, u->id, SV_LAB_SNAPSHOT_FILE);
	g_autofree char *out = sv_lab_unit_file(ctx->results, u->id, "restored.stdout");
	g_autofree char *err = sv_lab_unit_file(ctx->results, u->id, "restored.stderr");
	g_autofree char *orig = sv_lab_unit_file(ctx->results, u->id, "original.stdout");
	g_autofree char *restored_prefix = sv_lab_unit_file(ctx->results, u->id, "restored");
	g_autofree char *reason = NULL;
	g_autoptr(GError) e = NULL;
	g_autoptr(JsonNode) cp = sv_lab_read_json(cp_path, &e);
	JsonObject *cpo = cp ? json_node_get_object(cp) : NULL;
	double mean_ref_s = 0;
	GArray *refs = NULL;
	SvLabProc p = { 0 };
	if (!cpo)
		reason = g_strdup_printf("no checkpoint phase: %s", e->message);
	else if (g_strcmp0(json_object_get_string_member_with_default(cpo, "input_hash", ""),
			   u->input_hash))
		reason = g_strdup("the checkpoint phase ran for other inputs");
	else if (json_object_get_string_member_with_default(cpo, "reason", NULL))
		reason = g_strdup(json_object_get_string_member(cpo, "reason"));
	if (!reason)
		refs = load_references(ctx, u, &mean_ref_s, &reason);
	if (!reason) {
		g_auto(GStrv) argv = run_argv("restore", u, u->restore_accel, NULL, snap, NULL,
					      restored_prefix);
		if (!sv_lab_proc_start((const char *const *)argv, out, err, &p, &e) ||
		    !sv_lab_proc_wait(&p, u->workload->timeout_s, &e))
			reason = g_strdup_printf("snapvm restore: %s", e->message);
		else if (sv_lab_proc_exit_code(&p) == 125 || sv_lab_proc_exit_code(&p) == 130)
			reason = command_failure("snapvm restore", sv_lab_proc_exit_code(&p), err);
	}
	SvLabJudgement j = { .verdict = SV_LAB_VERDICT_FAILED };
	if (!reason) {
		SvLabRunOutput original = {
			.out = read_bytes(orig),
			.exit_code = (int)json_object_get_int_member_with_default(cpo, "exit_code",
										  -1),
		};
		SvLabRunOutput restored = { .out = read_bytes(out),
					    .exit_code = sv_lab_proc_exit_code(&p) };
		sv_lab_judge(sv_lab_manifest_comparator(ctx->manifest, "stdout"),
			     (SvLabRunOutput *)refs->data, refs->len, &original, &restored, &j);
		g_bytes_unref(original.out);
		g_bytes_unref(restored.out);
		for (guint i = 0; u->workload->outputs && u->workload->outputs[i]; i++)
			judge_output(ctx, u, i, refs, &original, &restored, &j);
	}
	clear_refs(refs);
	if (!ctx->keep_snapshots)
		g_unlink(snap);

	g_autoptr(JsonBuilder) b = json_builder_new();
	begin_result(b, u);
	sv_lab_json_add_str(b, "verdict", sv_lab_verdict_name(j.verdict));
	json_builder_set_member_name(b, "restored");
	json_builder_add_boolean_value(b, j.restored);
	sv_lab_json_add_str(b, "detail", j.detail);
	sv_lab_json_add_str(b, "reason", reason);
	json_builder_set_member_name(b, "metrics");
	json_builder_begin_object(b);
	JsonObject *st = object_member(cpo, "checkpoint");
	double workload_s = cpo ? json_object_get_double_member_with_default(cpo, "workload_s", 0)
				: 0;
	double original_s = cpo ? json_object_get_double_member_with_default(cpo, "original_s", 0)
				: 0;
	double cell_s = original_s + p.seconds;
	add_double(b, "reference_s", mean_ref_s);
	add_double(b, "original_s", original_s);
	add_double(b, "workload_s", workload_s);
	add_double(b, "pause_ms",
		   st ? json_object_get_double_member_with_default(st, "pause_ms", 0) : 0);
	add_double(b, "checkpoint_ms",
		   st ? json_object_get_double_member_with_default(st, "total_ms", 0) : 0);
	add_int(b, "snapshot_bytes",
		cpo ? json_object_get_int_member_with_default(cpo, "snapshot_bytes", 0) : 0);
	add_double(b, "restore_s", p.seconds);
	add_double(b, "cell_s", cell_s);
	add_double(b, "overhead_s", reason ? 0 : MAX(0, cell_s - workload_s));
	json_builder_end_object(b);
	sv_lab_json_add_str(b, "snapshot_sha256",
			    cpo ? json_object_get_string_member_with_default(cpo, "snapshot_sha256",
									     NULL)
				: NULL);
	sv_lab_json_add_str(b, "snapshot_format",
			    cpo ? json_object_get_string_member_with_default(cpo, "snapshot_format",
									     NULL)
				: NULL);
	sv_lab_json_add_str(b, "checkpoint_started",
			    cpo ? json_object_get_string_member_with_default(cpo, "started", NULL)
				: NULL);
	sv_lab_judgement_clear(&j);
	return end_result(b, ctx, u, started, object_member(cpo, "where"), error);
}

static gboolean exec_phases(const SvLabExecContext *ctx, const SvLabUnit *u, SvLabPhase phase,
			    GError **error)
{
	/* a result for other inputs is stale from here on */
	g_autofree char *result = sv_lab_unit_file(ctx->results, u->id, SV_LAB_RESULT_FILE);
	if (phase != SV_LAB_PHASE_RESTORE)
		g_unlink(result);
	if (u->kind == SV_LAB_UNIT_BASELINE)
		return phase == SV_LAB_PHASE_RESTORE || exec_baseline(ctx, u, error);
	if (phase != SV_LAB_PHASE_RESTORE && !exec_checkpoint(ctx, u, error))
		return FALSE;
	return phase == SV_LAB_PHASE_CHECKPOINT || exec_restore(ctx, u, error);
}

gboolean sv_lab_exec_unit(const SvLabExecContext *ctx, const SvLabUnit *u, SvLabPhase phase,
			  GError **error)
{
	g_autofree char *dir = sv_lab_unit_dir(ctx->results, u->id);
	if (!sv_mkdir_p(dir, error))
		return FALSE;
	g_autofree char *state = sv_lab_state_begin(error);
	if (!state)
		return FALSE;
	gboolean ok = exec_phases(ctx, u, phase, error);
	sv_lab_state_end(state, dir);
	return ok;
}
