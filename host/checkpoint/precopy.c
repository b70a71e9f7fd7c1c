/* SPDX-License-Identifier: MIT */
/* precopy.c - see precopy.h. */
#include "host/checkpoint/precopy.h"

#include <string.h>

#include "base/errors.h"
#include "host/checkpoint/dirty-track.h"
#include "host/checkpoint/page-select.h"
#include "host/snapshot/snapshot-writer.h"

/* page_pa of a page whose copy is not to be trusted */
#define NO_FRAME G_MAXUINT64
/* written pages few enough to leave to the pause (1 MiB of 4 KiB pages:
 * well under a millisecond to copy) */
#define PRECOPY_FEW_PAGES 256

static double ms_since(gint64 t0)
{
	return (g_get_monotonic_time() - t0) / 1000.0;
}

void sv_precopy_clear(SvPrecopy *pc)
{
	sv_page_buffer_clear(&pc->buffer);
	g_clear_pointer(&pc->slots, g_array_unref);
	g_clear_pointer(&pc->page_pa, g_free);
	g_clear_pointer(&pc->mark, g_free);
	g_clear_pointer(&pc->present, g_array_unref);
}

/* The index in the buffer of the page at va, or -1 when no slot holds it;
 * *cursor: a slot index, for lookups in rising address order. */
static gssize slot_page(const SvPrecopy *pc, guint64 va, guint *cursor)
{
	while (*cursor < pc->slots->len) {
		const SvPageRun *s = &g_array_index(pc->slots, SvPageRun, *cursor);
		if (va < s->va)
			return -1;
		if (va < s->va + s->len)
			return (gssize)((s->offset + (va - s->va)) / pc->page_size);
		(*cursor)++;
	}
	return -1;
}

/* Pauses the VM for a walk of the process's pages (runs with their
 * dirty-tracking fields), and resumes it whatever happened. */
static GArray *walk_paused(SvPrecopy *pc, SvMachine *m, const SvIntrospect *in,
			   const SvGuestMem *mem, guint32 pid, GError **error)
{
	gint64 t0 = g_get_monotonic_time();
	if (!sv_machine_pause(m, error))
		return NULL;
	guint64 total;
	g_autoptr(GArray) vmas = sv_capture_vmas(in, pid, error);
	g_autoptr(GArray)
		runs = vmas ? sv_capture_walk_pages(in, mem, pid, vmas, TRUE, &total, error) : NULL;
	g_autoptr(GError) resume_error = NULL;
	if (!sv_machine_resume(m, &resume_error)) {
		if (runs)
			g_propagate_error(error, g_steal_pointer(&resume_error));
		g_clear_pointer(&runs, g_array_unref);
	}
	pc->paused_ms += ms_since(t0);
	if (!runs)
		g_prefix_error(error, "--precopy round %u: ", pc->rounds);
	return g_steal_pointer(&runs);
}

/* Clears the process's soft-dirty bits under a new mark. */
static gboolean arm(SvPrecopy *pc, const SvCheckpointOptions *o, const SvTaskRef *t, GError **error)
{
	g_autofree char *mark = sv_dirty_mark_new(t);
	g_autofree char *now = NULL;
	g_clear_pointer(&pc->mark, g_free);
	if (!o->soft_dirty(o->pid, TRUE, mark, &now, o->control_data, error)) {
		g_prefix_error(error,
			       "--precopy: clearing the soft-dirty bits of guest pid %u: ", o->pid);
		return FALSE;
	}
	pc->mark = g_steal_pointer(&mark);
	return TRUE;
}

/* A run to copy into the buffer: npages at va, from pa, to offset. */
typedef struct {
	guint64 va, pa, offset, len;
} Copy;

static void add_copy(GArray *todo, guint64 va, guint64 pa, guint64 offset, guint64 len)
{
	Copy *last = todo->len ? &g_array_index(todo, Copy, todo->len - 1) : NULL;
	if (last && last->va + last->len == va && last->pa + last->len == pa &&
	    last->offset + last->len == offset) {
		last->len += len;
		return;
	}
	Copy c = { va, pa, offset, len };
	g_array_append_val(todo, c);
}

