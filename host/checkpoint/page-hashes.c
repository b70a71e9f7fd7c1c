/* SPDX-License-Identifier: MIT */
/* page-hashes.c - see page-hashes.h. */
#include "host/checkpoint/page-hashes.h"

#include "snapvm/snapshot-format.h"
#include "base/errors.h"
#include "host/snapshot/snapshot-chain.h"
#include "host/snapshot/snapshot-reader.h"
#include "host/util/fast-hash.h" /* XXH3 through the x86 dispatch */

void sv_page_hashes_free(SvPageHashes *h)
{
	if (!h)
		return;
	if (h->runs)
		g_array_unref(h->runs);
	g_free(h->hash);
	g_free(h);
}

static SvPageHashes *hashes_new(gsize n, guint32 page_size)
{
	SvPageHashes *h = g_new0(SvPageHashes, 1);
	h->runs = g_array_new(FALSE, FALSE, sizeof(SvPageHashRun));
	h->hash = g_new(XXH128_hash_t, n ? n : 1);
	h->n = n;
	h->page_size = page_size;
	g_autofree guint8 *z = g_malloc0(page_size);
	h->zero = XXH3_128bits(z, page_size);
	return h;
}

/* Appends npages at vaddr, joined to the last run when it continues it. */
static void add_run(SvPageHashes *h, guint64 vaddr, gsize first, gsize npages)
{
	SvPageHashRun *last = h->runs->len
				      ? &g_array_index(h->runs, SvPageHashRun, h->runs->len - 1)
				      : NULL;
	if (last && last->vaddr + (guint64)last->npages * h->page_size == vaddr &&
	    last->first + last->npages == first) {
		last->npages += npages;
		return;
	}
	SvPageHashRun r = { vaddr, first, npages };
	g_array_append_val(h->runs, r);
}

typedef struct {
	SvPageHashes *h;
	const guint8 **page; /* per page: where to read it */
	gsize lo, hi;
} Slice;

static gpointer hash_slice(gpointer p)
{
	Slice *s = p;
	for (gsize i = s->lo; i < s->hi; i++)
		s->h->hash[i] = XXH3_128bits(s->page[i], s->h->page_size);
	return NULL;
}

SvPageHashes *sv_page_hashes_new(const SvPageHashSource *src, guint n, guint32 page_size)
{
	gsize total = 0;
	for (guint i = 0; i < n; i++)
		total += src[i].npages;
	SvPageHashes *h = hashes_new(total, page_size);
	for (guint i = 0, at = 0; i < n; at += src[i].npages, i++)
		add_run(h, src[i].vaddr, at, src[i].npages);
	return h;
}

SvPageHashes *sv_page_hashes_compute(const SvPageHashSource *src, guint n, guint32 page_size)
{
	SvPageHashes *h = sv_page_hashes_new(src, n, page_size);
	gsize total = h->n;
	g_autofree const guint8 **page = g_new(const guint8 *, total ? total : 1);
	gsize at = 0;
	for (guint i = 0; i < n; i++)
		for (gsize j = 0; j < src[i].npages; j++)
			page[at++] = src[i].data + j * page_size;
	/* reading memory is the cost: one half on another core */
	Slice a = { h, page, 0, total / 2 }, b = { h, page, total / 2, total };
	GThread *t = total > 1 ? g_thread_try_new("sv-hash", hash_slice, &b, NULL) : NULL;
	if (!t)
		a.hi = total;
	hash_slice(&a);
	if (t)
		g_thread_join(t);
	return h;
}

SvPageHashes *sv_page_hashes_merge(const SvPageHashSource *present, guint n,
				   const SvPageHashes *const *from, guint nfrom, guint32 page_size)
{
	gsize total = 0;
	for (guint i = 0; i < n; i++)
		total += present[i].npages;
	SvPageHashes *h = hashes_new(total, page_size);
	g_autofree guint *cursor = g_new0(guint, nfrom ? nfrom : 1);
	gsize at = 0;
	for (guint i = 0; i < n; i++) {
		add_run(h, present[i].vaddr, at, present[i].npages);
		for (gsize j = 0; j < present[i].npages; j++, at++) {
			guint64 va = present[i].vaddr + (guint64)j * page_size;
			const XXH128_hash_t *found = NULL;
			for (guint k = 0; k < nfrom && !found; k++)
				if (from[k])
					found = sv_page_hashes_find(from[k], va, &cursor[k]);
			h->hash[at] = found ? *found : h->zero;
		}
	}
	return h;
}

