/* SPDX-License-Identifier: MIT */
/*
 * page-cache.c - a file's contents read out of the guest's page cache,
 * with no help from the guest: inode->i_mapping (struct address_space)
 * ->i_pages, an xarray (include/linux/xarray.h, lib/xarray.c) from page
 * index to folio. Works for files that exist nowhere else: unlinked files,
 * memfds, shared anonymous memory (all shmem inodes).
 *
 * The xarray (the same from Linux 6.1 to 6.12): xa_head is NULL, a single entry for index 0,
 * or an internal pointer (low bits 10) to an xa_node; a node has a shift
 * (6 bits of index per level), 64 slots, and a back pointer to its array.
 * A slot holds NULL, a node one level down, a folio (a struct page
 * pointer), a value entry (low bit 1: a shadow or swap entry, the page
 * is not in memory), or a sibling (internal, < 62: the slot of the folio
 * that also covers this one, a large folio). Guest memory is hostile: each
 * node's shift and array pointer must be what its place says, the walk
 * visits a bounded number of nodes, and each page must be a struct page
 * of the vmemmap.
 */
#include <string.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define XA_CHUNK_SHIFT 6u
#define XA_CHUNK_SIZE (1u << XA_CHUNK_SHIFT)
#define XA_MAX_SHIFT 60u /* an index is 64 bits */

typedef struct {
	const SvIntrospect *in;
	SvStructPages sp;
	guint64 node_shift, node_array, node_slots;
	guint64 array;	 /* the xarray's address: every node points back to it */
	guint64 npages;	 /* pages within i_size */
	guint64 page;	 /* the guest's page size */
	guint64 size;	 /* i_size */
	guint8 *out;	 /* size bytes, zero where nothing was found */
	guint8 *found;	 /* one byte per page: copied from the cache */
	guint64 swapped; /* pages the cache holds a value entry for */
	guint64 budget;	 /* nodes the walk may still visit */
} Walk;

/* The xarray's layout from BTF: the offsets of xarray.xa_head and of
 * xa_node's shift, array and slots, and that a node has the 64 slots
 * (XA_CHUNK_SHIFT 6, all but CONFIG_BASE_SMALL kernels) walked here. */
static gboolean xa_layout(const SvIntrospect *in, guint64 *xa_head, guint64 *node_shift,
			  guint64 *node_array, guint64 *node_slots, GError **error)
{
	guint64 slots_size;
	const SvMemberOffset want[] = {
		{ "xarray", "xa_head", xa_head },
		{ "xa_node", "shift", node_shift },
		{ "xa_node", "array", node_array },
		{ "xa_node", "slots", node_slots },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) ||
	    !sv_kernel_types_size(in->types, "xa_node", "slots", &slots_size, error))
		return FALSE;
	if (slots_size != XA_CHUNK_SIZE * 8) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "the guest kernel's xarray nodes hold %" G_GUINT64_FORMAT
			    " bytes of slots; snapvm reads nodes of %u",
			    slots_size, XA_CHUNK_SIZE * 8);
		return FALSE;
	}
	return TRUE;
}

static gboolean rd64(const SvIntrospect *in, guint64 va, guint64 *v, GError **error)
{
	guint8 b[8];
	if (!sv_introspect_read(in, va, b, 8, error))
		return FALSE;
	*v = sv_get_le64(b);
	return TRUE;
}

static gboolean is_internal(guint64 e)
{
	return (e & 3) == 2;
}

/* Copies the pages of the folio at struct page `folio`, whose first page
 * has index `first`, that lie in [lo, hi). */
static gboolean copy_folio(Walk *w, guint64 folio, guint64 first, guint64 lo, guint64 hi,
			   GError **error)
{
	for (guint64 idx = MAX(lo, first); idx < MIN(hi, w->npages); idx++) {
		guint64 pfn;
		if (!sv_struct_page_frame(&w->sp, folio + (idx - first) * w->sp.page_size, &pfn,
					  error)) {
			g_prefix_error(error, "page %" G_GUINT64_FORMAT " of a cached file: ", idx);
			return FALSE;
		}
		guint64 off = idx * w->page, len = MIN(w->page, w->size - off);
		if (!sv_guest_mem_read(w->in->mem, sv_gpa(pfn * w->page), w->out + off, len, error))
			return FALSE;
		w->found[idx] = 1;
	}
	return TRUE;
}

