/* SPDX-License-Identifier: MIT */
/* x86_64.c - the x86_64 ops table: board facts and register parsing. */
#include <elf.h>
#include <string.h>

#include "arch/arch-tables.h"
#include "arch/x86_64/kvm/x86-kvm.h"
#include "arch/x86_64/x86_64-private.h"
#include "base/guest-mem.h"
#include "base/kallsyms.h"
#include "base/kernel-types.h"

/*
 * QEMU's i440fx "pc" board puts RAM below 4 GiB up to a limit and the rest
 * above 4 GiB (pc_init1 in hw/i386/pc_piix.c): with 3.5 GiB or more of RAM
 * the low part is cut to 3 GiB (gigabyte_align), leaving room for PCI holes.
 * The backing file holds the low part first, then the high part.
 */
guint sv_x86_pc_ram_layout(guint64 ram_size, SvRamRegion *regions)
{
	const guint64 max_below_4g = 0xe0000000ull;
	guint64 below = ram_size;
	if (ram_size >= max_below_4g)
		below = 0xc0000000ull;
	regions[0] = (SvRamRegion){ .gpa = sv_gpa(0), .size = below, .file_offset = 0 };
	if (ram_size == below)
		return 1;
	regions[1] = (SvRamRegion){ .gpa = sv_gpa(1ull << 32),
				    .size = ram_size - below,
				    .file_offset = below };
	return 2;
}

/* What QEMU 7.2's TCG cannot give of Haswell-noTSX-IBRS (it warns and drops
 * them); switched off outright so a KVM host presents the very same CPU. */
static const char *const x86_64_disabled_features[] = {
	"pcid", "x2apic", "tsc-deadline", "invpcid", "spec-ctrl", NULL,
};

/*
 * Kernel address translation without a page walk (asm/page_64.h):
 * the kernel image at __START_KERNEL_map is at phys_base, the direct map at
 * page_offset_base (0xffff888000000000, or 0xff11000000000000 with 5-level
 * paging: read from the guest, never assumed). phys_base is 0 when the
 * kernel runs where it was linked, as under PVH with nokaslr; the value is
 * read from the guest too, through the image mapping that assumes it, and a
 * nonzero one is refused rather than used on a guess.
 */
#define START_KERNEL_MAP 0xffffffff80000000ull
#define DIRECT_MAP_SPAN (1ull << 46) /* 64 TiB, 4-level; 5-level's is larger */

static gboolean read_symbol_u64(const SvGuestMem *mem, const SvKallsyms *syms, const char *name,
				guint64 *ret, GError **error)
{
	guint64 va;
	if (!sv_kallsyms_lookup(syms, name, &va, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "x86_64: the guest kernel has no symbol %s", name);
		return FALSE;
	}
	if (va < START_KERNEL_MAP) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "x86_64: %s at 0x%" G_GINT64_MODIFIER "x is outside the kernel image",
			    name, va);
		return FALSE;
	}
	guint8 b[8];
	if (!sv_guest_mem_read(mem, sv_gpa(va - START_KERNEL_MAP), b, sizeof(b), error))
		return FALSE;
	*ret = GUINT64_FROM_LE(*(guint64 *)(void *)b);
	return TRUE;
}

static gboolean x86_kernel_space_init(SvKernelSpace *ks, const SvGuestMem *mem,
				      const SvKallsyms *syms, GBytes *kernel_file, GError **error)
{
	guint64 phys_base, page_offset_base;
	if (!read_symbol_u64(mem, syms, "phys_base", &phys_base, error) ||
	    !read_symbol_u64(mem, syms, "page_offset_base", &page_offset_base, error))
		return FALSE;
	if (phys_base != 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "x86_64: the kernel was relocated (phys_base 0x%" G_GINT64_MODIFIER
			    "x); boot it with nokaslr",
			    phys_base);
		return FALSE;
	}
	if (page_offset_base != 0xffff888000000000ull &&
	    page_offset_base != 0xff11000000000000ull) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "x86_64: page_offset_base 0x%" G_GINT64_MODIFIER
			    "x is not a direct-map base this kernel can have (KASLR on?)",
			    page_offset_base);
		return FALSE;
	}
	ks->direct_map_base = page_offset_base;
	ks->image_va_base = START_KERNEL_MAP;
	ks->image_pa_base = phys_base;
	ks->image_span = 1ull << 30; /* KERNEL_IMAGE_SIZE */
	/* 5-level paging is the guest's choice (CPU LA57 and no no5lvl): ask it */
	guint64 l5 = 0;
	g_autoptr(GError) local = NULL;
	guint64 l5_va;
	if (sv_kallsyms_lookup(syms, "__pgtable_l5_enabled", &l5_va, NULL)) {
		guint8 b[4];
		if (!sv_guest_mem_read(mem, sv_gpa(l5_va - START_KERNEL_MAP), b, 4, error))
			return FALSE;
		l5 = b[0] | b[1] << 8 | b[2] << 16 | (guint32)b[3] << 24;
	}
	ks->pt_levels = l5 ? 5 : 4;
	return TRUE;
}

