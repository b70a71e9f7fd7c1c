/* SPDX-License-Identifier: MIT */
/*
 * The snapshot file: round trips of every section, raw and compressed; a
 * file cut at every section boundary; bit flips; hand-made hostile files;
 * the newer-major refusal; atomic writing; and a seeded mutation fuzz loop
 * over the reader (run under ASan by scripts/test.sh).
 */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <xxhash.h>

#include "snapvm/le.h"
#include "tests/test-paths.h"
#include "base/errors.h"
#include "host/snapshot/snapshot-reader.h"
#include "host/snapshot/snapshot-variant.h"
#include "host/snapshot/snapshot-writer.h"

#define PS 4096u
#define VMA_A 0x400000ull	/* 64 pages */
#define VMA_B 0x7f0000000000ull /* 256 pages, sparse */

static char *tmp_dir;

static char *tmp_path(const char *name)
{
	return g_build_filename(tmp_dir, name, NULL);
}

static GVariant *make_vmas(gboolean overlap)
{
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE(SV_SNAP_VMAS_TYPE));
	g_variant_builder_add(&b, "(ttuttss)", (guint64)VMA_A, (guint64)VMA_A + 64 * PS, 5u,
			      (guint64)0x875, (guint64)0, "/workload/counter", "");
	g_variant_builder_add(&b, "(ttuttss)", (guint64)(overlap ? VMA_A + PS : VMA_B),
			      (guint64)VMA_B + 256 * PS, 3u, (guint64)0x100073, (guint64)0, "", "");
	return g_variant_builder_end(&b);
}

/* An x86_64 snapshot's writer options: raw pages in chunks of chunk bytes
 * (0: the writer's default). */
static SvSnapshotWriterOptions x86_options(gsize chunk)
{
	return (SvSnapshotWriterOptions){ .arch = SV_SNAP_ARCH_X86_64,
					  .byte_order = SV_SNAP_LITTLE_ENDIAN,
					  .page_size = PS,
					  .chunk_bytes = chunk };
}

/* No file of tmp_dir's is named prefix... (no temp file left behind). */
static void assert_nothing_named(const char *prefix)
{
	g_autoptr(GDir) d = g_dir_open(tmp_dir, 0, NULL);
	const char *name;
	while ((name = g_dir_read_name(d)))
		g_assert_false(g_str_has_prefix(name, prefix));
}

static void fill_page(guint8 *p, guint64 vaddr)
{
	for (guint i = 0; i < PS; i++)
		p[i] = (guint8)((vaddr >> 12) * 31 + i * 7 + 1);
}

/* Writes a snapshot with every section; returns the metadata it wrote. */
static GVariant *write_sample(const char *path, int zstd, gsize chunk)
{
	SvSnapshotWriterOptions o = { .arch = SV_SNAP_ARCH_X86_64,
				      .byte_order = SV_SNAP_LITTLE_ENDIAN,
				      .page_size = PS,
				      .zstd_level = zstd,
				      .chunk_bytes = chunk };
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
	g_assert_no_error(error);
	GVariantBuilder all;
	g_variant_builder_init(&all, G_VARIANT_TYPE("a{uv}"));
	GVariantDict task;
	g_variant_dict_init(&task, NULL);
	g_variant_dict_insert(&task, "pid", "u", 79u);
	g_variant_dict_insert(&task, "tgid", "u", 79u);
	g_variant_dict_insert(&task, "comm", "s", "counter");
	g_variant_dict_insert(&task, "uid", "u", 0u);
	GVariant *v = g_variant_dict_end(&task);
	g_variant_builder_add(&all, "{uv}", SV_SNAP_SECTION_TASK, v);
	g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_TASK, v, &error));
	GVariantBuilder regs;
	g_variant_builder_init(&regs, G_VARIANT_TYPE("a{st}"));
	g_variant_builder_add(&regs, "{st}", "rip", (guint64)0x401000);
	g_variant_builder_add(&regs, "{st}", "rsp", (guint64)0x7ffc0000);
	guint8 raw[168] = { 1, 2, 3 };
	v = g_variant_new("(a{st}@ay)", &regs,
			  g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, raw, sizeof(raw), 1));
	g_variant_builder_add(&all, "{uv}", SV_SNAP_SECTION_REGS, v);
	g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_REGS, v, &error));
	guint8 xsave[832] = { 0x7f, 0x03 };
	v = g_variant_new("(ut@a{sv}@ay)", 832u, (guint64)7, g_variant_new("a{sv}", NULL),
			  g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, xsave, sizeof(xsave), 1));
	g_variant_builder_add(&all, "{uv}", SV_SNAP_SECTION_FPU, v);
	g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_FPU, v, &error));
	v = g_variant_new_parsed("@a{sv} {'fsbase': <@t 0x4c6380>}");
	g_variant_builder_add(&all, "{uv}", SV_SNAP_SECTION_TLS, v);
	g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_TLS, v, &error));
	v = g_variant_new_parsed("@(a{st}a(tt)) ({'brk': 0x4d0000, 'start_stack': 0x7ffc1000}, "
				 "[(6, 4096), (0, 0)])");
	g_variant_builder_add(&all, "{uv}", SV_SNAP_SECTION_MM, v);
	g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_MM, v, &error));
	/* a file, added twice: stored once */
	g_autoptr(GBytes) file = g_bytes_new_static("file contents\n", 14);
	g_autofree char *sha = sv_snapshot_writer_add_file(w, file, &error);
	g_autofree char *sha2 = sv_snapshot_writer_add_file(w, file, &error);
	g_assert_cmpstr(sha, ==, sha2);
	GVariantBuilder vb;
	g_variant_builder_init(&vb, G_VARIANT_TYPE(SV_SNAP_VMAS_TYPE));
	g_variant_builder_add(&vb, "(ttuttss)", (guint64)VMA_A, (guint64)VMA_A + 64 * PS, 5u,
			      (guint64)0x875, (guint64)0, "/workload/counter", sha);
	g_variant_builder_add(&vb, "(ttuttss)", (guint64)VMA_B, (guint64)VMA_B + 256 * PS, 3u,
			      (guint64)0x100073, (guint64)0, "", "");
	v = g_variant_builder_end(&vb);
	g_variant_builder_add(&all, "{uv}", SV_SNAP_SECTION_VMAS, v);
	g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_VMAS, v, &error));
	/* pages: all of VMA A (every 4th page zero), every 16th page of VMA B */
	g_autofree guint8 *buf = g_malloc(64 * PS);
	for (guint i = 0; i < 64; i++) {
		if (i % 4 == 3)
			memset(buf + i * PS, 0, PS);
		else
			fill_page(buf + i * PS, VMA_A + i * PS);
	}
	g_assert_true(sv_snapshot_writer_add_pages(w, VMA_A, buf, 64, &error));
	for (guint i = 0; i < 256; i += 16) {
		fill_page(buf, VMA_B + i * PS);
		g_assert_true(sv_snapshot_writer_add_pages(w, VMA_B + i * PS, buf, 1, &error));
	}
	g_assert_cmpuint(sv_snapshot_writer_pages_stored(w), ==, 48 + 16);
	g_assert_cmpuint(sv_snapshot_writer_pages_zero(w), ==, 16);
	v = g_variant_new_parsed("@a{ss} {'snapvm': '0.1.0', 'kernel': '6.1.0-56-amd64'}");
	g_variant_builder_add(&all, "{uv}", SV_SNAP_SECTION_PROVENANCE, v);
	g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_PROVENANCE, v, &error));
	g_assert_true(sv_snapshot_writer_finish(w, &error));
	g_assert_no_error(error);
	return g_variant_ref_sink(g_variant_builder_end(&all));
}

