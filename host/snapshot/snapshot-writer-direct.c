/* SPDX-License-Identifier: MIT */
/*
 * snapshot-writer-direct.c - page data copied once, straight into the
 * snapshot file (sv_snapshot_writer_map_pages, _commit_pages).
 *
 * The streamed path copies each page twice after the capture's own copy:
 * into the page cache by writev, and before that into the capture buffer.
 * Here the capture buffer is the file: its PAGES payloads are mapped
 * shared, one mapping per section, back to back in one range of address
 * space, reserved and faulted in (on both cores) before the VM is
 * paused. What is left after the resume is one pass of reading, on both
 * cores: finding zero pages, hashing pages, the section checksums, and in
 * order behind them the file digest and the headers written into the room
 * left for them. Zero pages stay where they are, out of the page map, as
 * holes in the file.
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
#include <sys/statvfs.h>
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

static void unmap_chunks(gsize lo, gsize hi, gpointer data)
{
	SvSnapshotWriter *w = data;
	const gsize chunk = w->opt.chunk_bytes;
	if (hi > lo)
		(void)madvise(w->area + lo * chunk, (hi - lo) * chunk, MADV_DONTNEED);
}

void sv_snapshot_writer_unmap_pages(SvSnapshotWriter *w)
{
	/* the pages' entries dropped on both cores first (munmap alone drops
	 * them on one: 100 ms a GiB); the pages stay in the file */
	if (w->area) {
		on_two_cores(w->area_len / w->opt.chunk_bytes, unmap_chunks, w);
		munmap(w->area, w->area_reserved);
	}
	w->area = NULL;
	w->area_len = w->area_reserved = w->area_ready = 0;
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

/* Reserves chunks [from, n), then faults them in on both cores when
 * populate; 0 or the errno of the reservation. Not side by side: a
 * thread faulting in what the other has just reserved made a 1 GiB
 * checkpoint's preparation 2-3x slower in bench/checkpoint.sh (both take
 * the same LRU and page cache locks), though it won alone. */