GVariant *sv_page_hashes_to_variant(const SvPageHashes *h)
{
	g_auto(GVariantBuilder)
		b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_PAGE_HASHES_TYPE));
	for (guint i = 0; i < h->runs->len; i++) {
		const SvPageHashRun *r = &g_array_index(h->runs, SvPageHashRun, i);
		g_autofree guint64 *v = g_new(guint64, 2 * r->npages + 1);
		for (gsize j = 0; j < r->npages; j++) {
			v[2 * j] = h->hash[r->first + j].low64;
			v[2 * j + 1] = h->hash[r->first + j].high64;
		}
		g_variant_builder_add_value(
			&b,
			g_variant_new("(t@at)", r->vaddr,
				      g_variant_new_fixed_array(G_VARIANT_TYPE_UINT64, v,
								2 * r->npages, sizeof(guint64))));
	}
	return g_variant_builder_end(&b);
}

SvPageHashes *sv_page_hashes_from_variant(GVariant *v, guint32 page_size, GError **error)
{
	gsize nruns = g_variant_n_children(v), total = 0;
	for (gsize i = 0; i < nruns; i++) {
		g_autoptr(GVariant) hv = g_variant_get_child_value(v, i);
		g_autoptr(GVariant) arr = g_variant_get_child_value(hv, 1);
		total += g_variant_n_children(arr) / 2;
	}
	g_autoptr(SvPageHashes) h = hashes_new(total, page_size);
	guint64 end = 0;
	gsize at = 0;
	for (gsize i = 0; i < nruns; i++) {
		guint64 vaddr;
		g_autoptr(GVariant) arr = NULL;
		g_variant_get_child(v, i, "(t@at)", &vaddr, &arr);
		gsize n;
		const guint64 *x = g_variant_get_fixed_array(arr, &n, sizeof(guint64));
		if (n % 2 || !sv_snapshot_page_run_valid(vaddr, n / 2, page_size, end)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "PAGE_HASHES run %" G_GSIZE_FORMAT " at 0x%" G_GINT64_MODIFIER
				    "x is unaligned, out of order, overlapping or malformed",
				    i, vaddr);
			return NULL;
		}
		add_run(h, vaddr, at, n / 2);
		for (gsize j = 0; j < n / 2; j++) {
			h->hash[at].low64 = x[2 * j];
			h->hash[at].high64 = x[2 * j + 1];
			at++;
		}
		end = vaddr + (guint64)(n / 2) * page_size;
	}
	return g_steal_pointer(&h);
}

GVariant *sv_page_hashes_delta_to_variant(const SvPageHashes *h, const SvPageHashes *parent)
{
	g_auto(GVariantBuilder) present = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a(tt)"));
	g_autoptr(SvPageHashes) changed = hashes_new(0, h->page_size);
	g_autoptr(GArray) hash = g_array_new(FALSE, FALSE, sizeof(XXH128_hash_t));
	guint cursor = 0;
	for (guint i = 0; i < h->runs->len; i++) {
		const SvPageHashRun *r = &g_array_index(h->runs, SvPageHashRun, i);
		g_variant_builder_add(&present, "(tt)", r->vaddr, (guint64)r->npages);
		for (gsize j = 0; j < r->npages; j++) {
			guint64 va = r->vaddr + (guint64)j * h->page_size;
			const XXH128_hash_t *mine = &h->hash[r->first + j];
			const XXH128_hash_t *theirs = sv_page_hashes_find(parent, va, &cursor);
			if (theirs && XXH128_isEqual(*mine, *theirs))
				continue;
			add_run(changed, va, hash->len, 1);
			g_array_append_val(hash, *mine);
		}
	}
	g_free(changed->hash);
	changed->hash = g_array_steal(hash, &changed->n);
	return g_variant_new("(@a(tt)@a(tat))", g_variant_builder_end(&present),
			     sv_page_hashes_to_variant(changed));
}

