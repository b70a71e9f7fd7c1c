/* SPDX-License-Identifier: MIT */
/*
 * zero-page.c - the guest kernel's shared zero frames. An anonymous read
 * fault maps zero_pfn (do_anonymous_page, mm/memory.c), and in a huge-page
 * region huge_zero_pfn (mm/huge_memory.c), without marking the entry
 * written: a page zapped (MADV_DONTNEED, MADV_FREE reclaimed) and read
 * again holds zeros where it held data, yet its soft-dirty bit is clear.
 * Dirty tracking (host/checkpoint/dirty-track.h) counts such pages as
 * written. huge_zero_pfn is ~0 until the huge zero page is first used and
 * set then: read it with the VM paused.
 */
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

gboolean sv_introspect_zero_frames(const SvIntrospect *in, guint64 *ret_zero_pfn,
				   guint64 *ret_huge_zero_pfn, GError **error)
{
	guint64 zero, huge;
	if (!sv_kallsyms_lookup(in->syms, "zero_pfn", &zero, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "the guest kernel has no symbol zero_pfn");
		return FALSE;
	}
	if (!sv_introspect_read_uint(in, zero, 8, ret_zero_pfn, error))
		return FALSE;
	/* a kernel without transparent huge pages has no huge zero page */
	*ret_huge_zero_pfn = G_MAXUINT64;
	if (sv_kallsyms_lookup(in->syms, "huge_zero_pfn", &huge, NULL) &&
	    !sv_introspect_read_uint(in, huge, 8, ret_huge_zero_pfn, error))
		return FALSE;
	return TRUE;
}
