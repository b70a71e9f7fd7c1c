/* SPDX-License-Identifier: MIT */
/* introspect-private.h - shared by the files of host/introspect/. */
#ifndef SNAPVM_INTROSPECT_PRIVATE_H
#define SNAPVM_INTROSPECT_PRIVATE_H

#include "host/introspect/introspect.h"
#include "base/kallsyms.h"
#include "base/kernel-types.h"

struct SvIntrospect {
	const SvArchOps *arch;
	const SvGuestMem *mem;
	SvKernelTypes *types;
	SvKallsyms *syms;
	SvKernelSpace space;
	/* the guest's CLOCK_MONOTONIC at the pause, in ns, as told by
	 * sv_introspect_set_guest_clock; 0: unknown */
	guint64 clock_hint_ns;
};

/* The exact value of the struct percpu_counter at counter (its count plus
 * every CPU's delta), percpu.c. */
gboolean sv_introspect_percpu_counter_sum(const SvIntrospect *in, guint64 counter, gint64 *ret,
					  GError **error);

/* struct-page.c: struct page addresses to page frames (the vmemmap). */
typedef struct {
	guint64 vmemmap; /* the struct page of first_pfn */
	guint64 first_pfn;
	guint64 page_size; /* sizeof(struct page) */
} SvStructPages;
gboolean sv_struct_pages_init(const SvIntrospect *in, SvStructPages *sp, GError **error);
gboolean sv_struct_page_frame(const SvStructPages *sp, guint64 page, guint64 *ret_pfn,
			      GError **error);

#endif
