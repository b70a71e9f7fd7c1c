/* SPDX-License-Identifier: MIT */
/*
 * virtio-console.c - the agent channel: a virtio console device with the
 * multiport feature and one port, named org.snapvm.agent.0, exactly what
 * QEMU's virtserialport gives the qemu backend's guests. The guest agent
 * finds it by that name in /sys/class/virtio-ports and speaks the same
 * protocol either way.
 *
 * Queues (virtio 1.1 section 5.3.2): 0/1 port 0 receive/transmit, 2/3
 * control receive/transmit. The control handshake (Linux
 * drivers/char/virtio_console.c): the driver says DEVICE_READY, the
 * device adds port 0 (PORT_ADD), the driver says PORT_READY, the device
 * names it (PORT_NAME) and says whether the host end is open (PORT_OPEN);
 * the driver reports the guest end opening and closing with PORT_OPEN.
 * Linux drops data that arrives for a port the guest has not opened, so
 * host bytes wait here until it has.
 */
#include <string.h>

#include "vmm/kvm/vmm.h"

#define VIRTIO_ID_CONSOLE 3
#define F_MULTIPORT (1ull << 1)
enum { Q_RX = 0, Q_TX = 1, Q_CTRL_RX = 2, Q_CTRL_TX = 3, N_QUEUES = 4 };
enum {
	DEVICE_READY = 0, PORT_ADD = 1, PORT_READY = 3, PORT_OPEN = 6, PORT_NAME = 7,
};

struct control {
	guint32 id;
	guint16 event;
	guint16 value;
};

struct SvVirtioConsole {
	SvVmm *vmm;
	SvVirtioMmio *mmio;
	gboolean port_ready;
	gboolean guest_open;
	gboolean host_open;
	GQueue ctrl_out; /* GBytes for the guest's control receive queue */
};

static void queue_control(SvVirtioConsole *c, guint16 event, guint16 value, const char *name)
{
	struct control m = { GUINT32_TO_LE(0), GUINT16_TO_LE(event), GUINT16_TO_LE(value) };
	GByteArray *b = g_byte_array_new();
	g_byte_array_append(b, (const guint8 *)&m, sizeof(m));
	if (name)
		g_byte_array_append(b, (const guint8 *)name, strlen(name));
	g_queue_push_tail(&c->ctrl_out, g_byte_array_free_to_bytes(b));
}

static void deliver_control(SvVirtioConsole *c)
{
	SvVirtq *q = sv_virtio_mmio_queue(c->mmio, Q_CTRL_RX);
	gboolean any = FALSE;
	SvVirtqChain ch;
	while (!g_queue_is_empty(&c->ctrl_out) && sv_virtq_pop(c->vmm, q, &ch)) {
		g_autoptr(GBytes) msg = g_queue_pop_head(&c->ctrl_out);
		gsize len;
		const guint8 *p = g_bytes_get_data(msg, &len);
		guint32 written = 0;
		for (guint i = 0; i < ch.n && written < len; i++) {
			if (!ch.seg[i].device_writes)
				continue;
			guint32 n = MIN(ch.seg[i].len, (guint32)len - written);
			memcpy(ch.seg[i].ptr, p + written, n);
			written += n;
		}
		sv_virtq_push(c->vmm, q, ch.head, written);
		any = TRUE;
	}
	if (any)
		sv_virtio_mmio_notify(c->mmio);
}

static void handle_control(SvVirtioConsole *c, const struct control *m)
{
	guint16 event = GUINT16_FROM_LE(m->event), value = GUINT16_FROM_LE(m->value);
	guint32 id = GUINT32_FROM_LE(m->id);
	switch (event) {
	case DEVICE_READY:
		if (value == 1)
			queue_control(c, PORT_ADD, 0, NULL);
		break;
	case PORT_READY:
		if (id == 0 && value == 1) {
			c->port_ready = TRUE;
			queue_control(c, PORT_NAME, 1, SV_KVM_AGENT_PORT_NAME);
			if (c->host_open)
				queue_control(c, PORT_OPEN, 1, NULL);
		}
		break;
	case PORT_OPEN:
		if (id == 0) {
			c->guest_open = value != 0;
			sv_vmm_wake(c->vmm); /* host bytes may be waiting */
		}
		break;
	default:
		break;
	}
}

