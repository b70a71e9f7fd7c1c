/* SPDX-License-Identifier: MIT */
/*
 * ppc64le-gdb.c - a paused vCPU's registers from QEMU's gdbstub, by the
 * names of its target description, into SvVcpuRegs: r0-r31, pc (nip), msr,
 * cr, lr, ctr, xer, and the FPU image as the FP regset has it (f0-f31,
 * fpscr). QEMU 7.2's stub gives org.gnu.gdb.power.core (r0-r31, pc, msr,
 * cr, lr, ctr, xer) and org.gnu.gdb.power.fpu (f0-f31, fpscr); MSR_PR says
 * whether the vCPU runs a user task.
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
		if (!rd->read(rd->ctx, name, out->fpu + 8 * i, 8, error))
			return FALSE;
	}
	guint64 fpscr;
	if (!sv_arch_gdb_read_uint(rd, "fpscr", 4, &fpscr, error))
		return FALSE;
	sv_put_le64(out->fpu + 32 * 8, fpscr);
	out->fpu_size = SV_PPC64LE_FPU_SIZE;
	return TRUE;
}
