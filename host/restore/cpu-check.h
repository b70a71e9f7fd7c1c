/* SPDX-License-Identifier: MIT */
/*
 * cpu-check.h - refuses, before any guest boots, a restore whose guest CPU
 * model lacks what the snapshot's FPU/SIMD state needs.
 *
 * The arch says what the state needs in QEMU's CPU property names
 * (SvArchOps.fpu_cpu_needs); QEMU says what a model has under TCG
 * (host/qemu/cpu-probe.h). The guest restorer checks again against the CPU
 * it runs on (rst_arch_check_cpu), for what this cannot see.
 */
#ifndef SNAPVM_RESTORE_CPU_CHECK_H
#define SNAPVM_RESTORE_CPU_CHECK_H

#include <glib.h>

#include "snapvm/arch.h"
#include "host/qemu/cpu-probe.h"
#include "host/snapshot/snapshot-reader.h"

/* Pure. The needs (const SvCpuNeed *) that model lacks, in order. */
GPtrArray *sv_cpu_needs_missing(const GPtrArray *needs, const SvCpuModelFeatures *model);

/* Pure. TRUE if chosen has every need; else an error naming the model, what
 * it lacks and what to pick instead: the default model (dflt) or max
 * when they have it. chosen_is_default: no --cpu was given. dflt and max
 * may be NULL (not asked). */
gboolean sv_cpu_check_needs(const GPtrArray *needs, const SvCpuModelFeatures *chosen,
			    gboolean chosen_is_default, const SvCpuModelFeatures *dflt,
			    const SvCpuModelFeatures *max, GError **error);

/* The whole check for a snapshot: its FPU state's needs (arch), the
 * chosen model (NULL: the arch's default; the kvm backend presents that
 * one too) asked of QEMU with the default and max. When QEMU cannot be
 * asked, the check is left to the guest and *ret_skipped says why (the
 * caller may say so); a refusal is an error. */
gboolean sv_restore_check_cpu(SvSnapshotReader *r, const SvArchOps *arch, const char *cpu_model,
			      char **ret_skipped, GError **error);

#endif
