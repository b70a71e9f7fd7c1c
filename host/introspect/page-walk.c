/* SPDX-License-Identifier: MIT */
#include "host/introspect/page-walk.h"

#include "snapvm/le.h" /* sv_get_le64 */
#include "base/errors.h"

#define LEVEL_BITS 9
#define PAGE_SHIFT 12

/* Index bits of the table at level: LEVEL_BITS but at the top, where an
 * arch may have a larger table (ppc64 radix). */
static guint level_bits(const SvKernelSpace *ks, guint level)
{
	return level + 1 == ks->pt_levels && ks->top_level_bits ? ks->top_level_bits : LEVEL_BITS;
}

gboolean sv_page_walk(const SvArchOps *arch, const SvKernelSpace *ks, const SvGuestMem *mem,
		      SvGpa root, guint64 va, SvWalkResult *ret_result, SvGpa *ret_pa,
		      guint64 *ret_page_size, GError **error)
{
	if (ks->pt_levels < 2 || ks->pt_levels > 5) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT, "%s: %u page-table levels",
			    arch->name, ks->pt_levels);
		return FALSE;
	}
	guint64 table = root.v & ~((1ull << PAGE_SHIFT) - 1);
	for (guint level = ks->pt_levels; level-- > 0;) {
		guint shift = PAGE_SHIFT + LEVEL_BITS * level;
		guint64 index = (va >> shift) & ((1u << level_bits(ks, level)) - 1);
		guint8 raw[8];
		if (!sv_guest_mem_read(mem, sv_gpa(table + 8 * index), raw, 8, error)) {
			g_prefix_error(error, "page table at level %u: ", level);
			return FALSE;
		}
		SvPte pte;
		if (!sv_arch_decode_pte(arch, sv_get_le64(raw), level, &pte, error))
			return FALSE;
		if (!pte.present) {
			*ret_result = SV_WALK_NOT_MAPPED;
			return TRUE;
		}
		if (pte.leaf) {
			guint64 size = 1ull << shift;
			*ret_result = SV_WALK_MAPPED;
			*ret_pa = sv_gpa(pte.pa + (va & (size - 1)));
			*ret_page_size = size;
			return TRUE;
		}
		table = pte.pa;
	}
	g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
		    "%s: page walk for 0x%" G_GINT64_MODIFIER "x ran past the last level",
		    arch->name, va);
	return FALSE;
}

typedef struct {
	const SvArchOps *arch;
	const SvKernelSpace *ks;
	const SvGuestMem *mem;
	SvPageRangeFn fn;
	gpointer data;
	SvPageWalkBudget *budget;
} RangeWalk;

void sv_page_walk_budget_init(SvPageWalkBudget *budget, const SvGuestMem *mem)
{
	guint64 ram = sv_guest_mem_size(mem);
	budget->entries = (ram >> PAGE_SHIFT << LEVEL_BITS) + 8ull * SV_PAGE_WALK_MAX_VMAS + 4096;
	budget->bytes = SV_PAGE_WALK_ALIAS_FACTOR * ram + (4ull << 20);
}

static gboolean over_budget(RangeWalk *w, const char *what, GError **error)
{
	g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
		    "%s: the page tables %s than the guest's RAM can hold; refusing to walk further",
		    w->arch->name, what);
	return FALSE;
}

/* Visits the entries of one table that cover [start, end), descending into
 * present non-leaf entries only. */
static gboolean walk_table(RangeWalk *w, guint64 table, guint level, guint64 start, guint64 end,
			   GError **error)
{
	guint shift = PAGE_SHIFT + LEVEL_BITS * level;
	guint bits = level_bits(w->ks, level);
	guint64 span = 1ull << shift;
	const guint8 *t = sv_guest_mem_ptr(w->mem, sv_gpa(table), 8u << bits, error);
	if (!t) {
		g_prefix_error(error, "page table at level %u: ", level);
		return FALSE;
	}
	for (guint64 va = start; va < end;) {
		guint64 index = (va >> shift) & ((1u << bits) - 1);
		guint64 entry_end = (va & ~(span - 1)) + span; /* 0 if it wraps */
		guint64 stop = entry_end == 0 || entry_end > end ? end : entry_end;
		SvPte pte;
		if (w->budget->entries == 0)
			return over_budget(w, "have more entries", error);
		w->budget->entries--;
		if (!sv_arch_decode_pte(w->arch, sv_get_le64(t + 8 * index), level, &pte, error))
			return FALSE;
		if (pte.present && pte.leaf) {
			if (stop - va > w->budget->bytes)
				return over_budget(w, "map more", error);
			w->budget->bytes -= stop - va;
			guint flags = (pte.soft_dirty ? SV_WALK_SOFT_DIRTY : 0) |
				      (level > 0 ? SV_WALK_HUGE : 0);
			if (!w->fn(va, sv_gpa(pte.pa + (va & (span - 1))), stop - va, flags,
				   w->data, error))
				return FALSE;
		} else if (pte.present && level > 0) {
			if (!walk_table(w, pte.pa, level - 1, va, stop, error))
				return FALSE;
		}
		va = stop;
	}
	return TRUE;
}

gboolean sv_page_walk_range(const SvArchOps *arch, const SvKernelSpace *ks, const SvGuestMem *mem,
			    SvGpa root, guint64 start, guint64 end, SvPageWalkBudget *budget,
			    SvPageRangeFn fn, gpointer data, GError **error)
{
	if (ks->pt_levels < 2 || ks->pt_levels > 5) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT, "%s: %u page-table levels",
			    arch->name, ks->pt_levels);
		return FALSE;
	}
	if (start >= end || (start | end) & ((1ull << PAGE_SHIFT) - 1)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "bad page range [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER "x)",
			    start, end);
		return FALSE;
	}
	RangeWalk w = {
		.arch = arch, .ks = ks, .mem = mem, .fn = fn, .data = data, .budget = budget
	};
	return walk_table(&w, root.v & ~((1ull << PAGE_SHIFT) - 1), ks->pt_levels - 1, start, end,
			  error);
}
