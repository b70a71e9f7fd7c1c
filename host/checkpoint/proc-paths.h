/* SPDX-License-Identifier: MIT */
/* proc-paths.h - open /proc files in a checkpoint: reopened by path at
 * restore, never carried (proc-paths.c says why); and files with no path
 * at all, refused. */
#ifndef SNAPVM_PROC_PATHS_H
#define SNAPVM_PROC_PATHS_H

#include <glib.h>

/* Is path one a file on no mounted filesystem gets: a file of a
 * kernel-internal mount (memfd, SysV shm, a /proc/PID/ns namespace file)
 * has a dentry that is its own root, and its path comes out as "/". */
gboolean sv_path_unnamed(const char *path);
#define SV_UNNAMED_FILE                                                                   \
	"a file on no mounted filesystem (a memfd, a SysV shm segment, a namespace file " \
	"from /proc/PID/ns, ...)"

/* Is path /proc or under it (where the guest mounts procfs)? */
gboolean sv_path_in_procfs(const char *path);
/* The path the restored process reopens for fd, a /proc path of guest pid:
 * /proc/PID/... of pid itself as /proc/self/...; another process's
 * refused, naming fd; anything else unchanged. */
char *sv_proc_path_for_restore(const char *path, guint32 pid, guint32 fd, GError **error);

#endif
