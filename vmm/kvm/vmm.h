/* SPDX-License-Identifier: MIT */
/*
 * vmm.h - private to vmm/kvm/: the VMM process's shared state.
 *
 * The kvm backend runs each guest in its own process (like QEMU), forked
 * from the snapvm that starts it, so the guest outlives `snapvm run
 * --detach` and any snapvm process can control it through the VM's control
 * socket. Inside that process:
 *
 *   vmm.c           set-up, the main loop (agent socket, control socket)
 *   kvm-vm.c        /dev/kvm, capability checks, guest RAM, IRQ lines
 *   cpuid.c         the portable CPU model
 *   boot-pvh.c      loads vmlinux and enters it through its PVH note
 *   mptable.c       MP table: how the guest finds its vCPUs and IOAPIC
 *   vcpu.c          vCPU threads, port/MMIO dispatch, pause, registers
 *   serial.c        8250 UART on COM1 (the guest console)
 *   virtio-mmio.c   virtio-mmio transport and split virtqueues
 *   virtio-console.c the agent channel: one named virtio-serial port
 *   control.c       the control protocol, both ends
 *
 * One lock (devices) serialises every device model: exits are rare enough
 * here that finer locking would buy nothing.
 */
#ifndef SNAPVM_KVM_VMM_H
#define SNAPVM_KVM_VMM_H

#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <linux/kvm.h>

#include "snapvm/arch.h"

/* Guest-physical layout of the board (beside the RAM regions, which follow
 * QEMU's pc board so both backends present the same memory map). */
#define SV_KVM_VIRTIO_MMIO_BASE 0xfeb00000ull /* above any low RAM (< 0xe0000000) */
#define SV_KVM_VIRTIO_MMIO_SIZE 0x1000ull
#define SV_KVM_VIRTIO_IRQ 5
#define SV_KVM_SERIAL_IRQ 4
#define SV_KVM_SERIAL_BASE 0x3f8
#define SV_KVM_AGENT_PORT_NAME "org.snapvm.agent.0"

typedef enum {
	SV_VMM_RUNNING = 0,
	SV_VMM_POWEROFF, /* the guest asked to stop (reset, reboot) */
	SV_VMM_STOP,	 /* the host asked to stop */
	SV_VMM_FAILED,	 /* triple fault, KVM error: see failure */
} SvVmmEnd;

typedef struct SvSerial SvSerial;
typedef struct SvVirtioMmio SvVirtioMmio;
typedef struct SvVirtioConsole SvVirtioConsole;
typedef struct SvVmm SvVmm;

typedef struct SvVcpu {
	SvVmm *vmm;
	guint index;
	int fd;
	struct kvm_run *run;
	gsize run_size;
	pthread_t thread;
	gboolean started;
} SvVcpu;

struct SvVmm {
	int kvm_fd;
	int vm_fd;
	/* guest RAM: a memfd shared with introspection (by /proc/PID/fd/N) */
	int ram_fd;
	guint8 *ram;
	guint64 ram_size;
	SvRamRegion regions[SV_RAM_REGIONS_MAX];
	guint n_regions;
	struct kvm_cpuid2 *cpuid;

	guint n_vcpus;
	SvVcpu *vcpus;

	GMutex devices;
	SvSerial *serial;
	SvVirtioMmio *virtio;
	SvVirtioConsole *console;
	int console_log_fd;

	/* pause: the main thread asks, every vCPU thread parks and counts */
	GMutex pause_lock;
	GCond pause_cond;
	gboolean pause_requested;
	guint n_parked;

	/* vCPU threads and devices wake the main loop through this eventfd */
	int wake_fd;
	atomic_int end;
	char *failure; /* set once, before end becomes SV_VMM_FAILED */
};

/* vmm.c */
void sv_vmm_wake(SvVmm *vmm);
/* Ends the VM (first reason wins); text goes to the console log. */
void sv_vmm_end(SvVmm *vmm, SvVmmEnd why, const char *text);
void sv_vmm_console_write(SvVmm *vmm, const void *buf, gsize len);

/* control.c: answers one request on a new connection; TRUE if it was
 * "stop" (the VM is ending). */
gboolean sv_kvm_control_serve(SvVmm *vmm, int listen_fd);

/* kvm-vm.c */
gboolean sv_kvm_vm_open(SvVmm *vmm, guint vcpus, GError **error);
gboolean sv_kvm_vm_ram(SvVmm *vmm, const SvArchOps *arch, guint64 size, GError **error);
/* Host pointer for [gpa, gpa+len) inside one RAM region, or NULL. */
void *sv_kvm_gpa(SvVmm *vmm, guint64 gpa, gsize len);
void sv_kvm_irq_line(SvVmm *vmm, guint irq, gboolean level);
void sv_kvm_irq_pulse(SvVmm *vmm, guint irq);

