/* SPDX-License-Identifier: MIT */
/*
 * struct-page.c - from a struct page's kernel address to its page frame:
 * its index in the vmemmap (SPARSEMEM_VMEMMAP, as Debian builds x86_64 and
 * arm64). Pipe buffers (files.c) and the page cache (page-cache.c) name
 * their pages that way.
 */
#include "snapvm/le.h" /* sv_get_le* */
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

static gboolean rd64(const SvIntrospect *in, guint64 va, guint64 *v, GError **error)
{
	guint8 b[8];
	if (!sv_introspect_read(in, va, b, 8, error))
		return FALSE;
	*v = sv_get_le64(b);
	return TRUE;
}

/*
 * The base of the struct page array where the arch does not fix it (x86_64
 * randomizes it; arm64 sets SvKernelSpace.vmemmap_*): every present
 * memory section's section_mem_map encodes its first struct page minus its
 * first pfn (sparse_encode_mem_map, mm/sparse.c), which is that base, with
 * flag bits below bit 6; the base itself is section-aligned, so the low
 * page bits go. mem_section is an array of roots of sections
 * (SPARSEMEM_EXTREME); the first root holds the low sections, where RAM
 * starts on every board used here.
 */
static gboolean vmemmap_base(const SvIntrospect *in, guint64 *ret, GError **error)
{
	guint64 va, roots, root, sec_size, map_off;
	if (!sv_kallsyms_lookup(in->syms, "mem_section", &va, NULL) ||
	    !sv_kernel_types_size(in->types, "mem_section", NULL, &sec_size, NULL) ||
	    !sv_kernel_types_offset(in->types, "mem_section", "section_mem_map", &map_off, NULL) ||
	    sec_size == 0 || sec_size > 4096) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "this kernel's struct page array cannot be found (no SPARSEMEM "
			    "mem_section)");
		return FALSE;
	}
	if (!rd64(in, va, &roots, error) || !rd64(in, roots, &root, error))
		return FALSE;
	for (guint64 i = 0; root && i < 4096 / sec_size; i++) {
		guint64 map;
		if (!rd64(in, root + i * sec_size + map_off, &map, error))
			return FALSE;
		if (map & ~0xfffull) {
			*ret = map & ~0xfffull;
			return TRUE;
		}
	}
	g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
		    "no present memory section in the guest's first mem_section root");
	return FALSE;
}

gboolean sv_struct_pages_init(const SvIntrospect *in, SvStructPages *sp, GError **error)
{
	*sp = (SvStructPages){ 0 };
	if (!sv_kernel_types_size(in->types, "page", NULL, &sp->page_size, error))
		return FALSE;
	if (sp->page_size == 0 || sp->page_size > 256) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "the kernel's struct page is %" G_GUINT64_FORMAT " bytes",
			    sp->page_size);
		return FALSE;
	}
	if (in->space.vmemmap_start) {
		sp->vmemmap = in->space.vmemmap_start;
		sp->first_pfn = in->space.vmemmap_first_pfn;
		return TRUE;
	}
	return vmemmap_base(in, &sp->vmemmap, error);
}

gboolean sv_struct_page_frame(const SvStructPages *sp, guint64 page, guint64 *ret_pfn,
			      GError **error)
{
	if (page < sp->vmemmap || (page - sp->vmemmap) % sp->page_size) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "0x%" G_GINT64_MODIFIER "x is not a struct page of the vmemmap", page);
		return FALSE;
	}
	*ret_pfn = sp->first_pfn + (page - sp->vmemmap) / sp->page_size;
	return TRUE;
}
