/* SPDX-License-Identifier: MIT */
/* fd-entry.h - one entry of a TASK dict's "fds" list as the checkpoint
 * writes it (host/introspect/files.c), for the restore image tests. A
 * regular file gets a sha256 (carried contents). */
#ifndef SNAPVM_TEST_FD_ENTRY_H
#define SNAPVM_TEST_FD_ENTRY_H

#include <glib.h>
#include <string.h>

static inline GVariant *fd_entry(guint32 fd, const char *kind, guint32 flags, guint64 pos,
				 guint64 file, const char *path, guint64 pipe, const char *data,
				 gboolean cloexec, gboolean stdio)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(NULL);
	g_variant_dict_insert(d, "fd", "u", fd);
	g_variant_dict_insert(d, "kind", "s", kind);
	g_variant_dict_insert(d, "flags", "u", flags);
	g_variant_dict_insert(d, "pos", "t", pos);
	g_variant_dict_insert(d, "file", "t", file);
	g_variant_dict_insert(d, "cloexec", "b", cloexec);
	g_variant_dict_insert(d, "stdio", "b", stdio);
	if (path)
		g_variant_dict_insert(d, "path", "s", path);
	if (pipe)
		g_variant_dict_insert(d, "pipe", "t", pipe);
	if (data)
		g_variant_dict_insert_value(d, "pipe_data",
					    g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, data,
								      strlen(data), 1));
	if (path && !strcmp(kind, "file"))
		g_variant_dict_insert(d, "sha256", "s", "0a");
	return g_variant_dict_end(d);
}

#endif
