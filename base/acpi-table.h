/* SPDX-License-Identifier: MIT */
/*
 * acpi-table.h - the frame every ACPI system description table shares
 * (ACPI 6.4 section 5.2.6: the 36-byte header whose checksum makes the
 * table's bytes sum to zero) and the RSDP that leads a guest to them
 * (section 5.2.5). What the tables say is the board's: a VMM that
 * describes its machine through ACPI builds each table with these.
 */
#ifndef SNAPVM_ACPI_TABLE_H
#define SNAPVM_ACPI_TABLE_H

#include <glib.h>

#define SV_ACPI_HEADER_SIZE 36u
#define SV_ACPI_RSDP_SIZE 36u
/* where a header keeps its length and checksum */
#define SV_ACPI_LENGTH_OFFSET 4u
#define SV_ACPI_CHECKSUM_OFFSET 9u

/* The two's complement of the bytes' sum: the byte that makes them sum to
 * zero. */
guint8 sv_acpi_checksum(const guint8 *p, gsize len);

/* A new table: its header with signature sig (4 characters) and revision,
 * snapvm as OEM and creator; length and checksum are set by
 * sv_acpi_table_finish once the body is appended. */
GByteArray *sv_acpi_table_new(const char *sig, guint8 revision);
void sv_acpi_table_finish(GByteArray *t);

/* The ACPI 2.0+ root pointer to an XSDT at xsdt_gpa (no RSDT). */
void sv_acpi_rsdp(guint8 out[SV_ACPI_RSDP_SIZE], guint64 xsdt_gpa);

#endif