static int reserve_chunks(SvSnapshotWriter *w, gsize from, gsize n, gboolean populate)
{
	guint64 a = payload_at(w, from) - SV_SNAP_PAGE_ALIGN;
	guint64 e = payload_at(w, n - 1) + w->opt.chunk_bytes;
	int err = posix_fallocate(w->fd, (off_t)a, (off_t)(e - a));
	if (!err && populate) {
		PopulateRange r = { w, from };
		on_two_cores(n - from, populate_chunks, &r);
	}
	return err;
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

/* Whether the file system has free room for chunks [from, n), left
 * unreserved until they are written (and a little to spare). */
static gboolean room_for(const SvSnapshotWriter *w, gsize from, gsize n)
{
	struct statvfs s;
	if (from >= n)
		return TRUE;
	if (fstatvfs(w->fd, &s) < 0)
		return FALSE;
	guint64 need = payload_at(w, n) - payload_at(w, from);
	return (guint64)s.f_bavail * s.f_frsize >= need + need / 16 + (16u << 20);
}

guint8 *sv_snapshot_writer_map_pages(SvSnapshotWriter *w, gsize len, gboolean populate,
				     GError **error)
{
	gsize ready;
	return sv_snapshot_writer_map_pages_part(w, len, len, populate, &ready, error);
}

guint8 *sv_snapshot_writer_map_pages_part(SvSnapshotWriter *w, gsize len, gsize reserve,
					  gboolean populate, gsize *ret_ready, GError **error)
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
	gsize ready = w->area_ready / chunk;
	gsize want = MAX(MIN(n, (reserve + chunk - 1) / chunk), ready);
	if (!room_for(w, want, n))
		want = n;
	if (grow && n <= had && want <= ready) {
		*ret_ready = w->area_ready;
		return w->area;
	}
	if (!grow) {
		/* address space for half as much again, and 64 MiB: reserved,
		 * not mapped */
		gsize room = n + n / 2 + MAX((64u << 20) / chunk, 1);
		guint8 *base = mmap(NULL, room * chunk, PROT_NONE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (base == MAP_FAILED) {
			sv_snapshot_writer_io_error(w, "mapping", errno, error);
			return NULL;
		}
		w->area = base;
		w->area_reserved = room * chunk;
		had = 0;
	}
	/* mapped past the end of the file: nothing touches it before its room
	 * is reserved below, or it is written */
	if (!map_chunks(w, had, n, error)) {
		sv_snapshot_writer_unmap_pages(w);
		return NULL;
	}
	/* blocks (or tmpfs pages) reserved now: a store through the mapping
	 * into a full file system would be a SIGBUS, not an error */
	int e = want > ready ? reserve_chunks(w, ready, want, populate) : 0;
	if (e) {
		/* back to what the streamed path expects */
		sv_snapshot_writer_unmap_pages(w);
		(void)ftruncate(w->fd, (off_t)w->offset);
		sv_snapshot_writer_io_error(w, "reserving room for pages in", e, error);
		if (e == EOPNOTSUPP || e == EINVAL)
			(*error)->code = SV_ERROR_NOT_SUPPORTED;
		return NULL;
	}
	w->area_len = MAX(n, had) * chunk;
	w->area_ready = want * chunk;
	*ret_ready = w->area_ready;
	return w->area;
}

/* pwritev of all n iovecs at off (partial writes and EINTR retried); v is
 * used up. */
static gboolean pwrite_all(SvSnapshotWriter *w, struct iovec *v, guint n, guint64 off,
			   GError **error)
{
	while (n) {
		ssize_t r = pwritev(w->fd, v, (int)n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			sv_snapshot_writer_io_error(w, "writing", r == 0 ? EIO : errno, error);
			return FALSE;
		}
		off += (guint64)r;
		while (n && (gsize)r >= v->iov_len) {
			r -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n) {
			v->iov_base = (guint8 *)v->iov_base + r;
			v->iov_len -= (gsize)r;
		}
	}
	return TRUE;
}

#define WRITE_IOV 1024

gboolean sv_snapshot_writer_write_pages(SvSnapshotWriter *w, guint64 at, const struct iovec *iov,
					guint n, GError **error)
{
	const gsize chunk = w->opt.chunk_bytes;
	guint64 len = 0;
	for (guint i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (!w->area || at > w->area_len || len > w->area_len - at) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "snapshot: %" G_GUINT64_FORMAT " bytes at %" G_GUINT64_FORMAT
			    " lie outside the mapped pages",
			    len, at);
		return FALSE;
	}
	/* one pwritev per chunk (their payloads are apart in the file) */
	struct iovec v[WRITE_IOV];
	guint nv = 0;
	guint64 from = at;
	for (guint i = 0; i < n; i++) {
		const guint8 *p = iov[i].iov_base;
		for (gsize left = iov[i].iov_len; left;) {
			gsize take = MIN(left, chunk - at % chunk);
			v[nv++] = (struct iovec){ (void *)p, take };
			p += take;
			left -= take;
			at += take;
			if (nv == WRITE_IOV || at % chunk == 0) {
				if (!pwrite_all(w, v, nv,
						payload_at(w, from / chunk) + from % chunk, error))
					return FALSE;
				nv = 0;
				from = at;
			}
		}
	}
	return !nv || pwrite_all(w, v, nv, payload_at(w, from / chunk) + from % chunk, error);
}

/* The pages of the area as one pass over it reads them: each chunk's, in
 * blocks small enough to stay in the core's cache while the zero scan, the
 * page hashes and the chunk's checksum read them in turn. Chunks are taken
 * by two threads; the file digest, which must read them in order, follows
 * on the committing thread as they are done. */
#define SCAN_BLOCK (256u << 10)
#define NOT_IN_A_SPAN G_MAXSIZE

typedef struct {
	const SvSnapshotWriter *w;
	guint64 used;			/* bytes of the area the pages lie in */
	gsize nch;			/* chunks of them */
	const gsize *span_page;		/* per page of the area: its page of the spans */
	guint8 *zero;			/* per page of the area: all zeros */
	XXH128_hash_t *hash, zero_hash; /* per page of the spans, or NULL */
	guint64 *sums;			/* per chunk: its checksum */
	guint8 *done;			/* per chunk: its sum is in (under lock) */
	gsize next;			/* the next chunk to take (under lock) */
	GMutex lock;
	GCond cond;
} Pass;

