/* SPDX-License-Identifier: MIT */
/*
 * snapshot-writer.h - writes a snapshot file (include/snapvm/snapshot-format.h)
 * in one streaming pass, atomically: everything goes to a temp file beside
 * the target, which is synced and renamed over it only by
 * sv_snapshot_writer_finish. Freeing an unfinished writer removes the temp
 * file, so no partial file is ever at the target path.
 */
#ifndef SNAPVM_SNAPSHOT_WRITER_H
#define SNAPVM_SNAPSHOT_WRITER_H

#include <glib.h>
#include <sys/uio.h>
#include <xxhash.h>

#include "snapvm/snapshot-format.h"
#include "host/snapshot/snapshot-reader.h"

typedef struct SvSnapshotWriter SvSnapshotWriter;

typedef struct SvSnapshotWriterOptions {
	guint16 arch;	   /* enum sv_snap_arch */
	guint8 byte_order; /* enum sv_snap_byte_order */
	guint32 page_size;
	int zstd_level;	   /* 0: store pages raw; else compress each chunk */
	gsize chunk_bytes; /* raw bytes per PAGES section; 0: 4 MiB */
} SvSnapshotWriterOptions;

SvSnapshotWriter *sv_snapshot_writer_new(const char *path, const SvSnapshotWriterOptions *options,
					 GError **error);
/* Frees; an unfinished snapshot's temp file is removed. */
void sv_snapshot_writer_free(SvSnapshotWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvSnapshotWriter, sv_snapshot_writer_free)

/* Adds a metadata section; value must have the kind's type (snapshot-format.h).
 * Takes a floating reference. */
gboolean sv_snapshot_writer_add_metadata(SvSnapshotWriter *w, guint32 kind, GVariant *value,
					 GError **error);
/* Adds a file's contents (stored once per sha256); returns its sha256 hex. */
char *sv_snapshot_writer_add_file(SvSnapshotWriter *w, GBytes *contents, GError **error);
/* An incremental snapshot's parent (borrowed: it must outlive w): a file
 * whose sha256 the parent's chain already carries is not stored again, the
 * reader takes it from there. Content-addressed, so a changed file is
 * always stored anew. */
void sv_snapshot_writer_set_parent(SvSnapshotWriter *w, const SvSnapshotReader *parent);
/* How many added files were found in the parent, and their bytes. */
void sv_snapshot_writer_files_from_parent(const SvSnapshotWriter *w, guint *ret_files,
					  guint64 *ret_bytes);
/* Adds npages pages starting at guest virtual address vaddr. All-zero pages
 * are not stored: a reader gives zeros for any page the snapshot lacks.
 * data is only borrowed for the call: full chunks are written straight from
 * it, the rest is copied, so the caller may reuse or free it on return. */
gboolean sv_snapshot_writer_add_pages(SvSnapshotWriter *w, guint64 vaddr, const void *data,
				      gsize npages, GError **error);
/* The same, storing zero pages too: for a mapping whose absent pages a
 * reader takes from a file, where a page of zeros is not an absent one. */
gboolean sv_snapshot_writer_add_pages_all(SvSnapshotWriter *w, guint64 vaddr, const void *data,
					  gsize npages, GError **error);
/*
 * Pages copied once, straight into the file (snapshot-writer-direct.c):
 * sv_snapshot_writer_map_pages maps room for len bytes of page data, the
 * payloads of the PAGES sections that open the file, as one writable range
 * the caller copies pages into (populate: faulted in now, on both cores, so
 * the copy runs at memory speed). Only first (before any other section),
 * and not with zstd; called again for more it maps the rest beside what
 * is mapped (contents kept) where the address space reserved with it
 * allows (half as much again, and 64 MiB), else a new range (contents lost).
 * SV_ERROR_NOT_SUPPORTED where the file system cannot reserve the room:
 * use sv_snapshot_writer_add_pages instead.
 * sv_snapshot_writer_commit_pages then says what the range holds: spans of
 * pages in offset order, each npages pages at offset for vaddr; zero pages
 * are left out of the page map (except in keep_zero spans, as with
 * _add_pages_all) and stay where they are, as holes in the file where it
 * can have them; the sections are sealed and the range unmapped. Other
 * sections follow.
 */
typedef struct SvSnapshotPageSpan {
	guint64 vaddr;
	gsize offset, npages;
	gboolean keep_zero;
} SvSnapshotPageSpan;
guint8 *sv_snapshot_writer_map_pages(SvSnapshotWriter *w, gsize len, gboolean populate,
				     GError **error);
/* The same, but only the first `reserve` bytes (whole chunks) have their
 * room reserved and, with populate, faulted in: the caller may store only
 * into those through the mapping (*ret_ready bytes from the start) and
 * hands the rest to sv_snapshot_writer_write_pages, where the file system
 * allocates each page as it copies into it (a page written whole is never
 * zeroed first, nor faulted in). Where the file system has less free room
 * than the rest would take, all of it is reserved now, so that a full disk
 * is still found before the caller pauses anything. Called again (to
 * grow), nothing past what is reserved already is reserved. */
guint8 *sv_snapshot_writer_map_pages_part(SvSnapshotWriter *w, gsize len, gsize reserve,
					  gboolean populate, gsize *ret_ready, GError **error);
/* Writes n iovecs, in order, to bytes [at, at + their length) of the
 * mapped range, with pwritev (ENOSPC and other errors as a GError). Each
 * thread may write its own bytes at the same time as another. */
gboolean sv_snapshot_writer_write_pages(SvSnapshotWriter *w, guint64 at, const struct iovec *iov,
					guint n, GError **error);
gboolean sv_snapshot_writer_commit_pages(SvSnapshotWriter *w, const SvSnapshotPageSpan *spans,
					 guint n, GError **error);
/* The same, and ret_hashes[k] (one entry per page of the spans, in their
 * order) the xxh3-128 of the k-th page, zero pages included: taken in the
 * read that finds the zero pages (PAGE_HASHES, snapshot-format.h). */
gboolean sv_snapshot_writer_commit_pages_hashed(SvSnapshotWriter *w,
						const SvSnapshotPageSpan *spans, guint n,
						XXH128_hash_t *ret_hashes, GError **error);

/* Writes the page map, index and trailer, syncs, and renames into place. */
gboolean sv_snapshot_writer_finish(SvSnapshotWriter *w, GError **error);

/* Page statistics so far. */
guint64 sv_snapshot_writer_pages_stored(const SvSnapshotWriter *w);
guint64 sv_snapshot_writer_pages_zero(const SvSnapshotWriter *w);

#endif
