/* SPDX-License-Identifier: MIT */
/*
 * lab-html.c - report.html: one static page, no script and nothing fetched,
 * so it opens anywhere a results directory is copied. The matrix is a table
 * (a row per workload, arch and accelerator; a column per checkpoint point
 * and restore target) coloured by verdict; the charts are inline SVG bars
 * per cell for checkpoint pause, snapshot size and restore time.
 */
#include <string.h>

#include "host/lab/lab-report.h"
#include "host/lab/lab-verdict.h"

/* Chart geometry in SVG user units. */
#define BAR_H 18
#define LABEL_W 300
#define PLOT_W 420
#define VALUE_W 110

static const char *const colours[] = {
	[SV_LAB_VERDICT_BITWISE] = "#2e7d32", [SV_LAB_VERDICT_EQUIVALENT] = "#81c784",
	[SV_LAB_VERDICT_DIFFERS] = "#e65100", [SV_LAB_VERDICT_NONDETERMINISTIC] = "#fbc02d",
	[SV_LAB_VERDICT_FAILED] = "#c62828",
};

static const char *colour_of(const char *verdict)
{
	SvLabVerdict v = sv_lab_verdict_from_name(verdict);
	return v < SV_LAB_VERDICT_COUNT ? colours[v] : "#9e9e9e";
}

static const char *str(JsonObject *o, const char *key)
{
	const char *s = o ? json_object_get_string_member_with_default(o, key, NULL) : NULL;
	return s ? s : "";
}

static double metric(JsonObject *cell, const char *key)
{
	JsonObject *m = json_object_has_member(cell, "metrics")
				? json_object_get_object_member(cell, "metrics")
				: NULL;
	return m ? json_object_get_double_member_with_default(m, key, 0) : 0;
}

/* Appends text HTML-escaped. */
static void esc(GString *s, const char *text)
{
	g_autofree char *e = g_markup_escape_text(text ? text : "", -1);
	g_string_append(s, e);
}

/* The distinct values of key across cells, in first-seen order. */
static GPtrArray *distinct(JsonArray *cells, const char *const *keys, guint n_keys)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < json_array_get_length(cells); i++) {
		JsonObject *c = json_array_get_object_element(cells, i);
		g_autoptr(GStrvBuilder) b = g_strv_builder_new();
		for (guint k = 0; k < n_keys; k++)
			g_strv_builder_add(b, str(c, keys[k]));
		g_auto(GStrv) parts = g_strv_builder_end(b);
		g_autofree char *v = g_strjoinv(" · ", parts);
		gboolean seen = FALSE;
		for (guint j = 0; j < out->len && !seen; j++)
			seen = !strcmp(out->pdata[j], v);
		if (!seen)
			g_ptr_array_add(out, g_steal_pointer(&v));
	}
	return out;
}

static char *key_of(JsonObject *c, const char *const *keys, guint n)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	for (guint k = 0; k < n; k++)
		g_strv_builder_add(b, str(c, keys[k]));
	g_auto(GStrv) parts = g_strv_builder_end(b);
	return g_strjoinv(" · ", parts);
}

