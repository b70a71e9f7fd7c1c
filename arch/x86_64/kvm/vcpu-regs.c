/* SPDX-License-Identifier: MIT */
/*
 * vcpu-regs.c - a parked vCPU's registers as SvVcpuRegs: general registers
 * from KVM_GET_REGS, system registers from KVM_GET_SREGS, debug registers,
 * and x87/SSE/AVX from KVM_GET_XSAVE.
 *
 * Names, their order and values are those the QEMU backend gives
 * (x86_64-gdb.c; before it, the parser of QEMU's "info registers" text,
 * target/i386/cpu-dump.c), and the FPU image is the same XSAVE image, so a
 * checkpoint sees the same registers from either backend. Hence a few oddities kept on purpose: every segment adds
 * its DPL as "dpl" (the first one, ES's, is what a lookup finds); GDT and
 * IDT have no entry; "st" is TOP; an XMM register is one 128-bit number
 * read into 64 bits (all ones unless its high half is 0); and the list
 * stops at SV_VCPU_REGS_MAX, inside the vector registers, which the FPU
 * image carries whole anyway.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86_64/kvm/x86-kvm.h"
#include "base/errors.h"
#include "snapvm/le.h"

/* The XSAVE standard format (KVM_GET_XSAVE never compacts): the FXSAVE
 * legacy area, FCW at 0, FSW 2, abridged FTW 4, MXCSR 24, MXCSR_MASK 28,
 * ST0-7 at 32 (16 bytes apart), XMM0-15 at 160; XSTATE_BV at 512; AVX's
 * YMM_Hi128 at 576. */
#define FX_ST 32
#define FX_XMM 160
#define XSAVE_XSTATE_BV 512
#define XSAVE_YMM_HI 576
#define XSAVE_SIZE_LEGACY 576 /* legacy area and header */
#define XSAVE_SIZE_AVX 832    /* and YMM_Hi128 */
#define XFEATURES_X87_SSE 0x3ull
#define XFEATURE_AVX 0x4ull
/* MXCSR_MASK of every CPU QEMU models, as x86_64-gdb.c writes it */
#define MXCSR_MASK_ALL 0xffffu

static void add_segment(SvVcpuRegs *out, const char *name, const struct kvm_segment *s,
			gboolean with_base)
{
	sv_vcpu_regs_add(out, name, s->selector);
	if (with_base) {
		char base_name[16];
		g_snprintf(base_name, sizeof(base_name), "%s_base", name);
		sv_vcpu_regs_add(out, base_name, s->base);
	}
	sv_vcpu_regs_add(out, "dpl", s->dpl);
}

/* The FPU image: control and status words, the x87 registers' 80 bits,
 * the XMM registers and, once the guest enabled AVX in XCR0, the YMM upper
 * halves; everything else (FOP, FIP, FDP) zero. */
static void fill_fpu(const guint8 *fx, gboolean avx, SvVcpuRegs *out)
{
	guint8 *x = out->fpu;
	memset(x, 0, XSAVE_SIZE_AVX);
	memcpy(x, fx, 5);	    /* FCW, FSW, abridged FTW */
	memcpy(x + 24, fx + 24, 4); /* MXCSR */
	sv_put_le32(x + 28, MXCSR_MASK_ALL);
	for (guint i = 0; i < 8; i++)
		memcpy(x + FX_ST + 16 * i, fx + FX_ST + 16 * i, 10);
	memcpy(x + FX_XMM, fx + FX_XMM, 16 * 16);
	guint64 features = XFEATURES_X87_SSE;
	if (avx) {
		memcpy(x + XSAVE_YMM_HI, fx + XSAVE_YMM_HI, 16 * 16);
		features |= XFEATURE_AVX;
	}
	sv_put_le64(x + XSAVE_XSTATE_BV, features);
	out->fpu_features = features;
	out->fpu_size = avx ? XSAVE_SIZE_AVX : XSAVE_SIZE_LEGACY;
}

