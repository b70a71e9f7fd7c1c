/* SPDX-License-Identifier: MIT */
/*
 * acpi.c - the board's ACPI tables: how the guest kernel finds the VMM's
 * virtio-mmio devices. Debian's kernels are built without
 * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, so `virtio_mmio.device=` means
 * nothing to them; their virtio_mmio driver matches the ACPI _HID
 * "LNRO0005" (drivers/virtio/virtio_mmio.c), and ACPI's default
 * enumeration makes a platform device of every such node in the DSDT.
 *
 * The set, in the low BIOS area the memory map reserves (0xe0000, where
 * Linux would also scan for the RSDP; PVH hands it over directly):
 *   RSDP -> XSDT -> FADT -> FACS, DSDT
 *               \-> MADT
 * The FADT describes a PC, not a hardware-reduced machine: hardware-
 * reduced ACPI makes Linux drop the legacy PIC and with it the ISA
 * interrupts the UARTs (the agent's channels) use. The fixed registers it
 * must name (PM1 event and control blocks) are ports no device claims:
 * they read all ones, which says "SCI enabled, already in ACPI mode", and
 * the SCI (IRQ 9) is never raised. No PM timer, no RTC, no i8042, no
 * fixed buttons, no sleep states (no _S5: the agent ends a guest with a
 * reset, reboot=k).
 * The MADT says what the MP table says (mptable.c, kept for acpi=off):
 * LAPIC IDs 0..n-1, the IOAPIC after them with GSI n = ISA IRQ n.
 */
#include <string.h>

#include "arch/x86_64/kvm/x86-kvm.h"
#include "base/acpi-aml.h"
#include "base/acpi-table.h"
#include "base/errors.h"
#include "snapvm/le.h"

#define ACPI_ADDR 0xe0000u
#define ACPI_SPACE 0x20000u /* up to 1 MiB */
#define SCI_IRQ 9
#define PORT_PM1A_EVT 0x600
#define PORT_PM1A_CNT 0x604
#define VIRTIO_MMIO_HID "LNRO0005"

/* FADT (ACPI 6.4 table 5.9): revision 6, 276 bytes; offsets of what is
 * set here. */
#define FADT_REVISION 6
#define FADT_SIZE 276
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_SCI_INT 46
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_P_LVL2_LAT 96
#define FADT_P_LVL3_LAT 98
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_MINOR_VERSION 131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT 140

/* IA-PC boot architecture flags: VGA and CMOS RTC absent; no i8042 (the
 * board answers its status port for reboot=k only) and no legacy
 * devices for the guest to look for. */
#define BOOT_ARCH_NO_VGA (1u << 2)
#define BOOT_ARCH_NO_CMOS_RTC (1u << 5)
/* FADT flags: WBINVD works; no fixed power or sleep button */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PWR_BUTTON (1u << 4)
#define FADT_F_SLP_BUTTON (1u << 5)

/* MADT (ACPI 6.4 section 5.2.12) */
#define MADT_REVISION 5
#define MADT_PCAT_COMPAT 1u /* the 8259 pair is there (KVM's) */
enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_ISO = 2, MADT_LAPIC_NMI = 4 };
/* ISO flags: active high (01), level triggered (11 << 2) */
#define ISO_LEVEL_HIGH 0x000du

static void put16(GByteArray *t, guint16 v)
{
	guint8 b[2];
	sv_put_le16(b, v);
	g_byte_array_append(t, b, 2);
}

static void put32(GByteArray *t, guint32 v)
{
	guint8 b[4];
	sv_put_le32(b, v);
	g_byte_array_append(t, b, 4);
}

static void put64(GByteArray *t, guint64 v)
{
	guint8 b[8];
	sv_put_le64(b, v);
	g_byte_array_append(t, b, 8);
}

/* One Device per virtio-mmio device under \_SB: _HID, _UID and its
 * register window and (edge, active-high: what the ISA line does)
 * interrupt. */
