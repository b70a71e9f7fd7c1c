/* SPDX-License-Identifier: MIT */
/* snapshot-reader.c - see snapshot-reader.h and snapshot-format.h. */
#include "host/snapshot/snapshot-reader.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "host/util/fast-hash.h"
#include <zstd.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "base/errors.h"
#include "host/snapshot/snapshot-chain.h"
#include "host/snapshot/snapshot-variant.h"

typedef struct {
	guint64 vaddr;
	guint32 npages;
	guint32 section;
	guint64 offset;
} PageRun;

typedef struct {
	guint64 start, end;
} VmaRange;

struct SvSnapshotReader {
	char *path;
	const guint8 *map;
	gsize size;
	guint16 arch, minor;
	guint32 page_size;
	GArray *sections; /* SvSnapshotSection */
	GVariant *meta[SV_SNAP_SECTION_KIND_MAX_];
	guint8 *checked;      /* per section: payload checksum verified */
	GArray *runs;	      /* PageRun, sorted by vaddr */
	GArray *vmas;	      /* VmaRange, sorted, not overlapping; NULL: no VMAS */
	GHashTable *files;    /* sha256 -> section index */
	guint cached_section; /* decompressed chunk cache */
	GBytes *cached;
	guint64 pages_stored;
	/* an incremental snapshot's parent: its sections (and its parent's)
	 * are numbered on from this file's, in the page map */
	SvSnapshotReader *parent;
};

/*
 * Fuzzing builds (the libFuzzer convention's macro) accept any checksum, so
 * the fuzzer gets past them to the structural checks behind; never in a
 * build anyone uses.
 */
static gboolean sums_match(guint64 stored, guint64 computed)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	return TRUE;
#else
	return stored == computed;
#endif
}

/* One error format for everything: file, section, offset, what. */
static gboolean fail(GError **error, const SvSnapshotReader *r, const char *section, guint64 offset,
		     const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static gboolean fail(GError **error, const SvSnapshotReader *r, const char *section, guint64 offset,
		     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "snapshot %s is damaged or not a snapshot: %s at offset %" G_GUINT64_FORMAT
		    ": %s",
		    r->path, section, offset, what);
	return FALSE;
}

void sv_snapshot_reader_free(SvSnapshotReader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap((void *)r->map, r->size);
	for (guint i = 0; i < SV_SNAP_SECTION_KIND_MAX_; i++)
		g_clear_pointer(&r->meta[i], g_variant_unref);
	g_clear_pointer(&r->sections, g_array_unref);
	g_clear_pointer(&r->runs, g_array_unref);
	g_clear_pointer(&r->vmas, g_array_unref);
	g_clear_pointer(&r->files, g_hash_table_unref);
	g_clear_pointer(&r->cached, g_bytes_unref);
	g_clear_pointer(&r->parent, sv_snapshot_reader_free);
	g_free(r->checked);
	g_free(r->path);
	g_free(r);
}

static gboolean check_header(SvSnapshotReader *r, GError **error)
{
	const guint8 *h = r->map;
	if (memcmp(h, SV_SNAP_MAGIC, 8) != 0)
		return fail(error, r, "header", 0, "no snapvm snapshot magic");
	guint16 major = sv_get_le16(h + 8);
	r->minor = sv_get_le16(h + 10);
	if (!sums_match(sv_get_le64(h + 56), XXH3_64bits(h, 56)))
		return fail(error, r, "header", 0, "header checksum mismatch");
	if (major > SV_SNAP_MAJOR) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "snapshot %s has format %u.%u, made by a newer snapvm; this snapvm reads "
			    "format %u.x: upgrade snapvm",
			    r->path, major, r->minor, SV_SNAP_MAJOR);
		return FALSE;
	}
	if (major < 1)
		return fail(error, r, "header", 8, "format major %u does not exist", major);
	r->arch = sv_get_le16(h + 12);
	if (!sv_snap_arch_name(r->arch))
		return fail(error, r, "header", 12, "unknown architecture number %u", r->arch);
	if (h[14] != SV_SNAP_LITTLE_ENDIAN && h[14] != SV_SNAP_BIG_ENDIAN)
		return fail(error, r, "header", 14, "byte order %u is neither little nor big",
			    h[14]);
	r->page_size = sv_get_le32(h + 16);
	if (r->page_size < 1024 || r->page_size > SV_SNAP_MAX_CHUNK ||
	    (r->page_size & (r->page_size - 1)))
		return fail(error, r, "header", 16, "page size %u is not a power of two in range",
			    r->page_size);
	if (sv_get_le32(h + 20) != SV_SNAP_HEADER_SIZE)
		return fail(error, r, "header", 20, "header size %u", sv_get_le32(h + 20));
	return TRUE;
}

