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

#endif
