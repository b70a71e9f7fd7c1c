/* SPDX-License-Identifier: MIT */
/* x86_64-private.h - shared by the files of arch/x86_64/; the hooks of
 * x86_64-state.c, listed in the ops table in x86_64.c. */
#ifndef SNAPVM_X86_64_PRIVATE_H
#define SNAPVM_X86_64_PRIVATE_H

#include "snapvm/arch.h"

/* QEMU's pc board's RAM layout, which the kvm board shares (x86_64.c). */
guint sv_x86_pc_ram_layout(guint64 ram_size, SvRamRegion *regions);

GVariant *sv_x86_named_regs(const struct SvKernelTypes *types, GBytes *pt_regs, GError **error);
gboolean sv_x86_task_fpu(const SvKernelReader *rd, guint64 task, SvFpuState *ret, GError **error);
gboolean sv_x86_fpu_cpu_needs(guint64 features, gsize fpu_size, GPtrArray *ret_needs,
			      GError **error);
GVariant *sv_x86_task_tls(const SvKernelReader *rd, guint64 task, GError **error);
gboolean sv_x86_vcpu_user_state(const struct SvKernelTypes *types, const SvVcpuRegs *vcpu,
				GBytes **ret_pt_regs, GVariant **ret_tls, SvFpuState *ret_fpu,
				GError **error);
/* The vcpu_fpu_complete hook: PKRU, which QEMU's gdbstub lacks. */
gboolean sv_x86_vcpu_fpu_complete(const SvKernelReader *rd, guint64 task, const SvVcpuRegs *vcpu,
				  SvFpuState *fpu, GError **error);
GBytes *sv_x86_syscall_fixup(const SvKernelReader *rd, guint64 task, GBytes *pt_regs,
			     SvSyscallFixup *ret_fixup, GError **error);
/* What QEMU's gdbstub lacks of an XSAVE image, from "info registers" text:
 * x[4] (FTW) and, when the guest enabled AVX, YMM_Hi128 and bit 2 of
 * *features. */
gboolean sv_x86_monitor_avx_and_tags(const char *text, guint8 *x, guint64 *features,
				     GError **error);
/* The kernel's XSAVE buffer (len bytes: standard or compacted format) as
 * the standard-format image a snapshot holds: the components of
 * user_features the task uses, those in their init state holding the init
 * values; *ret_features is the image's XSTATE_BV. */
GBytes *sv_x86_xsave_to_standard(const guint8 *buf, gsize len, guint64 user_features,
				 guint64 *ret_features, GError **error);
/* Bytes of a standard-format XSAVE image holding the components in features. */
gsize sv_x86_xsave_standard_size(guint64 features);
/* The host's TSC frequency in kHz, measured (0 where the host is not
 * x86_64, its TSC's rate not constant, or no reading steady enough), and the kernel parameters a
 * guest under TCG gets for its clocks from it (NULL for none): the qemu
 * board's clock_cmdline hook (tcg-clock.c says why). */
guint64 sv_x86_host_tsc_khz(void);
char *sv_x86_tcg_clock_cmdline(void);
/* The gdb_vcpu_regs hook (x86_64-gdb.c). */
gboolean sv_x86_gdb_vcpu_regs(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error);

#endif