/* Copies, the VM running; *ret_pages: how many. */
static gboolean copy_all(SvPrecopy *pc, const GArray *todo, const SvGuestMem *mem,
			 guint64 *ret_pages, GError **error)
{
	gint64 t0 = g_get_monotonic_time();
	*ret_pages = 0;
	for (guint i = 0; i < todo->len; i++) {
		const Copy *c = &g_array_index(todo, Copy, i);
		const guint8 *src = sv_guest_mem_ptr(mem, sv_gpa(c->pa), c->len, error);
		if (!src) {
			g_prefix_error(error,
				       "--precopy: page at 0x%" G_GINT64_MODIFIER "x: ", c->va);
			return FALSE;
		}
		memcpy(pc->buffer.data + c->offset, src, c->len);
		*ret_pages += c->len / pc->page_size;
	}
	pc->copy_ms += ms_since(t0);
	return TRUE;
}

/* Round 0: arm, walk, copy every page of the tracked mappings. */
static gboolean first_round(SvPrecopy *pc, SvMachine *m, const SvIntrospect *in,
			    const SvGuestMem *mem, const SvCheckpointOptions *o, GError **error)
{
	SvTaskRef t;
	if (!sv_introspect_find_task(in, o->pid, &t, error) || !arm(pc, o, &t, error))
		return FALSE;
	pc->mm = t.mm;
	g_autoptr(GArray) runs = walk_paused(pc, m, in, mem, o->pid, error);
	if (!runs)
		return FALSE;
	pc->slots = g_array_new(FALSE, FALSE, sizeof(SvPageRun));
	g_autoptr(GArray) todo = g_array_new(FALSE, FALSE, sizeof(Copy));
	guint64 total = 0;
	for (guint i = 0; i < runs->len; i++) {
		SvPageRun s = g_array_index(runs, SvPageRun, i);
		if (!s.tracked) {
			pc->untracked_bytes += s.len;
			continue; /* copied at the pause: the bits do not judge it */
		}
		s.offset = total;
		g_array_append_val(pc->slots, s);
		add_copy(todo, s.va, s.pa.v, s.offset, s.len);
		total += s.len;
	}
	if (!sv_page_buffer_prepare(&pc->buffer, MAX(total, pc->page_size), TRUE, error))
		return FALSE;
	pc->npages = total / pc->page_size;
	pc->page_pa = g_new(guint64, MAX(pc->npages, 1));
	for (guint i = 0; i < pc->slots->len; i++) {
		const SvPageRun *s = &g_array_index(pc->slots, SvPageRun, i);
		for (guint64 off = 0; off < s->len; off += pc->page_size)
			pc->page_pa[(s->offset + off) / pc->page_size] = s->pa.v + off;
	}
	return copy_all(pc, todo, mem, &pc->round_pages[0], error);
}

/* From a round's walk: the pages to copy again (written since the last
 * arm, or now in another frame than the one copied), as the page_pa of
 * every page is brought up to date; a page no longer present loses its
 * copy, and a page new since round 0 is left to the final pause. */
static GArray *plan_recopy(SvPrecopy *pc, const GArray *runs)
{
	const guint64 ps = pc->page_size;
	g_autofree guint64 *old = g_memdup2(pc->page_pa, MAX(pc->npages, 1) * sizeof(guint64));
	for (gsize i = 0; i < pc->npages; i++)
		pc->page_pa[i] = NO_FRAME;
	GArray *todo = g_array_new(FALSE, FALSE, sizeof(Copy));
	guint cursor = 0;
	for (guint i = 0; i < runs->len; i++) {
		const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
		for (guint64 off = 0; r->tracked && off < r->len; off += ps) {
			gssize at = slot_page(pc, r->va + off, &cursor);
			if (at < 0)
				continue;
			guint64 pa = r->pa.v + off;
			pc->page_pa[at] = pa;
			if (r->dirty || old[at] != pa)
				add_copy(todo, r->va + off, pa, (guint64)at * ps, ps);
		}
	}
	return todo;
}

/* A later round: held still, walked and re-armed; then the pages written
 * since the last arm copied again. */
static gboolean next_round(SvPrecopy *pc, SvMachine *m, const SvIntrospect *in,
			   const SvGuestMem *mem, const SvCheckpointOptions *o, GError **error)
{
	gint64 t0 = g_get_monotonic_time();
	if (!o->freeze(o->pid, o->control_data, error)) {
		g_prefix_error(error,
			       "--precopy round %u: holding guest pid %u still: ", pc->rounds,
			       o->pid);
		return FALSE;
	}
	g_autoptr(GArray) runs = walk_paused(pc, m, in, mem, o->pid, error);
	g_autoptr(GArray) todo = runs ? plan_recopy(pc, runs) : NULL;
	SvTaskRef t;
	gboolean ok = todo && sv_introspect_find_task(in, o->pid, &t, error) && t.mm == pc->mm &&
		      arm(pc, o, &t, error);
	if (todo && !ok && error && !*error)
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "--precopy: guest pid %u changed its address space (exec); try again",
			    o->pid);
	g_autoptr(GError) thaw_error = NULL;
	if (!o->thaw(o->pid, o->control_data, &thaw_error) && ok) {
		g_propagate_prefixed_error(error, g_steal_pointer(&thaw_error),
					   "--precopy round %u: thawing guest pid %u: ", pc->rounds,
					   o->pid);
		ok = FALSE;
	}
	pc->held_ms += ms_since(t0);
	return ok && copy_all(pc, todo, mem, &pc->round_pages[pc->rounds], error);
}