/* Reads and checks the section header at off; fills s. */
static gboolean read_section_header(SvSnapshotReader *r, guint64 off, guint64 limit,
				    SvSnapshotSection *s, GError **error)
{
	if (off < SV_SNAP_HEADER_SIZE || off > limit || limit - off < SV_SNAP_SECTION_HEADER_SIZE)
		return fail(error, r, "section header", off, "outside the file's section area");
	const guint8 *h = r->map + off;
	if (memcmp(h, SV_SNAP_SECTION_MAGIC, 8) != 0)
		return fail(error, r, "section header", off, "no section magic");
	if (!sums_match(sv_get_le64(h + 40), XXH3_64bits(h, 40)))
		return fail(error, r, "section header", off, "header checksum mismatch");
	s->kind = sv_get_le32(h + 8);
	s->flags = sv_get_le32(h + 12);
	s->stored = sv_get_le64(h + 16);
	s->raw = sv_get_le64(h + 24);
	s->offset = off;
	const char *name = sv_snap_section_name(s->kind);
	if (s->stored > limit - off - SV_SNAP_SECTION_HEADER_SIZE)
		return fail(error, r, name, off,
			    "payload of %" G_GUINT64_FORMAT " bytes runs past the end", s->stored);
	if (s->flags & ~SV_SNAP_SECTION_ZSTD)
		return fail(error, r, name, off, "unknown flags 0x%x", s->flags);
	if (!(s->flags & SV_SNAP_SECTION_ZSTD) && s->raw != s->stored)
		return fail(error, r, name, off, "raw length differs from stored length");
	if ((s->flags & SV_SNAP_SECTION_ZSTD) &&
	    (s->kind != SV_SNAP_SECTION_PAGES || s->raw > SV_SNAP_MAX_CHUNK))
		return fail(error, r, name, off, "compression only for PAGES of at most %u bytes",
			    SV_SNAP_MAX_CHUNK);
	return TRUE;
}

static const guint8 *payload(const SvSnapshotReader *r, const SvSnapshotSection *s)
{
	return r->map + s->offset + SV_SNAP_SECTION_HEADER_SIZE;
}

static gboolean check_payload(SvSnapshotReader *r, const SvSnapshotSection *s, GError **error)
{
	guint64 want = sv_get_le64(r->map + s->offset + 32);
	if (!sums_match(want, XXH3_64bits(payload(r, s), s->stored)))
		return fail(error, r, sv_snap_section_name(s->kind), s->offset,
			    "checksum mismatch");
	return TRUE;
}

static GVariant *parse_metadata(SvSnapshotReader *r, const SvSnapshotSection *s, GError **error)
{
	const char *type = sv_snap_metadata_type(s->kind);
	if (s->stored > SV_SNAP_MAX_METADATA) {
		fail(error, r, sv_snap_section_name(s->kind), s->offset,
		     "%" G_GUINT64_FORMAT " bytes of metadata (limit %u)", s->stored,
		     SV_SNAP_MAX_METADATA);
		return NULL;
	}
	if (!check_payload(r, s, error))
		return NULL;
	g_autoptr(GBytes) b = g_bytes_new(payload(r, s), s->stored);
	GVariant *v = sv_snap_variant_from_le_bytes(type, b);
	if (!v)
		fail(error, r, sv_snap_section_name(s->kind), s->offset,
		     "not in GVariant normal form, which is all snapvm writes: the file is "
		     "damaged or was not written by snapvm");
	return v;
}

