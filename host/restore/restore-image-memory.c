/* SPDX-License-Identifier: MIT */
/* restore-image-memory.c - the restore image's memory part: mm fields and
 * auxv, the mappings and the files they map, and the pages to restore (see
 * restore-image-parts.h). */
#include <string.h>

#include "snapvm/snapshot-vm-flags.h"
#include "host/restore/restore-image-parts.h"

/* vm_flags bits that become SV_RIMG_VMA_* flags one for one. */
static const struct {
	guint64 vm_flag;
	guint32 rimg_flag;
} vma_flag_map[] = {
	{ SV_VM_SHARED, SV_RIMG_VMA_SHARED },
	{ SV_VM_MAYSHARE, SV_RIMG_VMA_SHARED },
	{ SV_VM_GROWSDOWN, SV_RIMG_VMA_GROWSDOWN },
	{ SV_VM_NORESERVE, SV_RIMG_VMA_NORESERVE },
	{ SV_VM_DONTCOPY, SV_RIMG_VMA_DONTFORK },
	{ SV_VM_DONTDUMP, SV_RIMG_VMA_DONTDUMP },
	{ SV_VM_WIPEONFORK, SV_RIMG_VMA_WIPEONFORK },
	{ SV_VM_HUGEPAGE, SV_RIMG_VMA_HUGEPAGE },
	{ SV_VM_NOHUGEPAGE, SV_RIMG_VMA_NOHUGEPAGE },
	{ SV_VM_MERGEABLE, SV_RIMG_VMA_MERGEABLE },
	{ SV_VM_SEQ_READ, SV_RIMG_VMA_SEQUENTIAL },
	{ SV_VM_RAND_READ, SV_RIMG_VMA_RANDOM },
	{ SV_VM_LOCKED, SV_RIMG_VMA_LOCKED },
	{ SV_VM_LOCKONFAULT, SV_RIMG_VMA_LOCKONFAULT },
};

/* The kernel keeps at most this many auxv entries (AT_VECTOR_SIZE). */
#define MAX_AUXV 64

static gboolean mm_fields(struct sv_rimg_header *h, GVariant *mm, GError **error)
{
	g_autoptr(GVariant) fields = g_variant_get_child_value(mm, 0);
	const struct {
		const char *key;
		guint64 *dst;
	} want[] = {
		{ "start_code", &h->start_code },   { "end_code", &h->end_code },
		{ "start_data", &h->start_data },   { "end_data", &h->end_data },
		{ "start_brk", &h->start_brk },	    { "brk", &h->brk },
		{ "start_stack", &h->start_stack }, { "arg_start", &h->arg_start },
		{ "arg_end", &h->arg_end },	    { "env_start", &h->env_start },
		{ "env_end", &h->env_end },
	};
	for (guint i = 0; i < G_N_ELEMENTS(want); i++)
		if (!g_variant_lookup(fields, want[i].key, "t", want[i].dst))
			return sv_rimg_refuse(error, "the snapshot's MM section has no '%s'",
					      want[i].key);
	return TRUE;
}

/* The saved auxv up to its first AT_NULL, which it always ends with. */
static gboolean saved_auxv(GArray *auxv, GVariant *mm, GError **error)
{
	g_autoptr(GVariant) pairs = g_variant_get_child_value(mm, 1);
	GVariantIter it;
	guint64 id, val;
	g_variant_iter_init(&it, pairs);
	while (g_variant_iter_next(&it, "(tt)", &id, &val)) {
		g_array_append_val(auxv, id);
		g_array_append_val(auxv, val);
		if (id == 0)
			break;
	}
	if (auxv->len == 0 || g_array_index(auxv, guint64, auxv->len - 2) != 0) {
		guint64 zero = 0;
		g_array_append_val(auxv, zero);
		g_array_append_val(auxv, zero);
	}
	if (auxv->len > 2 * MAX_AUXV)
		return sv_rimg_refuse(error,
				      "saved auxv has %u entries; the kernel keeps at most %u",
				      auxv->len / 2, MAX_AUXV);
	return TRUE;
}

gboolean sv_rimg_mm_build(SvRimgTables *t, GVariant *mm, GError **error)
{
	return mm_fields(&t->h, mm, error) && saved_auxv(t->auxv, mm, error);
}

gboolean sv_rimg_vmas_build(SvRimgTables *t, GVariant *vmas, GError **error)
{
	GVariantIter it;
	guint64 start, end, vm_flags, pgoff;
	guint32 prot;
	const char *name, *sha;
	g_variant_iter_init(&it, vmas);
	while (g_variant_iter_next(&it, "(ttutt&s&s)", &start, &end, &prot, &vm_flags, &pgoff,
				   &name, &sha)) {
		struct sv_rimg_vma e = {
			.start = start, .end = end, .pgoff = pgoff, .prot = prot & 7, .file = -1
		};
		for (guint k = 0; k < G_N_ELEMENTS(vma_flag_map); k++)
			if (vm_flags & vma_flag_map[k].vm_flag)
				e.flags |= vma_flag_map[k].rimg_flag;
		/* the kernel's own mappings come with the kernel's own flags */
		if (!strcmp(name, "[vdso]"))
			e.flags = SV_RIMG_VMA_VDSO;
		else if (!strcmp(name, "[vvar]"))
			e.flags = SV_RIMG_VMA_VVAR;
		else if (!strcmp(name, "[heap]"))
			e.flags |= SV_RIMG_VMA_HEAP;
		else if (name[0] == '[' && strcmp(name, "[stack]"))
			return sv_rimg_refuse(error,
					      "mapping %s at 0x%" G_GINT64_MODIFIER "x is a kernel "
					      "special mapping restore does not know",
					      name, start);
		gpointer memfile;
		if (g_hash_table_lookup_extended(t->memfile_by_vma, &start, NULL, &memfile)) {
			e.file = (gint32)GPOINTER_TO_UINT(memfile);
			if (g_array_index(t->files, struct sv_rimg_file, e.file).memfile ==
			    SV_RIMG_MEMFILE_SYSV)
				e.flags |= SV_RIMG_VMA_SYSV;
		} else if (name[0] == '/')
			e.file = (gint32)sv_rimg_add_file(t, name, sha);
		else if (name[0] && name[0] != '[')
			return sv_rimg_refuse(error,
					      "mapping at 0x%" G_GINT64_MODIFIER "x is named '%s', "
					      "which is neither a file nor a known region",
					      start, name);
		e.name_off = sv_rimg_add_string(t, name);
		g_array_append_val(t->vmas, e);
	}
	return TRUE;
}

