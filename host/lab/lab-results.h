/* SPDX-License-Identifier: MIT */
/*
 * lab-results.h - the results directory of a lab run, which every engine
 * and every node shares:
 *
 *   RESULTS/manifest.json          the manifest as the run read it
 *   RESULTS/plan.json              where its relative paths point, the units
 *   RESULTS/cells/<id>/result.json one per unit, written last and atomically:
 *                                  a unit without it did not finish
 *   RESULTS/cells/<id>/...         logs, outputs, the checkpoint phase's
 *                                  checkpoint.json, snapshot.svs (--keep-snapshots)
 *   RESULTS/report.json, report.html
 *
 * Every file is replaced atomically, so Ctrl-C or a killed job leaves the
 * directory consistent: a unit either has its result or is simply not done.
 */
#ifndef SNAPVM_LAB_RESULTS_H
#define SNAPVM_LAB_RESULTS_H

#include <json-glib/json-glib.h>

#include "host/lab/lab-manifest.h"
#include "host/lab/lab-matrix.h"

#define SV_LAB_RESULT_FILE "result.json"
#define SV_LAB_CHECKPOINT_FILE "checkpoint.json"
#define SV_LAB_SNAPSHOT_FILE "snapshot.svs"

char *sv_lab_unit_dir(const char *results, const char *id);
char *sv_lab_unit_file(const char *results, const char *id, const char *name);

/* Adds member key to the object b is building: value, or null if NULL. */
void sv_lab_json_add_str(JsonBuilder *b, const char *key, const char *value);

/* Writes b's JSON to path atomically (temporary file, fsync, rename). */
gboolean sv_lab_write_json(const char *path, JsonBuilder *b, GError **error);
/* Reads path as a JSON object; NULL with an error naming the file. */
JsonNode *sv_lab_read_json(const char *path, GError **error);

/* Copies the manifest into results (creating it) and writes plan.json. */
gboolean sv_lab_results_prepare(const char *results, const char *manifest_path,
				const SvLabManifest *m, GPtrArray *units, GError **error);
/* The manifest and units of a prepared results directory. */
gboolean sv_lab_results_open(const char *results, SvLabManifest **ret_manifest,
			     GPtrArray **ret_units, GError **error);

/* The unit's result.json if it holds a finished result for exactly these
 * inputs (same input hash, not failed); else NULL. A failed unit is run
 * again: its failure may have been the machine's, not the workload's. */
JsonObject *sv_lab_result_done(const char *results, const SvLabUnit *u);

#endif
