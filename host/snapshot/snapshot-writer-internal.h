/* SPDX-License-Identifier: MIT */
/*
 * snapshot-writer-internal.h - the writer's state, shared by its two files:
 * snapshot-writer.c (streamed sections, the end of the file) and
 * snapshot-writer-direct.c (page data copied straight into the file).
 */
#ifndef SNAPVM_SNAPSHOT_WRITER_INTERNAL_H
#define SNAPVM_SNAPSHOT_WRITER_INTERNAL_H

#include <glib.h>
#include "host/util/fast-hash.h"

#include "host/snapshot/snapshot-writer.h"

/* A piece of the PAGES section being filled: pages that are contiguous in
 * the caller's memory, or (owned) copied into the writer's own buffer. */
typedef struct {
	const guint8 *p;
	gsize len;
	gboolean owned;
} Segment;

typedef struct {
	guint32 kind, flags;
	guint64 offset, stored, raw;
} IndexEntry;

typedef struct {
	guint64 vaddr;
	guint32 npages;
	guint32 section; /* index into the INDEX of its PAGES section */
	guint64 offset;	 /* in that section's raw payload */
} PageRun;

struct SvSnapshotWriter {
	SvSnapshotWriterOptions opt;
	char *path;
	char *tmp_path;
	int fd;
	guint64 offset;
	XXH3_state_t *digest;
	XXH3_state_t *section_sum; /* a section's payload checksum, when in pieces */
	GArray *index;		   /* IndexEntry */
	/* The PAGES section being filled, chunk_len bytes in all: full chunks
	 * are written straight from the caller's pages (no copy); what is left
	 * pending when sv_snapshot_writer_add_pages returns is copied into buf
	 * (chunk_bytes, so never reallocated: owned segments stay valid). */
	GArray *segs; /* Segment */
	gsize chunk_len;
	guint8 *buf;
	gsize buf_len;
	guint8 *zbuf;	   /* zstd: a contiguous copy of the chunk, then its output */
	GArray *runs;	   /* PageRun */
	GHashTable *files; /* sha256 hex -> section index (GUINT_TO_POINTER) */
	/* sv_snapshot_writer_set_parent: files it holds are referred to */
	const SvSnapshotReader *parent;
	guint files_from_parent;
	guint64 bytes_from_parent;
	guint64 pages_stored, pages_zero;
	/* sv_snapshot_writer_map_pages: the mapping of the PAGES payloads to
	 * come, area_len bytes, chunk k at area + k * chunk_bytes, in
	 * area_reserved bytes of address space; NULL once committed (or never
	 * mapped) */
	guint8 *area;
	gsize area_len, area_reserved;
	/* the first area_ready bytes of it have their room reserved (and may
	 * be stored into through the mapping); the rest is filled by
	 * sv_snapshot_writer_write_pages */
	gsize area_ready;
	gboolean direct_done;
	gboolean finished;
};

/* Fills the 48 bytes of a section header. */
void sv_snapshot_section_header(guint8 h[SV_SNAP_SECTION_HEADER_SIZE], guint32 kind, guint32 flags,
				guint64 stored, guint64 raw, guint64 payload_sum);
/* Whether a page is all zeros. */
gboolean sv_snapshot_page_is_zero(const guint8 *p, gsize n);
/* Sets *error for a failed write to the temp file (errno e). */
void sv_snapshot_writer_io_error(SvSnapshotWriter *w, const char *what, int e, GError **error);
/* Unmaps the direct page area, if any. */
void sv_snapshot_writer_unmap_pages(SvSnapshotWriter *w);

#endif