static gint compare_runs(gconstpointer a, gconstpointer b)
{
	const SvRestorePageRun *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* Appends the page at va (byte offset off of section) to runs, joining
 * the last run when it continues it. */
static void keep_page(GArray *runs, guint64 va, guint32 section, guint64 off, guint64 ps)
{
	SvRestorePageRun *last = runs->len ? &g_array_index(runs, SvRestorePageRun, runs->len - 1)
					   : NULL;
	if (last && last->section == section && last->vaddr + last->npages * ps == va &&
	    last->offset + last->npages * ps == off) {
		last->npages++;
		return;
	}
	SvRestorePageRun piece = { .vaddr = va, .npages = 1, .section = section, .offset = off };
	g_array_append_val(runs, piece);
}

/* The pages of run x (in the private mapping v of file) that differ from
 * the file's bytes, appended to kept. */
static gboolean keep_changed_pages(GArray *kept, SvSnapshotReader *r, const SvRestorePageRun *x,
				   const struct sv_rimg_vma *v, GBytes *file, GError **error)
{
	const guint64 ps = sv_snapshot_reader_page_size(r);
	g_autoptr(GBytes) data = sv_snapshot_reader_section_data(r, x->section, error);
	if (!data)
		return FALSE;
	gsize flen;
	const guint8 *f = g_bytes_get_data(file, &flen);
	const guint8 *pg = (const guint8 *)g_bytes_get_data(data, NULL) + x->offset;
	static const guint8 zero[4096];
	for (guint64 k = 0; k < x->npages; k++, pg += ps) {
		guint64 va = x->vaddr + k * ps;
		guint64 foff = v->pgoff * ps + (va - v->start);
		gsize in = foff < flen ? MIN(ps, flen - foff) : 0;
		if ((in == 0 || !memcmp(pg, f + foff, in)) &&
		    (in == ps || !memcmp(pg + in, zero, ps - in)))
			continue;
		keep_page(kept, va, x->section, x->offset + k * ps, ps);
	}
	return TRUE;
}

GArray *sv_restore_pagemap_runs(GVariant *pagemap)
{
	GArray *runs = g_array_new(FALSE, FALSE, sizeof(SvRestorePageRun));
	GVariantIter it;
	SvRestorePageRun run;
	guint32 npages, section;
	g_variant_iter_init(&it, pagemap);
	while (g_variant_iter_next(&it, "(tuut)", &run.vaddr, &npages, &section, &run.offset)) {
		run.npages = npages;
		run.section = section;
		g_array_append_val(runs, run);
	}
	g_array_sort(runs, compare_runs);
	return runs;
}

gboolean sv_rimg_page_runs_build(SvRimgTables *t, SvSnapshotReader *r, GVariant *pagemap,
				 GError **error)
{
	g_autoptr(GArray) runs = sv_restore_pagemap_runs(pagemap);
	/* Pages of a private file mapping that hold exactly the file's bytes
	 * need not be stored: the mapping reads them from the file. Leaving
	 * them out keeps an unwritten mapping unwritten in the restored
	 * process (no copy-on-write pages, no VM_ACCOUNT), and moves less. */
	g_autoptr(GPtrArray)
		contents = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_ptr_array_set_size(contents, (gint)t->files->len);
	guint vi = 0;
	for (guint i = 0; i < runs->len; i++) {
		const SvRestorePageRun *x = &g_array_index(runs, SvRestorePageRun, i);
		while (vi < t->vmas->len &&
		       g_array_index(t->vmas, struct sv_rimg_vma, vi).end <= x->vaddr)
			vi++;
		const struct sv_rimg_vma *v =
			vi < t->vmas->len ? &g_array_index(t->vmas, struct sv_rimg_vma, vi) : NULL;
		if (!v || v->file < 0 || (v->flags & SV_RIMG_VMA_SHARED) ||
		    !g_array_index(t->files, struct sv_rimg_file, v->file).carried) {
			g_array_append_val(t->page_runs, *x);
			continue;
		}
		if (!contents->pdata[v->file])
			contents->pdata[v->file] =
				sv_snapshot_reader_file(r, t->file_shas->pdata[v->file], error);
		if (!contents->pdata[v->file] ||
		    !keep_changed_pages(t->page_runs, r, x, v, contents->pdata[v->file], error))
			return FALSE;
	}
	return TRUE;
}