static void check_sample(const char *path, GVariant *expected)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(path, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(sv_snapshot_reader_arch(r), ==, SV_SNAP_ARCH_X86_64);
	g_assert_cmpuint(sv_snapshot_reader_page_size(r), ==, PS);
	GVariantIter it;
	guint32 kind;
	GVariant *want;
	g_variant_iter_init(&it, expected);
	while (g_variant_iter_next(&it, "{uv}", &kind, &want)) {
		g_autoptr(GVariant) got = sv_snapshot_reader_metadata(r, kind);
		g_assert_nonnull(got);
		if (!g_variant_equal(got, want))
			g_error("section %s differs", sv_snap_section_name(kind));
		g_variant_unref(want);
	}
	g_assert_cmpuint(sv_snapshot_reader_pages_stored(r), ==, 64);
	guint8 page[PS], want_page[PS];
	for (guint i = 0; i < 64; i++) {
		g_assert_true(sv_snapshot_reader_read_page(r, VMA_A + i * PS, page, &error));
		if (i % 4 == 3)
			memset(want_page, 0, PS);
		else
			fill_page(want_page, VMA_A + i * PS);
		g_assert_cmpmem(page, PS, want_page, PS);
	}
	for (guint i = 0; i < 256; i++) {
		g_assert_true(sv_snapshot_reader_read_page(r, VMA_B + i * PS, page, &error));
		if (i % 16)
			memset(want_page, 0, PS);
		else
			fill_page(want_page, VMA_B + i * PS);
		g_assert_cmpmem(page, PS, want_page, PS);
	}
	g_autoptr(GVariant) vmas = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_VMAS);
	const char *sha;
	g_variant_get_child(vmas, 0, "(ttutt&s&s)", NULL, NULL, NULL, NULL, NULL, NULL, &sha);
	g_autoptr(GBytes) file = sv_snapshot_reader_file(r, sha, &error);
	g_assert_no_error(error);
	g_assert_cmpmem(g_bytes_get_data(file, NULL), g_bytes_get_size(file), "file contents\n",
			14);
	g_assert_true(sv_snapshot_reader_verify(r, &error));
	g_assert_no_error(error);
}

static void test_round_trip(gconstpointer data)
{
	int zstd = GPOINTER_TO_INT(data);
	g_autofree char *path = tmp_path(zstd ? "rt-zstd.svs" : "rt.svs");
	/* small chunks: several PAGES sections */
	g_autoptr(GVariant) expected = write_sample(path, zstd, 16 * PS);
	check_sample(path, expected);
	g_unlink(path);
}

static GBytes *read_all(const char *path)
{
	char *data;
	gsize len;
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	return g_bytes_new_take(data, len);
}

static gboolean opens_and_verifies(const char *path, GError **error)
{
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(path, error);
	return r && sv_snapshot_reader_verify(r, error);
}

static void write_bytes_to(const char *path, const guint8 *data, gsize len)
{
	g_assert_true(g_file_set_contents(path, (const char *)data, len, NULL));
}

static void test_truncated_everywhere(void)
{
	g_autofree char *path = tmp_path("cut-src.svs");
	g_autoptr(GVariant) expected = write_sample(path, 0, 16 * PS);
	g_autoptr(GBytes) whole = read_all(path);
	gsize len;
	const guint8 *d = g_bytes_get_data(whole, &len);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(path, &error);
	guint n;
	const SvSnapshotSection *s = sv_snapshot_reader_sections(r, &n);
	/* every section boundary, inside each header, and the last 100 bytes */
	g_autoptr(GArray) cuts = g_array_new(FALSE, FALSE, sizeof(gsize));
	for (guint i = 0; i < n; i++) {
		gsize c[] = { s[i].offset, s[i].offset + 1, s[i].offset + 47, s[i].offset + 48,
			      s[i].offset + 48 + s[i].stored / 2 };
		g_array_append_vals(cuts, c, G_N_ELEMENTS(c));
	}
	for (gsize k = 0; k < 100; k++) {
		gsize c = len - 1 - k;
		g_array_append_val(cuts, c);
	}
	g_autofree char *cut = tmp_path("cut.svs");
	for (guint i = 0; i < cuts->len; i++) {
		gsize at = g_array_index(cuts, gsize, i);
		write_bytes_to(cut, d, at);
		g_clear_error(&error);
		g_assert_false(opens_and_verifies(cut, &error));
		g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	}
	g_unlink(cut);
	g_unlink(path);
}

/* Flips bits all over the file: open or verify must notice every one. */
static void test_bit_flips(void)
{
	g_autofree char *path = tmp_path("flip-src.svs");
	g_autoptr(GVariant) expected = write_sample(path, 1, 16 * PS);
	g_autoptr(GBytes) whole = read_all(path);
	gsize len;
	const guint8 *d = g_bytes_get_data(whole, &len);
	g_autofree guint8 *copy = g_memdup2(d, len);
	g_autofree char *flip = tmp_path("flip.svs");
	guint tried = 0;
	for (gsize at = 0; at < len; at += 23, tried++) {
		copy[at] ^= 1u << (at % 8);
		write_bytes_to(flip, copy, len);
		copy[at] = d[at];
		g_autoptr(GError) error = NULL;
		if (opens_and_verifies(flip, &error))
			g_error("a flipped bit at offset %" G_GSIZE_FORMAT " went unnoticed", at);
		g_assert_nonnull(strstr(error->message, "offset"));
	}
	g_assert_cmpuint(tried, >, 100);
	g_unlink(flip);
	g_unlink(path);
}

/* Rewrites the trailer's or header's checksum after a patch, as a hostile
 * writer would, so the reader's structural checks are what must catch it. */
static void reseal(guint8 *d, gsize len)
{
	sv_put_le64(d + 56, XXH3_64bits(d, 56));
	guint8 *t = d + len - SV_SNAP_TRAILER_SIZE;
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits(d, len - SV_SNAP_TRAILER_SIZE));
	memcpy(t + 24, c.digest, 16);
	sv_put_le64(t + 56, XXH3_64bits(t, 56));
}

static void expect_refused(const guint8 *d, gsize len, const char *needle)
{
	g_autofree char *p = tmp_path("hostile.svs");
	write_bytes_to(p, d, len);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(p, &error);
	g_assert_null(r);
	if (!strstr(error->message, needle))
		g_error("wanted \"%s\" in: %s", needle, error->message);
	g_unlink(p);
}

