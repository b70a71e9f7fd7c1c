/* SPDX-License-Identifier: MIT */
/*
 * vmm-process.h - private to host/kvm/: the VMM process's shared state.
 *
 * The kvm backend runs each guest in its own process (like QEMU), forked
 * from the snapvm that starts it, so the guest outlives `snapvm run
 * --detach` and any snapvm process can control it through the VM's control
 * socket. Inside that process:
 *
 *   vmm-process.c   set-up, the main loop (agent sockets, control socket)
 *   kvm-vm.c        /dev/kvm, capability checks, guest RAM, IRQ lines
 *   vcpu.c          vCPU threads, port/MMIO dispatch, pause, registers
 *   serial.c        16550A UARTs: the console, the agent's port and its
 *                   control port
 *   agent-ring.c    the agent's fast transport: rings in guest RAM, the
 *                   agent's UARTs their doorbells
 *   control.c       the control protocol, both ends
 *   host-tie.c      ends the VM when the host process that owns it dies
 *
 * Nothing here knows the guest's architecture: the arch's board
 * (SvArchOps.kvm, snapvm/kvm-board.h; x86_64's is arch/x86_64/kvm/) sets
 * up the in-kernel devices, the CPU model and the boot state, and names
 * the UARTs' ports and interrupt lines.
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
#include "snapvm/kvm-board.h"

typedef enum {
	SV_VMM_RUNNING = 0,
	SV_VMM_POWEROFF, /* the guest asked to stop (reset, reboot) */
	SV_VMM_STOP,	 /* the host asked to stop */
	SV_VMM_FAILED,	 /* the guest failed beyond repair, a KVM error: see failure */
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
	guint64 left;  /* payload bytes of the current frame still to come */
	gboolean lost; /* not frames: no longer followed */
	gboolean owned;
} SvHostTie;

void sv_host_tie_reset(SvHostTie *t);
void sv_host_tie_feed(SvHostTie *t, const guint8 *buf, gsize len);

/* How a bridge's bytes cross into the guest (agent-ring.c). */
typedef enum {
	SV_BRIDGE_SERIAL = 0, /* through the UART, a byte an exit */
	SV_BRIDGE_AWAIT_RING, /* told the agent to offer a ring: host bytes wait */
	SV_BRIDGE_RING,	      /* through the rings, the UART a doorbell */
} SvBridgeMode;

typedef struct SvAgentRing SvAgentRing;

/* One agent channel: a UART bridged to a unix socket. */
typedef struct SvBridge {
	SvVmm *vmm;
	SvSerial *uart;
	const char *name;  /* "agent", "agent-control": for messages */
	SvBridgeMode mode; /* devices lock */
	GByteArray *offer; /* AWAIT_RING: the agent's record so far */
	SvAgentRing *ring; /* RING: the accepted rings */
	int listen_fd;
	int client;	      /* the one connected client, or -1 */
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
	const SvKvmBoard *board;
	SvKvmVm vm; /* what the board sees: KVM fds, guest RAM, vCPU count */
	/* guest RAM's memfd, shared with introspection (by /proc/PID/fd/N) */
	int ram_fd;

	SvVcpu *vcpus; /* vm.n_vcpus of them */

	GMutex devices;
	SvSerial *console;
	struct SvVirtioBlk *disk; /* a run's root filesystem image (disk.c), or NULL */
	int disk_fd;
	SvBridge agent, agent_control;
	guint32 irq_sources[SV_KVM_IRQ_LINES]; /* which devices assert each line */
	int console_log_fd;

	/* pause: the main thread asks, every vCPU thread parks and counts */
	GMutex pause_lock;
	GCond pause_cond;
	gboolean pause_requested;
	guint n_parked;

	const char *vm_dir; /* for the agent-channel note (agent-ring.c), the dirty log */

	/* KVM's dirty log (dirty-log.c): on once vmm_written is set */
	struct {
		GMutex lock;	      /* vmm_written: vCPU threads add to it */
		guint64 *vmm_written; /* pages the VMM wrote since the last take */
		char *mark;	      /* the last request's */
	} dirty;

	/* vCPU threads and devices wake the main loop through this eventfd */
	int wake_fd;
	atomic_int end;
	char *failure; /* set once, before end becomes SV_VMM_FAILED */
};

/* vmm-process.c */
void sv_vmm_wake(SvVmm *vmm);
/* Ends the VM (first reason wins); text goes to the console log. */
void sv_vmm_end(SvVmm *vmm, SvVmmEnd why, const char *text);
void sv_vmm_console_write(SvVmm *vmm, const void *buf, gsize len);

/* control.c: answers one request on a new connection; TRUE if it was
 * "stop" (the VM is ending). */
gboolean sv_kvm_control_serve(SvVmm *vmm, int listen_fd);