static gsize chunk_len(const SvSnapshotWriter *w, guint64 used, gsize k)
{
	return MIN(w->opt.chunk_bytes, used - (guint64)k * w->opt.chunk_bytes);
}

/* Finds the zero pages of chunk k and, asked for, hashes the others in the
 * same read (the page hashes of a full checkpoint, snapshot-format.h, cost
 * no pass of their own), and checksums the chunk. */
static guint64 scan_chunk(Pass *p, gsize k, XXH3_state_t *sum)
{
	const SvSnapshotWriter *w = p->w;
	const guint32 ps = w->opt.page_size;
	const guint8 *base = w->area + k * w->opt.chunk_bytes;
	const gsize len = chunk_len(w, p->used, k), first = k * (w->opt.chunk_bytes / ps);
	XXH3_64bits_reset(sum);
	for (gsize b = 0; b < len; b += SCAN_BLOCK) {
		gsize blen = MIN(SCAN_BLOCK, len - b);
		for (gsize o = b; o < b + blen; o += ps) {
			gsize pg = first + o / ps, sp = p->span_page[pg];
			if (sp == NOT_IN_A_SPAN)
				continue;
			gboolean zero = sv_snapshot_page_is_zero(base + o, ps);
			p->zero[pg] = zero;
			if (p->hash)
				p->hash[sp] = zero ? p->zero_hash : XXH3_128bits(base + o, ps);
		}
		XXH3_64bits_update(sum, base + b, blen);
	}
	return XXH3_64bits_digest(sum);
}

/* Takes the next chunk not yet taken; p->nch when none is left. */
static gsize take_chunk(Pass *p)
{
	g_mutex_lock(&p->lock);
	gsize k = p->next < p->nch ? p->next++ : p->nch;
	g_mutex_unlock(&p->lock);
	return k;
}

static void scan_one(Pass *p, gsize k, XXH3_state_t *sum)
{
	guint64 s = scan_chunk(p, k, sum);
	g_mutex_lock(&p->lock);
	p->sums[k] = s;
	p->done[k] = TRUE;
	g_cond_broadcast(&p->cond);
	g_mutex_unlock(&p->lock);
}

static gpointer scan_thread(gpointer data)
{
	Pass *p = data;
	XXH3_state_t *sum = XXH3_createState();
	for (gsize k; (k = take_chunk(p)) < p->nch;)
		scan_one(p, k, sum);
	XXH3_freeState(sum);
	return NULL;
}