static void test_hostile_files(void)
{
	g_autofree char *path = tmp_path("hostile-src.svs");
	g_autoptr(GVariant) expected = write_sample(path, 0, 16 * PS);
	g_autoptr(GBytes) whole = read_all(path);
	gsize len;
	const guint8 *src = g_bytes_get_data(whole, &len);
	g_autofree guint8 *d = g_memdup2(src, len);
	g_autofree guint8 *orig = g_memdup2(d, len);
	guint8 *t = d + len - SV_SNAP_TRAILER_SIZE;

	/* the index offset points past the end of the file */
	sv_put_le64(t + 8, G_MAXUINT64 - 10);
	reseal(d, len);
	expect_refused(d, len, "outside the file's section area");
	memcpy(d, orig, len);

	/* a newer major version */
	sv_put_le16(d + 8, SV_SNAP_MAJOR + 1);
	reseal(d, len);
	expect_refused(d, len, "made by a newer snapvm");
	memcpy(d, orig, len);

	/* an unknown architecture */
	sv_put_le16(d + 12, 99);
	reseal(d, len);
	expect_refused(d, len, "unknown architecture");
	memcpy(d, orig, len);

	/* a section header claiming a huge payload (its own checksum fixed) */
	guint8 *sh = d + SV_SNAP_HEADER_SIZE;
	sv_put_le64(sh + 16, G_MAXUINT64 / 2);
	sv_put_le64(sh + 40, XXH3_64bits(sh, 40));
	reseal(d, len);
	expect_refused(d, len, "runs past the end");
	memcpy(d, orig, len);

	/* garbage that is not a snapshot at all */
	memset(d, 'x', len);
	expect_refused(d, len, "no snapvm snapshot magic");
	g_unlink(path);
}

/* Files a buggy writer could make: the reader checks meaning, not only bytes. */
static void test_hostile_contents(void)
{
	SvSnapshotWriterOptions o = { .arch = SV_SNAP_ARCH_AARCH64,
				      .byte_order = SV_SNAP_LITTLE_ENDIAN,
				      .page_size = PS };
	g_autofree char *p = tmp_path("meaning.svs");
	g_autoptr(GError) error = NULL;
	{
		g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(p, &o, &error);
		g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_VMAS,
							      make_vmas(TRUE), &error));
		g_assert_true(sv_snapshot_writer_finish(w, &error));
	}
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(p, &error);
	g_assert_null(r);
	g_assert_nonnull(strstr(error->message, "overlaps"));
	g_clear_error(&error);
	{
		/* a page outside every VMA */
		g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(p, &o, &error);
		g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_VMAS,
							      make_vmas(FALSE), &error));
		guint8 page[PS];
		fill_page(page, 0x1000);
		g_assert_true(sv_snapshot_writer_add_pages(w, 0x1000, page, 1, &error));
		g_assert_true(sv_snapshot_writer_finish(w, &error));
	}
	g_autoptr(SvSnapshotReader) r2 = sv_snapshot_reader_open(p, &error);
	g_assert_null(r2);
	g_assert_nonnull(strstr(error->message, "outside every VMA"));
	g_unlink(p);
}

/* 20k mappings (maps06 has 18.6k; vm.max_map_count allows 65530), one
 * stored page in each, and then the same VMAs side by side under one run
 * that spans them all: open must stay linear after its sort (it walked
 * every VMA for every run, minutes for this). Bounded in time, and a gap
 * under a spanning run is still found. */
#define MANY_VMAS 20000u
static void write_many(const char *path, gboolean adjacent, gboolean hole)
{
	SvSnapshotWriterOptions o = { .arch = SV_SNAP_ARCH_X86_64,
				      .byte_order = SV_SNAP_LITTLE_ENDIAN,
				      .page_size = PS };
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
	g_assert_no_error(error);
	const guint64 base = 0x10000000ull, step = adjacent ? PS : 2 * PS;
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE(SV_SNAP_VMAS_TYPE));
	for (guint i = 0; i < MANY_VMAS; i++) {
		if (hole && i == MANY_VMAS / 2)
			continue;
		g_variant_builder_add(&b, "(ttuttss)", base + i * step, base + i * step + PS, 3u,
				      (guint64)0x100073, (guint64)0, "", "");
	}
	g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_VMAS,
						      g_variant_builder_end(&b), &error));
	g_autofree guint8 *pages = g_malloc((gsize)MANY_VMAS * PS);
	for (guint i = 0; i < MANY_VMAS; i++)
		fill_page(pages + (gsize)i * PS, base + i * step);
	if (adjacent) {
		g_assert_true(sv_snapshot_writer_add_pages(w, base, pages, MANY_VMAS, &error));
	} else {
		for (guint i = 0; i < MANY_VMAS; i++)
			g_assert_true(sv_snapshot_writer_add_pages(w, base + i * step,
								   pages + (gsize)i * PS, 1,
								   &error));
	}
	g_assert_true(sv_snapshot_writer_finish(w, &error));
	g_assert_no_error(error);
}

static void test_many_vmas(void)
{
	g_autofree char *p = tmp_path("many-vmas.svs");
	for (int variant = 0; variant < 3; variant++) {
		gboolean adjacent = variant > 0, hole = variant == 2;
		write_many(p, adjacent, hole);
		g_autoptr(GError) error = NULL;
		gint64 t0 = g_get_monotonic_time();
		g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(p, &error);
		gint64 took_ms = (g_get_monotonic_time() - t0) / 1000;
		g_test_message("%u VMAs, %s: opened in %" G_GINT64_FORMAT " ms", MANY_VMAS,
			       hole	  ? "one run over a hole"
			       : adjacent ? "one run"
					  : "a run each",
			       took_ms);
		/* linear here is ~100 ms even under ASan; quadratic was minutes */
		g_assert_cmpint(took_ms, <, 5000);
		if (hole) {
			g_assert_null(r);
			g_assert_nonnull(strstr(error->message, "outside every VMA"));
			continue;
		}
		g_assert_no_error(error);
		g_assert_cmpuint(sv_snapshot_reader_pages_stored(r), ==, MANY_VMAS);
		guint8 page[PS], want[PS];
		const guint64 va = 0x10000000ull + (MANY_VMAS - 1) * (adjacent ? PS : 2 * PS);
		g_assert_true(sv_snapshot_reader_read_page(r, va, page, &error));
		fill_page(want, va);
		g_assert_cmpmem(page, PS, want, PS);
	}
	g_unlink(p);
}

/* Pages 0..n-1 of VMA A read through r: zeros where i % every == at,
 * else fill_page's. */
static void assert_pattern(SvSnapshotReader *r, gsize n, guint every, guint at)
{
	g_autoptr(GError) error = NULL;
	guint8 page[PS], want[PS];
	for (gsize i = 0; i < n; i++) {
		g_assert_true(sv_snapshot_reader_read_page(r, VMA_A + i * PS, page, &error));
		if (i % every == at)
			memset(want, 0, PS);
		else
			fill_page(want, VMA_A + i * PS);
		g_assert_cmpmem(page, PS, want, PS);
	}
}

/* The writer takes full chunks straight from the caller's pages and keeps
 * only a copy of the rest: runs of every length, across chunk boundaries,
 * from one buffer the caller scribbles over after each call, must read
 * back as they were given (raw and zstd, zero pages elided or kept). */