static gboolean walk_node(Walk *w, guint64 node, guint64 shift, guint64 base, GError **error);

/* The entry e covering indices [lo, hi); first: the index of the entry's
 * own slot (below lo for a sibling). */
static gboolean walk_entry(Walk *w, guint64 e, guint64 shift, guint64 first, guint64 lo, guint64 hi,
			   GError **error)
{
	if (!e || e == 0x402 || e == 0x406) /* empty, retry, zero */
		return TRUE;
	if (e & 1) { /* a value: swapped out or evicted */
		w->swapped += MIN(hi, w->npages) - MIN(lo, w->npages);
		return TRUE;
	}
	if (is_internal(e) && e > 4096) {
		if (shift == 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "a guest page cache node at the lowest level points to "
				    "another node");
			return FALSE;
		}
		return walk_node(w, e - 2, shift - XA_CHUNK_SHIFT, lo, error);
	}
	if (is_internal(e)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "a guest page cache slot holds the internal entry 0x%" G_GINT64_MODIFIER
			    "x",
			    e);
		return FALSE;
	}
	return copy_folio(w, e, first, lo, hi, error);
}

static gboolean walk_node(Walk *w, guint64 node, guint64 shift, guint64 base, GError **error)
{
	if (w->budget == 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "a guest page cache has more nodes than its file has pages");
		return FALSE;
	}
	w->budget--;
	guint8 s;
	guint64 array;
	guint8 raw[XA_CHUNK_SIZE * 8];
	if (!sv_introspect_read(w->in, node + w->node_shift, &s, 1, error) ||
	    !rd64(w->in, node + w->node_array, &array, error) ||
	    !sv_introspect_read(w->in, node + w->node_slots, raw, sizeof(raw), error))
		return FALSE;
	if (s != shift || array != w->array) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "a guest page cache node is not where its array says (shift %u, "
			    "expected %" G_GUINT64_FORMAT ")",
			    s, shift);
		return FALSE;
	}
	for (guint j = 0; j < XA_CHUNK_SIZE; j++) {
		guint64 lo = base + ((guint64)j << shift);
		if (lo >= w->npages)
			break;
		guint64 hi = lo + (1ull << shift), e = sv_get_le64(raw + 8 * j), first = lo;
		if (is_internal(e) && (e >> 2) < XA_CHUNK_SIZE - 2 && e <= 4096) {
			/* a sibling: the folio is in an earlier slot */
			guint k = (guint)(e >> 2);
			if (k >= j) {
				g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
					    "a guest page cache sibling points forward");
				return FALSE;
			}
			e = sv_get_le64(raw + 8 * k);
			first = base + ((guint64)k << shift);
			if (is_internal(e)) {
				g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
					    "a guest page cache sibling is not of a folio");
				return FALSE;
			}
		}
		if (!walk_entry(w, e, shift, first, lo, hi, error))
			return FALSE;
	}
	return TRUE;
}

