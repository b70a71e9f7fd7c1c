/* SPDX-License-Identifier: MIT */
/*
 * lab-manifest.c - reads and validates a `snapvm lab` manifest. The walk
 * carries the JSON path of the node it is looking at, so every error says
 * where ("$.matrix.checkpoint_at[2]: expected a number of seconds > 0 or
 * {\"after_lines\": N}") - the schema in docs/lab-manifest.schema.json
 * states the same rules for editors and other tools.
 */
#include "host/lab/lab-manifest.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "base/errors.h"
#include "include/snapvm/arch.h"

/* Bounds on what a manifest may ask for, so a hostile or mistyped one
 * cannot make the expansion itself run away. */
#define MAX_LIST 256
#define MAX_REFERENCE_RUNS 16

static const char *const ACCELS[] = { "tcg", "kvm", "auto", NULL };

static gboolean fail(GError **error, const char *path, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static gboolean fail(GError **error, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA, "manifest %s: %s", path, what);
	return FALSE;
}

static char *child_path(const char *path, const char *key)
{
	return g_strdup_printf("%s.%s", path, key);
}

static char *index_path(const char *path, guint i)
{
	return g_strdup_printf("%s[%u]", path, i);
}

/* Every member of obj is one of allowed, else an error naming the first
 * one that is not. */
static gboolean only_keys(JsonObject *obj, const char *path, const char *const *allowed,
			  GError **error)
{
	g_autoptr(GList) members = json_object_get_members(obj);
	for (GList *l = members; l; l = l->next) {
		if (g_strv_contains(allowed, l->data))
			continue;
		g_autofree char *p = child_path(path, l->data);
		g_autofree char *list = g_strjoinv(", ", (char **)allowed);
		return fail(error, p, "unknown key (expected one of: %s)", list);
	}
	return TRUE;
}

static gboolean get_string(JsonNode *n, const char *path, char **ret, GError **error)
{
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return fail(error, path, "expected a string");
	const char *s = json_node_get_string(n);
	if (!*s)
		return fail(error, path, "expected a non-empty string");
	*ret = g_strdup(s);
	return TRUE;
}

static gboolean get_number(JsonNode *n, const char *path, double *ret, GError **error)
{
	if (!JSON_NODE_HOLDS_VALUE(n))
		return fail(error, path, "expected a number");
	GType t = json_node_get_value_type(n);
	if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
		return fail(error, path, "expected a number");
	*ret = json_node_get_double(n);
	return TRUE;
}

static gboolean get_int(JsonNode *n, const char *path, gint64 lo, gint64 hi, gint64 *ret,
			GError **error)
{
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
		return fail(error, path, "expected an integer");
	gint64 v = json_node_get_int(n);
	if (v < lo || v > hi)
		return fail(error, path,
			    "expected an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
			    lo, hi);
	*ret = v;
	return TRUE;
}

static gboolean get_array(JsonNode *n, const char *path, gboolean nonempty, JsonArray **ret,
			  GError **error)
{
	if (!JSON_NODE_HOLDS_ARRAY(n))
		return fail(error, path, "expected an array");
	JsonArray *a = json_node_get_array(n);
	if (nonempty && json_array_get_length(a) == 0)
		return fail(error, path, "expected a non-empty array");
	if (json_array_get_length(a) > MAX_LIST)
		return fail(error, path, "more than %d entries", MAX_LIST);
	*ret = a;
	return TRUE;
}

/* An array of strings, each optionally one of allowed. */
static gboolean get_strv(JsonNode *n, const char *path, gboolean nonempty,
			 const char *const *allowed, char ***ret, GError **error)
{
	JsonArray *a;
	if (!get_array(n, path, nonempty, &a, error))
		return FALSE;
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	for (guint i = 0; i < json_array_get_length(a); i++) {
		g_autofree char *p = index_path(path, i);
		JsonNode *e = json_array_get_element(a, i);
		/* arguments may be empty strings; names may not */
		if (!allowed && JSON_NODE_HOLDS_VALUE(e) &&
		    json_node_get_value_type(e) == G_TYPE_STRING) {
			g_strv_builder_add(b, json_node_get_string(e));
			continue;
		}
		g_autofree char *s = NULL;
		if (!get_string(e, p, &s, error))
			return FALSE;
		if (allowed && !g_strv_contains(allowed, s)) {
			g_autofree char *list = g_strjoinv(", ", (char **)allowed);
			return fail(error, p, "\"%s\" is not one of: %s", s, list);
		}
		g_strv_builder_add(b, s);
	}
	*ret = g_strv_builder_end(b);
	return TRUE;
}

