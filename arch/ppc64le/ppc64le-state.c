/* SPDX-License-Identifier: MIT */
/*
 * ppc64le-state.c - what a checkpoint reads of a ppc64le task beyond
 * memory: user registers (struct pt_regs, asm/ptrace.h: gpr[32], nip, msr,
 * orig_gpr3, ctr, link, xer, ccr, softe, trap, dar, dsisr, result), the FP,
 * VMX and VSX state from thread_struct (saved there by __switch_to's
 * save_all when the task leaves its CPU), the thread pointer (r13, one of
 * the user registers), and the same registers live from a vCPU for a task
 * that was running in problem state.
 *
 * Offsets come from the kernel's BTF; only architectural constants are here.
 */
#include <string.h>

#include "arch/arch-tables.h"
#include "arch/ppc64le/ppc64le-private.h"
#include "base/kernel-types.h"

/* pt_regs members after gpr[32]: the snapshot names them as the kernel does
 * (the GPRs are "r0"-"r31"). */
static const char *const other_names[] = {
	"nip", "msr",	"orig_gpr3", "ctr", "link",  "xer",
	"ccr", "softe", "trap",	     "dar", "dsisr", "result",
};

/* gpr[i] of a raw pt_regs, by the array's BTF offset */
static gboolean get_gpr(const SvKernelTypes *types, GBytes *pt_regs, guint i, guint64 *ret,
			GError **error)
{
	guint64 off, size;
	gsize len;
	const guint8 *p = g_bytes_get_data(pt_regs, &len);
	if (!sv_kernel_types_offset(types, "pt_regs", "gpr", &off, error) ||
	    !sv_kernel_types_size(types, "pt_regs", "gpr", &size, error))
		return FALSE;
	if (size != 32 * 8 || off + size > len) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "ppc64le: pt_regs.gpr is %" G_GUINT64_FORMAT
			    " bytes at %" G_GUINT64_FORMAT " of %" G_GSIZE_FORMAT
			    ", not 32 registers",
			    size, off, len);
		return FALSE;
	}
	*ret = sv_get_le64(p + off + 8 * i);
	return TRUE;
}

static gboolean set_gpr(const SvKernelTypes *types, guint8 *raw, gsize len, guint i, guint64 v,
			GError **error)
{
	guint64 off;
	if (!sv_kernel_types_offset(types, "pt_regs", "gpr", &off, error))
		return FALSE;
	if (off + 8 * (i + 1) > len) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA, "ppc64le: pt_regs too short");
		return FALSE;
	}
	sv_put_le64(raw + off + 8 * i, v);
	return TRUE;
}