static void test_borrowed_pages(gconstpointer data)
{
	int zstd = GPOINTER_TO_INT(data);
	g_autofree char *path = tmp_path(zstd ? "borrow-zstd.svs" : "borrow.svs");
	SvSnapshotWriterOptions o = { .arch = SV_SNAP_ARCH_X86_64,
				      .byte_order = SV_SNAP_LITTLE_ENDIAN,
				      .page_size = PS,
				      .zstd_level = zstd,
				      .chunk_bytes = 8 * PS };
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
	g_assert_no_error(error);
	const guint lens[] = { 1, 3, 8, 20, 7, 16, 1, 9, 33, 2 };
	g_autofree guint8 *buf = g_malloc(40 * PS);
	guint64 va = VMA_A;
	guint total = 0, zero = 0;
	for (guint k = 0; k < G_N_ELEMENTS(lens); k++) {
		gboolean all = k % 3 == 2;
		for (guint i = 0; i < lens[k]; i++) {
			if ((total + i) % 5 == 4)
				memset(buf + i * PS, 0, PS);
			else
				fill_page(buf + i * PS, va + i * PS);
			zero += !all && (total + i) % 5 == 4;
		}
		g_assert_true(all ? sv_snapshot_writer_add_pages_all(w, va, buf, lens[k], &error)
				  : sv_snapshot_writer_add_pages(w, va, buf, lens[k], &error));
		memset(buf, 0xee, 40 * PS); /* the caller's memory is its own again */
		va += lens[k] * PS;
		total += lens[k];
	}
	g_assert_cmpuint(sv_snapshot_writer_pages_zero(w), ==, zero);
	g_assert_true(sv_snapshot_writer_finish(w, &error));
	g_assert_no_error(error);
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(path, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(sv_snapshot_reader_pages_stored(r), ==, total - zero);
	assert_pattern(r, total, 5, 4);
	g_assert_true(sv_snapshot_reader_verify(r, &error));
	g_assert_no_error(error);
	g_unlink(path);
}

/* Finishes w, opens what it wrote at path and checks it verifies. */
static SvSnapshotReader *finish_verified(SvSnapshotWriter *w, const char *path)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_snapshot_writer_finish(w, &error));
	g_assert_no_error(error);
	SvSnapshotReader *r = sv_snapshot_reader_open(path, &error);
	g_assert_no_error(error);
	g_assert_true(sv_snapshot_reader_verify(r, &error));
	g_assert_no_error(error);
	return r;
}

/* Pages copied straight into the file (sv_snapshot_writer_map_pages):
 * runs of every length across chunk boundaries, zero pages dropped or kept,
 * a gap between spans, the mapping grown once, pages streamed after the
 * commit: all read back as given, and the file verifies. */
static void test_direct_pages(void)
{
	g_autofree char *path = tmp_path("direct.svs");
	SvSnapshotWriterOptions o = x86_options(8 * PS);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
	g_assert_no_error(error);
	g_assert_nonnull(sv_snapshot_writer_map_pages(w, 4 * PS, TRUE, &error));
	/* too small: mapped again, larger (as a capture does at the pause) */
	guint8 *area = sv_snapshot_writer_map_pages(w, 110 * PS, FALSE, &error);
	g_assert_no_error(error);
	g_assert_false(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_VMAS, make_vmas(FALSE),
						       &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	const guint lens[] = { 1, 3, 8, 20, 7, 16, 1, 9, 33, 2 };
	SvSnapshotPageSpan spans[G_N_ELEMENTS(lens)];
	guint64 va = VMA_A;
	gsize off = 0;
	guint total = 0, zero = 0;
	for (guint k = 0; k < G_N_ELEMENTS(lens); k++) {
		gboolean all = k % 3 == 2;
		if (k == 5)
			off += 2 * PS; /* room the capture did not use */
		spans[k] = (SvSnapshotPageSpan){ va, off, lens[k], all };
		for (guint i = 0; i < lens[k]; i++) {
			if ((total + i) % 5 == 4)
				memset(area + off + i * PS, 0, PS);
			else
				fill_page(area + off + i * PS, va + i * PS);
			zero += !all && (total + i) % 5 == 4;
		}
		va += lens[k] * PS;
		off += lens[k] * PS;
		total += lens[k];
	}
	g_assert_true(sv_snapshot_writer_commit_pages(w, spans, G_N_ELEMENTS(spans), &error));
	g_assert_no_error(error);
	g_assert_cmpuint(sv_snapshot_writer_pages_zero(w), ==, zero);
	GVariantBuilder prov;
	g_variant_builder_init(&prov, G_VARIANT_TYPE(SV_SNAP_PROVENANCE_TYPE));
	g_variant_builder_add(&prov, "{ss}", "tool", "test");
	g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_PROVENANCE,
						      g_variant_builder_end(&prov), &error));
	guint8 page[PS], want[PS];
	fill_page(page, VMA_B);
	g_assert_true(sv_snapshot_writer_add_pages(w, VMA_B, page, 1, &error));
	g_autoptr(SvSnapshotReader) r = finish_verified(w, path);
	g_assert_cmpuint(sv_snapshot_reader_pages_stored(r), ==, total - zero + 1);
	for (guint i = 0; i < total; i++) {
		g_assert_true(sv_snapshot_reader_read_page(r, VMA_A + i * PS, page, &error));
		if (i % 5 == 4)
			memset(want, 0, PS);
		else
			fill_page(want, VMA_A + i * PS);
		g_assert_cmpmem(page, PS, want, PS);
	}
	g_assert_true(sv_snapshot_reader_read_page(r, VMA_B, page, &error));
	fill_page(want, VMA_B);
	g_assert_cmpmem(page, PS, want, PS);
	g_unlink(path);
}

/* Whether the file system of dir gives a hole's room back. */
static gboolean punches_holes(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "punch-probe", NULL);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	g_assert_cmpint(fd, >=, 0);
	gboolean ok = posix_fallocate(fd, 0, 1 << 20) == 0 &&
		      fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0;
	GStatBuf st;
	ok = ok && fstat(fd, &st) == 0 && st.st_blocks == 0;
	close(fd);
	g_unlink(path);
	return ok;
}

/* A mapped range found short (at the pause) grows in place past its first
 * chunk: the pages copied into it already stay; the writer hashes the pages
 * as it commits them, zero pages as zeros. */
static void test_direct_grow(void)
{
	g_autofree char *path = tmp_path("direct-grow.svs");
	SvSnapshotWriterOptions o = x86_options(0);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
	guint8 *first = sv_snapshot_writer_map_pages(w, 4 * PS, TRUE, &error);
	g_assert_no_error(error);
	fill_page(first, VMA_A);
	const gsize n = (4u << 20) / PS + 100; /* into a second chunk */
	guint8 *area = sv_snapshot_writer_map_pages(w, n * PS, FALSE, &error);
	g_assert_no_error(error);
	g_assert_true(area == first);
	for (gsize i = 1; i < n; i++) {
		if (i % 7 == 3)
			memset(area + i * PS, 0, PS);
		else
			fill_page(area + i * PS, VMA_A + i * PS);
	}
	g_autofree XXH128_hash_t *hashes = g_new(XXH128_hash_t, n);
	g_autofree guint8 *zeros = g_malloc0(PS);
	SvSnapshotPageSpan span = { VMA_A, 0, n, FALSE };
	g_assert_true(sv_snapshot_writer_commit_pages_hashed(w, &span, 1, hashes, &error));
	g_assert_no_error(error);
	g_assert_true(sv_snapshot_writer_finish(w, &error));
	/* the zero pages are not moved out of the file but given back as
	 * holes, where the file system makes them */
	gsize zero_pages = 0;
	for (gsize i = 1; i < n; i++)
		zero_pages += i % 7 == 3;
	GStatBuf st;
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	if (punches_holes(tmp_dir))
		g_assert_cmpuint((guint64)st.st_blocks * 512, <=,
				 (guint64)st.st_size - zero_pages * PS + (64u << 10));
	else
		g_test_message("%s makes no holes: the zero pages take room", tmp_dir);
	g_assert_cmpuint(sv_snapshot_writer_pages_zero(w), ==, zero_pages);
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(path, &error);
	g_assert_no_error(error);
	g_assert_true(sv_snapshot_reader_verify(r, &error));
	assert_pattern(r, n, 7, 3);
	guint8 want[PS];
	for (gsize i = 0; i < n; i++) {
		g_assert_true(sv_snapshot_reader_read_page(r, VMA_A + i * PS, want, &error));
		g_assert_true(XXH128_isEqual(hashes[i], XXH3_128bits(want, PS)));
	}
	g_assert_true(XXH128_isEqual(hashes[3], XXH3_128bits(zeros, PS)));
	g_unlink(path);
}

