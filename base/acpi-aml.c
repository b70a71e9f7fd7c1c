/* SPDX-License-Identifier: MIT */
/*
 * acpi-aml.c - encoding AML terms (acpi-aml.h says which and why).
 */
#include "base/acpi-aml.h"

#include <string.h>

#include "snapvm/le.h"

static void put_byte(GByteArray *out, guint8 b)
{
	g_byte_array_append(out, &b, 1);
}

void sv_aml_pkg_length(GByteArray *out, gsize body_len)
{
	/* One byte holds up to 63 (the length counts its own bytes); longer
	 * ones take 1-3 more bytes, the lead byte's top two bits saying how
	 * many and its low nibble holding the lowest four bits. */
	if (body_len + 1 < 0x40) {
		put_byte(out, (guint8)(body_len + 1));
		return;
	}
	guint extra = body_len + 2 < (1u << 12) ? 1 : body_len + 3 < (1u << 20) ? 2 : 3;
	g_return_if_fail(body_len + 1 + extra < (1u << 28));
	gsize total = body_len + 1 + extra;
	put_byte(out, (guint8)((extra << 6) | (total & 0x0f)));
	for (guint i = 0; i < extra; i++)
		put_byte(out, (guint8)(total >> (4 + 8 * i)));
}

static gboolean name_char(char c, gboolean lead)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (!lead && c >= '0' && c <= '9');
}

static void name_seg(GByteArray *out, const char *seg, gsize len)
{
	g_return_if_fail(len >= 1 && len <= 4);
	char s[4] = { '_', '_', '_', '_' };
	for (gsize i = 0; i < len; i++) {
		g_return_if_fail(name_char(seg[i], i == 0));
		s[i] = seg[i];
	}
	g_byte_array_append(out, (const guint8 *)s, 4);
}

void sv_aml_name_string(GByteArray *out, const char *path)
{
	if (*path == '\\') {
		put_byte(out, SV_AML_ROOT_CHAR);
		path++;
	}
	while (*path == '^') {
		put_byte(out, '^');
		path++;
	}
	g_auto(GStrv) segs = g_strsplit(path, ".", -1);
	guint n = g_strv_length(segs);
	if (n == 0 || (n == 1 && !segs[0][0])) {
		put_byte(out, SV_AML_ZERO); /* NullName */
		return;
	}
	g_return_if_fail(n <= 255);
	if (n == 2) {
		put_byte(out, SV_AML_DUAL_NAME_PREFIX);
	} else if (n > 2) {
		put_byte(out, SV_AML_MULTI_NAME_PREFIX);
		put_byte(out, (guint8)n);
	}
	for (guint i = 0; i < n; i++)
		name_seg(out, segs[i], strlen(segs[i]));
}

void sv_aml_integer(GByteArray *out, guint64 v)
{
	guint8 b[9];
	gsize len;
	if (v == 0 || v == 1) {
		put_byte(out, v ? SV_AML_ONE : SV_AML_ZERO);
		return;
	}
	if (v == G_MAXUINT64) {
		put_byte(out, SV_AML_ONES);
		return;
	}
	if (v <= 0xff) {
		b[0] = SV_AML_BYTE_PREFIX;
		len = 1;
	} else if (v <= 0xffff) {
		b[0] = SV_AML_WORD_PREFIX;
		len = 2;
	} else if (v <= 0xffffffffu) {
		b[0] = SV_AML_DWORD_PREFIX;
		len = 4;
	} else {
		b[0] = SV_AML_QWORD_PREFIX;
		len = 8;
	}
	sv_put_le64(b + 1, v); /* the low len bytes are the value */
	g_byte_array_append(out, b, (guint)(1 + len));
}

void sv_aml_string(GByteArray *out, const char *s)
{
	put_byte(out, SV_AML_STRING_PREFIX);
	/* an AsciiCharList then NullChar: 0x01-0x7f only */
	for (const char *p = s; *p; p++)
		g_return_if_fail((guchar)*p < 0x80);
	g_byte_array_append(out, (const guint8 *)s, (guint)strlen(s) + 1);
}

static guint8 hex_digit(char c)
{
	return (guint8)g_ascii_xdigit_value(c);
}