static char **arch_names(void)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	for (const SvArchOps *const *a = sv_arch_all(); *a; a++)
		g_strv_builder_add(b, (*a)->name);
	return g_strv_builder_end(b);
}

static char *resolve(const char *dir, const char *p)
{
	if (g_path_is_absolute(p))
		return g_canonicalize_filename(p, NULL);
	return g_canonicalize_filename(p, dir);
}

static void workload_free(SvLabWorkload *w)
{
	g_free(w->name);
	g_clear_pointer(&w->programs, g_hash_table_unref);
	g_free(w->image);
	g_strfreev(w->command);
	g_strfreev(w->args);
	g_strfreev(w->env);
	g_strfreev(w->copy_in);
	g_strfreev(w->outputs);
	g_free(w);
}

static gboolean parse_program(JsonNode *n, const char *path, const char *dir,
			      const char *const *arches, SvLabWorkload *w, GError **error)
{
	w->programs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (JSON_NODE_HOLDS_VALUE(n)) {
		g_autofree char *p = NULL;
		if (!get_string(n, path, &p, error))
			return FALSE;
		g_hash_table_insert(w->programs, g_strdup("*"), resolve(dir, p));
		return TRUE;
	}
	if (!JSON_NODE_HOLDS_OBJECT(n))
		return fail(error, path,
			    "expected a path or an object of paths per arch ({\"x86_64\": ...})");
	JsonObject *o = json_node_get_object(n);
	if (!only_keys(o, path, arches, error))
		return FALSE;
	if (json_object_get_size(o) == 0)
		return fail(error, path, "expected at least one arch's binary");
	g_autoptr(GList) members = json_object_get_members(o);
	for (GList *l = members; l; l = l->next) {
		g_autofree char *p = child_path(path, l->data);
		g_autofree char *s = NULL;
		if (!get_string(json_object_get_member(o, l->data), p, &s, error))
			return FALSE;
		g_hash_table_insert(w->programs, g_strdup(l->data), resolve(dir, s));
	}
	return TRUE;
}

static gboolean valid_name(const char *s)
{
	for (const char *c = s; *c; c++)
		if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_' && *c != '.')
			return FALSE;
	return *s && *s != '.';
}

