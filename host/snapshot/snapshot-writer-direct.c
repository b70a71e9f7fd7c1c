/* SPDX-License-Identifier: MIT */
/*
 * snapshot-writer-direct.c - page data copied once, straight into the
 * snapshot file (sv_snapshot_writer_map_pages, _commit_pages).
 *
 * The streamed path copies each page twice after the capture's own copy:
 * into the page cache by writev, and before that into the capture buffer.
 * Here the capture buffer is the file: its PAGES payloads are mapped
 * shared, one mapping per section, back to back in one range of address
 * space, and faulted in (on both cores) before the VM is paused. What is
 * left after the resume is reading: finding zero pages, the section
 * checksums on one core while the other folds the file digest and writes
 * the headers into the room left for them.
 *
 * File layout (snapshot-format.h): the 64-byte header, then PAGES
 * section k with its payload at 4 KiB + k * (chunk + 4 KiB), its header in
 * the last 48 bytes of the zero padding before it; the last one may be
 * short. Everything else follows the last payload, streamed as usual.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/snapshot/snapshot-writer-internal.h"

/* Linux 5.14; older headers lack it, and older kernels refuse it (EINVAL),
 * which only means the pages fault in during the copy instead. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static guint64 payload_at(const SvSnapshotWriter *w, gsize k)
{
	return SV_SNAP_PAGE_ALIGN + (guint64)k * (w->opt.chunk_bytes + SV_SNAP_PAGE_ALIGN);
}

void sv_snapshot_writer_unmap_pages(SvSnapshotWriter *w)
{
	if (w->area)
		munmap(w->area, w->area_reserved);
	w->area = NULL;
	w->area_len = w->area_reserved = 0;
}

/* Runs fn(lo, hi, data) over [0, n) on two threads, split in halves. */
typedef void (*RangeFn)(gsize lo, gsize hi, gpointer data);
typedef struct {
	RangeFn fn;
	gsize lo, hi;
	gpointer data;
} Half;

static gpointer half_thread(gpointer p)
{
	Half *h = p;
	h->fn(h->lo, h->hi, h->data);
	return NULL;
}

static void on_two_cores(gsize n, RangeFn fn, gpointer data)
{
	Half second = { fn, n / 2, n, data };
	GThread *t = n > 1 ? g_thread_try_new("sv-writer", half_thread, &second, NULL) : NULL;
	fn(0, t ? n / 2 : n, data);
	if (t)
		g_thread_join(t);
}

typedef struct {
	SvSnapshotWriter *w;
	gsize first; /* chunk */
} PopulateRange;

static void populate_chunks(gsize lo, gsize hi, gpointer data)
{
	PopulateRange *r = data;
	const gsize chunk = r->w->opt.chunk_bytes;
	if (hi > lo)
		(void)madvise(r->w->area + (r->first + lo) * chunk, (hi - lo) * chunk,
			      MADV_POPULATE_WRITE);
}

/* Maps chunks [from, n) of the file into the reserved range. */
static gboolean map_chunks(SvSnapshotWriter *w, gsize from, gsize n, GError **error)
{
	const gsize chunk = w->opt.chunk_bytes;
	for (gsize k = from; k < n; k++) {
		void *p = mmap(w->area + k * chunk, chunk, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, w->fd, (off_t)payload_at(w, k));
		if (p == MAP_FAILED) {
			sv_snapshot_writer_io_error(w, "mapping", errno, error);
			return FALSE;
		}
	}
	return TRUE;
}

guint8 *sv_snapshot_writer_map_pages(SvSnapshotWriter *w, gsize len, gboolean populate,
				     GError **error)
{
	const gsize chunk = w->opt.chunk_bytes;
	if (w->opt.zstd_level || w->direct_done || w->index->len || w->runs->len || w->chunk_len ||
	    chunk % SV_SNAP_PAGE_ALIGN) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "snapshot: pages can be mapped only first, once, uncompressed and in "
			    "chunks of whole 4 KiB pages");
		return NULL;
	}
	gsize n = MAX((len + chunk - 1) / chunk, 1), had = w->area_len / chunk;
	/* grown where there is room: the chunks mapped (and faulted in)
	 * already stay as they are, so a buffer found short at the pause
	 * costs only its new pages */
	gboolean grow = w->area && n * chunk <= w->area_reserved;
	if (!grow)
		sv_snapshot_writer_unmap_pages(w);
	if (grow && n <= had)
		return w->area;
	/* blocks (or tmpfs pages) reserved now: a store through the mapping
	 * into a full file system would be a SIGBUS, not an error; grown,
	 * only past what is reserved already (at the pause: every page looked
	 * up again would lengthen it) */
	guint64 from = grow ? payload_at(w, had) - SV_SNAP_PAGE_ALIGN : 0;
	guint64 end = payload_at(w, n - 1) + chunk;
	int e = posix_fallocate(w->fd, (off_t)from, (off_t)(end - from));
	if (e) {
		/* back to what the streamed path expects */
		sv_snapshot_writer_unmap_pages(w);
		(void)ftruncate(w->fd, (off_t)w->offset);
		sv_snapshot_writer_io_error(w, "reserving room for pages in", e, error);
		if (e == EOPNOTSUPP || e == EINVAL)
			(*error)->code = SV_ERROR_NOT_SUPPORTED;
		return NULL;
	}
	if (!grow) {
		/* address space for half as much again, and 64 MiB: reserved,
		 * not mapped */
		gsize reserve = n + n / 2 + MAX((64u << 20) / chunk, 1);
		guint8 *base = mmap(NULL, reserve * chunk, PROT_NONE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (base == MAP_FAILED) {
			sv_snapshot_writer_io_error(w, "mapping", errno, error);
			return NULL;
		}
		w->area = base;
		w->area_reserved = reserve * chunk;
		had = 0;
	}
	if (!map_chunks(w, had, n, error)) {
		sv_snapshot_writer_unmap_pages(w);
		return NULL;
	}
	w->area_len = n * chunk;
	if (populate) {
		PopulateRange r = { w, had };
		on_two_cores(n - had, populate_chunks, &r);
	}
	return w->area;
}

