/* SPDX-License-Identifier: MIT */
/* ppc64le-private.h - the hooks of ppc64le-state.c and ppc64le-gdb.c,
 * listed in the ops table in ppc64le.c. */
#ifndef SNAPVM_PPC64LE_PRIVATE_H
#define SNAPVM_PPC64LE_PRIVATE_H

#include "snapvm/arch.h"

/*
 * The snapshot's "ppc64-vsx" FPU image: the three regsets ptrace gives, one
 * after the other, so each compares with its own and restore hands them
 * back as the signal frame wants them:
 *   NT_PRFPREG  f0-f31, fpscr (64 bits each);
 *   NT_PPC_VMX  vr0-vr31, vscr (a vector128 as thread_struct keeps it),
 *               vrsave (its 32 bits first in a 16-byte slot);
 *   NT_PPC_VSX  the other doubleword of vs0-vs31 (f0-f31 are the first).
 */
#define SV_PPC64LE_FPU_FORMAT "ppc64-vsx"
#define SV_PPC64LE_FPU_FPR 0
#define SV_PPC64LE_FPU_FPSCR (32 * 8)
#define SV_PPC64LE_FPU_VR (33 * 8)
#define SV_PPC64LE_FPU_VSCR (SV_PPC64LE_FPU_VR + 32 * 16)
#define SV_PPC64LE_FPU_VRSAVE (SV_PPC64LE_FPU_VSCR + 16)
#define SV_PPC64LE_FPU_VSX (SV_PPC64LE_FPU_VRSAVE + 16)
#define SV_PPC64LE_FPU_SIZE (SV_PPC64LE_FPU_VSX + 32 * 8)

/* The image's parts, each live in the CPU or saved in thread_struct on
 * its own (MSR_FP, MSR_VEC, MSR_VSX). */
enum { SV_PPC64LE_PART_FP, SV_PPC64LE_PART_VMX, SV_PPC64LE_PART_VSX, SV_PPC64LE_PARTS };

GVariant *sv_ppc64le_named_regs(const struct SvKernelTypes *types, GBytes *pt_regs, GError **error);
gboolean sv_ppc64le_task_fpu(const SvKernelReader *rd, guint64 task, SvFpuState *ret,
			     GError **error);
gboolean sv_ppc64le_fpu_cpu_needs(guint64 features, gsize fpu_size, GPtrArray *ret_needs,
				  GError **error);
GVariant *sv_ppc64le_task_tls(const SvKernelReader *rd, guint64 task, GError **error);
gboolean sv_ppc64le_vcpu_user_state(const struct SvKernelTypes *types, const SvVcpuRegs *vcpu,
				    GBytes **ret_pt_regs, GVariant **ret_tls, SvFpuState *ret_fpu,
				    GError **error);
gboolean sv_ppc64le_vcpu_fpu_complete(const SvKernelReader *rd, guint64 task,
				      const SvVcpuRegs *vcpu, SvFpuState *fpu, GError **error);
GBytes *sv_ppc64le_syscall_fixup(const SvKernelReader *rd, guint64 task, GBytes *pt_regs,
				 SvSyscallFixup *ret_fixup, GError **error);

/* The gdb_vcpu_regs hook (ppc64le-gdb.c). */
gboolean sv_ppc64le_gdb_vcpu_regs(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error);

#endif
