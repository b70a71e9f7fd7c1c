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
#include "base/guest-mem.h"

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

/* What a range walk says of the leaf that maps a run. */
enum {
	SV_WALK_SOFT_DIRTY = 1 << 0, /* its soft-dirty bit (SvPte) */
	SV_WALK_HUGE = 1 << 1,	     /* above the last level: one bit for many pages */
};

/* Called for every mapped run of a range walk: va (page-aligned, inside the
 * range), its guest-physical address, how many bytes from va the same
 * leaf maps contiguously (clipped to the range) and SV_WALK_* flags of the
 * leaf. Return FALSE (with error set) to stop the walk. */
typedef gboolean (*SvPageRangeFn)(guint64 va, SvGpa pa, guint64 len, guint flags, gpointer data,
				  GError **error);

/*
 * What range walks may cost, shared by every walk over one address space. A
 * hostile guest's tables can put the same table under every entry, so that
 * the work and the bytes mapped grow with the virtual range walked (2^47
 * bytes and more), not with its RAM: both are bounded here by the guest's
 * RAM instead. A real process stays far below: one entry decoded per entry
 * of its page tables (which are pages of RAM) per VMA, and its mappings
 * are its RAM plus aliases (the zero page, file pages mapped twice).
 */
typedef struct SvPageWalkBudget {
	guint64 entries; /* table entries still to decode */
	guint64 bytes;	 /* mapped bytes still to report */
} SvPageWalkBudget;
#define SV_PAGE_WALK_MAX_VMAS 65536  /* the most VMAs one budget allows for */
#define SV_PAGE_WALK_ALIAS_FACTOR 16 /* mapped bytes per byte of guest RAM */
void sv_page_walk_budget_init(SvPageWalkBudget *budget, const SvGuestMem *mem);

/* Walks every mapping of [start, end) (page-aligned) through the tables at
 * root, skipping unmapped subtrees, and fails once it has spent budget
 * (which it decrements; several walks may share it). */
gboolean sv_page_walk_range(const SvArchOps *arch, const SvKernelSpace *ks, const SvGuestMem *mem,
			    SvGpa root, guint64 start, guint64 end, SvPageWalkBudget *budget,
			    SvPageRangeFn fn, gpointer data, GError **error);

#endif