static gboolean load_index(SvSnapshotReader *r, guint64 index_off, GError **error)
{
	guint64 end = r->size - SV_SNAP_TRAILER_SIZE;
	SvSnapshotSection is;
	if (!read_section_header(r, index_off, end, &is, error))
		return FALSE;
	if (is.kind != SV_SNAP_SECTION_INDEX ||
	    index_off + SV_SNAP_SECTION_HEADER_SIZE + is.stored != end)
		return fail(error, r, "INDEX", index_off,
			    "the trailer does not point at the index");
	g_autoptr(GVariant) idx = parse_metadata(r, &is, error);
	if (!idx)
		return FALSE;
	gsize n = g_variant_n_children(idx);
	if (n > SV_SNAP_MAX_SECTIONS)
		return fail(error, r, "INDEX", index_off, "%" G_GSIZE_FORMAT " sections (limit %u)",
			    n, SV_SNAP_MAX_SECTIONS);
	r->sections = g_array_sized_new(FALSE, FALSE, sizeof(SvSnapshotSection), n + 1);
	guint64 prev_end = SV_SNAP_HEADER_SIZE;
	for (gsize i = 0; i < n; i++) {
		SvSnapshotSection e, h;
		g_variant_get_child(idx, i, "(uuttt)", &e.kind, &e.flags, &e.offset, &e.stored,
				    &e.raw);
		const char *name = sv_snap_section_name(e.kind);
		if (e.kind == SV_SNAP_SECTION_INDEX ||
		    (e.kind >= SV_SNAP_SECTION_KIND_MAX_ && r->minor <= SV_SNAP_MINOR) ||
		    e.kind == 0)
			return fail(error, r, "INDEX", index_off,
				    "entry %" G_GSIZE_FORMAT " has unknown section kind %u", i,
				    e.kind);
		/* sections in file order, not overlapping; only PAGES alignment
		 * padding (under 4 KiB) between them */
		if (e.offset < prev_end || e.offset - prev_end >= SV_SNAP_PAGE_ALIGN)
			return fail(
				error, r, name, e.offset,
				"section out of order, overlapping, or after a gap (entry %" G_GSIZE_FORMAT
				")",
				i);
		if (!read_section_header(r, e.offset, index_off, &h, error))
			return FALSE;
		if (h.kind != e.kind || h.flags != e.flags || h.stored != e.stored ||
		    h.raw != e.raw)
			return fail(error, r, name, e.offset,
				    "section header disagrees with the index");
		prev_end = e.offset + SV_SNAP_SECTION_HEADER_SIZE + e.stored;
		g_array_append_val(r->sections, e);
	}
	if (index_off < prev_end || index_off - prev_end >= SV_SNAP_PAGE_ALIGN)
		return fail(error, r, "INDEX", index_off, "index does not follow the last section");
	g_array_append_val(r->sections, is);
	r->checked = g_new0(guint8, r->sections->len);
	return TRUE;
}

static gboolean load_metadata(SvSnapshotReader *r, GError **error)
{
	for (guint i = 0; i + 1 < r->sections->len; i++) {
		const SvSnapshotSection *s = &g_array_index(r->sections, SvSnapshotSection, i);
		if (s->kind >= SV_SNAP_SECTION_KIND_MAX_ || !sv_snap_metadata_type(s->kind))
			continue;
		if (r->meta[s->kind])
			return fail(error, r, sv_snap_section_name(s->kind), s->offset,
				    "a second %s section", sv_snap_section_name(s->kind));
		r->meta[s->kind] = parse_metadata(r, s, error);
		if (!r->meta[s->kind])
			return FALSE;
		r->checked[i] = 1;
	}
	if (!r->meta[SV_SNAP_SECTION_PAGEMAP] || !r->meta[SV_SNAP_SECTION_FILES])
		return fail(error, r, "INDEX",
			    sv_snapshot_reader_file_size(r) - SV_SNAP_TRAILER_SIZE, "no %s section",
			    r->meta[SV_SNAP_SECTION_FILES] ? "PAGEMAP" : "FILES");
	return TRUE;
}