/* Whether chunk k is scanned, waiting for it when wait. */
static gboolean chunk_done(Pass *p, gsize k, gboolean wait)
{
	g_mutex_lock(&p->lock);
	while (wait && !p->done[k])
		g_cond_wait(&p->cond, &p->lock);
	gboolean done = p->done[k];
	g_mutex_unlock(&p->lock);
	return done;
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

/* Seals the chunks scanned, in order from *sealed (all of them when
 * wait); FALSE when writing a header failed. */
static gboolean seal_scanned(SvSnapshotWriter *w, Pass *p, gsize *sealed, gboolean wait,
			     GError **error)
{
	while (*sealed < p->nch && chunk_done(p, *sealed, wait)) {
		gsize k = (*sealed)++;
		if (!seal_chunk(w, k, chunk_len(w, p->used, k), p->sums[k], error))
			return FALSE;
	}
	return TRUE;
}

/* The page map of the spans, the zero pages (outside keep_zero spans) left
 * out of it. They stay where they are in the file (moving every page after
 * them down would be one more copy of the pages) as holes where the file
 * system can make them (file area offsets [lo, hi) of holes in *holes). */
static void map_spans(SvSnapshotWriter *w, const SvSnapshotPageSpan *spans, guint n, guint32 first,
		      const guint8 *zero, GArray *holes)
{
	const guint32 ps = w->opt.page_size;
	for (guint i = 0; i < n; i++) {
		const SvSnapshotPageSpan *s = &spans[i];
		for (gsize j = 0; j < s->npages; j++) {
			guint64 at = s->offset + j * ps, va = s->vaddr + (guint64)j * ps;
			if (!s->keep_zero && zero[at / ps]) {
				w->pages_zero++;
				guint64 *last = holes->len ? &g_array_index(holes, guint64,
									    holes->len - 1)
							   : NULL;
				/* never across two chunks: the header room lies between */
				if (last && *last == at && at % w->opt.chunk_bytes) {
					*last += ps;
				} else {
					guint64 h[2] = { at, at + ps };
					g_array_append_vals(holes, h, 2);
				}
				continue;
			}
			guint32 section = first + at / w->opt.chunk_bytes;
			guint64 off = at % w->opt.chunk_bytes;
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
			w->pages_stored++;
		}
	}
}

/* Gives the zero pages' room back (holes read as zeros: the checksums
 * hold); a file system that cannot only keeps them. */
static void punch_holes(SvSnapshotWriter *w, const GArray *holes)
{
	for (guint i = 0; i + 1 < holes->len; i += 2) {
		guint64 lo = g_array_index(holes, guint64, i),
			hi = g_array_index(holes, guint64, i + 1);
		guint64 at = payload_at(w, lo / w->opt.chunk_bytes) + lo % w->opt.chunk_bytes;
		if (fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)at,
			      (off_t)(hi - lo)) < 0)
			return;
	}
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
	const guint32 first = w->index->len;
	gsize npages = n ? (spans[n - 1].offset / ps + spans[n - 1].npages) : 0;
	g_autofree gsize *span_page = g_new(gsize, npages + 1);
	for (gsize i = 0; i < npages; i++)
		span_page[i] = NOT_IN_A_SPAN;
	for (guint i = 0, k = 0; i < n; i++)
		for (gsize j = 0; j < spans[i].npages; j++)
			span_page[spans[i].offset / ps + j] = k++;
	g_autofree guint8 *zero = g_new0(guint8, npages + 1);
	g_autofree guint8 *zeros = ret_hashes ? g_malloc0(ps) : NULL;
	guint64 used = (guint64)npages * ps;
	gsize nch = (used + w->opt.chunk_bytes - 1) / w->opt.chunk_bytes;
	g_autofree guint64 *sums = g_new0(guint64, nch + 1);
	g_autofree guint8 *done = g_new0(guint8, nch + 1);
	Pass p = { .w = w,
		   .used = used,
		   .nch = nch,
		   .span_page = span_page,
		   .zero = zero,
		   .hash = ret_hashes,
		   .sums = sums,
		   .done = done };
	if (zeros)
		p.zero_hash = XXH3_128bits(zeros, ps);
	g_mutex_init(&p.lock);
	g_cond_init(&p.cond);
	GThread *t = nch > 1 ? g_thread_try_new("sv-scan", scan_thread, &p, NULL) : NULL;
	XXH3_state_t *sum = XXH3_createState();
	gsize sealed = 0;
	gboolean ok = TRUE;
	for (gsize k; (k = take_chunk(&p)) < nch;) {
		scan_one(&p, k, sum);
		ok = ok && seal_scanned(w, &p, &sealed, FALSE, error);
	}
	ok = ok && seal_scanned(w, &p, &sealed, TRUE, error);
	XXH3_freeState(sum);
	if (t)
		g_thread_join(t);
	g_mutex_clear(&p.lock);
	g_cond_clear(&p.cond);
	g_autoptr(GArray) holes = g_array_new(FALSE, FALSE, sizeof(guint64));
	if (ok)
		map_spans(w, spans, n, first, zero, holes);
	sv_snapshot_writer_unmap_pages(w);
	w->direct_done = TRUE;
	if (ok)
		punch_holes(w, holes);
	if (ok && lseek(w->fd, (off_t)w->offset, SEEK_SET) < 0) {
		sv_snapshot_writer_io_error(w, "seeking in", errno, error);
		ok = FALSE;
	}
	return ok;
}
