/* SPDX-License-Identifier: MIT */
/*
 * kvm-board.h - what the kvm backend asks of an arch.
 *
 * host/kvm/ is snapvm's own VMM on /dev/kvm with nothing arch-specific in
 * it: the VM and its RAM, one thread per vCPU, three UARTs bridged to unix
 * sockets, the control socket. Everything that depends on the guest's
 * architecture - the in-kernel devices, the CPU model, how a kernel is
 * loaded and entered, firmware-free boot tables, the I/O ports of the
 * UARTs, reading a vCPU's registers - is the arch's board, in
 * arch/<arch>/kvm/, reached through SvArchOps.kvm (NULL: the kvm backend
 * has no board for that arch).
 *
 * Only plain types cross this seam (file descriptors, guest RAM as a host
 * mapping), so arch/ needs no host/ header.
 */
#ifndef SNAPVM_KVM_BOARD_H
#define SNAPVM_KVM_BOARD_H

#include <glib.h>

#include "snapvm/arch.h"

G_BEGIN_DECLS

/* A virtio-mmio device the VMM put on the board (a run's disk): its
 * register window and interrupt line, which the board describes to the
 * guest (x86_64: in its ACPI DSDT, arch/x86_64/kvm/acpi.c). */
typedef struct SvKvmMmioDevice {
	guint64 base;
	guint32 size;
	guint irq;
} SvKvmMmioDevice;

#define SV_KVM_MMIO_DEVICES_MAX 8

/* The VM a board builds on, owned by host/kvm/. */
typedef struct SvKvmVm {
	int kvm_fd; /* /dev/kvm */
	int vm_fd;
	guint n_vcpus;
	/* guest RAM: one host mapping, placed in guest-physical space by
	 * regions (the board's ram_layout) */
	guint8 *ram;
	guint64 ram_size;
	SvRamRegion regions[SV_RAM_REGIONS_MAX];
	guint n_regions;
	/* the VMM's virtio-mmio devices, set before the board's load */
	SvKvmMmioDevice mmio[SV_KVM_MMIO_DEVICES_MAX];
	guint n_mmio;
	/* the board's own state for this VM (setup_vm makes it); it lives as
	 * long as the VMM process */
	gpointer board_data;
} SvKvmVm;

/* A KVM capability a board needs, and what it is for people. */
typedef struct SvKvmCap {
	int cap;
	const char *what;
} SvKvmCap;

/* One of the board's UARTs: where the guest finds it and what the guest
 * kernel calls it. */
typedef struct SvKvmUart {
	guint16 port;	 /* first of its 8 I/O ports */
	guint irq;	 /* its interrupt line (< SV_KVM_IRQ_LINES) */
	const char *tty; /* "ttyS1" */
} SvKvmUart;

/* Interrupt lines a board's devices may use. */
#define SV_KVM_IRQ_LINES 32

typedef struct SvKvmBoard {
	/* KVM capabilities the board needs beyond the backend's own, checked
	 * before the VM is created; ends with { 0, NULL }. */
	const SvKvmCap *caps;
	/* Splits ram_size bytes of RAM the way the board maps it (at most
	 * SV_RAM_REGIONS_MAX regions; returns how many). The same layout as
	 * the arch's QEMU board, so introspection and snapshots see one
	 * memory map whichever backend ran the guest. */
	guint (*ram_layout)(guint64 ram_size, SvRamRegion *regions);
	/* The guest console, and the agent's port and control port. */
	SvKvmUart console, agent, agent_control;
	/* Kernel parameters: the arch's (as on its QEMU board), then what
	 * this board's devices need. */
	const char *cmdline;
	const char *board_cmdline;
	/* Where a virtio-mmio device goes (the disk of a run with a root
	 * filesystem image): its register window's guest-physical address,
	 * outside RAM and the board's own devices, and its interrupt line
	 * (< SV_KVM_IRQ_LINES, not a UART's). Base 0: no place for one. The
	 * board's load tells the guest of every device in SvKvmVm.mmio. */
	guint64 virtio_mmio_base;
	guint virtio_mmio_irq;

	/* Can this host's KVM (kvm_fd) present the board's whole CPU model,
	 * so that what runs under it restores elsewhere? --accel auto takes
	 * KVM only then. */
	gboolean (*offers_cpu_model)(int kvm_fd, GError **error);
	/* On a new VM without RAM: the in-kernel devices (interrupt
	 * controllers, timers) and vm->board_data. */
	gboolean (*setup_vm)(SvKvmVm *vm, GError **error);
	/* With RAM in place: loads the kernel and initrd, passes cmdline, and
	 * writes what the guest finds its hardware through (vm->mmio
	 * included). */
	gboolean (*load)(SvKvmVm *vm, const char *kernel, const char *initrd, const char *cmdline,
			 GError **error);
	/* Each new vCPU, in index order (0 boots): its CPU model and, for the
	 * boot vCPU, the state the kernel is entered in. */
	gboolean (*setup_vcpu)(const SvKvmVm *vm, int vcpu_fd, guint index, GError **error);
	/* A port write no device claimed: does it ask for a reset? (The
	 * backend then ends the VM, as the qemu backend does on a reset.) */
	gboolean (*port_write_resets)(guint16 port, guint8 value);
	/* What a read of a port no device claimed gives. */
	guint8 (*port_read_idle)(guint16 port);
	/* A parked vCPU's registers, under the names and in the FPU format the
	 * arch's checkpoint hooks read (see SvVcpuRegs). */
	gboolean (*read_vcpu_regs)(int vcpu_fd, guint index, SvVcpuRegs *out, GError **error);
} SvKvmBoard;

G_END_DECLS

#endif
