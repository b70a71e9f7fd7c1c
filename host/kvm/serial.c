/* SPDX-License-Identifier: MIT */
/*
 * serial.c - a 16550A UART: the guest console and the agent's two
 * channels, at the ports and interrupt lines the board gives them.
 *
 * Enough of the chip for Linux's 8250 driver to detect a 16550A (scratch
 * register, FIFO bits in IIR, loopback mirroring MCR into MSR) and to drive
 * it by interrupt. The transmitter is empty unless the sink is full, so
 * a THR-empty interrupt is pending after every write and whenever the
 * driver enables it; a full sink (a host that reads slowly) holds THRE
 * clear until sv_serial_tx_resume, so the guest waits and no byte is
 * dropped; received bytes wait in a FIFO deeper than the chip's (the driver
 * reads while LSR says data ready). Modem lines say "carrier present"
 * always: a drop would hang up the agent's tty for good.
 */
#include <string.h>

#include "host/kvm/vmm-process.h"

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_BITS 0xc0
#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RCVR 0x02
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define RX_FIFO_MAX 4096
#define OUT_CHUNK 256

struct SvSerial {
	SvVmm *vmm;
	guint16 base;
	guint irq;
	guint32 irq_source; /* this UART's bit on its shared line */
	SvSerialSink sink;
	gpointer user;
	guint8 ier, lcr, mcr, scr, fcr, dll, dlm;
	gboolean thre_pending;
	gboolean tx_blocked; /* the sink said it is full: THR reads as not empty */
	GByteArray *rx;
	/* output gathered up to a newline or OUT_CHUNK bytes, or until the
	 * guest stops sending (the next read of LSR/IIR flushes) */
	guint8 out[OUT_CHUNK];
	guint out_len;
};

SvSerial *sv_serial_new(SvVmm *vmm, const SvKvmUart *where, guint32 source, SvSerialSink sink,
			gpointer user)
{
	SvSerial *s = g_new0(SvSerial, 1);
	s->vmm = vmm;
	s->base = where->port;
	s->irq = where->irq;
	s->irq_source = source;
	s->sink = sink;
	s->user = user;
	s->rx = g_byte_array_new();
	return s;
}

static void flush_out(SvSerial *s)
{
	if (s->out_len && !s->sink(s->user, s->out, s->out_len))
		s->tx_blocked = TRUE;
	s->out_len = 0;
}

void sv_serial_free(SvSerial *s)
{
	if (!s)
		return;
	flush_out(s);
	g_byte_array_unref(s->rx);
	g_free(s);
}

gboolean sv_serial_owns(const SvSerial *s, guint16 port)
{
	return s && port >= s->base && port < s->base + 8;
}

static guint8 iir(const SvSerial *s)
{
	guint8 fifo = (s->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_BITS : 0;
	if ((s->ier & IER_RDI) && s->rx->len)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thre_pending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

/* The line is high while an interrupt is pending: the board's interrupt
 * controller takes UART lines edge-triggered, so each new one after an
 * idle moment is an edge. */
static void update_irq(SvSerial *s)
{
	sv_kvm_irq_line(s->vmm, s->irq, s->irq_source, !(iir(s) & IIR_NO_INT));
}

static guint8 msr(const SvSerial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	/* loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
	return (s->mcr & 0x01 ? MSR_DSR : 0) | (s->mcr & 0x02 ? MSR_CTS : 0) |
	       (s->mcr & 0x04 ? MSR_RI : 0) | (s->mcr & 0x08 ? MSR_DCD : 0);
}

static void write_reg(SvSerial *s, guint reg, guint8 v)
{
	gboolean dlab = s->lcr & LCR_DLAB;
	switch (reg) {
	case RBR_THR:
		if (dlab) {
			s->dll = v;
			break;
		}
		if (!(s->mcr & MCR_LOOP)) {
			s->out[s->out_len++] = v;
			if (v == '\n' || s->out_len == OUT_CHUNK)
				flush_out(s);
		}
		/* a driver that writes while THRE is clear (a FIFO's worth past
		 * the sink's limit) is still heard: the sink's limit is soft */
		s->thre_pending = !s->tx_blocked;
		break;
	case IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		if ((v & IER_THRI) && !(s->ier & IER_THRI) && !s->tx_blocked)
			s->thre_pending = TRUE;
		s->ier = v & 0x0f;
		break;
	case IIR_FCR:
		if (v & FCR_CLEAR_RCVR)
			g_byte_array_set_size(s->rx, 0);
		s->fcr = v & (FCR_FIFO_ENABLE | 0xc0);
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v & 0x1f;
		break;
	case SCR:
		s->scr = v;
		break;
	default:
		break;
	}
}

static guint8 read_reg(SvSerial *s, guint reg)
{
	gboolean dlab = s->lcr & LCR_DLAB;
	switch (reg) {
	case RBR_THR: {
		if (dlab)
			return s->dll;
		if (!s->rx->len)
			return 0;
		guint8 c = s->rx->data[0];
		g_byte_array_remove_index(s->rx, 0);
		return c;
	}
	case IER:
		return dlab ? s->dlm : s->ier;
	case IIR_FCR: {
		flush_out(s); /* the driver is between bursts */
		guint8 v = iir(s);
		/* reading IIR acknowledges a THR-empty interrupt */
		if ((v & 0x0f) == IIR_THRI)
			s->thre_pending = FALSE;
		return v;
	}
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR:
		return (s->tx_blocked ? 0 : LSR_THRE | LSR_TEMT) | (s->rx->len ? LSR_DR : 0);
	case MSR:
		return msr(s);
	case SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

void sv_serial_io(SvSerial *s, guint16 port, gboolean is_write, guint8 *data)
{
	guint reg = port - s->base;
	if (is_write)
		write_reg(s, reg, *data);
	else
		*data = read_reg(s, reg);
	update_irq(s);
}

gsize sv_serial_receive(SvSerial *s, const guint8 *buf, gsize len)
{
	gsize n = MIN(len, RX_FIFO_MAX - MIN(s->rx->len, RX_FIFO_MAX));
	if (n) {
		g_byte_array_append(s->rx, buf, (guint)n);
		update_irq(s);
	}
	return n;
}

gsize sv_serial_rx_pending(const SvSerial *s)
{
	return s->rx->len;
}

void sv_serial_tx_resume(SvSerial *s)
{
	if (!s->tx_blocked)
		return;
	s->tx_blocked = FALSE;
	s->thre_pending = TRUE; /* the transmitter emptied: tell the driver */
	update_irq(s);
}