gboolean sv_precopy_run(SvPrecopy *pc, SvMachine *m, const SvIntrospect *in, const SvGuestMem *mem,
			const SvCheckpointOptions *o, guint max_rounds, GError **error)
{
	const SvArchOps *arch = sv_introspect_arch(in);
	if (!arch->soft_dirty || !o->soft_dirty || !o->freeze || !o->thaw) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "--precopy finds the pages written between rounds from the guest "
			    "kernel's soft-dirty bits, which %s",
			    !arch->soft_dirty ? "this arch's guests do not keep (x86_64 ones do)"
					      : "are not to be used here (--no-soft-dirty)");
		return FALSE;
	}
	pc->page_size = arch->page_size;
	max_rounds = CLAMP(max_rounds, 1, SV_PRECOPY_MAX_ROUNDS);
	pc->rounds = 0;
	if (!first_round(pc, m, in, mem, o, error))
		return FALSE;
	for (pc->rounds = 1; pc->rounds < max_rounds; pc->rounds++) {
		if (!next_round(pc, m, in, mem, o, error))
			return FALSE;
		/* the pause will copy about as many as this round did: no
		 * use going on once they stop getting fewer, or are so few
		 * that copying them costs the pause less than a round costs
		 * the process (held still for its re-arm) */
		if (pc->round_pages[pc->rounds] >= pc->round_pages[pc->rounds - 1] ||
		    pc->round_pages[pc->rounds] <= PRECOPY_FEW_PAGES) {
			pc->rounds++;
			break;
		}
	}
	return TRUE;
}

gsize sv_precopy_pause_estimate(const SvPrecopy *pc)
{
	guint64 written = 0;
	for (guint i = 1; i < pc->rounds && i < SV_PRECOPY_MAX_ROUNDS; i++)
		written = MAX(written, pc->round_pages[i]);
	return pc->untracked_bytes + 2 * written * pc->page_size + (4u << 20);
}

gboolean sv_precopy_select(GArray *runs, guint64 *total, const SvGuestMem *mem, gpointer data,
			   GError **error)
{
	SvPrecopy *pc = data;
	const guint64 ps = pc->page_size;
	g_clear_pointer(&pc->present, g_array_unref);
	pc->present = g_array_copy(runs);
	pc->pages_from_rounds = 0;
	g_autoptr(GArray) kept = g_array_new(FALSE, FALSE, sizeof(SvPageRun));
	guint cursor = 0;
	*total = 0;
	for (guint i = 0; i < runs->len; i++) {
		const SvPageRun *r = &g_array_index(runs, SvPageRun, i);
		for (guint64 off = 0; off < r->len; off += ps) {
			guint64 va = r->va + off, pa = r->pa.v + off;
			gssize at = r->tracked ? slot_page(pc, va, &cursor) : -1;
			if (at >= 0 && !r->dirty && pc->page_pa[at] == pa) {
				pc->pages_from_rounds++;
				continue;
			}
			sv_page_run_keep(kept, r, va, sv_gpa(pa), ps, r->keep_zero, total);
		}
	}
	g_array_set_size(runs, 0);
	g_array_append_vals(runs, kept->data, kept->len);
	return TRUE;
}

static void add_source(GArray *out, guint64 va, const guint8 *data, gsize npages,
		       gboolean keep_zero, guint64 ps)
{
	SvPrecopySource *last = out->len ? &g_array_index(out, SvPrecopySource, out->len - 1)
					 : NULL;
	if (last && last->vaddr + last->npages * ps == va &&
	    last->data + last->npages * ps == data && last->keep_zero == keep_zero) {
		last->npages += npages;
		return;
	}
	SvPrecopySource s = { va, npages, data, keep_zero };
	g_array_append_val(out, s);
}

