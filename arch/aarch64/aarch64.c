/* SPDX-License-Identifier: MIT */
/* aarch64.c - the aarch64 ops table: board facts and register parsing. */
#include <elf.h>
#include <string.h>

#include "arch/arch-tables.h"

/* QEMU's "virt" board maps all RAM in one block at 1 GiB (hw/arm/virt.c). */
static guint aarch64_virt_ram_layout(guint64 ram_size, SvRamRegion *regions)
{
	regions[0] = (SvRamRegion){ .gpa = sv_gpa(0x40000000ull), .size = ram_size,
				    .file_offset = 0 };
	return 1;
}

static void collect_pair(const char *name, guint64 value, const char *rest, gpointer data)
{
	SvVcpuRegs *regs = data;
	/* QEMU prints X00..X30; store them the way the ISA names them. */
	if (name[0] == 'x' && g_ascii_isdigit(name[1])) {
		g_autofree char *canon = g_strdup_printf("x%u", (guint)g_ascii_strtoull(name + 1, NULL, 10));
		sv_vcpu_regs_add(regs, canon, value);
		return;
	}
	/* Q registers print as "Q00=hi:lo": only the scalar registers matter here. */
	if (name[0] == 'q' && g_ascii_isdigit(name[1]))
		return;
	sv_vcpu_regs_add(regs, name, value);
}

static gboolean aarch64_parse_monitor_regs(const char *text, SvVcpuRegs *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	sv_monitor_scan_pairs(text, collect_pair, out);
	guint64 pstate = 0;
	if (!sv_vcpu_regs_get(out, "pc", &out->pc) || !sv_vcpu_regs_get(out, "sp", &out->sp) ||
	    !sv_vcpu_regs_get(out, "pstate", &pstate)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "aarch64: monitor register dump lacks PC, SP or PSTATE");
		return FALSE;
	}
	/* PSTATE.M[3:2] is the exception level; M[4] set would be AArch32. */
	out->user_mode = ((pstate >> 2) & 3) == 0;
	return TRUE;
}

static const SvQemuBoard aarch64_qemu_board = {
	.emulator = "qemu-system-aarch64",
	.package = "qemu-system-arm",
	.machine = "virt",
	.libvirt_arch = "aarch64",
	/* No SVE and no pointer authentication: snapshots stay FPSIMD-only and
	 * restore anywhere; -cpu max also boots four times slower under TCG. */
	.default_cpu = "cortex-a57",
	.console = "ttyAMA0",
	.cmdline = "nokaslr",
	.ram_layout = aarch64_virt_ram_layout,
};

const SvArchOps sv_arch_aarch64 = {
	.name = "aarch64",
	.debian_arch = "arm64",
	.elf_machine = EM_AARCH64,
	.page_size = 4096,
	/* KIMAGE_VADDR with 48-bit VAs (arch/arm64/include/asm/memory.h) */
	.kernel_link_base = 0xffff800008000000ull,
	.qemu = &aarch64_qemu_board,
	.parse_monitor_regs = aarch64_parse_monitor_regs,
};
