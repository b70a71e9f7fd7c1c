/* SPDX-License-Identifier: MIT */
/*
 * A kvm vCPU's registers as snapvm reads them, no /dev/kvm needed: the
 * x86_64 board's conversion of KVM's register structs
 * (arch/x86_64/kvm/vcpu-regs.c) gives the names the checkpoint hooks look
 * up, the XSAVE image x86_64-state.c hands to restore (x87 registers by
 * stack slot, YMM upper halves only once XCR0 enables AVX), and the
 * registers survive the control socket's text payload (host/kvm/control.c)
 * bit for bit; a malformed payload is refused.
 */
#include <glib.h>
#include <string.h>

#include "arch/x86_64/kvm/x86-kvm.h"
#include "base/errors.h"
#include "snapvm/le.h"
#include "host/kvm/kvm-control.h"

typedef struct {
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_debugregs d;
	struct kvm_xsave x;
} Vcpu;

static guint8 *fx(Vcpu *v)
{
	return (guint8 *)v->x.region;
}

/* A task in user mode: distinct values everywhere, TOP = 5, every byte
 * of the XSAVE area set so that what must stay 0 in the image shows. */
static Vcpu *user_vcpu(void)
{
	Vcpu *v = g_new0(Vcpu, 1);
	guint64 *gpr = (guint64 *)&v->r;
	for (guint i = 0; i < sizeof(v->r) / 8; i++)
		gpr[i] = 0x1111111111111111ull * (i + 1);
	v->r.rip = 0x401000;
	v->r.rsp = 0x7ffc0000f000;
	v->r.rflags = 0x246;
	v->s.cs = (struct kvm_segment){ .selector = 0x33, .dpl = 3 };
	v->s.ss = (struct kvm_segment){ .selector = 0x2b, .dpl = 3 };
	v->s.es = (struct kvm_segment){ .selector = 0, .dpl = 1 };
	v->s.fs = (struct kvm_segment){ .selector = 0, .base = 0x7f0000001740 };
	v->s.gs = (struct kvm_segment){ .selector = 0x18, .base = 0xffff888000000000 };
	v->s.cr3 = 0x1234000;
	v->s.efer = 0xd01;
	v->d.dr7 = 0x400;
	guint8 *f = fx(v);
	for (guint i = 0; i < sizeof(v->x.region); i++)
		f[i] = (guint8)(i * 7 + 3);
	sv_put_le(f, 0x037f, 2);	       /* FCW */
	sv_put_le(f + 2, 5u << 11, 2);	       /* FSW: TOP 5 */
	f[4] = 0xe0;			       /* abridged FTW */
	sv_put_le(f + 24, 0x1f80, 4);	       /* MXCSR */
	sv_put_le(f + 160 + 16 * 3 + 8, 0, 8); /* XMM3's high half 0 */
	return v;
}

static guint64 reg(const SvVcpuRegs *regs, const char *name)
{
	guint64 v = 0;
	if (!sv_vcpu_regs_get(regs, name, &v))
		g_error("no register %s", name);
	return v;
}

