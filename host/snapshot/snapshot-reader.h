/* SPDX-License-Identifier: MIT */
/*
 * snapshot-reader.h - opens a snapshot file and checks it before anything
 * uses it. A snapshot is untrusted input: open validates the header, the
 * trailer, the index and every section header against it (bounds, order,
 * overlap, kinds), every metadata section's checksum and type, the VMA list
 * (sorted, aligned, not overlapping) and the page map (inside its PAGES
 * sections and inside a VMA). Page data is checked when it is read, or all
 * at once by sv_snapshot_reader_verify. Every error names the section and
 * the file offset.
 */
#ifndef SNAPVM_SNAPSHOT_READER_H
#define SNAPVM_SNAPSHOT_READER_H

#include <glib.h>

#include "snapvm/snapshot-format.h"

typedef struct SvSnapshotReader SvSnapshotReader;

typedef struct SvSnapshotSection {
	guint32 kind;
	guint32 flags;
	guint64 offset; /* of the section header */
	guint64 stored;
	guint64 raw;
} SvSnapshotSection;

SvSnapshotReader *sv_snapshot_reader_open(const char *path, GError **error);
void sv_snapshot_reader_free(SvSnapshotReader *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvSnapshotReader, sv_snapshot_reader_free)

guint16 sv_snapshot_reader_arch(const SvSnapshotReader *r); /* enum sv_snap_arch */
guint32 sv_snapshot_reader_page_size(const SvSnapshotReader *r);
guint16 sv_snapshot_reader_minor(const SvSnapshotReader *r);
guint64 sv_snapshot_reader_file_size(const SvSnapshotReader *r);
/* The sections in file order (the INDEX itself last). */
const SvSnapshotSection *sv_snapshot_reader_sections(const SvSnapshotReader *r, guint *ret_n);
/* The first metadata section of kind (a new reference), or NULL if absent. */
GVariant *sv_snapshot_reader_metadata(const SvSnapshotReader *r, guint32 kind);
/* Raw payload of section i (decompressed, checksum checked). */
GBytes *sv_snapshot_reader_section_data(SvSnapshotReader *r, guint i, GError **error);
/* Contents of a file the snapshot carries, by sha256 hex; an incremental
 * snapshot's are also those of its chain of parents. */
GBytes *sv_snapshot_reader_file(SvSnapshotReader *r, const char *sha256, GError **error);
/* The size of that file's bytes, without reading them. */
gboolean sv_snapshot_reader_file_length(const SvSnapshotReader *r, const char *sha256,
					guint64 *ret_size, GError **error);
/* Whether it carries that file (sv_snapshot_reader_file would find it). */
gboolean sv_snapshot_reader_has_file(const SvSnapshotReader *r, const char *sha256);
/* Copies the page at vaddr into buf (page_size bytes); a page the snapshot
 * does not hold reads as zeros. */
gboolean sv_snapshot_reader_read_page(SvSnapshotReader *r, guint64 vaddr, void *buf,
				      GError **error);
/* Pages stored (not counting the elided zero pages). */
guint64 sv_snapshot_reader_pages_stored(const SvSnapshotReader *r);
/* Checks every checksum, the file digest first; stops at the first mismatch. */
gboolean sv_snapshot_reader_verify(SvSnapshotReader *r, GError **error);
/* The file's digest as its trailer records it (32 hex digits): what an
 * incremental snapshot names its parent by. */
char *sv_snapshot_reader_digest(const SvSnapshotReader *r);
/* An incremental snapshot's parent (opened with it, its identity checked;
 * the page map and section data of this reader take in the whole chain),
 * or NULL. */
SvSnapshotReader *sv_snapshot_reader_parent(const SvSnapshotReader *r);
const char *sv_snapshot_reader_path(const SvSnapshotReader *r);

#endif
