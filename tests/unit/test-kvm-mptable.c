/* SPDX-License-Identifier: MIT */
/*
 * The kvm backend's MP table (arch/x86_64/kvm/mptable.c), built into a buffer and
 * read back as Linux's mpparse.c reads it: the floating pointer's and the
 * config table's checksums, one enabled processor entry per vCPU (APIC IDs
 * 0..n-1, only the first the BSP), the IOAPIC after them, the ISA
 * interrupts routed pin for pin, and the entry count.
 */
#include <glib.h>
#include <string.h>

#include "base/errors.h"
#include "arch/x86_64/kvm/x86-kvm.h"

#define SPACE 1024
#define GPA 0x9fc00u

static guint8 sum(const guint8 *p, gsize n)
{
	guint8 s = 0;
	for (gsize i = 0; i < n; i++)
		s += p[i];
	return s;
}

static guint16 le16(const guint8 *p)
{
	return (guint16)(p[0] | p[1] << 8);
}

static guint32 le32(const guint8 *p)
{
	return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

static void check_table(guint n_vcpus)
{
	g_autofree guint8 *buf = g_malloc(SPACE);
	memset(buf, 0xa5, SPACE); /* what was there before must not matter */
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_x86_kvm_mptable_build(buf, SPACE, GPA, n_vcpus, &error));
	g_assert_no_error(error);

	/* the floating pointer: 16 bytes, on a 16-byte boundary */
	g_assert_cmpmem(buf, 4, "_MP_", 4);
	g_assert_cmpuint(buf[8], ==, 1); /* length in 16-byte units */
	g_assert_cmpuint(buf[9], ==, 4); /* spec 1.4 */
	g_assert_cmpuint(sum(buf, 16), ==, 0);
	g_assert_cmpuint(buf[11], ==, 0); /* feature 1: a config table follows, no default */
	guint32 phys = le32(buf + 4);
	g_assert_cmphex(phys, >=, GPA + 16);
	g_assert_cmphex(phys, <, GPA + SPACE);

	const guint8 *h = buf + (phys - GPA);
	g_assert_cmpmem(h, 4, "PCMP", 4);
	guint16 length = le16(h + 4);
	g_assert_cmpuint(phys - GPA + length, <=, SPACE);
	g_assert_cmpuint(h[6], ==, 4);
	g_assert_cmpuint(sum(h, length), ==, 0);
	g_assert_cmphex(le32(h + 36), ==, 0xfee00000); /* LAPIC base */
	guint16 count = le16(h + 34);

	guint cpus = 0, buses = 0, ioapics = 0, intsrc = 0, lint = 0, entries = 0;
	guint8 ioapic_id = 0xff;
	gboolean isa_pin[16] = { FALSE };
	const guint8 *p = h + 44, *end = h + length;
	while (p < end) {
		entries++;
		switch (p[0]) {
		case 0:						       /* processor */
			g_assert_cmpuint(p[1], ==, cpus);	       /* APIC IDs in order */
			g_assert_true(p[3] & 1);		       /* enabled */
			g_assert_cmpuint(!!(p[3] & 2), ==, cpus == 0); /* one BSP, the first */
			cpus++;
			p += 20;
			break;
		case 1:
			g_assert_cmpmem(p + 2, 6, "ISA   ", 6);
			buses++;
			p += 8;
			break;
		case 2:
			ioapic_id = p[1];
			g_assert_true(p[3] & 1);
			g_assert_cmphex(le32(p + 4), ==, 0xfec00000);
			ioapics++;
			p += 8;
			break;
		case 3:
			g_assert_cmpuint(p[5], <, 16);
			g_assert_cmpuint(p[7], ==, p[5]);    /* ISA IRQ n on IOAPIC pin n */
			g_assert_cmpuint(p[6], ==, n_vcpus); /* the IOAPIC's ID */
			isa_pin[p[5]] = TRUE;
			intsrc++;
			p += 8;
			break;
		case 4:
			g_assert_cmpuint(p[6], ==, 0xff); /* every LAPIC */
			lint++;
			p += 8;
			break;
		default:
			g_assert_not_reached();
		}
	}
	g_assert_true(p == end);
	g_assert_cmpuint(entries, ==, count);
	g_assert_cmpuint(cpus, ==, n_vcpus);
	g_assert_cmpuint(buses, ==, 1);
	g_assert_cmpuint(ioapics, ==, 1);
	g_assert_cmpuint(ioapic_id, ==, n_vcpus); /* no clash with a LAPIC ID */
	g_assert_cmpuint(lint, ==, 2);
	g_assert_cmpuint(intsrc, ==, 15);
	for (guint irq = 0; irq < 16; irq++)
		g_assert_cmpuint(isa_pin[irq], ==, irq != 2); /* 2: the PIC cascade */
}

static void test_vcpus(void)
{
	const guint counts[] = { 1, 2, 3, 8, 40 };
	for (guint i = 0; i < G_N_ELEMENTS(counts); i++)
		check_table(counts[i]);
}

static void test_too_many(void)
{
	g_autofree guint8 *buf = g_malloc0(SPACE);
	const guint bad[] = { 0, 41, 255, 1000 };
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_assert_false(sv_x86_kvm_mptable_build(buf, SPACE, GPA, bad[i], &error));
		g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	}
	/* a smaller space holds fewer */
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_x86_kvm_mptable_build(buf, 128, GPA, 2, &error));
	g_assert_nonnull(error);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kvm/mptable/vcpus", test_vcpus);
	g_test_add_func("/kvm/mptable/too-many", test_too_many);
	return g_test_run();
}
