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

/* process-env.c: the guest's CLOCK_MONOTONIC at its last timekeeping
 * update, in ns, from tk_core (which needs the kernel's data symbols), and
 * if ret_offs_boot, CLOCK_BOOTTIME's offset from it (tk->offs_boot). */
gboolean sv_introspect_guest_monotonic(const SvIntrospect *in, guint64 *ret, guint64 *ret_offs_boot,
				       GError **error);

#endif
