/* SPDX-License-Identifier: MIT */
/*
 * lazy-image.c - which pages `restore --lazy` places after the process
 * resumes (SV_RIMG_LAZY, include/snapvm/restore-image-format.h): those of
 * its private anonymous mappings - heap, stack, anonymous mmap - the
 * memory a large process is made of. A userfaultfd registered in MISSING
 * mode serves only anonymous, shmem and hugetlb memory, so a private file
 * mapping's changed pages stay eager (the file would show through a
 * missing page); shared and SysV memory is carried as files anyway. A
 * locked mapping (mlock) stays eager too: the blob's mlock faults every
 * page in, which would only make every page wait for the pager. So does a
 * MADV_WIPEONFORK one: a child forked meanwhile keeps its registration,
 * and the pager would fill the child's copy, which must read zero.
 */
#include "host/restore/restore-image-parts.h"

static gboolean lazy_candidate(const struct sv_rimg_vma *v)
{
	return v->file < 0 &&
	       !(v->flags & (SV_RIMG_VMA_SHARED | SV_RIMG_VMA_SYSV | SV_RIMG_VMA_VDSO |
			     SV_RIMG_VMA_VVAR | SV_RIMG_VMA_LOCKED | SV_RIMG_VMA_WIPEONFORK));
}

/* Appends pages [from, from + n) of run x to out. */
static void append_piece(GArray *out, const SvRestorePageRun *x, guint64 from, guint64 n,
			 guint64 ps)
{
	SvRestorePageRun piece = { .vaddr = x->vaddr + from * ps,
				   .npages = n,
				   .section = x->section,
				   .offset = x->offset + from * ps };
	g_array_append_val(out, piece);
}

void sv_rimg_lazy_split(SvRimgTables *t, guint64 ps)
{
	g_autoptr(GArray) eager = g_array_new(FALSE, FALSE, sizeof(SvRestorePageRun));
	guint vi = 0;
	for (guint i = 0; i < t->page_runs->len; i++) {
		const SvRestorePageRun *x = &g_array_index(t->page_runs, SvRestorePageRun, i);
		/* a run may span adjacent mappings: cut at their edges */
		for (guint64 k = 0; k < x->npages;) {
			guint64 va = x->vaddr + k * ps;
			while (vi < t->vmas->len &&
			       g_array_index(t->vmas, struct sv_rimg_vma, vi).end <= va)
				vi++;
			struct sv_rimg_vma *v = vi < t->vmas->len
							? &g_array_index(t->vmas,
									 struct sv_rimg_vma, vi)
							: NULL;
			gboolean inside = v && v->start <= va;
			guint64 n = x->npages - k;
			if (inside)
				n = MIN(n, (v->end - va) / ps);
			else if (v)
				n = MIN(n, (v->start - va) / ps);
			if (inside && lazy_candidate(v)) {
				v->flags |= SV_RIMG_VMA_LAZY;
				append_piece(t->lazy_runs, x, k, n, ps);
			} else {
				append_piece(eager, x, k, n, ps);
			}
			k += n;
		}
	}
	g_array_set_size(t->page_runs, 0);
	g_array_append_vals(t->page_runs, eager->data, eager->len);
}