typedef struct {
	const SvSnapshotWriter *w;
	const gsize *at;		/* per page of the spans: its page of the area */
	guint8 *zero;			/* per page of the area: all zeros */
	XXH128_hash_t *hash, zero_hash; /* per page of the spans, or NULL */
} ZeroScan;

/* Finds the zero pages and, asked for, hashes the others in the same read
 * of them: the page hashes of a full checkpoint (snapshot-format.h) cost
 * no pass over the pages of their own. */
static void scan_zero(gsize lo, gsize hi, gpointer data)
{
	ZeroScan *z = data;
	const guint32 ps = z->w->opt.page_size;
	for (gsize k = lo; k < hi; k++) {
		const guint8 *p = z->w->area + z->at[k] * ps;
		gboolean zero = sv_snapshot_page_is_zero(p, ps);
		z->zero[z->at[k]] = zero;
		if (z->hash)
			z->hash[k] = zero ? z->zero_hash : XXH3_128bits(p, ps);
	}
}

/* Section checksums, computed on a second thread ahead of the digest. */
typedef struct {
	const SvSnapshotWriter *w;
	gsize n;
	guint64 used;
	guint64 *sums;
	gsize done; /* under lock */
	GMutex lock;
	GCond cond;
} Sums;

static gsize chunk_len(const SvSnapshotWriter *w, guint64 used, gsize k)
{
	return MIN(w->opt.chunk_bytes, used - (guint64)k * w->opt.chunk_bytes);
}

static gpointer sum_thread(gpointer p)
{
	Sums *s = p;
	for (gsize k = 0; k < s->n; k++) {
		guint64 sum = XXH3_64bits(s->w->area + k * s->w->opt.chunk_bytes,
					  chunk_len(s->w, s->used, k));
		g_mutex_lock(&s->lock);
		s->sums[k] = sum;
		s->done = k + 1;
		g_cond_signal(&s->cond);
		g_mutex_unlock(&s->lock);
	}
	return NULL;
}

static gboolean check_spans(const SvSnapshotWriter *w, const SvSnapshotPageSpan *spans, guint n,
			    GError **error)
{
	const guint32 ps = w->opt.page_size;
	guint64 at = 0;
	for (guint i = 0; i < n; i++) {
		const SvSnapshotPageSpan *s = &spans[i];
		if (s->vaddr % ps || s->offset % ps || s->offset < at || s->offset > w->area_len ||
		    s->npages > (w->area_len - s->offset) / ps) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "snapshot: page span %u (0x%" G_GINT64_MODIFIER
				    "x, %" G_GSIZE_FORMAT " pages at %" G_GSIZE_FORMAT
				    ") is unaligned, out of order or outside the mapped pages",
				    i, s->vaddr, s->npages, s->offset);
			return FALSE;
		}
		at = s->offset + (guint64)s->npages * ps;
	}
	return TRUE;
}

/* Drops the zero pages (outside keep_zero spans) by moving the rest down,
 * and records the page map; returns the bytes kept. */
static guint64 compact(SvSnapshotWriter *w, const SvSnapshotPageSpan *spans, guint n,
		       const guint8 *zero)
{
	const guint32 ps = w->opt.page_size;
	const guint32 first = w->index->len;
	guint64 d = 0;
	for (guint i = 0; i < n; i++) {
		const SvSnapshotPageSpan *s = &spans[i];
		for (gsize j = 0; j < s->npages; j++) {
			gsize src = s->offset + j * ps;
			guint64 va = s->vaddr + (guint64)j * ps;
			if (!s->keep_zero && zero[src / ps]) {
				w->pages_zero++;
				continue;
			}
			if (d != src)
				memmove(w->area + d, w->area + src, ps);
			guint32 section = first + d / w->opt.chunk_bytes;
			guint64 off = d % w->opt.chunk_bytes;
			PageRun *last = w->runs->len
						? &g_array_index(w->runs, PageRun, w->runs->len - 1)
						: NULL;
			if (last && last->section == section &&
			    last->vaddr + (guint64)last->npages * ps == va &&
			    last->offset + (guint64)last->npages * ps == off) {
				last->npages++;
			} else {
				PageRun r = { va, 1, section, off };
				g_array_append_val(w->runs, r);
			}
			d += ps;
			w->pages_stored++;
		}
	}
	return d;
}

