/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking's pure parts (host/checkpoint/dirty-track.c,
 * page-hashes.c): marks name one task and no other, the DIRTY_TRACK
 * section round-trips and refuses what is not its own, which VMAs the
 * soft-dirty bits may judge, merged page hashes take each page's hash
 * from the first source that has it, and an incremental snapshot's hashes
 * written as a change to its parent's read back whole (and a soft-dirty
 * one's, made straight from its selection, is that same change), and a
 * snapshot's
 * hashes of many runs read back from its bytes in linear time.
 */
#include <string.h>

#include "snapvm/agent-proto.h"
#include "snapvm/snapshot-format.h"
#include "base/errors.h"
#include "host/checkpoint/dirty-track.h"
#include "host/checkpoint/capture.h"
#include "host/checkpoint/page-hashes.h"
#include "host/checkpoint/page-select.h"
#include "host/snapshot/snapshot-variant.h"

static void test_mark(void)
{
	SvTaskRef t = { .task = 0xffff888001234000ull, .mm = 0xffff888004567800ull, .pid = 4242 };
	g_autofree char *a = sv_dirty_mark_new(&t);
	g_autofree char *b = sv_dirty_mark_new(&t);
	g_assert_cmpuint(strlen(a), <=, SV_SOFT_DIRTY_MAX_MARK);
	g_assert_cmpstr(a, !=, b); /* each arm its own */
	g_assert_true(sv_dirty_mark_names(a, &t));
	SvTaskRef other = t;
	other.pid = 4243;
	g_assert_false(sv_dirty_mark_names(a, &other));
	other = t;
	other.mm += 0x800;
	g_assert_false(sv_dirty_mark_names(a, &other));
	other = t;
	other.task += 0x4000;
	g_assert_false(sv_dirty_mark_names(a, &other));
	g_assert_false(sv_dirty_mark_names(NULL, &t));
	g_autofree char *cut = g_strndup(a, strlen(a) - 1);
	g_assert_false(sv_dirty_mark_names(cut, &t));
}

static void test_section(void)
{
	g_autoptr(GVariant)
		v = g_variant_ref_sink(sv_dirty_track_variant("1:2:3:0123456789abcdef"));
	g_autofree char *mark = sv_dirty_track_mark(v);
	g_assert_cmpstr(mark, ==, "1:2:3:0123456789abcdef");
	g_assert_null(sv_dirty_track_mark(NULL));
	/* another method, or no mark: not ours to trust */
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_DICT_TYPE));
	g_variant_builder_add(&b, "{sv}", SV_SNAP_DIRTY_METHOD, g_variant_new_string("kvm-log"));
	g_variant_builder_add(&b, "{sv}", SV_SNAP_DIRTY_MARK, g_variant_new_string("x"));
	g_autoptr(GVariant) other = g_variant_ref_sink(g_variant_builder_end(&b));
	g_assert_null(sv_dirty_track_mark(other));
	g_auto(GVariantBuilder) e = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_SNAP_DICT_TYPE));
	g_variant_builder_add(&e, "{sv}", SV_SNAP_DIRTY_METHOD, g_variant_new_string("soft-dirty"));
	g_autoptr(GVariant) empty = g_variant_ref_sink(g_variant_builder_end(&e));
	g_assert_null(sv_dirty_track_mark(empty));
}

static void test_vma_tracked(void)
{
	SvGuestVma anon = { .start = 0x1000, .end = 0x9000, .flags = 3 };
	g_assert_true(sv_dirty_vma_tracked(&anon));
	SvGuestVma shared = anon;
	shared.flags |= 8; /* VM_SHARED */
	g_assert_false(sv_dirty_vma_tracked(&shared));
	SvGuestVma file = anon;
	file.file = 0xffff888007000000ull;
	g_assert_false(sv_dirty_vma_tracked(&file));
	g_assert_cmpstr(sv_dirty_method_str(SV_DIRTY_SOFT_DIRTY), ==, "soft-dirty");
	g_assert_cmpstr(sv_dirty_method_str(SV_DIRTY_HASHES), ==, "hashes");
	g_assert_cmpstr(sv_dirty_method_str(SV_DIRTY_NONE), ==, "none");
}