/* A range split by sv_snapshot_writer_map_pages_part: only its first
 * chunks reserved and stored into through the mapping, the rest written
 * with sv_snapshot_writer_write_pages in pieces that cross chunk
 * boundaries, back to front, from pages scattered in the caller's memory
 * (as from guest RAM); grown once, nothing more is reserved. All read back
 * as given, hashes included, and the file verifies; a write outside the
 * range is refused. */
static void test_direct_split(void)
{
	g_autofree char *path = tmp_path("direct-split.svs");
	SvSnapshotWriterOptions o = x86_options(8 * PS);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
	gsize ready = 0;
	guint8 *area = sv_snapshot_writer_map_pages_part(w, 30 * PS, 10 * PS, TRUE, &ready, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(ready, ==, 16 * PS); /* whole chunks */
	const gsize n = 45;
	g_assert_true(sv_snapshot_writer_map_pages_part(w, n * PS, ready, FALSE, &ready, &error) ==
		      area);
	g_assert_cmpuint(ready, ==, 16 * PS);
	for (gsize i = 0; i < 16; i++) {
		if (i % 7 == 3)
			memset(area + i * PS, 0, PS);
		else
			fill_page(area + i * PS, VMA_A + i * PS);
	}
	/* the rest, page i at src + (n - i) * 2 * PS: apart and backwards */
	g_autofree guint8 *src = g_malloc0(2 * (n + 1) * PS);
	struct iovec v[45];
	for (gsize i = 16; i < n; i++) {
		if (i % 7 != 3)
			fill_page(src + (n - i) * 2 * PS, VMA_A + i * PS);
		v[i] = (struct iovec){ src + (n - i) * 2 * PS, PS };
	}
	g_assert_true(sv_snapshot_writer_write_pages(w, 29 * PS, v + 29, n - 29, &error));
	g_assert_true(sv_snapshot_writer_write_pages(w, 16 * PS, v + 16, 13, &error));
	g_assert_no_error(error);
	/* mapped: whole chunks, 48 pages */
	g_assert_false(sv_snapshot_writer_write_pages(w, 47 * PS, v + 16, 2, &error) ||
		       sv_snapshot_writer_write_pages(w, 100 * PS, v + 16, 1, NULL));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_autofree XXH128_hash_t *hashes = g_new(XXH128_hash_t, n);
	SvSnapshotPageSpan span = { VMA_A, 0, n, FALSE };
	g_assert_true(sv_snapshot_writer_commit_pages_hashed(w, &span, 1, hashes, &error));
	g_assert_no_error(error);
	g_autoptr(SvSnapshotReader) r = finish_verified(w, path);
	assert_pattern(r, n, 7, 3);
	guint8 page[PS];
	for (gsize i = 0; i < n; i++) {
		g_assert_true(sv_snapshot_reader_read_page(r, VMA_A + i * PS, page, &error));
		g_assert_true(XXH128_isEqual(hashes[i], XXH3_128bits(page, PS)));
	}
	g_unlink(path);
}

/* The rest of a split range runs out of room after the split (another
 * writer filled the file system): write_pages says the disk is full, and
 * nothing of the snapshot is left. Needs a small tmpfs (root). */
static void test_direct_split_full(void)
{
	g_autofree char *tiny = g_build_filename(tmp_dir, "tiny", NULL);
	g_assert_cmpint(g_mkdir(tiny, 0755), ==, 0);
	if (mount("tmpfs", tiny, "tmpfs", 0, "size=64m") != 0) {
		g_test_skip_printf("cannot mount a small tmpfs (%s): run as root",
				   g_strerror(errno));
		g_rmdir(tiny);
		return;
	}
	g_autofree char *path = g_build_filename(tiny, "full.svs", NULL);
	SvSnapshotWriterOptions o = x86_options(8 * PS);
	g_autoptr(GError) error = NULL;
	SvSnapshotWriter *w = sv_snapshot_writer_new(path, &o, &error);
	gsize ready = 0, len = 4u << 20;
	g_assert_nonnull(sv_snapshot_writer_map_pages_part(w, len, 16 * PS, TRUE, &ready, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(ready, ==, 16 * PS); /* room enough: the rest left unreserved */
	/* all but 1 MiB taken by another file */
	g_autofree char *filler = g_build_filename(tiny, "filler", NULL);
	int fd = open(filler, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct statvfs sv;
	g_assert_cmpint(fstatvfs(fd, &sv), ==, 0);
	g_assert_cmpint(posix_fallocate(fd, 0, (off_t)(sv.f_bavail * sv.f_frsize - (1u << 20))), ==,
			0);
	close(fd);
	g_autofree guint8 *src = g_malloc(len - ready);
	memset(src, 0x5a, len - ready);
	struct iovec v = { src, len - ready };
	g_assert_false(sv_snapshot_writer_write_pages(w, ready, &v, 1, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "the disk is full; nothing was kept"));
	sv_snapshot_writer_free(w);
	g_unlink(filler);
	g_autoptr(GDir) d = g_dir_open(tiny, 0, NULL);
	g_assert_null(g_dir_read_name(d));
	umount2(tiny, MNT_DETACH);
	g_rmdir(tiny);
}

/* Mapped and never committed: nothing left behind; a span outside the
 * mapping is refused. */
static void test_direct_refusals(void)
{
	g_autofree char *path = tmp_path("direct-never.svs");
	SvSnapshotWriterOptions o = x86_options(0);
	g_autoptr(GError) error = NULL;
	SvSnapshotWriter *w = sv_snapshot_writer_new(path, &o, &error);
	g_assert_nonnull(sv_snapshot_writer_map_pages(w, 8 * PS, TRUE, &error));
	gsize mapped = (4u << 20) / PS; /* one default chunk */
	SvSnapshotPageSpan bad = { VMA_A, (mapped - 1) * PS, 2, FALSE };
	g_assert_false(sv_snapshot_writer_commit_pages(w, &bad, 1, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	sv_snapshot_writer_free(w);
	assert_nothing_named("direct-never.svs");
	o.zstd_level = 3;
	g_clear_error(&error);
	g_autoptr(SvSnapshotWriter) z = sv_snapshot_writer_new(path, &o, &error);
	g_assert_null(sv_snapshot_writer_map_pages(z, 8 * PS, TRUE, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
}

/* The listing of write_layer as PAGE_HASHES_DELTA: the present runs, and
 * no hash (none matters to a reader). */
static GVariant *delta_listing(const char *listed)
{
	GVariantBuilder pb;
	g_variant_builder_init(&pb, G_VARIANT_TYPE("a(tt)"));
	for (guint i = 0; i < 10; i++)
		if (listed[i] == 'x')
			g_variant_builder_add(&pb, "(tt)", (guint64)(VMA_B + i * PS), (guint64)1);
	return g_variant_new("(@a(tt)@a(tat))", g_variant_builder_end(&pb),
			     g_variant_new_array(G_VARIANT_TYPE("(tat)"), NULL, 0));
}

/* One layer of a chain in VMA B (pages 0..9): lists the pages in listed
 * (PAGE_HASHES, or PAGE_HASHES_DELTA when listed starts with 'd' (then
 * 10 more); the hashes themselves do not matter to a reader), stores
 * those with a seed (0: a page of zeros, stored), names parent. */
static void write_layer(const char *path, const char *parent, const char *listed,
			const guint *seeds)
{
	gboolean delta = listed[0] == 'd';
	listed += delta;
	SvSnapshotWriterOptions o = x86_options(0);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
	g_assert_no_error(error);
	guint8 page[PS];
	GVariantBuilder hb;
	g_variant_builder_init(&hb, G_VARIANT_TYPE(SV_SNAP_PAGE_HASHES_TYPE));
	for (guint i = 0; i < 10; i++) {
		if (seeds[i] == G_MAXUINT)
			continue;
		if (seeds[i])
			fill_page(page, (VMA_B + i * PS) ^ ((guint64)seeds[i] << 40));
		else
			memset(page, 0, PS);
		g_assert_true(sv_snapshot_writer_add_pages_all(w, VMA_B + i * PS, page, 1, &error));
	}
	for (guint i = 0; i < 10; i++) {
		if (listed[i] != 'x')
			continue;
		guint64 h[2] = { i, 0 };
		g_variant_builder_add_value(
			&hb, g_variant_new("(t@at)", (guint64)(VMA_B + i * PS),
					   g_variant_new_fixed_array(G_VARIANT_TYPE_UINT64, h, 2,
								     sizeof(guint64))));
	}
	GVariant *hashes = g_variant_builder_end(&hb);
	if (delta) {
		g_variant_unref(g_variant_ref_sink(hashes));
		g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_PAGE_HASHES_DELTA,
							      delta_listing(listed), &error));
	} else {
		g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_PAGE_HASHES,
							      hashes, &error));
	}
	if (parent) {
		g_autoptr(SvSnapshotReader) pr = sv_snapshot_reader_open(parent, &error);
		g_assert_no_error(error);
		g_autofree char *digest = sv_snapshot_reader_digest(pr);
		g_autofree char *base = g_path_get_basename(parent);
		GVariantDict d;
		g_variant_dict_init(&d, NULL);
		g_variant_dict_insert(&d, SV_SNAP_PARENT_PATH, "s", base);
		g_variant_dict_insert(&d, SV_SNAP_PARENT_DIGEST, "s", digest);
		g_variant_dict_insert(&d, SV_SNAP_PARENT_SIZE, "t",
				      sv_snapshot_reader_file_size(pr));
		g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_PARENT,
							      g_variant_dict_end(&d), &error));
	}
	g_assert_true(sv_snapshot_writer_finish(w, &error));
	g_assert_no_error(error);
}

/* Reads pages 0..9 of VMA B through path's chain: each as the seed it was
 * written with (0 for zeros). */
static void check_layers(const char *path, const guint *want)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(path, &error);
	g_assert_no_error(error);
	g_assert_true(sv_snapshot_reader_verify(r, &error));
	g_assert_no_error(error);
	guint8 page[PS], exp[PS];
	for (guint i = 0; i < 10; i++) {
		g_assert_true(sv_snapshot_reader_read_page(r, VMA_B + i * PS, page, &error));
		if (want[i])
			fill_page(exp, (VMA_B + i * PS) ^ ((guint64)want[i] << 40));
		else
			memset(exp, 0, PS);
		if (memcmp(page, exp, PS))
			g_error("%s: page %u is not seed %u", path, i, want[i]);
	}
}

/* Incremental snapshots: a page listed and not stored is the parent's
 * (through the chain), zeros where no ancestor stores it; a page not
 * listed is absent whatever the parent holds; a missing or replaced parent
 * is named, with what to do. */
static void test_chain(void)
{
	const guint N = G_MAXUINT;
	g_autofree char *base = tmp_path("chain-base.svs");
	g_autofree char *child = tmp_path("chain-child.svs");
	g_autofree char *grand = tmp_path("chain-grand.svs");
	const guint base_seeds[10] = { 1, 1, 1, 1, 1, 1, 1, 1, N, N };
	write_layer(base, NULL, "xxxxxxxxxx", base_seeds);
	const guint child_seeds[10] = { N, 2, N, 0, N, N, N, N, 2, N };
	write_layer(child, base, "xxxxxx..xx", child_seeds);
	const guint child_view[10] = { 1, 2, 1, 0, 1, 1, 0, 0, 2, 0 };
	check_layers(child, child_view);
	const guint grand_seeds[10] = { N, N, N, N, N, N, 3, N, N, N };
	write_layer(grand, child, "xxxxxxxxxx", grand_seeds);
	const guint grand_view[10] = { 1, 2, 1, 0, 1, 1, 3, 0, 2, 0 };
	check_layers(grand, grand_view);
	/* the same listed as a change to the parent's hashes */
	g_autofree char *dgrand = tmp_path("chain-dgrand.svs");
	write_layer(dgrand, child, "dxxxxxxxx.x", grand_seeds);
	const guint dgrand_view[10] = { 1, 2, 1, 0, 1, 1, 3, 0, 0, 0 };
	check_layers(dgrand, dgrand_view);
	g_unlink(dgrand);
	/* a delta with no parent to change is refused */
	write_layer(dgrand, NULL, "dxxxxxxxxxx", base_seeds);
	g_autoptr(GError) derror = NULL;
	g_assert_null(sv_snapshot_reader_open(dgrand, &derror));
	g_assert_nonnull(strstr(derror->message, "no PARENT"));
	g_unlink(dgrand);

	g_autoptr(GError) error = NULL;
	g_autofree char *moved = tmp_path("chain-base.moved");
	g_assert_cmpint(g_rename(base, moved), ==, 0);
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(grand, &error);
	g_assert_null(r);
	g_assert_nonnull(strstr(error->message, "put it back"));
	g_clear_error(&error);
	/* another file in its place: refused by its digest */
	write_layer(base, NULL, "xxxxxxxxxx", child_seeds);
	r = sv_snapshot_reader_open(child, &error);
	g_assert_null(r);
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "digest"));
	g_unlink(moved);
	g_unlink(base);
	g_unlink(child);
	g_unlink(grand);
	/* a FIFO where a snapshot (or a parent it names) should be: refused,
	 * not waited on */
	g_autofree char *fifo = tmp_path("chain-fifo.svs");
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	g_clear_error(&error);
	g_assert_null(sv_snapshot_reader_open(fifo, &error));
	g_assert_nonnull(strstr(error->message, "not a regular file"));
	g_unlink(fifo);
}

