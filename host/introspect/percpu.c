/* SPDX-License-Identifier: MIT */
/*
 * percpu.c - per-CPU counters read from guest memory. A struct
 * percpu_counter (linux/percpu_counter.h) keeps a shared count and, per
 * CPU, a delta not yet folded into it; the kernel's exact value
 * (percpu_counter_sum, what /proc reports for a task's RSS since 6.2) adds
 * them. A CPU's copy of a __percpu pointer p is at p + __per_cpu_offset[cpu]
 * (asm-generic/percpu.h; x86_64, arm64 and riscv64 alike).
 */
#include "host/introspect/introspect-private.h"

#include "base/errors.h"
#include "snapvm/le.h"

/* More than any guest snapvm boots; a hostile nr_cpu_ids stops here. */
#define MAX_CPUS 1024

gboolean sv_introspect_percpu_counter_sum(const SvIntrospect *in, guint64 counter, gint64 *ret,
					  GError **error)
{
	guint64 count_off, counters_off, offsets, nr_va;
	if (!sv_kernel_types_offset(in->types, "percpu_counter", "count", &count_off, error) ||
	    !sv_kernel_types_offset(in->types, "percpu_counter", "counters", &counters_off, error))
		return FALSE;
	if (!sv_kallsyms_lookup(in->syms, "__per_cpu_offset", &offsets, NULL) ||
	    !sv_kallsyms_lookup(in->syms, "nr_cpu_ids", &nr_va, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "the guest kernel names no __per_cpu_offset or nr_cpu_ids "
			    "(CONFIG_KALLSYMS_ALL)");
		return FALSE;
	}
	guint8 b[8], n4[4];
	if (!sv_introspect_read(in, counter + count_off, b, 8, error) ||
	    !sv_introspect_read(in, nr_va, n4, 4, error))
		return FALSE;
	gint64 sum = (gint64)sv_get_le64(b);
	guint32 nr = sv_get_le32(n4);
	if (!sv_introspect_read(in, counter + counters_off, b, 8, error))
		return FALSE;
	guint64 counters = sv_get_le64(b);
	for (guint32 cpu = 0; cpu < MIN(nr, MAX_CPUS); cpu++) {
		if (!sv_introspect_read(in, offsets + 8 * cpu, b, 8, error) ||
		    !sv_introspect_read(in, counters + sv_get_le64(b), n4, 4, error))
			return FALSE;
		sum += (gint32)sv_get_le32(n4);
	}
	*ret = sum;
	return TRUE;
}