guint32 sv_aml_eisa_id(const char *id)
{
	/* three letters in five bits each (A = 1), then four hex digits; the
	 * whole stored big-endian in a DWORD read little-endian */
	g_return_val_if_fail(strlen(id) == 7, 0);
	for (int i = 0; i < 3; i++)
		g_return_val_if_fail(id[i] >= 'A' && id[i] <= 'Z', 0);
	for (int i = 3; i < 7; i++)
		g_return_val_if_fail(g_ascii_isxdigit(id[i]), 0);
	guint16 letters = (guint16)(((id[0] - 0x40) << 10) | ((id[1] - 0x40) << 5) |
				    (id[2] - 0x40));
	guint8 b[4] = { (guint8)(letters >> 8), (guint8)letters,
			(guint8)(hex_digit(id[3]) << 4 | hex_digit(id[4])),
			(guint8)(hex_digit(id[5]) << 4 | hex_digit(id[6])) };
	return sv_get_le32(b);
}

void sv_aml_name(GByteArray *out, const char *name, const GByteArray *value)
{
	put_byte(out, SV_AML_NAME);
	sv_aml_name_string(out, name);
	g_byte_array_append(out, value->data, value->len);
}

/* opcode(s) PkgLength NameString body */
static void named_block(GByteArray *out, const guint8 *op, guint op_len, const char *name,
			const GByteArray *body)
{
	g_autoptr(GByteArray) inner = g_byte_array_new();
	sv_aml_name_string(inner, name);
	g_byte_array_append(inner, body->data, body->len);
	g_byte_array_append(out, op, op_len);
	sv_aml_pkg_length(out, inner->len);
	g_byte_array_append(out, inner->data, inner->len);
}

void sv_aml_scope(GByteArray *out, const char *name, const GByteArray *body)
{
	static const guint8 op[] = { SV_AML_SCOPE };
	named_block(out, op, sizeof(op), name, body);
}

void sv_aml_device(GByteArray *out, const char *name, const GByteArray *body)
{
	static const guint8 op[] = { SV_AML_EXT_PREFIX, SV_AML_EXT_DEVICE };
	named_block(out, op, sizeof(op), name, body);
}

void sv_aml_package(GByteArray *out, guint n, const GByteArray *elements)
{
	g_return_if_fail(n <= 255);
	put_byte(out, SV_AML_PACKAGE);
	sv_aml_pkg_length(out, 1 + elements->len);
	put_byte(out, (guint8)n);
	g_byte_array_append(out, elements->data, elements->len);
}

void sv_aml_buffer(GByteArray *out, const guint8 *bytes, gsize len)
{
	g_autoptr(GByteArray) inner = g_byte_array_new();
	sv_aml_integer(inner, len); /* BufferSize */
	g_byte_array_append(inner, bytes, (guint)len);
	put_byte(out, SV_AML_BUFFER);
	sv_aml_pkg_length(out, inner->len);
	g_byte_array_append(out, inner->data, inner->len);
}

/* A large resource descriptor: tag, 16-bit length, body. */
static void large_res(GByteArray *res, guint8 tag, const guint8 *body, guint16 len)
{
	guint8 h[3] = { tag };
	sv_put_le16(h + 1, len);
	g_byte_array_append(res, h, 3);
	g_byte_array_append(res, body, len);
}

void sv_aml_res_memory32_fixed(GByteArray *res, gboolean writable, guint32 base, guint32 len)
{
	guint8 b[9] = { writable ? 1 : 0 };
	sv_put_le32(b + 1, base);
	sv_put_le32(b + 5, len);
	large_res(res, SV_AML_RES_MEMORY32_FIXED, b, sizeof(b));
}

void sv_aml_res_io(GByteArray *res, guint16 port, guint8 len)
{
	/* small item, 7 bytes of body: 16-bit decode, min = max = port,
	 * alignment 1 */
	guint8 b[8] = { SV_AML_RES_IO, 1 };
	sv_put_le16(b + 2, port);
	sv_put_le16(b + 4, port);
	b[6] = 1;
	b[7] = len;
	g_byte_array_append(res, b, sizeof(b));
}

void sv_aml_res_interrupt(GByteArray *res, guint32 gsi, guint8 flags)
{
	guint8 b[6] = { flags, 1 }; /* flags, one interrupt */
	sv_put_le32(b + 2, gsi);
	large_res(res, SV_AML_RES_EXTENDED_IRQ, b, sizeof(b));
}

void sv_aml_resource_template(GByteArray *out, const GByteArray *res)
{
	g_autoptr(GByteArray) all = g_byte_array_sized_new(res->len + 2);
	g_byte_array_append(all, res->data, res->len);
	/* end tag; a zero checksum means "treat as correct" */
	const guint8 end[2] = { SV_AML_RES_END, 0 };
	g_byte_array_append(all, end, 2);
	sv_aml_buffer(out, all->data, all->len);
}