static GByteArray *build_dsdt(const SvKvmMmioDevice *devs, guint n_devs)
{
	g_autoptr(GByteArray) sb = g_byte_array_new();
	for (guint i = 0; i < n_devs; i++) {
		g_autoptr(GByteArray) body = g_byte_array_new();
		g_autoptr(GByteArray) v = g_byte_array_new();
		sv_aml_string(v, VIRTIO_MMIO_HID);
		sv_aml_name(body, "_HID", v);
		g_byte_array_set_size(v, 0);
		sv_aml_integer(v, i);
		sv_aml_name(body, "_UID", v);
		g_autoptr(GByteArray) res = g_byte_array_new();
		sv_aml_res_memory32_fixed(res, TRUE, (guint32)devs[i].base, devs[i].size);
		sv_aml_res_interrupt(res, devs[i].irq, SV_AML_IRQ_CONSUMER | SV_AML_IRQ_EDGE);
		g_byte_array_set_size(v, 0);
		sv_aml_resource_template(v, res);
		sv_aml_name(body, "_CRS", v);
		g_autofree char *name = g_strdup_printf("VR%02X", i);
		sv_aml_device(sb, name, body);
	}
	GByteArray *t = sv_acpi_table_new("DSDT", 2);
	sv_aml_scope(t, "\\_SB", sb);
	sv_acpi_table_finish(t);
	return t;
}

static GByteArray *build_facs(void)
{
	/* no header of the common kind: signature, length, then fields that
	 * all stay zero but the version; no checksum */
	GByteArray *t = g_byte_array_new();
	g_byte_array_append(t, (const guint8 *)"FACS", 4);
	put32(t, 64);
	g_byte_array_set_size(t, 64);
	memset(t->data + 8, 0, 56);
	t->data[32] = 2; /* version */
	return t;
}

static GByteArray *build_fadt(guint32 facs, guint32 dsdt)
{
	GByteArray *t = sv_acpi_table_new("FACP", FADT_REVISION);
	g_byte_array_set_size(t, FADT_SIZE);
	guint8 *f = t->data;
	memset(f + SV_ACPI_HEADER_SIZE, 0, FADT_SIZE - SV_ACPI_HEADER_SIZE);
	sv_put_le32(f + FADT_FIRMWARE_CTRL, facs);
	sv_put_le32(f + FADT_DSDT, dsdt);
	sv_put_le16(f + FADT_SCI_INT, SCI_IRQ);
	sv_put_le32(f + FADT_PM1A_EVT_BLK, PORT_PM1A_EVT);
	sv_put_le32(f + FADT_PM1A_CNT_BLK, PORT_PM1A_CNT);
	f[FADT_PM1_EVT_LEN] = 4;
	f[FADT_PM1_CNT_LEN] = 2;
	/* C2 and C3 not supported (latencies above 100 and 1000 us) */
	sv_put_le16(f + FADT_P_LVL2_LAT, 101);
	sv_put_le16(f + FADT_P_LVL3_LAT, 1001);
	sv_put_le16(f + FADT_IAPC_BOOT_ARCH, BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC);
	sv_put_le32(f + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON);
	f[FADT_MINOR_VERSION] = 4;
	/* the 64-bit pointers say the same (ACPICA warns when they differ) */
	sv_put_le64(f + FADT_X_FIRMWARE_CTRL, facs);
	sv_put_le64(f + FADT_X_DSDT, dsdt);
	sv_acpi_table_finish(t);
	return t;
}

static GByteArray *build_madt(guint n_vcpus)
{
	GByteArray *t = sv_acpi_table_new("APIC", MADT_REVISION);
	put32(t, SV_X86_LAPIC_ADDR);
	put32(t, MADT_PCAT_COMPAT);
	for (guint i = 0; i < n_vcpus; i++) {
		const guint8 lapic[4] = { MADT_LAPIC, 8, (guint8)i, (guint8)i };
		g_byte_array_append(t, lapic, 4);
		put32(t, 1); /* enabled */
	}
	const guint8 ioapic[4] = { MADT_IOAPIC, 12, (guint8)n_vcpus, 0 };
	g_byte_array_append(t, ioapic, 4);
	put32(t, SV_X86_IOAPIC_ADDR);
	put32(t, 0); /* GSI base */
	/* the SCI as ACPI wants it, level-triggered; ISA IRQs otherwise map
	 * to the same GSI, edge and active high, with no override */
	const guint8 iso[3] = { MADT_ISO, 10, 0 /* ISA */ };
	g_byte_array_append(t, iso, 3);
	const guint8 src = SCI_IRQ;
	g_byte_array_append(t, &src, 1);
	put32(t, SCI_IRQ);
	put16(t, ISO_LEVEL_HIGH);
	/* NMI on LINT1 of every processor, as the MP table has it */
	const guint8 nmi[6] = { MADT_LAPIC_NMI, 6, 0xff, 0, 0, 1 };
	g_byte_array_append(t, nmi, 6);
	sv_acpi_table_finish(t);
	return t;
}