/* cpuid.c */
gboolean sv_kvm_cpuid_init(SvVmm *vmm, GError **error);
gboolean sv_kvm_cpuid_set(SvVmm *vmm, SvVcpu *vcpu, GError **error);

/* boot-pvh.c: loads the kernel and initrd, fills the start info and the
 * e820 map; returns the 32-bit entry and the start info address. */
gboolean sv_kvm_boot_load(SvVmm *vmm, const char *kernel, const char *initrd,
			  const char *cmdline, guint32 *ret_entry, guint32 *ret_start_info,
			  GError **error);

/* mptable.c */
gboolean sv_kvm_mptable_write(SvVmm *vmm, GError **error);

/* vcpu.c */
gboolean sv_kvm_vcpus_create(SvVmm *vmm, guint32 entry, guint32 start_info, GError **error);
gboolean sv_kvm_vcpus_start(SvVmm *vmm, GError **error);
void sv_kvm_vcpus_pause(SvVmm *vmm);
void sv_kvm_vcpus_resume(SvVmm *vmm);
gboolean sv_kvm_vcpus_paused(SvVmm *vmm);
/* QEMU "info registers" text for one vCPU (the arch's monitor parser reads
 * both backends' dumps, so register names are the same). */
char *sv_kvm_vcpu_dump(SvVmm *vmm, guint index, GError **error);

/* serial.c */
SvSerial *sv_serial_new(SvVmm *vmm);
void sv_serial_free(SvSerial *s);
gboolean sv_serial_io(SvSerial *s, guint16 port, gboolean is_write, guint8 *data);

/* virtio-mmio.c: the transport; the device model plugs in below. */
typedef struct SvVirtq {
	guint32 num;
	gboolean ready;
	guint64 desc, avail, used;
	guint16 last_avail; /* next avail entry to take */
	guint16 used_idx;   /* next used entry to fill */
} SvVirtq;

typedef struct SvVirtioDeviceOps {
	guint32 device_id;
	guint64 features;
	guint n_queues;
	/* config space read (offset within config, bytes <= 8) */
	void (*config_read)(void *dev, guint32 offset, guint8 *data, guint len);
	void (*queue_notify)(void *dev, guint queue);
	void (*reset)(void *dev);
	/* the driver set DRIVER_OK */
	void (*driver_ok)(void *dev);
} SvVirtioDeviceOps;

#define SV_VIRTQ_MAX 8
SvVirtioMmio *sv_virtio_mmio_new(SvVmm *vmm, guint64 base, guint irq,
				 const SvVirtioDeviceOps *ops, void *dev);
void sv_virtio_mmio_free(SvVirtioMmio *v);
gboolean sv_virtio_mmio_access(SvVirtioMmio *v, guint64 addr, gboolean is_write, guint8 *data,
			       guint len);
SvVirtq *sv_virtio_mmio_queue(SvVirtioMmio *v, guint index);
/* Raises the used-buffer interrupt. */
void sv_virtio_mmio_notify(SvVirtioMmio *v);

/* One descriptor chain taken from a virtqueue. */
#define SV_VIRTQ_CHAIN_MAX 16
typedef struct SvVirtqChain {
	guint16 head;
	guint n;
	struct {
		guint8 *ptr;
		guint32 len;
		gboolean device_writes;
	} seg[SV_VIRTQ_CHAIN_MAX];
} SvVirtqChain;

/* Takes the next available chain; FALSE if none (or the guest's ring is
 * broken, which is treated as empty: guest memory is untrusted). */
gboolean sv_virtq_pop(SvVmm *vmm, SvVirtq *q, SvVirtqChain *chain);
void sv_virtq_push(SvVmm *vmm, SvVirtq *q, guint16 head, guint32 written);

/* virtio-console.c */
SvVirtioConsole *sv_virtio_console_new(SvVmm *vmm);
void sv_virtio_console_free(SvVirtioConsole *c);
/* Host side of the agent port, called by the main loop with devices held. */
void sv_virtio_console_host_connected(SvVirtioConsole *c, gboolean connected);
/* Copies bytes for the guest into its receive buffers; returns how many it
 * took (0 while the guest has not opened the port or has no buffers). */
gsize sv_virtio_console_to_guest(SvVirtioConsole *c, const guint8 *buf, gsize len);
/* Moves what the guest wrote into out (to the host), bounded by max. */
void sv_virtio_console_from_guest(SvVirtioConsole *c, GByteArray *out, gsize max);

#endif