GVariant *sv_ppc64le_named_regs(const SvKernelTypes *types, GBytes *pt_regs, GError **error)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{st}"));
	for (guint i = 0; i < 32; i++) {
		char name[8];
		guint64 v;
		if (!get_gpr(types, pt_regs, i, &v, error))
			return NULL;
		g_snprintf(name, sizeof(name), "r%u", i);
		g_variant_builder_add(&b, "{st}", name, v);
	}
	for (guint i = 0; i < G_N_ELEMENTS(other_names); i++) {
		guint64 v;
		if (!sv_arch_struct_member(types, "pt_regs", other_names[i], pt_regs, &v, error))
			return NULL;
		g_variant_builder_add(&b, "{st}", other_names[i], v);
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* thread_struct's FP state: fpr[32][2], each a VSR as the CPU stores it -
 * little-endian, the FPR (the VSR's doubleword 0) is [1] (TS_FPROFFSET) and
 * the VSR's other half [0] (TS_VSRLOWOFFSET) - then fpscr; the VMX state:
 * vr[32], vscr, each a vector128; vrsave an unsigned long. */
#define TS_FPROFFSET 1
#define TS_VSRLOWOFFSET 0
#define FPR_BYTES (32 * 16)
#define VR_BYTES (32 * 16)

/* One part of the image from the task's thread_struct (FP, VMX or VSX). */
static gboolean read_part(const SvKernelReader *rd, guint64 task, guint part, guint8 *img,
			  GError **error)
{
	if (part == SV_PPC64LE_PART_FP || part == SV_PPC64LE_PART_VSX) {
		g_autofree guint8 *fpr = g_malloc(FPR_BYTES);
		if (!sv_arch_read_member(rd, task, "task_struct", "thread.fp_state.fpr", fpr,
					 FPR_BYTES, error))
			return FALSE;
		gboolean fp = part == SV_PPC64LE_PART_FP;
		guint half = fp ? TS_FPROFFSET : TS_VSRLOWOFFSET;
		guint8 *dst = img + (fp ? SV_PPC64LE_FPU_FPR : SV_PPC64LE_FPU_VSX);
		for (guint i = 0; i < 32; i++)
			memcpy(dst + 8 * i, fpr + 16 * i + 8 * half, 8);
		if (part == SV_PPC64LE_PART_FP)
			return sv_arch_read_member(rd, task, "task_struct", "thread.fp_state.fpscr",
						   img + SV_PPC64LE_FPU_FPSCR, 8, error);
		return TRUE;
	}
	guint64 vrsave;
	if (!sv_arch_read_member(rd, task, "task_struct", "thread.vr_state.vr",
				 img + SV_PPC64LE_FPU_VR, VR_BYTES, error) ||
	    !sv_arch_read_member(rd, task, "task_struct", "thread.vr_state.vscr",
				 img + SV_PPC64LE_FPU_VSCR, 16, error) ||
	    !sv_arch_read_u64(rd, task, "task_struct", "thread.vrsave", &vrsave, error))
		return FALSE;
	/* NT_PPC_VMX's last slot: vrsave's low word first, the rest zero */
	memset(img + SV_PPC64LE_FPU_VRSAVE, 0, 16);
	sv_put_le32(img + SV_PPC64LE_FPU_VRSAVE, (guint32)vrsave);
	return TRUE;
}

gboolean sv_ppc64le_task_fpu(const SvKernelReader *rd, guint64 task, SvFpuState *ret,
			     GError **error)
{
	g_autofree guint8 *img = g_malloc0(SV_PPC64LE_FPU_SIZE);
	for (guint part = 0; part < SV_PPC64LE_PARTS; part++)
		if (!read_part(rd, task, part, img, error))
			return FALSE;
	ret->raw = g_bytes_new_take(g_steal_pointer(&img), SV_PPC64LE_FPU_SIZE);
	ret->features = 0;
	ret->format = SV_PPC64LE_FPU_FORMAT;
	return TRUE;
}

/* r13 is the thread pointer, in the user registers already: no TLS state of
 * its own. */
GVariant *sv_ppc64le_task_tls(const SvKernelReader *rd, guint64 task, GError **error)
{
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "source", g_variant_new_string("registers"));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* The trap of the interrupt that took a running task off problem state as
 * the kernel would have stored it: the decrementer (any interrupt: only "not
 * a system call" matters to syscall_fixup). */
#define TRAP_DECREMENTER 0x900

gboolean sv_ppc64le_vcpu_user_state(const SvKernelTypes *types, const SvVcpuRegs *vcpu,
				    GBytes **ret_pt_regs, GVariant **ret_tls, SvFpuState *ret_fpu,
				    GError **error)
{
	guint64 size;
	if (!sv_kernel_types_size(types, "pt_regs", NULL, &size, error))
		return FALSE;
	if (vcpu->fpu_size != SV_PPC64LE_FPU_SIZE) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "ppc64le: the machine backend gave no FP/VMX/VSX registers for the vCPU "
			    "the task runs on");
		return FALSE;
	}
	g_autofree guint8 *raw = g_malloc0(size);
	guint64 r3 = 0;
	for (guint i = 0; i < 32; i++) {
		char name[8];
		guint64 v;
		g_snprintf(name, sizeof(name), "r%u", i);
		if (!sv_vcpu_regs_get(vcpu, name, &v)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "ppc64le: the vCPU register dump lacks %s", name);
			return FALSE;
		}
		if (!set_gpr(types, raw, size, i, v, error))
			return FALSE;
		if (i == 3)
			r3 = v;
	}
	static const char *const live[] = { "msr", "ctr", "link", "xer", "ccr" };
	for (guint i = 0; i < G_N_ELEMENTS(live); i++) {
		guint64 v;
		if (!sv_vcpu_regs_get(vcpu, live[i], &v)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "ppc64le: the vCPU register dump lacks %s", live[i]);
			return FALSE;
		}
		if (!sv_arch_struct_set(types, "pt_regs", live[i], raw, size, v, error))
			return FALSE;
	}
	if (!sv_arch_struct_set(types, "pt_regs", "nip", raw, size, vcpu->pc, error) ||
	    !sv_arch_struct_set(types, "pt_regs", "trap", raw, size, TRAP_DECREMENTER, error) ||
	    !sv_arch_struct_set(types, "pt_regs", "orig_gpr3", raw, size, r3, error))
		return FALSE;
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "source", g_variant_new_string("vcpu"));
	*ret_tls = g_variant_ref_sink(g_variant_builder_end(&b));
	ret_fpu->raw = g_bytes_new(vcpu->fpu, vcpu->fpu_size);
	ret_fpu->features = 0;
	ret_fpu->format = SV_PPC64LE_FPU_FORMAT;
	*ret_pt_regs = g_bytes_new_take(g_steal_pointer(&raw), size);
	return TRUE;
}