static gboolean x86_kernel_va_to_pa(const SvKernelSpace *ks, guint64 va, SvGpa *ret_pa,
				    GError **error)
{
	if (va >= ks->image_va_base) {
		*ret_pa = sv_gpa(va - ks->image_va_base + ks->image_pa_base);
		return TRUE;
	}
	if (va >= ks->direct_map_base && va - ks->direct_map_base < DIRECT_MAP_SPAN) {
		*ret_pa = sv_gpa(va - ks->direct_map_base);
		return TRUE;
	}
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
		    "x86_64: kernel address 0x%" G_GINT64_MODIFIER
		    "x is neither in the kernel image nor in the direct map",
		    va);
	return FALSE;
}

/*
 * x86-64 page-table entries (arch/x86/include/asm/pgtable_types.h): P bit 0,
 * PSE bit 7 (a 2 MiB or 1 GiB leaf above level 0), physical address bits
 * 12-51. A not-present entry with _PAGE_PROTNONE (bit 8) is a PROT_NONE
 * page, whose frame number the kernel stores inverted against L1TF
 * (asm/pgtable-invert.h).
 */
#define X86_PTE_PRESENT (1ull << 0)
#define X86_PTE_PSE (1ull << 7)
#define X86_PTE_PROTNONE (1ull << 8)
#define X86_PTE_PA_MASK 0x000ffffffffff000ull
/* _PAGE_SOFT_DIRTY (_PAGE_BIT_SOFTW3), the same bit in a 4 KiB PTE and a
 * huge PMD/PUD; a swap or migration entry keeps it elsewhere (bit 1), but
 * only present pages are read (the guest has no swap) */
#define X86_PTE_SOFT_DIRTY (1ull << 11)

static void x86_decode_pte(guint64 e, guint level, SvPte *ret)
{
	gboolean protnone = !(e & X86_PTE_PRESENT) && (e & X86_PTE_PROTNONE) && level <= 1;
	ret->present = (e & X86_PTE_PRESENT) || protnone;
	ret->leaf = level == 0 || (level <= 2 && (e & X86_PTE_PSE));
	guint64 pa = (protnone ? ~e : e) & X86_PTE_PA_MASK;
	if (ret->leaf && level > 0) /* bit 12 of a huge entry is PAT, not address */
		pa &= ~((1ull << (12 + 9 * level)) - 1);
	ret->pa = pa;
	ret->soft_dirty = ret->leaf && (e & X86_PTE_SOFT_DIRTY);
}

static const SvQemuBoard x86_64_qemu_board = {
	.emulator = "qemu-system-x86_64",
	.package = "qemu-system-x86",
	.machine = "pc",
	.libvirt_arch = "x86_64",
	/* AVX2 without AVX-512: TCG in QEMU 7.2 has no AVX-512 and a KVM host
	 * can always offer this much, so XSAVE layouts match wherever a
	 * snapshot is restored. */
	.default_cpu = "Haswell-noTSX-IBRS",
	.default_cpu_disabled = x86_64_disabled_features,
	/* QEMU 7.2's TCG: AVX2, FMA, PKU, no AVX-512 and no AMX */
	.max_cpu_summary = "AVX2, FMA, PKU, no AVX-512",
	.console = "ttyS0",
	/* no_timer_check: on a loaded host TCG may not deliver the timer IRQ
	 * within the kernel's IO-APIC check, which then panics ("IO-APIC +
	 * timer doesn't work!", seen at load 18); the PIT works all the same. */
	.cmdline = "nokaslr no_timer_check",
	/* the TSC's frequency, which the guest cannot measure under TCG */
	.clock_cmdline = sv_x86_tcg_clock_cmdline,
	.ram_layout = sv_x86_pc_ram_layout,
};

const SvArchOps sv_arch_x86_64 = {
	.name = "x86_64",
	.debian_arch = "amd64",
	.elf_machine = EM_X86_64,
	.page_size = 4096,
	/* __START_KERNEL: the ELF vmlinux carries final addresses anyway */
	.kernel_link_base = 0xffffffff81000000ull,
	.kernel_thread_size = 16384, /* THREAD_SIZE without KASAN */
	.qemu = &x86_64_qemu_board,
	.kvm = &sv_x86_64_kvm_board,
	.gdb_vcpu_regs = sv_x86_gdb_vcpu_regs,
	.kernel_space_init = x86_kernel_space_init,
	.kernel_va_to_pa = x86_kernel_va_to_pa,
	.decode_pte = x86_decode_pte,
	/* Debian's amd64 6.1 config sets CONFIG_MEM_SOFT_DIRTY (arm64 has no
	 * soft-dirty in 6.1 at all) */
	.soft_dirty = TRUE,
	.named_regs = sv_x86_named_regs,
	.task_fpu = sv_x86_task_fpu,
	.task_tls = sv_x86_task_tls,
	.vcpu_user_state = sv_x86_vcpu_user_state,
	.vcpu_fpu_complete = sv_x86_vcpu_fpu_complete,
	.syscall_fixup = sv_x86_syscall_fixup,
	.fpu_cpu_needs = sv_x86_fpu_cpu_needs,
};
