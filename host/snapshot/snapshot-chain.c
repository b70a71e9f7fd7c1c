/* SPDX-License-Identifier: MIT */
/* snapshot-chain.c - see snapshot-chain.h. */
#include "host/snapshot/snapshot-chain.h"

#include <string.h>

#include "snapvm/snapshot-format.h"
#include "base/errors.h"

char *sv_snapshot_chain_parent_path(const char *child_path, GVariant *parent, char **ret_digest,
				    guint64 *ret_size, GError **error)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(parent);
	const char *path = NULL, *digest = NULL;
	guint64 size = 0;
	if (!g_variant_dict_lookup(d, SV_SNAP_PARENT_PATH, "&s", &path) ||
	    !g_variant_dict_lookup(d, SV_SNAP_PARENT_DIGEST, "&s", &digest) ||
	    !g_variant_dict_lookup(d, SV_SNAP_PARENT_SIZE, "t", &size) || !*path ||
	    strlen(digest) != 32) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "snapshot %s: its PARENT section lacks a path, digest or size",
			    child_path);
		return NULL;
	}
	*ret_digest = g_strdup(digest);
	*ret_size = size;
	if (g_path_is_absolute(path))
		return g_strdup(path);
	g_autofree char *dir = g_path_get_dirname(child_path);
	return g_build_filename(dir, path, NULL);
}

typedef struct {
	guint64 start, end;
} Span;

static gint compare_spans(gconstpointer a, gconstpointer b)
{
	const Span *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

typedef struct {
	guint64 vaddr, offset;
	guint32 npages, section;
} Run;

static gint compare_map_runs(gconstpointer a, gconstpointer b)
{
	const Run *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static GArray *map_runs(GVariant *map)
{
	GArray *runs = g_array_new(FALSE, FALSE, sizeof(Run));
	GVariantIter it;
	Run r;
	g_variant_iter_init(&it, map);
	while (g_variant_iter_next(&it, "(tuut)", &r.vaddr, &r.npages, &r.section, &r.offset))
		g_array_append_val(runs, r);
	g_array_sort(runs, compare_map_runs);
	return runs;
}

/* The parent's pages in [a, b) (inside parent run p) become a child run. */
static void emit(GVariantBuilder *b, const Run *p, guint64 a, guint64 e, guint32 base, guint32 ps)
{
	if (e > a)
		g_variant_builder_add(b, "(tuut)", a, (guint32)((e - a) / ps), p->section + base,
				      p->offset + (a - p->vaddr));
}

/* Appends the run of npages at vaddr to listed: run i of the listing,
 * checked aligned, not empty, in order and not overlapping. */
static gboolean list_span(GArray *listed, gsize i, guint64 vaddr, guint64 np, guint32 page_size,
			  GError **error)
{
	guint64 prev_end = listed->len ? g_array_index(listed, Span, listed->len - 1).end : 0;
	if (!sv_snapshot_page_run_valid(vaddr, np, page_size, prev_end)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "page listing (PAGE_HASHES or its delta) run %" G_GSIZE_FORMAT
			    " at 0x%" G_GINT64_MODIFIER
			    "x is unaligned, empty, out of order or overlapping",
			    i, vaddr);
		return FALSE;
	}
	Span s = { vaddr, vaddr + np * page_size };
	g_array_append_val(listed, s);
	return TRUE;
}

/* The spans of the pages a child lists: from PAGE_HASHES (a(tat)) or the
 * present runs of PAGE_HASHES_DELTA. */
static GArray *listed_spans(GVariant *listing, guint32 page_size, GError **error)
{
	g_autoptr(GArray) listed = g_array_new(FALSE, FALSE, sizeof(Span));
	gboolean delta = g_variant_is_of_type(listing,
					      G_VARIANT_TYPE(SV_SNAP_PAGE_HASHES_DELTA_TYPE));
	g_autoptr(GVariant) runs = delta ? g_variant_get_child_value(listing, 0)
					 : g_variant_ref(listing);
	gsize n = g_variant_n_children(runs);
	for (gsize i = 0; i < n; i++) {
		guint64 vaddr, np;
		if (delta) {
			g_variant_get_child(runs, i, "(tt)", &vaddr, &np);
		} else {
			g_autoptr(GVariant) arr = NULL;
			g_variant_get_child(runs, i, "(t@at)", &vaddr, &arr);
			np = g_variant_n_children(arr) / 2;
		}
		if (!list_span(listed, i, vaddr, np, page_size, error))
			return NULL;
	}
	return g_steal_pointer(&listed);
}

GVariant *sv_snapshot_chain_pagemap(GVariant *own, GVariant *listing, GVariant *parent_map,
				    guint32 base, guint32 page_size, GError **error)
{
	/* the pages the child has (listed) and those it stores (own) */
	g_autoptr(GArray) listed = listed_spans(listing, page_size, error);
	if (!listed)
		return NULL;
	g_autoptr(GArray) mine = map_runs(own);
	g_autoptr(GArray) stored = g_array_sized_new(FALSE, FALSE, sizeof(Span), mine->len);
	for (guint i = 0; i < mine->len; i++) {
		const Run *r = &g_array_index(mine, Run, i);
		Span s = { r->vaddr, r->vaddr + (guint64)r->npages * page_size };
		g_array_append_val(stored, s);
	}
	g_array_sort(stored, compare_spans);
	g_autoptr(GArray) theirs = map_runs(parent_map);
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_PAGEMAP_TYPE));
	for (guint i = 0; i < mine->len; i++) {
		const Run *r = &g_array_index(mine, Run, i);
		g_variant_builder_add(&b, "(tuut)", r->vaddr, r->npages, r->section, r->offset);
	}
	/* every list sorted and without overlaps: three cursors that only
	 * move forward */
	guint li = 0, si = 0;
	for (guint pi = 0; pi < theirs->len; pi++) {
		const Run *p = &g_array_index(theirs, Run, pi);
		guint64 pe = p->vaddr + (guint64)p->npages * page_size;
		while (li < listed->len && g_array_index(listed, Span, li).end <= p->vaddr)
			li++;
		for (guint l = li; l < listed->len; l++) {
			const Span *q = &g_array_index(listed, Span, l);
			if (q->start >= pe)
				break;
			guint64 a = MAX(p->vaddr, q->start), e = MIN(pe, q->end);
			while (si < stored->len && g_array_index(stored, Span, si).end <= a)
				si++;
			for (guint s = si; s < stored->len && a < e; s++) {
				const Span *o = &g_array_index(stored, Span, s);
				if (o->start >= e)
					break;
				emit(&b, p, a, MIN(o->start, e), base, page_size);
				a = MAX(a, o->end);
			}
			emit(&b, p, a, e, base, page_size);
		}
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}
