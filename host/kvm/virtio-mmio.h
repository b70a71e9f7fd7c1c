/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio.h - the virtio-mmio transport (virtio 1.x, register layout
 * version 2) with split virtqueues, for devices of snapvm's KVM VMM. The
 * guest finds a device through the board's firmware tables (x86_64: the
 * ACPI DSDT, arch/x86_64/kvm/acpi.c). No indirect descriptors and no event index are offered,
 * so a queue is a descriptor table, an available ring and a used ring.
 *
 * Guest memory is reached through SvVirtioMem (bounds-checked by whoever
 * provides it): every address and length in a queue comes from the guest
 * and is checked before use; a malformed queue stops the device (status
 * DEVICE_NEEDS_RESET), never the VMM.
 */
#ifndef SNAPVM_VIRTIO_MMIO_H
#define SNAPVM_VIRTIO_MMIO_H

#include <glib.h>

#define SV_VIRTIO_MMIO_SIZE 0x200u
#define SV_VIRTIO_QUEUE_MAX 128u

/* Guest-physical memory: a host pointer to len bytes at gpa, or NULL when
 * any of them is not RAM. */
typedef struct SvVirtioMem {
	guint8 *(*map)(gpointer data, guint64 gpa, guint64 len);
	gpointer data;
} SvVirtioMem;

/* One buffer of a descriptor chain. */
typedef struct SvVirtioSeg {
	guint8 *p;
	guint32 len;
	gboolean device_writes; /* VIRTQ_DESC_F_WRITE */
} SvVirtioSeg;

#define SV_VIRTIO_CHAIN_MAX 64u

typedef struct SvVirtioChain {
	guint16 head;
	guint n;
	SvVirtioSeg seg[SV_VIRTIO_CHAIN_MAX];
} SvVirtioChain;

typedef struct SvVirtioMmio SvVirtioMmio;

/* What a device adds to the transport. */
typedef struct SvVirtioDeviceOps {
	guint32 device_id;
	guint64 features; /* offered, VIRTIO_F_VERSION_1 included */
	guint num_queues;
	/* Reads len bytes of device config at offset (guest-controlled:
	 * within the config's size or zeros). */
	void (*config_read)(gpointer dev, guint32 offset, guint8 *out, guint32 len);
	/* Handles one chain; returns the bytes it wrote into the chain's
	 * device-writable buffers (the used ring's len). */
	guint32 (*handle)(gpointer dev, guint queue, const SvVirtioChain *chain);
	/* Raises (level TRUE) or lowers the device's interrupt line. */
	void (*set_irq)(gpointer dev, gboolean level);
} SvVirtioDeviceOps;

SvVirtioMmio *sv_virtio_mmio_new(const SvVirtioDeviceOps *ops, gpointer dev,
				 const SvVirtioMem *mem);
void sv_virtio_mmio_free(SvVirtioMmio *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvVirtioMmio, sv_virtio_mmio_free)

/* A guest access of len (1, 2, 4 or 8) bytes at offset into the register
 * window; data is little-endian as the guest sees it. Queue notifications
 * are handled here, synchronously. */
void sv_virtio_mmio_read(SvVirtioMmio *t, guint32 offset, guint8 *data, guint32 len);
void sv_virtio_mmio_write(SvVirtioMmio *t, guint32 offset, const guint8 *data, guint32 len);
/* The device status register (for tests and diagnostics). */
guint32 sv_virtio_mmio_status(const SvVirtioMmio *t);

/* Status bits (virtio 1.x 2.1). */
#define SV_VIRTIO_STATUS_DRIVER_OK 4u
#define SV_VIRTIO_STATUS_NEEDS_RESET 64u
#define SV_VIRTIO_F_VERSION_1 (1ull << 32)

#endif
