/* SPDX-License-Identifier: MIT */
/*
 * ppc64le-gdb.c - a paused vCPU's registers from QEMU's gdbstub, by the
 * names of its target description, into SvVcpuRegs: r0-r31, pc (nip), msr,
 * cr, lr, ctr, xer, and the FPU image in the snapshot's "ppc64-vsx" format
 * (ppc64le-private.h). QEMU 7.2's stub gives org.gnu.gdb.power.core (r0-r31,
 * pc, msr, cr, lr, ctr, xer), org.gnu.gdb.power.fpu (f0-f31, fpscr),
 * org.gnu.gdb.power.altivec (vr0-vr31, vscr, vrsave) and
 * org.gnu.gdb.power.vsx (vs0h-vs31h, the VSRs' other halves); MSR_PR says
 * whether the vCPU runs a user task. A stub without the last two marks them
 * unread ("vmx_unknown", "vsx_unknown") for vcpu_fpu_complete.
 */
#include <string.h>

#include "arch/arch-tables.h"
#include "arch/ppc64le/ppc64le-private.h"

#define MSR_PR (1ull << 14) /* problem state: user mode */

static const struct {
	const char *stub, *name;
	guint bytes;
} specials[] = {
	{ "pc", "nip", 8 },  { "msr", "msr", 8 }, { "cr", "ccr", 4 },
	{ "lr", "link", 8 }, { "ctr", "ctr", 8 }, { "xer", "xer", 4 },
};

/* vr0-vr31 as 16 bytes each, vscr and vrsave as the VMX regset's 32-bit
 * words at the start of their slots (little-endian). */
static gboolean read_vmx(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error)
{
	if (!rd->has(rd->ctx, "vr0") || !rd->has(rd->ctx, "vscr") || !rd->has(rd->ctx, "vrsave")) {
		sv_vcpu_regs_add(out, "vmx_unknown", 1);
		return TRUE;
	}
	for (guint i = 0; i < 32; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "vr%u", i);
		if (!rd->read(rd->ctx, name, out->fpu + SV_PPC64LE_FPU_VR + 16 * i, 16, error))
			return FALSE;
	}
	guint64 vscr, vrsave;
	if (!sv_arch_gdb_read_uint(rd, "vscr", 4, &vscr, error) ||
	    !sv_arch_gdb_read_uint(rd, "vrsave", 4, &vrsave, error))
		return FALSE;
	sv_put_le32(out->fpu + SV_PPC64LE_FPU_VSCR, (guint32)vscr);
	sv_put_le32(out->fpu + SV_PPC64LE_FPU_VRSAVE, (guint32)vrsave);
	return TRUE;
}

static gboolean read_vsx(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error)
{
	if (!rd->has(rd->ctx, "vs0h")) {
		sv_vcpu_regs_add(out, "vsx_unknown", 1);
		return TRUE;
	}
	for (guint i = 0; i < 32; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "vs%uh", i);
		if (!rd->read(rd->ctx, name, out->fpu + SV_PPC64LE_FPU_VSX + 8 * i, 8, error))
			return FALSE;
	}
	return TRUE;
}

gboolean sv_ppc64le_gdb_vcpu_regs(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	for (guint i = 0; i < 32; i++) {
		char name[8];
		guint64 v;
		g_snprintf(name, sizeof(name), "r%u", i);
		if (!sv_arch_gdb_read_uint(rd, name, 8, &v, error))
			return FALSE;
		sv_vcpu_regs_add(out, name, v);
		if (i == 1)
			out->sp = v;
	}
	for (guint i = 0; i < G_N_ELEMENTS(specials); i++) {
		guint64 v;
		if (!sv_arch_gdb_read_uint(rd, specials[i].stub, specials[i].bytes, &v, error))
			return FALSE;
		sv_vcpu_regs_add(out, specials[i].name, v);
		if (!strcmp(specials[i].name, "nip"))
			out->pc = v;
		if (!strcmp(specials[i].name, "msr"))
			out->user_mode = (v & MSR_PR) != 0;
	}
	/* the FP regset: fpr[32], fpscr (64 bits in the regset) */
	for (guint i = 0; i < 32; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "f%u", i);
		if (!rd->read(rd->ctx, name, out->fpu + SV_PPC64LE_FPU_FPR + 8 * i, 8, error))
			return FALSE;
	}
	guint64 fpscr;
	if (!sv_arch_gdb_read_uint(rd, "fpscr", 4, &fpscr, error))
		return FALSE;
	sv_put_le64(out->fpu + SV_PPC64LE_FPU_FPSCR, fpscr);
	if (!read_vmx(rd, out, error) || !read_vsx(rd, out, error))
		return FALSE;
	out->fpu_size = SV_PPC64LE_FPU_SIZE;
	return TRUE;
}
