/* SPDX-License-Identifier: MIT */
/*
 * aarch64-state.c - what a checkpoint reads of an arm64 task beyond memory:
 * user registers (struct pt_regs, asm/ptrace.h), the FPSIMD state (struct
 * user_fpsimd_state in thread.uw, asm/processor.h), the thread pointers
 * (thread.uw.tp_value = TPIDR_EL0), and the same registers live from a vCPU
 * for a task that was running at EL0 when the VM was paused.
 *
 * Offsets come from the kernel's BTF; only architectural constants are here.
 */
#include <string.h>

#include "arch/aarch64/aarch64-private.h"
#include "arch/arch-tables.h"
#include "base/kernel-types.h"

#define NUM_X 31
#define FPSIMD_SIZE 528 /* vregs[32] (16 bytes each), fpsr, fpcr, 8 reserved */
#define TIF_SVE 23	/* asm/thread_info.h: SVE state in use */
#define TIF_SME 27	/* SME (streaming mode, ZA) state in use */

/* regs[i] of a raw pt_regs: the array's offset plus 8 per register */
static gboolean x_offset(const SvKernelTypes *types, gsize len, guint i, guint64 *ret,
			 GError **error)
{
	guint64 off;
	if (!sv_kernel_types_offset(types, "pt_regs", "regs", &off, error))
		return FALSE;
	if (off + 8 * (i + 1) > len) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA, "aarch64: pt_regs too short");
		return FALSE;
	}
	*ret = off + 8 * i;
	return TRUE;
}

/* The snapshot's aarch64 register names (frozen once files exist). */
static const char *const scalar_names[] = { "sp", "pc", "pstate", "orig_x0", "syscallno" };

GVariant *sv_aarch64_named_regs(const SvKernelTypes *types, GBytes *pt_regs, GError **error)
{
	gsize len;
	const guint8 *p = g_bytes_get_data(pt_regs, &len);
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{st}"));
	for (guint i = 0; i < NUM_X; i++) {
		guint64 off;
		if (!x_offset(types, len, i, &off, error))
			return NULL;
		char name[8];
		g_snprintf(name, sizeof(name), "x%u", i);
		g_variant_builder_add(&b, "{st}", name, sv_get_le64(p + off));
	}
	for (guint i = 0; i < G_N_ELEMENTS(scalar_names); i++) {
		guint64 v;
		if (!sv_arch_struct_member(types, "pt_regs", scalar_names[i], pt_regs, &v, error))
			return NULL;
		g_variant_builder_add(&b, "{st}", scalar_names[i], v);
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

gboolean sv_aarch64_task_fpu(const SvKernelReader *rd, guint64 task, SvFpuState *ret,
			     GError **error)
{
	guint64 flags;
	if (!sv_arch_read_u64(rd, task, "task_struct", "thread_info.flags", &flags, error))
		return FALSE;
	/* Both only on CPUs that have them (--cpu max, a64fx, ...). */
	if (flags & ((1ull << TIF_SVE) | (1ull << TIF_SME))) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "aarch64: the task uses %s, whose state snapvm does not carry; run it "
			    "on a CPU model without it (the default cortex-a57)",
			    flags & (1ull << TIF_SVE) ? "SVE" : "SME");
		return FALSE;
	}
	guint8 *buf = g_malloc(FPSIMD_SIZE);
	if (!sv_arch_read_member(rd, task, "task_struct", "thread.uw.fpsimd_state", buf,
				 FPSIMD_SIZE, error)) {
		g_free(buf);
		return FALSE;
	}
	ret->raw = g_bytes_new_take(buf, FPSIMD_SIZE);
	ret->features = 0;
	ret->format = "fpsimd";
	return TRUE;
}

GVariant *sv_aarch64_task_tls(const SvKernelReader *rd, guint64 task, GError **error)
{
	guint64 tp, tp2 = 0;
	if (!sv_arch_read_u64(rd, task, "task_struct", "thread.uw.tp_value", &tp, error))
		return NULL;
	/* TPIDR2_EL0 exists for SME; kernels without it have no tp2_value */
	sv_arch_read_u64(rd, task, "task_struct", "thread.uw.tp2_value", &tp2, NULL);
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "tpidr_el0", g_variant_new_uint64(tp));
	g_variant_builder_add(&b, "{sv}", "tpidr2_el0", g_variant_new_uint64(tp2));
	g_variant_builder_add(&b, "{sv}", "source", g_variant_new_string("memory"));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

/*
 * The vCPU gives x0-x30, SP (SP_EL0 at EL0), PC, PSTATE and the FPSIMD
 * registers. TPIDR_EL0 comes from the vCPU too when the backend read it
 * (QEMU's gdbstub has it); else - QEMU's monitor dump has none - the
 * thread pointer is the one the kernel saved when the task last left a CPU
 * (tls_thread_switch), which is current unless the program rewrote
 * TPIDR_EL0 since: static C programs set it once at start-up.
 */
