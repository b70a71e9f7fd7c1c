/* SPDX-License-Identifier: MIT */
/*
 * riscv64-state.c - what a checkpoint reads of a riscv64 task beyond
 * memory: user registers (struct pt_regs, asm/ptrace.h: epc, x1-x31 by ABI
 * name, status, badaddr, cause, orig_a0), the F/D state (struct
 * __riscv_d_ext_state in thread.fstate, saved there when the task leaves
 * its CPU), the thread pointer (tp, x4: one of the user registers), and the
 * same registers live from a vCPU for a task that was running in U-mode.
 *
 * Offsets come from the kernel's BTF; only architectural constants are here.
 */
#include <string.h>

#include "arch/arch-tables.h"
#include "arch/riscv64/riscv64-private.h"
#include "base/kernel-types.h"

/* pt_regs members after epc, x1-x31 in order: the snapshot's register
 * names are these (with "x0" never stored: it is zero). */
static const char *const x_names[32] = {
	NULL, "ra", "sp", "gp", "tp",  "t0",  "t1", "t2", "s0", "s1", "a0",
	"a1", "a2", "a3", "a4", "a5",  "a6",  "a7", "s2", "s3", "s4", "s5",
	"s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};
static const char *const other_names[] = { "epc", "status", "badaddr", "cause", "orig_a0" };

GVariant *sv_riscv64_named_regs(const SvKernelTypes *types, GBytes *pt_regs, GError **error)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{st}"));
	for (guint i = 0; i < G_N_ELEMENTS(x_names) + G_N_ELEMENTS(other_names); i++) {
		const char *name = i < 32 ? x_names[i] : other_names[i - 32];
		guint64 v;
		if (!name)
			continue;
		if (!sv_arch_struct_member(types, "pt_regs", name, pt_regs, &v, error))
			return NULL;
		g_variant_builder_add(&b, "{st}", name, v);
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

gboolean sv_riscv64_task_fpu(const SvKernelReader *rd, guint64 task, SvFpuState *ret,
			     GError **error)
{
	/* thread.vstate.datap is allocated on a task's first vector
	 * instruction (riscv_v_first_use_handler): from then on it has V
	 * state, which a snapshot does not carry. CPUs without V (the default
	 * rv64) never get there. */
	guint64 datap = 0;
	if (sv_arch_read_u64(rd, task, "task_struct", "thread.vstate.datap", &datap, NULL) &&
	    datap) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "riscv64: the task uses the vector extension (V), whose state snapvm "
			    "does not carry; run it on a CPU model without V (the default rv64)");
		return FALSE;
	}
	guint8 *buf = g_malloc(SV_RISCV64_FPU_SIZE);
	if (!sv_arch_read_member(rd, task, "task_struct", "thread.fstate", buf, SV_RISCV64_FPU_SIZE,
				 error)) {
		g_free(buf);
		return FALSE;
	}
	ret->raw = g_bytes_new_take(buf, SV_RISCV64_FPU_SIZE);
	ret->features = 0;
	ret->format = "riscv-d";
	return TRUE;
}

/* tp is x4, in the user registers already: no TLS state of its own. */
GVariant *sv_riscv64_task_tls(const SvKernelReader *rd, guint64 task, GError **error)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "source", g_variant_new_string("registers"));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* scause of the interrupt that took a running task off user mode as the
 * kernel would have stored it: the supervisor timer (any interrupt: only
 * "not EXC_SYSCALL" matters to syscall_fixup) */
#define CAUSE_IRQ_S_TIMER ((1ull << 63) | 5)

gboolean sv_riscv64_vcpu_user_state(const SvKernelTypes *types, const SvVcpuRegs *vcpu,
				    GBytes **ret_pt_regs, GVariant **ret_tls, SvFpuState *ret_fpu,
				    GError **error)
{
	guint64 size;
	if (!sv_kernel_types_size(types, "pt_regs", NULL, &size, error))
		return FALSE;
	if (vcpu->fpu_size != SV_RISCV64_FPU_SIZE) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "riscv64: the machine backend gave no F/D registers for the vCPU the "
			    "task runs on");
		return FALSE;
	}
	g_autofree guint8 *raw = g_malloc0(size);
	guint64 a0 = 0;
	for (guint i = 1; i < 32; i++) {
		char name[8];
		guint64 v;
		g_snprintf(name, sizeof(name), "x%u", i);
		if (!sv_vcpu_regs_get(vcpu, name, &v)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "riscv64: the vCPU register dump lacks %s", name);
			return FALSE;
		}
		if (!sv_arch_struct_set(types, "pt_regs", x_names[i], raw, size, v, error))
			return FALSE;
		if (i == 10)
			a0 = v;
	}
	if (!sv_arch_struct_set(types, "pt_regs", "epc", raw, size, vcpu->pc, error) ||
	    !sv_arch_struct_set(types, "pt_regs", "cause", raw, size, CAUSE_IRQ_S_TIMER, error) ||
	    !sv_arch_struct_set(types, "pt_regs", "orig_a0", raw, size, a0, error))
		return FALSE;
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "source", g_variant_new_string("vcpu"));
	*ret_tls = g_variant_ref_sink(g_variant_builder_end(&b));
	ret_fpu->raw = g_bytes_new(vcpu->fpu, vcpu->fpu_size);
	ret_fpu->features = 0;
	ret_fpu->format = "riscv-d";
	*ret_pt_regs = g_bytes_new_take(g_steal_pointer(&raw), size);
	return TRUE;
}

