/* SPDX-License-Identifier: MIT */
/*
 * aarch64-gdb.c - a paused vCPU's registers from QEMU's gdbstub, by the
 * names of its target description, into SvVcpuRegs: the register names
 * capture reads (those QEMU's "info registers" dump used, which this
 * replaces), the FPU image as struct user_fpsimd_state.
 *
 * What QEMU 7.2's stub gives: org.gnu.gdb.aarch64.core (x0-x30, sp - the
 * current stack pointer, SP_EL0 at EL0 -, pc, cpsr: PSTATE, 32 bits),
 * org.gnu.gdb.aarch64.fpu (v0-v31, 128 bits; fpsr, fpcr, 32 bits), and
 * org.qemu.gdb.arm.sys.regs, the system registers QEMU knows, numbered at
 * run time - TPIDR_EL0 and TPIDRRO_EL0 among them (TPIDR2_EL0 only on a CPU
 * with SME; the SVE feature only on one with SVE). Nothing is missing for
 * the default CPU: no HMP text is read.
 */
#include <string.h>

#include "arch/aarch64/aarch64-private.h"
#include "arch/arch-tables.h"

#define FPSIMD_SIZE 528 /* vregs[32], fpsr, fpcr, 8 reserved */

gboolean sv_aarch64_gdb_vcpu_regs(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	for (guint i = 0; i < 31; i++) {
		char name[8];
		guint64 v;
		g_snprintf(name, sizeof(name), "x%u", i);
		if (!sv_arch_gdb_read_uint(rd, name, 8, &v, error))
			return FALSE;
		sv_vcpu_regs_add(out, name, v);
	}
	guint64 pstate, fpsr, fpcr;
	if (!sv_arch_gdb_read_uint(rd, "sp", 8, &out->sp, error) ||
	    !sv_arch_gdb_read_uint(rd, "pc", 8, &out->pc, error) ||
	    !sv_arch_gdb_read_uint(rd, "cpsr", 4, &pstate, error) ||
	    !sv_arch_gdb_read_uint(rd, "fpsr", 4, &fpsr, error) ||
	    !sv_arch_gdb_read_uint(rd, "fpcr", 4, &fpcr, error))
		return FALSE;
	sv_vcpu_regs_add(out, "sp", out->sp);
	sv_vcpu_regs_add(out, "pc", out->pc);
	sv_vcpu_regs_add(out, "pstate", pstate);
	sv_vcpu_regs_add(out, "fpsr", fpsr);
	sv_vcpu_regs_add(out, "fpcr", fpcr);
	/* PSTATE.M[3:2] is the exception level; M[4] set would be AArch32. */
	out->user_mode = ((pstate >> 2) & 3) == 0;
	/* the thread pointer as the CPU holds it now (the monitor's dump had
	 * none, so capture used to take the one the kernel last saved) */
	guint64 tp;
	if (rd->has(rd->ctx, "TPIDR_EL0")) {
		if (!sv_arch_gdb_read_uint(rd, "TPIDR_EL0", 8, &tp, error))
			return FALSE;
		sv_vcpu_regs_add(out, "tpidr_el0", tp);
	}
	/* struct user_fpsimd_state: vregs[32] (__uint128_t, little-endian as
	 * the stub sends them), fpsr, fpcr, two reserved words */
	guint8 *f = out->fpu;
	for (guint i = 0; i < 32; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "v%u", i);
		if (!rd->read(rd->ctx, name, f + 16 * i, 16, error))
			return FALSE;
	}
	sv_put_le32(f + 512, (guint32)fpsr);
	sv_put_le32(f + 516, (guint32)fpcr);
	out->fpu_size = FPSIMD_SIZE;
	return TRUE;
}