/* MSR bits (asm/reg.h) saying the task's FP, VMX and VSX state is live in
 * the CPU; while one is clear the CPU's registers of that kind are not the
 * task's (the kernel loads them from thread_struct on the next use). */
#define MSR_FP (1ull << 13)
#define MSR_VEC (1ull << 25)
#define MSR_VSX (1ull << 23)

/*
 * The image vcpu_user_state took is the CPU's registers; the parts whose MSR
 * bit is clear are replaced by the task's saved copy, which is then its
 * state (lazy FP/VMX/VSX restore, restore_math). A part the backend could
 * not read while it is live is refused.
 */
gboolean sv_ppc64le_vcpu_fpu_complete(const SvKernelReader *rd, guint64 task,
				      const SvVcpuRegs *vcpu, SvFpuState *fpu, GError **error)
{
	static const struct {
		guint64 msr_bit;
		const char *unread, *what;
	} parts[SV_PPC64LE_PARTS] = {
		[SV_PPC64LE_PART_FP] = { MSR_FP, NULL, "FP" },
		[SV_PPC64LE_PART_VMX] = { MSR_VEC, "vmx_unknown", "VMX" },
		[SV_PPC64LE_PART_VSX] = { MSR_VSX, "vsx_unknown", "VSX" },
	};
	guint64 msr;
	if (!sv_vcpu_regs_get(vcpu, "msr", &msr)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "ppc64le: the vCPU register dump lacks msr");
		return FALSE;
	}
	gsize len = g_bytes_get_size(fpu->raw);
	g_autofree guint8 *img = g_memdup2(g_bytes_get_data(fpu->raw, NULL), len);
	for (guint part = 0; part < SV_PPC64LE_PARTS; part++) {
		guint64 unread = 0;
		if (parts[part].unread)
			sv_vcpu_regs_get(vcpu, parts[part].unread, &unread);
		if (!(msr & parts[part].msr_bit)) {
			if (!read_part(rd, task, part, img, error))
				return FALSE;
		} else if (unread) {
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
				    "ppc64le: the task's %s registers are live on its vCPU and the "
				    "machine backend cannot read them; checkpoint it again, or with "
				    "--kill (which freezes it in the kernel first)",
				    parts[part].what);
			return FALSE;
		}
	}
	g_bytes_unref(fpu->raw);
	fpu->raw = g_bytes_new_take(g_steal_pointer(&img), len);
	return TRUE;
}

/* asm/ptrace.h, asm/interrupt.h: the trap numbers of sc and scv 0, the flag
 * set once the kernel has dealt with a restart; CR0.SO, sc's error flag */
#define TRAP_SC 0xc00
#define TRAP_SCV 0x3000
#define TRAP_NORESTART 0x10
#define CR0_SO (1ull << 28)
#define SC_INSN_LEN 4

/* include/linux/sched.h, sched/jobctl.h: a task stopped or traced, or in
 * the cgroup freezer's trap (hold.c's freeze) */
#define TASK_STOPPED_OR_TRACED 0xcu
#define JOBCTL_TRAP_FREEZE (1ull << 23)

/* Whether the task is provably past its syscall's body, on its way back to
 * user mode: in a stop, a trace stop or the freezer's trap, all reached
 * from signal handling on the way out. */
static gboolean on_way_out(const SvKernelReader *rd, guint64 task, GError **error, gboolean *ret)
{
	guint32 state;
	guint64 jobctl;
	if (!sv_arch_read_u32(rd, task, "task_struct", "__state", &state, error) ||
	    !sv_arch_read_u64(rd, task, "task_struct", "jobctl", &jobctl, error))
		return FALSE;
	*ret = (state & TASK_STOPPED_OR_TRACED) || (jobctl & JOBCTL_TRAP_FREEZE);
	return TRUE;
}

