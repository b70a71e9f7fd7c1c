/* SPDX-License-Identifier: MIT */
/* make-seeds DIR - valid snapshots to start fuzzing from. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "host/snapshot/snapshot-writer.h"

static void write_seed(const char *dir, const char *name, int zstd, guint npages)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	SvSnapshotWriterOptions o = { .arch = SV_SNAP_ARCH_X86_64,
				      .byte_order = SV_SNAP_LITTLE_ENDIAN,
				      .page_size = 4096,
				      .zstd_level = zstd,
				      .chunk_bytes = 2 * 4096 };
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
	g_assert_no_error(error);
	sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_TASK,
					g_variant_new_parsed("@a{sv} {'pid': <@u 1>}"), &error);
	sv_snapshot_writer_add_metadata(
		w, SV_SNAP_SECTION_VMAS,
		g_variant_new_parsed("@a(ttuttss) [(0x10000, 0x20000, 3, 0x73, 0, '', '')]"),
		&error);
	g_autoptr(GBytes) file = g_bytes_new_static("abc", 3);
	g_free(sv_snapshot_writer_add_file(w, file, &error));
	guint8 page[4096];
	for (guint i = 0; i < npages; i++) {
		memset(page, (int)(i + 1), sizeof(page));
		sv_snapshot_writer_add_pages(w, 0x10000 + i * 4096ull, page, 1, &error);
	}
	g_assert_true(sv_snapshot_writer_finish(w, &error));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make-seeds DIR\n");
		return 2;
	}
	g_mkdir_with_parents(argv[1], 0755);
	write_seed(argv[1], "raw.svs", 0, 5);
	write_seed(argv[1], "zstd.svs", 3, 5);
	write_seed(argv[1], "empty.svs", 0, 0);
	return 0;
}
