/* SPDX-License-Identifier: MIT */
/*
 * page-select.h - the pages an incremental checkpoint copies: at the pause,
 * every present page is hashed straight from guest memory (both cores; no
 * copy, so the pause stays as short as a full checkpoint's) and compared
 * with the parent snapshot's hash for the same address. Only the pages that
 * differ, or that the parent lacks and are not zero, are copied and stored;
 * the hashes of all of them go into the new snapshot (PAGE_HASHES).
 */
#ifndef SNAPVM_PAGE_SELECT_H
#define SNAPVM_PAGE_SELECT_H

#include <glib.h>

#include "host/checkpoint/page-buffer.h"
#include "host/checkpoint/page-hashes.h"

typedef struct SvPageSelect {
	const SvPageHashes *parent; /* the parent snapshot's */
	guint32 page_size;
	SvPageHashes *hashes; /* out: of every page present at the pause */
	guint64 pages_present;
} SvPageSelect;

/* An SvPageSelectFn; data: an SvPageSelect. */
gboolean sv_page_select_changed(GArray *runs, guint64 *total, const SvGuestMem *mem, gpointer data,
				GError **error);
void sv_page_select_clear(SvPageSelect *s);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvPageSelect, sv_page_select_clear)

#endif
