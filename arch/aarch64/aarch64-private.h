/* SPDX-License-Identifier: MIT */
/* aarch64-private.h - the hooks of aarch64-state.c, listed in the ops table
 * in aarch64.c. */
#ifndef SNAPVM_AARCH64_PRIVATE_H
#define SNAPVM_AARCH64_PRIVATE_H

#include "snapvm/arch.h"

GVariant *sv_aarch64_named_regs(const struct SvKernelTypes *types, GBytes *pt_regs, GError **error);
gboolean sv_aarch64_task_fpu(const SvKernelReader *rd, guint64 task, SvFpuState *ret,
			     GError **error);
gboolean sv_aarch64_fpu_cpu_needs(guint64 features, gsize fpu_size, GPtrArray *ret_needs,
				  GError **error);
GVariant *sv_aarch64_task_tls(const SvKernelReader *rd, guint64 task, GError **error);
gboolean sv_aarch64_vcpu_user_state(const struct SvKernelTypes *types, const SvVcpuRegs *vcpu,
				    GBytes **ret_pt_regs, GVariant **ret_tls, SvFpuState *ret_fpu,
				    GError **error);
GBytes *sv_aarch64_syscall_fixup(const SvKernelReader *rd, guint64 task, GBytes *pt_regs,
				 SvSyscallFixup *ret_fixup, GError **error);
/* The gdb_vcpu_regs hook (aarch64-gdb.c). */
gboolean sv_aarch64_gdb_vcpu_regs(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error);

#endif
