/* SPDX-License-Identifier: MIT */
/* The host's half of SV_RIMG_HOST_PAGES (host/restore/place-pages.c) over
 * a real RAM file: a snapshot's pages land at the frames the restorer
 * reports, slice by slice; a hostile or confused restorer's messages are
 * refused, never written out of place. And restore --lazy's server
 * (host/restore/lazy-host.c) against a pager played here. */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>

#include "snapvm/restore-image-format.h"
#include "snapvm/snapshot-format.h"
#include "base/errors.h"
#include "base/guest-mem.h"
#include "host/restore/restore.h"
#include "host/snapshot/snapshot-writer.h"

#define PS 4096u
#define NPAGES 40u    /* the process's pages: five PAGES sections of 8 */
#define RAM_PAGES 64u /* guest RAM */
#define VMA 0x10000000ull

static char *tmp_dir;

static void fill_page(guint8 *p, guint64 seed)
{
	for (guint i = 0; i < PS; i++)
		p[i] = (guint8)(seed * 13 + i + (i >> 8));
}

/* A snapshot of one anonymous mapping with NPAGES stored pages; its page
 * runs in *ret_runs (the restore image's staging order: by vaddr). */
static SvSnapshotReader *write_snapshot(GArray **ret_runs)
{
	g_autofree char *path = g_build_filename(tmp_dir, "pages.svs", NULL);
	SvSnapshotWriterOptions o = { .arch = SV_SNAP_ARCH_X86_64,
				      .byte_order = SV_SNAP_LITTLE_ENDIAN,
				      .page_size = PS,
				      .chunk_bytes = 8 * PS };
	g_autoptr(GError) error = NULL;
	{
		g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
		g_assert_no_error(error);
		GVariantBuilder b;
		g_variant_builder_init(&b, G_VARIANT_TYPE(SV_SNAP_VMAS_TYPE));
		g_variant_builder_add(&b, "(ttuttss)", VMA, VMA + NPAGES * PS, 3u,
				      (guint64)0x100073, (guint64)0, "", "");
		g_assert_true(sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_VMAS,
							      g_variant_builder_end(&b), &error));
		guint8 page[PS];
		for (guint i = 0; i < NPAGES; i++) {
			fill_page(page, i + 1);
			g_assert_true(sv_snapshot_writer_add_pages(w, VMA + i * PS, page, 1,
								   &error));
		}
		g_assert_true(sv_snapshot_writer_finish(w, &error));
	}
	SvSnapshotReader *r = sv_snapshot_reader_open(path, &error);
	g_assert_no_error(error);
	g_autoptr(GVariant) pagemap = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_PAGEMAP);
	g_assert_nonnull(pagemap);
	GArray *runs = sv_restore_pagemap_runs(pagemap);
	g_assert_cmpuint(runs->len, >, 1); /* sections change under a slice */
	*ret_runs = runs;
	return r;
}

static SvGuestMem *open_ram_of(guint64 pages, char **ret_path)
{
	char *path = g_build_filename(tmp_dir, "ram", NULL);
	g_autofree guint8 *zero = g_malloc0(pages * PS);
	g_assert_true(g_file_set_contents(path, (char *)zero, (gssize)(pages * PS), NULL));
	SvRamRegion region = { .gpa = sv_gpa(0), .size = pages * PS, .file_offset = 0 };
	g_autoptr(GError) error = NULL;
	SvGuestMem *mem = sv_guest_mem_open(path, &region, 1, &error);
	g_assert_no_error(error);
	*ret_path = path;
	return mem;
}

static SvGuestMem *open_ram(char **ret_path)
{
	return open_ram_of(RAM_PAGES, ret_path);
}

/* A page-frame message of the given frame runs, for a staging area of
 * total pages. */
static GBytes *message(const struct sv_rimg_pfn_run *runs, guint n, guint64 total)
{
	struct sv_rimg_pfn_header h = { .nruns = n, .staging_pages = total };
	memcpy(h.magic, SV_RIMG_PFN_MAGIC, 8);
	GByteArray *b = g_byte_array_new();
	g_byte_array_append(b, (const guint8 *)&h, sizeof(h));
	g_byte_array_append(b, (const guint8 *)runs, n * sizeof(*runs));
	return g_byte_array_free_to_bytes(b);
}

static gboolean add(SvPagePlacer *p, GBytes *msg, GError **error)
{
	gsize len;
	const guint8 *d = g_bytes_get_data(msg, &len);
	return sv_page_placer_add(p, d, len, error);
}

