/* SPDX-License-Identifier: MIT */
/*
 * acpi-table.c - ACPI table headers, checksums and the root pointer
 * (acpi-table.h).
 */
#include "base/acpi-table.h"

#include <string.h>

#include "snapvm/le.h"

#define OEM_ID "SNAPVM"		/* 6 bytes */
#define OEM_TABLE_ID "SNAPVMKV" /* 8 bytes */
#define CREATOR_ID "SNVM"	/* 4 bytes */

guint8 sv_acpi_checksum(const guint8 *p, gsize len)
{
	guint8 sum = 0;
	for (gsize i = 0; i < len; i++)
		sum += p[i];
	return (guint8)-sum;
}

GByteArray *sv_acpi_table_new(const char *sig, guint8 revision)
{
	g_return_val_if_fail(strlen(sig) == 4, NULL);
	guint8 h[SV_ACPI_HEADER_SIZE] = { 0 };
	memcpy(h, sig, 4);
	h[8] = revision;
	memcpy(h + 10, OEM_ID, 6);
	memcpy(h + 16, OEM_TABLE_ID, 8);
	sv_put_le32(h + 24, 1); /* OEM revision */
	memcpy(h + 28, CREATOR_ID, 4);
	sv_put_le32(h + 32, 1); /* creator revision */
	GByteArray *t = g_byte_array_new();
	g_byte_array_append(t, h, sizeof(h));
	return t;
}

void sv_acpi_table_finish(GByteArray *t)
{
	g_return_if_fail(t->len >= SV_ACPI_HEADER_SIZE);
	sv_put_le32(t->data + SV_ACPI_LENGTH_OFFSET, t->len);
	t->data[SV_ACPI_CHECKSUM_OFFSET] = 0;
	t->data[SV_ACPI_CHECKSUM_OFFSET] = sv_acpi_checksum(t->data, t->len);
}

void sv_acpi_rsdp(guint8 out[SV_ACPI_RSDP_SIZE], guint64 xsdt_gpa)
{
	memset(out, 0, SV_ACPI_RSDP_SIZE);
	memcpy(out, "RSD PTR ", 8);
	memcpy(out + 9, OEM_ID, 6);
	out[15] = 2; /* revision: ACPI 2.0 or later, the XSDT is used */
	sv_put_le32(out + 20, SV_ACPI_RSDP_SIZE);
	sv_put_le64(out + 24, xsdt_gpa);
	/* the first checksum covers the ACPI 1.0 part (20 bytes), the
	 * extended one all 36 */
	out[8] = sv_acpi_checksum(out, 20);
	out[32] = sv_acpi_checksum(out, SV_ACPI_RSDP_SIZE);
}