static void test_names(void)
{
	g_autofree Vcpu *v = user_vcpu();
	g_autofree SvVcpuRegs *regs = g_new0(SvVcpuRegs, 1);
	sv_x86_kvm_regs_convert(&v->r, &v->s, &v->d, TRUE, &v->x, 0x7, regs);
	g_assert_cmphex(regs->pc, ==, 0x401000);
	g_assert_cmphex(regs->sp, ==, 0x7ffc0000f000);
	g_assert_true(regs->user_mode);
	/* what x86_64-state.c reads of a vCPU to make a task's pt_regs and TLS */
	g_assert_cmphex(reg(regs, "rax"), ==, v->r.rax);
	g_assert_cmphex(reg(regs, "r15"), ==, v->r.r15);
	g_assert_cmphex(reg(regs, "rbp"), ==, v->r.rbp);
	g_assert_cmphex(reg(regs, "rip"), ==, 0x401000);
	g_assert_cmphex(reg(regs, "rsp"), ==, 0x7ffc0000f000);
	g_assert_cmphex(reg(regs, "rfl"), ==, 0x246);
	g_assert_cmphex(reg(regs, "cs"), ==, 0x33);
	g_assert_cmphex(reg(regs, "ss"), ==, 0x2b);
	g_assert_cmphex(reg(regs, "fs"), ==, 0);
	g_assert_cmphex(reg(regs, "fs_base"), ==, 0x7f0000001740);
	g_assert_cmphex(reg(regs, "gs"), ==, 0x18);
	g_assert_cmphex(reg(regs, "gs_base"), ==, 0xffff888000000000);
	g_assert_cmpuint(reg(regs, "cpl"), ==, 3);
	g_assert_cmpuint(reg(regs, "hlt"), ==, 1);
	g_assert_cmphex(reg(regs, "cr3"), ==, 0x1234000);
	g_assert_cmphex(reg(regs, "efer"), ==, 0xd01);
	g_assert_cmphex(reg(regs, "dr7"), ==, 0x400);
	/* as QEMU's text gave them: the first "dpl" is ES's, "st" is TOP */
	g_assert_cmpuint(reg(regs, "dpl"), ==, 1);
	g_assert_cmpuint(reg(regs, "st"), ==, 5);
	g_assert_cmphex(reg(regs, "ftw"), ==, 0xe0);
	g_assert_cmphex(reg(regs, "mxcsr"), ==, 0x1f80);
	/* FPRn is the physical register n: stack slot (n - TOP) & 7 */
	g_assert_cmphex(reg(regs, "fpr0"), ==, sv_get_le(fx(v) + 32 + 16 * 3, 8));
	g_assert_cmphex(reg(regs, "fpr5"), ==, sv_get_le(fx(v) + 32, 8));
	/* YMMnn by its top quadword; the list ends inside the vectors */
	g_assert_cmphex(reg(regs, "ymm00"), ==, sv_get_le(fx(v) + 576 + 8, 8));
	g_assert_cmpuint(regs->count, ==, SV_VCPU_REGS_MAX);
	g_assert_cmpstr(regs->regs[0].name, ==, "rax");
	g_assert_cmpstr(regs->regs[SV_VCPU_REGS_MAX - 1].name, ==, "ymm10");
	guint64 unused;
	g_assert_false(sv_vcpu_regs_get(regs, "gdt", &unused));
	g_assert_false(sv_vcpu_regs_get(regs, "xmm00", &unused));

	/* kernel mode, no AVX yet: XMMnn, one 128-bit number in 64 bits */
	v->s.cs.dpl = 0;
	sv_x86_kvm_regs_convert(&v->r, &v->s, &v->d, FALSE, &v->x, 0x3, regs);
	g_assert_false(regs->user_mode);
	g_assert_cmpuint(reg(regs, "hlt"), ==, 0);
	g_assert_cmphex(reg(regs, "xmm03"), ==, sv_get_le(fx(v) + 160 + 16 * 3, 8));
	g_assert_cmphex(reg(regs, "xmm00"), ==, G_MAXUINT64);
	g_assert_false(sv_vcpu_regs_get(regs, "ymm00", &unused));
}

static void check_image(Vcpu *v, const SvVcpuRegs *regs, gboolean avx)
{
	const guint8 *x = regs->fpu, *f = fx(v);
	g_assert_cmpuint(regs->fpu_size, ==, avx ? 832 : 576);
	g_assert_cmphex(regs->fpu_features, ==, avx ? 0x7 : 0x3);
	g_assert_cmphex(sv_get_le(x + 512, 8), ==, regs->fpu_features); /* XSTATE_BV */
	g_assert_cmpmem(x, 5, f, 5);					/* FCW, FSW, FTW */
	for (guint i = 5; i < 24; i++)					/* FOP, FIP, FDP */
		g_assert_cmpuint(x[i], ==, 0);
	g_assert_cmphex(sv_get_le(x + 24, 4), ==, 0x1f80);
	g_assert_cmphex(sv_get_le(x + 28, 4), ==, 0xffff); /* MXCSR_MASK */
	for (guint st = 0; st < 8; st++) {
		g_assert_cmpmem(x + 32 + 16 * st, 10, f + 32 + 16 * st, 10);
		for (guint i = 10; i < 16; i++)
			g_assert_cmpuint(x[32 + 16 * st + i], ==, 0);
	}
	g_assert_cmpmem(x + 160, 256, f + 160, 256); /* XMM0-15 */
	for (guint i = 416; i < 512; i++)
		g_assert_cmpuint(x[i], ==, 0);
	if (avx)
		g_assert_cmpmem(x + 576, 256, f + 576, 256); /* YMM_Hi128 */
	for (guint i = avx ? 832 : 576; i < SV_VCPU_FPU_MAX; i++)
		g_assert_cmpuint(x[i], ==, 0);
}