/*
 * A task that entered a syscall has trap 0xc00 (sc) or 0x3000 (scv), nip
 * past the instruction, r0 the number, orig_gpr3 the first argument, and -
 * inside the call - r3 still that argument: nothing marks a call that has
 * not returned (unlike x86's and riscv's -ENOSYS), and one that returned its
 * first argument looks the same, so a task stopped, traced or frozen (on its
 * way out, where signal handling stops it) counts as returned, any other as
 * inside. On the way out r3 holds the result: sc reports an error as a
 * positive errno with CR0.SO set, scv as a negative one. Where that is an
 * -ERESTART* code (a signal, a freeze, a stop) or the call has not
 * returned, it is issued again as the kernel's check_syscall_restart would
 * without a handler: r3 <- orig_gpr3, nip back onto the sc/scv (CR0.SO is
 * left as the kernel leaves it: entry clears it). scv's LR clobber needs
 * nothing: the C library saves LR around scv, as the kernel's own restart
 * relies on. RESTARTBLOCK would go through kernel state a snapshot does not
 * carry: the original call is issued again instead. Left ambiguous: a task
 * preempted on its way out of a call that returned its first argument.
 */
GBytes *sv_ppc64le_syscall_fixup(const SvKernelReader *rd, guint64 task, GBytes *pt_regs,
				 SvSyscallFixup *ret_fixup, GError **error)
{
	const SvKernelTypes *types = rd->types;
	guint64 trap, orig_gpr3, nip, ccr, r3;
	if (!sv_arch_struct_member(types, "pt_regs", "trap", pt_regs, &trap, error) ||
	    !sv_arch_struct_member(types, "pt_regs", "orig_gpr3", pt_regs, &orig_gpr3, error) ||
	    !sv_arch_struct_member(types, "pt_regs", "nip", pt_regs, &nip, error) ||
	    !sv_arch_struct_member(types, "pt_regs", "ccr", pt_regs, &ccr, error) ||
	    !get_gpr(types, pt_regs, 3, &r3, error))
		return NULL;
	*ret_fixup = SV_SYSCALL_NONE;
	guint64 kind = trap & ~0xfull;
	if ((kind != TRAP_SC && kind != TRAP_SCV) || (trap & TRAP_NORESTART))
		return g_bytes_ref(pt_regs);
	gint64 err = kind == TRAP_SCV ? (gint64)r3 : (ccr & CR0_SO) ? -(gint64)r3 : 0;
	gboolean returned;
	if (err && sv_arch_is_restart_code(err)) {
		*ret_fixup = SV_SYSCALL_RESTART;
	} else {
		if (r3 != orig_gpr3)
			return g_bytes_ref(pt_regs);
		if (!on_way_out(rd, task, error, &returned))
			return NULL;
		if (returned)
			return g_bytes_ref(pt_regs);
		*ret_fixup = SV_SYSCALL_REEXECUTE;
	}
	gsize len;
	const guint8 *p = g_bytes_get_data(pt_regs, &len);
	g_autofree guint8 *raw = g_memdup2(p, len);
	if (!set_gpr(types, raw, len, 3, orig_gpr3, error) ||
	    !sv_arch_struct_set(types, "pt_regs", "nip", raw, len, nip - SC_INSN_LEN, error))
		return NULL;
	return g_bytes_new_take(g_steal_pointer(&raw), len);
}

/* The image loads on any CPU with VSX (POWER7 and later, so every pseries
 * CPU Debian's ppc64el runs on); QEMU names no such CPU property to check. */
static const SvCpuNeed need_vsx = { "POWER7 or later (VSX)", { NULL } };

gboolean sv_ppc64le_fpu_cpu_needs(guint64 features, gsize fpu_size, GPtrArray *ret_needs,
				  GError **error)
{
	if (features != 0 || fpu_size != SV_PPC64LE_FPU_SIZE) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "ppc64le: the snapshot's FPU state (%" G_GSIZE_FORMAT
			    " bytes, features 0x%" G_GINT64_MODIFIER
			    "x) is not an FP/VMX/VSX image",
			    fpu_size, features);
		return FALSE;
	}
	g_ptr_array_add(ret_needs, (gpointer)&need_vsx);
	return TRUE;
}
