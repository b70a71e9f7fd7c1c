/* SPDX-License-Identifier: MIT */
/*
 * page-hashes.h - the xxh3-128 of every present page of a process, as a
 * snapshot records it (section PAGE_HASHES, snapshot-format.h), and the
 * choice of what an incremental checkpoint stores.
 *
 * Content hashes find changed pages soundly on every arch and backend:
 * they need no dirty bit, no guest cooperation and no tracking between
 * checkpoints; a page counts as unchanged only when its 128-bit hash equals
 * the parent's for the same address. (xxh3 is not cryptographic: a process
 * that crafted a colliding page would only corrupt itself.)
 */
#ifndef SNAPVM_PAGE_HASHES_H
#define SNAPVM_PAGE_HASHES_H

#include <glib.h>
#include <xxhash.h>

/* The most pages a snapshot's hashes may list (16 bytes each in memory):
 * 256 GiB of 4 KiB pages. */
#define SV_PAGE_HASHES_MAX (1ull << 26)

/* Runs of present pages in address order, each page's hash. */
typedef struct SvPageHashes {
	GArray *runs; /* SvPageHashRun */
	XXH128_hash_t *hash;
	gsize n; /* pages */
	guint32 page_size;
	XXH128_hash_t zero; /* of a page of zeros */
} SvPageHashes;

typedef struct SvPageHashRun {
	guint64 vaddr;
	gsize first, npages; /* first: index into hash */
} SvPageHashRun;

/* A run of pages to hash: npages at vaddr, read from data. */
typedef struct SvPageHashSource {
	guint64 vaddr;
	gsize npages;
	const guint8 *data;
} SvPageHashSource;

/* The runs of the sources (in address order), their hashes to be filled
 * in by the caller, in the same order (the data is not read). */
SvPageHashes *sv_page_hashes_new(const SvPageHashSource *src, guint n, guint32 page_size);
/* Hashes the sources (in address order), on both cores. */
SvPageHashes *sv_page_hashes_compute(const SvPageHashSource *src, guint n, guint32 page_size);
/* The hashes of the pages of present (their data unused), each taken
 * from the first of from[] that has one for its address (NULL entries
 * skipped), or that of a zero page where none has. */
SvPageHashes *sv_page_hashes_merge(const SvPageHashSource *present, guint n,
				   const SvPageHashes *const *from, guint nfrom, guint32 page_size);
/* The PAGE_HASHES section: a(tat), per run its address and two u64 per
 * page (the hash's low, then high half). */
GVariant *sv_page_hashes_to_variant(const SvPageHashes *h);
/* From a snapshot's PAGE_HASHES, checked (runs page-aligned, in order,
 * not overlapping, whole hashes). */
SvPageHashes *sv_page_hashes_from_variant(GVariant *v, guint32 page_size, GError **error);
/* The PAGE_HASHES_DELTA section of an incremental snapshot whose hashes
 * are h and whose parent's are parent: h's runs, and the hashes of h that
 * parent lacks or has otherwise (snapshot-format.h). */
GVariant *sv_page_hashes_delta_to_variant(const SvPageHashes *h, const SvPageHashes *parent);
/* A snapshot's hashes from its PAGE_HASHES_DELTA and its parent's hashes,
 * checked as sv_page_hashes_from_variant does. */
SvPageHashes *sv_page_hashes_from_delta(GVariant *delta, const SvPageHashes *parent,
					guint32 page_size, GError **error);
struct SvSnapshotReader;
/* The hashes of every page the snapshot r lists: its PAGE_HASHES, or its
 * PAGE_HASHES_DELTA applied to its parent's, up its chain. */
SvPageHashes *sv_page_hashes_of_snapshot(struct SvSnapshotReader *r, guint32 page_size,
					 GError **error);
void sv_page_hashes_free(SvPageHashes *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvPageHashes, sv_page_hashes_free)

/* The parent's hash of the page at vaddr; *cursor: a run index, for
 * lookups in rising address order to take linear time in all. */
const XXH128_hash_t *sv_page_hashes_find(const SvPageHashes *h, guint64 vaddr, guint *cursor);
/* Whether hash is that of a page of zeros. */
gboolean sv_page_hash_is_zero(const SvPageHashes *h, const XXH128_hash_t *hash);

#endif
