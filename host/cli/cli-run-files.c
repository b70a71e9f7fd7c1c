/* SPDX-License-Identifier: MIT */
/*
 * cli-run-files.c - `snapvm run --copy-in HOST[:GUEST]` and
 * `--copy-out GUEST:HOST`: files into the guest's working directory before
 * the program starts (in the appended initramfs, which the agent binds into
 * an image's root at /work), and back out after it exits (READFILE).
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/errors.h"
#include "host/agent/agent-client.h"
#include "host/cli/cli-run-files.h"

/* Copy-ins land in the initramfs under here: the one directory (besides
 * /workload) that stays visible when the agent switches into an image. */
#define COPY_ROOT "/work"
/* Larger results are refused rather than read into memory. */
#define MAX_COPY_OUT (1ull << 30)

void sv_run_files_clear(SvRunFiles *f)
{
	g_clear_pointer(&f->extras, g_array_unref);
	g_clear_pointer(&f->strings, g_ptr_array_unref);
}

static gboolean under_copy_root(const char *guest)
{
	return !strcmp(guest, COPY_ROOT) ||
	       (g_str_has_prefix(guest, COPY_ROOT "/") && !strstr(guest, "/../") &&
		!g_str_has_suffix(guest, "/.."));
}

static const char *keep(SvRunFiles *f, char *s)
{
	g_ptr_array_add(f->strings, s);
	return s;
}

static void add_entry(SvRunFiles *f, const char *guest, const char *host, guint32 mode)
{
	SvInitrdExtra e = { .guest_path = keep(f, g_strdup(guest)),
			    .host_path = host ? keep(f, g_strdup(host)) : NULL,
			    .mode = mode };
	g_array_append_val(f->extras, e);
}

/* Each directory from COPY_ROOT down to dir (the cpio needs parents first;
 * a directory twice is harmless, the kernel keeps the first). */
static void add_parents(SvRunFiles *f, const char *dir)
{
	g_auto(GStrv) parts = g_strsplit(dir + 1, "/", -1);
	GString *p = g_string_new(NULL);
	for (char **s = parts; *s; s++) {
		if (!**s)
			continue;
		g_string_append_printf(p, "/%s", *s);
		add_entry(f, p->str, NULL, 0755);
	}
	g_string_free(p, TRUE);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static gboolean add_tree(SvRunFiles *f, const char *host, const char *guest, guint depth,
			 GError **error)
{
	struct stat st;
	if (stat(host, &st) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "--copy-in %s: %s", host,
			    g_strerror(errno));
		return FALSE;
	}
	if (S_ISREG(st.st_mode)) {
		add_entry(f, guest, host, st.st_mode & 0777);
		return TRUE;
	}
	if (!S_ISDIR(st.st_mode) || depth > 64) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "--copy-in %s: only regular files and directories can be copied in",
			    host);
		return FALSE;
	}
	add_entry(f, guest, NULL, st.st_mode & 0777);
	g_autoptr(GDir) d = g_dir_open(host, 0, error);
	if (!d)
		return FALSE;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *n;
	while ((n = g_dir_read_name(d)))
		g_ptr_array_add(names, g_strdup(n));
	/* sorted: the same tree gives the same initramfs */
	g_ptr_array_sort(names, compare_names);
	for (guint i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		g_autofree char *h = g_build_filename(host, name, NULL);
		g_autofree char *g = g_build_filename(guest, name, NULL);
		if (!add_tree(f, h, g, depth + 1, error))
			return FALSE;
	}
	return TRUE;
}

gboolean sv_run_files_copy_in(SvRunFiles *f, char **specs, const char *workdir, GError **error)
{
	f->extras = g_array_new(FALSE, TRUE, sizeof(SvInitrdExtra));
	f->strings = g_ptr_array_new_with_free_func(g_free);
	if (!specs || !*specs)
		return TRUE;
	if (!under_copy_root(workdir)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "--copy-in needs the working directory under %s (it is %s): copied "
			    "files live there",
			    COPY_ROOT, workdir);
		return FALSE;
	}
	add_parents(f, workdir);
	for (char **s = specs; *s; s++) {
		/* HOST[:GUEST]; a relative GUEST is in the working directory */
		const char *colon = strrchr(*s, ':');
		g_autofree char *host = colon ? g_strndup(*s, colon - *s) : g_strdup(*s);
		g_autofree char *base = g_path_get_basename(host);
		const char *guest_arg = colon && colon[1] ? colon + 1 : base;
		g_autofree char *guest = g_path_is_absolute(guest_arg)
						 ? g_canonicalize_filename(guest_arg, "/")
						 : g_canonicalize_filename(guest_arg, workdir);
		if (!under_copy_root(guest) || !strcmp(guest, COPY_ROOT)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "--copy-in %s: the guest path %s is not under %s", *s, guest,
				    COPY_ROOT);
			return FALSE;
		}
		g_autofree char *parent = g_path_get_dirname(guest);
		add_parents(f, parent);
		if (!add_tree(f, host, guest, 0, error))
			return FALSE;
	}
	return TRUE;
}

gboolean sv_run_files_check_copy_out(char **specs, GError **error)
{
	for (char **s = specs; s && *s; s++) {
		const char *colon = strchr(*s, ':');
		if (!colon || colon == *s || !colon[1]) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "--copy-out %s: give GUEST:HOST (a guest file, relative to the "
				    "working directory or absolute, and where to write it)",
				    *s);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean sv_run_files_copy_out(SvAgentClient *agent, char **specs, const char *workdir,
			       GError **error)
{
	for (char **s = specs; s && *s; s++) {
		const char *colon = strchr(*s, ':');
		g_autofree char *guest_arg = g_strndup(*s, colon - *s);
		g_autofree char *guest = g_canonicalize_filename(guest_arg, workdir);
		const char *host = colon + 1;
		g_autoptr(GBytes) data = NULL;
		g_autoptr(GError) local = NULL;
		if (!sv_agent_client_read_file(agent, guest, MAX_COPY_OUT, &data, &local)) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "--copy-out %s: %s", guest,
				    local->message);
			return FALSE;
		}
		gsize n;
		const char *bytes = g_bytes_get_data(data, &n);
		/* atomic: a temp file renamed over HOST */
		if (!g_file_set_contents(host, bytes ? bytes : "", (gssize)n, &local)) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "--copy-out to %s: %s", host,
				    local->message);
			return FALSE;
		}
	}
	return TRUE;
}
