/* SPDX-License-Identifier: MIT */
/* riscv64-private.h - the hooks of riscv64-state.c and riscv64-gdb.c,
 * listed in the ops table in riscv64.c. */
#ifndef SNAPVM_RISCV64_PRIVATE_H
#define SNAPVM_RISCV64_PRIVATE_H

#include "snapvm/arch.h"

/* struct __riscv_d_ext_state (NT_PRFPREG, the snapshot's "riscv-d" FPU
 * format): f0-f31, 64 bits each, then fcsr, 32 bits, and 4 bytes of the
 * struct's padding (the size ptrace and thread.fstate have). */
#define SV_RISCV64_FPU_SIZE (32 * 8 + 8)

GVariant *sv_riscv64_named_regs(const struct SvKernelTypes *types, GBytes *pt_regs, GError **error);
gboolean sv_riscv64_task_fpu(const SvKernelReader *rd, guint64 task, SvFpuState *ret,
			     GError **error);
gboolean sv_riscv64_fpu_cpu_needs(guint64 features, gsize fpu_size, GPtrArray *ret_needs,
				  GError **error);
GVariant *sv_riscv64_task_tls(const SvKernelReader *rd, guint64 task, GError **error);
gboolean sv_riscv64_vcpu_user_state(const struct SvKernelTypes *types, const SvVcpuRegs *vcpu,
				    GBytes **ret_pt_regs, GVariant **ret_tls, SvFpuState *ret_fpu,
				    GError **error);
gboolean sv_riscv64_vcpu_fpu_complete(const SvKernelReader *rd, guint64 task,
				      const SvVcpuRegs *vcpu, SvFpuState *fpu, GError **error);
GBytes *sv_riscv64_syscall_fixup(const SvKernelReader *rd, guint64 task, GBytes *pt_regs,
				 SvSyscallFixup *ret_fixup, GError **error);

/* The gdb_vcpu_regs hook (riscv64-gdb.c). */
gboolean sv_riscv64_gdb_vcpu_regs(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error);

#endif