/* The PARENT dict naming the snapshot r. */
static GVariant *parent_section(SvSnapshotReader *r)
{
	g_autofree char *digest = sv_snapshot_reader_digest(r);
	g_autofree char *base = g_path_get_basename(sv_snapshot_reader_path(r));
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, SV_SNAP_PARENT_PATH, "s", base);
	g_variant_dict_insert(&d, SV_SNAP_PARENT_DIGEST, "s", digest);
	g_variant_dict_insert(&d, SV_SNAP_PARENT_SIZE, "t", sv_snapshot_reader_file_size(r));
	return g_variant_dict_end(&d);
}

/* A snapshot whose VMAs map the files with these contents (NULL-ended),
 * on parent (a reader, or NULL: then not incremental); how many of them
 * the writer took from the parent. */
static guint write_files_layer(const char *path, SvSnapshotReader *parent,
			       const char *const *contents, gboolean name_parent)
{
	SvSnapshotWriterOptions o = x86_options(0);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
	g_assert_no_error(error);
	if (parent)
		sv_snapshot_writer_set_parent(w, parent);
	GVariantBuilder vb;
	g_variant_builder_init(&vb, G_VARIANT_TYPE(SV_SNAP_VMAS_TYPE));
	for (guint i = 0; contents[i]; i++) {
		g_autoptr(GBytes) b = g_bytes_new_static(contents[i], strlen(contents[i]));
		g_autofree char *sha = sv_snapshot_writer_add_file(w, b, &error);
		g_assert_no_error(error);
		guint64 at = VMA_A + i * 16 * PS;
		g_variant_builder_add(&vb, "(ttuttss)", at, at + PS, 5u, (guint64)0x875, (guint64)0,
				      "/workload/file", sha);
	}
	g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_VMAS,
						      g_variant_builder_end(&vb), &error));
	GVariantBuilder hb;
	g_variant_builder_init(&hb, G_VARIANT_TYPE(SV_SNAP_PAGE_HASHES_TYPE));
	g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_PAGE_HASHES,
						      g_variant_builder_end(&hb), &error));
	if (parent && name_parent)
		g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_PARENT,
							      parent_section(parent), &error));
	g_assert_true(sv_snapshot_writer_finish(w, &error));
	g_assert_no_error(error);
	guint from_parent;
	guint64 bytes;
	sv_snapshot_writer_files_from_parent(w, &from_parent, &bytes);
	return from_parent;
}

