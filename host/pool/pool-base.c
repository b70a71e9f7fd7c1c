/* SPDX-License-Identifier: MIT */
/* pool-base.c - see pool-base.h. */
#include "host/pool/pool-base.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "base/errors.h"
#include "host/agent/agent-client.h"
#include "host/pool/pool-standby.h"
#include "host/pool/pool.h"
#include "host/util/state-paths.h"

#define BASE_GROUP "base"
/* Changes when what a base holds, or how it is loaded, changes. */
#define BASE_FORMAT "1"

static const char *cpu_tag(const char *cpu)
{
	return cpu && *cpu ? cpu : "default";
}

/* s with each run of 5 or more digits rounded to thousands. */
static char *round_measured(const char *s)
{
	GString *out = g_string_new(NULL);
	for (const char *p = s ? s : ""; *p;) {
		gsize n = strspn(p, "0123456789");
		if (n >= 5 && n <= 18) {
			guint64 v = g_ascii_strtoull(p, NULL, 10);
			g_string_append_printf(out, "%" G_GUINT64_FORMAT "k", (v + 500) / 1000);
		} else
			g_string_append_len(out, p, n ? (gssize)n : 1);
		p += n ? n : 1;
	}
	return g_string_free(out, FALSE);
}

char *sv_pool_base_key_text(const SvPoolBaseSpec *spec)
{
	g_autofree char *clock = round_measured(spec->clock);
	return g_strdup_printf("format=" BASE_FORMAT "\narch=%s\ncpu=%s\naccel=%s\nimage=%s\n"
			       "cmdline=%s\nclock=%s\nbackend=%s\nrestorer=%s\n",
			       spec->arch, cpu_tag(spec->cpu), spec->accel ? spec->accel : "auto",
			       spec->image_sha256 ? spec->image_sha256 : "",
			       spec->cmdline ? spec->cmdline : "", clock,
			       spec->backend ? spec->backend : "",
			       spec->restorer ? spec->restorer : "");
}

char *sv_pool_base_key(const SvPoolBaseSpec *spec)
{
	g_autofree char *text = sv_pool_base_key_text(spec);
	g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
	return g_strndup(sum, 16);
}

char *sv_pool_base_name(const SvPoolBaseSpec *spec, guint memory_mib)
{
	g_autofree char *key = sv_pool_base_key(spec);
	return g_strdup_printf("%s-%s-%um-%s", spec->arch, cpu_tag(spec->cpu), memory_mib, key);
}

gboolean sv_pool_base_name_parse(const SvPoolBaseSpec *spec, const char *name,
				 guint *ret_memory_mib)
{
	g_autofree char *key = sv_pool_base_key(spec);
	g_autofree char *prefix = g_strdup_printf("%s-%s-", spec->arch, cpu_tag(spec->cpu));
	g_autofree char *suffix = g_strdup_printf("m-%s", key);
	if (!g_str_has_prefix(name, prefix) || !g_str_has_suffix(name, suffix) ||
	    strlen(name) <= strlen(prefix) + strlen(suffix))
		return FALSE;
	const char *mem = name + strlen(prefix);
	gsize digits = strlen(name) - strlen(prefix) - strlen(suffix);
	if (digits > 7 || strspn(mem, "0123456789") != digits)
		return FALSE;
	*ret_memory_mib = (guint)g_ascii_strtoull(mem, NULL, 10);
	return *ret_memory_mib > 0;
}

char *sv_pool_base_vm_name(const SvPoolBaseSpec *spec, guint memory_mib)
{
	return g_strdup_printf("base-%s-%s-%um-%08x", spec->arch, cpu_tag(spec->cpu), memory_mib,
			       g_random_int());
}

char *sv_pool_base_root(void)
{
	g_autofree char *cache = sv_cache_dir();
	return g_build_filename(cache, "bases", NULL);
}

static gboolean complete(const char *dir)
{
	static const char *const files[] = { SV_POOL_BASE_INFO, SV_POOL_BASE_STATE,
					     SV_POOL_BASE_INITRD };
	for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *p = g_build_filename(dir, files[i], NULL);
		if (!g_file_test(p, G_FILE_TEST_IS_REGULAR))
			return FALSE;
	}
	return TRUE;
}

