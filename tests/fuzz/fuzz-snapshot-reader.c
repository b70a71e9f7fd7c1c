/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the snapshot reader on arbitrary bytes. Opens the input
 * as a file (the reader maps files), and when it is accepted, verifies it and
 * reads every page the page map names - nothing may crash, leak or hang.
 * Seeds: make-seeds writes valid snapshots (raw, zstd, empty).
 */
#include <glib.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/snapshot/snapshot-reader.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
	int fd = memfd_create("snapshot", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	g_autoptr(GError) error = NULL;
	SvSnapshotReader *r = sv_snapshot_reader_open(path, &error);
	if (r) {
		sv_snapshot_reader_verify(r, NULL);
		g_autoptr(GVariant) map = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_PAGEMAP);
		guint32 ps = sv_snapshot_reader_page_size(r);
		g_autofree guint8 *page = g_malloc(ps);
		GVariantIter it;
		guint64 vaddr, off;
		guint32 npages, section;
		g_variant_iter_init(&it, map);
		while (g_variant_iter_next(&it, "(tuut)", &vaddr, &npages, &section, &off))
			for (guint32 i = 0; i < npages && i < 64; i++)
				sv_snapshot_reader_read_page(r, vaddr + (guint64)i * ps, page,
							     NULL);
		sv_snapshot_reader_free(r);
	}
	close(fd);
	return 0;
}
