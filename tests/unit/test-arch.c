/* SPDX-License-Identifier: MIT */
/* The arch registry and the board facts in each ops table. */
#include <elf.h>
#include <string.h>

#include "base/errors.h"
#include "snapvm/arch.h"
#include "snapvm/le.h"

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

/* x86_dump with the other YMM registers, all zero */
static GString *x86_full_dump(void)
{
	GString *text = g_string_new(x86_dump);
	g_string_truncate(text, strstr(text->str, "YMM02") - text->str);
	for (guint i = 2; i < 16; i++)
		g_string_append_printf(text, "YMM%02u=%016x %016x %016x %016x\n", i, 0, 0, 0, 0);
	return text;
}

/* What x86_full_dump's state must give: the registers, and the FPU as a
 * standard XSAVE image. */
static void assert_x86_dump_state(const SvVcpuRegs *r)
{
	g_assert_true(r->user_mode);
	g_assert_cmphex(r->pc, ==, 0x401234);
	g_assert_cmphex(r->sp, ==, 0x7ffd00001000ull);
	static const struct {
		const char *name;
		guint64 value;
	} expect[] = { { "rax", 1 },  { "rbx", 2 },	{ "rdi", 6 },	{ "r8", 8 },
		       { "r15", 15 }, { "rfl", 0x246 }, { "cs", 0x33 }, { "ss", 0x2b },
		       { "cpl", 3 },  { "gs_base", 0 } };
	for (guint i = 0; i < G_N_ELEMENTS(expect); i++) {
		guint64 v;
		if (!sv_vcpu_regs_get(r, expect[i].name, &v))
			g_error("no %s", expect[i].name);
		g_assert_cmphex(v, ==, expect[i].value);
	}
	guint64 fs_base;
	g_assert_true(sv_vcpu_regs_get(r, "fs_base", &fs_base));
	g_assert_cmphex(fs_base, ==, 0x4c8380);
	/* standard XSAVE: x87 + SSE + AVX, 832 bytes */
	g_assert_cmpuint(r->fpu_size, ==, 832);
	g_assert_cmphex(r->fpu_features, ==, 7);
	const guint8 *f = r->fpu;
	g_assert_cmphex(f[0] | f[1] << 8, ==, 0x37f);	 /* FCW */
	g_assert_cmphex(f[2] | f[3] << 8, ==, 0x3000);	 /* FSW, TOP 6 */
	g_assert_cmphex(f[4], ==, 0xc0);		 /* abridged tag: FPR6, FPR7 */
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

/* What the aarch64 stub state of test_aarch64_gdb_regs must give: the
 * registers, and the V registers as user_fpsimd_state. */
static void assert_aarch64_state(const SvVcpuRegs *r)
{
	g_assert_true(r->user_mode);
	g_assert_cmphex(r->pc, ==, 0x401000);
	g_assert_cmphex(r->sp, ==, 0xffffe0001000ull);
	g_assert_cmpuint(r->fpu_size, ==, 528); /* struct user_fpsimd_state */
	const guint8 *f = r->fpu;
	g_assert_cmphex(f[16 * 3], ==, 3);	  /* v3, low half */
	g_assert_cmphex(f[16 * 3 + 8], ==, 0x03); /* v3, high half 0x103 */
	g_assert_cmphex(f[16 * 3 + 9], ==, 0x01);
	g_assert_cmphex(f[512], ==, 0x10); /* FPSR */
	g_assert_cmphex(f[515], ==, 0x08);
	guint64 x7;
	g_assert_true(sv_vcpu_regs_get(r, "x7", &x7));
	g_assert_cmphex(x7, ==, 7);
}

/* ---- registers from a gdbstub: the same SvVcpuRegs as from the monitor ---- */

/* A stub's registers as the client would hand them over: name -> bytes in
 * target order, plus the monitor text for what the stub lacks. */
typedef struct {
	GHashTable *regs;
	const char *monitor;
} TableStub;

static gboolean table_has(gpointer ctx, const char *name)
{
	return g_hash_table_contains(((TableStub *)ctx)->regs, name);
}

static gboolean table_read(gpointer ctx, const char *name, void *buf, gsize len, GError **error)
{
	GBytes *b = g_hash_table_lookup(((TableStub *)ctx)->regs, name);
	if (!b || g_bytes_get_size(b) != len) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED, "no register %s of %zu bytes",
			    name, len);
		return FALSE;
	}
	memcpy(buf, g_bytes_get_data(b, NULL), len);
	return TRUE;
}

