/* SPDX-License-Identifier: MIT */
/* snapshot-variant.h - section names and types, and GVariant to and from the
 * little-endian bytes a snapshot stores. */
#ifndef SNAPVM_SNAPSHOT_VARIANT_H
#define SNAPVM_SNAPSHOT_VARIANT_H

#include <glib.h>

#include "snapvm/snapshot-format.h"

/* "TASK", "PAGES", ...; "UNKNOWN" for numbers this snapvm does not know. */
const char *sv_snap_section_name(guint32 kind);
/* The GVariant type string of a metadata section, NULL for raw sections. */
const char *sv_snap_metadata_type(guint32 kind);
/* Serialized value in little-endian order, whatever the host's. */
GBytes *sv_snap_variant_to_le_bytes(GVariant *value);
/* The inverse (returns a new reference); the bytes are untrusted: NULL
 * unless they are in normal form (all the above writes), whose children
 * are then read in constant time each. */
GVariant *sv_snap_variant_from_le_bytes(const char *type, GBytes *bytes);
/* Whether size bytes at d hold an SV_SNAP_PAGE_HASHES_TYPE in normal form,
 * as g_variant_is_normal_form would say, but reading only the framing:
 * GLib checks each of the hashes' 64-bit halves on its own, half a million
 * calls for a GiB of pages (~20 ms) at every --parent. */
gboolean sv_snap_page_hashes_normal(const guint8 *d, gsize size);
/* Architecture numbers of the header, to and from snapvm's names. */
const char *sv_snap_arch_name(guint16 arch);
guint16 sv_snap_arch_from_name(const char *name);

#endif