/* kvm-vm.c: creates the VM with the board's devices; gives it RAM. */
gboolean sv_kvm_vm_open(SvVmm *vmm, guint vcpus, GError **error);
gboolean sv_kvm_vm_ram(SvVmm *vmm, guint64 size, GError **error);
/* (Re)declares every RAM region as a KVM memory slot with flags
 * (KVM_MEM_LOG_DIRTY_PAGES turns the dirty log on). */
gboolean sv_kvm_vm_set_slots(SvVmm *vmm, guint32 flags, GError **error);
/* Sets one device's (source bit's) level on an interrupt line; the line is
 * the OR of its sources. Called with the devices lock held. */
void sv_kvm_irq_line(SvVmm *vmm, guint irq, guint32 source, gboolean level);

/* Guest RAM at [gpa, gpa + len) as one host range, or NULL when that is
 * not all in one RAM region. */
guint8 *sv_kvm_ram_at(SvVmm *vmm, guint64 gpa, guint64 len);

/* dirty-log.c: the reply to "dirty-log MARK" ("none" when it turned the
 * log on, else "PREVIOUS_MARK FILE"), with every vCPU parked. */
char *sv_kvm_dirty_log_take(SvVmm *vmm, const char *mark, GError **error);
/* The VMM wrote (or may write) [host, host + len) of guest RAM: logged
 * with KVM's own log. */
void sv_kvm_dirty_note_ram(SvVmm *vmm, const guint8 *host, guint64 len);

/* agent-ring.c: the fast transport (snapvm/agent-ring.h). All with the
 * devices lock held. */
#define SV_AGENT_RING_ARG "--fast-channel"
/* Guest bytes from the UART of a bridge not in SERIAL mode: the agent's
 * ring offer, or doorbells. FALSE when they are plain serial data after
 * all (the bridge is SERIAL from now on and *ret_held holds the bytes an
 * offer had kept back, to pass on before buf). */
gboolean sv_agent_ring_from_uart(SvBridge *b, const guint8 *buf, gsize len, GByteArray **ret_held);
/* Moves the agent's bytes from its ring into b->to_host, up to max bytes
 * there (dropped while no host is connected). */
void sv_agent_ring_drain(SvBridge *b, gsize max);
/* Moves b->to_guest into the agent's ring, as far as it fits. */
void sv_agent_ring_fill(SvBridge *b);
/* The guest pages of b's accepted rings (control and data), at most max:
 * how many. */
#define SV_AGENT_RING_PAGES_MAX (1 + 2 * 64) /* SV_RING_DATA_PAGES each way */
guint sv_agent_ring_pages(SvBridge *b, const guint8 **pages, guint max);
/* Says on the console log and in <vm_dir>/<name>-channel (which `run
 * --verbose` prints) which transport a bridge uses. */
void sv_agent_ring_note(SvBridge *b, const char *what);

/* disk.c: the root filesystem image as a virtio-mmio block device, added
 * to vm.mmio for the board to describe. */
gboolean sv_kvm_disk_open(SvVmm *vmm, const char *path, GError **error);
/* A vCPU's MMIO access: TRUE if it was the disk's (served). */
gboolean sv_kvm_disk_mmio(SvVmm *vmm, guint64 gpa, guint8 *data, guint32 len, gboolean is_write);

/* vcpu.c */
gboolean sv_kvm_vcpus_create(SvVmm *vmm, GError **error);
gboolean sv_kvm_vcpus_start(SvVmm *vmm, GError **error);
void sv_kvm_vcpus_pause(SvVmm *vmm);
void sv_kvm_vcpus_resume(SvVmm *vmm);
gboolean sv_kvm_vcpus_paused(SvVmm *vmm);
/* The UART that owns a port, or NULL. */
SvSerial *sv_kvm_uart_at(SvVmm *vmm, guint16 port);
/* One vCPU's registers, as the board reads them; the vCPU must be parked
 * (or not yet running). */
gboolean sv_kvm_vcpu_regs(SvVmm *vmm, guint index, SvVcpuRegs *out, GError **error);

/* serial.c: what the guest sends goes to sink, byte runs at a time; the
 * sink takes every byte and returns FALSE when it would rather not get
 * more (the UART then holds its transmitter busy until
 * sv_serial_tx_resume). */
typedef gboolean (*SvSerialSink)(gpointer user, const guint8 *buf, gsize len);
/* source: the UART's own bit among the devices on its interrupt line. */
SvSerial *sv_serial_new(SvVmm *vmm, const SvKvmUart *where, guint32 source, SvSerialSink sink,
			gpointer user);
void sv_serial_free(SvSerial *s);
gboolean sv_serial_owns(const SvSerial *s, guint16 port);
void sv_serial_io(SvSerial *s, guint16 port, gboolean is_write, guint8 *data);
/* Host bytes for the guest: takes what fits in the receive FIFO. */
gsize sv_serial_receive(SvSerial *s, const guint8 *buf, gsize len);
/* Bytes in the receive FIFO the guest has not read yet. */
gsize sv_serial_rx_pending(const SvSerial *s);
/* The sink has room again. Devices lock held. */
void sv_serial_tx_resume(SvSerial *s);

#endif
