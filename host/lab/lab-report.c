/* SPDX-License-Identifier: MIT */
/* lab-report.c - report.json and the terminal summary (lab-report.h). */
#include "host/lab/lab-report.h"

#include <string.h>

#include "host/lab/lab-matrix.h"
#include "host/lab/lab-provenance.h"
#include "host/lab/lab-results.h"
#include "host/lab/lab-verdict.h"
#include "host/util/text-escape.h"

JsonNode *sv_lab_report_build(const char *results, const SvLabManifest *m, GPtrArray *units)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonBuilder) cells = json_builder_new();
	g_autoptr(JsonBuilder) bases = json_builder_new();
	g_autoptr(JsonBuilder) missing = json_builder_new();
	guint counts[SV_LAB_VERDICT_COUNT] = { 0 }, restored = 0, done = 0;
	json_builder_begin_array(cells);
	json_builder_begin_array(bases);
	json_builder_begin_array(missing);
	for (guint i = 0; i < units->len; i++) {
		const SvLabUnit *u = g_ptr_array_index(units, i);
		g_autofree char *path = sv_lab_unit_file(results, u->id, SV_LAB_RESULT_FILE);
		g_autoptr(JsonNode) n = sv_lab_read_json(path, NULL);
		JsonObject *o = n ? json_node_get_object(n) : NULL;
		/* a result for other inputs is not this run's */
		if (!o || g_strcmp0(json_object_get_string_member_with_default(o, "input_hash", ""),
				    u->input_hash)) {
			json_builder_add_string_value(missing, u->id);
			continue;
		}
		done++;
		if (u->kind == SV_LAB_UNIT_BASELINE) {
			json_builder_add_value(bases, g_steal_pointer(&n));
			continue;
		}
		SvLabVerdict v = sv_lab_verdict_from_name(
			json_object_get_string_member_with_default(o, "verdict", ""));
		if (v < SV_LAB_VERDICT_COUNT)
			counts[v]++;
		restored += json_object_get_boolean_member_with_default(o, "restored", FALSE);
		json_builder_add_value(cells, g_steal_pointer(&n));
	}
	json_builder_end_array(cells);
	json_builder_end_array(bases);
	json_builder_end_array(missing);

	g_autofree char *now = sv_lab_now_iso8601();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "experiment");
	json_builder_add_string_value(b, m->experiment);
	json_builder_set_member_name(b, "manifest_sha256");
	json_builder_add_string_value(b, m->sha256);
	json_builder_set_member_name(b, "generated");
	json_builder_add_string_value(b, now);
	json_builder_set_member_name(b, "units");
	json_builder_add_int_value(b, units->len);
	json_builder_set_member_name(b, "done");
	json_builder_add_int_value(b, done);
	json_builder_set_member_name(b, "counts");
	json_builder_begin_object(b);
	for (int v = 0; v < SV_LAB_VERDICT_COUNT; v++) {
		json_builder_set_member_name(b, sv_lab_verdict_name(v));
		json_builder_add_int_value(b, counts[v]);
	}
	json_builder_end_object(b);
	json_builder_set_member_name(b, "restored");
	json_builder_add_int_value(b, restored);
	json_builder_set_member_name(b, "cells");
	json_builder_add_value(b, json_builder_get_root(cells));
	json_builder_set_member_name(b, "baselines");
	json_builder_add_value(b, json_builder_get_root(bases));
	json_builder_set_member_name(b, "missing");
	json_builder_add_value(b, json_builder_get_root(missing));
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

gboolean sv_lab_report_write(const char *results, JsonNode *report, const char *html_path,
			     GError **error)
{
	g_autoptr(JsonGenerator) g = json_generator_new();
	json_generator_set_root(g, report);
	json_generator_set_pretty(g, TRUE);
	gsize len = 0;
	g_autofree char *json = json_generator_to_data(g, &len);
	g_autofree char *path = g_build_filename(results, "report.json", NULL);
	if (!g_file_set_contents_full(path, json, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
				      error))
		return FALSE;
	g_autofree char *html = sv_lab_html_render(report);
	g_autofree char *html_in = g_build_filename(results, "report.html", NULL);
	if (!g_file_set_contents_full(html_in, html, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
				      error))
		return FALSE;
	return !html_path || g_file_set_contents_full(html_path, html, -1,
						      G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

static gint64 member_int(JsonObject *o, const char *key)
{
	return json_object_get_int_member_with_default(o, key, 0);
}

void sv_lab_report_print(FILE *f, JsonNode *report)
{
	JsonObject *r = json_node_get_object(report);
	JsonObject *counts = json_object_get_object_member(r, "counts");
	JsonArray *cells = json_object_get_array_member(r, "cells");
	JsonArray *missing = json_object_get_array_member(r, "missing");
	g_autofree char *name = sv_text_for_terminal(json_object_get_string_member(r, "experiment"),
						     -1);
	fprintf(f,
		"experiment %s: %u cells done, %" G_GINT64_FORMAT " restored (same exit status)\n",
		name, json_array_get_length(cells), member_int(r, "restored"));
	for (int v = 0; v < SV_LAB_VERDICT_COUNT; v++)
		fprintf(f, "  %-26s %" G_GINT64_FORMAT "\n", sv_lab_verdict_name(v),
			member_int(counts, sv_lab_verdict_name(v)));
	if (json_array_get_length(missing))
		fprintf(f, "  %-26s %u\n", "not done", json_array_get_length(missing));
	for (guint i = 0; i < json_array_get_length(cells); i++) {
		JsonObject *c = json_array_get_object_element(cells, i);
		const char *v = json_object_get_string_member_with_default(c, "verdict", "");
		if (!strcmp(v, "bitwise") || !strcmp(v, "equivalent"))
			continue;
		const char *why = json_object_get_string_member_with_default(c, "reason", NULL);
		if (!why)
			why = json_object_get_string_member_with_default(c, "detail", "");
		g_autofree char *shown = sv_text_for_terminal(why ? why : "", -1);
		fprintf(f, "%s %s: %s\n", json_object_get_string_member(c, "id"), v, shown);
	}
	for (guint i = 0; i < json_array_get_length(missing); i++)
		fprintf(f, "%s: not done\n", json_array_get_string_element(missing, i));
}

gboolean sv_lab_report_all_good(JsonNode *report)
{
	JsonObject *r = json_node_get_object(report);
	JsonObject *counts = json_object_get_object_member(r, "counts");
	if (json_array_get_length(json_object_get_array_member(r, "missing")))
		return FALSE;
	for (int v = SV_LAB_VERDICT_DIFFERS; v < SV_LAB_VERDICT_COUNT; v++)
		if (member_int(counts, sv_lab_verdict_name(v)))
			return FALSE;
	return TRUE;
}