/* Three slices, the frames scattered (staging page k at frame
 * RAM_PAGES - 1 - k in the first slice, then contiguous runs), sections
 * of 8 pages crossing slices and runs: every page at its frame, the rest
 * of RAM untouched. */
static void test_slices(void)
{
	g_autoptr(GArray) runs = NULL;
	g_autoptr(SvSnapshotReader) r = write_snapshot(&runs);
	g_autofree char *ram = NULL;
	g_autoptr(SvGuestMem) mem = open_ram(&ram);
	g_autoptr(SvPagePlacer) p = sv_page_placer_new(mem, r, runs);
	guint64 frame_of[NPAGES];
	g_autoptr(GError) error = NULL;
	/* slice 1: pages 0-9, one frame each, top of RAM downwards */
	struct sv_rimg_pfn_run s1[10];
	for (guint k = 0; k < 10; k++) {
		s1[k] = (struct sv_rimg_pfn_run){ .staging_page = k,
						  .pfn = RAM_PAGES - 1 - k,
						  .npages = 1 };
		frame_of[k] = RAM_PAGES - 1 - k;
	}
	/* slice 2: pages 10-26 in two runs; slice 3: pages 27-39 in one */
	const struct sv_rimg_pfn_run s2[] = { { 10, 2, 5 }, { 15, 20, 12 } };
	const struct sv_rimg_pfn_run s3[] = { { 27, 40, 13 } };
	for (guint k = 10; k < NPAGES; k++)
		frame_of[k] = k < 15 ? 2 + (k - 10) : k < 27 ? 20 + (k - 15) : 40 + (k - 27);
	g_autoptr(GBytes) m1 = message(s1, G_N_ELEMENTS(s1), NPAGES);
	g_autoptr(GBytes) m2 = message(s2, G_N_ELEMENTS(s2), NPAGES);
	g_autoptr(GBytes) m3 = message(s3, G_N_ELEMENTS(s3), NPAGES);
	g_assert_true(add(p, m1, &error));
	g_assert_false(sv_page_placer_done(p));
	g_assert_true(add(p, m2, &error));
	g_assert_true(add(p, m3, &error));
	g_assert_no_error(error);
	g_assert_true(sv_page_placer_done(p));
	g_assert_cmpuint(sv_page_placer_bytes(p), ==, NPAGES * PS);
	g_assert_cmpuint(sv_page_placer_frame_runs(p), ==, 13);
	g_clear_pointer(&p, sv_page_placer_free);

	g_autofree guint8 *got = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(ram, (char **)&got, &len, NULL));
	g_assert_cmpuint(len, ==, RAM_PAGES * PS);
	gboolean used[RAM_PAGES] = { 0 };
	guint8 want[PS];
	for (guint k = 0; k < NPAGES; k++) {
		fill_page(want, k + 1);
		g_assert_cmpmem(got + frame_of[k] * PS, PS, want, PS);
		used[frame_of[k]] = TRUE;
	}
	static const guint8 zero[PS];
	for (guint f = 0; f < RAM_PAGES; f++)
		if (!used[f])
			g_assert_cmpmem(got + f * PS, PS, zero, PS);
	g_unlink(ram);
}

/* What a hostile or confused restorer could send: refused, each with a
 * clear error, nothing written where it should not be. */
static void test_refusals(void)
{
	g_autoptr(GArray) runs = NULL;
	g_autoptr(SvSnapshotReader) r = write_snapshot(&runs);
	g_autofree char *ram = NULL;
	g_autoptr(SvGuestMem) mem = open_ram(&ram);
	const struct {
		struct sv_rimg_pfn_run run;
		guint64 total;
		const char *says;
	} bad[] = {
		{ { 1, 0, 4 }, NPAGES, "in order" },		    /* skips staging page 0 */
		{ { 0, 0, 0 }, NPAGES, "in order" },		    /* an empty run */
		{ { 0, 0, NPAGES + 1 }, NPAGES, "in order" },	    /* past the area */
		{ { 0, 0, 4 }, NPAGES - 1, "staged" },		    /* another area's size */
		{ { 0, G_MAXUINT64 / PS, 2 }, NPAGES, "in order" }, /* wraps around */
		{ { 0, RAM_PAGES - 1, 2 }, NPAGES, "" },	    /* past the end of RAM */
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(SvPagePlacer) p = sv_page_placer_new(mem, r, runs);
		g_autoptr(GBytes) m = message(&bad[i].run, 1, bad[i].total);
		g_autoptr(GError) error = NULL;
		g_assert_false(add(p, m, &error));
		g_assert_nonnull(error);
		g_assert_nonnull(strstr(error->message, bad[i].says));
	}
	/* a message cut short, and one that is no message */
	g_autoptr(SvPagePlacer) p = sv_page_placer_new(mem, r, runs);
	const struct sv_rimg_pfn_run one = { 0, 0, 4 };
	g_autoptr(GBytes) m = message(&one, 1, NPAGES);
	gsize len;
	const guint8 *d = g_bytes_get_data(m, &len);
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_page_placer_add(p, d, len - 1, &error));
	g_assert_nonnull(strstr(error->message, "malformed"));
	g_clear_error(&error);
	g_assert_false(sv_page_placer_add(p, (const guint8 *)"hello", 5, &error));
	g_assert_nonnull(strstr(error->message, "short"));
	g_unlink(ram);
}

