/* SPDX-License-Identifier: MIT */
/*
 * The kvm backend's ACPI tables: the AML encoder (base/acpi-aml.c) against
 * bytes worked out by hand from the ACPI 6.4 encoding, and the x86_64
 * board's table set (arch/x86_64/kvm/acpi.c) walked as a guest kernel
 * walks it: RSDP checksums -> XSDT -> FADT (-> FACS, DSDT) and MADT, every
 * table's length and checksum, the MADT's processors and IOAPIC, and the
 * DSDT's AML decoded back to each virtio-mmio device's _HID, register
 * window and interrupt. Where iasl (Debian's acpica-tools) is installed,
 * it disassembles every table: ACPICA's own parser must accept them.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "arch/x86_64/kvm/x86-kvm.h"
#include "base/acpi-aml.h"
#include "base/acpi-table.h"
#include "base/errors.h"
#include "snapvm/le.h"

#define GPA 0xe0000u
#define SPACE 0x20000u

static void assert_bytes(const GByteArray *a, const guint8 *want, gsize len)
{
	g_assert_cmpmem(a->data, a->len, want, len);
}

static void test_pkg_length(void)
{
	g_autoptr(GByteArray) a = g_byte_array_new();
	sv_aml_pkg_length(a, 62); /* 63 with itself: the most one byte holds */
	assert_bytes(a, (const guint8[]){ 63 }, 1);
	g_byte_array_set_size(a, 0);
	sv_aml_pkg_length(a, 63); /* 65 with two bytes: 0x41 = 1 follows | 1 */
	assert_bytes(a, (const guint8[]){ 0x41, 0x04 }, 2);
	g_byte_array_set_size(a, 0);
	sv_aml_pkg_length(a, 0x1000); /* 0x1003 needs three bytes */
	assert_bytes(a, (const guint8[]){ 0x83, 0x00, 0x01 }, 3);
}

static void test_integers_and_names(void)
{
	g_autoptr(GByteArray) a = g_byte_array_new();
	sv_aml_integer(a, 0);
	sv_aml_integer(a, 1);
	sv_aml_integer(a, 0x12);
	sv_aml_integer(a, 0x1234);
	sv_aml_integer(a, 0xe0000000);
	sv_aml_integer(a, 0x100000000ull);
	const guint8 ints[] = { 0x00, 0x01, 0x0a, 0x12, 0x0b, 0x34, 0x12, 0x0c, 0x00, 0x00, 0x00,
				0xe0, 0x0e, 0,	  0,	0,    0,    1,	  0,	0,    0 };
	assert_bytes(a, ints, sizeof(ints));
	g_byte_array_set_size(a, 0);
	sv_aml_name_string(a, "\\_SB");
	sv_aml_name_string(a, "_SB.VR0");
	sv_aml_name_string(a, "\\A.B.C");
	const guint8 names[] = { '\\', '_', 'S', 'B', '_',  0x2e, '_', 'S', 'B', '_',
				 'V',  'R', '0', '_', '\\', 0x2f, 3,   'A', '_', '_',
				 '_',  'B', '_', '_', '_',  'C',  '_', '_', '_' };
	assert_bytes(a, names, sizeof(names));
	/* EisaId ("PNP0501"), as iasl compiles it */
	g_assert_cmphex(sv_aml_eisa_id("PNP0501"), ==, 0x0105d041);
	g_assert_cmphex(sv_aml_eisa_id("PNP0A03"), ==, 0x030ad041);
}

