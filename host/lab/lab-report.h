/* SPDX-License-Identifier: MIT */
/*
 * lab-report.h - a lab run's report: report.json (every unit's result, the
 * counts per verdict), a terminal summary, and report.html (lab-html.c).
 */
#ifndef SNAPVM_LAB_REPORT_H
#define SNAPVM_LAB_REPORT_H

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "host/lab/lab-manifest.h"

/* Gathers every unit's result.json into one report object:
 * {experiment, manifest_sha256, generated, units, done, counts{verdict: n},
 *  restored, cells[...], baselines[...], missing[ids]}. */
JsonNode *sv_lab_report_build(const char *results, const SvLabManifest *m, GPtrArray *units);
/* Writes report.json and report.html into results (html_path: elsewhere
 * too, if not NULL). */
gboolean sv_lab_report_write(const char *results, JsonNode *report, const char *html_path,
			     GError **error);
/* Counts per verdict and the failed or differing cells with their reasons. */
void sv_lab_report_print(FILE *f, JsonNode *report);
/* Every cell reproduced (bitwise or equivalent) and none missing. */
gboolean sv_lab_report_all_good(JsonNode *report);

/* The static HTML page of a report (lab-html.c). */
char *sv_lab_html_render(JsonNode *report);

#endif
