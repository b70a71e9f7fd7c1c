/* SPDX-License-Identifier: MIT */
/* snapshot-writer.c - see snapshot-writer.h and snapshot-format.h. */
#include "host/snapshot/snapshot-writer.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "host/util/fast-hash.h"
#include <zstd.h>

#include "snapvm/le.h" /* sv_put_le* */
#include "base/errors.h"
#include "host/util/io-util.h"
#include "host/snapshot/snapshot-variant.h"
#include "host/snapshot/snapshot-writer-internal.h"

#define DEFAULT_CHUNK (4u << 20)
/* iovecs per writev call (the kernel's UIO_MAXIOV is 1024) */
#define MAX_IOV 1024

void sv_snapshot_writer_io_error(SvSnapshotWriter *w, const char *what, int e, GError **error)
{
	g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "%s %s: %s%s", what, w->tmp_path,
		    g_strerror(e), e == ENOSPC ? " (the disk is full; nothing was kept)" : "");
}

static gboolean write_bytes(SvSnapshotWriter *w, const void *data, gsize n, GError **error)
{
	if (!sv_write_all_fd(w->fd, data, n)) {
		sv_snapshot_writer_io_error(w, "writing", errno, error);
		return FALSE;
	}
	XXH3_128bits_update(w->digest, data, n);
	w->offset += n;
	return TRUE;
}

/* Writes n iovecs in order (partial writes and EINTR retried), folding them
 * into the file digest. */
static gboolean write_iov(SvSnapshotWriter *w, const struct iovec *iov, guint n, GError **error)
{
	struct iovec v[MAX_IOV];
	for (guint i = 0; i < n; i++)
		XXH3_128bits_update(w->digest, iov[i].iov_base, iov[i].iov_len);
	while (n) {
		guint k = MIN(n, MAX_IOV);
		gsize left = 0;
		memcpy(v, iov, k * sizeof(*v));
		for (guint i = 0; i < k; i++)
			left += v[i].iov_len;
		struct iovec *cur = v;
		guint cn = k;
		while (left) {
			ssize_t r = writev(w->fd, cur, (int)cn);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				sv_snapshot_writer_io_error(w, "writing", r == 0 ? EIO : errno,
							    error);
				return FALSE;
			}
			w->offset += r;
			left -= r;
			while (cn && (gsize)r >= cur->iov_len) {
				r -= cur->iov_len;
				cur++;
				cn--;
			}
			if (cn) {
				cur->iov_base = (guint8 *)cur->iov_base + r;
				cur->iov_len -= r;
			}
		}
		iov += k;
		n -= k;
	}
	return TRUE;
}

static void header_bytes(const SvSnapshotWriterOptions *o, guint8 out[SV_SNAP_HEADER_SIZE])
{
	memset(out, 0, SV_SNAP_HEADER_SIZE);
	memcpy(out, SV_SNAP_MAGIC, 8);
	sv_put_le16(out + 8, SV_SNAP_MAJOR);
	sv_put_le16(out + 10, SV_SNAP_MINOR);
	sv_put_le16(out + 12, o->arch);
	out[14] = o->byte_order;
	sv_put_le32(out + 16, o->page_size);
	sv_put_le32(out + 20, SV_SNAP_HEADER_SIZE);
	sv_put_le64(out + 56, XXH3_64bits(out, 56));
}

