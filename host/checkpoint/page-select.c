/* SPDX-License-Identifier: MIT */
/* page-select.c - see page-select.h. */
#include "host/checkpoint/page-select.h"

#include "host/checkpoint/capture.h"

void sv_page_select_clear(SvPageSelect *s)
{
	g_clear_pointer(&s->hashes, sv_page_hashes_free);
}

/* Whether the page must be stored: a parent that has it gives its own
 * bytes; one that lacks it gives zeros, except in a file-backed mapping
 * (keep_zero), where an absent page reads from the file. */
static gboolean must_store(const SvPageSelect *s, const SvPageRun *r, const XXH128_hash_t *mine,
			   const XXH128_hash_t *theirs)
{
	if (theirs)
		return !XXH128_isEqual(*mine, *theirs);
	return r->keep_zero || !sv_page_hash_is_zero(s->hashes, mine);
}

/* Appends a page to keep, joined to the last run when it continues it. */
static void keep(GArray *kept, const SvPageRun *from, guint64 va, SvGpa pa, guint64 ps,
		 guint64 *total)
{
	SvPageRun *last = kept->len ? &g_array_index(kept, SvPageRun, kept->len - 1) : NULL;
	if (last && last->vma == from->vma && last->va + last->len == va &&
	    last->pa.v + last->len == pa.v) {
		last->len += ps;
	} else {
		/* stored even when zero: absent, it would be the parent's */
		SvPageRun r = { .va = va,
				.len = ps,
				.offset = *total,
				.pa = pa,
				.keep_zero = TRUE,
				.vma = from->vma };
		g_array_append_val(kept, r);
	}
	*total += ps;
}

gboolean sv_page_select_changed(GArray *runs, guint64 *total, const SvGuestMem *mem, gpointer data,
				GError **error)
{
	SvPageSelect *s = data;
	const guint64 ps = s->page_size;
	g_autoptr(GArray)
		src = g_array_sized_new(FALSE, FALSE, sizeof(SvPageHashSource), runs->len);
	for (guint i = 0; i < runs->len; i++) {
		const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
		const guint8 *p = sv_guest_mem_ptr(mem, r->pa, r->len, error);
		if (!p) {
			g_prefix_error(error, "page at 0x%" G_GINT64_MODIFIER "x: ", r->va);
			return FALSE;
		}
		SvPageHashSource h = { r->va, r->len / ps, p };
		g_array_append_val(src, h);
	}
	sv_page_select_clear(s);
	s->hashes = sv_page_hashes_compute((const SvPageHashSource *)(void *)src->data, src->len,
					   s->page_size);
	s->pages_present = s->hashes->n;
	g_autoptr(GArray) kept = g_array_new(FALSE, FALSE, sizeof(SvPageRun));
	guint cursor = 0;
	gsize at = 0;
	*total = 0;
	for (guint i = 0; i < runs->len; i++) {
		const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
		for (guint64 off = 0; off < r->len; off += ps, at++) {
			const XXH128_hash_t *theirs = sv_page_hashes_find(s->parent, r->va + off,
									  &cursor);
			if (must_store(s, r, &s->hashes->hash[at], theirs))
				keep(kept, r, r->va + off, (SvGpa){ r->pa.v + off }, ps, total);
		}
	}
	g_array_set_size(runs, 0);
	g_array_append_vals(runs, kept->data, kept->len);
	return TRUE;
}