gboolean sv_pool_base_find(const SvPoolBaseSpec *spec, guint min_memory_mib, char **ret_dir,
			   guint *ret_memory_mib)
{
	g_autofree char *root = sv_pool_base_root();
	g_autoptr(GDir) d = g_dir_open(root, 0, NULL);
	g_autofree char *best = NULL;
	guint best_mib = 0;
	const char *n;
	while (d && (n = g_dir_read_name(d))) {
		guint mib;
		if (!sv_pool_base_name_parse(spec, n, &mib) || mib < min_memory_mib ||
		    (best && mib >= best_mib))
			continue;
		g_autofree char *dir = g_build_filename(root, n, NULL);
		if (!complete(dir))
			continue;
		g_free(best);
		best = g_steal_pointer(&dir);
		best_mib = mib;
	}
	if (!best)
		return FALSE;
	*ret_dir = g_steal_pointer(&best);
	*ret_memory_mib = best_mib;
	return TRUE;
}

void sv_pool_base_remove(const char *dir)
{
	/* renamed aside first, so a restore looking at the same time sees
	 * it whole or not at all */
	g_autofree char *parent = g_path_get_dirname(dir);
	g_autofree char *base = g_path_get_basename(dir);
	g_autofree char *aside = g_strdup_printf("%s/.old-%s-%08x", parent, base, g_random_int());
	sv_remove_dir_of_files(g_rename(dir, aside) == 0 ? aside : dir);
}

/* Bases of spec's arch and CPU model with this memory and another key: no
 * guest of this snapvm, image and host can load them again. */
static void remove_stale(const SvPoolBaseSpec *spec, guint memory_mib, const char *keep)
{
	g_autofree char *root = sv_pool_base_root();
	g_autofree char *prefix = g_strdup_printf("%s-%s-%um-", spec->arch, cpu_tag(spec->cpu),
						  memory_mib);
	g_autoptr(GDir) d = g_dir_open(root, 0, NULL);
	g_autoptr(GPtrArray) stale = g_ptr_array_new_with_free_func(g_free);
	const char *n;
	while (d && (n = g_dir_read_name(d)))
		if (g_str_has_prefix(n, prefix) && strcmp(n, keep) &&
		    strlen(n) == strlen(prefix) + 16)
			g_ptr_array_add(stale, g_build_filename(root, n, NULL));
	for (guint i = 0; i < stale->len; i++)
		sv_pool_base_remove(stale->pdata[i]);
}

static char *vm_file_text(const SvMachine *m, const char *name)
{
	g_autofree char *p = g_build_filename(m->vm_dir, name, NULL);
	char *text = NULL;
	return g_file_get_contents(p, &text, NULL, NULL) ? text : NULL;
}

static guint64 dir_bytes(const char *dir)
{
	guint64 total = 0;
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(dir, n, NULL);
		struct stat st;
		if (stat(p, &st) == 0)
			total += (guint64)st.st_blocks * 512;
	}
	return total;
}

gboolean sv_pool_base_save(SvMachine *m, const SvPoolBaseSpec *spec, const char *uuid,
			   const char *initrd, char **ret_dir, guint64 *ret_bytes, GError **error)
{
	g_autofree char *root = sv_pool_base_root();
	if (!sv_mkdir_p(root, error))
		return FALSE;
	g_autofree char *name = sv_pool_base_name(spec, m->memory_mib);
	g_autofree char *tmp = g_build_filename(root, ".new-XXXXXX", NULL);
	if (!g_mkdtemp(tmp)) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot make a directory in %s: %s",
			    root, g_strerror(errno));
		return FALSE;
	}
	g_autofree char *key = sv_pool_base_key_text(spec);
	g_autofree char *standby = vm_file_text(m, SV_POOL_STANDBY_FILE);
	g_autofree char *restorer = vm_file_text(m, SV_POOL_RESTORER_FILE);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_key_file_set_string(kf, BASE_GROUP, "key", key);
	g_key_file_set_uint64(kf, BASE_GROUP, "memory_mib", m->memory_mib);
	g_key_file_set_string(kf, BASE_GROUP, "uuid", uuid);
	g_key_file_set_string(kf, BASE_GROUP, "vm", m->name);
	if (standby)
		g_key_file_set_string(kf, BASE_GROUP, "standby", standby);
	if (restorer)
		g_key_file_set_string(kf, BASE_GROUP, "restorer", restorer);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *when = g_date_time_format_iso8601(now);
	g_key_file_set_string(kf, BASE_GROUP, "saved", when);
	g_autofree char *info = g_build_filename(tmp, SV_POOL_BASE_INFO, NULL);
	g_autofree char *state = g_build_filename(tmp, SV_POOL_BASE_STATE, NULL);
	g_autofree char *initrd_copy = g_build_filename(tmp, SV_POOL_BASE_INITRD, NULL);
	g_autofree char *dest = g_build_filename(root, name, NULL);
	g_autofree char *initrd_data = NULL;
	gsize initrd_len = 0;
	gboolean ok = g_file_get_contents(initrd, &initrd_data, &initrd_len, error) &&
		      g_file_set_contents(initrd_copy, initrd_data, (gssize)initrd_len, error) &&
		      sv_machine_save(m, state, error) && g_key_file_save_to_file(kf, info, error);
	if (ok) {
		remove_stale(spec, m->memory_mib, name);
		if (g_file_test(dest, G_FILE_TEST_IS_DIR))
			sv_pool_base_remove(dest); /* the same key saved again */
		if (g_rename(tmp, dest) < 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot rename %s to %s: %s",
				    tmp, dest, g_strerror(errno));
			ok = FALSE;
		}
	}
	if (!ok) {
		sv_remove_dir_of_files(tmp);
		return FALSE;
	}
	*ret_bytes = dir_bytes(dest);
	*ret_dir = g_steal_pointer(&dest);
	return TRUE;
}