static SvLabWorkload *parse_workload(JsonNode *n, const char *path, const char *dir,
				     const char *const *arches, GError **error)
{
	static const char *const keys[] = { "name", "program", "image",	  "command", "args",
					    "env",  "copy_in", "outputs", "timeout", NULL };
	if (!JSON_NODE_HOLDS_OBJECT(n)) {
		fail(error, path, "expected an object with name and program");
		return NULL;
	}
	JsonObject *o = json_node_get_object(n);
	if (!only_keys(o, path, keys, error))
		return NULL;
	SvLabWorkload *w = g_new0(SvLabWorkload, 1);
	w->timeout_s = SV_LAB_TIMEOUT_DEFAULT;
	g_autofree char *pn = child_path(path, "name");
	if (!json_object_has_member(o, "name")) {
		fail(error, pn, "missing (every workload needs a name)");
		goto bad;
	}
	if (!get_string(json_object_get_member(o, "name"), pn, &w->name, error))
		goto bad;
	if (!valid_name(w->name)) {
		fail(error, pn, "\"%s\": use letters, digits, '-', '_' and '.' only", w->name);
		goto bad;
	}
	gboolean has_program = json_object_has_member(o, "program");
	gboolean has_image = json_object_has_member(o, "image");
	if (has_program == has_image) {
		fail(error, path,
		     "expected exactly one of \"program\" or \"image\" (with \"command\")");
		goto bad;
	}
	if (has_program) {
		g_autofree char *p = child_path(path, "program");
		if (!parse_program(json_object_get_member(o, "program"), p, dir, arches, w, error))
			goto bad;
		if (json_object_has_member(o, "command")) {
			g_autofree char *pc = child_path(path, "command");
			fail(error, pc, "only with \"image\" (a program takes \"args\")");
			goto bad;
		}
	} else {
		g_autofree char *pi = child_path(path, "image");
		g_autofree char *pc = child_path(path, "command");
		if (!get_string(json_object_get_member(o, "image"), pi, &w->image, error))
			goto bad;
		if (!json_object_has_member(o, "command")) {
			fail(error, pc, "missing (an image workload needs a command)");
			goto bad;
		}
		if (!get_strv(json_object_get_member(o, "command"), pc, TRUE, NULL, &w->command,
			      error))
			goto bad;
	}
	struct {
		const char *key;
		char ***dst;
	} lists[] = {
		{ "args", &w->args },
		{ "copy_in", &w->copy_in },
		{ "outputs", &w->outputs },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
		g_autofree char *p = child_path(path, lists[i].key);
		if (json_object_has_member(o, lists[i].key) &&
		    !get_strv(json_object_get_member(o, lists[i].key), p, FALSE, NULL, lists[i].dst,
			      error))
			goto bad;
	}
	/* HOST[:GUEST], as `run --copy-in` takes it; a relative HOST is in
	 * the manifest's folder, so the lab runs the same from anywhere */
	for (guint i = 0; w->copy_in && w->copy_in[i]; i++) {
		const char *colon = strrchr(w->copy_in[i], ':');
		g_autofree char *host = colon ? g_strndup(w->copy_in[i], colon - w->copy_in[i])
					      : g_strdup(w->copy_in[i]);
		if (!*host) {
			g_autofree char *p = child_path(path, "copy_in");
			g_autofree char *pi = index_path(p, i);
			fail(error, pi, "expected HOST[:GUEST] with a host path");
			goto bad;
		}
		g_autofree char *abs = resolve(dir, host);
		char *spec = g_strconcat(abs, colon ? colon : "", NULL);
		g_free(w->copy_in[i]);
		w->copy_in[i] = spec;
	}
	for (guint i = 0; w->outputs && w->outputs[i]; i++) {
		if (!g_path_is_absolute(w->outputs[i])) {
			g_autofree char *p = child_path(path, "outputs");
			g_autofree char *pi = index_path(p, i);
			fail(error, pi, "expected an absolute guest path");
			goto bad;
		} else if (strchr(w->outputs[i], ':')) {
			g_autofree char *p = child_path(path, "outputs");
			g_autofree char *pi = index_path(p, i);
			fail(error, pi, "a guest path without ':' (copy-out splits at it)");
			goto bad;
		}
	}
	if (json_object_has_member(o, "env")) {
		g_autofree char *p = child_path(path, "env");
		JsonNode *en = json_object_get_member(o, "env");
		if (!JSON_NODE_HOLDS_OBJECT(en)) {
			fail(error, p, "expected an object of strings ({\"KEY\": \"value\"})");
			goto bad;
		}
		JsonObject *eo = json_node_get_object(en);
		g_autoptr(GStrvBuilder) b = g_strv_builder_new();
		g_autoptr(GList) members = json_object_get_members(eo);
		for (GList *l = members; l; l = l->next) {
			g_autofree char *pk = child_path(p, l->data);
			JsonNode *v = json_object_get_member(eo, l->data);
			if (!JSON_NODE_HOLDS_VALUE(v) ||
			    json_node_get_value_type(v) != G_TYPE_STRING) {
				fail(error, pk, "expected a string");
				goto bad;
			}
			if (!*(char *)l->data || strchr(l->data, '=')) {
				fail(error, pk, "not a valid environment variable name");
				goto bad;
			}
			g_autofree char *kv = g_strdup_printf("%s=%s", (char *)l->data,
							      json_node_get_string(v));
			g_strv_builder_add(b, kv);
		}
		w->env = g_strv_builder_end(b);
	}
	if (json_object_has_member(o, "timeout")) {
		g_autofree char *p = child_path(path, "timeout");
		if (!get_number(json_object_get_member(o, "timeout"), p, &w->timeout_s, error))
			goto bad;
		if (!(w->timeout_s > 0 && w->timeout_s <= 7 * 86400)) {
			fail(error, p, "expected seconds > 0, at most a week");
			goto bad;
		}
	}
	return w;
bad:
	workload_free(w);
	return NULL;
}