static const SvSnapshotSection *section_at(const SvSnapshotReader *r, guint i)
{
	return &g_array_index(r->sections, SvSnapshotSection, i);
}

static gboolean check_files(SvSnapshotReader *r, GError **error)
{
	GVariant *files = r->meta[SV_SNAP_SECTION_FILES];
	r->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GVariantIter it;
	const char *sha;
	guint32 idx;
	g_variant_iter_init(&it, files);
	while (g_variant_iter_next(&it, "(&su)", &sha, &idx)) {
		if (strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64 ||
		    idx >= r->sections->len || section_at(r, idx)->kind != SV_SNAP_SECTION_FILE)
			return fail(error, r, "FILES", 0, "bad entry for file %.64s", sha);
		g_hash_table_insert(r->files, g_strdup(sha), GUINT_TO_POINTER(idx));
	}
	return TRUE;
}

static gboolean check_vmas(SvSnapshotReader *r, GError **error)
{
	GVariant *vmas = r->meta[SV_SNAP_SECTION_VMAS];
	if (!vmas)
		return TRUE;
	const SvSnapshotSection *where = NULL;
	for (guint i = 0; i < r->sections->len && !where; i++)
		if (section_at(r, i)->kind == SV_SNAP_SECTION_VMAS)
			where = section_at(r, i);
	guint64 prev_end = 0;
	gsize n = g_variant_n_children(vmas);
	r->vmas = g_array_sized_new(FALSE, FALSE, sizeof(VmaRange), n);
	for (gsize i = 0; i < n; i++) {
		guint64 start, end, flags, pgoff;
		guint32 prot;
		const char *path, *sha;
		g_variant_get_child(vmas, i, "(ttutt&s&s)", &start, &end, &prot, &flags, &pgoff,
				    &path, &sha);
		if (start >= end || start % r->page_size || end % r->page_size || prot > 7)
			return fail(error, r, "VMAS", where->offset,
				    "VMA %" G_GSIZE_FORMAT " [0x%" G_GINT64_MODIFIER
				    "x, 0x%" G_GINT64_MODIFIER
				    "x) is empty, unaligned or has bad protection",
				    i, start, end);
		if (start < prev_end)
			return fail(error, r, "VMAS", where->offset,
				    "VMA %" G_GSIZE_FORMAT " at 0x%" G_GINT64_MODIFIER
				    "x overlaps or is out of order",
				    i, start);
		prev_end = end;
		VmaRange range = { start, end };
		g_array_append_val(r->vmas, range);
	}
	return TRUE;
}

/*
 * Is [vaddr, vaddr+len) covered by the VMAs from *vi on, without a gap?
 * Runs are checked in address order and do not overlap, so *vi only moves
 * forward and each VMA is looked at by the runs it meets and one more:
 * the whole check is linear after the sort, whatever the snapshot says
 * (walking every VMA for every run was quadratic: 18k mappings took
 * minutes, and a crafted file could make it take hours).
 */
static gboolean inside_vmas(const SvSnapshotReader *r, guint *vi, guint64 vaddr, guint64 len)
{
	if (!r->vmas)
		return TRUE;
	const VmaRange *v = (const VmaRange *)(const void *)r->vmas->data;
	guint n = r->vmas->len;
	while (*vi < n && v[*vi].end <= vaddr)
		(*vi)++;
	guint64 at = vaddr, stop = vaddr + len;
	for (guint i = *vi; i < n && at < stop; i++) {
		if (v[i].start > at)
			return FALSE;
		at = v[i].end;
	}
	return at >= stop;
}