/* Writes the base's record of its pool guest's file name (if it has one)
 * into m's VM dir, where the pool guest had it. */
static gboolean put_record(GKeyFile *kf, const char *key, const SvMachine *m, const char *name,
			   GError **error)
{
	g_autofree char *text = g_key_file_get_string(kf, BASE_GROUP, key, NULL);
	if (!text)
		return TRUE;
	g_autofree char *p = g_build_filename(m->vm_dir, name, NULL);
	return g_file_set_contents(p, text, -1, error);
}

SvMachine *sv_pool_base_load(const char *dir, const SvMachineConfig *config, gboolean *ret_busy,
			     GError **error)
{
	*ret_busy = FALSE;
	g_autofree char *info = g_build_filename(dir, SV_POOL_BASE_INFO, NULL);
	g_autofree char *state = g_build_filename(dir, SV_POOL_BASE_STATE, NULL);
	g_autofree char *initrd = g_build_filename(dir, SV_POOL_BASE_INITRD, NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	if (!g_key_file_load_from_file(kf, info, G_KEY_FILE_NONE, error)) {
		g_prefix_error(error, "the saved base %s: ", dir);
		return NULL;
	}
	guint64 mib = g_key_file_get_uint64(kf, BASE_GROUP, "memory_mib", NULL);
	if (mib != config->memory_mib) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "the saved base %s has %" G_GUINT64_FORMAT " MiB of memory, not %u",
			    dir, mib, config->memory_mib);
		return NULL;
	}
	g_autofree char *uuid = g_key_file_get_string(kf, BASE_GROUP, "uuid", NULL);
	g_autofree char *name = g_key_file_get_string(kf, BASE_GROUP, "vm", NULL);
	if (!uuid || !g_uuid_string_is_valid(uuid) || !name || !sv_vm_name_valid(name, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "the saved base %s has no valid uuid or VM name", dir);
		return NULL;
	}
	SvMachineConfig c = *config;
	c.name = name;
	c.initrd = initrd;
	c.saved_state = state;
	c.uuid = uuid;
	g_autoptr(SvMachine) m = sv_machine_start(&c, error);
	if (!m) {
		/* its VM dir is there: a VM from this base runs */
		*ret_busy = g_error_matches(*error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
		return NULL;
	}
	if (!put_record(kf, "standby", m, SV_POOL_STANDBY_FILE, error) ||
	    !put_record(kf, "restorer", m, SV_POOL_RESTORER_FILE, error)) {
		sv_machine_stop(m, FALSE, NULL, NULL);
		return NULL;
	}
	return g_steal_pointer(&m);
}

gboolean sv_pool_base_resumed(SvAgentClient *agent, GError **error)
{
	guint8 entropy[64];
	if (getrandom(entropy, sizeof(entropy), 0) != (ssize_t)sizeof(entropy)) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "getrandom: %s", g_strerror(errno));
		return FALSE;
	}
	guint8 buf[8 + 4 + sizeof(entropy)];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_u64(&w, (guint64)g_get_real_time() * 1000);
	sv_wbuf_bytes(&w, entropy, sizeof(entropy));
	g_assert(!w.overflow);
	g_auto(SvAgentFrame) f = { 0 };
	struct sv_rbuf r;
	gboolean ok = sv_agent_client_request(agent, SV_MSG_RESUMED, buf, w.len, SV_MSG_OK, 10000,
					      &f, &r, error);
	memset(entropy, 0, sizeof(entropy));
	memset(buf, 0, sizeof(buf));
	if (!ok)
		g_prefix_error(error, "making the guest from a saved base its own: ");
	return ok;
}