static void matrix_table(GString *s, JsonArray *cells)
{
	static const char *const row_keys[] = { "workload", "arch", "accel" };
	static const char *const col_keys[] = { "checkpoint_at", "restore_on" };
	g_autoptr(GPtrArray) rows = distinct(cells, row_keys, 3);
	g_autoptr(GPtrArray) cols = distinct(cells, col_keys, 2);
	g_string_append(s, "<table class=matrix><tr><th>workload · arch · accel</th>");
	for (guint c = 0; c < cols->len; c++) {
		g_string_append(s, "<th>checkpoint ");
		esc(s, cols->pdata[c]);
		g_string_append(s, "</th>");
	}
	g_string_append(s, "</tr>\n");
	for (guint r = 0; r < rows->len; r++) {
		g_string_append(s, "<tr><th>");
		esc(s, rows->pdata[r]);
		g_string_append(s, "</th>");
		for (guint c = 0; c < cols->len; c++) {
			JsonObject *hit = NULL;
			for (guint i = 0; i < json_array_get_length(cells) && !hit; i++) {
				JsonObject *cell = json_array_get_object_element(cells, i);
				g_autofree char *rk = key_of(cell, row_keys, 3);
				g_autofree char *ck = key_of(cell, col_keys, 2);
				if (!strcmp(rk, rows->pdata[r]) && !strcmp(ck, cols->pdata[c]))
					hit = cell;
			}
			if (!hit) {
				g_string_append(s, "<td class=none>—</td>");
				continue;
			}
			const char *v = str(hit, "verdict");
			const char *why = *str(hit, "reason") ? str(hit, "reason")
							      : str(hit, "detail");
			g_string_append_printf(s, "<td style=\"background:%s\" title=\"",
					       colour_of(v));
			esc(s, why);
			g_string_append(s, "\">");
			esc(s, v);
			if (json_object_get_boolean_member_with_default(hit, "restored", FALSE))
				g_string_append(s, "<br><small>restored</small>");
			g_string_append(s, "</td>");
		}
		g_string_append(s, "</tr>\n");
	}
	g_string_append(s, "</table>\n");
}

/* A horizontal bar chart of one metric, a bar per cell. */
static void bar_chart(GString *s, JsonArray *cells, const char *title, const char *key,
		      double scale, const char *unit)
{
	guint n = json_array_get_length(cells);
	double max = 0;
	for (guint i = 0; i < n; i++)
		max = MAX(max, metric(json_array_get_object_element(cells, i), key) * scale);
	guint h = (n + 1) * (BAR_H + 4) + 10;
	g_string_append(s, "<h3>");
	esc(s, title);
	g_string_append_printf(s,
			       "</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
			       "height=\"%u\" role=\"img\" font-family=\"sans-serif\" "
			       "font-size=\"12\">\n",
			       LABEL_W + PLOT_W + VALUE_W, h);
	for (guint i = 0; i < n; i++) {
		JsonObject *c = json_array_get_object_element(cells, i);
		double v = metric(c, key) * scale;
		double w = max > 0 ? v / max * PLOT_W : 0;
		guint y = 5 + i * (BAR_H + 4);
		g_string_append_printf(s, "<text x=\"%d\" y=\"%u\" text-anchor=\"end\">",
				       LABEL_W - 6, y + BAR_H - 5);
		esc(s, str(c, "id"));
		g_string_append_printf(s,
				       "</text><rect x=\"%d\" y=\"%u\" width=\"%.1f\" "
				       "height=\"%d\" fill=\"%s\"/>"
				       "<text x=\"%.1f\" y=\"%u\">%.1f %s</text>\n",
				       LABEL_W, y, w, BAR_H, colour_of(str(c, "verdict")),
				       LABEL_W + w + 4, y + BAR_H - 5, v, unit);
	}
	g_string_append(s, "</svg>\n");
}

static void cell_table(GString *s, JsonArray *cells)
{
	g_string_append(s, "<table><tr><th>cell</th><th>verdict</th><th>restored</th>"
			   "<th>pause ms</th><th>snapshot KiB</th><th>restore s</th>"
			   "<th>cell s</th><th>detail</th></tr>\n");
	for (guint i = 0; i < json_array_get_length(cells); i++) {
		JsonObject *c = json_array_get_object_element(cells, i);
		const char *why = *str(c, "reason") ? str(c, "reason") : str(c, "detail");
		g_string_append(s, "<tr><td>");
		esc(s, str(c, "id"));
		g_string_append_printf(s, "</td><td style=\"background:%s;color:#fff\">",
				       colour_of(str(c, "verdict")));
		esc(s, str(c, "verdict"));
		g_string_append_printf(
			s,
			"</td><td>%s</td><td>%.1f</td><td>%.0f</td><td>%.1f</td><td>%.1f</td><td>",
			json_object_get_boolean_member_with_default(c, "restored", FALSE) ? "yes"
											  : "no",
			metric(c, "pause_ms"), metric(c, "snapshot_bytes") / 1024,
			metric(c, "restore_s"), metric(c, "cell_s"));
		esc(s, why);
		g_string_append(s, "</td></tr>\n");
	}
	g_string_append(s, "</table>\n");
}