static gboolean parse_point(JsonNode *n, const char *path, SvLabPoint *ret, GError **error)
{
	static const char *const keys[] = { "after_lines", NULL };
	if (JSON_NODE_HOLDS_OBJECT(n)) {
		JsonObject *o = json_node_get_object(n);
		if (!only_keys(o, path, keys, error))
			return FALSE;
		g_autofree char *p = child_path(path, "after_lines");
		if (!json_object_has_member(o, "after_lines"))
			return fail(error, p, "missing");
		ret->kind = SV_LAB_POINT_LINES;
		return get_int(json_object_get_member(o, "after_lines"), p, 1, G_MAXINT32,
			       &ret->lines, error);
	}
	double s;
	if (!JSON_NODE_HOLDS_VALUE(n) || !get_number(n, path, &s, NULL) || !(s > 0) ||
	    s > 7 * 86400)
		return fail(error, path,
			    "expected a number of seconds > 0 or {\"after_lines\": N}");
	ret->kind = SV_LAB_POINT_SECONDS;
	ret->seconds = s;
	return TRUE;
}

static void target_free(SvLabTarget *t)
{
	g_free(t->arch);
	g_free(t->accel);
	g_free(t);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvLabTarget, target_free)

static SvLabTarget *parse_target(JsonNode *n, const char *path, const char *const *arches,
				 GError **error)
{
	static const char *const keys[] = { "arch", "accel", NULL };
	g_autoptr(SvLabTarget) t = g_new0(SvLabTarget, 1);
	if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING &&
	    !strcmp(json_node_get_string(n), "same")) {
		t->same = TRUE;
		return g_steal_pointer(&t);
	}
	if (!JSON_NODE_HOLDS_OBJECT(n)) {
		fail(error, path, "expected \"same\" or {\"arch\": ..., \"accel\": ...}");
		return NULL;
	}
	JsonObject *o = json_node_get_object(n);
	if (!only_keys(o, path, keys, error))
		return NULL;
	if (json_object_get_size(o) == 0) {
		fail(error, path, "expected \"arch\", \"accel\" or both (or \"same\")");
		return NULL;
	}
	g_autofree char *pa = child_path(path, "arch");
	g_autofree char *pc = child_path(path, "accel");
	if (json_object_has_member(o, "arch")) {
		if (!get_string(json_object_get_member(o, "arch"), pa, &t->arch, error))
			return NULL;
		if (!g_strv_contains(arches, t->arch)) {
			g_autofree char *list = g_strjoinv(", ", (char **)arches);
			fail(error, pa, "\"%s\" is not one of: %s", t->arch, list);
			return NULL;
		}
	}
	if (json_object_has_member(o, "accel")) {
		if (!get_string(json_object_get_member(o, "accel"), pc, &t->accel, error))
			return NULL;
		if (!g_strv_contains(ACCELS, t->accel)) {
			fail(error, pc, "\"%s\" is not one of: tcg, kvm, auto", t->accel);
			return NULL;
		}
	}
	return g_steal_pointer(&t);
}

static void comparator_free(SvLabComparator *c)
{
	g_free(c->output);
	g_strfreev(c->ignore);
	g_clear_pointer(&c->ignore_re, g_ptr_array_unref);
	g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvLabComparator, comparator_free)

static SvLabComparator *parse_comparator(const char *output, JsonNode *n, const char *path,
					 GError **error)
{
	static const char *const keys[] = { "ignore", "rtol", "atol", NULL };
	g_autoptr(SvLabComparator) c = g_new0(SvLabComparator, 1);
	c->output = g_strdup(output);
	c->ignore_re = g_ptr_array_new_with_free_func((GDestroyNotify)g_regex_unref);
	if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING &&
	    !strcmp(json_node_get_string(n), "exact")) {
		c->exact = TRUE;
		return g_steal_pointer(&c);
	}
	if (!JSON_NODE_HOLDS_OBJECT(n)) {
		fail(error, path,
		     "expected \"exact\" or {\"ignore\": [regex...], \"rtol\": x, \"atol\": y}");
		return NULL;
	}
	JsonObject *o = json_node_get_object(n);
	if (!only_keys(o, path, keys, error))
		return NULL;
	if (json_object_has_member(o, "ignore")) {
		g_autofree char *p = child_path(path, "ignore");
		if (!get_strv(json_object_get_member(o, "ignore"), p, FALSE, NULL, &c->ignore,
			      error))
			return NULL;
		for (guint i = 0; c->ignore[i]; i++) {
			g_autoptr(GError) re_error = NULL;
			GRegex *re = g_regex_new(c->ignore[i], G_REGEX_OPTIMIZE, 0, &re_error);
			if (!re) {
				g_autofree char *pi = index_path(p, i);
				fail(error, pi, "not a valid regular expression: %s",
				     re_error->message);
				return NULL;
			}
			g_ptr_array_add(c->ignore_re, re);
		}
	}
	struct {
		const char *key;
		double *dst;
	} tols[] = { { "rtol", &c->rtol }, { "atol", &c->atol } };
	for (gsize i = 0; i < G_N_ELEMENTS(tols); i++) {
		if (!json_object_has_member(o, tols[i].key))
			continue;
		g_autofree char *p = child_path(path, tols[i].key);
		if (!get_number(json_object_get_member(o, tols[i].key), p, tols[i].dst, error))
			return NULL;
		if (!(*tols[i].dst >= 0) || !isfinite(*tols[i].dst)) {
			fail(error, p, "expected a tolerance >= 0");
			return NULL;
		}
	}
	return g_steal_pointer(&c);
}