void sv_x86_kvm_regs_convert(const struct kvm_regs *r, const struct kvm_sregs *s,
			     const struct kvm_debugregs *d, gboolean halted,
			     const struct kvm_xsave *xsave, guint64 xcr0, SvVcpuRegs *out)
{
	memset(out, 0, sizeof(*out));
	const struct {
		const char *name;
		guint64 value;
	} gprs[] = {
		{ "rax", r->rax },
		{ "rbx", r->rbx },
		{ "rcx", r->rcx },
		{ "rdx", r->rdx },
		{ "rsi", r->rsi },
		{ "rdi", r->rdi },
		{ "rbp", r->rbp },
		{ "rsp", r->rsp },
		{ "r8", r->r8 },
		{ "r9", r->r9 },
		{ "r10", r->r10 },
		{ "r11", r->r11 },
		{ "r12", r->r12 },
		{ "r13", r->r13 },
		{ "r14", r->r14 },
		{ "r15", r->r15 },
		{ "rip", r->rip },
		{ "rfl", r->rflags },
		{ "cpl", s->cs.dpl },
		/* not interrupt-shadowed, A20 on, not in SMM: as QEMU prints them */
		{ "ii", 0 },
		{ "a20", 1 },
		{ "smm", 0 },
		{ "hlt", halted },
	};
	for (guint i = 0; i < G_N_ELEMENTS(gprs); i++)
		sv_vcpu_regs_add(out, gprs[i].name, gprs[i].value);
	add_segment(out, "es", &s->es, TRUE);
	add_segment(out, "cs", &s->cs, TRUE);
	add_segment(out, "ss", &s->ss, TRUE);
	add_segment(out, "ds", &s->ds, TRUE);
	add_segment(out, "fs", &s->fs, TRUE);
	add_segment(out, "gs", &s->gs, TRUE);
	add_segment(out, "ldt", &s->ldt, FALSE);
	add_segment(out, "tr", &s->tr, FALSE);
	const struct {
		const char *name;
		guint64 value;
	} sys[] = {
		{ "cr0", s->cr0 },   { "cr2", s->cr2 },	  { "cr3", s->cr3 },   { "cr4", s->cr4 },
		{ "dr0", d->db[0] }, { "dr1", d->db[1] }, { "dr2", d->db[2] }, { "dr3", d->db[3] },
		{ "dr6", d->dr6 },   { "dr7", d->dr7 },	  { "efer", s->efer },
	};
	for (guint i = 0; i < G_N_ELEMENTS(sys); i++)
		sv_vcpu_regs_add(out, sys[i].name, sys[i].value);

	const guint8 *fx = (const guint8 *)xsave->region;
	guint16 fsw = sv_get_le16(fx + 2);
	guint top = (fsw >> 11) & 7;
	sv_vcpu_regs_add(out, "fcw", sv_get_le16(fx));
	sv_vcpu_regs_add(out, "fsw", fsw);
	sv_vcpu_regs_add(out, "st", top);
	sv_vcpu_regs_add(out, "ftw", fx[4]);
	sv_vcpu_regs_add(out, "mxcsr", sv_get_le32(fx + 24));
	/* QEMU numbers the x87 registers physically (FPRn is ST((n-TOP)&7)),
	 * the XSAVE image by stack position; the name carries the mantissa */
	for (guint i = 0; i < 8; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "fpr%u", i);
		sv_vcpu_regs_add(out, name, sv_get_le64(fx + FX_ST + 16 * ((i - top) & 7)));
	}
	/* As QEMU: YMM once the guest enabled AVX in XCR0 (named by its top
	 * quadword, the first printed), XMM before. */
	gboolean avx = (xcr0 & XFEATURE_AVX) != 0;
	for (guint i = 0; i < 16; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "%s%02u", avx ? "ymm" : "xmm", i);
		guint64 lo = sv_get_le64(fx + FX_XMM + 16 * i),
			hi = sv_get_le64(fx + FX_XMM + 16 * i + 8);
		guint64 value = avx  ? sv_get_le64(fx + XSAVE_YMM_HI + 16 * i + 8)
				: hi ? G_MAXUINT64
				     : lo;
		sv_vcpu_regs_add(out, name, value);
	}
	out->pc = r->rip;
	out->sp = r->rsp;
	out->user_mode = s->cs.dpl == 3;
	fill_fpu(fx, avx, out);
}

gboolean sv_x86_kvm_read_vcpu_regs(int fd, guint index, SvVcpuRegs *out, GError **error)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_debugregs d = { 0 };
	struct kvm_mp_state mp = { 0 };
	g_autofree struct kvm_xsave *x = g_new0(struct kvm_xsave, 1);
	if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS, &s) < 0 ||
	    ioctl(fd, KVM_GET_XSAVE, x) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "reading vCPU %u's registers: %s",
			    index, g_strerror(errno));
		return FALSE;
	}
	/* what a vCPU lacks of these reads as 0, as before */
	ioctl(fd, KVM_GET_DEBUGREGS, &d);
	ioctl(fd, KVM_GET_MP_STATE, &mp);
	/* XCR0: which XSAVE components the guest enabled (KVM_CAP_XCRS, a
	 * capability of the board) */
	struct kvm_xcrs xcrs = { 0 };
	guint64 xcr0 = 0;
	if (ioctl(fd, KVM_GET_XCRS, &xcrs) == 0) {
		for (guint i = 0; i < xcrs.nr_xcrs && i < G_N_ELEMENTS(xcrs.xcrs); i++)
			if (xcrs.xcrs[i].xcr == 0)
				xcr0 = xcrs.xcrs[i].value;
	}
	sv_x86_kvm_regs_convert(&r, &s, &d, mp.mp_state == KVM_MP_STATE_HALTED, x, xcr0, out);
	return TRUE;
}