static void provenance(GString *s, JsonArray *cells)
{
	g_string_append(s, "<h2>Provenance</h2>\n");
	for (guint i = 0; i < json_array_get_length(cells); i++) {
		JsonObject *c = json_array_get_object_element(cells, i);
		if (!json_object_has_member(c, "provenance"))
			continue;
		JsonObject *p = json_object_get_object_member(c, "provenance");
		g_string_append(s, "<details><summary>");
		esc(s, str(c, "id"));
		g_string_append(s, "</summary><table>");
		g_autoptr(GList) keys = json_object_get_members(p);
		for (GList *l = keys; l; l = l->next) {
			g_string_append(s, "<tr><th>");
			esc(s, l->data);
			g_string_append(s, "</th><td>");
			esc(s, str(p, l->data));
			g_string_append(s, "</td></tr>");
		}
		const char *extra[] = { "snapshot_sha256", "snapshot_format", "checkpoint_started",
					"started", "finished" };
		for (gsize k = 0; k < G_N_ELEMENTS(extra); k++) {
			g_string_append(s, "<tr><th>");
			esc(s, extra[k]);
			g_string_append(s, "</th><td>");
			esc(s, str(c, extra[k]));
			g_string_append(s, "</td></tr>");
		}
		g_string_append(s, "</table></details>\n");
	}
}

char *sv_lab_html_render(JsonNode *report)
{
	JsonObject *r = json_node_get_object(report);
	JsonArray *cells = json_object_get_array_member(r, "cells");
	JsonObject *counts = json_object_get_object_member(r, "counts");
	GString *s = g_string_new("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
				  "<title>snapvm lab: ");
	esc(s, str(r, "experiment"));
	g_string_append(
		s,
		"</title><style>body{font-family:sans-serif;margin:2em}"
		"table{border-collapse:collapse;margin:1em 0}"
		"td,th{border:1px solid #bbb;padding:4px 8px;text-align:left}"
		"table.matrix td{text-align:center;color:#fff;font-weight:bold;min-width:8em}"
		"td.none{background:#eee;color:#999}.legend span{padding:2px 8px;margin-right:6px;"
		"color:#fff}</style></head><body>\n<h1>snapvm lab: ");
	esc(s, str(r, "experiment"));
	g_string_append(s, "</h1>\n<p>manifest sha256 ");
	esc(s, str(r, "manifest_sha256"));
	g_string_append(s, ", generated ");
	esc(s, str(r, "generated"));
	g_string_append_printf(s,
			       "; %u cells, %" G_GINT64_FORMAT " restored with the same exit "
			       "status, %u units not done.</p>\n<p class=legend>",
			       json_array_get_length(cells),
			       json_object_get_int_member_with_default(r, "restored", 0),
			       json_array_get_length(json_object_get_array_member(r, "missing")));
	for (int v = 0; v < SV_LAB_VERDICT_COUNT; v++)
		g_string_append_printf(
			s, "<span style=\"background:%s\">%s: %" G_GINT64_FORMAT "</span>",
			colours[v], sv_lab_verdict_name(v),
			json_object_get_int_member_with_default(counts, sv_lab_verdict_name(v), 0));
	g_string_append(s, "</p>\n<h2>Matrix</h2>\n");
	matrix_table(s, cells);
	g_string_append(s, "<h2>Charts</h2>\n");
	bar_chart(s, cells, "Checkpoint pause (ms)", "pause_ms", 1, "ms");
	bar_chart(s, cells, "Snapshot size (KiB)", "snapshot_bytes", 1.0 / 1024, "KiB");
	bar_chart(s, cells, "Restore time (s: boot, resume and the rest of the run)", "restore_s",
		  1, "s");
	g_string_append(s, "<h2>Cells</h2>\n");
	cell_table(s, cells);
	provenance(s, cells);
	g_string_append(s, "</body></html>\n");
	return g_string_free(s, FALSE);
}
