/* SPDX-License-Identifier: MIT */
/*
 * The dirty log's verdicts (host/checkpoint/dirty-frames.c, dirty-log.h):
 * a page is the parent's only when its frame is unwritten in the log and
 * is the frame the parent had at that address; the frames file
 * round-trips and refuses another mark's, cut-short or disordered files;
 * the DIRTY_TRACK section of the dirty log is not taken for soft-dirty's.
 */
#include <string.h>

#include "host/checkpoint/capture.h"
#include "host/checkpoint/dirty-frames.h"
#include "host/checkpoint/dirty-log.h"
#include "host/checkpoint/dirty-track.h"

#define PS 4096u
#define MARK "79:ffff888001234000:ffff888004567800:0123456789abcdef"

static SvPageRun run(guint64 va, guint64 pages, guint64 pa)
{
	return (SvPageRun){ .va = va, .len = pages * PS, .pa = { pa } };
}

/* A log of the first 64 MiB of guest-physical memory, with pages (by
 * frame number) set. */
static GBytes *log_with(const guint64 *frames, guint n)
{
	gsize size = (64u << 20) / PS / 8;
	guint8 *b = g_malloc0(size);
	for (guint i = 0; i < n; i++)
		b[frames[i] / 8] |= 1u << (frames[i] % 8);
	return g_bytes_new_take(b, size);
}

static GArray *parent_frames(const SvPageRun *runs, guint n)
{
	g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(SvPageRun));
	g_array_append_vals(a, runs, n);
	g_autoptr(GBytes) file = sv_dirty_frames_encode(MARK, a);
	g_autofree char *why = NULL;
	gsize len = 0;
	const void *data = g_bytes_get_data(file, &len);
	GArray *f = sv_dirty_frames_decode(data, len, MARK, &why);
	g_assert_null(why);
	g_assert_nonnull(f);
	return f;
}

/* "c" for a page the parent gives, "D" for one stored, page by page. */
static char *verdicts(const GArray *runs)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < runs->len; i++) {
		const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
		g_assert_true(r->tracked);
		g_assert_false(r->huge);
		for (guint64 off = 0; off < r->len; off += PS)
			g_string_append_c(s, r->dirty ? 'D' : 'c');
		g_string_append_c(s, '|');
	}
	return g_string_free(s, FALSE);
}

static void test_judge(void)
{
	/* the parent: 8 pages at 0x400000 in frames 0x1000-0x1007, 2 at
	 * 0x600000 in frames 0x2000-0x2001 */
	const SvPageRun before[] = { run(0x400000, 8, 0x1000000), run(0x600000, 2, 0x2000000) };
	g_autoptr(GArray) parent = parent_frames(before, G_N_ELEMENTS(before));
	/* since: frame 0x1002 written; page 0x404000 now maps the zero page
	 * (frame 0x33, never written); 0x600000's pages swapped frames
	 * (mremap); a page at 0x700000 the parent lacked; one at 0x800000 in
	 * a frame past the log */
	const guint64 written[] = { 0x1002 };
	g_autoptr(GBytes) bits = log_with(written, G_N_ELEMENTS(written));
	const SvPageRun now[] = { run(0x400000, 4, 0x1000000),	  run(0x404000, 1, 0x33000),
				  run(0x405000, 3, 0x1005000),	  run(0x600000, 1, 0x2001000),
				  run(0x601000, 1, 0x2000000),	  run(0x700000, 1, 0x1010000),
				  run(0x800000, 1, 0x80000000ull) };
	g_autoptr(GArray) runs = g_array_new(FALSE, FALSE, sizeof(SvPageRun));
	g_array_append_vals(runs, now, G_N_ELEMENTS(now));
	sv_dirty_frames_judge(runs, bits, parent, PS);
	g_autofree char *v = verdicts(runs);
	g_assert_cmpstr(v, ==, "cc|D|c|D|ccc|D|D|D|D|");
	/* cut where the verdict changes, addresses and frames kept */
	const SvPageRun *written_page = &g_array_index(runs, SvPageRun, 1);
	g_assert_cmpuint(written_page->va, ==, 0x402000);
	g_assert_cmpuint(written_page->pa.v, ==, 0x1002000);
	g_assert_cmpuint(written_page->len, ==, PS);
	const SvPageRun *after = &g_array_index(runs, SvPageRun, 2);
	g_assert_cmpuint(after->va, ==, 0x403000);
	g_assert_cmpuint(after->len, ==, PS);
}

