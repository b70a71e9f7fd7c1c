/* SPDX-License-Identifier: MIT */
/*
 * cpu-probe.c - asks QEMU what a CPU model has under TCG, with no guest
 * (see cpu-probe.h). Every reply carries the id of its command, so the
 * transcript is read by id and QEMU's greeting and events are skipped.
 */
#include "host/qemu/cpu-probe.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/util/io-util.h"
#include "host/util/state-paths.h"

#define PROBE_TIMEOUT_MS 10000
#define DEFS_ID "defs"

void sv_cpu_model_features_free(SvCpuModelFeatures *f)
{
	if (!f)
		return;
	g_free(f->model);
	g_free(f->error);
	g_clear_pointer(&f->on, g_hash_table_unref);
	g_free(f);
}

static void add_command(GString *s, const char *execute, const char *id, JsonNode *arguments)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "execute");
	json_builder_add_string_value(b, execute);
	if (arguments) {
		json_builder_set_member_name(b, "arguments");
		json_builder_add_value(b, arguments);
	}
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, id);
	json_builder_end_object(b);
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	g_autofree char *line = json_to_string(root, FALSE);
	g_string_append_printf(s, "%s\n", line);
}

char *sv_qemu_cpu_probe_script(const char *const *models)
{
	GString *s = g_string_new(NULL);
	add_command(s, "qmp_capabilities", "caps", NULL);
	for (guint i = 0; models[i]; i++) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "type");
		json_builder_add_string_value(b, "full");
		json_builder_set_member_name(b, "model");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, models[i]);
		json_builder_end_object(b);
		json_builder_end_object(b);
		g_autofree char *id = g_strdup_printf("expand-%u", i);
		add_command(s, "query-cpu-model-expansion", id, json_builder_get_root(b));
	}
	add_command(s, "query-cpu-definitions", DEFS_ID, NULL);
	add_command(s, "quit", "quit", NULL);
	return g_string_free(s, FALSE);
}

/* The reply objects of the transcript by id. */
static GHashTable *replies_by_id(const char *transcript, GError **error)
{
	g_autoptr(GHashTable) by_id = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
							    (GDestroyNotify)json_node_unref);
	g_auto(GStrv) lines = g_strsplit(transcript, "\n", -1);
	for (char **l = lines; *l; l++) {
		if (!**l)
			continue;
		g_autoptr(JsonParser) p = json_parser_new();
		if (!json_parser_load_from_data(p, *l, -1, NULL))
			continue; /* not QMP: a warning QEMU printed */
		JsonNode *root = json_parser_get_root(p);
		if (!JSON_NODE_HOLDS_OBJECT(root))
			continue;
		JsonObject *o = json_node_get_object(root);
		const char *id = json_object_get_string_member_with_default(o, "id", NULL);
		if (id)
			g_hash_table_replace(by_id, g_strdup(id), json_node_copy(root));
	}
	if (!g_hash_table_contains(by_id, DEFS_ID)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "QEMU did not answer query-cpu-definitions");
		return NULL;
	}
	return g_steal_pointer(&by_id);
}

/* The features TCG cannot give the named model (its unavailable-features). */
static JsonArray *unavailable_features(JsonNode *defs, const char *model)
{
	JsonObject *o = json_node_get_object(defs);
	JsonArray *list = json_object_get_array_member(o, "return");
	for (guint i = 0; list && i < json_array_get_length(list); i++) {
		JsonNode *n = json_array_get_element(list, i);
		if (!JSON_NODE_HOLDS_OBJECT(n))
			continue;
		JsonObject *d = json_node_get_object(n);
		if (g_strcmp0(json_object_get_string_member_with_default(d, "name", NULL), model) ==
			    0 &&
		    json_object_has_member(d, "unavailable-features"))
			return json_object_get_array_member(d, "unavailable-features");
	}
	return NULL;
}

static SvCpuModelFeatures *read_expansion(JsonNode *reply, JsonNode *defs, const char *model)
{
	SvCpuModelFeatures *f = g_new0(SvCpuModelFeatures, 1);
	f->model = g_strdup(model);
	f->on = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	JsonObject *o = reply ? json_node_get_object(reply) : NULL;
	if (!o || json_object_has_member(o, "error")) {
		JsonObject *e = o ? json_object_get_object_member(o, "error") : NULL;
		const char *desc = e ? json_object_get_string_member_with_default(e, "desc", NULL)
				     : NULL;
		f->error = g_strdup(desc ? desc : "no answer");
		return f;
	}
	JsonObject *ret = json_object_get_object_member(o, "return");
	JsonObject *m = ret && json_object_has_member(ret, "model")
				? json_object_get_object_member(ret, "model")
				: NULL;
	JsonObject *props = m && json_object_has_member(m, "props")
				    ? json_object_get_object_member(m, "props")
				    : NULL;
	if (!props) {
		f->error = g_strdup("QEMU gave no properties for it");
		return f;
	}
	f->known = TRUE;
	JsonObjectIter it;
	const char *name;
	JsonNode *value;
	json_object_iter_init(&it, props);
	while (json_object_iter_next(&it, &name, &value)) {
		if (JSON_NODE_HOLDS_VALUE(value) &&
		    json_node_get_value_type(value) == G_TYPE_BOOLEAN &&
		    json_node_get_boolean(value))
			g_hash_table_add(f->on, g_strdup(name));
	}
	JsonArray *unavailable = unavailable_features(defs, model);
	for (guint i = 0; unavailable && i < json_array_get_length(unavailable); i++) {
		const char *feat = json_array_get_string_element(unavailable, i);
		if (feat)
			g_hash_table_remove(f->on, feat);
	}
	return f;
}