SvPageHashes *sv_page_hashes_from_delta(GVariant *delta, const SvPageHashes *parent,
					guint32 page_size, GError **error)
{
	g_autoptr(GVariant) present = g_variant_get_child_value(delta, 0);
	g_autoptr(GVariant) hv = g_variant_get_child_value(delta, 1);
	g_autoptr(SvPageHashes) changed = sv_page_hashes_from_variant(hv, page_size, error);
	if (!changed)
		return NULL;
	gsize n = g_variant_n_children(present);
	g_autoptr(GArray) src = g_array_sized_new(FALSE, FALSE, sizeof(SvPageHashSource), n);
	guint64 end = 0, total = 0;
	/* a cap on the pages, too: every one costs a hash in memory. Each
	 * page present has its hash here or in the parent's (at addresses
	 * that do not repeat), so there are no more of them than both hold:
	 * a few bytes of runs cannot ask for a GiB of hashes */
	guint64 most = MIN(SV_PAGE_HASHES_MAX, (guint64)changed->n + parent->n);
	for (gsize i = 0; i < n; i++) {
		SvPageHashSource s = { 0 };
		guint64 np;
		g_variant_get_child(present, i, "(tt)", &s.vaddr, &np);
		if (!sv_snapshot_page_run_valid(s.vaddr, np, page_size, end) || np > most - total) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "PAGE_HASHES_DELTA run %" G_GSIZE_FORMAT
				    " at 0x%" G_GINT64_MODIFIER
				    "x is unaligned, empty, out of order, overlapping or too large "
				    "(more pages than its hashes and its parent's hold)",
				    i, s.vaddr);
			return NULL;
		}
		s.npages = np;
		total += np;
		end = s.vaddr + np * page_size;
		g_array_append_val(src, s);
	}
	const SvPageHashes *from[] = { changed, parent };
	return sv_page_hashes_merge((const SvPageHashSource *)(void *)src->data, src->len, from,
				    G_N_ELEMENTS(from), page_size);
}

SvPageHashes *sv_page_hashes_of_snapshot(SvSnapshotReader *r, guint32 page_size, GError **error)
{
	g_autoptr(GVariant) full = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_PAGE_HASHES);
	if (full)
		return sv_page_hashes_from_variant(full, page_size, error);
	g_autoptr(GVariant)
		delta = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_PAGE_HASHES_DELTA);
	SvSnapshotReader *parent = sv_snapshot_reader_parent(r);
	if (!delta || !parent) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "snapshot %s records no page hashes (an older snapvm wrote it): take "
			    "a full checkpoint first, then add to that",
			    sv_snapshot_reader_path(r));
		return NULL;
	}
	/* the chain's depth is bounded by the reader (SV_SNAP_MAX_CHAIN) */
	g_autoptr(SvPageHashes) theirs = sv_page_hashes_of_snapshot(parent, page_size, error);
	if (!theirs)
		return NULL;
	SvPageHashes *h = sv_page_hashes_from_delta(delta, theirs, page_size, error);
	if (!h)
		g_prefix_error(error, "snapshot %s: ", sv_snapshot_reader_path(r));
	return h;
}

const XXH128_hash_t *sv_page_hashes_find(const SvPageHashes *h, guint64 vaddr, guint *cursor)
{
	while (*cursor < h->runs->len) {
		const SvPageHashRun *r = &g_array_index(h->runs, SvPageHashRun, *cursor);
		if (vaddr < r->vaddr)
			return NULL;
		if (vaddr < r->vaddr + (guint64)r->npages * h->page_size)
			return &h->hash[r->first + (vaddr - r->vaddr) / h->page_size];
		(*cursor)++;
	}
	return NULL;
}

gboolean sv_page_hash_is_zero(const SvPageHashes *h, const XXH128_hash_t *hash)
{
	return XXH128_isEqual(h->zero, *hash);
}
