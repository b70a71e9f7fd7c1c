/* SPDX-License-Identifier: MIT */
/*
 * cli-restore-follow.c - the end of `snapvm restore` once the process
 * runs, when it has figures to give (--json) or pages still to send
 * (--lazy: host/restore/lazy-host.c serves the guest's pager from a
 * thread while this one streams the process's output). --json without
 * --detach prints, once the process has exited, one JSON object on
 * stderr (stdout is the process's): the times from the command's start
 * to the process running, to its first output, and with --lazy to the
 * last page placed.
 */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <unistd.h>

#include "host/cli/cli-restore-follow.h"
#include "host/cli/cli-run-files.h"
#include "host/util/io-util.h"

/* Streams pid's output until it exits (*ret_status), noting when the
 * first byte came (*first_ms, -1 if none). */
static gboolean stream_timed(SvAgentClient *agent, guint32 pid, gboolean verbose, double *first_ms,
			     int *ret_status, GError **error)
{
	*first_ms = -1;
	for (;;) {
		g_auto(SvAgentFrame) f = { 0 };
		SvRestoreProcessEvent ev;
		if (!sv_restore_recv_process(agent, pid, -1, &f, &ev, error))
			return FALSE;
		if (ev.exited) {
			*ret_status = ev.status;
			return TRUE;
		}
		if (*first_ms < 0) {
			*first_ms = sv_cli_elapsed_ms();
			sv_cli_verbose(verbose, "restore", "first output from the process");
		}
		sv_write_all_fd(ev.stream == 1 ? STDOUT_FILENO : STDERR_FILENO, ev.bytes, ev.len);
	}
}

static void print_json(const SvCliRestoreFollow *f, double first_ms, const SvLazyStats *st,
		       double last_page_ms, int rc)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "pid");
	json_builder_add_int_value(b, f->pid);
	json_builder_set_member_name(b, "lazy");
	json_builder_add_boolean_value(b, f->lazy);
	json_builder_set_member_name(b, "guest");
	json_builder_add_string_value(b, f->guest_from ? f->guest_from : "boot");
	if (f->base_fallback) {
		json_builder_set_member_name(b, "base_fallback");
		json_builder_add_string_value(b, f->base_fallback);
	}
	json_builder_set_member_name(b, "running_ms");
	json_builder_add_int_value(b, (gint64)f->running_ms);
	json_builder_set_member_name(b, "first_output_ms");
	if (first_ms >= 0)
		json_builder_add_int_value(b, (gint64)first_ms);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "pages");
	json_builder_add_int_value(b, (gint64)f->pages);
	if (f->lazy) {
		json_builder_set_member_name(b, "lazy_pages");
		json_builder_add_int_value(b, (gint64)f->lazy_pages);
		json_builder_set_member_name(b, "last_page_ms");
		if (last_page_ms >= 0)
			json_builder_add_int_value(b, (gint64)last_page_ms);
		else
			json_builder_add_null_value(b);
		json_builder_set_member_name(b, "lazy_chunks");
		json_builder_add_int_value(b, st->chunks);
		json_builder_set_member_name(b, "lazy_chunks_wanted");
		json_builder_add_int_value(b, st->wanted);
		json_builder_set_member_name(b, "lazy_faults");
		json_builder_add_int_value(b, (gint64)st->faults);
		json_builder_set_member_name(b, "lazy_zero_faults");
		json_builder_add_int_value(b, (gint64)st->zero_faults);
		json_builder_set_member_name(b, "lazy_host_cpu_ms");
		json_builder_add_int_value(b, st->cpu_us / 1000);
	}
	json_builder_set_member_name(b, "exit_code");
	json_builder_add_int_value(b, rc);
	json_builder_end_object(b);
	g_autoptr(JsonGenerator) g = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	g_autofree char *text = json_generator_to_data(g, NULL);
	fprintf(stderr, "%s\n", text);
}

/* The server's end: its figures, and the ms (from the command's start)
 * the last page was placed, -1 if it was not. */
static double finish_server(SvCliRestoreFollow *f, gboolean wait, SvLazyStats *st)
{
	if (!f->server)
		return -1;
	sv_lazy_server_finish(g_steal_pointer(&f->server), wait, st);
	if (st->error)
		fprintf(stderr, "snapvm restore: --lazy: %s\n", st->error);
	if (!st->done_us)
		return -1;
	return sv_cli_elapsed_ms() - (g_get_monotonic_time() - st->done_us) / 1000.0;
}

/* --detach --lazy, interrupted (Ctrl-C, SIGTERM, SIGHUP) before the last
 * page was placed: the process cannot run without the pages still to
 * come, and would wait on its next fault for ever - it goes with its VM,
 * and the user is told. */
static int interrupted_lazy(SvCliGuest *g, SvCliRestoreFollow *f, const SvCliVmOptions *o)
{
	g_auto(SvLazyStats) st = { 0 };
	finish_server(f, FALSE, &st);
	fprintf(stderr,
		"snapvm restore: interrupted while process %u's pages were still arriving "
		"(%.1f of %.1f MiB sent): it cannot run without the rest, so it is killed with "
		"VM %s, which is stopped (restore again to run it)\n",
		f->pid, st.bytes / 1048576.0, f->lazy_pages * 4096 / 1048576.0, g->machine->name);
	return sv_cli_end_vm("restore", g->machine, FALSE, SV_EXIT_INTERRUPTED, NULL, o->verbose);
}

int sv_cli_restore_follow(SvCliGuest *g, SvCliRestoreFollow *f, char **copy_out,
			  const SvCliVmOptions *o)
{
	g_auto(SvLazyStats) st = { 0 };
	if (o->detach) {
		/* the pages still to come need this process: it goes once the
		 * last is placed */
		if (f->server) {
			sv_cli_verbose(o->verbose, "restore", "waiting for the last lazy page");
			if (!sv_lazy_server_wait(f->server, f->interrupt_fd))
				return interrupted_lazy(g, f, o);
			finish_server(f, TRUE, &st);
		}
		sv_cli_print_detached(g->machine, f->pid, o->json);
		return sv_cli_end_vm("restore", g->machine, TRUE, 0, NULL, o->verbose);
	}
	g_autoptr(GError) error = NULL;
	int status = 0, rc = SV_EXIT_FAILURE;
	double first_ms = -1;
	gboolean ok = stream_timed(g->agent, f->pid, o->verbose, &first_ms, &status, &error);
	/* the process has exited: what it did not touch is not waited for */
	double last_page_ms = finish_server(f, FALSE, &st);
	if (ok && copy_out)
		ok = sv_run_files_copy_out(g->agent, copy_out, "/", &error);
	if (ok) {
		rc = sv_cli_exit_code(status);
		sv_cli_verbose(o->verbose, "restore", "process exited, status %d", rc);
		if (o->json)
			print_json(f, first_ms, &st, last_page_ms, rc);
	}
	return sv_cli_end_vm("restore", g->machine, FALSE, rc, g_steal_pointer(&error), o->verbose);
}
