/* SPDX-License-Identifier: MIT */
/*
 * riscv64-gdb.c - a paused vCPU's registers from QEMU's gdbstub, by the
 * names of its target description, into SvVcpuRegs: x1-x31 under their
 * architectural names (the ABI names are the stub's: ra, sp, gp, tp, t0,
 * ...), pc, and the FPU image as struct __riscv_d_ext_state.
 *
 * What QEMU 7.2's stub gives: org.gnu.gdb.riscv.cpu (zero, ra, ..., t6, pc),
 * org.gnu.gdb.riscv.fpu (ft0 ... ft11 by ABI name, 64 bits with the D
 * extension; fflags, frm, fcsr), org.gnu.gdb.riscv.csr, and
 * org.gnu.gdb.riscv.virtual's "priv": the privilege level the hart is in
 * (0 user, 1 supervisor, 3 machine), which says whether the registers are
 * a user task's.
 */
#include <string.h>

#include "arch/arch-tables.h"
#include "arch/riscv64/riscv64-private.h"

/* x0-x31 and f0-f31 by the ABI names the stub uses */
static const char *const x_names[32] = {
	"zero", "ra", "sp", "gp", "tp",	 "t0",	"t1", "t2", "fp", "s1", "a0",
	"a1",	"a2", "a3", "a4", "a5",	 "a6",	"a7", "s2", "s3", "s4", "s5",
	"s6",	"s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};
static const char *const f_names[32] = {
	"ft0", "ft1", "ft2", "ft3", "ft4",  "ft5",  "ft6", "ft7", "fs0",  "fs1",  "fa0",
	"fa1", "fa2", "fa3", "fa4", "fa5",  "fa6",  "fa7", "fs2", "fs3",  "fs4",  "fs5",
	"fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
};

gboolean sv_riscv64_gdb_vcpu_regs(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	for (guint i = 1; i < 32; i++) {
		char name[8];
		guint64 v;
		if (!sv_arch_gdb_read_uint(rd, x_names[i], 8, &v, error))
			return FALSE;
		g_snprintf(name, sizeof(name), "x%u", i);
		sv_vcpu_regs_add(out, name, v);
		if (i == 2)
			out->sp = v;
	}
	guint64 priv, sstatus, fcsr = 0;
	if (!sv_arch_gdb_read_uint(rd, "pc", 8, &out->pc, error) ||
	    !sv_arch_gdb_read_uint(rd, "priv", 8, &priv, error) ||
	    !sv_arch_gdb_read_uint(rd, "sstatus", 8, &sstatus, error))
		return FALSE;
	sv_vcpu_regs_add(out, "pc", out->pc);
	sv_vcpu_regs_add(out, "priv", priv);
	sv_vcpu_regs_add(out, "sstatus", sstatus);
	out->user_mode = priv == 0;
	/* QEMU 7.2 lists the CSRs whose access check passes when the CPU is
	 * set up, before anything enables the FPU: fcsr is never among them.
	 * Then "fcsr_unknown" says so and vcpu_fpu_complete fills it in. */
	if (!rd->has(rd->ctx, "fcsr"))
		sv_vcpu_regs_add(out, "fcsr_unknown", 1);
	else if (!sv_arch_gdb_read_uint(rd, "fcsr", 4, &fcsr, error))
		return FALSE;
	/* struct __riscv_d_ext_state: f[32], fcsr, padding */
	for (guint i = 0; i < 32; i++) {
		if (!rd->read(rd->ctx, f_names[i], out->fpu + 8 * i, 8, error))
			return FALSE;
	}
	sv_put_le32(out->fpu + 32 * 8, (guint32)fcsr);
	out->fpu_size = SV_RISCV64_FPU_SIZE;
	return TRUE;
}