/* Writes chunk k's header into the room before its payload and folds
 * padding, header and payload into the file digest. */
static gboolean seal_chunk(SvSnapshotWriter *w, gsize k, gsize len, guint64 sum, GError **error)
{
	static const guint8 zeros[SV_SNAP_PAGE_ALIGN];
	guint64 at = payload_at(w, k) - SV_SNAP_SECTION_HEADER_SIZE;
	guint8 h[SV_SNAP_SECTION_HEADER_SIZE];
	sv_snapshot_section_header(h, SV_SNAP_SECTION_PAGES, 0, len, len, sum);
	if (pwrite(w->fd, h, sizeof(h), (off_t)at) != (ssize_t)sizeof(h)) {
		sv_snapshot_writer_io_error(w, "writing", errno ? errno : EIO, error);
		return FALSE;
	}
	XXH3_128bits_update(w->digest, zeros, at - w->offset);
	XXH3_128bits_update(w->digest, h, sizeof(h));
	XXH3_128bits_update(w->digest, w->area + k * w->opt.chunk_bytes, len);
	IndexEntry e = { SV_SNAP_SECTION_PAGES, 0, at, len, len };
	g_array_append_val(w->index, e);
	w->offset = payload_at(w, k) + len;
	/* start writing it back now, so the fsync in finish has little left
	 * to wait for (a no-op on tmpfs; errors show at fsync) */
	sync_file_range(w->fd, (off_t)at, (off_t)(w->offset - at), SYNC_FILE_RANGE_WRITE);
	return TRUE;
}

gboolean sv_snapshot_writer_commit_pages(SvSnapshotWriter *w, const SvSnapshotPageSpan *spans,
					 guint n, GError **error)
{
	return sv_snapshot_writer_commit_pages_hashed(w, spans, n, NULL, error);
}

gboolean sv_snapshot_writer_commit_pages_hashed(SvSnapshotWriter *w,
						const SvSnapshotPageSpan *spans, guint n,
						XXH128_hash_t *ret_hashes, GError **error)
{
	if (!w->area) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "snapshot: no mapped pages to commit");
		return FALSE;
	}
	if (!check_spans(w, spans, n, error))
		return FALSE;
	const guint32 ps = w->opt.page_size;
	gsize npages = n ? (spans[n - 1].offset / ps + spans[n - 1].npages) : 0, nspan = 0;
	for (guint i = 0; i < n; i++)
		nspan += spans[i].npages;
	g_autofree gsize *at = g_new(gsize, nspan + 1);
	for (guint i = 0, k = 0; i < n; i++)
		for (gsize j = 0; j < spans[i].npages; j++)
			at[k++] = spans[i].offset / ps + j;
	g_autofree guint8 *zero = g_new0(guint8, npages + 1);
	g_autofree guint8 *zeros = ret_hashes ? g_malloc0(ps) : NULL;
	ZeroScan z = { .w = w, .at = at, .zero = zero, .hash = ret_hashes };
	if (zeros)
		z.zero_hash = XXH3_128bits(zeros, ps);
	on_two_cores(nspan, scan_zero, &z);
	guint64 used = compact(w, spans, n, zero);
	gsize nch = (used + w->opt.chunk_bytes - 1) / w->opt.chunk_bytes;
	g_autofree guint64 *sums = g_new0(guint64, nch + 1);
	Sums s = { .w = w, .n = nch, .used = used, .sums = sums };
	g_mutex_init(&s.lock);
	g_cond_init(&s.cond);
	GThread *t = nch ? g_thread_new("sv-sums", sum_thread, &s) : NULL;
	gboolean ok = TRUE;
	for (gsize k = 0; k < nch && ok; k++) {
		g_mutex_lock(&s.lock);
		while (s.done <= k)
			g_cond_wait(&s.cond, &s.lock);
		guint64 sum = sums[k];
		g_mutex_unlock(&s.lock);
		ok = seal_chunk(w, k, chunk_len(w, used, k), sum, error);
	}
	if (t)
		g_thread_join(t);
	g_mutex_clear(&s.lock);
	g_cond_clear(&s.cond);
	sv_snapshot_writer_unmap_pages(w);
	w->direct_done = TRUE;
	if (ok && lseek(w->fd, (off_t)w->offset, SEEK_SET) < 0) {
		sv_snapshot_writer_io_error(w, "seeking in", errno, error);
		ok = FALSE;
	}
	return ok;
}