static gint compare_runs(gconstpointer a, gconstpointer b)
{
	const PageRun *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* Sections a page map may name: this file's, then its ancestors'. */
static guint chain_sections(const SvSnapshotReader *r)
{
	guint n = 0;
	for (; r; r = r->parent)
		n += r->sections->len;
	return n;
}

static gboolean check_pagemap(SvSnapshotReader *r, GError **error)
{
	GVariant *map = r->meta[SV_SNAP_SECTION_PAGEMAP];
	gsize n = g_variant_n_children(map);
	r->runs = g_array_sized_new(FALSE, FALSE, sizeof(PageRun), n);
	const guint64 ps = r->page_size;
	for (gsize i = 0; i < n; i++) {
		PageRun run;
		g_variant_get_child(map, i, "(tuut)", &run.vaddr, &run.npages, &run.section,
				    &run.offset);
		guint64 len = (guint64)run.npages * ps;
		const SvSnapshotSection *s = run.section < r->sections->len
						     ? section_at(r, run.section)
						     : NULL;
		/* an ancestor's (joined in by attach_parent): checked by its reader */
		gboolean theirs = !s && r->parent && run.section < chain_sections(r);
		if ((!theirs && (!s || s->kind != SV_SNAP_SECTION_PAGES || run.offset > s->raw ||
				 len > s->raw - run.offset)) ||
		    run.npages == 0 || run.vaddr % ps || run.offset % ps ||
		    run.vaddr + len < run.vaddr)
			return fail(error, r, "PAGEMAP", 0,
				    "run %" G_GSIZE_FORMAT " (0x%" G_GINT64_MODIFIER
				    "x, %u pages) points "
				    "outside its PAGES section",
				    i, run.vaddr, run.npages);
		if (!theirs)
			r->pages_stored += run.npages;
		g_array_append_val(r->runs, run);
	}
	g_array_sort(r->runs, compare_runs);
	for (guint i = 1; i < r->runs->len; i++) {
		const PageRun *a = &g_array_index(r->runs, PageRun, i - 1);
		const PageRun *b = &g_array_index(r->runs, PageRun, i);
		if (a->vaddr + (guint64)a->npages * ps > b->vaddr)
			return fail(error, r, "PAGEMAP", 0,
				    "two runs hold page 0x%" G_GINT64_MODIFIER "x", b->vaddr);
	}
	guint vi = 0;
	for (guint i = 0; i < r->runs->len; i++) {
		const PageRun *run = &g_array_index(r->runs, PageRun, i);
		if (!inside_vmas(r, &vi, run->vaddr, (guint64)run->npages * ps))
			return fail(error, r, "PAGEMAP", 0,
				    "the run at 0x%" G_GINT64_MODIFIER "x (%u pages) is outside "
				    "every VMA",
				    run->vaddr, run->npages);
	}
	return TRUE;
}

/* Every file a VMA names is in the snapshot or, for an incremental one,
 * in its chain (joined in by attach_parent). */
static gboolean check_vma_files(SvSnapshotReader *r, GError **error)
{
	GVariant *vmas = r->meta[SV_SNAP_SECTION_VMAS];
	gsize n = vmas ? g_variant_n_children(vmas) : 0;
	for (gsize i = 0; i < n; i++) {
		const char *sha;
		g_variant_get_child(vmas, i, "(ttutt&s&s)", NULL, NULL, NULL, NULL, NULL, NULL,
				    &sha);
		if (*sha && !g_hash_table_contains(r->files, sha))
			return fail(error, r, "VMAS", 0,
				    "VMA %" G_GSIZE_FORMAT " names file contents %.64s, which %s",
				    i, sha,
				    r->parent ? "neither the snapshot nor its parents hold"
					      : "the snapshot lacks");
	}
	return TRUE;
}

/* A file carried unchanged since the parent is not stored again
 * (sv_snapshot_writer_set_parent): the parent's files, their sections
 * numbered after this file's as the page map numbers them. */
static void join_parent_files(SvSnapshotReader *r)
{
	GHashTableIter it;
	gpointer sha, idx;
	g_hash_table_iter_init(&it, r->parent->files);
	while (g_hash_table_iter_next(&it, &sha, &idx))
		if (!g_hash_table_contains(r->files, sha))
			g_hash_table_insert(r->files, g_strdup(sha),
					    GUINT_TO_POINTER(GPOINTER_TO_UINT(idx) +
							     r->sections->len));
}

static SvSnapshotReader *open_at_depth(const char *path, guint depth, GError **error);

/* Opens the parent an incremental snapshot names, checks it is the very
 * file the snapshot was taken against, and joins its page map in. */
static gboolean attach_parent(SvSnapshotReader *r, guint depth, GError **error)
{
	g_autofree char *digest = NULL;
	guint64 size;
	g_autofree char *path = sv_snapshot_chain_parent_path(r->path,
							      r->meta[SV_SNAP_SECTION_PARENT],
							      &digest, &size, error);
	if (!path)
		return FALSE;
	if (depth + 1 >= SV_SNAP_MAX_CHAIN) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "snapshot %s: more than %u snapshots in its chain of parents", r->path,
			    SV_SNAP_MAX_CHAIN);
		return FALSE;
	}
	GVariant *listing = r->meta[SV_SNAP_SECTION_PAGE_HASHES]
				    ? r->meta[SV_SNAP_SECTION_PAGE_HASHES]
				    : r->meta[SV_SNAP_SECTION_PAGE_HASHES_DELTA];
	if (!listing ||
	    (r->meta[SV_SNAP_SECTION_PAGE_HASHES] && r->meta[SV_SNAP_SECTION_PAGE_HASHES_DELTA]))
		return fail(error, r, "PARENT", 0,
			    "an incremental snapshot needs one of PAGE_HASHES and "
			    "PAGE_HASHES_DELTA");
	g_autoptr(GError) local = NULL;
	r->parent = open_at_depth(path, depth + 1, &local);
	if (!r->parent) {
		g_set_error(error, SV_ERROR, local->code,
			    "snapshot %s holds only the pages changed since %s, and that parent "
			    "cannot be read (%s): put it back where it was, or restore from a "
			    "full snapshot",
			    r->path, path, local->message);
		return FALSE;
	}
	g_autofree char *have = sv_snapshot_reader_digest(r->parent);
	if (g_strcmp0(have, digest) || r->parent->size != size ||
	    r->parent->page_size != r->page_size || r->parent->arch != r->arch) {
		g_set_error(
			error, SV_ERROR, SV_ERROR_INVALID_DATA,
			"snapshot %s was taken against a parent with digest %s (%" G_GUINT64_FORMAT
			" bytes), but %s is another file (digest %s, %" G_GSIZE_FORMAT
			" bytes): put the right parent back there",
			r->path, digest, size, path, have, r->parent->size);
		return FALSE;
	}
	GVariant *joined = sv_snapshot_chain_pagemap(r->meta[SV_SNAP_SECTION_PAGEMAP], listing,
						     r->parent->meta[SV_SNAP_SECTION_PAGEMAP],
						     r->sections->len, r->page_size, error);
	if (!joined)
		return FALSE;
	join_parent_files(r);
	g_variant_unref(r->meta[SV_SNAP_SECTION_PAGEMAP]);
	r->meta[SV_SNAP_SECTION_PAGEMAP] = joined;
	g_clear_pointer(&r->runs, g_array_unref);
	r->pages_stored = 0;
	return check_pagemap(r, error);
}