/* Three pages present at 0x10000..0x13000 and one at 0x20000: the first
 * from fresh, the second only the parent has, the third neither (zero),
 * the fourth both have (fresh wins). */
static void test_merge(void)
{
	const guint32 ps = 4096;
	g_autofree guint8 *pages = g_malloc0(4 * ps);
	for (guint i = 0; i < 4; i++)
		memset(pages + i * ps, 'a' + i, ps);
	SvPageHashSource f[] = { { 0x10000, 1, pages }, { 0x20000, 1, pages + 3 * ps } };
	SvPageHashSource p[] = { { 0x11000, 1, pages + ps }, { 0x20000, 1, pages + 2 * ps } };
	g_autoptr(SvPageHashes) fresh = sv_page_hashes_compute(f, 2, ps);
	g_autoptr(SvPageHashes) parent = sv_page_hashes_compute(p, 2, ps);
	SvPageHashSource present[] = { { 0x10000, 3, NULL }, { 0x20000, 1, NULL } };
	const SvPageHashes *from[] = { fresh, NULL, parent };
	g_autoptr(SvPageHashes) m = sv_page_hashes_merge(present, 2, from, 3, ps);
	g_assert_cmpuint(m->n, ==, 4);
	g_assert_cmpuint(m->runs->len, ==, 2);
	g_assert_true(XXH128_isEqual(m->hash[0], XXH3_128bits(pages, ps)));
	g_assert_true(XXH128_isEqual(m->hash[1], XXH3_128bits(pages + ps, ps)));
	g_assert_true(sv_page_hash_is_zero(m, &m->hash[2]));
	g_assert_true(XXH128_isEqual(m->hash[3], XXH3_128bits(pages + 3 * ps, ps)));
}

/* Whether a and b list the same pages with the same hashes. */
static void assert_same_hashes(const SvPageHashes *a, const SvPageHashes *b)
{
	g_assert_cmpuint(a->n, ==, b->n);
	g_assert_cmpuint(a->runs->len, ==, b->runs->len);
	for (guint i = 0; i < a->runs->len; i++) {
		const SvPageHashRun *x = &g_array_index(a->runs, SvPageHashRun, i);
		const SvPageHashRun *y = &g_array_index(b->runs, SvPageHashRun, i);
		g_assert_cmpuint(x->vaddr, ==, y->vaddr);
		g_assert_cmpuint(x->npages, ==, y->npages);
	}
	for (gsize i = 0; i < a->n; i++)
		g_assert_true(XXH128_isEqual(a->hash[i], b->hash[i]));
}

/* A delta whose present runs are n (vaddr, pages) pairs, and no hash, is
 * refused as invalid. */
static void assert_delta_refused(const guint64 *runs, guint n, const SvPageHashes *parent)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a(tt)"));
	for (guint i = 0; i < n; i++)
		g_variant_builder_add(&b, "(tt)", runs[2 * i], runs[2 * i + 1]);
	g_autoptr(GVariant) delta =
		g_variant_ref_sink(g_variant_new("(@a(tt)@a(tat))", g_variant_builder_end(&b),
						 g_variant_new_array(G_VARIANT_TYPE("(tat)"), NULL,
								     0)));
	g_autoptr(GError) error = NULL;
	g_assert_null(sv_page_hashes_from_delta(delta, parent, 4096, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_DATA);
}

/* The child has pages 0x10000..0x14000 (the second rewritten, the fourth
 * new and zero, the fifth new) and 0x30000; the parent had 0x10000..
 * 0x13000 and 0x20000 (gone now). The delta holds the hashes of the
 * rewritten and the new pages only, and with the parent's gives back the
 * child's; a delta that lists too many pages, or out of order, is refused. */
