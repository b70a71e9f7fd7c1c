/* SPDX-License-Identifier: MIT */
/* The arch registry and the board facts in each ops table. */
#include <elf.h>

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
	g_assert_null(sv_arch_lookup("sparc", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
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

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/arch/lookup", test_lookup);
	g_test_add_func("/arch/x86_64/pc-ram-layout", test_x86_pc_layout);
	g_test_add_func("/arch/aarch64/virt-ram-layout", test_aarch64_virt_layout);
	g_test_add_func("/arch/monitor-parse-rejects-junk", test_monitor_parse_rejects_junk);
	return g_test_run();
}