static void control_from_guest(SvVirtioConsole *c)
{
	SvVirtq *q = sv_virtio_mmio_queue(c->mmio, Q_CTRL_TX);
	gboolean any = FALSE;
	SvVirtqChain ch;
	while (sv_virtq_pop(c->vmm, q, &ch)) {
		struct control m;
		guint32 got = 0;
		for (guint i = 0; i < ch.n && got < sizeof(m); i++) {
			if (ch.seg[i].device_writes)
				continue;
			guint32 n = MIN(ch.seg[i].len, (guint32)sizeof(m) - got);
			memcpy((guint8 *)&m + got, ch.seg[i].ptr, n);
			got += n;
		}
		if (got == sizeof(m))
			handle_control(c, &m);
		sv_virtq_push(c->vmm, q, ch.head, 0);
		any = TRUE;
	}
	if (any)
		sv_virtio_mmio_notify(c->mmio);
	deliver_control(c);
}

static void console_config_read(void *dev, guint32 off, guint8 *data, guint len)
{
	/* cols, rows (u16 each), max_nr_ports (u32), emerg_wr (u32) */
	guint8 cfg[12] = { 0 };
	cfg[4] = 1;
	memset(data, 0, len);
	if (off < sizeof(cfg))
		memcpy(data, cfg + off, MIN(len, sizeof(cfg) - off));
}

static void console_queue_notify(void *dev, guint queue)
{
	SvVirtioConsole *c = dev;
	switch (queue) {
	case Q_CTRL_TX:
		control_from_guest(c);
		break;
	case Q_CTRL_RX:
		deliver_control(c);
		break;
	default: /* data queues are served by the main loop */
		sv_vmm_wake(c->vmm);
		break;
	}
}

static void console_reset(void *dev)
{
	SvVirtioConsole *c = dev;
	c->port_ready = c->guest_open = FALSE;
	g_queue_clear_full(&c->ctrl_out, (GDestroyNotify)g_bytes_unref);
}

static void console_driver_ok(void *dev)
{
}

static const SvVirtioDeviceOps console_ops = {
	.device_id = VIRTIO_ID_CONSOLE,
	.features = F_MULTIPORT,
	.n_queues = N_QUEUES,
	.config_read = console_config_read,
	.queue_notify = console_queue_notify,
	.reset = console_reset,
	.driver_ok = console_driver_ok,
};

SvVirtioConsole *sv_virtio_console_new(SvVmm *vmm)
{
	SvVirtioConsole *c = g_new0(SvVirtioConsole, 1);
	c->vmm = vmm;
	g_queue_init(&c->ctrl_out);
	c->mmio = sv_virtio_mmio_new(vmm, SV_KVM_VIRTIO_MMIO_BASE, SV_KVM_VIRTIO_IRQ, &console_ops,
				     c);
	vmm->virtio = c->mmio;
	return c;
}

void sv_virtio_console_free(SvVirtioConsole *c)
{
	if (!c)
		return;
	console_reset(c);
	sv_virtio_mmio_free(c->mmio);
	g_free(c);
}

void sv_virtio_console_host_connected(SvVirtioConsole *c, gboolean connected)
{
	c->host_open = connected;
	if (c->port_ready) {
		queue_control(c, PORT_OPEN, connected, NULL);
		deliver_control(c);
	}
}

gsize sv_virtio_console_to_guest(SvVirtioConsole *c, const guint8 *buf, gsize len)
{
	if (!c->guest_open)
		return 0;
	SvVirtq *q = sv_virtio_mmio_queue(c->mmio, Q_RX);
	gsize done = 0;
	SvVirtqChain ch;
	while (done < len && sv_virtq_pop(c->vmm, q, &ch)) {
		guint32 written = 0;
		for (guint i = 0; i < ch.n && done < len; i++) {
			if (!ch.seg[i].device_writes)
				continue;
			guint32 n = (guint32)MIN((gsize)ch.seg[i].len, len - done);
			memcpy(ch.seg[i].ptr, buf + done, n);
			done += n;
			written += n;
		}
		sv_virtq_push(c->vmm, q, ch.head, written);
	}
	if (done)
		sv_virtio_mmio_notify(c->mmio);
	return done;
}

void sv_virtio_console_from_guest(SvVirtioConsole *c, GByteArray *out, gsize max)
{
	SvVirtq *q = sv_virtio_mmio_queue(c->mmio, Q_TX);
	gboolean any = FALSE;
	SvVirtqChain ch;
	while (out->len < max && sv_virtq_pop(c->vmm, q, &ch)) {
		for (guint i = 0; i < ch.n; i++) {
			/* with no host end, what the guest sends is dropped, as
			 * QEMU does for a disconnected chardev */
			if (!ch.seg[i].device_writes && c->host_open)
				g_byte_array_append(out, ch.seg[i].ptr, ch.seg[i].len);
		}
		sv_virtq_push(c->vmm, q, ch.head, 0);
		any = TRUE;
	}
	if (any)
		sv_virtio_mmio_notify(c->mmio);
}
