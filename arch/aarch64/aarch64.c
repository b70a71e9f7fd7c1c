/* SPDX-License-Identifier: MIT */
/* aarch64.c - the aarch64 ops table: board facts and register parsing. */
#include <elf.h>

#include "arch/aarch64/aarch64-private.h"
#include "arch/arch-tables.h"
#include "base/guest-mem.h"
#include "base/kallsyms.h"
#include "base/kernel-types.h"

/* QEMU's "virt" board maps all RAM in one block at 1 GiB (hw/arm/virt.c). */
static guint aarch64_virt_ram_layout(guint64 ram_size, SvRamRegion *regions)
{
	regions[0] =
		(SvRamRegion){ .gpa = sv_gpa(0x40000000ull), .size = ram_size, .file_offset = 0 };
	return 1;
}

/*
 * Kernel address translation (arch/arm64/include/asm/memory.h, 48-bit VAs,
 * 4K pages): the linear map [PAGE_OFFSET, +2^47) is PA + PAGE_OFFSET -
 * memstart_addr; the kernel image at KIMAGE_VADDR is PA + kimage_voffset.
 * Debian's arm64 kernel exports neither variable as a symbol (no
 * KALLSYMS_ALL), so both come from guest RAM itself. The Image's header page
 * does not survive boot, so the Image is found by its contents
 * (sv_arch_find_kernel_image). memstart_addr is the start of RAM
 * rounded down to ARM64_MEMSTART_ALIGN (1 GiB with 4K pages).
 */
#define PAGE_OFFSET_48 0xffff000000000000ull
#define LINEAR_SPAN (1ull << 47)
#define KIMAGE_VADDR 0xffff800008000000ull
#define MEMSTART_ALIGN (1ull << 30)
/* -(1 << (VA_BITS - (PAGE_SHIFT - STRUCT_PAGE_MAX_SHIFT))); vmemmap is
 * VMEMMAP_START - (memstart_addr >> PAGE_SHIFT) struct pages */
#define VMEMMAP_START_48 0xfffffc0000000000ull

static gboolean aarch64_kernel_space_init(SvKernelSpace *ks, const SvGuestMem *mem,
					  const SvKallsyms *syms, GBytes *kernel_file,
					  GError **error)
{
	const guint64 ram = 0x40000000ull; /* the virt board's RAM base */
	if (!sv_arch_find_kernel_image(mem, ram, kernel_file, &ks->image_pa_base, error)) {
		g_prefix_error(error, "aarch64: ");
		return FALSE;
	}
	/* KIMAGE_VADDR moved between 6.1 and 6.12 (0xffff800008000000 ->
	 * 0xffff800080000000): the image's own _text says where it runs
	 * (nokaslr: at its link address) */
	guint64 text;
	ks->image_va_base = sv_kallsyms_lookup(syms, "_text", &text, NULL) ? text : KIMAGE_VADDR;
	ks->image_span = MIN((guint64)g_bytes_get_size(kernel_file) + (64ull << 20), 256ull << 20);
	ks->direct_map_base = PAGE_OFFSET_48 - (ram & ~(MEMSTART_ALIGN - 1));
	ks->pt_levels = 4; /* 48-bit VAs with 4 KiB granules */
	/* VMEMMAP_START moved with it (6.12: below -1 GiB): the 6.1 value is
	 * known, a later kernel's struct pages are found in guest memory */
	if (ks->image_va_base == KIMAGE_VADDR) {
		ks->vmemmap_start = VMEMMAP_START_48;
		ks->vmemmap_first_pfn = (ram & ~(MEMSTART_ALIGN - 1)) >> 12;
	}
	return TRUE;
}

static gboolean aarch64_kernel_va_to_pa(const SvKernelSpace *ks, guint64 va, SvGpa *ret_pa,
					GError **error)
{
	return sv_arch_image_or_linear_va_to_pa("aarch64", ks, PAGE_OFFSET_48, LINEAR_SPAN, va,
						ret_pa, error);
}

/*
 * arm64 descriptors (asm/pgtable-hwdef.h, asm/pgtable.h): bits[1:0] 11 is a
 * table (levels 1-3) or a page (level 0, the last), 01 a block (2 MiB at
 * level 1, 1 GiB at level 2); PTE_PROT_NONE (bit 58) with VALID clear is a
 * PROT_NONE page; output address bits 12-47.
 */
#define ARM_PTE_VALID (1ull << 0)
#define ARM_PTE_TABLE (1ull << 1)
#define ARM_PTE_PROT_NONE (1ull << 58)
#define ARM_PTE_PA_MASK 0x0000fffffffff000ull

static void aarch64_decode_pte(guint64 e, guint level, SvPte *ret)
{
	gboolean protnone = !(e & ARM_PTE_VALID) && (e & ARM_PTE_PROT_NONE) && level == 0;
	ret->present = (e & ARM_PTE_VALID) || protnone;
	ret->leaf = level == 0 || !(e & ARM_PTE_TABLE);
	guint64 pa = e & ARM_PTE_PA_MASK;
	if (ret->leaf && level > 0)
		pa &= ~((1ull << (12 + 9 * level)) - 1);
	ret->pa = pa;
}

static const char *const aarch64_max_cpu_globals[] = { "max-arm-cpu.pauth-impdef=on", NULL };

static const SvQemuBoard aarch64_qemu_board = {
	.emulator = "qemu-system-aarch64",
	.package = "qemu-system-arm",
	.machine = "virt",
	.libvirt_arch = "aarch64",
	/* No SVE and no pointer authentication: snapshots stay FPSIMD-only and
	 * restore anywhere; -cpu max also boots four times slower under TCG. */
	.default_cpu = "cortex-a57",
	/* QEMU's max with its own pointer-authentication hash instead of the
	 * architected QARMA: the same features to the guest, but a boot in 7 s
	 * instead of 19 under TCG (design.md). */
	.max_cpu_summary = "SVE, SME, pointer authentication with QEMU's faster impdef "
			   "algorithm (a process that used SVE or SME cannot be checkpointed)",
	.max_cpu_globals = aarch64_max_cpu_globals,
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
	.kernel_thread_size = 16384, /* THREAD_SIZE with 4K pages, no KASAN */
	.qemu = &aarch64_qemu_board,
	.kvm = NULL, /* the kvm backend has no aarch64 board */
	.gdb_vcpu_regs = sv_aarch64_gdb_vcpu_regs,
	.kernel_space_init = aarch64_kernel_space_init,
	.kernel_va_to_pa = aarch64_kernel_va_to_pa,
	.decode_pte = aarch64_decode_pte,
	.named_regs = sv_aarch64_named_regs,
	.task_fpu = sv_aarch64_task_fpu,
	.task_tls = sv_aarch64_task_tls,
	.vcpu_user_state = sv_aarch64_vcpu_user_state,
	.syscall_fixup = sv_aarch64_syscall_fixup,
	.fpu_cpu_needs = sv_aarch64_fpu_cpu_needs,
};