static void exclude_free(SvLabExclude *x)
{
	g_free(x->workload);
	g_free(x->arch);
	g_free(x->accel);
	g_free(x->point);
	g_free(x->target);
	g_free(x);
}

static SvLabExclude *parse_exclude(JsonNode *n, const char *path, const char *const *arches,
				   GError **error)
{
	static const char *const keys[] = { "workload",	     "arch",	   "accel",
					    "checkpoint_at", "restore_on", NULL };
	if (!JSON_NODE_HOLDS_OBJECT(n) || json_object_get_size(json_node_get_object(n)) == 0) {
		fail(error, path,
		     "expected an object with some of: workload, arch, accel, "
		     "checkpoint_at, restore_on");
		return NULL;
	}
	JsonObject *o = json_node_get_object(n);
	if (!only_keys(o, path, keys, error))
		return NULL;
	SvLabExclude *x = g_new0(SvLabExclude, 1);
	struct {
		const char *key;
		char **dst;
	} strs[] = { { "workload", &x->workload }, { "arch", &x->arch }, { "accel", &x->accel } };
	for (gsize i = 0; i < G_N_ELEMENTS(strs); i++) {
		g_autofree char *p = child_path(path, strs[i].key);
		if (json_object_has_member(o, strs[i].key) &&
		    !get_string(json_object_get_member(o, strs[i].key), p, strs[i].dst, error))
			goto bad;
	}
	if (json_object_has_member(o, "checkpoint_at")) {
		g_autofree char *p = child_path(path, "checkpoint_at");
		SvLabPoint pt;
		if (!parse_point(json_object_get_member(o, "checkpoint_at"), p, &pt, error))
			goto bad;
		x->point = sv_lab_point_label(&pt);
	}
	if (json_object_has_member(o, "restore_on")) {
		g_autofree char *p = child_path(path, "restore_on");
		g_autoptr(SvLabTarget)
			t = parse_target(json_object_get_member(o, "restore_on"), p, arches, error);
		if (!t)
			goto bad;
		x->target = sv_lab_target_label(t);
	}
	return x;
bad:
	exclude_free(x);
	return NULL;
}

