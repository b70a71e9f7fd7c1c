/* SPDX-License-Identifier: MIT */
/*
 * gdb-packet.h - the packet layer of the GDB remote serial protocol
 * (GDB manual, "Overview" of the remote protocol), without any I/O.
 *
 * A packet is $payload#xx, xx the payload's byte sum mod 256 in two hex
 * digits; inside the payload '}' escapes the next byte (XOR 0x20) and '*'
 * repeats the previous byte (count: the next byte minus 29). The stub's
 * bytes are untrusted: everything malformed is an error, never a guess.
 */
#ifndef SNAPVM_GDB_PACKET_H
#define SNAPVM_GDB_PACKET_H

#include <glib.h>

/* Larger replies are refused (QEMU's are at most 4 KiB). */
#define SV_GDB_PACKET_MAX (1u << 20)

/* $payload#xx for payload, escaping $, #, } and * (never run-length
 * encoded: that is the stub's choice to make, not ours). */
GString *sv_gdb_packet_frame(const char *payload, gsize len);

typedef enum {
	SV_GDB_PARSE_ERROR,	/* malformed; error is set */
	SV_GDB_PARSE_NEED_MORE, /* no complete packet yet */
	SV_GDB_PARSE_PACKET,	/* one packet decoded into ret_payload */
} SvGdbParseResult;

/*
 * Decodes the first packet in buf[0, len). Acknowledgements ('+') before it
 * are skipped; a '-' (the stub asks for a resend: our packet arrived
 * damaged) or any other byte outside a packet is an error. On
 * SV_GDB_PARSE_PACKET, *ret_consumed is the bytes used up and ret_payload
 * (cleared first) holds the decoded payload.
 */
SvGdbParseResult sv_gdb_packet_parse(const guint8 *buf, gsize len, gsize *ret_consumed,
				     GByteArray *ret_payload, GError **error);

/* Decodes exactly 2 * out_len hex digits into out (register values are sent
 * in target byte order, so no reordering). 'x' digits (GDB's "value not
 * available") and anything else but hex digits are errors. */
gboolean sv_gdb_hex_decode(const char *hex, gsize hex_len, guint8 *out, gsize out_len,
			   GError **error);

#endif
