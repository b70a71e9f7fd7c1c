/* SPDX-License-Identifier: MIT */
/*
 * proc-paths.c - see proc-paths.h.
 *
 * A procfs file's contents are made when it is read: carrying them would
 * give the restored process a snapshot of the old kernel's answer (and the
 * restorer would then find the live file "differs from the snapshot's
 * copy"). It is reopened by path instead and moved to its offset, which
 * seq_file regenerates up to. A path under /proc/PID/ of the process itself
 * names it by number, which the restored process may not have: it becomes
 * /proc/self/. Another process's /proc/PID/ is not in the snapshot.
 */
#include "host/checkpoint/proc-paths.h"

#include <string.h>

#include "base/errors.h"

gboolean sv_path_unnamed(const char *path)
{
	return path && !strcmp(path, "/");
}

gboolean sv_path_in_procfs(const char *path)
{
	return path && (!strcmp(path, "/proc") || g_str_has_prefix(path, "/proc/"));
}

char *sv_proc_path_for_restore(const char *path, guint32 pid, guint32 fd, GError **error)
{
	const char *rest = path + strlen("/proc");
	if (!g_ascii_isdigit(rest[0] == '/' ? rest[1] : 0))
		return g_strdup(path);
	char *end = NULL;
	guint64 n = g_ascii_strtoull(rest + 1, &end, 10);
	if (*end != '/' && *end != '\0')
		return g_strdup(path);
	if (n != pid) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "fd %u is %s, of guest process %" G_GUINT64_FORMAT
			    ", not of pid %u itself; snapvm checkpoints one process and cannot "
			    "give it another's /proc files",
			    fd, path, n, pid);
		return NULL;
	}
	return g_strconcat("/proc/self", end, NULL);
}
