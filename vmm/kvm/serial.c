/* SPDX-License-Identifier: MIT */
/*
 * serial.c - a 16550A UART on COM1 (0x3f8, IRQ 4): the guest console.
 *
 * Output only: what the guest writes goes to the console log. Enough of
 * the chip for Linux's 8250 driver to detect a 16550A (scratch register,
 * FIFO bits in IIR, loopback mirroring MCR into MSR) and to drive it by
 * interrupt: the transmitter is always empty, so a THR-empty interrupt is
 * pending after every write and whenever the driver enables it.
 */
#include <string.h>

#include "vmm/kvm/vmm.h"

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_FIFO_BITS 0xc0
#define FCR_FIFO_ENABLE 0x01
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct SvSerial {
	SvVmm *vmm;
	guint8 ier, lcr, mcr, scr, fcr, dll, dlm;
	gboolean thre_pending;
	gboolean irq_level;
	/* a line at a time into the log */
	char line[256];
	guint line_len;
};

SvSerial *sv_serial_new(SvVmm *vmm)
{
	SvSerial *s = g_new0(SvSerial, 1);
	s->vmm = vmm;
	return s;
}

static void flush_line(SvSerial *s)
{
	if (s->line_len)
		sv_vmm_console_write(s->vmm, s->line, s->line_len);
	s->line_len = 0;
}

void sv_serial_free(SvSerial *s)
{
	if (!s)
		return;
	flush_line(s);
	g_free(s);
}

static guint8 iir(const SvSerial *s)
{
	guint8 fifo = (s->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_BITS : 0;
	if ((s->ier & IER_THRI) && s->thre_pending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

/* The IOAPIC pin is edge-triggered: raise on a new pending interrupt,
 * lower when none is left, so every new one is an edge. */
static void update_irq(SvSerial *s)
{
	gboolean level = !(iir(s) & IIR_NO_INT);
	if (level != s->irq_level) {
		s->irq_level = level;
		sv_kvm_irq_line(s->vmm, SV_KVM_SERIAL_IRQ, level);
	}
}

static void put_char(SvSerial *s, guint8 c)
{
	s->line[s->line_len++] = (char)c;
	if (c == '\n' || s->line_len == sizeof(s->line))
		flush_line(s);
}

static guint8 msr(const SvSerial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	/* loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
	return (s->mcr & 0x01 ? MSR_DSR : 0) | (s->mcr & 0x02 ? MSR_CTS : 0) |
	       (s->mcr & 0x04 ? MSR_RI : 0) | (s->mcr & 0x08 ? MSR_DCD : 0);
}

gboolean sv_serial_io(SvSerial *s, guint16 port, gboolean is_write, guint8 *data)
{
	guint reg = port - SV_KVM_SERIAL_BASE;
	gboolean dlab = s->lcr & LCR_DLAB;
	if (is_write) {
		guint8 v = *data;
		switch (reg) {
		case RBR_THR:
			if (dlab) {
				s->dll = v;
			} else {
				if (!(s->mcr & MCR_LOOP))
					put_char(s, v);
				s->thre_pending = TRUE;
			}
			break;
		case IER:
			if (dlab) {
				s->dlm = v;
			} else {
				if ((v & IER_THRI) && !(s->ier & IER_THRI))
					s->thre_pending = TRUE;
				s->ier = v & 0x0f;
			}
			break;
		case IIR_FCR:
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
	} else {
		switch (reg) {
		case RBR_THR:
			*data = dlab ? s->dll : 0;
			break;
		case IER:
			*data = dlab ? s->dlm : s->ier;
			break;
		case IIR_FCR:
			*data = iir(s);
			/* reading IIR acknowledges a THR-empty interrupt */
			if ((*data & 0x0f) == IIR_THRI)
				s->thre_pending = FALSE;
			break;
		case LCR:
			*data = s->lcr;
			break;
		case MCR:
			*data = s->mcr;
			break;
		case LSR:
			*data = LSR_THRE | LSR_TEMT;
			break;
		case MSR:
			*data = msr(s);
			break;
		case SCR:
			*data = s->scr;
			break;
		}
	}
	update_irq(s);
	return TRUE;
}
