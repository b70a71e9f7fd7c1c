/* SPDX-License-Identifier: MIT */
#include "host/qemu/ram-dir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/util/state-paths.h"

#define SHM_DIR "/dev/shm"
/* Names the libvirt root a RAM directory belongs to. */
#define OWNER_FILE "state-root"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Only directories of this user's that name a root which is gone: a RAM
 * directory without the record may belong to an older snapvm still running,
 * and is left alone. */
static void sweep_orphans(void)
{
	g_autoptr(GDir) dir = g_dir_open(SHM_DIR, 0, NULL);
	if (!dir)
		return;
	g_autofree char *prefix = g_strdup_printf("snapvm-%u-", (guint)geteuid());
	const char *name;
	while ((name = g_dir_read_name(dir))) {
		if (!g_str_has_prefix(name, prefix))
			continue;
		g_autofree char *path = g_build_filename(SHM_DIR, name, NULL);
		g_autofree char *owner_file = g_build_filename(path, OWNER_FILE, NULL);
		g_autofree char *owner = NULL;
		struct stat st;
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
		    !g_file_get_contents(owner_file, &owner, NULL, NULL) ||
		    !g_path_is_absolute(owner))
			continue;
		if (lstat(owner, &st) == 0 || errno != ENOENT)
			continue;
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

char *sv_ram_dir_prepare(const char *root, GError **error)
{
	g_autofree char *ram = NULL;
	if (!g_file_test(SHM_DIR, G_FILE_TEST_IS_DIR)) {
		ram = g_build_filename(root, "ram", NULL);
		return sv_mkdir_p(ram, error) ? g_steal_pointer(&ram) : NULL;
	}
	sweep_orphans();
	g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, root, -1);
	hash[16] = '\0';
	ram = g_strdup_printf(SHM_DIR "/snapvm-%u-%s", (guint)geteuid(), hash);
	if (!sv_mkdir_p(ram, error))
		return NULL;
	g_autofree char *owner_file = g_build_filename(ram, OWNER_FILE, NULL);
	g_autofree char *have = NULL;
	if (g_file_get_contents(owner_file, &have, NULL, NULL) && g_strcmp0(have, root) == 0)
		return g_steal_pointer(&ram);
	if (!g_file_set_contents(owner_file, root, -1, error))
		return NULL;
	return g_steal_pointer(&ram);
}
