/* SPDX-License-Identifier: MIT */
/* The arch registry and the board facts in each ops table. */
#include <elf.h>
#include <string.h>

#include "base/errors.h"
#include "snapvm/arch.h"

static void test_lookup(void)
{
	g_autoptr(GError) error = NULL;
	const SvArchOps *x = sv_arch_lookup("x86_64", &error);
	g_assert_nonnull(x);
	g_assert_cmpuint(x->elf_machine, ==, EM_X86_64);
	const SvArchOps *a = sv_arch_lookup("aarch64", &error);
	g_assert_nonnull(a);
	g_assert_true(sv_arch_by_elf_machine(EM_AARCH64) == a);
	/* names for messages, of arches snapvm knows and of some it does not */
	g_assert_cmpstr(sv_arch_elf_machine_name(EM_X86_64), ==, "x86_64");
	g_assert_cmpstr(sv_arch_elf_machine_name(EM_AARCH64), ==, "aarch64");
	g_assert_cmpstr(sv_arch_elf_machine_name(EM_386), ==, "i386");
	g_assert_cmpstr(sv_arch_elf_machine_name(EM_SPARC), ==, "an unknown machine");
	g_assert_null(sv_arch_lookup("sparc", &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED);
	/* the message lists what is known */
	g_assert_nonnull(strstr(error->message, "x86_64"));
	g_assert_nonnull(strstr(error->message, "aarch64"));
}

static void test_x86_pc_layout(void)
{
	const SvArchOps *x = sv_arch_lookup("x86_64", NULL);
	SvRamRegion r[SV_RAM_REGIONS_MAX];
	g_assert_cmpuint(x->qemu->ram_layout(512ull << 20, r), ==, 1);
	g_assert_cmpuint(r[0].size, ==, 512ull << 20);
	/* 4 GiB on i440fx: 3 GiB low, 1 GiB at 4 GiB, right after in the file */
	g_assert_cmpuint(x->qemu->ram_layout(4ull << 30, r), ==, 2);
	g_assert_cmphex(r[0].size, ==, 0xc0000000ull);
	g_assert_cmphex(r[1].gpa.v, ==, 1ull << 32);
	g_assert_cmphex(r[1].file_offset, ==, 0xc0000000ull);
	g_assert_cmphex(r[1].size, ==, 1ull << 30);
}

static void test_aarch64_virt_layout(void)
{
	const SvArchOps *a = sv_arch_lookup("aarch64", NULL);
	SvRamRegion r[SV_RAM_REGIONS_MAX];
	g_assert_cmpuint(a->qemu->ram_layout(1ull << 30, r), ==, 1);
	g_assert_cmphex(r[0].gpa.v, ==, 0x40000000ull);
}

static void test_monitor_parse_rejects_junk(void)
{
	for (const SvArchOps *const *a = sv_arch_all(); *a; a++) {
		SvVcpuRegs regs;
		g_autoptr(GError) error = NULL;
		g_assert_false((*a)->parse_monitor_regs("no registers here = at all", &regs, &error));
		g_assert_nonnull(error);
	}
}

/* QEMU 7.2's "info registers" for an x86_64 vCPU at CPL 3 with AVX on
 * (target/i386/cpu-dump.c), trimmed to what the parser reads; TOP = 6. */
static const char x86_dump[] =
	"RAX=0000000000000001 RBX=0000000000000002 RCX=0000000000000003 RDX=0000000000000004\n"
	"RSI=0000000000000005 RDI=0000000000000006 RBP=0000000000000007 RSP=00007ffd00001000\n"
	"R8 =0000000000000008 R9 =0000000000000009 R10=000000000000000a R11=000000000000000b\n"
	"R12=000000000000000c R13=000000000000000d R14=000000000000000e R15=000000000000000f\n"
	"RIP=0000000000401234 RFL=00000246 [---Z-P-] CPL=3 II=0 A20=1 SMM=0 HLT=0\n"
	"ES =0000 0000000000000000 ffffffff 00c00000\n"
	"CS =0033 0000000000000000 ffffffff 00a0fb00 DPL=3 CS64 [-RA]\n"
	"SS =002b 0000000000000000 ffffffff 00c0f300 DPL=3 DS   [-WA]\n"
	"DS =0000 0000000000000000 ffffffff 00c00000\n"
	"FS =0000 00000000004c8380 ffffffff 00c00000\n"
	"GS =0000 0000000000000000 ffffffff 00c00000\n"
	"FCW=037f FSW=3000 [ST=6] FTW=c0 MXCSR=00001f80\n"
	"FPR0=0000000000000000 0000 FPR1=0000000000000000 0000\n"
	"FPR2=0000000000000000 0000 FPR3=0000000000000000 0000\n"
	"FPR4=0000000000000000 0000 FPR5=0000000000000000 0000\n"
	"FPR6=8000000000000000 3fff FPR7=c000000000000000 4000\n"
	"YMM00=1111111111111111 2222222222222222 3333333333333333 4444444444444444\n"
	"YMM01=0000000000000000 0000000000000000 0000000000000000 0000000000000005\n"
	"YMM02=0 YMM03=0\n";

static void test_x86_monitor_fpu(void)
{
	const SvArchOps *x = sv_arch_lookup("x86_64", NULL);
	g_autoptr(GString) text = g_string_new(x86_dump);
	/* the other YMM registers, all zero */
	g_string_truncate(text, strstr(text->str, "YMM02") - text->str);
	for (guint i = 2; i < 16; i++)
		g_string_append_printf(text, "YMM%02u=%016x %016x %016x %016x\n", i, 0, 0, 0, 0);
	SvVcpuRegs regs;
	g_autoptr(GError) error = NULL;
	g_assert_true(x->parse_monitor_regs(text->str, &regs, &error));
	g_assert_no_error(error);
	g_assert_true(regs.user_mode);
	guint64 fs_base;
	g_assert_true(sv_vcpu_regs_get(&regs, "fs_base", &fs_base));
	g_assert_cmphex(fs_base, ==, 0x4c8380);
	/* standard XSAVE: x87 + SSE + AVX, 832 bytes */
	g_assert_cmpuint(regs.fpu_size, ==, 832);
	g_assert_cmphex(regs.fpu_features, ==, 7);
	const guint8 *f = regs.fpu;
	g_assert_cmphex(f[0] | f[1] << 8, ==, 0x37f);	  /* FCW */
	g_assert_cmphex(f[2] | f[3] << 8, ==, 0x3000);  /* FSW, TOP 6 */
	g_assert_cmphex(f[4], ==, 0xc0);		  /* abridged tag: FPR6, FPR7 */
	g_assert_cmphex(f[24] | f[25] << 8, ==, 0x1f80); /* MXCSR */
	/* ST(0) is FPR6 (1.0), ST(1) FPR7 (3.0) */
	g_assert_cmphex(f[32 + 7], ==, 0x80);
	g_assert_cmphex(f[40] | f[41] << 8, ==, 0x3fff);
	g_assert_cmphex(f[48 + 7], ==, 0xc0);
	g_assert_cmphex(f[56] | f[57] << 8, ==, 0x4000);
	/* YMM0: low 128 bits in the legacy XMM0 slot, high 128 at 576 */
	for (guint b = 0; b < 8; b++) {
		g_assert_cmphex(f[160 + b], ==, 0x44);
		g_assert_cmphex(f[168 + b], ==, 0x33);
		g_assert_cmphex(f[576 + b], ==, 0x22);
		g_assert_cmphex(f[584 + b], ==, 0x11);
	}
	g_assert_cmphex(f[176], ==, 5); /* XMM1 */
	g_assert_cmphex(f[512], ==, 7); /* XSTATE_BV */
}

/* aarch64_cpu_dump_state at EL0 with the Q registers (hi:lo). */
static void test_aarch64_monitor_fpu(void)
{
	const SvArchOps *a = sv_arch_lookup("aarch64", NULL);
	g_autoptr(GString) text = g_string_new("PC=0000000000401000 ");
	for (guint i = 0; i < 31; i++)
		g_string_append_printf(text, "X%02u=%016x ", i, i);
	g_string_append(text, " SP=0000ffffe0001000\nPSTATE=80000000 N--- EL0t     "
			      "FPCR=00000000 FPSR=08000010\n");
	for (guint i = 0; i < 32; i++)
		g_string_append_printf(text, "Q%02u=%016x:%016x ", i, 0x100 + i, i);
	SvVcpuRegs regs;
	g_autoptr(GError) error = NULL;
	g_assert_true(a->parse_monitor_regs(text->str, &regs, &error));
	g_assert_no_error(error);
	g_assert_true(regs.user_mode);
	g_assert_cmpuint(regs.fpu_size, ==, 528); /* struct user_fpsimd_state */
	const guint8 *f = regs.fpu;
	g_assert_cmphex(f[16 * 3], ==, 3);	       /* v3, low half */
	g_assert_cmphex(f[16 * 3 + 8], ==, 0x03);      /* v3, high half 0x103 */
	g_assert_cmphex(f[16 * 3 + 9], ==, 0x01);
	g_assert_cmphex(f[512], ==, 0x10);	       /* FPSR */
	g_assert_cmphex(f[515], ==, 0x08);
	guint64 x7;
	g_assert_true(sv_vcpu_regs_get(&regs, "x7", &x7));
	g_assert_cmphex(x7, ==, 7);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/arch/lookup", test_lookup);
	g_test_add_func("/arch/x86_64/pc-ram-layout", test_x86_pc_layout);
	g_test_add_func("/arch/aarch64/virt-ram-layout", test_aarch64_virt_layout);
	g_test_add_func("/arch/monitor-parse-rejects-junk", test_monitor_parse_rejects_junk);
	g_test_add_func("/arch/x86_64/monitor-fpu", test_x86_monitor_fpu);
	g_test_add_func("/arch/aarch64/monitor-fpu", test_aarch64_monitor_fpu);
	return g_test_run();
}
