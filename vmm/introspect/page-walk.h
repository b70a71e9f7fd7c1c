/* SPDX-License-Identifier: MIT */
/*
 * page-walk.h - one page-table walker for every arch: the arch decodes
 * entries (SvArchOps.decode_pte), this code walks the levels. Entries come
 * from guest memory: every table address is bounds-checked by the
 * guest-physical accessor, and the walk is at most pt_levels deep.
 */
#ifndef SNAPVM_PAGE_WALK_H
#define SNAPVM_PAGE_WALK_H

#include "snapvm/arch.h"
#include "vmm/guest-mem.h"

typedef enum {
	SV_WALK_MAPPED,
	SV_WALK_NOT_MAPPED,
} SvWalkResult;

/* Translates va through the tables rooted at root (guest-physical). On
 * SV_WALK_MAPPED, *ret_pa is va's guest-physical address and *ret_page_size
 * the size of the page that maps it. */
gboolean sv_page_walk(const SvArchOps *arch, const SvKernelSpace *ks, const SvGuestMem *mem,
		      SvGpa root, guint64 va, SvWalkResult *ret_result, SvGpa *ret_pa,
		      guint64 *ret_page_size, GError **error);

/* Called for every mapped run of a range walk: va (page-aligned, inside the
 * range), its guest-physical address and how many bytes from va the same
 * leaf maps contiguously (clipped to the range). Return FALSE (with error
 * set) to stop the walk. */
typedef gboolean (*SvPageRangeFn)(guint64 va, SvGpa pa, guint64 len, gpointer data,
				  GError **error);

/* Walks every mapping of [start, end) (page-aligned) through the tables at
 * root, skipping unmapped subtrees; leaves that map more than once the
 * guest's RAM in total are refused. */
gboolean sv_page_walk_range(const SvArchOps *arch, const SvKernelSpace *ks, const SvGuestMem *mem,
			    SvGpa root, guint64 start, guint64 end, SvPageRangeFn fn, gpointer data,
			    GError **error);

#endif
