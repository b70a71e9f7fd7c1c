/* SPDX-License-Identifier: MIT */
/*
 * page-select.h - the pages an incremental checkpoint copies, chosen at the
 * pause in one of two ways (dirty-track.h says which applies):
 *  - hashes: every present page is hashed straight from guest memory (both
 *    cores; no copy, so the pause stays as short as a full checkpoint's)
 *    and compared with the parent snapshot's hash for the same address.
 *    Only the pages that differ, or that the parent lacks and are not
 *    zero, are copied and stored;
 *  - soft-dirty: the pages of private anonymous mappings are stored when
 *    their soft-dirty bit (or their VMA's VM_SOFTDIRTY) says they were
 *    written since the parent's arm, or the parent lacks them; nothing of
 *    them is read at the pause but what is copied. A written huge page
 *    (one bit for 512 pages), and the other mappings' pages, are hashed as
 *    above.
 * The hashes of all present pages go into the new snapshot (PAGE_HASHES):
 * with soft-dirty they are put together after the resume
 * (sv_page_select_hashes), from the copy and the parent's.
 */
#ifndef SNAPVM_PAGE_SELECT_H
#define SNAPVM_PAGE_SELECT_H

#include <glib.h>

#include "host/checkpoint/page-buffer.h"
#include "host/checkpoint/page-hashes.h"

typedef struct SvPageSelect {
	const SvPageHashes *parent; /* the parent snapshot's */
	guint32 page_size;
	gboolean soft_dirty; /* judge tracked runs (SvPageRun) by their bits */
	/* out: hashes, of every page present at the pause, or with
	 * soft_dirty only of those outside tracked runs */
	SvPageHashes *hashes;
	GArray *present; /* out, soft_dirty: SvPageRun, every run present at the pause */
	guint64 pages_present;
} SvPageSelect;

/* Appends the page at va (pa in guest memory, ps bytes, from run from) to
 * kept, joined to the last run when it continues it; *total: the bytes
 * kept so far, its offset. */
struct SvPageRun;
void sv_page_run_keep(GArray *kept, const struct SvPageRun *from, guint64 va, SvGpa pa, guint64 ps,
		      gboolean keep_zero, guint64 *total);

/* An SvPageSelectFn; data: an SvPageSelect. */
gboolean sv_page_select_changed(GArray *runs, guint64 *total, const SvGuestMem *mem, gpointer data,
				GError **error);
/* soft_dirty: the hashes of every page present at the pause, given the
 * hashes of the pages copied (fresh); takes the others from s->hashes and
 * the parent. */
SvPageHashes *sv_page_select_hashes(const SvPageSelect *s, const SvPageHashes *fresh);
/* soft_dirty: the PAGE_HASHES_DELTA of those hashes against s->parent's,
 * as sv_page_hashes_delta_to_variant(sv_page_select_hashes(s, fresh),
 * s->parent) gives it, without the whole table in between (4 MiB a GiB,
 * written and read again, where a few pages changed): a run the bits
 * gave the parent is passed over whole. */
GVariant *sv_page_select_delta(const SvPageSelect *s, const SvPageHashes *fresh);
void sv_page_select_clear(SvPageSelect *s);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvPageSelect, sv_page_select_clear)

#endif