static void test_unwritten_same_frames_are_parents(void)
{
	const SvPageRun before[] = { run(0x10000, 16, 0x400000) };
	g_autoptr(GArray) parent = parent_frames(before, 1);
	g_autoptr(GBytes) bits = log_with(NULL, 0);
	g_autoptr(GArray) runs = g_array_new(FALSE, FALSE, sizeof(SvPageRun));
	g_array_append_vals(runs, before, 1);
	sv_dirty_frames_judge(runs, bits, parent, PS);
	g_assert_cmpuint(runs->len, ==, 1);
	g_assert_false(g_array_index(runs, SvPageRun, 0).dirty);
	g_assert_cmpuint(g_array_index(runs, SvPageRun, 0).len, ==, 16 * PS);
}

static void test_frames_file_refusals(void)
{
	const SvPageRun r[] = { run(0x400000, 2, 0x1000000), run(0x500000, 1, 0x3000) };
	g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(SvPageRun));
	g_array_append_vals(a, r, G_N_ELEMENTS(r));
	g_autoptr(GBytes) file = sv_dirty_frames_encode(MARK, a);
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(file, &len);
	g_autofree char *why = NULL;
	/* another mark's */
	g_assert_null(sv_dirty_frames_decode(data, len, MARK "0", &why));
	g_assert_nonnull(strstr(why, "another checkpoint's"));
	g_clear_pointer(&why, g_free);
	/* cut short at every length: refused or a whole prefix, never a crash */
	for (gsize cut = 0; cut < len; cut++) {
		g_autoptr(GArray) f = sv_dirty_frames_decode(data, cut, MARK, &why);
		g_assert_true((f == NULL) == (why != NULL));
		g_clear_pointer(&why, g_free);
	}
	/* out of order: the runs swapped */
	g_autofree guint8 *swapped = g_memdup2(data, len);
	gsize head = len - 2 * 3 * sizeof(guint64);
	memcpy(swapped + head, data + head + 24, 24);
	memcpy(swapped + head + 24, data + head, 24);
	g_assert_null(sv_dirty_frames_decode(swapped, len, MARK, &why));
	g_assert_nonnull(strstr(why, "out of order"));
}

static void test_section_methods(void)
{
	g_autoptr(GVariant) log = sv_dirty_track_variant_for(SV_DIRTY_METHOD_LOG_NAME, MARK);
	g_autofree char *m = sv_dirty_track_mark_for(log, SV_DIRTY_METHOD_LOG_NAME);
	g_assert_cmpstr(m, ==, MARK);
	/* a dirty-log mark is no soft-dirty arm, nor the other way round */
	g_autofree char *soft = sv_dirty_track_mark(log);
	g_assert_null(soft);
	g_autoptr(GVariant) sd = sv_dirty_track_variant(MARK);
	g_autofree char *not_log = sv_dirty_track_mark_for(sd, SV_DIRTY_METHOD_LOG_NAME);
	g_assert_null(not_log);
	g_assert_cmpstr(sv_dirty_method_str(SV_DIRTY_LOG), ==, "dirty-log");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dirty-frames/judge", test_judge);
	g_test_add_func("/dirty-frames/unwritten-same-frames",
			test_unwritten_same_frames_are_parents);
	g_test_add_func("/dirty-frames/file-refusals", test_frames_file_refusals);
	g_test_add_func("/dirty-frames/section-methods", test_section_methods);
	return g_test_run();
}