gboolean sv_aarch64_vcpu_user_state(const SvKernelTypes *types, const SvVcpuRegs *vcpu,
				    GBytes **ret_pt_regs, GVariant **ret_tls, SvFpuState *ret_fpu,
				    GError **error)
{
	guint64 size;
	if (!sv_kernel_types_size(types, "pt_regs", NULL, &size, error))
		return FALSE;
	if (vcpu->fpu_size != FPSIMD_SIZE) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "aarch64: the machine backend gave no FPSIMD registers for the vCPU the "
			    "task runs on");
		return FALSE;
	}
	g_autofree guint8 *raw = g_malloc0(size);
	for (guint i = 0; i < NUM_X; i++) {
		char name[8];
		guint64 v, off;
		g_snprintf(name, sizeof(name), "x%u", i);
		if (!sv_vcpu_regs_get(vcpu, name, &v)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "aarch64: the vCPU register dump lacks %s", name);
			return FALSE;
		}
		if (!x_offset(types, size, i, &off, error))
			return FALSE;
		sv_put_le64(raw + off, v);
	}
	guint64 pstate = 0, x0 = 0;
	sv_vcpu_regs_get(vcpu, "pstate", &pstate);
	sv_vcpu_regs_get(vcpu, "x0", &x0);
	/* interrupted at EL0, not in a syscall: syscallno NO_SYSCALL (-1) */
	if (!sv_arch_struct_set(types, "pt_regs", "sp", raw, size, vcpu->sp, error) ||
	    !sv_arch_struct_set(types, "pt_regs", "pc", raw, size, vcpu->pc, error) ||
	    !sv_arch_struct_set(types, "pt_regs", "pstate", raw, size, pstate, error) ||
	    !sv_arch_struct_set(types, "pt_regs", "orig_x0", raw, size, x0, error) ||
	    !sv_arch_struct_set(types, "pt_regs", "syscallno", raw, size, G_MAXUINT64, error))
		return FALSE;
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{sv}"));
	guint64 tp;
	gboolean live_tp = sv_vcpu_regs_get(vcpu, "tpidr_el0", &tp);
	if (live_tp)
		g_variant_builder_add(&b, "{sv}", "tpidr_el0", g_variant_new_uint64(tp));
	g_variant_builder_add(&b, "{sv}", "source",
			      g_variant_new_string(live_tp ? "vcpu" : "vcpu+memory"));
	*ret_tls = g_variant_ref_sink(g_variant_builder_end(&b));
	ret_fpu->raw = g_bytes_new(vcpu->fpu, vcpu->fpu_size);
	ret_fpu->features = 0;
	ret_fpu->format = "fpsimd";
	*ret_pt_regs = g_bytes_new_take(g_steal_pointer(&raw), size);
	return TRUE;
}

#define SVC_INSN_LEN 4

/*
 * A task in a syscall has syscallno >= 0 (el0_svc_common). Asleep inside
 * it, x0 still holds the first argument (orig_x0; the result is stored only
 * on return); preempted on the way out with -ERESTART*, x0 holds that code.
 * Either way the call is issued again: pc back onto the svc, x0 = orig_x0;
 * x8 still holds the number. arm64's do_signal makes the same rewind before
 * a stop (guest-linux-facts.md 3), so a stopped task shows syscallno -1 and
 * needs nothing. RESTARTBLOCK would go through kernel state a snapshot does
 * not carry: the original call is issued again instead.
 */
GBytes *sv_aarch64_syscall_fixup(const SvKernelReader *rd, guint64 task, GBytes *pt_regs,
				 SvSyscallFixup *ret_fixup, GError **error)
{
	const SvKernelTypes *types = rd->types;
	guint64 syscallno, orig_x0, pc, x0_off;
	gsize len;
	const guint8 *p = g_bytes_get_data(pt_regs, &len);
	if (!sv_arch_struct_member(types, "pt_regs", "syscallno", pt_regs, &syscallno, error) ||
	    !sv_arch_struct_member(types, "pt_regs", "orig_x0", pt_regs, &orig_x0, error) ||
	    !sv_arch_struct_member(types, "pt_regs", "pc", pt_regs, &pc, error) ||
	    !x_offset(types, len, 0, &x0_off, error))
		return NULL;
	*ret_fixup = SV_SYSCALL_NONE;
	gint64 x0 = (gint64)sv_get_le64(p + x0_off);
	if ((gint64)syscallno < 0)
		return g_bytes_ref(pt_regs);
	if ((guint64)x0 == orig_x0)
		*ret_fixup = SV_SYSCALL_REEXECUTE;
	else if (sv_arch_is_restart_code(x0))
		*ret_fixup = SV_SYSCALL_RESTART;
	else
		return g_bytes_ref(pt_regs);
	g_autofree guint8 *raw = g_memdup2(p, len);
	sv_put_le64(raw + x0_off, orig_x0);
	if (!sv_arch_struct_set(types, "pt_regs", "pc", raw, len, pc - SVC_INSN_LEN, error))
		return NULL;
	return g_bytes_new_take(g_steal_pointer(&raw), len);
}

/* An FPSIMD record (v0-v31, fpsr, fpcr) loads on any CPU with AArch64:
 * FP and Advanced SIMD are mandatory there. QEMU's 32-bit-only models
 * (cortex-a15, ...) lack the aarch64 property. */
static const SvCpuNeed need_aarch64 = { "AArch64 with FP/SIMD", { "aarch64", NULL } };

gboolean sv_aarch64_fpu_cpu_needs(guint64 features, gsize fpu_size, GPtrArray *ret_needs,
				  GError **error)
{
	if (features != 0 || fpu_size != FPSIMD_SIZE) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "aarch64: the snapshot's FPU state (%" G_GSIZE_FORMAT
			    " bytes, features 0x%" G_GINT64_MODIFIER "x) is not an FPSIMD record",
			    fpu_size, features);
		return FALSE;
	}
	g_ptr_array_add(ret_needs, (gpointer)&need_aarch64);
	return TRUE;
}