SvSnapshotWriter *sv_snapshot_writer_new(const char *path, const SvSnapshotWriterOptions *options,
					 GError **error)
{
	if (options->page_size < 1024 || (options->page_size & (options->page_size - 1)) ||
	    options->page_size > SV_SNAP_MAX_CHUNK) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "snapshot: page size %u is not a power of two in 1 KiB..64 MiB",
			    options->page_size);
		return NULL;
	}
	g_autoptr(SvSnapshotWriter) w = g_new0(SvSnapshotWriter, 1);
	w->fd = -1;
	w->opt = *options;
	if (!w->opt.chunk_bytes)
		w->opt.chunk_bytes = DEFAULT_CHUNK;
	w->opt.chunk_bytes = MAX(w->opt.chunk_bytes / w->opt.page_size, 1) * w->opt.page_size;
	w->path = g_strdup(path);
	w->tmp_path = g_strdup_printf("%s.tmp-XXXXXX", path);
	w->fd = g_mkstemp_full(w->tmp_path, O_RDWR | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot create %s: %s", w->tmp_path,
			    g_strerror(errno));
		g_clear_pointer(&w->tmp_path, g_free);
		return NULL;
	}
	w->digest = XXH3_createState();
	w->section_sum = XXH3_createState();
	XXH3_128bits_reset(w->digest);
	w->index = g_array_new(FALSE, FALSE, sizeof(IndexEntry));
	w->runs = g_array_new(FALSE, FALSE, sizeof(PageRun));
	w->segs = g_array_new(FALSE, FALSE, sizeof(Segment));
	w->buf = g_malloc(w->opt.chunk_bytes);
	w->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	guint8 hdr[SV_SNAP_HEADER_SIZE];
	header_bytes(&w->opt, hdr);
	if (!write_bytes(w, hdr, sizeof(hdr), error))
		return NULL;
	return g_steal_pointer(&w);
}

void sv_snapshot_writer_free(SvSnapshotWriter *w)
{
	if (!w)
		return;
	sv_snapshot_writer_unmap_pages(w);
	if (w->fd >= 0)
		close(w->fd);
	if (!w->finished && w->tmp_path)
		g_unlink(w->tmp_path);
	if (w->digest)
		XXH3_freeState(w->digest);
	if (w->section_sum)
		XXH3_freeState(w->section_sum);
	if (w->index)
		g_array_unref(w->index);
	if (w->runs)
		g_array_unref(w->runs);
	if (w->segs)
		g_array_unref(w->segs);
	g_free(w->buf);
	g_free(w->zbuf);
	if (w->files)
		g_hash_table_unref(w->files);
	g_free(w->path);
	g_free(w->tmp_path);
	g_free(w);
}

void sv_snapshot_section_header(guint8 h[SV_SNAP_SECTION_HEADER_SIZE], guint32 kind, guint32 flags,
				guint64 stored, guint64 raw, guint64 payload_sum)
{
	memset(h, 0, SV_SNAP_SECTION_HEADER_SIZE);
	memcpy(h, SV_SNAP_SECTION_MAGIC, 8);
	sv_put_le32(h + 8, kind);
	sv_put_le32(h + 12, flags);
	sv_put_le64(h + 16, stored);
	sv_put_le64(h + 24, raw);
	sv_put_le64(h + 32, payload_sum);
	sv_put_le64(h + 40, XXH3_64bits(h, 40));
}

/* Writes one section whose payload is n iovecs (stored bytes in all);
 * align: pad so the payload starts on a 4 KiB boundary. */
static gboolean write_section_iov(SvSnapshotWriter *w, guint32 kind, guint32 flags,
				  const struct iovec *payload, guint n, gsize stored, gsize raw,
				  gboolean align, GError **error)
{
	if (w->area) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "snapshot: the mapped pages must be committed before section %s",
			    sv_snap_section_name(kind));
		return FALSE;
	}
	if (align) {
		static const guint8 zeros[SV_SNAP_PAGE_ALIGN];
		guint64 payload_at = w->offset + SV_SNAP_SECTION_HEADER_SIZE;
		gsize pad = (SV_SNAP_PAGE_ALIGN - payload_at % SV_SNAP_PAGE_ALIGN) %
			    SV_SNAP_PAGE_ALIGN;
		if (pad && !write_bytes(w, zeros, pad, error))
			return FALSE;
	}
	IndexEntry e = { kind, flags, w->offset, stored, raw };
	guint8 h[SV_SNAP_SECTION_HEADER_SIZE];
	XXH64_hash_t sum;
	if (n == 1) {
		sum = XXH3_64bits(payload[0].iov_base, payload[0].iov_len);
	} else {
		XXH3_64bits_reset(w->section_sum);
		for (guint i = 0; i < n; i++)
			XXH3_64bits_update(w->section_sum, payload[i].iov_base, payload[i].iov_len);
		sum = XXH3_64bits_digest(w->section_sum);
	}
	sv_snapshot_section_header(h, kind, flags, stored, raw, sum);
	if (!write_bytes(w, h, sizeof(h), error) || !write_iov(w, payload, n, error))
		return FALSE;
	g_array_append_val(w->index, e);
	return TRUE;
}

