/* SPDX-License-Identifier: MIT */
/*
 * mptable.c - an Intel MultiProcessor Specification 1.4 table: how a guest
 * without ACPI (acpi=off; otherwise the MADT, acpi.c, says the same and
 * Linux reads that) finds its vCPUs, the IOAPIC and how ISA interrupts
 * reach it. The checksum is ACPI's (the same sum).
 *
 * Linux scans the last KiB of base memory for the floating pointer
 * (arch/x86/kernel/mpparse.c smp_scan_config); the config table follows
 * it. boot-pvh.c marks that KiB reserved in the memory map. ISA IRQ n goes
 * to IOAPIC pin n, as KVM's default GSI routing has it.
 */
#include <string.h>

#include "arch/x86_64/kvm/x86-kvm.h"
#include "base/acpi-table.h"
#include "base/errors.h"

#define MP_ADDR 0x9fc00u
#define MP_SPACE 1024u

#pragma pack(push, 1)
struct mpf {
	char signature[4];
	guint32 physptr;
	guint8 length, spec, checksum, feature[5];
};
struct mpc_header {
	char signature[4];
	guint16 length;
	guint8 spec, checksum;
	char oem[8], product[12];
	guint32 oemptr;
	guint16 oemsize, count;
	guint32 lapic;
	guint16 ext_length;
	guint8 ext_checksum, reserved;
};
struct mpc_cpu {
	guint8 type, apicid, apicver, flags;
	guint32 signature, features, reserved[2];
};
struct mpc_bus {
	guint8 type, busid;
	char bustype[6];
};
struct mpc_ioapic {
	guint8 type, apicid, apicver, flags;
	guint32 addr;
};
struct mpc_intsrc {
	guint8 type, irqtype;
	guint16 irqflag;
	guint8 srcbus, srcbusirq, dstapic, dstirq;
};
#pragma pack(pop)

enum { MP_CPU = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_INTSRC = 3, MP_LINTSRC = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

gboolean sv_x86_kvm_mptable_build(guint8 *base, gsize space, guint32 gpa, guint n_vcpus,
				  GError **error)
{
	gsize need = sizeof(struct mpf) + sizeof(struct mpc_header) +
		     n_vcpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
		     sizeof(struct mpc_ioapic) + 17 * sizeof(struct mpc_intsrc);
	/* LAPIC IDs 0..n-1 then the IOAPIC's: all must fit in 8 bits (and
	 * the xAPIC's broadcast ID 0xff stays free) */
	if (n_vcpus == 0 || n_vcpus >= 0xff || need > space) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%u vCPUs do not fit in the MP table", n_vcpus);
		return FALSE;
	}
	memset(base, 0, space);
	struct mpf *mpf = (struct mpf *)base;
	struct mpc_header *h = (struct mpc_header *)(mpf + 1);
	guint8 *p = (guint8 *)(h + 1);
	guint16 count = 0;
	const guint8 ioapic_id = (guint8)n_vcpus; /* after the LAPIC IDs */

	for (guint i = 0; i < n_vcpus; i++) {
		struct mpc_cpu c = {
			.type = MP_CPU,
			.apicid = (guint8)i,
			.apicver = 0x14,
			.flags = 1 | (i == 0 ? 2 : 0), /* enabled, BSP */
			.signature = 0x600,
			.features = 0x201, /* fpu, apic */
		};
		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
		count++;
	}
	struct mpc_bus bus = { .type = MP_BUS, .busid = 0, .bustype = "ISA   " };
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	struct mpc_ioapic io = { .type = MP_IOAPIC,
				 .apicid = ioapic_id,
				 .apicver = 0x11,
				 .flags = 1,
				 .addr = SV_X86_IOAPIC_ADDR };
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	count += 2;
	for (guint8 irq = 0; irq < 16; irq++) {
		if (irq == 2) /* the PIC cascade */
			continue;
		struct mpc_intsrc s = { .type = MP_INTSRC,
					.irqtype = MP_INT,
					.srcbus = 0,
					.srcbusirq = irq,
					.dstapic = ioapic_id,
					.dstirq = irq };
		memcpy(p, &s, sizeof(s));
		p += sizeof(s);
		count++;
	}
	/* LINT0 is the PIC's ExtINT, LINT1 NMI, on every local APIC (0xff) */
	struct mpc_intsrc lint[2] = {
		{ .type = MP_LINTSRC, .irqtype = MP_EXTINT, .dstapic = 0xff, .dstirq = 0 },
		{ .type = MP_LINTSRC, .irqtype = MP_NMI, .dstapic = 0xff, .dstirq = 1 },
	};
	memcpy(p, lint, sizeof(lint));
	p += sizeof(lint);
	count += 2;

	memcpy(h->signature, "PCMP", 4);
	h->length = (guint16)(p - (guint8 *)h);
	h->spec = 4;
	memcpy(h->oem, "SNAPVM  ", 8);
	memcpy(h->product, "KVM         ", 12);
	h->count = count;
	h->lapic = SV_X86_LAPIC_ADDR;
	h->checksum = sv_acpi_checksum((guint8 *)h, h->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = gpa + (guint32)sizeof(*mpf);
	mpf->length = 1; /* 16-byte units */
	mpf->spec = 4;
	mpf->checksum = sv_acpi_checksum((guint8 *)mpf, sizeof(*mpf));
	return TRUE;
}

gboolean sv_x86_kvm_mptable_write(const SvKvmVm *vm, GError **error)
{
	guint8 *base = sv_x86_kvm_gpa(vm, MP_ADDR, MP_SPACE);
	if (!base) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "guest RAM does not cover the MP table at 0x%x", MP_ADDR);
		return FALSE;
	}
	return sv_x86_kvm_mptable_build(base, MP_SPACE, MP_ADDR, vm->n_vcpus, error);
}
