/* SPDX-License-Identifier: MIT */
/*
 * text-escape.c - guest and snapshot strings made safe to print for people
 * (the rules are in text-escape.h).
 */
#include <string.h>

#include "host/util/text-escape.h"

/* The code point of the valid, shortest-form UTF-8 sequence at s (n bytes
 * left), its length in *ret_len; -1 when s does not start one. Written
 * out rather than taken from GLib so that the rules the tests pin (no
 * overlongs, no surrogates, nothing above U+10FFFF) are visible here. */
static gint32 utf8_decode(const guint8 *s, gsize n, gsize *ret_len)
{
	static const gint32 min_for_len[] = { 0, 0, 0x80, 0x800, 0x10000 };
	gsize len;
	gint32 c;
	if (s[0] < 0x80)
		len = 1, c = s[0];
	else if ((s[0] & 0xe0) == 0xc0)
		len = 2, c = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, c = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, c = s[0] & 0x07;
	else
		return -1; /* a continuation byte, or 0xf8-0xff */
	if (len > n)
		return -1;
	for (gsize i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min_for_len[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*ret_len = len;
	return c;
}

/* Valid code points that still must not reach the terminal as themselves. */
static gboolean escape_code_point(gint32 c)
{
	return (c >= 0x80 && c <= 0x9f) ||		    /* C1 controls */
	       c == 0x061c || c == 0x200e || c == 0x200f || /* bidi marks */
	       (c >= 0x202a && c <= 0x202e) ||		    /* bidi embeddings, overrides */
	       (c >= 0x2066 && c <= 0x2069) ||		    /* bidi isolates */
	       c == 0x2028 || c == 0x2029;		    /* line, paragraph separators */
}

char *sv_text_for_terminal(const char *s, gssize len)
{
	if (!s)
		return g_strdup("");
	gsize n = len < 0 ? strlen(s) : (gsize)len;
	const guint8 *p = (const guint8 *)s;
	/* most strings need no escape at all: one allocation of the size */
	GString *out = g_string_sized_new(n + 1);
	for (gsize i = 0; i < n;) {
		gsize clen = 1;
		gint32 c = utf8_decode(p + i, n - i, &clen);
		if (c < 0) {
			g_string_append_printf(out, "\\x%02x", p[i]);
		} else if (c == '\\') {
			g_string_append(out, "\\\\");
		} else if (c == '\n') {
			g_string_append(out, "\\n");
		} else if (c == '\r') {
			g_string_append(out, "\\r");
		} else if (c == '\t') {
			g_string_append(out, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			g_string_append_printf(out, "\\x%02x", (guint)c);
		} else if (escape_code_point(c)) {
			g_string_append_printf(out, "\\u{%x}", (guint)c);
		} else {
			g_string_append_len(out, (const char *)p + i, (gssize)clen);
		}
		i += clen;
	}
	return g_string_free(out, FALSE);
}