static gboolean write_section(SvSnapshotWriter *w, guint32 kind, guint32 flags, const void *payload,
			      gsize stored, gsize raw, gboolean align, GError **error)
{
	struct iovec v = { (void *)payload, stored };
	return write_section_iov(w, kind, flags, &v, 1, stored, raw, align, error);
}

gboolean sv_snapshot_writer_add_metadata(SvSnapshotWriter *w, guint32 kind, GVariant *value,
					 GError **error)
{
	g_autoptr(GVariant) v = g_variant_ref_sink(value);
	const char *want = sv_snap_metadata_type(kind);
	if (!want || !g_variant_is_of_type(v, G_VARIANT_TYPE(want))) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "snapshot: section %s takes type %s, not %s",
			    sv_snap_section_name(kind), want ? want : "(not metadata)",
			    g_variant_get_type_string(v));
		return FALSE;
	}
	g_autoptr(GBytes) bytes = sv_snap_variant_to_le_bytes(v);
	gsize n;
	const void *data = g_bytes_get_data(bytes, &n);
	return write_section(w, kind, 0, data, n, n, FALSE, error);
}

void sv_snapshot_writer_set_parent(SvSnapshotWriter *w, const SvSnapshotReader *parent)
{
	w->parent = parent;
}

void sv_snapshot_writer_files_from_parent(const SvSnapshotWriter *w, guint *ret_files,
					  guint64 *ret_bytes)
{
	*ret_files = w->files_from_parent;
	*ret_bytes = w->bytes_from_parent;
}

char *sv_snapshot_writer_add_file(SvSnapshotWriter *w, GBytes *contents, GError **error)
{
	g_autofree char *sha = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, contents);
	if (g_hash_table_contains(w->files, sha))
		return g_steal_pointer(&sha);
	/* the same contents, by their sha256, as the parent's: a reader finds
	 * them there (snapshot-reader.h) */
	if (w->parent && sv_snapshot_reader_has_file(w->parent, sha)) {
		w->files_from_parent++;
		w->bytes_from_parent += g_bytes_get_size(contents);
		return g_steal_pointer(&sha);
	}
	gsize n;
	const void *data = g_bytes_get_data(contents, &n);
	if (!write_section(w, SV_SNAP_SECTION_FILE, 0, data, n, n, FALSE, error))
		return NULL;
	g_hash_table_insert(w->files, g_strdup(sha), GUINT_TO_POINTER(w->index->len - 1));
	return g_steal_pointer(&sha);
}

static gboolean flush_chunk(SvSnapshotWriter *w, GError **error)
{
	if (w->chunk_len == 0)
		return TRUE;
	/* the runs that point into this chunk get its section number */
	guint32 section = w->index->len;
	for (guint i = w->runs->len; i > 0; i--) {
		PageRun *r = &g_array_index(w->runs, PageRun, i - 1);
		if (r->section != G_MAXUINT32)
			break;
		r->section = section;
	}
	guint n = w->segs->len;
	g_autofree struct iovec *iov = g_new(struct iovec, n);
	for (guint i = 0; i < n; i++) {
		const Segment *sg = &g_array_index(w->segs, Segment, i);
		iov[i] = (struct iovec){ (void *)sg->p, sg->len };
	}
	gboolean ok;
	if (w->opt.zstd_level) {
		/* zstd wants its input in one piece */
		gsize cap = ZSTD_compressBound(w->opt.chunk_bytes);
		if (!w->zbuf)
			w->zbuf = g_malloc(w->opt.chunk_bytes + cap);
		const guint8 *in = iov[0].iov_base;
		if (n > 1) {
			gsize at = 0;
			for (guint i = 0; i < n; i++) {
				memcpy(w->zbuf + at, iov[i].iov_base, iov[i].iov_len);
				at += iov[i].iov_len;
			}
			in = w->zbuf;
		}
		guint8 *z = w->zbuf + w->opt.chunk_bytes;
		gsize zn = ZSTD_compress(z, cap, in, w->chunk_len, w->opt.zstd_level);
		if (ZSTD_isError(zn)) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "zstd: %s",
				    ZSTD_getErrorName(zn));
			ok = FALSE;
		} else {
			ok = write_section(w, SV_SNAP_SECTION_PAGES, SV_SNAP_SECTION_ZSTD, z, zn,
					   w->chunk_len, FALSE, error);
		}
	} else {
		guint64 start = w->offset;
		ok = write_section_iov(w, SV_SNAP_SECTION_PAGES, 0, iov, n, w->chunk_len,
				       w->chunk_len, TRUE, error);
		/* start writing it back now, so the fsync in finish has little
		 * left to wait for (a no-op on tmpfs; errors show at fsync) */
		if (ok)
			sync_file_range(w->fd, start, w->offset - start, SYNC_FILE_RANGE_WRITE);
	}
	g_array_set_size(w->segs, 0);
	w->chunk_len = 0;
	w->buf_len = 0;
	return ok;
}

