/* SPDX-License-Identifier: MIT */
/* page-select.c - see page-select.h. */
#include "host/checkpoint/page-select.h"

#include <string.h>

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

/* h's first run that ends after va, or NULL; *cursor (as
 * sv_page_hashes_find's) moved to it. */
static const SvPageHashRun *run_from(const SvPageHashes *h, guint64 va, guint *cursor)
{
	for (; h && *cursor < h->runs->len; (*cursor)++) {
		const SvPageHashRun *r = &g_array_index(h->runs, SvPageHashRun, *cursor);
		if (r->vaddr + (guint64)r->npages * h->page_size > va)
			return r;
	}
	return NULL;
}

/* Whether h has no page in [va, end). */
static gboolean none_in(const SvPageHashes *h, guint64 va, guint64 end, guint *cursor)
{
	const SvPageHashRun *r = run_from(h, va, cursor);
	return !r || r->vaddr >= end;
}

/* Whether h has every page of [va, end), in one run. */
static gboolean all_in(const SvPageHashes *h, guint64 va, guint64 end, guint *cursor)
{
	const SvPageHashRun *r = run_from(h, va, cursor);
	return r && r->vaddr <= va && r->vaddr + (guint64)r->npages * h->page_size >= end;
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
		/* clean by its bits, and the parent has it whole: all the
		 * parent's, without a look at each page (the pause waits) */
		if (by_bits(s, r) && !r->dirty && all_in(s->parent, r->va, r->va + r->len, &cursor))
			continue;
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

GVariant *sv_page_select_delta(const SvPageSelect *s, const SvPageHashes *fresh)
{
	const guint64 ps = s->page_size;
	g_auto(GVariantBuilder) present = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a(tt)"));
	g_autoptr(GArray) src = g_array_new(FALSE, FALSE, sizeof(SvPageHashSource));
	g_autoptr(GArray) hash = g_array_new(FALSE, FALSE, sizeof(XXH128_hash_t));
	guint cf = 0, ch = 0, cp = 0;
	guint64 run_va = 0, run_n = 0;
	for (guint i = 0; s->present && i < s->present->len; i++) {
		const SvPageRun *r = &g_array_index(s->present, SvPageRun, i);
		guint64 n = r->len / ps, end = r->va + r->len;
		/* listed joined, as the whole table's runs are */
		if (run_n && run_va + run_n * ps == r->va) {
			run_n += n;
		} else {
			if (run_n)
				g_variant_builder_add(&present, "(tt)", run_va, run_n);
			run_va = r->va;
			run_n = n;
		}
		/* a run neither copied nor hashed that the parent has whole:
		 * the parent's (its bits were clean), nothing to compare */
		if (none_in(fresh, r->va, end, &cf) && none_in(s->hashes, r->va, end, &ch) &&
		    all_in(s->parent, r->va, end, &cp))
			continue;
		for (guint64 j = 0; j < n; j++) {
			guint64 va = r->va + j * ps;
			const XXH128_hash_t *mine = fresh ? sv_page_hashes_find(fresh, va, &cf)
							  : NULL;
			if (!mine && s->hashes)
				mine = sv_page_hashes_find(s->hashes, va, &ch);
			const XXH128_hash_t *theirs = sv_page_hashes_find(s->parent, va, &cp);
			if (!mine && theirs)
				continue;
			XXH128_hash_t h = mine ? *mine : s->parent->zero;
			if (theirs && XXH128_isEqual(h, *theirs))
				continue;
			SvPageHashSource *last = src->len ? &g_array_index(src, SvPageHashSource,
									   src->len - 1)
							  : NULL;
			if (last && last->vaddr + (guint64)last->npages * ps == va) {
				last->npages++;
			} else {
				SvPageHashSource x = { va, 1, NULL };
				g_array_append_val(src, x);
			}
			g_array_append_val(hash, h);
		}
	}
	if (run_n)
		g_variant_builder_add(&present, "(tt)", run_va, run_n);
	g_autoptr(SvPageHashes)
		changed = sv_page_hashes_new((const SvPageHashSource *)(void *)src->data, src->len,
					     s->page_size);
	if (hash->len)
		memcpy(changed->hash, hash->data, hash->len * sizeof(XXH128_hash_t));
	return g_variant_new("(@a(tt)@a(tat))", g_variant_builder_end(&present),
			     sv_page_hashes_to_variant(changed));
}
