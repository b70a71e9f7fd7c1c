/* SPDX-License-Identifier: MIT */
#include "vmm/introspect/page-walk.h"

#include "snapvm/agent-proto.h" /* sv_get_le64 */
#include "vmm/errors.h"

#define LEVEL_BITS 9
#define PAGE_SHIFT 12

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
		guint64 index = (va >> shift) & ((1u << LEVEL_BITS) - 1);
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
		    "%s: page walk for 0x%" G_GINT64_MODIFIER "x ran past the last level", arch->name, va);
	return FALSE;
}