static void test_device(void)
{
	/* Device (VR00) { Name (_HID, "LNRO0005")
	 *   Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite,
	 *     0xE0000000, 0x200) Interrupt (ResourceConsumer, Edge,
	 *     ActiveHigh, Exclusive) { 5 } }) } */
	g_autoptr(GByteArray) body = g_byte_array_new();
	g_autoptr(GByteArray) v = g_byte_array_new();
	sv_aml_string(v, "LNRO0005");
	sv_aml_name(body, "_HID", v);
	g_autoptr(GByteArray) res = g_byte_array_new();
	sv_aml_res_memory32_fixed(res, TRUE, 0xe0000000u, 0x200);
	sv_aml_res_interrupt(res, 5, SV_AML_IRQ_CONSUMER | SV_AML_IRQ_EDGE);
	g_byte_array_set_size(v, 0);
	sv_aml_resource_template(v, res);
	sv_aml_name(body, "_CRS", v);
	g_autoptr(GByteArray) dev = g_byte_array_new();
	sv_aml_device(dev, "VR00", body);
	const guint8 want[] = {
		0x5b, 0x82, 0x34, 'V',	'R',  '0',  '0',		   /* Device, len 52 */
		0x08, '_',  'H',  'I',	'D',  0x0d, 'L',  'N',	'R',  'O', /* Name _HID */
		'0',  '0',  '0',  '5',	0x00, 0x08, '_',  'C',	'R',  'S', /* Name _CRS */
		0x11, 0x1a, 0x0a, 0x17,					   /* Buffer, 23 bytes */
		0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xe0, 0x00, 0x02, 0x00,
		0x00, 0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00, /* Interrupt {5} */
		0x79, 0x00,						    /* end tag */
	};
	assert_bytes(dev, want, sizeof(want));
}

/* A small AML reader for the DSDT: what the tables must decode to. */
typedef struct {
	const guint8 *p, *end;
} Aml;

static gsize read_pkg_length(Aml *a)
{
	g_assert_true(a->p < a->end);
	guint8 lead = *a->p;
	guint extra = lead >> 6;
	gsize len = extra ? lead & 0x0f : lead & 0x3f;
	g_assert_true(a->p + 1 + extra <= a->end);
	for (guint i = 0; i < extra; i++)
		len |= (gsize)a->p[1 + i] << (4 + 8 * i);
	return len;
}

/* The body of a PkgLength-framed term starting at a->p (after its
 * opcode); a->p moves past it. */
static Aml enter(Aml *a)
{
	const guint8 *start = a->p;
	gsize len = read_pkg_length(a);
	g_assert_true(start + len <= a->end);
	a->p += 1 + (*start >> 6);
	Aml inner = { a->p, start + len };
	a->p = start + len;
	return inner;
}

static char *read_name(Aml *a)
{
	GString *s = g_string_new(NULL);
	if (*a->p == '\\')
		g_string_append_c(s, *a->p++);
	guint n = 1;
	if (*a->p == 0x2e) {
		n = 2;
		a->p++;
	} else if (*a->p == 0x2f) {
		n = a->p[1];
		a->p += 2;
	}
	for (guint i = 0; i < n; i++) {
		g_assert_true(a->p + 4 <= a->end);
		g_string_append_printf(s, "%s%.4s", i ? "." : "", (const char *)a->p);
		a->p += 4;
	}
	return g_string_free(s, FALSE);
}

static guint64 read_integer(Aml *a)
{
	guint8 op = *a->p++;
	switch (op) {
	case 0x00:
		return 0;
	case 0x01:
		return 1;
	case 0x0a:
		return *a->p++;
	case 0x0b:
		a->p += 2;
		return sv_get_le16(a->p - 2);
	case 0x0c:
		a->p += 4;
		return sv_get_le32(a->p - 4);
	default:
		g_error("AML integer opcode 0x%02x unexpected", op);
	}
}

/* One virtio-mmio device as the DSDT says it. */
typedef struct {
	char *name, *hid;
	guint64 uid;
	guint32 base, size, gsi;
	guint8 irq_flags;
} Declared;

static void read_crs(Aml *a, Declared *d)
{
	g_assert_cmpuint(*a->p++, ==, 0x11); /* Buffer */
	Aml buf = enter(a);
	guint64 n = read_integer(&buf);
	g_assert_cmpuint(n, ==, (guint64)(buf.end - buf.p));
	while (buf.p < buf.end) {
		guint8 tag = *buf.p;
		if (tag == 0x79) {
			g_assert_true(buf.p + 2 == buf.end);
			return;
		}
		g_assert_true(tag & 0x80); /* only large items besides the end */
		guint16 len = sv_get_le16(buf.p + 1);
		const guint8 *b = buf.p + 3;
		g_assert_true(b + len <= buf.end);
		if (tag == 0x86) {
			g_assert_cmpuint(len, ==, 9);
			g_assert_cmpuint(b[0], ==, 1); /* read-write */
			d->base = sv_get_le32(b + 1);
			d->size = sv_get_le32(b + 5);
		} else if (tag == 0x89) {
			g_assert_cmpuint(len, ==, 6);
			g_assert_cmpuint(b[1], ==, 1);
			d->irq_flags = b[0];
			d->gsi = sv_get_le32(b + 2);
		} else {
			g_error("resource descriptor 0x%02x unexpected", tag);
		}
		buf.p = b + len;
	}
	g_error("resource template without an end tag");
}

