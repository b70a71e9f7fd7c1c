/* SPDX-License-Identifier: MIT */
/* gdb-packet.c - see gdb-packet.h. */
#include "host/qemu/gdb-packet.h"

#include <string.h>

#include "base/errors.h"

#define RLE_BIAS 29 /* '*' count byte: repeats = byte - 29 */

static gboolean needs_escape(guint8 c)
{
	return c == '$' || c == '#' || c == '}' || c == '*';
}

GString *sv_gdb_packet_frame(const char *payload, gsize len)
{
	GString *s = g_string_sized_new(len + 4);
	guint8 sum = 0;
	g_string_append_c(s, '$');
	for (gsize i = 0; i < len; i++) {
		guint8 c = (guint8)payload[i];
		if (needs_escape(c)) {
			g_string_append_c(s, '}');
			sum += '}';
			c ^= 0x20;
		}
		g_string_append_c(s, (char)c);
		sum += c;
	}
	g_string_append_printf(s, "#%02x", sum);
	return s;
}

static gboolean protocol_error(GError **error, const char *what)
{
	g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "gdbstub: %s", what);
	return FALSE;
}

/* Undoes escapes and run-length encoding of the bytes between $ and #. */
static gboolean decode_body(const guint8 *p, gsize n, GByteArray *out, GError **error)
{
	for (gsize i = 0; i < n; i++) {
		guint8 c = p[i];
		if (c == '}') {
			if (++i == n)
				return protocol_error(error, "packet ends inside an escape");
			c = p[i] ^ 0x20;
		} else if (c == '*') {
			if (out->len == 0)
				return protocol_error(error,
						      "run-length repeat with nothing to repeat");
			if (++i == n)
				return protocol_error(error,
						      "packet ends inside a run-length repeat");
			if (p[i] < RLE_BIAS + 3 || p[i] > 126)
				return protocol_error(error, "bad run-length count");
			guint repeats = p[i] - RLE_BIAS;
			if (out->len + repeats > SV_GDB_PACKET_MAX)
				return protocol_error(error, "reply too long");
			guint8 prev = out->data[out->len - 1];
			for (guint k = 0; k < repeats; k++)
				g_byte_array_append(out, &prev, 1);
			continue;
		}
		if (out->len + 1 > SV_GDB_PACKET_MAX)
			return protocol_error(error, "reply too long");
		g_byte_array_append(out, &c, 1);
	}
	return TRUE;
}

SvGdbParseResult sv_gdb_packet_parse(const guint8 *buf, gsize len, gsize *ret_consumed,
				     GByteArray *ret_payload, GError **error)
{
	gsize start = 0;
	while (start < len && buf[start] == '+')
		start++;
	if (start == len)
		return SV_GDB_PARSE_NEED_MORE;
	if (buf[start] == '-') {
		protocol_error(error, "the stub asked for a resend (our packet arrived damaged)");
		return SV_GDB_PARSE_ERROR;
	}
	if (buf[start] != '$') {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "gdbstub: unexpected byte 0x%02x outside a packet", buf[start]);
		return SV_GDB_PARSE_ERROR;
	}
	const guint8 *body = buf + start + 1;
	const guint8 *hash = memchr(body, '#', len - start - 1);
	if (!hash) {
		if (len - start > SV_GDB_PACKET_MAX + 4) {
			protocol_error(error, "reply too long");
			return SV_GDB_PARSE_ERROR;
		}
		return SV_GDB_PARSE_NEED_MORE;
	}
	gsize n = (gsize)(hash - body);
	if ((gsize)(hash - buf) + 3 > len)
		return SV_GDB_PARSE_NEED_MORE;
	int hi = g_ascii_xdigit_value(hash[1]), lo = g_ascii_xdigit_value(hash[2]);
	if (hi < 0 || lo < 0) {
		protocol_error(error, "checksum is not two hex digits");
		return SV_GDB_PARSE_ERROR;
	}
	guint8 sum = 0;
	for (gsize i = 0; i < n; i++)
		sum += body[i];
	if (sum != (guint8)(hi << 4 | lo)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "gdbstub: bad checksum (packet says %02x, bytes sum to %02x)",
			    (guint)(hi << 4 | lo), sum);
		return SV_GDB_PARSE_ERROR;
	}
	g_byte_array_set_size(ret_payload, 0);
	if (!decode_body(body, n, ret_payload, error))
		return SV_GDB_PARSE_ERROR;
	*ret_consumed = (gsize)(hash - buf) + 3;
	return SV_GDB_PARSE_PACKET;
}

gboolean sv_gdb_hex_decode(const char *hex, gsize hex_len, guint8 *out, gsize out_len,
			   GError **error)
{
	if (hex_len != 2 * out_len) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "gdbstub: %" G_GSIZE_FORMAT " hex digits where %" G_GSIZE_FORMAT
			    " bytes were expected",
			    hex_len, out_len);
		return FALSE;
	}
	for (gsize i = 0; i < out_len; i++) {
		int hi = g_ascii_xdigit_value(hex[2 * i]),
		    lo = g_ascii_xdigit_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return protocol_error(error,
					      hex[2 * i] == 'x' || hex[2 * i + 1] == 'x'
						      ? "the stub says the value is not available"
						      : "a register value is not hex");
		out[i] = (guint8)(hi << 4 | lo);
	}
	return TRUE;
}