/* FILE sections a snapshot itself holds. */
static guint own_files(SvSnapshotReader *r)
{
	guint n, files = 0;
	const SvSnapshotSection *s = sv_snapshot_reader_sections(r, &n);
	for (guint i = 0; i < n; i++)
		files += s[i].kind == SV_SNAP_SECTION_FILE;
	return files;
}

static void assert_file(SvSnapshotReader *r, const char *contents)
{
	g_autofree char *sha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, contents, -1);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) b = sv_snapshot_reader_file(r, sha, &error);
	g_assert_no_error(error);
	g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), contents, strlen(contents));
	/* its length from the index too (restore's image layout), from the
	 * parent that holds it */
	guint64 len = 0;
	g_assert_true(sv_snapshot_reader_file_length(r, sha, &len, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(len, ==, strlen(contents));
}

/* Incremental snapshots refer to the files their chain already carries:
 * an unchanged file (same sha256) is not stored again and is read from
 * the parent, two levels up too; a changed one is stored anew; a snapshot
 * naming a file nobody in its chain holds is refused. */
static void test_chain_files(void)
{
	g_autofree char *base = tmp_path("files-base.svs");
	g_autofree char *child = tmp_path("files-child.svs");
	g_autofree char *grand = tmp_path("files-grand.svs");
	g_autofree char *orphan = tmp_path("files-orphan.svs");
	const char *v1[] = { "executable v1", "library v1", NULL };
	g_assert_cmpuint(write_files_layer(base, NULL, v1, FALSE), ==, 0);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) rb = sv_snapshot_reader_open(base, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(own_files(rb), ==, 2);
	/* the library changed: stored again; the executable did not */
	const char *v2[] = { "executable v1", "library v2", NULL };
	g_assert_cmpuint(write_files_layer(child, rb, v2, TRUE), ==, 1);
	g_autoptr(SvSnapshotReader) rc = sv_snapshot_reader_open(child, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(own_files(rc), ==, 1);
	assert_file(rc, "executable v1");
	assert_file(rc, "library v2");
	g_assert_true(sv_snapshot_reader_verify(rc, &error));
	const char *v3[] = { "executable v1", "library v1", "library v2", NULL };
	g_assert_cmpuint(write_files_layer(grand, rc, v3, TRUE), ==, 3);
	g_autoptr(SvSnapshotReader) rg = sv_snapshot_reader_open(grand, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(own_files(rg), ==, 0);
	for (guint i = 0; v3[i]; i++)
		assert_file(rg, v3[i]);
	/* files taken from a parent the snapshot does not name */
	write_files_layer(orphan, rc, v2, FALSE);
	g_autoptr(SvSnapshotReader) ro = sv_snapshot_reader_open(orphan, &error);
	g_assert_null(ro);
	g_assert_nonnull(strstr(error->message, "the snapshot lacks"));
	g_unlink(base);
	g_unlink(child);
	g_unlink(grand);
	g_unlink(orphan);
}

static void test_unfinished_leaves_nothing(void)
{
	g_autofree char *p = tmp_path("never.svs");
	SvSnapshotWriterOptions o = x86_options(0);
	g_autoptr(GError) error = NULL;
	SvSnapshotWriter *w = sv_snapshot_writer_new(p, &o, &error);
	guint8 page[PS];
	fill_page(page, 0);
	g_assert_true(sv_snapshot_writer_add_pages(w, 0, page, 1, &error));
	sv_snapshot_writer_free(w); /* as if the checkpoint failed half-way */
	assert_nothing_named("never.svs");
}

/* Seeded random mutations of a valid file: the reader may refuse, never crash. */
static void test_fuzz_reader(void)
{
	g_autofree char *path = tmp_path("fuzz-src.svs");
	g_autoptr(GVariant) expected = write_sample(path, 1, 16 * PS);
	g_autoptr(GBytes) whole = read_all(path);
	gsize len;
	const guint8 *d = g_bytes_get_data(whole, &len);
	g_autofree guint8 *m = g_malloc(len);
	g_autofree char *fz = tmp_path("fuzz.svs");
	for (guint it = 0; it < 300; it++) {
		memcpy(m, d, len);
		guint flips = g_test_rand_int_range(1, 16);
		for (guint k = 0; k < flips; k++)
			m[g_test_rand_int_range(0, len)] = g_test_rand_int();
		gsize mlen = g_test_rand_bit() ? len : (gsize)g_test_rand_int_range(0, len);
		/* half the time keep the checksums right, so the structural
		 * checks behind them get exercised too */
		if (g_test_rand_bit() && mlen == len)
			reseal(m, len);
		write_bytes_to(fz, m, mlen);
		g_autoptr(GError) error = NULL;
		g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(fz, &error);
		if (!r)
			continue;
		guint8 page[PS];
		for (guint i = 0; i < 64; i++)
			if (!sv_snapshot_reader_read_page(r, VMA_A + i * PS, page, NULL))
				break;
		sv_snapshot_reader_verify(r, NULL);
	}
	g_unlink(fz);
	g_unlink(path);
}

static int run_inspect(const char *const *args, char **ret_out, char **ret_err)
{
	g_autofree char *exe = sv_test_build_path("host/snapvm");
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, exe);
	g_ptr_array_add(argv, "inspect");
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (gpointer)*a);
	g_ptr_array_add(argv, NULL);
	gint status;
	g_autoptr(GError) error = NULL;
	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
				   ret_out, ret_err, &status, &error));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_inspect_cli(void)
{
	g_autofree char *path = tmp_path("inspect.svs");
	g_autoptr(GVariant) expected = write_sample(path, 3, 16 * PS);
	g_autofree char *out = NULL, *err = NULL;
	const char *human[] = { path, "--verify", NULL };
	g_assert_cmpint(run_inspect(human, &out, &err), ==, 0);
	for (const char *want = "arch x86_64"; want; want = NULL)
		g_assert_nonnull(strstr(out, want));
	g_assert_nonnull(strstr(out, "comm=counter"));
	g_assert_nonnull(strstr(out, "rip=0x401000"));
	g_assert_nonnull(strstr(out, "/workload/counter (contents carried)"));
	g_assert_nonnull(strstr(out, "64 stored"));
	g_assert_nonnull(strstr(out, "verified"));
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	const char *json[] = { "--json", path, NULL };
	g_assert_cmpint(run_inspect(json, &out, &err), ==, 0);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_assert_true(json_parser_load_from_data(parser, out, -1, NULL));
	JsonObject *o = json_node_get_object(json_parser_get_root(parser));
	g_assert_cmpstr(json_object_get_string_member(o, "arch"), ==, "x86_64");
	g_assert_cmpint(json_object_get_int_member(o, "pages_stored"), ==, 64);
	JsonObject *meta = json_object_get_object_member(o, "metadata");
	g_assert_true(json_object_has_member(meta, "VMAS"));
	g_assert_true(json_object_has_member(meta, "PROVENANCE"));
	/* a damaged file: exit 1, one message with section and offset */
	g_autoptr(GBytes) whole = read_all(path);
	gsize len;
	const guint8 *src = g_bytes_get_data(whole, &len);
	g_autofree guint8 *d = g_memdup2(src, len);
	d[len / 2] ^= 0x40;
	write_bytes_to(path, d, len);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_inspect(human, &out, &err), ==, 1);
	g_assert_nonnull(strstr(err, "at offset"));
	g_unlink(path);
}