static GArray *read_dsdt(const guint8 *t, gsize len)
{
	GArray *devs = g_array_new(FALSE, TRUE, sizeof(Declared));
	Aml a = { t + SV_ACPI_HEADER_SIZE, t + len };
	g_assert_cmpuint(*a.p++, ==, 0x10); /* Scope */
	Aml scope = enter(&a);
	g_assert_true(a.p == a.end);
	g_autofree char *sb = read_name(&scope);
	g_assert_cmpstr(sb, ==, "\\_SB_");
	while (scope.p < scope.end) {
		g_assert_cmpuint(scope.p[0], ==, 0x5b);
		g_assert_cmpuint(scope.p[1], ==, 0x82);
		scope.p += 2;
		Aml dev = enter(&scope);
		Declared d = { .name = read_name(&dev) };
		while (dev.p < dev.end) {
			g_assert_cmpuint(*dev.p++, ==, 0x08); /* Name */
			g_autofree char *name = read_name(&dev);
			if (!strcmp(name, "_HID")) {
				g_assert_cmpuint(*dev.p++, ==, 0x0d);
				d.hid = g_strdup((const char *)dev.p);
				dev.p += strlen(d.hid) + 1;
			} else if (!strcmp(name, "_UID")) {
				d.uid = read_integer(&dev);
			} else if (!strcmp(name, "_CRS")) {
				read_crs(&dev, &d);
			} else {
				g_error("unexpected name %s", name);
			}
		}
		g_array_append_val(devs, d);
	}
	return devs;
}

/* A table at gpa inside the built buffer: its bytes, after checking its
 * signature, length and checksum. */
static const guint8 *table_at(const guint8 *buf, guint64 gpa, const char *sig, gsize *ret_len)
{
	g_assert_cmpuint(gpa, >=, GPA);
	g_assert_cmpuint(gpa + SV_ACPI_HEADER_SIZE, <=, GPA + SPACE);
	const guint8 *t = buf + (gpa - GPA);
	g_assert_cmpmem(t, 4, sig, 4);
	gsize len = sv_get_le32(t + 4);
	g_assert_cmpuint(len, >=, SV_ACPI_HEADER_SIZE);
	g_assert_cmpuint(gpa + len, <=, GPA + SPACE);
	g_assert_cmpuint(sv_acpi_checksum(t, len), ==, 0);
	*ret_len = len;
	return t;
}

static const SvKvmMmioDevice two_devs[] = {
	{ .base = 0xe0000000u, .size = 0x200, .irq = 5 },
	{ .base = 0xe0000200u, .size = 0x200, .irq = 10 },
};

static guint8 *build(guint n_vcpus, const SvKvmMmioDevice *devs, guint n)
{
	guint8 *buf = g_malloc(SPACE);
	memset(buf, 0xa5, SPACE); /* what was there before must not matter */
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_x86_kvm_acpi_build(buf, SPACE, GPA, n_vcpus, devs, n, &error));
	g_assert_no_error(error);
	return buf;
}