/* Copies the pending pages that are still the caller's into buf: the
 * caller's memory is only borrowed for the length of a call. */
static void own_pending(SvSnapshotWriter *w)
{
	for (guint i = 0; i < w->segs->len; i++) {
		Segment *sg = &g_array_index(w->segs, Segment, i);
		if (sg->owned)
			continue;
		memcpy(w->buf + w->buf_len, sg->p, sg->len);
		sg->p = w->buf + w->buf_len;
		sg->owned = TRUE;
		w->buf_len += sg->len;
	}
}

/* Whether a page is all zeros: 64 bytes at a time, OR-ed without branches
 * inside a block (unrolled, and vectorized where the compiler can), so a
 * zero page costs about a memory read and a non-zero one usually stops in
 * its first block. */
gboolean sv_snapshot_page_is_zero(const guint8 *p, gsize n)
{
	const guint64 *q = (const guint64 *)(const void *)p;
	for (gsize i = 0; i < n / 8; i += 8) {
		guint64 acc = 0;
		for (guint j = 0; j < 8; j++)
			acc |= q[i + j];
		if (acc)
			return FALSE;
	}
	return TRUE;
}

static gboolean add_pages(SvSnapshotWriter *w, guint64 vaddr, const void *data, gsize npages,
			  gboolean keep_zero, GError **error)
{
	const guint32 ps = w->opt.page_size;
	if (vaddr % ps) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "snapshot: page address 0x%" G_GINT64_MODIFIER "x is not page-aligned",
			    vaddr);
		return FALSE;
	}
	if (w->area) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "snapshot: the mapped pages must be committed before more are added");
		return FALSE;
	}
	const guint8 *p = data;
	gboolean ok = TRUE;
	for (gsize i = 0; i < npages; i++, p += ps, vaddr += ps) {
		if (!keep_zero && sv_snapshot_page_is_zero(p, ps)) {
			w->pages_zero++;
			continue;
		}
		if (w->chunk_len + ps > w->opt.chunk_bytes && !(ok = flush_chunk(w, error)))
			break;
		PageRun *last = w->runs->len ? &g_array_index(w->runs, PageRun, w->runs->len - 1)
					     : NULL;
		if (last && last->section == G_MAXUINT32 &&
		    last->vaddr + (guint64)last->npages * ps == vaddr &&
		    last->offset + (guint64)last->npages * ps == w->chunk_len) {
			last->npages++;
		} else {
			PageRun r = { vaddr, 1, G_MAXUINT32, w->chunk_len };
			g_array_append_val(w->runs, r);
		}
		Segment *seg = w->segs->len ? &g_array_index(w->segs, Segment, w->segs->len - 1)
					    : NULL;
		if (seg && !seg->owned && seg->p + seg->len == p) {
			seg->len += ps;
		} else {
			Segment sg = { p, ps, FALSE };
			g_array_append_val(w->segs, sg);
		}
		w->chunk_len += ps;
		w->pages_stored++;
	}
	own_pending(w);
	return ok;
}