/* restore --lazy: the pager's buffer scattered over guest RAM (buffer
 * page b at frame 8 + b * 7 mod its size); a page wanted before the
 * server starts comes first, flagged; every page comes once, whole, in a
 * slot, the slots taken back as the pager would; the pager's DONE ends
 * the server with the figures. */
static void test_lazy_server(void)
{
	const guint64 nb = SV_RIMG_LAZY_BUFFER_PAGES, base = 8;
	g_autoptr(GArray) runs = NULL;
	g_autoptr(SvSnapshotReader) r = write_snapshot(&runs);
	g_autofree char *ram = NULL;
	g_autoptr(SvGuestMem) mem = open_ram_of(base + nb, &ram);
	GArray *frames = g_array_new(FALSE, FALSE, sizeof(guint64));
	for (guint64 b = 0; b < nb; b++) {
		guint64 f = base + b * 7 % nb;
		g_array_append_val(frames, f);
	}
	int fd = g_open(ram, O_RDWR, 0);
	g_assert_cmpint(fd, >=, 0);
	guint8 *rw = mmap(NULL, (base + nb) * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	g_assert_true(rw != MAP_FAILED);
	close(fd);
	struct sv_rimg_lazy_ctl *ctl = (void *)(rw + g_array_index(frames, guint64, 0) * PS);
	ctl->want[0] = VMA + 30 * PS + 123;
	ctl->want_head = 1;
	g_autoptr(GError) error = NULL;
	SvLazyServer *s = sv_lazy_server_start(mem, r, runs, frames, SV_LAZY_HOST_STALL_US, &error);
	g_assert_no_error(error);
	guint got = 0, slots = 0;
	gboolean seen[NPAGES] = { FALSE };
	gint64 until = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	while (got < NPAGES) {
		g_assert_cmpint(g_get_monotonic_time(), <, until);
		for (guint k = 0; k < SV_RIMG_LAZY_SLOTS; k++) {
			guint64 seq = __atomic_load_n(&ctl->slot[k].seq, __ATOMIC_ACQUIRE);
			if (seq == ctl->consumed[k])
				continue;
			const struct sv_rimg_lazy_slot *sl = &ctl->slot[k];
			guint64 first = (sl->vaddr - VMA) / PS;
			g_assert_cmpuint(sl->npages, >, 0);
			g_assert_cmpuint(first + sl->npages, <=, NPAGES);
			/* the wanted page's chunk first, flagged */
			g_assert_true(slots++ || (first <= 30 && 30 < first + sl->npages));
			g_assert_true(slots > 1 || sl->wanted);
			for (guint64 j = 0; j < sl->npages; j++) {
				guint64 b = 1 + k * SV_RIMG_LAZY_SLOT_PAGES + j;
				guint8 want[PS];
				fill_page(want, first + j + 1);
				g_assert_false(seen[first + j]);
				seen[first + j] = TRUE;
				g_assert_cmpmem(rw + g_array_index(frames, guint64, b) * PS, PS,
						want, PS);
				got++;
			}
			__atomic_store_n(&ctl->consumed[k], seq, __ATOMIC_RELEASE);
		}
		g_usleep(100);
	}
	/* every page sent: the host says so */
	while (__atomic_load_n(&ctl->host_state, __ATOMIC_ACQUIRE) != SV_RIMG_LAZY_SENT_ALL)
		g_assert_cmpint(g_get_monotonic_time(), <, until);
	ctl->faults = 3;
	__atomic_store_n(&ctl->pager_state, SV_RIMG_LAZY_DONE, __ATOMIC_RELEASE);
	g_auto(SvLazyStats) st = { 0 };
	sv_lazy_server_finish(s, TRUE, &st);
	g_assert_true(st.done);
	g_assert_null(st.error);
	g_assert_cmpuint(st.bytes, ==, NPAGES * PS);
	g_assert_cmpuint(st.chunks, ==, slots);
	g_assert_cmpuint(st.wanted, ==, 1);
	g_assert_cmpuint(st.faults, ==, 3);
	munmap(rw, (base + nb) * PS);
	g_unlink(ram);
}

/* restore --lazy with a pager that never takes a slot back (it died, or
 * the restorer failed before starting it): the server gives up after its
 * stall time with an error saying so, and tells a pager that wakes up
 * after all (FAILED) - rather than wait for its DONE for ever (--detach
 * waits for the server). */
static void test_lazy_server_stall(void)
{
	const guint64 nb = SV_RIMG_LAZY_BUFFER_PAGES;
	g_autoptr(GArray) runs = NULL;
	g_autoptr(SvSnapshotReader) r = write_snapshot(&runs);
	g_autofree char *ram = NULL;
	g_autoptr(SvGuestMem) mem = open_ram_of(nb, &ram);
	GArray *frames = g_array_new(FALSE, FALSE, sizeof(guint64));
	for (guint64 b = 0; b < nb; b++)
		g_array_append_val(frames, b);
	g_autoptr(GError) error = NULL;
	gint64 t0 = g_get_monotonic_time();
	SvLazyServer *s = sv_lazy_server_start(mem, r, runs, frames, G_USEC_PER_SEC / 5, &error);
	g_assert_no_error(error);
	g_auto(SvLazyStats) st = { 0 };
	sv_lazy_server_finish(s, TRUE, &st);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 20 * G_USEC_PER_SEC);
	g_assert_false(st.done);
	g_assert_nonnull(st.error);
	g_assert_nonnull(strstr(st.error, "pager took no page"));
	g_autofree guint8 *got = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(ram, (char **)&got, &len, NULL));
	const struct sv_rimg_lazy_ctl *ctl = (const void *)got;
	g_assert_cmpuint(ctl->host_state, ==, SV_RIMG_LAZY_FAILED);
	g_unlink(ram);
}