static void test_delta(void)
{
	const guint32 ps = 4096;
	g_autofree guint8 *pages = g_malloc0(8 * ps);
	for (guint i = 0; i < 8; i++)
		if (i != 6)
			memset(pages + i * ps, 'a' + i, ps);
	SvPageHashSource p[] = { { 0x10000, 3, pages }, { 0x20000, 1, pages + 3 * ps } };
	g_autofree guint8 *child = g_memdup2(pages, 8 * ps);
	memset(child + ps, 'z', ps);
	memcpy(child + 3 * ps, pages + 6 * ps, ps); /* zeros */
	memcpy(child + 4 * ps, pages + 7 * ps, ps);
	SvPageHashSource c[] = { { 0x10000, 5, child }, { 0x30000, 1, pages + 5 * ps } };
	g_autoptr(SvPageHashes) parent = sv_page_hashes_compute(p, 2, ps);
	g_autoptr(SvPageHashes) mine = sv_page_hashes_compute(c, 2, ps);
	g_autoptr(GVariant)
		delta = g_variant_ref_sink(sv_page_hashes_delta_to_variant(mine, parent));
	g_assert_true(g_variant_is_of_type(delta, G_VARIANT_TYPE(SV_SNAP_PAGE_HASHES_DELTA_TYPE)));
	g_autoptr(GVariant) changed = g_variant_get_child_value(delta, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvPageHashes) only = sv_page_hashes_from_variant(changed, ps, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(only->n, ==, 4); /* 0x11000, 0x13000, 0x14000, 0x30000 */
	g_autoptr(SvPageHashes) back = sv_page_hashes_from_delta(delta, parent, ps, &error);
	g_assert_no_error(error);
	assert_same_hashes(mine, back);
	/* hostile: a run of more pages than any snapshot may list, and runs
	 * out of order */
	const guint64 huge[] = { 0x10000, SV_PAGE_HASHES_MAX + 1 };
	const guint64 order[] = { 0x20000, 1, 0x10000, 1 };
	assert_delta_refused(huge, G_N_ELEMENTS(huge) / 2, parent);
	assert_delta_refused(order, G_N_ELEMENTS(order) / 2, parent);
	/* more pages than the parent's four and no hash of its own: a few
	 * bytes that would ask for a hash of memory per page listed */
	const guint64 more[] = { 0x10000, 3, 0x40000, 2 };
	const guint64 four[] = { 0x10000, 3, 0x20000, 1 };
	assert_delta_refused(more, G_N_ELEMENTS(more) / 2, parent);
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a(tt)"));
	for (guint i = 0; i < G_N_ELEMENTS(four); i += 2)
		g_variant_builder_add(&b, "(tt)", four[i], four[i + 1]);
	g_autoptr(GVariant) same =
		g_variant_ref_sink(g_variant_new("(@a(tt)@a(tat))", g_variant_builder_end(&b),
						 g_variant_new_array(G_VARIANT_TYPE("(tat)"), NULL,
								     0)));
	g_autoptr(SvPageHashes) unchanged = sv_page_hashes_from_delta(same, parent, ps, &error);
	g_assert_no_error(error);
	assert_same_hashes(parent, unchanged);
}

/* PAGE_HASHES of 200k runs (a process whose pages lie apart), from its
 * bytes as the reader takes them: GLib checks every earlier element's
 * offsets on each read of an untrusted array's child unless the section
 * is made trusted once found in normal form - 15 s here, not 0.1. */
static void test_many_runs(void)
{
	const guint32 ps = 4096;
	const guint n = 200000;
	g_autofree SvPageHashSource *src = g_new0(SvPageHashSource, n);
	for (guint i = 0; i < n; i++)
		src[i] = (SvPageHashSource){ (guint64)i * 2 * ps, 1, NULL };
	g_autoptr(SvPageHashes) h = sv_page_hashes_new(src, n, ps);
	memset(h->hash, 0x5a, h->n * sizeof(*h->hash));
	g_autoptr(GVariant) v = g_variant_ref_sink(sv_page_hashes_to_variant(h));
	g_autoptr(GBytes) bytes = sv_snap_variant_to_le_bytes(v);
	gint64 t0 = g_get_monotonic_time();
	g_autoptr(GVariant) back = sv_snap_variant_from_le_bytes(SV_SNAP_PAGE_HASHES_TYPE, bytes);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvPageHashes) read = sv_page_hashes_from_variant(back, ps, &error);
	g_assert_no_error(error);
	assert_same_hashes(h, read);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 4 * G_USEC_PER_SEC);
	/* bytes not in normal form (a boolean of 2) are refused, not
	 * brought to it (quadratic for a crafted array) */
	static const guint8 two = 2, one = 1;
	g_autoptr(GBytes) bad = g_bytes_new_static(&two, 1), good = g_bytes_new_static(&one, 1);
	g_assert_null(sv_snap_variant_from_le_bytes("b", bad));
	g_autoptr(GVariant) yes = sv_snap_variant_from_le_bytes("b", good);
	g_assert_true(g_variant_get_boolean(yes));
}

