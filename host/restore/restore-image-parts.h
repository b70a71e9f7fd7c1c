/* SPDX-License-Identifier: MIT */
/*
 * restore-image-fds.h - the part of the flat restore image made from the
 * TASK dict's fds and process environment (cwd, umask, rlimits, groups,
 * interval timers): checked and converted here so the guest restorer only
 * follows orders.
 */
#ifndef SNAPVM_RESTORE_IMAGE_FDS_H
#define SNAPVM_RESTORE_IMAGE_FDS_H

#include <glib.h>

#include "snapvm/restore-image-format.h"

/* What restore-image.c shares with this part: its strings, and its table
 * of files to put in the guest (one per path; an open regular file joins
 * it like a mapped one, so it is carried and recreated the same way). */
typedef struct SvRimgFiles {
	GByteArray *strings;
	GArray *files;		   /* struct sv_rimg_file */
	GPtrArray *shas;	   /* the snapshot's sha256 per file ("" if not carried) */
	GHashTable *by_path;	   /* path -> index + 0 (GUINT_TO_POINTER) */
} SvRimgFiles;

/* Appends str and its NUL to the image's strings; returns its offset. */
guint32 sv_rimg_add_string(GByteArray *strings, const char *str);
/* A snapshot's sha256 in hex as 32 bytes (zeros past the hex's end). */
void sv_rimg_hex_to_bytes(const char *hex, guint8 out[32]);

/* Fails with SV_ERROR_INVALID_ARGUMENT and the message: a snapshot
 * restore cannot honour. */
gboolean sv_rimg_refuse(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Fills h's SV_RIMG_FDS fields (not the offsets), and the fd table
 * (struct sv_rimg_fd), groups (guint32) and pipe data arrays. A snapshot
 * without an "fds" entry gives an image without SV_RIMG_FDS. */
gboolean sv_rimg_fds_build(GVariant *task, struct sv_rimg_header *h, SvRimgFiles *files,
			   GArray *ret_fds, GArray *ret_groups, GByteArray *ret_data,
			   gboolean *ret_uncarried, GError **error);

#endif