/* PAGE_HASHES' own normal-form check agrees with GLib's on valid values of
 * every offset width and on their damaged copies (bytes flipped, most in
 * the framing at the end; cut short; grown). */
static void test_page_hashes_normal(void)
{
	GRand *rand = g_rand_new_with_seed(17);
	const gsize sizes[] = { 0, 1, 3, 20, 600, 9000 };
	guint disagree = 0, normal = 0, total = 0;
	for (guint round = 0; round < 150; round++) {
		GVariantBuilder b;
		g_variant_builder_init(&b, G_VARIANT_TYPE(SV_SNAP_PAGE_HASHES_TYPE));
		guint nruns = g_rand_int_range(rand, 0, 5);
		for (guint r = 0; r < nruns; r++) {
			gsize n = sizes[g_rand_int_range(rand, 0, G_N_ELEMENTS(sizes))];
			g_autofree guint64 *v = g_new0(guint64, n + 1);
			for (gsize i = 0; i < n; i++)
				v[i] = g_rand_int(rand);
			g_variant_builder_add_value(
				&b,
				g_variant_new("(t@at)", (guint64)g_rand_int(rand),
					      g_variant_new_fixed_array(G_VARIANT_TYPE_UINT64, v, n,
									sizeof(guint64))));
		}
		g_autoptr(GVariant) ok = g_variant_ref_sink(g_variant_builder_end(&b));
		g_autoptr(GBytes) good = g_variant_get_data_as_bytes(ok);
		gsize len = g_bytes_get_size(good);
		for (guint m = 0; m < 40; m++) {
			g_autofree guint8 *d = g_malloc0(len + 16);
			if (len) /* an empty array's data is NULL */
				memcpy(d, g_bytes_get_data(good, NULL), len);
			gsize size = len;
			guint how = m ? g_rand_int_range(rand, 0, 4) : 4;
			if (how <= 1 && size) /* a byte of the last 24, or any */
				d[how ? (gsize)g_rand_int_range(rand, 0, size)
				      : size - 1 - (gsize)g_rand_int_range(rand, 0, MIN(size, 24))] ^=
					1u << g_rand_int_range(rand, 0, 8);
			else if (how == 2 && size)
				size -= g_rand_int_range(rand, 1, MIN(size, 16) + 1);
			else if (how == 3)
				size += g_rand_int_range(rand, 1, 16);
			g_autoptr(GBytes) bytes = g_bytes_new(d, size);
			g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new_from_bytes(
				G_VARIANT_TYPE(SV_SNAP_PAGE_HASHES_TYPE), bytes, FALSE));
			gboolean glib = g_variant_is_normal_form(v);
			gboolean ours = sv_snap_page_hashes_normal(d, size);
			if (glib != ours) {
				g_test_message("round %u change %u (%u): GLib says %d, ours %d",
					       round, m, how, glib, ours);
				disagree++;
			}
			normal += glib;
			total++;
		}
	}
	g_rand_free(rand);
	g_test_message("%u of %u in normal form", normal, total);
	g_assert_cmpuint(disagree, ==, 0);
	/* both kinds were met */
	g_assert_cmpuint(normal, >, total / 10);
	g_assert_cmpuint(normal, <, total - total / 10);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	tmp_dir = g_dir_make_tmp("snapvm-snapshot-XXXXXX", NULL);
	g_test_add_data_func("/snapshot/round-trip/raw", GINT_TO_POINTER(0), test_round_trip);
	g_test_add_data_func("/snapshot/round-trip/zstd", GINT_TO_POINTER(3), test_round_trip);
	g_test_add_data_func("/snapshot/writer/borrowed-pages/raw", GINT_TO_POINTER(0),
			     test_borrowed_pages);
	g_test_add_data_func("/snapshot/writer/borrowed-pages/zstd", GINT_TO_POINTER(3),
			     test_borrowed_pages);
	g_test_add_func("/snapshot/writer/direct-pages", test_direct_pages);
	g_test_add_func("/snapshot/writer/direct-refusals", test_direct_refusals);
	g_test_add_func("/snapshot/writer/direct-grow", test_direct_grow);
	g_test_add_func("/snapshot/writer/direct-split", test_direct_split);
	g_test_add_func("/snapshot/writer/direct-split-full", test_direct_split_full);
	g_test_add_func("/snapshot/chain", test_chain);
	g_test_add_func("/snapshot/page-hashes-normal", test_page_hashes_normal);
	g_test_add_func("/snapshot/chain-files", test_chain_files);
	g_test_add_func("/snapshot/truncated", test_truncated_everywhere);
	g_test_add_func("/snapshot/bit-flips", test_bit_flips);
	g_test_add_func("/snapshot/hostile/structure", test_hostile_files);
	g_test_add_func("/snapshot/hostile/contents", test_hostile_contents);
	g_test_add_func("/snapshot/many-vmas", test_many_vmas);
	g_test_add_func("/snapshot/writer/unfinished", test_unfinished_leaves_nothing);
	g_test_add_func("/snapshot/fuzz-reader", test_fuzz_reader);
	g_test_add_func("/snapshot/inspect-cli", test_inspect_cli);
	int rc = g_test_run();
	g_rmdir(tmp_dir);
	g_free(tmp_dir);
	return rc;
}
