/* SPDX-License-Identifier: MIT */
/*
 * The copy buffer of a checkpoint (host/checkpoint/page-buffer.c) when it
 * is to be the snapshot file itself: where the file cannot take the pages
 * (compressed, a file system without fallocate) the copy goes to host
 * memory - at a full checkpoint's preparation as at an incremental one's
 * pause, which grows the buffer there - and the writer streams it; a file
 * with no room left is an error, never a fallback. And the size asked
 * for before the pause is held to what the guest could give.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "base/errors.h"
#include "host/checkpoint/page-buffer.h"
#include "host/snapshot/snapshot-writer.h"

#define PS 4096u

static SvSnapshotWriter *writer_at(const char *path, int zstd_level)
{
	SvSnapshotWriterOptions o = {
		.arch = SV_SNAP_ARCH_X86_64,
		.byte_order = SV_SNAP_LITTLE_ENDIAN,
		.page_size = PS,
		.zstd_level = zstd_level,
	};
	g_autoptr(GError) error = NULL;
	SvSnapshotWriter *w = sv_snapshot_writer_new(path, &o, &error);
	g_assert_no_error(error);
	return w;
}

/* A file that cannot be mapped (here: compressed, which the writer
 * refuses as it refuses a file system without fallocate): host memory,
 * writable, and the buffer no longer the writer's - for the first
 * preparation and for the pause's growing alike. */
