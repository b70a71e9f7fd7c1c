/* SPDX-License-Identifier: MIT */
/*
 * snapshot-io [DIR] - throughput (median of 3 runs) of snapshot page data, written and read,
 * for 64, 256 and 1024 MiB of non-zero pages, raw (streamed, and copied
 * straight into the mapped file as checkpoint does) and zstd, beside `cp` of
 * a file of the same size in the same directory (the physical limit here),
 * and the size of a snapshot of a mostly-zero 1 GiB mapping. Prints figures.
 *
 * Writes include fsync (a snapshot is durable when the writer returns); so
 * does the cp figure (cp, then sync of the copy). Reads are of a warm file
 * (the page cache holds what was just written), through read_page, which
 * checks each chunk's checksum on first use.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/snapshot/snapshot-reader.h"
#include "host/snapshot/snapshot-writer.h"

#define PS 4096u

static double now(void)
{
	return g_get_monotonic_time() / 1e6;
}

/* Page contents that compress about as well as typical heap data: a mix of
 * small integers, pointers and random bytes. */
static void fill(guint8 *buf, gsize len)
{
	GRand *rand = g_rand_new_with_seed(42);
	guint64 *q = (guint64 *)(void *)buf;
	for (gsize i = 0; i < len / 8; i++) {
		switch (i % 4) {
		case 0:
			q[i] = i;
			break;
		case 1:
			q[i] = 0x7f0000000000ull + (i * 8);
			break;
		case 2:
			q[i] = ((guint64)g_rand_int(rand) << 32) | g_rand_int(rand);
			break;
		default:
			q[i] = i & 0xff;
		}
	}
	g_rand_free(rand);
}

/* Each timed step starts with nothing dirty in the page cache, so it pays
 * only for its own writes. */
static void settle(void)
{
	sync();
}

/* zstd: the level, 0 for raw pages, DIRECT for raw pages copied straight
 * into the file (sv_snapshot_writer_map_pages, as checkpoint does): the
 * mapping faulted in, the copy, the commit. */
#define DIRECT (-1)

static double write_snapshot(const char *path, const guint8 *data, gsize len, int zstd)
{
	SvSnapshotWriterOptions o = { .arch = SV_SNAP_ARCH_X86_64,
				      .byte_order = SV_SNAP_LITTLE_ENDIAN,
				      .page_size = PS,
				      .zstd_level = MAX(zstd, 0) };
	g_autoptr(GError) error = NULL;
	settle();
	double t0 = now();
	g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE(SV_SNAP_VMAS_TYPE));
	g_variant_builder_add(&b, "(ttuttss)", (guint64)0x10000000, (guint64)0x10000000 + len, 3u,
			      (guint64)0x73, (guint64)0, "", "");
	guint8 *area = w && zstd == DIRECT ? sv_snapshot_writer_map_pages(w, len, TRUE, &error)
					   : NULL;
	SvSnapshotPageSpan span = { 0x10000000, 0, len / PS, FALSE };
	if (area)
		memcpy(area, data, len);
	if (!w ||
	    (zstd == DIRECT && (!area || !sv_snapshot_writer_commit_pages(w, &span, 1, &error))) ||
	    !sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_VMAS, g_variant_builder_end(&b),
					     &error) ||
	    (zstd != DIRECT &&
	     !sv_snapshot_writer_add_pages(w, 0x10000000, data, len / PS, &error)) ||
	    !sv_snapshot_writer_finish(w, &error)) {
		fprintf(stderr, "snapshot-io: %s\n", error->message);
		exit(1);
	}
	return now() - t0;
}

static double read_snapshot(const char *path, gsize len)
{
	g_autoptr(GError) error = NULL;
	double t0 = now();
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(path, &error);
	g_autofree guint8 *page = g_malloc(PS);
	guint64 sum = 0;
	for (gsize off = 0; r && off < len; off += PS) {
		if (!sv_snapshot_reader_read_page(r, 0x10000000 + off, page, &error))
			break;
		sum += page[off % PS];
	}
	if (error) {
		fprintf(stderr, "snapshot-io: %s\n", error->message);
		exit(1);
	}
	return now() - t0 + (sum == 1 ? 1e-9 : 0);
}

static double run_cp(const char *src, const char *dst)
{
	settle();
	g_autofree char *cmd = g_strdup_printf("cp '%s' '%s' && sync '%s'", src, dst, dst);
	double t0 = now();
	if (system(cmd) != 0)
		exit(1);
	return now() - t0;
}

#define REPS 3

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median3(double v[REPS])
{
	qsort(v, REPS, sizeof(double), cmp_double);
	return v[REPS / 2];
}

static gint64 file_size(const char *path)
{
	GStatBuf st;
	return g_stat(path, &st) == 0 ? st.st_size : -1;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : g_get_tmp_dir();
	g_autofree char *snap = g_build_filename(dir, "snapvm-bench.svs", NULL);
	g_autofree char *raw = g_build_filename(dir, "snapvm-bench.raw", NULL);
	g_autofree char *copy = g_build_filename(dir, "snapvm-bench.copy", NULL);
	printf("%-6s %-12s %12s %12s %10s %8s\n", "MiB", "mode", "write MB/s", "read MB/s",
	       "size MiB", "vs cp");
	const gsize sizes[] = { 64, 256, 1024 };
	for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
		gsize len = sizes[s] << 20;
		g_autofree guint8 *data = g_malloc(len);
		fill(data, len);
		g_assert_true(g_file_set_contents(raw, (char *)data, len, NULL));
		double cps[REPS];
		for (int k = 0; k < REPS; k++) {
			cps[k] = run_cp(raw, copy);
			g_unlink(copy);
		}
		double cp = median3(cps);
		double mb = len / 1e6;
		printf("%-6zu %-12s %12.0f %12s %10.0f %8s\n", sizes[s], "cp", mb / cp, "-",
		       len / 1048576.0, "1.00x");
		const int levels[] = { 0, DIRECT, 1, 3 };
		for (guint l = 0; l < G_N_ELEMENTS(levels); l++) {
			double wts[REPS], rts[REPS];
			for (int k = 0; k < REPS; k++) {
				wts[k] = write_snapshot(snap, data, len, levels[l]);
				rts[k] = read_snapshot(snap, len);
			}
			double wt = median3(wts), rt = median3(rts);
			g_autofree char *mode = levels[l] > 0
							? g_strdup_printf("zstd -%d", levels[l])
						: levels[l] == DIRECT ? g_strdup("raw, direct")
								      : g_strdup("raw");
			printf("%-6zu %-12s %12.0f %12.0f %10.1f %7.2fx\n", sizes[s], mode, mb / wt,
			       mb / rt, file_size(snap) / 1048576.0, wt / cp);
		}
		g_unlink(copy);
		g_unlink(raw);
	}
	/* a 1 GiB mapping of which 16 pages were touched */
	{
		gsize len = 1u << 30;
		guint8 *data = g_malloc0(len);
		for (gsize i = 0; i < 16; i++)
			memset(data + i * (len / 16), 0xa5, PS);
		write_snapshot(snap, data, len, 0);
		printf("mostly-zero 1 GiB mapping, 16 pages touched: snapshot %.1f KiB\n",
		       file_size(snap) / 1024.0);
		g_free(data);
	}
	g_unlink(snap);
	return 0;
}
