/* SPDX-License-Identifier: MIT */
/* dirty-frames.c - see dirty-frames.h. */
#include "host/checkpoint/dirty-frames.h"

#include <string.h>

#include "host/checkpoint/capture.h"

#define FRAMES_MAGIC "SNAPVM-DIRTY-FRAMES 1\n"
#define LOG_PAGE_SHIFT 12 /* the log's pages (SvMachineOps.dirty_log) */

typedef struct {
	guint64 va, len, pa;
} FrameRun;

GBytes *sv_dirty_frames_encode(const char *mark, const GArray *runs)
{
	GString *s = g_string_new(FRAMES_MAGIC);
	g_string_append_printf(s, "%s\n", mark);
	for (guint i = 0; i < runs->len; i++) {
		const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
		FrameRun f = { r->va, r->len, r->pa.v };
		g_string_append_len(s, (const char *)&f, sizeof(f));
	}
	return g_string_free_to_bytes(s);
}

GArray *sv_dirty_frames_decode(const void *data, gsize len, const char *mark, char **ret_why)
{
	g_autofree char *head = g_strdup_printf("%s%s\n", FRAMES_MAGIC, mark);
	gsize hl = strlen(head);
	if (len < hl || memcmp(data, head, hl)) {
		*ret_why = g_strdup("the page frames recorded in this VM are another checkpoint's");
		return NULL;
	}
	if ((len - hl) % sizeof(FrameRun)) {
		*ret_why = g_strdup("the page frames recorded in this VM are cut short");
		return NULL;
	}
	guint n = (guint)((len - hl) / sizeof(FrameRun));
	g_autoptr(GArray) runs = g_array_sized_new(FALSE, FALSE, sizeof(FrameRun), n);
	g_array_append_vals(runs, (const char *)data + hl, n);
	for (guint i = 0; i < n; i++) {
		const FrameRun *b = &g_array_index(runs, FrameRun, i);
		const FrameRun *a = i ? &g_array_index(runs, FrameRun, i - 1) : NULL;
		if (b->len == 0 || b->va + b->len < b->va || (a && b->va < a->va + a->len)) {
			*ret_why = g_strdup("the page frames recorded in this VM are out of order");
			return NULL;
		}
	}
	return g_steal_pointer(&runs);
}

/* The parent's frame for the page at va, or G_MAXUINT64 when it had none. */
static guint64 parent_frame(const GArray *frames, guint64 va)
{
	guint lo = 0, hi = frames->len;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		const FrameRun *f = &g_array_index(frames, FrameRun, mid);
		if (va < f->va)
			hi = mid;
		else if (va - f->va >= f->len)
			lo = mid + 1;
		else
			return f->pa + (va - f->va);
	}
	return G_MAXUINT64;
}

static gboolean frame_written(GBytes *bits, guint64 pa)
{
	gsize size = 0;
	const guint8 *b = g_bytes_get_data(bits, &size);
	guint64 page = pa >> LOG_PAGE_SHIFT;
	/* beyond the log: not RAM the VMM knows, so never trusted as clean */
	if (page / 8 >= size)
		return TRUE;
	/* little-endian words: bit i of byte k is page 8k + i */
	return (b[page / 8] >> (page % 8)) & 1;
}

void sv_dirty_frames_judge(GArray *runs, GBytes *bits, const GArray *parent_frames,
			   guint32 page_size)
{
	g_autoptr(GArray) out = g_array_sized_new(FALSE, FALSE, sizeof(SvPageRun), runs->len);
	for (guint i = 0; i < runs->len; i++) {
		const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
		for (guint64 off = 0; off < r->len; off += page_size) {
			guint64 pa = r->pa.v + off;
			gboolean dirty = frame_written(bits, pa) ||
					 parent_frame(parent_frames, r->va + off) != pa;
			SvPageRun *last = out->len ? &g_array_index(out, SvPageRun, out->len - 1)
						   : NULL;
			if (off && last->dirty == dirty) {
				last->len += page_size;
				continue;
			}
			SvPageRun piece = *r;
			piece.va += off;
			piece.pa.v = pa;
			piece.offset += off;
			piece.len = page_size;
			piece.dirty = dirty;
			piece.tracked = TRUE;
			piece.huge = FALSE;
			g_array_append_val(out, piece);
		}
	}
	g_array_set_size(runs, 0);
	g_array_append_vals(runs, out->data, out->len);
}