static const char *table_monitor(gpointer ctx, GError **error)
{
	return ((TableStub *)ctx)->monitor;
}

/* lo, then hi for a 128-bit register; size bytes of it */
static void table_put(GHashTable *t, const char *name, guint64 lo, guint64 hi, gsize size)
{
	guint8 b[16];
	for (guint i = 0; i < 8; i++) {
		b[i] = (guint8)(lo >> (8 * i));
		b[8 + i] = (guint8)(hi >> (8 * i));
	}
	g_hash_table_insert(t, g_strdup(name), g_bytes_new(b, size));
}

static GHashTable *table_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
				     (GDestroyNotify)g_bytes_unref);
}

/* The x86_dump state as QEMU 7.2's stub sends it: st6/st7 as physical
 * registers 6 and 7 (TOP 6), xmm0-15 lo-hi, and only what the stub lacks
 * (FTW, the YMM upper halves) taken from the monitor text. */
static void test_x86_gdb_regs(void)
{
	const SvArchOps *x = sv_arch_lookup("x86_64", NULL);
	g_autoptr(GString) text = x86_full_dump();
	g_autoptr(GHashTable) t = table_new();
	static const char *const gprs[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi",
					    "rbp", "rsp", "r8",	 "r9",	"r10", "r11",
					    "r12", "r13", "r14", "r15", NULL };
	for (guint i = 0; gprs[i]; i++)
		table_put(t, gprs[i], i == 7 ? 0x7ffd00001000ull : i < 7 ? i + 1 : i, 0, 8);
	table_put(t, "rip", 0x401234, 0, 8);
	table_put(t, "eflags", 0x246, 0, 4);
	static const char *const segs[] = { "cs", "ss", "ds", "es", "fs", "gs" };
	static const guint sels[] = { 0x33, 0x2b, 0, 0, 0, 0 };
	for (guint i = 0; i < 6; i++)
		table_put(t, segs[i], sels[i], 0, 4);
	table_put(t, "fs_base", 0x4c8380, 0, 8);
	table_put(t, "gs_base", 0, 0, 8);
	table_put(t, "k_gs_base", 0xffff888000000000ull, 0, 8);
	for (guint i = 0; i < 5; i++)
		table_put(t, (const char *[]){ "cr0", "cr2", "cr3", "cr4", "efer" }[i], 0, 0, 8);
	table_put(t, "fctrl", 0x37f, 0, 4);
	table_put(t, "fstat", 0x3000, 0, 4);
	static const char *const zero32[] = { "ftag", "fiseg", "fioff", "foseg", "fooff", "fop" };
	for (guint i = 0; i < G_N_ELEMENTS(zero32); i++)
		table_put(t, zero32[i], 0, 0, 4);
	for (guint i = 0; i < 8; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "st%u", i);
		table_put(t, name,
			  i == 6   ? 0x8000000000000000ull
			  : i == 7 ? 0xc000000000000000ull
				   : 0,
			  i == 6   ? 0x3fff
			  : i == 7 ? 0x4000
				   : 0,
			  10);
	}
	for (guint i = 0; i < 16; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "xmm%u", i);
		table_put(t, name,
			  i == 0   ? 0x4444444444444444ull
			  : i == 1 ? 5
				   : 0,
			  i == 0 ? 0x3333333333333333ull : 0, 16);
	}
	table_put(t, "mxcsr", 0x1f80, 0, 4);
	TableStub stub = { t, text->str };
	SvGdbRegReader rd = { table_has, table_read, table_monitor, &stub };
	SvVcpuRegs gdb;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_arch_gdb_vcpu_regs(x, &rd, &gdb, &error));
	g_assert_no_error(error);
	assert_x86_dump_state(&gdb);
	/* the monitor text is read for FTW and YMM only: without FTW, an error */
	g_autofree char *no_ftw = g_strdup(text->str);
	memcpy(strstr(no_ftw, "FTW="), "FTX=", 4);
	stub.monitor = no_ftw;
	g_assert_false(sv_arch_gdb_vcpu_regs(x, &rd, &gdb, &error));
	g_assert_nonnull(strstr(error->message, "FTW"));
	g_clear_error(&error);
	stub.monitor = text->str;
	/* a register the stub does not have is an error that names it */
	g_hash_table_remove(t, "xmm15");
	g_assert_false(sv_arch_gdb_vcpu_regs(x, &rd, &gdb, &error));
	g_assert_nonnull(strstr(error->message, "xmm15"));
}

