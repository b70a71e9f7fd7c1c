/* SPDX-License-Identifier: MIT */
#include "host/util/cpio.h"

#include "base/errors.h"

#include <string.h>
#include <sys/stat.h>

static const guint8 zeros[4];

/* Entries are 4-byte aligned; the header is 110 bytes, so the name is padded. */
static gboolean write_padded(GOutputStream *out, const void *data, gsize len, GError **error)
{
	if (len && !g_output_stream_write_all(out, data, len, NULL, NULL, error))
		return FALSE;
	gsize pad = (4 - (len % 4)) % 4;
	return pad == 0 || g_output_stream_write_all(out, zeros, pad, NULL, NULL, error);
}

static gboolean add_entry(GOutputStream *out, const char *name, guint32 mode, guint32 nlink,
			  const void *data, gsize len, GError **error)
{
	gsize namesize = strlen(name) + 1;
	/* Fixed mtime and owner: the same inputs give the same bytes. */
	g_autofree char *hdr =
		g_strdup_printf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", 0u,
				mode, 0u, 0u, nlink, 0u, (guint32)len, 0u, 0u, 0u, 0u,
				(guint32)namesize, 0u);
	g_assert(strlen(hdr) == 110);
	if (!g_output_stream_write_all(out, hdr, 110, NULL, NULL, error))
		return FALSE;
	/* header + name is padded to 4 bytes as a unit */
	if (!g_output_stream_write_all(out, name, namesize, NULL, NULL, error))
		return FALSE;
	gsize pad = (4 - ((110 + namesize) % 4)) % 4;
	if (pad && !g_output_stream_write_all(out, zeros, pad, NULL, NULL, error))
		return FALSE;
	return write_padded(out, data, len, error);
}

gboolean sv_cpio_add(GOutputStream *out, const char *name, guint32 mode, const void *data,
		     gsize len, GError **error)
{
	if (len > G_MAXUINT32) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "cpio: %s is larger than 4 GiB", name);
		return FALSE;
	}
	return add_entry(out, name, mode, S_ISDIR(mode) ? 2 : 1, data, len, error);
}

gboolean sv_cpio_finish(GOutputStream *out, GError **error)
{
	return add_entry(out, "TRAILER!!!", 0, 1, NULL, 0, error);
}