/* sstatus.FS (asm/csr.h): the F/D state since the kernel last loaded or
 * saved it - Off, Initial, Clean: unchanged; Dirty: written since. */
#define SR_FS_SHIFT 13
#define SR_FS_DIRTY 3

/*
 * The vCPU's fcsr when the backend could not read it: while FS is not Dirty
 * the hart's F/D state is what the kernel last restored from (or saved to)
 * thread.fstate - fcsr included, whose accrued flags would make FS Dirty
 * too - so the saved fcsr is the live one. A Dirty one is refused: the live
 * value is unknown.
 */
gboolean sv_riscv64_vcpu_fpu_complete(const SvKernelReader *rd, guint64 task,
				      const SvVcpuRegs *vcpu, SvFpuState *fpu, GError **error)
{
	guint64 unknown = 0, sstatus;
	if (!sv_vcpu_regs_get(vcpu, "fcsr_unknown", &unknown) || !unknown)
		return TRUE;
	if (!sv_vcpu_regs_get(vcpu, "sstatus", &sstatus) ||
	    ((sstatus >> SR_FS_SHIFT) & 3) == SR_FS_DIRTY) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "riscv64: the task was changing its floating-point state on its vCPU "
			    "and QEMU 7.2's gdbstub cannot read fcsr; checkpoint it again, or "
			    "with --kill (which freezes it in the kernel first)");
		return FALSE;
	}
	guint32 fcsr;
	if (!sv_arch_read_u32(rd, task, "task_struct", "thread.fstate.fcsr", &fcsr, error))
		return FALSE;
	/* the image vcpu_user_state made, of SV_RISCV64_FPU_SIZE bytes */
	gsize len = g_bytes_get_size(fpu->raw);
	guint8 *raw = g_memdup2(g_bytes_get_data(fpu->raw, NULL), len);
	sv_put_le32(raw + 32 * 8, fcsr);
	g_bytes_unref(fpu->raw);
	fpu->raw = g_bytes_new_take(raw, len);
	return TRUE;
}

/* include/linux/errno.h, asm/csr.h */
#define ENOSYS 38
#define EXC_SYSCALL 8
#define ECALL_INSN_LEN 4

/*
 * A task that entered a syscall has cause EXC_SYSCALL, epc already past the
 * ecall, orig_a0 = the first argument and a0 = -ENOSYS until the call
 * returns (do_trap_ecall_u). Asleep inside it a0 is still -ENOSYS; preempted
 * on the way out with -ERESTART*, a0 holds that code. Either way the call
 * is issued again: epc back onto the ecall, a0 = orig_a0; a7 still holds
 * the number. riscv's arch_do_signal_or_restart makes the same rewind before
 * a stop and sets cause to -1, so a stopped (or frozen) task needs nothing.
 * RESTARTBLOCK would go through kernel state a snapshot does not carry: the
 * original call is issued again instead.
 */
GBytes *sv_riscv64_syscall_fixup(const SvKernelReader *rd, guint64 task, GBytes *pt_regs,
				 SvSyscallFixup *ret_fixup, GError **error)
{
	const SvKernelTypes *types = rd->types;
	guint64 cause, orig_a0, epc, a0;
	if (!sv_arch_struct_member(types, "pt_regs", "cause", pt_regs, &cause, error) ||
	    !sv_arch_struct_member(types, "pt_regs", "orig_a0", pt_regs, &orig_a0, error) ||
	    !sv_arch_struct_member(types, "pt_regs", "epc", pt_regs, &epc, error) ||
	    !sv_arch_struct_member(types, "pt_regs", "a0", pt_regs, &a0, error))
		return NULL;
	*ret_fixup = SV_SYSCALL_NONE;
	if (cause != EXC_SYSCALL)
		return g_bytes_ref(pt_regs);
	gint64 r = (gint64)a0;
	if (r == -ENOSYS)
		*ret_fixup = SV_SYSCALL_REEXECUTE;
	else if (sv_arch_is_restart_code(r))
		*ret_fixup = SV_SYSCALL_RESTART;
	else
		return g_bytes_ref(pt_regs);
	gsize len;
	const guint8 *p = g_bytes_get_data(pt_regs, &len);
	g_autofree guint8 *raw = g_memdup2(p, len);
	if (!sv_arch_struct_set(types, "pt_regs", "a0", raw, len, orig_a0, error) ||
	    !sv_arch_struct_set(types, "pt_regs", "epc", raw, len, epc - ECALL_INSN_LEN, error))
		return NULL;
	return g_bytes_new_take(g_steal_pointer(&raw), len);
}

/* An F/D record loads on any CPU with the D extension (RV64GC and up); QEMU
 * names extensions as CPU properties. */
static const SvCpuNeed need_d = { "RV64 with the D extension", { "d", NULL } };

gboolean sv_riscv64_fpu_cpu_needs(guint64 features, gsize fpu_size, GPtrArray *ret_needs,
				  GError **error)
{
	if (features != 0 || fpu_size != SV_RISCV64_FPU_SIZE) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "riscv64: the snapshot's FPU state (%" G_GSIZE_FORMAT
			    " bytes, features 0x%" G_GINT64_MODIFIER "x) is not an F/D record",
			    fpu_size, features);
		return FALSE;
	}
	g_ptr_array_add(ret_needs, (gpointer)&need_d);
	return TRUE;
}