/* The aarch64 dump's state from the stub: nothing taken from the monitor,
 * and TPIDR_EL0 as well, which the monitor never gave. */
static void test_aarch64_gdb_regs(void)
{
	const SvArchOps *a = sv_arch_lookup("aarch64", NULL);
	g_autoptr(GHashTable) t = table_new();
	for (guint i = 0; i < 32; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "x%u", i);
		if (i < 31)
			table_put(t, name, i, 0, 8);
		g_snprintf(name, sizeof(name), "v%u", i);
		table_put(t, name, i, 0x100 + i, 16);
	}
	table_put(t, "sp", 0xffffe0001000ull, 0, 8);
	table_put(t, "pc", 0x401000, 0, 8);
	table_put(t, "cpsr", 0x80000000, 0, 4);
	table_put(t, "fpsr", 0x08000010, 0, 4);
	table_put(t, "fpcr", 0, 0, 4);
	table_put(t, "TPIDR_EL0", 0x4c8380, 0, 8);
	TableStub stub = { t, NULL }; /* no monitor: the hook must not need one */
	SvGdbRegReader rd = { table_has, table_read, table_monitor, &stub };
	SvVcpuRegs gdb;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_arch_gdb_vcpu_regs(a, &rd, &gdb, &error));
	g_assert_no_error(error);
	assert_aarch64_state(&gdb);
	guint64 tp;
	g_assert_true(sv_vcpu_regs_get(&gdb, "tpidr_el0", &tp));
	g_assert_cmphex(tp, ==, 0x4c8380);
}

static void test_riscv64_virt_layout(void)
{
	const SvArchOps *a = sv_arch_lookup("riscv64", NULL);
	SvRamRegion r[SV_RAM_REGIONS_MAX];
	g_assert_cmpuint(a->qemu->ram_layout(1ull << 30, r), ==, 1);
	g_assert_cmphex(r[0].gpa.v, ==, 0x80000000ull);
	g_assert_cmphex(r[0].size, ==, 1ull << 30);
}

/* Sv39/48/57 entries: a table pointer (V, no R/W/X), a 4 KiB page, a 2 MiB
 * leaf at level 1, a PROT_NONE page (V clear, _PAGE_PROT_NONE set), and
 * Svpbmt bits above the PPN that are no part of the address. */
static void test_riscv64_pte(void)
{
	const SvArchOps *a = sv_arch_lookup("riscv64", NULL);
	SvPte p;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_arch_decode_pte(a, (0x80123ull << 10) | 1, 2, &p, &error));
	g_assert_true(p.present && !p.leaf);
	g_assert_cmphex(p.pa, ==, 0x80123000ull);
	g_assert_true(sv_arch_decode_pte(a, (3ull << 61) | (0x80456ull << 10) | 0xd7, 0, &p, NULL));
	g_assert_true(p.present && p.leaf);
	g_assert_cmphex(p.pa, ==, 0x80456000ull);
	g_assert_true(sv_arch_decode_pte(a, (0x80601ull << 10) | 0xcf, 1, &p, NULL));
	g_assert_true(p.present && p.leaf);
	g_assert_cmphex(p.pa, ==, 0x80600000ull);
	g_assert_true(sv_arch_decode_pte(a, (0x80789ull << 10) | 0x20, 0, &p, NULL));
	g_assert_true(p.present && p.leaf);
	g_assert_true(sv_arch_decode_pte(a, 0x80789ull << 10, 0, &p, NULL));
	g_assert_false(p.present);
}

/* x86_64's soft-dirty bit (11) in a 4 KiB PTE and a 2 MiB leaf, not in a
 * table pointer; arches without one say so and decode it FALSE. */