static void test_file_refused_falls_back(void)
{
	g_autofree char *dir = g_dir_make_tmp("test-page-buffer-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "z.svs", NULL);
	g_autoptr(SvSnapshotWriter) w = writer_at(path, 3);
	g_autoptr(GError) error = NULL;
	for (int populate = 1; populate >= 0; populate--) {
		g_auto(SvPageBuffer) b = { .writer = w };
		g_assert_true(sv_page_buffer_prepare(&b, 8 * PS, populate, &error));
		g_assert_no_error(error);
		g_assert_null(b.writer);
		g_assert_cmpuint(b.len, >=, 8 * PS);
		memset(b.data, 0x5a, 8 * PS);
		/* grown at the pause, still in host memory */
		g_assert_true(sv_page_buffer_prepare(&b, 64 * PS, FALSE, &error));
		g_assert_cmpuint(b.len, >=, 64 * PS);
		memset(b.data, 0xa5, 64 * PS);
	}
	sv_snapshot_writer_free(g_steal_pointer(&w));
	g_rmdir(dir);
}

/* The file that can take the pages is the buffer itself. */
static void test_file_taken(void)
{
	g_autofree char *dir = g_dir_make_tmp("test-page-buffer-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "raw.svs", NULL);
	g_autoptr(SvSnapshotWriter) w = writer_at(path, 0);
	g_autoptr(GError) error = NULL;
	g_auto(SvPageBuffer) b = { .writer = w };
	g_assert_true(sv_page_buffer_prepare(&b, 8 * PS, TRUE, &error));
	g_assert_no_error(error);
	g_assert_true(b.writer == w);
	memset(b.data, 0x11, 8 * PS);
	sv_page_buffer_clear(&b);
	sv_snapshot_writer_free(g_steal_pointer(&w));
	g_rmdir(dir);
}

/* Prepared in part (a full checkpoint's, prepare_part): only the first
 * whole chunks are reserved, and growing at the pause reserves nothing
 * more - the rest is written at the pause (capture.c). Host memory, where
 * the file cannot take the pages, is ready whole. */
static void test_file_split(void)
{
	const gsize mib = 1u << 20;
	g_autofree char *dir = g_dir_make_tmp("test-page-buffer-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "split.svs", NULL);
	g_autoptr(SvSnapshotWriter) w = writer_at(path, 0);
	g_autoptr(GError) error = NULL;
	g_auto(SvPageBuffer) b = { .writer = w };
	g_assert_true(sv_page_buffer_prepare_part(&b, 16 * mib, 5 * mib, &error));
	g_assert_no_error(error);
	g_assert_true(b.writer == w);
	g_assert_cmpuint(b.ready, ==, 8 * mib); /* two 4 MiB chunks */
	memset(b.data, 0x11, b.ready);
	g_assert_true(sv_page_buffer_prepare(&b, 24 * mib, FALSE, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(b.len, ==, 24 * mib);
	g_assert_cmpuint(b.ready, ==, 8 * mib);
	/* the writer's temporary file, the only one there */
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autofree char *tmp = g_build_filename(dir, g_dir_read_name(d), NULL);
	GStatBuf st;
	g_assert_cmpint(g_stat(tmp, &st), ==, 0);
	g_assert_cmpuint((guint64)st.st_blocks * 512, <=, 8 * mib + 3 * PS);
	sv_page_buffer_clear(&b);
	sv_snapshot_writer_free(g_steal_pointer(&w));
	g_autofree char *zpath = g_build_filename(dir, "z.svs", NULL);
	g_autoptr(SvSnapshotWriter) z = writer_at(zpath, 3);
	g_auto(SvPageBuffer) h = { .writer = z };
	g_assert_true(sv_page_buffer_prepare_part(&h, 16 * mib, 5 * mib, &error));
	g_assert_null(h.writer);
	g_assert_cmpuint(h.ready, ==, h.len);
	sv_page_buffer_clear(&h);
	sv_snapshot_writer_free(g_steal_pointer(&z));
	g_rmdir(dir);
}

/* No room for the pages in the file (here: RLIMIT_FSIZE, as a full disk
 * would be): an error that says so, not a silent copy to host memory. */
static void test_no_room_is_an_error(void)
{
	if (g_test_subprocess()) {
		signal(SIGXFSZ, SIG_IGN);
		g_autofree char *dir = g_dir_make_tmp("test-page-buffer-XXXXXX", NULL);
		g_autofree char *path = g_build_filename(dir, "big.svs", NULL);
		g_autoptr(SvSnapshotWriter) w = writer_at(path, 0);
		struct rlimit lim = { 1u << 20, 1u << 20 };
		g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
		g_autoptr(GError) error = NULL;
		g_auto(SvPageBuffer) b = { .writer = w };
		g_assert_false(sv_page_buffer_prepare(&b, 64u << 20, TRUE, &error));
		g_assert_nonnull(error);
		g_assert_false(g_error_matches(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED));
		g_assert_true(b.writer == w);
		g_assert_null(b.data);
		g_printerr("%s\n", error->message);
		sv_snapshot_writer_free(g_steal_pointer(&w));
		g_rmdir(dir);
		return;
	}
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_test_trap_assert_stderr("*reserving room for pages in*");
}

/* The size prepared before the pause follows the resident set the guest's
 * kernel reports, but never past what the process's VMAs span or the
 * guest's RAM holds: a hostile kernel's 4 PiB is not asked of the host. */
static void test_size_capped(void)
{
	const guint64 mib = 1u << 20, slack = 4 * mib;
	/* honest: the resident set and 1/32 more */
	g_assert_cmpuint(sv_page_buffer_size_for(64 * mib, 128 * mib, 2048 * mib), ==,
			 64 * mib + 2 * mib + slack);
	/* more than the VMAs span */
	g_assert_cmpuint(sv_page_buffer_size_for(1ull << 52, 256 * mib, 2048 * mib), ==,
			 256 * mib + 8 * mib + slack);
	/* VMAs unknown or as hostile as the resident set: the guest's RAM */
	g_assert_cmpuint(sv_page_buffer_size_for(1ull << 52, G_MAXUINT64, 512 * mib), ==,
			 512 * mib + 16 * mib + slack);
	g_assert_cmpuint(sv_page_buffer_size_for(G_MAXUINT64, G_MAXUINT64, 512 * mib), ==,
			 512 * mib + 16 * mib + slack);
	g_assert_cmpuint(sv_page_buffer_size_for(0, 128 * mib, 512 * mib), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/page-buffer/file-refused-falls-back", test_file_refused_falls_back);
	g_test_add_func("/page-buffer/file-taken", test_file_taken);
	g_test_add_func("/page-buffer/file-split", test_file_split);
	g_test_add_func("/page-buffer/no-room-is-an-error", test_no_room_is_an_error);
	g_test_add_func("/page-buffer/size-capped", test_size_capped);
	return g_test_run();
}