/* Hashes for the pages of slots (64 of them from 0x100000) where want[]
 * is set, each value[] of them (in runs of consecutive slots). */
static SvPageHashes *slot_hashes(const gboolean *want, const XXH128_hash_t *value, guint32 ps)
{
	g_autoptr(GArray) src = g_array_new(FALSE, FALSE, sizeof(SvPageHashSource));
	for (guint i = 0; i < 64; i++) {
		SvPageHashSource *last =
			src->len ? &g_array_index(src, SvPageHashSource, src->len - 1) : NULL;
		guint64 va = 0x100000 + (guint64)i * ps;
		if (!want[i])
			continue;
		if (last && last->vaddr + last->npages * ps == va) {
			last->npages++;
		} else {
			SvPageHashSource x = { va, 1, NULL };
			g_array_append_val(src, x);
		}
	}
	SvPageHashes *h = sv_page_hashes_new((const SvPageHashSource *)(void *)src->data, src->len,
					     ps);
	for (guint i = 0, at = 0; i < 64; i++)
		if (want[i])
			h->hash[at++] = value[i];
	return h;
}

/* The delta a soft-dirty checkpoint makes straight from its selection is
 * the one the whole table would give, on random layouts: pages present
 * or not, the parent's or not, copied, hashed or judged by their bits,
 * equal to the parent's or zero or neither, present runs split anywhere. */
static void test_select_delta(void)
{
	const guint32 ps = 4096;
	GRand *rand = g_rand_new_with_seed(11);
	guint8 page[4096] = { 0 };
	const XXH128_hash_t zero = XXH3_128bits(page, ps);
	const XXH128_hash_t values[] = { zero, { 1, 2 }, { 3, 4 } };
	for (guint round = 0; round < 500; round++) {
		gboolean now[64], had[64], copied[64], hashed[64];
		XXH128_hash_t theirs[64], fresh[64], seen[64];
		for (guint i = 0; i < 64; i++) {
			/* long stretches alike, as memory is */
			gboolean same = i && g_rand_int_range(rand, 0, 8);
			now[i] = same ? now[i - 1] : g_rand_int_range(rand, 0, 4) != 0;
			had[i] = same ? had[i - 1] : g_rand_int_range(rand, 0, 4) != 0;
			guint how = same ? (copied[i - 1]   ? 1
					    : hashed[i - 1] ? 2
							    : 0)
					 : g_rand_int_range(rand, 0, 3);
			copied[i] = now[i] && how == 1;
			hashed[i] = now[i] && how == 2;
			theirs[i] = values[g_rand_int_range(rand, 0, 3)];
			fresh[i] = values[g_rand_int_range(rand, 0, 3)];
			seen[i] = values[g_rand_int_range(rand, 0, 3)];
		}
		g_autoptr(SvPageHashes) parent = slot_hashes(had, theirs, ps);
		g_autoptr(SvPageHashes) copies = slot_hashes(copied, fresh, ps);
		g_auto(SvPageSelect)
			sel = { .parent = parent, .page_size = ps, .soft_dirty = TRUE };
		sel.hashes = slot_hashes(hashed, seen, ps);
		sel.present = g_array_new(FALSE, FALSE, sizeof(SvPageRun));
		for (guint i = 0; i < 64; i++) {
			if (!now[i])
				continue;
			SvPageRun *last = sel.present->len ? &g_array_index(sel.present, SvPageRun,
									    sel.present->len - 1)
							   : NULL;
			guint64 va = 0x100000 + (guint64)i * ps;
			if (last && last->va + last->len == va && g_rand_int_range(rand, 0, 6)) {
				last->len += ps;
			} else {
				SvPageRun r = { .va = va, .len = ps };
				g_array_append_val(sel.present, r);
			}
		}
		g_autoptr(SvPageHashes) whole = sv_page_select_hashes(&sel, copies);
		g_autoptr(GVariant)
			want = g_variant_ref_sink(sv_page_hashes_delta_to_variant(whole, parent));
		g_autoptr(GVariant) got = g_variant_ref_sink(sv_page_select_delta(&sel, copies));
		if (!g_variant_equal(want, got)) {
			g_autofree char *w = g_variant_print(want, FALSE);
			g_autofree char *g = g_variant_print(got, FALSE);
			g_error("round %u: want %s, got %s", round, w, g);
		}
	}
	g_rand_free(rand);
}