static gboolean parse_matrix(JsonNode *n, const char *const *arches, SvLabManifest *m,
			     GError **error)
{
	static const char *const keys[] = { "arch",	  "accel",   "checkpoint_at",
					    "restore_on", "exclude", NULL };
	if (!JSON_NODE_HOLDS_OBJECT(n))
		return fail(error, "$.matrix", "expected an object");
	JsonObject *o = json_node_get_object(n);
	if (!only_keys(o, "$.matrix", keys, error))
		return FALSE;
	if (!json_object_has_member(o, "arch"))
		return fail(error, "$.matrix.arch", "missing (a list of guest arches)");
	if (!get_strv(json_object_get_member(o, "arch"), "$.matrix.arch", TRUE, arches, &m->arches,
		      error))
		return FALSE;
	if (json_object_has_member(o, "accel")) {
		if (!get_strv(json_object_get_member(o, "accel"), "$.matrix.accel", TRUE, ACCELS,
			      &m->accels, error))
			return FALSE;
	} else {
		m->accels = g_new0(char *, 2);
		m->accels[0] = g_strdup("tcg");
	}
	JsonArray *a;
	if (!json_object_has_member(o, "checkpoint_at"))
		return fail(error, "$.matrix.checkpoint_at", "missing (a list of points)");
	if (!get_array(json_object_get_member(o, "checkpoint_at"), "$.matrix.checkpoint_at", TRUE,
		       &a, error))
		return FALSE;
	for (guint i = 0; i < json_array_get_length(a); i++) {
		g_autofree char *p = index_path("$.matrix.checkpoint_at", i);
		SvLabPoint pt;
		if (!parse_point(json_array_get_element(a, i), p, &pt, error))
			return FALSE;
		g_array_append_val(m->points, pt);
	}
	if (json_object_has_member(o, "restore_on")) {
		if (!get_array(json_object_get_member(o, "restore_on"), "$.matrix.restore_on", TRUE,
			       &a, error))
			return FALSE;
		for (guint i = 0; i < json_array_get_length(a); i++) {
			g_autofree char *p = index_path("$.matrix.restore_on", i);
			SvLabTarget *t = parse_target(json_array_get_element(a, i), p, arches,
						      error);
			if (!t)
				return FALSE;
			g_ptr_array_add(m->targets, t);
		}
	} else {
		SvLabTarget *t = g_new0(SvLabTarget, 1);
		t->same = TRUE;
		g_ptr_array_add(m->targets, t);
	}
	if (json_object_has_member(o, "exclude")) {
		if (!get_array(json_object_get_member(o, "exclude"), "$.matrix.exclude", FALSE, &a,
			       error))
			return FALSE;
		for (guint i = 0; i < json_array_get_length(a); i++) {
			g_autofree char *p = index_path("$.matrix.exclude", i);
			SvLabExclude *x = parse_exclude(json_array_get_element(a, i), p, arches,
							error);
			if (!x)
				return FALSE;
			g_ptr_array_add(m->excludes, x);
		}
	}
	return TRUE;
}

static gboolean parse_compare(JsonNode *n, SvLabManifest *m, GError **error)
{
	if (!JSON_NODE_HOLDS_OBJECT(n))
		return fail(error, "$.compare",
			    "expected an object of outputs (\"stdout\" or a declared output path)");
	JsonObject *o = json_node_get_object(n);
	g_autoptr(GList) members = json_object_get_members(o);
	for (GList *l = members; l; l = l->next) {
		const char *out = l->data;
		g_autofree char *p = g_strdup_printf("$.compare[\"%s\"]", out);
		gboolean declared = !strcmp(out, "stdout");
		for (guint i = 0; !declared && i < m->workloads->len; i++) {
			SvLabWorkload *w = g_ptr_array_index(m->workloads, i);
			declared = w->outputs &&
				   g_strv_contains((const char *const *)w->outputs, out);
		}
		if (!declared)
			return fail(error, p,
				    "not \"stdout\" and no workload declares it in \"outputs\"");
		SvLabComparator *c = parse_comparator(out, json_object_get_member(o, out), p,
						      error);
		if (!c)
			return FALSE;
		g_ptr_array_add(m->compare, c);
	}
	return TRUE;
}

void sv_lab_manifest_free(SvLabManifest *m)
{
	if (!m)
		return;
	g_free(m->path);
	g_free(m->dir);
	g_free(m->sha256);
	g_free(m->experiment);
	g_clear_pointer(&m->workloads, g_ptr_array_unref);
	g_strfreev(m->arches);
	g_strfreev(m->accels);
	g_clear_pointer(&m->points, g_array_unref);
	g_clear_pointer(&m->targets, g_ptr_array_unref);
	g_clear_pointer(&m->excludes, g_ptr_array_unref);
	g_clear_pointer(&m->compare, g_ptr_array_unref);
	g_free(m);
}