gboolean sv_introspect_page_cache(const SvIntrospect *in, guint64 inode, guint64 max_size,
				  gboolean holes, SvPageCacheRead *ret, GError **error)
{
	*ret = (SvPageCacheRead){ 0 };
	guint64 i_mapping, i_size_off, i_pages, xa_head;
	Walk w = { .in = in, .page = in->arch->page_size };
	const SvMemberOffset want[] = {
		{ "inode", "i_mapping", &i_mapping },
		{ "inode", "i_size", &i_size_off },
		{ "address_space", "i_pages", &i_pages },
	};
	guint64 mapping, head;
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) ||
	    !xa_layout(in, &xa_head, &w.node_shift, &w.node_array, &w.node_slots, error) ||
	    !rd64(in, inode + i_mapping, &mapping, error) ||
	    !rd64(in, inode + i_size_off, &w.size, error))
		return FALSE;
	if ((gint64)w.size < 0 || w.size > max_size) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "the file is %" G_GINT64_FORMAT " bytes; snapvm carries files of at "
			    "most %" G_GUINT64_FORMAT " MiB",
			    (gint64)w.size, max_size >> 20);
		return FALSE;
	}
	w.array = mapping + i_pages;
	w.npages = (w.size + w.page - 1) / w.page;
	/* every node holds at least one entry: no more nodes than pages,
	 * plus one path from the root */
	w.budget = w.npages + XA_MAX_SHIFT / XA_CHUNK_SHIFT + 1;
	g_autofree guint8 *out = g_malloc0(MAX(w.size, 1));
	g_autofree guint8 *found = g_malloc0(MAX(w.npages, 1));
	w.out = out;
	w.found = found;
	if (!rd64(in, w.array + xa_head, &head, error))
		return FALSE;
	if (w.npages && !sv_struct_pages_init(in, &w.sp, error))
		return FALSE;
	if (w.npages && is_internal(head) && head > 4096) {
		guint8 s;
		if (!sv_introspect_read(in, head - 2 + w.node_shift, &s, 1, error))
			return FALSE;
		if (s > XA_MAX_SHIFT || s % XA_CHUNK_SHIFT) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "a guest page cache's root node has shift %u", s);
			return FALSE;
		}
		if (!walk_node(&w, head - 2, s, 0, error))
			return FALSE;
	} else if (w.npages && !walk_entry(&w, head, 0, 0, 0, 1, error)) {
		return FALSE;
	}
	guint64 cached = 0;
	for (guint64 i = 0; i < w.npages; i++)
		if (found[i])
			cached += MIN(w.page, w.size - i * w.page);
	ret->size = w.size;
	ret->cached_bytes = cached;
	/* a page neither cached nor swapped is a hole where the file lives
	 * only in the cache; elsewhere it is still on its disk */
	ret->complete = cached == w.size || (holes && w.swapped == 0);
	if (ret->complete)
		ret->contents = g_bytes_new_take(g_steal_pointer(&out), w.size);
	return TRUE;
}

gboolean sv_introspect_xa_load(const SvIntrospect *in, guint64 xa, guint64 index,
			       guint64 *ret_entry, GError **error)
{
	guint64 xa_head, node_shift, node_array, node_slots, e;
	*ret_entry = 0;
	if (!xa_layout(in, &xa_head, &node_shift, &node_array, &node_slots, error) ||
	    !rd64(in, xa + xa_head, &e, error))
		return FALSE;
	guint64 expect = G_MAXUINT64;
	for (guint depth = 0; is_internal(e) && e > 4096; depth++) {
		guint64 node = e - 2, array;
		guint8 s;
		if (!sv_introspect_read(in, node + node_shift, &s, 1, error) ||
		    !rd64(in, node + node_array, &array, error))
			return FALSE;
		if (depth > XA_MAX_SHIFT / XA_CHUNK_SHIFT || array != xa || s % XA_CHUNK_SHIFT ||
		    s > XA_MAX_SHIFT || (expect != G_MAXUINT64 && s != expect)) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "a guest xarray node is not where its array says");
			return FALSE;
		}
		if (s + XA_CHUNK_SHIFT < 64 && (index >> (s + XA_CHUNK_SHIFT)) && depth == 0)
			return TRUE; /* beyond what the tree holds */
		guint64 slot = (index >> s) & (XA_CHUNK_SIZE - 1);
		if (!rd64(in, node + node_slots + 8 * slot, &e, error))
			return FALSE;
		expect = s >= XA_CHUNK_SHIFT ? s - XA_CHUNK_SHIFT : G_MAXUINT64 - 1;
	}
	if (!is_internal(e) && !(e & 1) && (expect != G_MAXUINT64 || index == 0))
		*ret_entry = e;
	return TRUE;
}