static void test_fpu_image(void)
{
	g_autofree Vcpu *v = user_vcpu();
	g_autofree SvVcpuRegs *regs = g_new0(SvVcpuRegs, 1);
	sv_x86_kvm_regs_convert(&v->r, &v->s, &v->d, FALSE, &v->x, 0x7, regs);
	check_image(v, regs, TRUE);
	sv_x86_kvm_regs_convert(&v->r, &v->s, &v->d, FALSE, &v->x, 0x3, regs);
	check_image(v, regs, FALSE);
}

static void test_payload_round_trip(void)
{
	g_autofree Vcpu *v = user_vcpu();
	g_autofree SvVcpuRegs *regs = g_new0(SvVcpuRegs, 1), *back = g_new0(SvVcpuRegs, 1);
	g_autoptr(GError) error = NULL;
	for (guint64 xcr0 = 0x3; xcr0 <= 0x7; xcr0 += 4) {
		sv_x86_kvm_regs_convert(&v->r, &v->s, &v->d, TRUE, &v->x, xcr0, regs);
		g_autofree char *text = sv_kvm_regs_encode(regs);
		memset(back, 0xa5, sizeof(*back));
		g_assert_true(sv_kvm_regs_decode(text, back, &error));
		g_assert_no_error(error);
		g_assert_cmpmem(back, sizeof(*back), regs, sizeof(*regs));
	}
	/* a board that gives no FPU image */
	memset(regs, 0, sizeof(*regs));
	regs->pc = 1;
	sv_vcpu_regs_add(regs, "pc", 1);
	g_autofree char *text = sv_kvm_regs_encode(regs);
	g_assert_null(strstr(text, "fpu "));
	g_assert_true(sv_kvm_regs_decode(text, back, &error));
	g_assert_cmpmem(back, sizeof(*back), regs, sizeof(*regs));
}

static void test_payload_refused(void)
{
	static const char *const bad[] = {
		"pc\n",
		"pc xyz\n",
		"user_mode 2\n",
		"fpu 0\n",
		"fpu zz\n",
		"reg rax\n",
		"reg  1\n",
		"reg a_name_far_too_long 1\n", /* 16 characters or more */
		"reg rax 10000000000000000\n",
		"registers 1\n",
		"pc 1\n\nsp 2\n",
	};
	g_autofree SvVcpuRegs *regs = g_new0(SvVcpuRegs, 1);
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_assert_false(sv_kvm_regs_decode(bad[i], regs, &error));
		g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
	}
	/* more registers than SvVcpuRegs holds */
	GString *many = g_string_new(NULL);
	for (guint i = 0; i <= SV_VCPU_REGS_MAX; i++)
		g_string_append_printf(many, "reg r%u 1\n", i);
	g_autofree char *text = g_string_free(many, FALSE);
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_kvm_regs_decode(text, regs, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kvm/vcpu-regs/names", test_names);
	g_test_add_func("/kvm/vcpu-regs/fpu-image", test_fpu_image);
	g_test_add_func("/kvm/vcpu-regs/payload-round-trip", test_payload_round_trip);
	g_test_add_func("/kvm/vcpu-regs/payload-refused", test_payload_refused);
	return g_test_run();
}
