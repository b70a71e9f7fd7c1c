/* SPDX-License-Identifier: MIT */
/*
 * x86_64-gdb.c - a paused vCPU's registers from QEMU's gdbstub, by the
 * names of its target description (i386-64bit.xml: the features
 * org.gnu.gdb.i386.core and .sse in one document), into SvVcpuRegs: the
 * register names capture reads (those of QEMU's "info registers" dump,
 * which this replaces), the FPU as an XSAVE standard-format image.
 *
 * What QEMU 7.2's stub gives: rax-r15, rip, eflags, the six selectors,
 * fs_base, gs_base, k_gs_base, cr0/2/3/4/8, efer, st0-st7, fctrl, fstat
 * (TOP included), xmm0-15, mxcsr. What it does not: the AVX upper halves
 * (no org.gnu.gdb.i386.avx feature) and XCR0, the x87 tag word (ftag is
 * always 0), fiseg/fioff/foseg/fooff/fop (always 0, as the monitor never
 * printed them either), the other segment bases, orig_rax. The tag word
 * and the AVX halves therefore still come from "info registers" text
 * (sv_x86_monitor_avx_and_tags): the one piece of HMP left.
 */
#include <string.h>

#include "arch/arch-tables.h"
#include "arch/x86_64/x86_64-private.h"

#define MXCSR_MASK 0xffff /* of every CPU QEMU models */

/* gdb's name and size -> the name SvVcpuRegs uses (what capture and the
 * tests look up; QEMU's register dump named them so). */
static const struct {
	const char *gdb, *name;
	guint bytes;
} scalar_regs[] = {
	{ "rax", "rax", 8 },
	{ "rbx", "rbx", 8 },
	{ "rcx", "rcx", 8 },
	{ "rdx", "rdx", 8 },
	{ "rsi", "rsi", 8 },
	{ "rdi", "rdi", 8 },
	{ "rbp", "rbp", 8 },
	{ "rsp", "rsp", 8 },
	{ "r8", "r8", 8 },
	{ "r9", "r9", 8 },
	{ "r10", "r10", 8 },
	{ "r11", "r11", 8 },
	{ "r12", "r12", 8 },
	{ "r13", "r13", 8 },
	{ "r14", "r14", 8 },
	{ "r15", "r15", 8 },
	{ "rip", "rip", 8 },
	{ "eflags", "rfl", 4 },
	{ "cs", "cs", 4 },
	{ "ss", "ss", 4 },
	{ "ds", "ds", 4 },
	{ "es", "es", 4 },
	{ "fs", "fs", 4 },
	{ "gs", "gs", 4 },
	{ "fs_base", "fs_base", 8 },
	{ "gs_base", "gs_base", 8 },
	{ "k_gs_base", "kernelgsbase", 8 },
	{ "cr0", "cr0", 8 },
	{ "cr2", "cr2", 8 },
	{ "cr3", "cr3", 8 },
	{ "cr4", "cr4", 8 },
	{ "efer", "efer", 8 },
};

/* The x87/SSE part of the XSAVE legacy region (Intel SDM vol. 1, 10.5.1,
 * 64-bit format): FCW 0, FSW 2, FTW 4, FOP 6, FIP 8, FDP 16, MXCSR 24,
 * MXCSR_MASK 28, ST0-7 at 32 (16 bytes each), XMM0-15 at 160. */
static gboolean fill_legacy_region(const SvGdbRegReader *rd, guint8 *x, GError **error)
{
	static const struct {
		const char *name;
		guint offset, bytes;
	} fields[] = {
		{ "fctrl", 0, 2 },  { "fstat", 2, 2 },	{ "fop", 6, 2 },    { "fioff", 8, 4 },
		{ "fiseg", 12, 4 }, { "fooff", 16, 4 }, { "foseg", 20, 4 }, { "mxcsr", 24, 4 },
	};
	for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
		guint64 v;
		if (!sv_arch_gdb_read_uint(rd, fields[i].name, 4, &v, error))
			return FALSE;
		sv_put_le(x + fields[i].offset, v, fields[i].bytes);
	}
	sv_put_le32(x + 28, MXCSR_MASK);
	/* QEMU 7.2 sends stN as its physical register N (env->fpregs[N]), not
	 * as ST(N) the way GDB reads it: the image holds ST(i), which is
	 * physical register TOP+i, so register N goes to slot N-TOP. */
	guint top = (x[3] >> 3) & 7;
	for (guint n = 0; n < 8; n++) {
		char name[8];
		g_snprintf(name, sizeof(name), "st%u", n);
		if (!rd->read(rd->ctx, name, x + 32 + 16 * ((n - top) & 7), 10, error))
			return FALSE;
	}
	for (guint i = 0; i < 16; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "xmm%u", i);
		if (!rd->read(rd->ctx, name, x + 160 + 16 * i, 16, error))
			return FALSE;
	}
	return TRUE;
}

gboolean sv_x86_gdb_vcpu_regs(const SvGdbRegReader *rd, SvVcpuRegs *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	for (guint i = 0; i < G_N_ELEMENTS(scalar_regs); i++) {
		guint64 v;
		if (!sv_arch_gdb_read_uint(rd, scalar_regs[i].gdb, scalar_regs[i].bytes, &v, error))
			return FALSE;
		sv_vcpu_regs_add(out, scalar_regs[i].name, v);
	}
	guint64 cs = 0;
	sv_vcpu_regs_get(out, "cs", &cs);
	sv_vcpu_regs_get(out, "rip", &out->pc);
	sv_vcpu_regs_get(out, "rsp", &out->sp);
	/* in 64-bit mode the CPL is the code segment's RPL */
	sv_vcpu_regs_add(out, "cpl", cs & 3);
	out->user_mode = (cs & 3) == 3;

	guint8 *x = out->fpu;
	guint64 features = 0x3; /* x87, SSE */
	if (!fill_legacy_region(rd, x, error))
		return FALSE;
	const char *text = rd->monitor_text(rd->ctx, error);
	if (!text || !sv_x86_monitor_avx_and_tags(text, x, &features, error))
		return FALSE;
	sv_put_le64(x + 512, features); /* XSTATE_BV; XCOMP_BV 0: standard format */
	out->fpu_features = features;
	out->fpu_size = (guint32)sv_x86_xsave_standard_size(features);
	return TRUE;
}
