/* SPDX-License-Identifier: MIT */
/* lab-results.c - the lab's results directory (lab-results.h). */
#include "host/lab/lab-results.h"

#include <string.h>

#include "base/errors.h"
#include "host/util/state-paths.h"

char *sv_lab_unit_dir(const char *results, const char *id)
{
	return g_build_filename(results, "cells", id, NULL);
}

char *sv_lab_unit_file(const char *results, const char *id, const char *name)
{
	return g_build_filename(results, "cells", id, name, NULL);
}

void sv_lab_json_add_str(JsonBuilder *b, const char *key, const char *value)
{
	json_builder_set_member_name(b, key);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

gboolean sv_lab_write_json(const char *path, JsonBuilder *b, GError **error)
{
	g_autoptr(JsonGenerator) g = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	json_generator_set_pretty(g, TRUE);
	gsize len = 0;
	g_autofree char *s = json_generator_to_data(g, &len);
	return g_file_set_contents_full(path, s, (gssize)len,
					G_FILE_SET_CONTENTS_CONSISTENT |
						G_FILE_SET_CONTENTS_DURABLE,
					0644, error);
}

JsonNode *sv_lab_read_json(const char *path, GError **error)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) e = NULL;
	if (!json_parser_load_from_mapped_file(p, path, &e)) {
		g_set_error(error, SV_ERROR,
			    g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT)
				    ? SV_ERROR_NOT_FOUND
				    : SV_ERROR_INVALID_DATA,
			    "%s: %s", path, e->message);
		return NULL;
	}
	JsonNode *root = json_parser_get_root(p);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA, "%s: not a JSON object", path);
		return NULL;
	}
	return json_node_copy(root);
}

gboolean sv_lab_results_prepare(const char *results, const char *manifest_path,
				const SvLabManifest *m, GPtrArray *units, GError **error)
{
	g_autofree char *cells = g_build_filename(results, "cells", NULL);
	if (!sv_mkdir_p(cells, error))
		return FALSE;
	g_autofree char *data = NULL;
	gsize len = 0;
	if (!g_file_get_contents(manifest_path, &data, &len, error))
		return FALSE;
	g_autofree char *copy = g_build_filename(results, "manifest.json", NULL);
	if (!g_file_set_contents_full(copy, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
				      error))
		return FALSE;
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "experiment");
	json_builder_add_string_value(b, m->experiment);
	json_builder_set_member_name(b, "manifest_dir");
	json_builder_add_string_value(b, m->dir);
	json_builder_set_member_name(b, "manifest_sha256");
	json_builder_add_string_value(b, m->sha256);
	json_builder_set_member_name(b, "units");
	json_builder_begin_array(b);
	for (guint i = 0; i < units->len; i++) {
		const SvLabUnit *u = g_ptr_array_index(units, i);
		json_builder_add_string_value(b, u->id);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	g_autofree char *plan = g_build_filename(results, "plan.json", NULL);
	return sv_lab_write_json(plan, b, error);
}

gboolean sv_lab_results_open(const char *results, SvLabManifest **ret_manifest,
			     GPtrArray **ret_units, GError **error)
{
	g_autofree char *plan_path = g_build_filename(results, "plan.json", NULL);
	g_autoptr(JsonNode) plan = sv_lab_read_json(plan_path, error);
	if (!plan)
		return FALSE;
	const char *dir = json_object_get_string_member_with_default(json_node_get_object(plan),
								     "manifest_dir", NULL);
	if (!dir) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA, "%s: no manifest_dir",
			    plan_path);
		return FALSE;
	}
	g_autofree char *copy = g_build_filename(results, "manifest.json", NULL);
	g_autofree char *data = NULL;
	gsize len = 0;
	if (!g_file_get_contents(copy, &data, &len, error))
		return FALSE;
	g_autoptr(SvLabManifest) m = sv_lab_manifest_parse(data, len, copy, dir, error);
	if (!m)
		return FALSE;
	GPtrArray *units = sv_lab_matrix_expand(m, error);
	if (!units)
		return FALSE;
	*ret_units = units;
	*ret_manifest = g_steal_pointer(&m);
	return TRUE;
}

JsonObject *sv_lab_result_done(const char *results, const SvLabUnit *u)
{
	g_autofree char *path = sv_lab_unit_file(results, u->id, SV_LAB_RESULT_FILE);
	g_autoptr(JsonNode) n = sv_lab_read_json(path, NULL);
	if (!n)
		return NULL;
	JsonObject *o = json_node_get_object(n);
	const char *hash = json_object_get_string_member_with_default(o, "input_hash", "");
	const char *verdict = json_object_get_string_member_with_default(o, "verdict", "failed");
	if (strcmp(hash, u->input_hash) || !strcmp(verdict, "failed"))
		return NULL;
	return json_object_ref(o);
}