static void test_x86_64_soft_dirty(void)
{
	const SvArchOps *a = sv_arch_lookup("x86_64", NULL);
	SvPte p;
	g_assert_true(a->soft_dirty);
	g_assert_true(sv_arch_decode_pte(a, 0x1234000ull | (1u << 11) | 0x67, 0, &p, NULL));
	g_assert_true(p.present && p.leaf && p.soft_dirty);
	g_assert_cmphex(p.pa, ==, 0x1234000ull);
	g_assert_true(sv_arch_decode_pte(a, 0x1234000ull | 0x67, 0, &p, NULL));
	g_assert_false(p.soft_dirty);
	g_assert_true(sv_arch_decode_pte(a, 0x40000000ull | (1u << 11) | 0xe7, 1, &p, NULL));
	g_assert_true(p.leaf && p.soft_dirty);
	g_assert_true(sv_arch_decode_pte(a, 0x5000ull | (1u << 11) | 0x67, 1, &p, NULL));
	g_assert_true(!p.leaf && !p.soft_dirty);
	const SvArchOps *arm = sv_arch_lookup("aarch64", NULL);
	g_assert_false(arm->soft_dirty);
	g_assert_true(sv_arch_decode_pte(arm, 0x1234000ull | (1u << 11) | 0x3, 0, &p, NULL));
	g_assert_false(p.soft_dirty);
}

/* The riscv64 stub's registers by ABI name, x1-x31 by number, priv for
 * the mode, the FPU as f0-f31 and fcsr. */
static void test_riscv64_gdb_regs(void)
{
	static const char *const x[32] = { "zero", "ra", "sp",	"gp",  "tp", "t0", "t1", "t2",
					   "fp",   "s1", "a0",	"a1",  "a2", "a3", "a4", "a5",
					   "a6",   "a7", "s2",	"s3",  "s4", "s5", "s6", "s7",
					   "s8",   "s9", "s10", "s11", "t3", "t4", "t5", "t6" };
	static const char *const f[32] = { "ft0", "ft1", "ft2",	 "ft3", "ft4", "ft5",  "ft6",
					   "ft7", "fs0", "fs1",	 "fa0", "fa1", "fa2",  "fa3",
					   "fa4", "fa5", "fa6",	 "fa7", "fs2", "fs3",  "fs4",
					   "fs5", "fs6", "fs7",	 "fs8", "fs9", "fs10", "fs11",
					   "ft8", "ft9", "ft10", "ft11" };
	const SvArchOps *a = sv_arch_lookup("riscv64", NULL);
	g_autoptr(GHashTable) t = table_new();
	for (guint i = 0; i < 32; i++) {
		table_put(t, x[i], 0x5eed000000000000ull | i, 0, 8);
		table_put(t, f[i], 0xa5a5000000000000ull | i, 0, 8);
	}
	table_put(t, "pc", 0x10400, 0, 8);
	table_put(t, "priv", 0, 0, 8);
	table_put(t, "sstatus", 0x200006000ull, 0, 8);
	table_put(t, "fcsr", 0x61, 0, 4);
	TableStub stub = { t, NULL };
	SvGdbRegReader rd = { table_has, table_read, table_monitor, &stub };
	SvVcpuRegs r;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_arch_gdb_vcpu_regs(a, &rd, &r, &error));
	g_assert_no_error(error);
	g_assert_true(r.user_mode);
	g_assert_cmphex(r.pc, ==, 0x10400);
	g_assert_cmphex(r.sp, ==, 0x5eed000000000002ull);
	guint64 v;
	g_assert_true(sv_vcpu_regs_get(&r, "x31", &v));
	g_assert_cmphex(v, ==, 0x5eed00000000001full);
	g_assert_false(sv_vcpu_regs_get(&r, "x0", &v));
	g_assert_cmpuint(r.fpu_size, ==, 32 * 8 + 8);
	g_assert_cmphex(sv_get_le64(r.fpu + 8 * 9), ==, 0xa5a5000000000009ull); /* f9 = fs1 */
	g_assert_cmphex(sv_get_le32(r.fpu + 256), ==, 0x61);
	g_assert_false(sv_vcpu_regs_get(&r, "fcsr_unknown", &v));
	/* QEMU 7.2 has no fcsr in the stub: the rest, and fcsr marked unknown */
	g_hash_table_remove(t, "fcsr");
	g_assert_true(sv_arch_gdb_vcpu_regs(a, &rd, &r, NULL));
	g_assert_true(r.user_mode);
	g_assert_cmpuint(r.fpu_size, ==, 32 * 8 + 8);
	g_assert_true(sv_vcpu_regs_get(&r, "fcsr_unknown", &v));
	g_assert_cmphex(sv_get_le32(r.fpu + 256), ==, 0);
	/* in the kernel: not a user task's registers */
	table_put(t, "priv", 1, 0, 8);
	g_assert_true(sv_arch_gdb_vcpu_regs(a, &rd, &r, NULL));
	g_assert_false(r.user_mode);
}

