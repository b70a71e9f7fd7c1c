/* SPDX-License-Identifier: MIT */
/* lab-state.c - a lab unit's own snapvm state dir (lab-state.h). */
#include "host/lab/lab-state.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "host/lab/lab-proc.h"

char *sv_lab_state_begin(GError **error)
{
	/* in /tmp, not the results dir: the path must stay short */
	char *dir = g_dir_make_tmp("snapvm-lab-XXXXXX", error);
	if (dir)
		g_setenv("SNAPVM_STATE_DIR", dir, TRUE);
	return dir;
}

/* Removes path and, if it is a directory (not a symlink to one), all that
 * is in it. */
static void remove_tree(const char *path)
{
	GStatBuf st;
	if (g_lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
		for (const char *name; d && (name = g_dir_read_name(d));) {
			g_autofree char *child = g_build_filename(path, name, NULL);
			remove_tree(child);
		}
		g_rmdir(path);
	} else {
		g_unlink(path);
	}
}

static void keep_logs(const char *dir, const char *keep_logs_dir)
{
	g_autofree char *logs = g_build_filename(dir, "logs", NULL);
	g_autoptr(GDir) d = g_dir_open(logs, 0, NULL);
	for (const char *name; d && (name = g_dir_read_name(d));) {
		g_autoptr(GFile) from = g_file_new_build_filename(logs, name, NULL);
		g_autoptr(GFile) to = g_file_new_build_filename(keep_logs_dir, name, NULL);
		g_file_move(from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, NULL);
	}
}

void sv_lab_state_end(const char *dir, const char *keep_logs_dir)
{
	if (!dir)
		return;
	/* not sv_lab_proc_capture: this runs after a cancel too, which ends
	 * its waits at once */
	const char *stop[] = { sv_lab_snapvm_path(), "stop", "--all", NULL };
	g_spawn_sync(NULL, (char **)stop, NULL,
		     G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL,
		     NULL, NULL, NULL);
	keep_logs(dir, keep_logs_dir);
	/* guest RAM files: the libvirt root's ram-dir link says where */
	g_autofree char *link = g_build_filename(dir, "libvirt", "ram-dir", NULL);
	g_autofree char *ram = g_file_read_link(link, NULL);
	if (ram && g_str_has_prefix(ram, "/dev/shm/snapvm-"))
		remove_tree(ram);
	remove_tree(dir);
}