SvSnapshotReader *sv_snapshot_reader_open(const char *path, GError **error)
{
	return open_at_depth(path, 0, error);
}

static SvSnapshotReader *open_at_depth(const char *path, guint depth, GError **error)
{
	g_autoptr(SvSnapshotReader) r = g_new0(SvSnapshotReader, 1);
	r->path = g_strdup(path);
	r->cached_section = G_MAXUINT;
	/* O_NONBLOCK: a FIFO (say, a parent path a hostile snapshot names) must
	 * not hang the open; it is refused as no regular file below */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "cannot open snapshot %s: %s",
			    path, g_strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "snapshot %s is not a regular file", path);
		return NULL;
	}
	r->size = st.st_size;
	if (r->size < SV_SNAP_HEADER_SIZE + SV_SNAP_SECTION_HEADER_SIZE + SV_SNAP_TRAILER_SIZE) {
		close(fd);
		fail(error, r, "file", 0, "only %" G_GSIZE_FORMAT " bytes: truncated", r->size);
		return NULL;
	}
	void *map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "mmap %s: %s", path,
			    g_strerror(errno));
		return NULL;
	}
	r->map = map;
	if (!check_header(r, error))
		return NULL;
	const guint8 *t = r->map + r->size - SV_SNAP_TRAILER_SIZE;
	guint64 toff = r->size - SV_SNAP_TRAILER_SIZE;
	if (memcmp(t, SV_SNAP_TRAILER_MAGIC, 8) != 0)
		return fail(error, r, "trailer", toff,
			    "no trailer: the file is truncated or was not "
			    "finished"),
		       NULL;
	if (!sums_match(sv_get_le64(t + 56), XXH3_64bits(t, 56)))
		return fail(error, r, "trailer", toff, "trailer checksum mismatch"), NULL;
	if (sv_get_le64(t + 16) != r->size)
		return fail(error, r, "trailer", toff,
			    "file is %" G_GSIZE_FORMAT " bytes, trailer says %" G_GUINT64_FORMAT,
			    r->size, sv_get_le64(t + 16)),
		       NULL;
	if (!load_index(r, sv_get_le64(t + 8), error) || !load_metadata(r, error) ||
	    !check_files(r, error) || !check_vmas(r, error) || !check_pagemap(r, error))
		return NULL;
	if (r->meta[SV_SNAP_SECTION_PAGE_HASHES_DELTA] && !r->meta[SV_SNAP_SECTION_PARENT])
		return fail(error, r, "PAGE_HASHES_DELTA", 0,
			    "page hashes as a change to a parent, but no PARENT"),
		       NULL;
	if (r->meta[SV_SNAP_SECTION_PARENT] && !attach_parent(r, depth, error))
		return NULL;
	if (!check_vma_files(r, error))
		return NULL;
	return g_steal_pointer(&r);
}