static void test_tables(void)
{
	g_autofree guint8 *buf = build(3, two_devs, 2);
	/* RSDP at the start: both checksums, revision 2, the XSDT */
	g_assert_cmpmem(buf, 8, "RSD PTR ", 8);
	g_assert_cmpuint(sv_acpi_checksum(buf, 20), ==, 0);
	g_assert_cmpuint(sv_acpi_checksum(buf, 36), ==, 0);
	g_assert_cmpuint(buf[15], ==, 2);
	g_assert_cmpuint(sv_get_le32(buf + 20), ==, 36);
	gsize len;
	const guint8 *xsdt = table_at(buf, sv_get_le64(buf + 24), "XSDT", &len);
	g_assert_cmpuint(len, ==, SV_ACPI_HEADER_SIZE + 16);
	gsize fadt_len, madt_len, dsdt_len;
	const guint8 *fadt = table_at(buf, sv_get_le64(xsdt + 36), "FACP", &fadt_len);
	const guint8 *madt = table_at(buf, sv_get_le64(xsdt + 44), "APIC", &madt_len);

	/* FADT: ACPI 6 size, a PC (not hardware-reduced), DSDT and FACS the
	 * same in both widths, the SCI and PM1 blocks */
	g_assert_cmpuint(fadt_len, ==, 276);
	g_assert_cmpuint(fadt[8], ==, 6);
	guint32 flags = sv_get_le32(fadt + 112);
	g_assert_false(flags & (1u << 20)); /* HW_REDUCED_ACPI */
	g_assert_cmpuint(sv_get_le32(fadt + 40), ==, sv_get_le64(fadt + 140));
	g_assert_cmpuint(sv_get_le32(fadt + 36), ==, sv_get_le64(fadt + 132));
	g_assert_cmpuint(sv_get_le16(fadt + 46), ==, 9);
	g_assert_cmpuint(sv_get_le32(fadt + 56), !=, 0);
	g_assert_cmpuint(fadt[88], ==, 4);
	g_assert_cmpuint(sv_get_le32(fadt + 64), !=, 0);
	g_assert_cmpuint(fadt[89], ==, 2);
	guint64 facs_gpa = sv_get_le32(fadt + 36);
	g_assert_cmpuint(facs_gpa % 64, ==, 0);
	const guint8 *facs = buf + (facs_gpa - GPA);
	g_assert_cmpmem(facs, 4, "FACS", 4);
	g_assert_cmpuint(sv_get_le32(facs + 4), ==, 64);
	const guint8 *dsdt = table_at(buf, sv_get_le32(fadt + 40), "DSDT", &dsdt_len);

	/* MADT: the LAPIC, one enabled LAPIC per vCPU, then the IOAPIC */
	g_assert_cmphex(sv_get_le32(madt + 36), ==, 0xfee00000u);
	guint lapics = 0, ioapics = 0;
	for (gsize off = 44; off < madt_len;) {
		const guint8 *e = madt + off;
		g_assert_cmpuint(e[1], >=, 2);
		g_assert_cmpuint(off + e[1], <=, madt_len);
		if (e[0] == 0) {
			g_assert_cmpuint(e[1], ==, 8);
			g_assert_cmpuint(e[3], ==, lapics); /* APIC ID */
			g_assert_cmpuint(sv_get_le32(e + 4) & 1, ==, 1);
			lapics++;
		} else if (e[0] == 1) {
			g_assert_cmpuint(e[2], ==, 3); /* after the vCPUs' IDs */
			g_assert_cmphex(sv_get_le32(e + 4), ==, 0xfec00000u);
			g_assert_cmpuint(sv_get_le32(e + 8), ==, 0);
			ioapics++;
		}
		off += e[1];
	}
	g_assert_cmpuint(lapics, ==, 3);
	g_assert_cmpuint(ioapics, ==, 1);

	/* DSDT: one LNRO0005 device per virtio-mmio device */
	g_autoptr(GArray) devs = read_dsdt(dsdt, dsdt_len);
	g_assert_cmpuint(devs->len, ==, 2);
	for (guint i = 0; i < devs->len; i++) {
		Declared *d = &g_array_index(devs, Declared, i);
		g_autofree char *name = g_strdup_printf("VR%02X", i);
		g_assert_cmpstr(d->name, ==, name);
		g_assert_cmpstr(d->hid, ==, "LNRO0005");
		g_assert_cmpuint(d->uid, ==, i);
		g_assert_cmphex(d->base, ==, two_devs[i].base);
		g_assert_cmphex(d->size, ==, two_devs[i].size);
		g_assert_cmpuint(d->gsi, ==, two_devs[i].irq);
		g_assert_cmphex(d->irq_flags, ==, SV_AML_IRQ_CONSUMER | SV_AML_IRQ_EDGE);
		g_free(d->name);
		g_free(d->hid);
	}
}

static void test_no_devices(void)
{
	g_autofree guint8 *buf = build(1, NULL, 0);
	gsize len;
	const guint8 *xsdt = table_at(buf, sv_get_le64(buf + 24), "XSDT", &len);
	const guint8 *fadt = table_at(buf, sv_get_le64(xsdt + 36), "FACP", &len);
	const guint8 *dsdt = table_at(buf, sv_get_le32(fadt + 40), "DSDT", &len);
	g_autoptr(GArray) devs = read_dsdt(dsdt, len);
	g_assert_cmpuint(devs->len, ==, 0);
}

