/* SPDX-License-Identifier: MIT */
#include "host/util/state-paths.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "base/errors.h"

char *sv_state_dir(void)
{
	const char *env = g_getenv("SNAPVM_STATE_DIR");
	if (env && *env)
		return g_canonicalize_filename(env, NULL);
	if (geteuid() == 0)
		return g_strdup("/var/lib/snapvm");
	return g_build_filename(g_get_user_state_dir(), "snapvm", NULL);
}

char *sv_cache_dir(void)
{
	const char *env = g_getenv("SNAPVM_CACHE_DIR");
	if (env && *env)
		return g_canonicalize_filename(env, NULL);
	return g_build_filename(g_get_user_cache_dir(), "snapvm", NULL);
}

char *sv_vm_dir(const char *name)
{
	g_autofree char *state = sv_state_dir();
	return g_build_filename(state, "vms", name, NULL);
}

gboolean sv_mkdir_p(const char *dir, GError **error)
{
	if (g_mkdir_with_parents(dir, 0700) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot create %s: %s", dir,
			    g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

gboolean sv_vm_name_valid(const char *name, GError **error)
{
	gsize n = name ? strlen(name) : 0;
	gboolean ok = n > 0 && n <= 48 && name[0] != '.' && name[0] != '-';
	for (gsize i = 0; ok && i < n; i++)
		ok = g_ascii_isalnum(name[i]) || name[i] == '_' || name[i] == '.' || name[i] == '-';
	if (!ok)
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "invalid VM name '%s': use 1-48 of A-Z a-z 0-9 _ . - (not starting "
			    "with . or -)",
			    name ? name : "");
	return ok;
}

void sv_remove_dir_of_files(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(dir, n, NULL);
		g_unlink(p);
	}
	g_rmdir(dir);
}
