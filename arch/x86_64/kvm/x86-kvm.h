/* SPDX-License-Identifier: MIT */
/*
 * x86-kvm.h - private to arch/x86_64/kvm/: the x86_64 board of the kvm
 * backend (snapvm/kvm-board.h), a PC without firmware:
 *
 *   kvm-board.c     the board table: in-kernel PIC/IOAPIC/PIT, the legacy
 *                   UARTs, the reset ports, per-vCPU set-up
 *   cpuid.c         the portable CPU model
 *   boot-pvh.c      loads vmlinux and enters it through its PVH note
 *   mptable.c       MP table: how the guest finds its vCPUs and IOAPIC
 *                   without ACPI (acpi=off)
 *   acpi.c          ACPI tables: the same, and the virtio-mmio devices
 *   vcpu-regs.c     a vCPU's registers as SvVcpuRegs
 */
#ifndef SNAPVM_X86_KVM_H
#define SNAPVM_X86_KVM_H

#include <glib.h>
#include <linux/kvm.h>

#include "snapvm/kvm-board.h"

extern const SvKvmBoard sv_x86_64_kvm_board;

/* Where the local APICs and the IOAPIC are (the MP table and the MADT
 * say the same); the IOAPIC's ID comes after the vCPUs' APIC IDs. */
#define SV_X86_LAPIC_ADDR 0xfee00000u
#define SV_X86_IOAPIC_ADDR 0xfec00000u

/* Host pointer for [gpa, gpa+len) inside one RAM region, or NULL. */
void *sv_x86_kvm_gpa(const SvKvmVm *vm, guint64 gpa, gsize len);

/* cpuid.c. The first four are pure (no /dev/kvm; unit-tested): the
 * portable model cut from a KVM_GET_SUPPORTED_CPUID table; one vCPU's copy
 * of it (its APIC ID); whether a supported table has every feature of the
 * model; the XCR0 the model's guest will enable (0: no XSAVE). */
struct kvm_cpuid2 *sv_x86_kvm_cpuid_model(const struct kvm_cpuid2 *supported);
struct kvm_cpuid2 *sv_x86_kvm_cpuid_for_vcpu(const struct kvm_cpuid2 *model, guint index);
gboolean sv_x86_kvm_cpuid_covers_model(const struct kvm_cpuid2 *supported, GError **error);
guint64 sv_x86_kvm_cpuid_xcr0(const struct kvm_cpuid2 *model);
/* KVM_GET_SUPPORTED_CPUID of kvm_fd. */
struct kvm_cpuid2 *sv_x86_kvm_cpuid_supported(int kvm_fd, GError **error);
/* Gives one vCPU its copy of the model. */
gboolean sv_x86_kvm_cpuid_set(const struct kvm_cpuid2 *model, int vcpu_fd, guint index,
			      GError **error);

/* boot-pvh.c: loads the kernel and initrd, fills the start info (with
 * the ACPI root pointer rsdp) and the e820 map; returns the 32-bit entry
 * and the start info address. */
gboolean sv_x86_kvm_boot_load(const SvKvmVm *vm, const char *kernel, const char *initrd,
			      const char *cmdline, guint32 rsdp, guint32 *ret_entry,
			      guint32 *ret_start_info, GError **error);
/* Puts the boot vCPU at the PVH entry. */
gboolean sv_x86_kvm_boot_enter(int vcpu_fd, guint32 entry, guint32 start_info, GError **error);

/* mptable.c. sv_x86_kvm_mptable_build is pure (unit-tested): the floating
 * pointer and config table for n_vcpus in [base, base+space), which the
 * guest sees at gpa. */
gboolean sv_x86_kvm_mptable_build(guint8 *base, gsize space, guint32 gpa, guint n_vcpus,
				  GError **error);
gboolean sv_x86_kvm_mptable_write(const SvKvmVm *vm, GError **error);

/* acpi.c. sv_x86_kvm_acpi_build is pure (unit-tested): RSDP, XSDT, FADT,
 * FACS, MADT and a DSDT declaring devs in [base, base+space), which the
 * guest sees at gpa, the RSDP at gpa itself. */
gboolean sv_x86_kvm_acpi_build(guint8 *base, gsize space, guint32 gpa, guint n_vcpus,
			       const SvKvmMmioDevice *devs, guint n_devs, GError **error);
gboolean sv_x86_kvm_acpi_write(const SvKvmVm *vm, guint32 *ret_rsdp, GError **error);

/* vcpu-regs.c. sv_x86_kvm_regs_convert is pure (unit-tested): what KVM
 * reads of a vCPU (halted: its MP state; xcr0: its XCR0) as SvVcpuRegs. */
void sv_x86_kvm_regs_convert(const struct kvm_regs *r, const struct kvm_sregs *s,
			     const struct kvm_debugregs *d, gboolean halted,
			     const struct kvm_xsave *xsave, guint64 xcr0, SvVcpuRegs *out);
gboolean sv_x86_kvm_read_vcpu_regs(int vcpu_fd, guint index, SvVcpuRegs *out, GError **error);

#endif
