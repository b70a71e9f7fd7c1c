/* SPDX-License-Identifier: MIT */
/* cpio.h - a writer for the "newc" cpio format, the one the Linux initramfs
 * unpacker reads (Documentation/driver-api/early-userspace/buffer-format.rst). */
#ifndef SNAPVM_CPIO_H
#define SNAPVM_CPIO_H

#include <glib.h>
#include <gio/gio.h>

/* Appends one entry. mode includes the file type bits (S_IFDIR, S_IFREG). */
gboolean sv_cpio_add(GOutputStream *out, const char *name, guint32 mode, const void *data,
		     gsize len, GError **error);
/* Appends the TRAILER!!! entry that ends an archive. */
gboolean sv_cpio_finish(GOutputStream *out, GError **error);

#endif
