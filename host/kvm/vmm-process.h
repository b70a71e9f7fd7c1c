/* SPDX-License-Identifier: MIT */
/*
 * vmm.h - private to host/kvm/: the VMM process's shared state.
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
 *   serial.c        16550A UARTs: COM1 the console, COM2 and COM3 the
 *                   agent's port and control port
 *   control.c       the control protocol, both ends
 *   host-tie.c      ends the VM when the host process that owns it dies
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

/*
 * The board's devices: three of the PC's four legacy UARTs, at the ports
 * and IRQs Linux's 8250 driver probes without any firmware table. The
 * guest kernel (Debian's) cannot be told about a virtio-mmio device
 * without ACPI (no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES), so the agent's
 * channels are UARTs, handed to it as --port and --control-port on the
 * kernel command line. COM1 and COM3 share IRQ 4, as on a PC.
 */
#define SV_KVM_COM1 0x3f8 /* console, ttyS0 */
#define SV_KVM_COM2 0x2f8 /* agent port, ttyS1 */
#define SV_KVM_COM3 0x3e8 /* agent control port, ttyS2 */
#define SV_KVM_COM1_IRQ 4
#define SV_KVM_COM2_IRQ 3
#define SV_KVM_COM3_IRQ 4
#define SV_KVM_IRQS 16

typedef enum {
	SV_VMM_RUNNING = 0,
	SV_VMM_POWEROFF, /* the guest asked to stop (reset, reboot) */
	SV_VMM_STOP,	 /* the host asked to stop */
	SV_VMM_FAILED,	 /* triple fault, KVM error: see failure */
} SvVmmEnd;

typedef struct SvSerial SvSerial;
typedef struct SvVmm SvVmm;

/* host-tie.c: follows the frames a host sends on the agent's port; owned
 * once it sent a RUN with SV_RUN_POWEROFF_ON_HOST_LOSS (the VM ends when
 * that connection closes). */
typedef struct SvHostTie {
	guint8 hdr[16]; /* SV_PROTO_HEADER_SIZE */
	guint hdr_len;
	guint8 head[8]; /* a RUN payload's first bytes, up to its flags */
	guint head_len, head_want;
	guint64 left; /* payload bytes of the current frame still to come */
	gboolean lost; /* not frames: no longer followed */
	gboolean owned;
} SvHostTie;

void sv_host_tie_reset(SvHostTie *t);
void sv_host_tie_feed(SvHostTie *t, const guint8 *buf, gsize len);

/* One agent channel: a UART bridged to a unix socket. */
typedef struct SvBridge {
	SvVmm *vmm;
	SvSerial *uart;
	int listen_fd;
	int client; /* the one connected client, or -1 */
	GByteArray *to_guest; /* main loop only */
	GByteArray *to_host;  /* filled by the UART under the devices lock */
	gint64 to_host_since; /* main loop: when it saw to_host's oldest byte */
	gboolean tie_to_host; /* the agent's port, not its control port */
	SvHostTie tie;	      /* of the current client */
} SvBridge;

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
	SvSerial *console;
	SvBridge agent, agent_control;
	guint32 irq_sources[SV_KVM_IRQS]; /* which devices assert each line */
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
/* Sets one device's (source bit's) level on an interrupt line; the line is
 * the OR of its sources. Called with the devices lock held. */
void sv_kvm_irq_line(SvVmm *vmm, guint irq, guint32 source, gboolean level);

/* cpuid.c. Pure (no /dev/kvm; unit-tested): the portable model cut from
 * a KVM_GET_SUPPORTED_CPUID table; one vCPU's copy of it (its APIC ID);
 * whether a supported table has every feature of the model. */
struct kvm_cpuid2 *sv_kvm_cpuid_model(const struct kvm_cpuid2 *supported);
struct kvm_cpuid2 *sv_kvm_cpuid_for_vcpu(const struct kvm_cpuid2 *model, guint index);
gboolean sv_kvm_cpuid_covers_model(const struct kvm_cpuid2 *supported, GError **error);
/* The XCR0 the model's guest will enable (0: no XSAVE). */
guint64 sv_kvm_cpuid_xcr0(const struct kvm_cpuid2 *model);
gboolean sv_kvm_cpuid_init(SvVmm *vmm, GError **error);
gboolean sv_kvm_cpuid_set(SvVmm *vmm, SvVcpu *vcpu, GError **error);

/* boot-pvh.c: loads the kernel and initrd, fills the start info and the
 * e820 map; returns the 32-bit entry and the start info address. */
gboolean sv_kvm_boot_load(SvVmm *vmm, const char *kernel, const char *initrd,
			  const char *cmdline, guint32 *ret_entry, guint32 *ret_start_info,
			  GError **error);

/* mptable.c. sv_kvm_mptable_build is pure (unit-tested): the floating
 * pointer and config table for n_vcpus in [base, base+space), which the
 * guest sees at gpa. */
gboolean sv_kvm_mptable_build(guint8 *base, gsize space, guint32 gpa, guint n_vcpus,
			      GError **error);
gboolean sv_kvm_mptable_write(SvVmm *vmm, GError **error);

/* vcpu.c */
gboolean sv_kvm_vcpus_create(SvVmm *vmm, guint32 entry, guint32 start_info, GError **error);
gboolean sv_kvm_vcpus_start(SvVmm *vmm, GError **error);
void sv_kvm_vcpus_pause(SvVmm *vmm);
void sv_kvm_vcpus_resume(SvVmm *vmm);
gboolean sv_kvm_vcpus_paused(SvVmm *vmm);
/* The UART that owns a port, or NULL. */
SvSerial *sv_kvm_uart_at(SvVmm *vmm, guint16 port);
/* QEMU "info registers" text for one vCPU (the arch's monitor parser reads
 * both backends' dumps, so register names are the same). */
char *sv_kvm_vcpu_dump(SvVmm *vmm, guint index, GError **error);

/* serial.c: what the guest sends goes to sink, byte runs at a time; the
 * sink takes every byte and returns FALSE when it would rather not get
 * more (the UART then holds its transmitter busy until
 * sv_serial_tx_resume). */
typedef gboolean (*SvSerialSink)(gpointer user, const guint8 *buf, gsize len);
SvSerial *sv_serial_new(SvVmm *vmm, guint16 base, guint irq, SvSerialSink sink, gpointer user);
void sv_serial_free(SvSerial *s);
gboolean sv_serial_owns(const SvSerial *s, guint16 port);
void sv_serial_io(SvSerial *s, guint16 port, gboolean is_write, guint8 *data);
/* Host bytes for the guest: takes what fits in the receive FIFO. */
gsize sv_serial_receive(SvSerial *s, const guint8 *buf, gsize len);
/* The sink has room again. Devices lock held. */
void sv_serial_tx_resume(SvSerial *s);

#endif