SvLabManifest *sv_lab_manifest_parse(const char *json, gsize len, const char *path, const char *dir,
				     GError **error)
{
	static const char *const keys[] = { "experiment",     "workloads", "matrix",
					    "reference_runs", "compare",   NULL };
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) parse_error = NULL;
	if (!json_parser_load_from_data(parser, json, (gssize)len, &parse_error)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA, "manifest %s: not JSON: %s",
			    path ? path : "", parse_error->message);
		return NULL;
	}
	g_autoptr(SvLabManifest) m = g_new0(SvLabManifest, 1);
	m->path = g_strdup(path);
	m->dir = dir ? g_strdup(dir) : g_get_current_dir();
	m->sha256 = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)json, len);
	m->workloads = g_ptr_array_new_with_free_func((GDestroyNotify)workload_free);
	m->points = g_array_new(FALSE, FALSE, sizeof(SvLabPoint));
	m->targets = g_ptr_array_new_with_free_func((GDestroyNotify)target_free);
	m->excludes = g_ptr_array_new_with_free_func((GDestroyNotify)exclude_free);
	m->compare = g_ptr_array_new_with_free_func((GDestroyNotify)comparator_free);
	m->reference_runs = SV_LAB_REFERENCE_RUNS_DEFAULT;
	g_auto(GStrv) arches = arch_names();

	JsonNode *root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		fail(error, "$", "expected an object with experiment, workloads and matrix");
		return NULL;
	}
	JsonObject *o = json_node_get_object(root);
	if (!only_keys(o, "$", keys, error))
		return NULL;
	if (!json_object_has_member(o, "experiment")) {
		fail(error, "$.experiment", "missing (the experiment's name)");
		return NULL;
	}
	if (!get_string(json_object_get_member(o, "experiment"), "$.experiment", &m->experiment,
			error))
		return NULL;
	JsonArray *a;
	if (!json_object_has_member(o, "workloads")) {
		fail(error, "$.workloads", "missing (a list of workloads)");
		return NULL;
	}
	if (!get_array(json_object_get_member(o, "workloads"), "$.workloads", TRUE, &a, error))
		return NULL;
	for (guint i = 0; i < json_array_get_length(a); i++) {
		g_autofree char *p = index_path("$.workloads", i);
		SvLabWorkload *w = parse_workload(json_array_get_element(a, i), p, m->dir,
						  (const char *const *)arches, error);
		if (!w)
			return NULL;
		for (guint j = 0; j < m->workloads->len; j++)
			if (!strcmp(((SvLabWorkload *)g_ptr_array_index(m->workloads, j))->name,
				    w->name)) {
				g_autofree char *pn = child_path(p, "name");
				fail(error, pn, "\"%s\" is already the name of $.workloads[%u]",
				     w->name, j);
				workload_free(w);
				return NULL;
			}
		g_ptr_array_add(m->workloads, w);
	}
	if (!json_object_has_member(o, "matrix")) {
		fail(error, "$.matrix", "missing (arch, checkpoint_at, ...)");
		return NULL;
	}
	if (!parse_matrix(json_object_get_member(o, "matrix"), (const char *const *)arches, m,
			  error))
		return NULL;
	if (json_object_has_member(o, "reference_runs")) {
		gint64 n;
		if (!get_int(json_object_get_member(o, "reference_runs"), "$.reference_runs", 1,
			     MAX_REFERENCE_RUNS, &n, error))
			return NULL;
		m->reference_runs = (gint)n;
	}
	if (json_object_has_member(o, "compare") &&
	    !parse_compare(json_object_get_member(o, "compare"), m, error))
		return NULL;
	return g_steal_pointer(&m);
}

SvLabManifest *sv_lab_manifest_load(const char *path, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	g_autofree char *abs = g_canonicalize_filename(path, NULL);
	g_autofree char *dir = g_path_get_dirname(abs);
	return sv_lab_manifest_parse(data, len, path, dir, error);
}

const SvLabComparator *sv_lab_manifest_comparator(const SvLabManifest *m, const char *output)
{
	static const SvLabComparator exact = { .output = (char *)"", .exact = TRUE };
	for (guint i = 0; i < m->compare->len; i++) {
		const SvLabComparator *c = g_ptr_array_index(m->compare, i);
		if (!strcmp(c->output, output))
			return c;
	}
	return &exact;
}

const char *sv_lab_workload_program(const SvLabWorkload *w, const char *arch)
{
	if (!w->programs)
		return NULL;
	const char *p = g_hash_table_lookup(w->programs, arch);
	return p ? p : g_hash_table_lookup(w->programs, "*");
}

char *sv_lab_point_label(const SvLabPoint *p)
{
	if (p->kind == SV_LAB_POINT_LINES)
		return g_strdup_printf("lines%" G_GINT64_FORMAT, p->lines);
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	g_ascii_formatd(buf, sizeof(buf), "%g", p->seconds);
	return g_strdup_printf("%ss", buf);
}

char *sv_lab_target_label(const SvLabTarget *t)
{
	if (t->same)
		return g_strdup("same");
	return g_strdup_printf("%s-%s", t->arch ? t->arch : "same", t->accel ? t->accel : "same");
}