guint16 sv_snapshot_reader_arch(const SvSnapshotReader *r)
{
	return r->arch;
}

guint32 sv_snapshot_reader_page_size(const SvSnapshotReader *r)
{
	return r->page_size;
}

guint16 sv_snapshot_reader_minor(const SvSnapshotReader *r)
{
	return r->minor;
}

guint64 sv_snapshot_reader_file_size(const SvSnapshotReader *r)
{
	return r->size;
}

guint64 sv_snapshot_reader_pages_stored(const SvSnapshotReader *r)
{
	return r->pages_stored;
}

const SvSnapshotSection *sv_snapshot_reader_sections(const SvSnapshotReader *r, guint *ret_n)
{
	*ret_n = r->sections->len;
	return (const SvSnapshotSection *)(const void *)r->sections->data;
}

GVariant *sv_snapshot_reader_metadata(const SvSnapshotReader *r, guint32 kind)
{
	if (kind >= SV_SNAP_SECTION_KIND_MAX_ || !r->meta[kind])
		return NULL;
	return g_variant_ref(r->meta[kind]);
}

GBytes *sv_snapshot_reader_section_data(SvSnapshotReader *r, guint i, GError **error)
{
	if (i >= r->sections->len && r->parent)
		return sv_snapshot_reader_section_data(r->parent, i - r->sections->len, error);
	if (i >= r->sections->len) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT, "no section %u", i);
		return NULL;
	}
	const SvSnapshotSection *s = section_at(r, i);
	if (!r->checked[i]) {
		if (!check_payload(r, s, error))
			return NULL;
		r->checked[i] = 1;
	}
	if (!(s->flags & SV_SNAP_SECTION_ZSTD))
		return g_bytes_new_static(payload(r, s), s->stored);
	if (r->cached_section == i)
		return g_bytes_ref(r->cached);
	g_autofree guint8 *out = g_malloc(s->raw ? s->raw : 1);
	gsize got = ZSTD_decompress(out, s->raw, payload(r, s), s->stored);
	if (ZSTD_isError(got) || got != s->raw) {
		fail(error, r, "PAGES", s->offset,
		     "zstd data does not decompress to %" G_GUINT64_FORMAT " bytes%s%s", s->raw,
		     ZSTD_isError(got) ? ": " : "",
		     ZSTD_isError(got) ? ZSTD_getErrorName(got) : "");
		return NULL;
	}
	g_clear_pointer(&r->cached, g_bytes_unref);
	r->cached = g_bytes_new_take(g_steal_pointer(&out), s->raw);
	r->cached_section = i;
	return g_bytes_ref(r->cached);
}