GPtrArray *sv_qemu_cpu_probe_parse(const char *transcript, const char *const *models,
				   GError **error)
{
	g_autoptr(GHashTable) by_id = replies_by_id(transcript, error);
	if (!by_id)
		return NULL;
	JsonNode *defs = g_hash_table_lookup(by_id, DEFS_ID);
	/* QEMU 7.2 implements the expansion for some targets only (not
	 * riscv64): then nothing can be told before boot */
	JsonNode *first = g_hash_table_lookup(by_id, "expand-0");
	JsonObject *fo = first && JSON_NODE_HOLDS_OBJECT(first) ? json_node_get_object(first)
								: NULL;
	JsonObject *err = fo && json_object_has_member(fo, "error")
				  ? json_object_get_object_member(fo, "error")
				  : NULL;
	if (err && !g_strcmp0(json_object_get_string_member_with_default(err, "class", NULL),
			      "CommandNotFound")) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "this QEMU cannot expand CPU models of the arch; the guest checks its "
			    "CPU itself");
		return NULL;
	}
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)sv_cpu_model_features_free);
	for (guint i = 0; models[i]; i++) {
		g_autofree char *id = g_strdup_printf("expand-%u", i);
		g_ptr_array_add(out,
				read_expansion(g_hash_table_lookup(by_id, id), defs, models[i]));
	}
	return out;
}

/* Feeds QEMU the script and reads its answer until QEMU quits (or the
 * deadline passes: then it is killed). Plain spawn, poll and waitpid: a
 * GSubprocess would install GLib's SIGCHLD handler in place of the CLI's
 * orphan reaper (cli-vm.c), which the libvirt worker relies on. */
static char *converse(const char *const *argv, const char *script, GError **error)
{
	GPid pid;
	int in_fd, out_fd;
	if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
				      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
				      NULL, &pid, &in_fd, &out_fd, NULL, error))
		return NULL;
	/* a few hundred bytes: the pipe takes them at once */
	gboolean wrote = sv_write_all_fd(in_fd, script, strlen(script));
	close(in_fd);
	GString *out = g_string_new(NULL);
	gint64 deadline = g_get_monotonic_time() + PROBE_TIMEOUT_MS * 1000ll;
	gboolean timed_out = FALSE;
	for (;;) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		struct pollfd pfd = { .fd = out_fd, .events = POLLIN };
		int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			timed_out = TRUE;
			break;
		}
		char buf[16384];
		ssize_t n = read(out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		g_string_append_len(out, buf, n);
	}
	close(out_fd);
	if (timed_out)
		kill(pid, SIGKILL);
	/* ECHILD: the CLI's reaper took it first, which is as good */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (!wrote || timed_out) {
		if (timed_out)
			g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT, "no answer within %d s",
				    PROBE_TIMEOUT_MS / 1000);
		else
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "could not write to it");
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

/* QEMU's answer depends on nothing but its binary and the script, and
 * starting it costs a restore 0.1-0.3 s: answers are kept under the cache
 * dir, named by a hash of both (a rebuilt or upgraded QEMU is another
 * binary: another size, mtime or inode). NULL where there is no stat. */
static char *transcript_cache_path(const char *emulator, const char *script)
{
	struct stat st;
	if (stat(emulator, &st) < 0)
		return NULL;
	g_autofree char *key = g_strdup_printf("%s\n%lld %lld.%09ld %llu\n%s", emulator,
					       (long long)st.st_size, (long long)st.st_mtim.tv_sec,
					       st.st_mtim.tv_nsec, (unsigned long long)st.st_ino,
					       script);
	g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
	g_autofree char *cache = sv_cache_dir();
	g_autofree char *name = g_strconcat(sum, ".qmp", NULL);
	return g_build_filename(cache, "cpu-probe", name, NULL);
}

GPtrArray *sv_qemu_cpu_probe(const SvArchOps *arch, const char *const *models, GError **error)
{
	g_autofree char *emulator = g_find_program_in_path(arch->qemu->emulator);
	if (!emulator) {
		g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
			    "%s is not installed: apt-get install %s", arch->qemu->emulator,
			    arch->qemu->package);
		return NULL;
	}
	const char *argv[] = { emulator,   "-M",   "none", "-accel", "tcg", "-nodefaults",
			       "-display", "none", "-qmp", "stdio",  NULL };
	g_autofree char *script = sv_qemu_cpu_probe_script(models);
	g_autofree char *cached = transcript_cache_path(emulator, script);
	g_autoptr(GError) local = NULL;
	g_autofree char *out = NULL;
	if (cached && g_file_get_contents(cached, &out, NULL, NULL)) {
		GPtrArray *features = sv_qemu_cpu_probe_parse(out, models, NULL);
		if (features)
			return features;
		g_clear_pointer(&out, g_free); /* damaged: asked again, rewritten */
	}
	out = converse(argv, script, &local);
	GPtrArray *features = out ? sv_qemu_cpu_probe_parse(out, models, &local) : NULL;
	if (features && cached) {
		/* a cache that cannot be written only costs the next restore
		 * this probe again */
		g_autofree char *dir = g_path_get_dirname(cached);
		if (g_mkdir_with_parents(dir, 0700) == 0)
			g_file_set_contents(cached, out, -1, NULL);
	}
	if (!features)
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "%s -M none: %s",
			    arch->qemu->emulator, local->message);
	return features;
}