static void test_ppc64le_pseries_layout(void)
{
	const SvArchOps *a = sv_arch_lookup("ppc64le", NULL);
	SvRamRegion r[SV_RAM_REGIONS_MAX];
	g_assert_cmpuint(a->qemu->ram_layout(1ull << 30, r), ==, 1);
	g_assert_cmphex(r[0].gpa.v, ==, 0);
	/* kernel image and linear map are one window at 0xc000000000000000 */
	SvKernelSpace ks = { 0 };
	g_autoptr(GBytes) file = g_bytes_new_static("", 0);
	g_assert_true(sv_arch_kernel_space_init(a, &ks, NULL, NULL, file, NULL));
	SvGpa pa;
	g_assert_true(sv_arch_kernel_va_to_pa(a, &ks, 0xc000000001234000ull, &pa, NULL));
	g_assert_cmphex(pa.v, ==, 0x1234000);
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_arch_kernel_va_to_pa(a, &ks, 0xc00c000000000000ull, &pa, &error));
	g_assert_nonnull(strstr(error->message, "ppc64le"));
}

/* Radix entries, stored big-endian: a directory entry (present, the next
 * table's size in its low bits), a 4 KiB page, a 2 MiB leaf at level 1, a
 * PROT_NONE page (present, privileged), one being changed (_PAGE_INVALID),
 * and an empty one. */
static void test_ppc64le_pte(void)
{
	const SvArchOps *a = sv_arch_lookup("ppc64le", NULL);
	SvPte p;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_arch_decode_pte(a, GUINT64_SWAP_LE_BE(0x8000000001234009ull), 3, &p,
					 &error));
	g_assert_true(p.present && !p.leaf);
	g_assert_cmphex(p.pa, ==, 0x1234000ull);
	g_assert_true(sv_arch_decode_pte(a, GUINT64_SWAP_LE_BE(0xc00000000456f18full), 0, &p,
					 NULL));
	g_assert_true(p.present && p.leaf);
	g_assert_cmphex(p.pa, ==, 0x456f000ull);
	g_assert_true(sv_arch_decode_pte(a, GUINT64_SWAP_LE_BE(0xc00000000060118full), 1, &p,
					 NULL));
	g_assert_true(p.present && p.leaf);
	g_assert_cmphex(p.pa, ==, 0x600000ull);
	g_assert_true(sv_arch_decode_pte(a, GUINT64_SWAP_LE_BE(0xc000000000789008ull), 0, &p,
					 NULL));
	g_assert_true(p.present && p.leaf);
	g_assert_true(sv_arch_decode_pte(a, GUINT64_SWAP_LE_BE(0x600000000078918full), 0, &p,
					 NULL));
	g_assert_true(p.present);
	g_assert_true(sv_arch_decode_pte(a, 0, 0, &p, NULL));
	g_assert_false(p.present);
}

/* The ppc64le stub's registers: r0-r31, pc as nip, MSR_PR for the mode,
 * cr and xer 32 bits wide, the FPU as f0-f31 and fpscr (64 bits each). */