gboolean sv_snapshot_reader_has_file(const SvSnapshotReader *r, const char *sha256)
{
	return g_hash_table_contains(r->files, sha256);
}

GBytes *sv_snapshot_reader_file(SvSnapshotReader *r, const char *sha256, GError **error)
{
	gpointer idx;
	if (!g_hash_table_lookup_extended(r->files, sha256, NULL, &idx)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "snapshot %s holds no file %s",
			    r->path, sha256);
		return NULL;
	}
	return sv_snapshot_reader_section_data(r, GPOINTER_TO_UINT(idx), error);
}

gboolean sv_snapshot_reader_file_length(const SvSnapshotReader *r, const char *sha256,
					guint64 *ret_size, GError **error)
{
	gpointer idx;
	if (!g_hash_table_lookup_extended(r->files, sha256, NULL, &idx)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "snapshot %s holds no file %s",
			    r->path, sha256);
		return FALSE;
	}
	/* a file unchanged since the parent is the parent's section, numbered
	 * after this file's (join_parent_files), as section_data follows it */
	guint i = GPOINTER_TO_UINT(idx);
	while (i >= r->sections->len && r->parent) {
		i -= r->sections->len;
		r = r->parent;
	}
	if (i >= r->sections->len) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT, "no section %u", i);
		return FALSE;
	}
	*ret_size = section_at(r, i)->raw;
	return TRUE;
}

gboolean sv_snapshot_reader_read_page(SvSnapshotReader *r, guint64 vaddr, void *buf, GError **error)
{
	const guint64 ps = r->page_size;
	guint lo = 0, hi = r->runs->len;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		const PageRun *run = &g_array_index(r->runs, PageRun, mid);
		if (vaddr < run->vaddr)
			hi = mid;
		else if (vaddr >= run->vaddr + (guint64)run->npages * ps)
			lo = mid + 1;
		else {
			g_autoptr(GBytes)
				data = sv_snapshot_reader_section_data(r, run->section, error);
			if (!data)
				return FALSE;
			const guint8 *p = g_bytes_get_data(data, NULL);
			memcpy(buf, p + run->offset + (vaddr - run->vaddr) / ps * ps, ps);
			return TRUE;
		}
	}
	memset(buf, 0, ps);
	return TRUE;
}

gboolean sv_snapshot_reader_verify(SvSnapshotReader *r, GError **error)
{
	XXH128_hash_t d = XXH3_128bits(r->map, r->size - SV_SNAP_TRAILER_SIZE);
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, d);
	if (memcmp(c.digest, r->map + r->size - SV_SNAP_TRAILER_SIZE + 24, 16) != 0) {
		/* name the first section that is wrong, if any */
		for (guint i = 0; i < r->sections->len; i++)
			if (!check_payload(r, section_at(r, i), error))
				return FALSE;
		return fail(error, r, "trailer", r->size - SV_SNAP_TRAILER_SIZE,
			    "file digest mismatch (padding between sections changed)");
	}
	for (guint i = 0; i < r->sections->len; i++) {
		if (!check_payload(r, section_at(r, i), error))
			return FALSE;
		r->checked[i] = 1;
	}
	/* the parent's digest was matched at open: its contents now */
	if (r->parent && !sv_snapshot_reader_verify(r->parent, error)) {
		g_prefix_error(error, "parent of %s: ", r->path);
		return FALSE;
	}
	return TRUE;
}

char *sv_snapshot_reader_digest(const SvSnapshotReader *r)
{
	const guint8 *d = r->map + r->size - SV_SNAP_TRAILER_SIZE + 24;
	GString *hex = g_string_sized_new(32);
	for (guint i = 0; i < 16; i++)
		g_string_append_printf(hex, "%02x", d[i]);
	return g_string_free(hex, FALSE);
}

SvSnapshotReader *sv_snapshot_reader_parent(const SvSnapshotReader *r)
{
	return r->parent;
}

const char *sv_snapshot_reader_path(const SvSnapshotReader *r)
{
	return r->path;
}