GArray *sv_precopy_sources(const SvPrecopy *pc, const SvCapture *cap)
{
	const guint64 ps = pc->page_size;
	GArray *out = g_array_new(FALSE, FALSE, sizeof(SvPrecopySource));
	guint kc = 0, sc = 0;
	for (guint i = 0; pc->present && i < pc->present->len; i++) {
		const SvPageRun *r = &g_array_index(pc->present, SvPageRun, i);
		for (guint64 off = 0; off < r->len; off += ps) {
			guint64 va = r->va + off;
			while (cap->runs && kc < cap->runs->len &&
			       g_array_index(cap->runs, SvPageRun, kc).va +
					       g_array_index(cap->runs, SvPageRun, kc).len <=
				       va)
				kc++;
			const SvPageRun *k = cap->runs && kc < cap->runs->len
						     ? &g_array_index(cap->runs, SvPageRun, kc)
						     : NULL;
			const guint8 *data;
			if (k && k->va <= va) {
				data = cap->pages + k->offset + (va - k->va);
			} else {
				/* not copied at the pause: sv_precopy_select found
				 * it in a slot */
				gssize at = slot_page(pc, va, &sc);
				g_assert(at >= 0);
				data = pc->buffer.data + (gsize)at * ps;
			}
			add_source(out, va, data, 1, r->keep_zero, ps);
		}
	}
	return out;
}

/* The pages of a --precopy checkpoint, from the pause's copy and the
 * rounds', written to the file. */
gboolean sv_precopy_stream_pages(SvSnapshotWriter *w, const GArray *sources, guint32 page,
				 SvProgressFn progress, gpointer progress_data, GError **error)
{
	guint64 total = 0, done = 0;
	for (guint i = 0; i < sources->len; i++)
		total += g_array_index(sources, SvPrecopySource, i).npages * page;
	for (guint i = 0; i < sources->len; i++) {
		const SvPrecopySource *s = &g_array_index(sources, SvPrecopySource, i);
		gboolean ok = s->keep_zero ? sv_snapshot_writer_add_pages_all(w, s->vaddr, s->data,
									      s->npages, error)
					   : sv_snapshot_writer_add_pages(w, s->vaddr, s->data,
									  s->npages, error);
		if (!ok)
			return FALSE;
		done += s->npages * page;
		if (progress)
			progress("writing", done, total, progress_data);
	}
	return TRUE;
}

/* The pages of a --precopy checkpoint copied once more, into the file
 * mapped by the writer (much faster than streaming them: see
 * snapshot-writer-direct.c); *ret_done FALSE where the writer cannot map
 * them (compressed, a file system without fallocate), left to
 * sv_precopy_stream_pages. Must come before any other section. */
gboolean sv_precopy_map_pages(SvSnapshotWriter *w, const GArray *sources, guint32 page,
			      gboolean *ret_done, GError **error)
{
	*ret_done = FALSE;
	gsize total = 0;
	for (guint i = 0; i < sources->len; i++)
		total += g_array_index(sources, SvPrecopySource, i).npages * page;
	if (total == 0)
		return TRUE;
	g_autoptr(GError) local = NULL;
	guint8 *dst = sv_snapshot_writer_map_pages(w, total, TRUE, &local);
	if (!dst) {
		if (g_error_matches(local, SV_ERROR, SV_ERROR_NOT_SUPPORTED) ||
		    g_error_matches(local, SV_ERROR, SV_ERROR_INVALID_ARGUMENT))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	g_autoptr(GArray)
		spans = g_array_sized_new(FALSE, FALSE, sizeof(SvSnapshotPageSpan), sources->len);
	gsize at = 0;
	for (guint i = 0; i < sources->len; i++) {
		const SvPrecopySource *s = &g_array_index(sources, SvPrecopySource, i);
		memcpy(dst + at, s->data, s->npages * page);
		SvSnapshotPageSpan span = { s->vaddr, at, s->npages, s->keep_zero };
		g_array_append_val(spans, span);
		at += s->npages * page;
	}
	*ret_done = TRUE;
	return sv_snapshot_writer_commit_pages(w, (SvSnapshotPageSpan *)(void *)spans->data,
					       spans->len, error);
}

/* The hash of every page of a --precopy checkpoint. */
SvPageHashes *sv_precopy_hashes(const GArray *sources, guint32 page)
{
	g_autoptr(GArray)
		src = g_array_sized_new(FALSE, FALSE, sizeof(SvPageHashSource), sources->len);
	for (guint i = 0; i < sources->len; i++) {
		const SvPrecopySource *s = &g_array_index(sources, SvPrecopySource, i);
		SvPageHashSource h = { s->vaddr, s->npages, s->data };
		g_array_append_val(src, h);
	}
	return sv_page_hashes_compute((const SvPageHashSource *)(void *)src->data, src->len, page);
}