/* The pause's choice by soft-dirty bits: a page of a tracked run is stored
 * when its bits say written or the parent lacks it, and only then - with
 * clean runs the parent holds whole passed over at once. Random layouts;
 * every run tracked and small-paged, so no page is read (no guest memory). */
static void test_select_by_bits(void)
{
	const guint32 ps = 4096;
	GRand *rand = g_rand_new_with_seed(5);
	XXH128_hash_t any[64] = { { 0 } };
	for (guint round = 0; round < 500; round++) {
		gboolean now[64], had[64], dirty[64];
		for (guint i = 0; i < 64; i++) {
			gboolean same = i && g_rand_int_range(rand, 0, 8);
			now[i] = same ? now[i - 1] : g_rand_int_range(rand, 0, 4) != 0;
			had[i] = same ? had[i - 1] : g_rand_int_range(rand, 0, 4) != 0;
			dirty[i] = same ? dirty[i - 1] : g_rand_int_range(rand, 0, 3) == 0;
		}
		g_autoptr(SvPageHashes) parent = slot_hashes(had, any, ps);
		g_auto(SvPageSelect)
			sel = { .parent = parent, .page_size = ps, .soft_dirty = TRUE };
		g_autoptr(GArray) runs = g_array_new(FALSE, FALSE, sizeof(SvPageRun));
		guint64 total = 0;
		for (guint i = 0; i < 64; i++) {
			if (!now[i])
				continue;
			SvPageRun *last = runs->len ? &g_array_index(runs, SvPageRun, runs->len - 1)
						    : NULL;
			guint64 va = 0x100000 + (guint64)i * ps;
			if (last && last->va + last->len == va && last->dirty == dirty[i] &&
			    g_rand_int_range(rand, 0, 6)) {
				last->len += ps;
			} else {
				SvPageRun r = { .va = va,
						.len = ps,
						.pa = { 0x200000 + (guint64)i * ps },
						.tracked = TRUE,
						.dirty = dirty[i] };
				g_array_append_val(runs, r);
			}
			total += ps;
		}
		g_autoptr(GError) error = NULL;
		g_assert_true(sv_page_select_changed(runs, &total, NULL, &sel, &error));
		g_assert_no_error(error);
		gboolean kept[64] = { FALSE };
		guint64 sum = 0;
		for (guint i = 0; i < runs->len; i++) {
			const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
			g_assert_cmpuint(r->offset, ==, sum);
			sum += r->len;
			for (guint64 off = 0; off < r->len; off += ps)
				kept[(r->va + off - 0x100000) / ps] = TRUE;
		}
		g_assert_cmpuint(total, ==, sum);
		for (guint i = 0; i < 64; i++)
			g_assert_cmpint(kept[i], ==, now[i] && (dirty[i] || !had[i]));
	}
	g_rand_free(rand);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dirty-track/mark", test_mark);
	g_test_add_func("/dirty-track/section", test_section);
	g_test_add_func("/dirty-track/vma-tracked", test_vma_tracked);
	g_test_add_func("/dirty-track/hashes-merge", test_merge);
	g_test_add_func("/dirty-track/hashes-delta", test_delta);
	g_test_add_func("/dirty-track/select-delta", test_select_delta);
	g_test_add_func("/dirty-track/select-by-bits", test_select_by_bits);
	g_test_add_func("/dirty-track/hashes-many-runs", test_many_runs);
	return g_test_run();
}
