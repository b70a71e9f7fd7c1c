/* SPDX-License-Identifier: MIT */
/*
 * acpi-aml.h - an encoder for the few ACPI Machine Language (AML) terms a
 * VMM's DSDT needs to declare devices: names, integers, strings, packages,
 * buffers, scopes, devices, and resource templates of fixed memory, I/O
 * ports and interrupts (ACPI 6.4, chapters 19 and 20: the encoding, not
 * the ASL). Everything is appended to a GByteArray; terms that contain
 * others (a device's body, a package's elements) are built in their own
 * array first, because their PkgLength comes before them.
 *
 * What goes in comes from snapvm's own code (device names, addresses), so
 * a bad name is a programming error (g_return_if_fail), not a GError.
 */
#ifndef SNAPVM_ACPI_AML_H
#define SNAPVM_ACPI_AML_H

#include <glib.h>

/* Opcodes and prefixes (ACPI 6.4 section 20.3), for encoder and decoders. */
enum {
	SV_AML_ZERO = 0x00,
	SV_AML_ONE = 0x01,
	SV_AML_NAME = 0x08,
	SV_AML_BYTE_PREFIX = 0x0a,
	SV_AML_WORD_PREFIX = 0x0b,
	SV_AML_DWORD_PREFIX = 0x0c,
	SV_AML_STRING_PREFIX = 0x0d,
	SV_AML_QWORD_PREFIX = 0x0e,
	SV_AML_SCOPE = 0x10,
	SV_AML_BUFFER = 0x11,
	SV_AML_PACKAGE = 0x12,
	SV_AML_DUAL_NAME_PREFIX = 0x2e,
	SV_AML_MULTI_NAME_PREFIX = 0x2f,
	SV_AML_EXT_PREFIX = 0x5b,
	SV_AML_EXT_DEVICE = 0x82, /* after SV_AML_EXT_PREFIX */
	SV_AML_ROOT_CHAR = 0x5c,
	SV_AML_ONES = 0xff,
};

/* Resource descriptor tags (ACPI 6.4 section 6.4). */
enum {
	SV_AML_RES_IO = 0x47,		  /* small: I/O port range */
	SV_AML_RES_END = 0x79,		  /* small: end tag */
	SV_AML_RES_MEMORY32_FIXED = 0x86, /* large */
	SV_AML_RES_EXTENDED_IRQ = 0x89,	  /* large */
};

/* Extended Interrupt descriptor flags (ACPI 6.4 section 6.4.3.6). */
#define SV_AML_IRQ_CONSUMER 0x01u
#define SV_AML_IRQ_EDGE 0x02u
#define SV_AML_IRQ_ACTIVE_LOW 0x04u
#define SV_AML_IRQ_SHARED 0x08u

/* A PkgLength for body_len bytes that follow it (it counts itself). */
void sv_aml_pkg_length(GByteArray *out, gsize body_len);
/* A NameString: "\\_SB.VR00", "_HID", "^FOO"; segments shorter than four
 * characters are padded with '_' as ASL does. */
void sv_aml_name_string(GByteArray *out, const char *path);
/* An integer in its shortest encoding (Zero, One, Ones or a prefixed
 * byte, word, dword or qword). */
void sv_aml_integer(GByteArray *out, guint64 v);
void sv_aml_string(GByteArray *out, const char *s);
/* An EISA ID ("PNP0501") as the integer _HID and _CID take. */
guint32 sv_aml_eisa_id(const char *id);

/* Name(name, value): value is one encoded data object. */
void sv_aml_name(GByteArray *out, const char *name, const GByteArray *value);
/* Scope(name) { body } and Device(name) { body }. */
void sv_aml_scope(GByteArray *out, const char *name, const GByteArray *body);
void sv_aml_device(GByteArray *out, const char *name, const GByteArray *body);
/* Package() { elements }: n encoded data objects back to back. */
void sv_aml_package(GByteArray *out, guint n, const GByteArray *elements);
/* Buffer() { bytes }. */
void sv_aml_buffer(GByteArray *out, const guint8 *bytes, gsize len);

/* Resource descriptors, appended to a template's contents. */
void sv_aml_res_memory32_fixed(GByteArray *res, gboolean writable, guint32 base, guint32 len);
void sv_aml_res_io(GByteArray *res, guint16 port, guint8 len);
/* One interrupt (a GSI), flags SV_AML_IRQ_*. */
void sv_aml_res_interrupt(GByteArray *res, guint32 gsi, guint8 flags);
/* ResourceTemplate() { res }: a buffer of the descriptors and the end
 * tag. */
void sv_aml_resource_template(GByteArray *out, const GByteArray *res);

#endif
