/* SPDX-License-Identifier: MIT */
/*
 * snapshot-chain.h - incremental snapshots: which file a snapshot's PARENT
 * names, and the page map a reader presents for the whole chain
 * (snapshot-format.h says which page comes from where).
 */
#ifndef SNAPVM_SNAPSHOT_CHAIN_H
#define SNAPVM_SNAPSHOT_CHAIN_H

#include <glib.h>

/* From a PARENT dict: the parent's path (a relative one resolved against
 * child_path's folder), its digest (hex) and size. */
char *sv_snapshot_chain_parent_path(const char *child_path, GVariant *parent, char **ret_digest,
				    guint64 *ret_size, GError **error);

/* The child's page map joined with its parent's: the child's own runs, then
 * for every page the child lists in listing (its PAGE_HASHES, or its
 * PAGE_HASHES_DELTA) but does not store, the parent's run for it, its
 * section number moved up by base. */
GVariant *sv_snapshot_chain_pagemap(GVariant *own, GVariant *listing, GVariant *parent_map,
				    guint32 base, guint32 page_size, GError **error);

/* Whether a run of a page listing (PAGE_HASHES, PAGE_HASHES_DELTA) of
 * npages at vaddr, after runs that ended at prev_end (0 before the first),
 * is well formed: aligned, not empty, within the address space and after
 * the run before it - the one check of a listing's runs, untrusted as they
 * are (a crafted file's). */
static inline gboolean sv_snapshot_page_run_valid(guint64 vaddr, guint64 npages, guint32 page_size,
						  guint64 prev_end)
{
	return vaddr % page_size == 0 && npages != 0 &&
	       npages <= (G_MAXUINT64 - vaddr) / page_size && vaddr >= prev_end;
}

#endif