static void test_refusals(void)
{
	g_autofree guint8 *buf = g_malloc(SPACE);
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_x86_kvm_acpi_build(buf, SPACE, GPA, 0, NULL, 0, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(sv_x86_kvm_acpi_build(buf, SPACE, GPA, 255, NULL, 0, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	const SvKvmMmioDevice high = { .base = 0x100000000ull, .size = 0x200, .irq = 5 };
	g_assert_false(sv_x86_kvm_acpi_build(buf, SPACE, GPA, 1, &high, 1, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "4 GiB"));
	g_clear_error(&error);
	g_assert_false(sv_x86_kvm_acpi_build(buf, 128, GPA, 1, two_devs, 2, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "do not fit"));
}

/* Writes one table to dir/NAME.dat and has iasl disassemble it; the
 * disassembly's text. */
static char *iasl_disassemble(const char *iasl, const char *dir, const char *name, const guint8 *t,
			      gsize len)
{
	g_autofree char *dat = g_strdup_printf("%s/%s.dat", dir, name);
	g_autofree char *dsl = g_strdup_printf("%s/%s.dsl", dir, name);
	g_autoptr(GError) error = NULL;
	g_file_set_contents(dat, (const char *)t, (gssize)len, &error);
	g_assert_no_error(error);
	const char *argv[] = { iasl, "-d", dat, NULL };
	g_autofree char *out = NULL, *err = NULL;
	int status = 0;
	g_assert_true(g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
				   &err, &status, &error));
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("iasl -d %s failed:\n%s%s", name, out, err);
	g_autofree char *text = NULL;
	g_file_get_contents(dsl, &text, NULL, &error);
	g_assert_no_error(error);
	g_unlink(dat);
	g_unlink(dsl);
	return g_steal_pointer(&text);
}

static void test_iasl(void)
{
	g_autofree char *iasl = g_find_program_in_path("iasl");
	if (!iasl) {
		g_test_skip("iasl is not installed (apt-get install acpica-tools)");
		return;
	}
	g_autofree guint8 *buf = build(2, two_devs, 1);
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("snapvm-acpi-XXXXXX", &error);
	g_assert_no_error(error);
	gsize len, fadt_len, madt_len, dsdt_len;
	const guint8 *xsdt = table_at(buf, sv_get_le64(buf + 24), "XSDT", &len);
	const guint8 *fadt = table_at(buf, sv_get_le64(xsdt + 36), "FACP", &fadt_len);
	const guint8 *madt = table_at(buf, sv_get_le64(xsdt + 44), "APIC", &madt_len);
	const guint8 *dsdt = table_at(buf, sv_get_le32(fadt + 40), "DSDT", &dsdt_len);

	g_autofree char *d = iasl_disassemble(iasl, dir, "dsdt", dsdt, dsdt_len);
	g_test_message("iasl's disassembly of the DSDT:\n%s", d);
	g_assert_nonnull(strstr(d, "Device (VR00)"));
	g_assert_nonnull(strstr(d, "Name (_HID, \"LNRO0005\")"));
	g_assert_nonnull(strstr(d, "Memory32Fixed (ReadWrite,"));
	g_assert_nonnull(strstr(d, "0xE0000000"));
	g_assert_nonnull(strstr(d,
				"Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )"));
	g_assert_null(strstr(d, "Error"));

	/* data tables: iasl checks each field it knows and names what is
	 * wrong ("**** ") */
	g_autofree char *f = iasl_disassemble(iasl, dir, "facp", fadt, fadt_len);
	g_assert_nonnull(strstr(f, "[FACP]"));
	g_assert_null(strstr(f, "****"));
	g_autofree char *m = iasl_disassemble(iasl, dir, "apic", madt, madt_len);
	g_assert_nonnull(strstr(m, "[APIC]"));
	g_assert_nonnull(strstr(m, "I/O APIC"));
	g_assert_null(strstr(m, "****"));
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/acpi/aml/pkg-length", test_pkg_length);
	g_test_add_func("/acpi/aml/integers-and-names", test_integers_and_names);
	g_test_add_func("/acpi/aml/device", test_device);
	g_test_add_func("/acpi/x86_64/tables", test_tables);
	g_test_add_func("/acpi/x86_64/no-devices", test_no_devices);
	g_test_add_func("/acpi/x86_64/refusals", test_refusals);
	g_test_add_func("/acpi/x86_64/iasl", test_iasl);
	return g_test_run();
}