gboolean sv_snapshot_writer_add_pages(SvSnapshotWriter *w, guint64 vaddr, const void *data,
				      gsize npages, GError **error)
{
	return add_pages(w, vaddr, data, npages, FALSE, error);
}

gboolean sv_snapshot_writer_add_pages_all(SvSnapshotWriter *w, guint64 vaddr, const void *data,
					  gsize npages, GError **error)
{
	return add_pages(w, vaddr, data, npages, TRUE, error);
}

guint64 sv_snapshot_writer_pages_stored(const SvSnapshotWriter *w)
{
	return w->pages_stored;
}

guint64 sv_snapshot_writer_pages_zero(const SvSnapshotWriter *w)
{
	return w->pages_zero;
}

gboolean sv_snapshot_writer_finish(SvSnapshotWriter *w, GError **error)
{
	if (!flush_chunk(w, error))
		return FALSE;
	/* FILES: which FILE section holds which sha256 */
	GVariantBuilder files;
	g_variant_builder_init(&files, G_VARIANT_TYPE(SV_SNAP_FILES_TYPE));
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, w->files);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_variant_builder_add(&files, "(su)", (const char *)k, GPOINTER_TO_UINT(v));
	if (!sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_FILES,
					     g_variant_builder_end(&files), error))
		return FALSE;
	GVariantBuilder map;
	g_variant_builder_init(&map, G_VARIANT_TYPE(SV_SNAP_PAGEMAP_TYPE));
	for (guint i = 0; i < w->runs->len; i++) {
		PageRun *r = &g_array_index(w->runs, PageRun, i);
		g_variant_builder_add(&map, "(tuut)", r->vaddr, r->npages, r->section, r->offset);
	}
	if (!sv_snapshot_writer_add_metadata(w, SV_SNAP_SECTION_PAGEMAP,
					     g_variant_builder_end(&map), error))
		return FALSE;
	/* INDEX lists every section before it */
	GVariantBuilder idx;
	g_variant_builder_init(&idx, G_VARIANT_TYPE(SV_SNAP_INDEX_TYPE));
	for (guint i = 0; i < w->index->len; i++) {
		IndexEntry *e = &g_array_index(w->index, IndexEntry, i);
		g_variant_builder_add(&idx, "(uuttt)", e->kind, e->flags, e->offset, e->stored,
				      e->raw);
	}
	guint64 index_offset = w->offset;
	g_autoptr(GVariant) iv = g_variant_ref_sink(g_variant_builder_end(&idx));
	g_autoptr(GBytes) ib = sv_snap_variant_to_le_bytes(iv);
	gsize in;
	const void *id = g_bytes_get_data(ib, &in);
	if (!write_section(w, SV_SNAP_SECTION_INDEX, 0, id, in, in, FALSE, error))
		return FALSE;
	guint8 t[SV_SNAP_TRAILER_SIZE] = { 0 };
	memcpy(t, SV_SNAP_TRAILER_MAGIC, 8);
	sv_put_le64(t + 8, index_offset);
	sv_put_le64(t + 16, w->offset + SV_SNAP_TRAILER_SIZE);
	XXH128_hash_t d = XXH3_128bits_digest(w->digest);
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, d);
	memcpy(t + 24, c.digest, 16);
	sv_put_le64(t + 56, XXH3_64bits(t, 56));
	if (!write_bytes(w, t, sizeof(t), error))
		return FALSE;
	/* the direct page area may have been mapped larger than it was filled */
	if (w->direct_done && ftruncate(w->fd, (off_t)w->offset) < 0) {
		sv_snapshot_writer_io_error(w, "truncating", errno, error);
		return FALSE;
	}
	/* durable before it is visible: data, rename, then the directory */
	if (fsync(w->fd) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "fsync %s: %s", w->tmp_path,
			    g_strerror(errno));
		return FALSE;
	}
	if (g_rename(w->tmp_path, w->path) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "rename %s to %s: %s", w->tmp_path,
			    w->path, g_strerror(errno));
		return FALSE;
	}
	w->finished = TRUE;
	g_autofree char *dir = g_path_get_dirname(w->path);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return TRUE;
}