/* Appends table to image at the next 16-byte boundary; its offset. */
static guint32 place(GByteArray *image, const GByteArray *table, guint align)
{
	guint32 off = (image->len + align - 1) & ~(align - 1);
	g_byte_array_set_size(image, off);
	g_byte_array_append(image, table->data, table->len);
	return off;
}

gboolean sv_x86_kvm_acpi_build(guint8 *base, gsize space, guint32 gpa, guint n_vcpus,
			       const SvKvmMmioDevice *devs, guint n_devs, GError **error)
{
	if (n_vcpus == 0 || n_vcpus >= 0xff) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%u vCPUs do not fit in the MADT (8-bit APIC IDs)", n_vcpus);
		return FALSE;
	}
	for (guint i = 0; i < n_devs; i++) {
		if (devs[i].base > G_MAXUINT32 - devs[i].size) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "virtio-mmio device %u at 0x%" G_GINT64_MODIFIER
				    "x lies above 4 GiB, where a Memory32Fixed resource cannot "
				    "name it",
				    i, devs[i].base);
			return FALSE;
		}
	}
	/* RSDP first (16-byte aligned, where a scan finds it), FACS on a
	 * 64-byte boundary, then the rest; each pointer is known once the
	 * table it names is placed */
	g_autoptr(GByteArray) image = g_byte_array_new();
	g_byte_array_set_size(image, SV_ACPI_RSDP_SIZE);
	g_autoptr(GByteArray) facs = build_facs();
	guint32 facs_at = gpa + place(image, facs, 64);
	g_autoptr(GByteArray) dsdt = build_dsdt(devs, n_devs);
	guint32 dsdt_at = gpa + place(image, dsdt, 16);
	g_autoptr(GByteArray) fadt = build_fadt(facs_at, dsdt_at);
	guint32 fadt_at = gpa + place(image, fadt, 16);
	g_autoptr(GByteArray) madt = build_madt(n_vcpus);
	guint32 madt_at = gpa + place(image, madt, 16);
	g_autoptr(GByteArray) xsdt = sv_acpi_table_new("XSDT", 1);
	put64(xsdt, fadt_at);
	put64(xsdt, madt_at);
	sv_acpi_table_finish(xsdt);
	guint32 xsdt_at = gpa + place(image, xsdt, 16);
	sv_acpi_rsdp(image->data, xsdt_at);
	if (image->len > space) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "the ACPI tables (%u bytes) do not fit their %" G_GSIZE_FORMAT
			    " bytes at 0x%x",
			    image->len, space, gpa);
		return FALSE;
	}
	memset(base, 0, space);
	memcpy(base, image->data, image->len);
	return TRUE;
}

gboolean sv_x86_kvm_acpi_write(const SvKvmVm *vm, guint32 *ret_rsdp, GError **error)
{
	guint8 *base = sv_x86_kvm_gpa(vm, ACPI_ADDR, ACPI_SPACE);
	if (!base) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "guest RAM does not cover the ACPI tables at 0x%x", ACPI_ADDR);
		return FALSE;
	}
	if (!sv_x86_kvm_acpi_build(base, ACPI_SPACE, ACPI_ADDR, vm->n_vcpus, vm->mmio, vm->n_mmio,
				   error))
		return FALSE;
	*ret_rsdp = ACPI_ADDR;
	return TRUE;
}
