/* SPDX-License-Identifier: MIT */
/* page-buffer.c - see page-buffer.h. */
#include "host/checkpoint/page-buffer.h"

#include <errno.h>
#include <sys/mman.h>

#include "base/errors.h"
#include "host/snapshot/snapshot-writer.h"

/* Linux 5.14; older headers lack it, and older kernels refuse it (EINVAL),
 * which only means the pages fault in during the copy instead. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define HUGE_PAGE (2u << 20)

/* Maps len bytes of the writer's file, the first ready of them reserved
 * (and faulted in when populate); FALSE with *error unset where the file
 * cannot take the pages, so host memory must. */
static gboolean map_file(SvPageBuffer *b, gsize len, gsize ready, gboolean populate, GError **error)
{
	g_autoptr(GError) local = NULL;
	b->data = sv_snapshot_writer_map_pages_part(b->writer, len, ready, populate, &b->ready,
						    &local);
	if (b->data) {
		b->len = len;
		return TRUE;
	}
	if (!g_error_matches(local, SV_ERROR, SV_ERROR_NOT_SUPPORTED) &&
	    !g_error_matches(local, SV_ERROR, SV_ERROR_INVALID_ARGUMENT))
		g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

static gboolean prepare(SvPageBuffer *b, gsize len, gsize ready, gboolean populate, GError **error)
{
	sv_page_buffer_clear(b);
	if (b->writer) {
		if (map_file(b, len, ready, populate, error))
			return TRUE;
		if (error && *error)
			return FALSE;
		/* the file cannot take the pages (compressed, or a file system
		 * without fallocate): host memory, which the writer streams
		 * from (every checkpoint's copy, full or incremental, and at
		 * the pause as before it) */
		b->writer = NULL;
	}
	len = (len + HUGE_PAGE - 1) & ~(gsize)(HUGE_PAGE - 1);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "no host memory for a copy of %" G_GSIZE_FORMAT " MiB of pages: %s",
			    len >> 20, g_strerror(errno));
		return FALSE;
	}
	/* transparent huge pages are only given on request here (madvise mode) */
	(void)madvise(p, len, MADV_HUGEPAGE);
	if (populate)
		(void)madvise(p, len, MADV_POPULATE_WRITE);
	b->data = p;
	b->len = b->ready = len;
	return TRUE;
}

gboolean sv_page_buffer_prepare(SvPageBuffer *b, gsize len, gboolean populate, GError **error)
{
	/* a file split before (prepare_part) keeps its split when grown */
	gboolean split = b->writer && b->data && b->ready < b->len;
	return prepare(b, len, split ? b->ready : len, populate, error);
}

gboolean sv_page_buffer_prepare_part(SvPageBuffer *b, gsize len, gsize ready, GError **error)
{
	return prepare(b, len, MIN(ready, len), TRUE, error);
}

gsize sv_page_buffer_size_for(guint64 rss, guint64 mapped, guint64 ram)
{
	guint64 n = MIN(rss, MIN(mapped, ram));
	return n ? n + n / 32 + (4u << 20) : 0;
}

void sv_page_buffer_discard(SvPageBuffer *b, gsize offset, gsize len)
{
	/* whole pages only: a neighbour's bytes may share the first or last */
	gsize start = (offset + 4095) & ~(gsize)4095, end = (offset + len) & ~(gsize)4095;
	if (b->data && !b->writer && end > start && end <= b->len)
		(void)madvise(b->data + start, end - start, MADV_DONTNEED);
}

void sv_page_buffer_clear(SvPageBuffer *b)
{
	if (b->data && !b->writer)
		munmap(b->data, b->len);
	b->data = NULL;
	b->len = b->ready = 0;
}
