/* SPDX-License-Identifier: MIT */
/* proc-paths.h - open /proc files in a checkpoint: reopened by path at
 * restore, never carried (proc-paths.c says why). */
#ifndef SNAPVM_PROC_PATHS_H
#define SNAPVM_PROC_PATHS_H

#include <glib.h>

/* Is path /proc or under it (where the guest mounts procfs)? */
gboolean sv_path_in_procfs(const char *path);
/* The path the restored process reopens for fd, a /proc path of guest pid:
 * /proc/PID/... of pid itself as /proc/self/...; another process's
 * refused, naming fd; anything else unchanged. */
char *sv_proc_path_for_restore(const char *path, guint32 pid, guint32 fd, GError **error);

#endif