/* A standby's mailbox (restore --pool): bytes written at an offset into
 * a list of frame runs land at the right frames across run edges, one
 * RAM view for every write; more than the frames hold is refused before
 * anything is written past them. */
static void test_write_frames(void)
{
	g_autofree char *ram = NULL;
	g_autoptr(SvGuestMem) mem = open_ram(&ram);
	g_autoptr(GArray) box = g_array_new(FALSE, FALSE, sizeof(struct sv_rimg_pfn_run));
	const struct sv_rimg_pfn_run r[] = { { 0, 10, 2 }, { 2, 30, 1 }, { 3, 5, 1 } };
	g_array_append_vals(box, r, G_N_ELEMENTS(r));
	static guint8 data[3 * PS];
	for (guint i = 0; i < sizeof(data); i++)
		data[i] = (guint8)(i * 7 + 1);
	g_autoptr(SvGuestRamWriter) w = sv_guest_ram_writer_new();
	g_autoptr(GError) error = NULL;
	/* from 100 bytes into the mailbox's page 1 to its page 3 */
	g_assert_true(sv_guest_ram_write_frames(w, mem, box, PS + 100, data, 2 * PS + 50, &error));
	g_assert_no_error(error);
	g_assert_true(sv_guest_ram_write_frames(w, mem, box, 0, "hdr", 3, &error));
	g_autofree guint8 *got = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(ram, (char **)&got, &len, NULL));
	g_assert_cmpmem(got + 10 * PS, 3, "hdr", 3);
	g_assert_cmpmem(got + 11 * PS + 100, PS - 100, data, PS - 100);
	g_assert_cmpmem(got + 30 * PS, PS, data + PS - 100, PS);
	g_assert_cmpmem(got + 5 * PS, 150, data + 2 * PS - 100, 150);
	g_assert_cmpint(got[5 * PS + 150], ==, 0);
	/* one byte more than the frames hold */
	g_assert_false(sv_guest_ram_write_frames(w, mem, box, 4 * PS - 1, data, 2, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_unlink(ram);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	tmp_dir = g_dir_make_tmp("snapvm-place-XXXXXX", NULL);
	g_test_add_func("/place-pages/slices", test_slices);
	g_test_add_func("/place-pages/refusals", test_refusals);
	g_test_add_func("/place-pages/lazy-server", test_lazy_server);
	g_test_add_func("/place-pages/lazy-server-stall", test_lazy_server_stall);
	g_test_add_func("/place-pages/write-frames", test_write_frames);
	int rc = g_test_run();
	g_autofree char *pages = g_build_filename(tmp_dir, "pages.svs", NULL);
	g_unlink(pages);
	g_rmdir(tmp_dir);
	return rc;
}
