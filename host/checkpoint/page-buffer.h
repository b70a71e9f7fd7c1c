/* SPDX-License-Identifier: MIT */
/*
 * page-buffer.h - host memory that receives a process's pages while its VM
 * is paused.
 *
 * Copying into memory the host has never touched costs ten times the copy
 * itself here (the kernel zeroes each fresh page, and an outer hypervisor may
 * back it lazily), so the buffer is asked for in huge pages and faulted in
 * before the pause, sized from the process's resident set; the pause then
 * only copies. Once a part is written to the snapshot it is given back.
 */
#ifndef SNAPVM_PAGE_BUFFER_H
#define SNAPVM_PAGE_BUFFER_H

#include <glib.h>

#include "base/guest-mem.h"

/* Which of the pages found at the pause to copy: may shorten runs (an
 * array of SvPageRun, capture.h; offsets then counted afresh) and *total.
 * Reads the pages in guest memory, which holds still while it runs. */
typedef gboolean (*SvPageSelectFn)(GArray *runs, guint64 *total, const SvGuestMem *mem,
				   gpointer data, GError **error);

typedef struct SvPageBuffer {
	guint8 *data;
	gsize len; /* bytes mapped */
	/* the first ready bytes may be stored into; the rest of a writer's
	 * file goes through sv_snapshot_writer_write_pages (host memory:
	 * all of it) */
	gsize ready;
	/* set: the buffer is the snapshot file itself, mapped by the writer
	 * (sv_snapshot_writer_map_pages), which owns the mapping */
	struct SvSnapshotWriter *writer;
	/* set: not every page found is copied (an incremental checkpoint) */
	SvPageSelectFn select;
	gpointer select_data;
} SvPageBuffer;

/* Maps len bytes (huge pages where the host gives them, or the writer's
 * file); populate: fault them all in now. Where the writer's file cannot
 * take the pages (compressed, a file system without fallocate), host
 * memory instead, and b->writer is cleared: the caller then writes the
 * pages to the file from it. A file that has no room is an error. */
gboolean sv_page_buffer_prepare(SvPageBuffer *b, gsize len, gboolean populate, GError **error);
/* The same, but of the writer's file only the first `ready` bytes (whole
 * chunks) are reserved and faulted in now; the rest is left for
 * sv_snapshot_writer_write_pages at the pause (b->ready says where it
 * starts). Host memory is faulted in whole. Called again for a larger
 * len (grown at the pause), nothing more is reserved. */
gboolean sv_page_buffer_prepare_part(SvPageBuffer *b, gsize len, gsize ready, GError **error);
/* The size to prepare for a process whose kernel reports a resident set
 * of rss bytes: that and a little room to grow (a buffer found short at
 * the pause grows then, by what it lacks). The guest's kernel reports rss,
 * and a hostile one could name any size: it is held to what the process's
 * VMAs span (mapped bytes; G_MAXUINT64 if unknown) and to the guest's RAM
 * (ram bytes), so the host never reserves more than the guest could give
 * it to copy. */
gsize sv_page_buffer_size_for(guint64 rss, guint64 mapped, guint64 ram);
/* Gives back [offset, offset + len): its contents are no longer needed
 * (a no-op for the writer's file). */
void sv_page_buffer_discard(SvPageBuffer *b, gsize offset, gsize len);
void sv_page_buffer_clear(SvPageBuffer *b);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvPageBuffer, sv_page_buffer_clear)

#endif
