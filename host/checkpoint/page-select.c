/* SPDX-License-Identifier: MIT */
/* page-select.c - see page-select.h. */
#include "host/checkpoint/page-select.h"

#include "host/checkpoint/capture.h"

void sv_page_select_clear(SvPageSelect *s)
{
	g_clear_pointer(&s->hashes, sv_page_hashes_free);
	g_clear_pointer(&s->present, g_array_unref);
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

void sv_page_run_keep(GArray *kept, const SvPageRun *from, guint64 va, SvGpa pa, guint64 ps,
		      gboolean keep_zero, guint64 *total)
{
	SvPageRun *last = kept->len ? &g_array_index(kept, SvPageRun, kept->len - 1) : NULL;
	if (last && last->vma == from->vma && last->va + last->len == va &&
	    last->pa.v + last->len == pa.v && last->keep_zero == keep_zero) {
		last->len += ps;
	} else {
		SvPageRun r = { .va = va,
				.len = ps,
				.offset = *total,
				.pa = pa,
				.keep_zero = keep_zero,
				.vma = from->vma };
		g_array_append_val(kept, r);
	}
	*total += ps;
}

/* Whether run r is chosen by its soft-dirty bits alone rather than hashed:
 * in a tracked VMA, a clean page is the parent's, and a written one is
 * stored, unless a huge page maps it, whose one bit says only that some
 * of its 512 pages were written: those are hashed to find which. */
static gboolean by_bits(const SvPageSelect *s, const SvPageRun *r)
{
	return s->soft_dirty && r->tracked && !(r->dirty && r->huge);
}

/* Hashes, straight from guest memory, the pages of runs that their bits
 * do not judge; *ret_present: how many pages the runs hold in all. */
static SvPageHashes *hash_unjudged(const SvPageSelect *s, GArray *runs, const SvGuestMem *mem,
				   guint64 *ret_present, GError **error)
{
	g_autoptr(GArray)
		src = g_array_sized_new(FALSE, FALSE, sizeof(SvPageHashSource), runs->len);
	*ret_present = 0;
	for (guint i = 0; i < runs->len; i++) {
		const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
		*ret_present += r->len / s->page_size;
		if (by_bits(s, r))
			continue;
		const guint8 *p = sv_guest_mem_ptr(mem, r->pa, r->len, error);
		if (!p) {
			g_prefix_error(error, "page at 0x%" G_GINT64_MODIFIER "x: ", r->va);
			return NULL;
		}
		SvPageHashSource h = { r->va, r->len / s->page_size, p };
		g_array_append_val(src, h);
	}
	return sv_page_hashes_compute((const SvPageHashSource *)(void *)src->data, src->len,
				      s->page_size);
}

gboolean sv_page_select_changed(GArray *runs, guint64 *total, const SvGuestMem *mem, gpointer data,
				GError **error)
{
	SvPageSelect *s = data;
	const guint64 ps = s->page_size;
	sv_page_select_clear(s);
	s->hashes = hash_unjudged(s, runs, mem, &s->pages_present, error);
	if (!s->hashes)
		return FALSE;
	if (s->soft_dirty)
		s->present = g_array_copy(runs);
	g_autoptr(GArray) kept = g_array_new(FALSE, FALSE, sizeof(SvPageRun));
	guint cursor = 0;
	gsize at = 0; /* into s->hashes: the hashed pages, in order */
	*total = 0;
	for (guint i = 0; i < runs->len; i++) {
		const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
		for (guint64 off = 0; off < r->len; off += ps) {
			const XXH128_hash_t *theirs = sv_page_hashes_find(s->parent, r->va + off,
									  &cursor);
			/* a page the parent lacks is stored whatever it holds:
			 * finding out would mean reading it */
			gboolean store = by_bits(s, r)
						 ? r->dirty || !theirs
						 : must_store(s, r, &s->hashes->hash[at++], theirs);
			/* stored even when zero: absent, it would be the parent's */
			if (store)
				sv_page_run_keep(kept, r, r->va + off, (SvGpa){ r->pa.v + off }, ps,
						 TRUE, total);
		}
	}
	g_array_set_size(runs, 0);
	g_array_append_vals(runs, kept->data, kept->len);
	return TRUE;
}

SvPageHashes *sv_page_select_hashes(const SvPageSelect *s, const SvPageHashes *fresh)
{
	g_autoptr(GArray) src = g_array_sized_new(FALSE, FALSE, sizeof(SvPageHashSource),
						  s->present ? s->present->len : 0);
	for (guint i = 0; s->present && i < s->present->len; i++) {
		const SvPageRun *r = &g_array_index(s->present, SvPageRun, i);
		SvPageHashSource h = { r->va, r->len / s->page_size, NULL };
		g_array_append_val(src, h);
	}
	/* a page not copied is as the pause hashed it, or else as the parent
	 * has it (the bits said so), or else zero (hashed as zero, not kept) */
	const SvPageHashes *from[] = { fresh, s->hashes, s->parent };
	return sv_page_hashes_merge((const SvPageHashSource *)(void *)src->data, src->len, from,
				    G_N_ELEMENTS(from), s->page_size);
}