static void test_ppc64le_gdb_regs(void)
{
	const SvArchOps *a = sv_arch_lookup("ppc64le", NULL);
	g_autoptr(GHashTable) t = table_new();
	for (guint i = 0; i < 32; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "r%u", i);
		table_put(t, name, 0x5eed0000ull | i, 0, 8);
		g_snprintf(name, sizeof(name), "f%u", i);
		table_put(t, name, 0xa5a5000000000000ull | i, 0, 8);
	}
	table_put(t, "pc", 0x10000400, 0, 8);
	table_put(t, "msr", 0x800000000280f033ull, 0, 8); /* PR set */
	table_put(t, "cr", 0x24000482, 0, 4);
	table_put(t, "lr", 0x10000100, 0, 8);
	table_put(t, "ctr", 7, 0, 8);
	table_put(t, "xer", 0x20000000, 0, 4);
	table_put(t, "fpscr", 0x82004000, 0, 4);
	TableStub stub = { t, NULL };
	SvGdbRegReader rd = { table_has, table_read, table_monitor, &stub };
	SvVcpuRegs r;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_arch_gdb_vcpu_regs(a, &rd, &r, &error));
	g_assert_no_error(error);
	g_assert_true(r.user_mode);
	g_assert_cmphex(r.pc, ==, 0x10000400);
	g_assert_cmphex(r.sp, ==, 0x5eed0001);
	guint64 v;
	g_assert_true(sv_vcpu_regs_get(&r, "ccr", &v));
	g_assert_cmphex(v, ==, 0x24000482);
	g_assert_true(sv_vcpu_regs_get(&r, "link", &v));
	g_assert_cmphex(v, ==, 0x10000100);
	/* the "ppc64-vsx" image: NT_PRFPREG, NT_PPC_VMX, NT_PPC_VSX */
	g_assert_cmpuint(r.fpu_size, ==, 33 * 8 + 34 * 16 + 32 * 8);
	g_assert_cmphex(sv_get_le64(r.fpu + 8 * 31), ==, 0xa5a500000000001full);
	g_assert_cmphex(sv_get_le64(r.fpu + 8 * 32), ==, 0x82004000);
	/* a stub without the altivec and vsx features: marked unread */
	g_assert_true(sv_vcpu_regs_get(&r, "vmx_unknown", &v));
	g_assert_true(sv_vcpu_regs_get(&r, "vsx_unknown", &v));
	for (guint i = 0; i < 32; i++) {
		char name[8];
		g_snprintf(name, sizeof(name), "vr%u", i);
		table_put(t, name, 0x1111000000000000ull | i, 0x2222000000000000ull | i, 16);
		g_snprintf(name, sizeof(name), "vs%uh", i);
		table_put(t, name, 0x3333000000000000ull | i, 0, 8);
	}
	table_put(t, "vscr", 0x10001, 0, 4);
	table_put(t, "vrsave", 0xffffffff, 0, 4);
	g_assert_true(sv_arch_gdb_vcpu_regs(a, &rd, &r, NULL));
	g_assert_false(sv_vcpu_regs_get(&r, "vmx_unknown", &v));
	g_assert_false(sv_vcpu_regs_get(&r, "vsx_unknown", &v));
	g_assert_cmphex(sv_get_le64(r.fpu + 264 + 16 * 31), ==, 0x111100000000001full);
	g_assert_cmphex(sv_get_le64(r.fpu + 264 + 16 * 31 + 8), ==, 0x222200000000001full);
	g_assert_cmphex(sv_get_le32(r.fpu + 264 + 512), ==, 0x10001);
	g_assert_cmphex(sv_get_le32(r.fpu + 264 + 528), ==, 0xffffffff);
	g_assert_cmphex(sv_get_le64(r.fpu + 808 + 8 * 2), ==, 0x3333000000000002ull);
	table_put(t, "msr", 0x8000000000001033ull, 0, 8); /* the kernel's */
	g_assert_true(sv_arch_gdb_vcpu_regs(a, &rd, &r, NULL));
	g_assert_false(r.user_mode);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/arch/lookup", test_lookup);
	g_test_add_func("/arch/x86_64/pc-ram-layout", test_x86_pc_layout);
	g_test_add_func("/arch/aarch64/virt-ram-layout", test_aarch64_virt_layout);
	g_test_add_func("/arch/x86_64/gdb-regs", test_x86_gdb_regs);
	g_test_add_func("/arch/aarch64/gdb-regs", test_aarch64_gdb_regs);
	g_test_add_func("/arch/riscv64/virt-ram-layout", test_riscv64_virt_layout);
	g_test_add_func("/arch/riscv64/pte", test_riscv64_pte);
	g_test_add_func("/arch/x86_64/soft-dirty", test_x86_64_soft_dirty);
	g_test_add_func("/arch/riscv64/gdb-regs", test_riscv64_gdb_regs);
	g_test_add_func("/arch/ppc64le/pseries-layout", test_ppc64le_pseries_layout);
	g_test_add_func("/arch/ppc64le/gdb-regs", test_ppc64le_gdb_regs);
	g_test_add_func("/arch/ppc64le/pte", test_ppc64le_pte);
	return g_test_run();
}
