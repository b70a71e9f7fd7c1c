/* SPDX-License-Identifier: MIT */
/*
 * paths.h - where snapvm keeps things on the host.
 *
 *   state dir  ($SNAPVM_STATE_DIR, else /var/lib/snapvm as root, else
 *               $XDG_STATE_HOME/snapvm): per-VM directories and the
 *               embedded libvirt root.
 *   cache dir  ($SNAPVM_CACHE_DIR, else $XDG_CACHE_HOME/snapvm): downloaded
 *               packages and built guest images (images/<arch>/current).
 */
#ifndef SNAPVM_PATHS_H
#define SNAPVM_PATHS_H

#include <glib.h>

/* Both return newly allocated absolute paths; the directory may not exist. */
char *sv_state_dir(void);
char *sv_cache_dir(void);
/* <state>/vms/<name> */
char *sv_vm_dir(const char *name);
/* Creates dir and parents with mode 0700. */
gboolean sv_mkdir_p(const char *dir, GError **error);
/* Removes the files in dir, then dir: a VM's or a saved base's directory,
 * which holds no directories (one it meets is left, and so is dir). */
void sv_remove_dir_of_files(const char *dir);
/* A VM name is [A-Za-z0-9_.-]{1,48} not starting with '.' or '-'. */
gboolean sv_vm_name_valid(const char *name, GError **error);

#endif
