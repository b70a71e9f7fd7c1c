/* SPDX-License-Identifier: MIT */
/*
 * sv_text_for_terminal: every byte alone and in context, C1 controls and
 * bidi controls encoded as UTF-8, malformed UTF-8 of every kind, and valid
 * text passing unchanged. Every output is checked to be safe (valid UTF-8,
 * no C0, DEL, C1 or bidi control) and decoded back to the input bytes by an
 * independent decoder of the escapes, so the rules in text-escape.h are
 * both safe and unambiguous.
 */
#include <string.h>

#include "host/util/text-escape.h"

/* Fails the test unless out is something a terminal only displays. */
static void assert_safe(const char *out)
{
	const char *end = NULL;
	if (!g_utf8_validate(out, -1, &end))
		g_error("output is not UTF-8 at byte %td: \"%s\"", end - out, out);
	for (const char *p = out; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		gboolean bad = c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x061c ||
			       c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
			       (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029;
		if (bad)
			g_error("output holds U+%04X at byte %td", c, p - out);
	}
}

static int hex_digit(char c)
{
	return g_ascii_xdigit_value(c);
}

/* The escapes read back: "\\", "\n", "\r", "\t", "\xHH" (one byte),
 * "\u{H...}" (a code point's UTF-8); anything else after a backslash is a
 * failure. Written apart from the escaper so a bug is not shared. */
static GByteArray *unescape(const char *s)
{
	GByteArray *out = g_byte_array_new();
	for (const char *p = s; *p;) {
		if (*p != '\\') {
			g_byte_array_append(out, (const guint8 *)p++, 1);
			continue;
		}
		guint8 b;
		switch (p[1]) {
		case '\\':
		case 'n':
		case 'r':
		case 't':
			b = p[1] == '\\' ? '\\' : p[1] == 'n' ? '\n' : p[1] == 'r' ? '\r' : '\t';
			g_byte_array_append(out, &b, 1);
			p += 2;
			break;
		case 'x':
			g_assert_cmpint(hex_digit(p[2]), >=, 0);
			g_assert_cmpint(hex_digit(p[3]), >=, 0);
			b = (guint8)(hex_digit(p[2]) << 4 | hex_digit(p[3]));
			g_byte_array_append(out, &b, 1);
			p += 4;
			break;
		case 'u': {
			g_assert_cmpint(p[2], ==, '{');
			gunichar c = 0;
			const char *q = p + 3;
			for (; hex_digit(*q) >= 0; q++)
				c = c << 4 | (gunichar)hex_digit(*q);
			g_assert_cmpint(*q, ==, '}');
			g_assert_cmpint(q - (p + 3), >=, 1);
			char u[6];
			gint n = g_unichar_to_utf8(c, u);
			g_byte_array_append(out, (const guint8 *)u, (guint)n);
			p = q + 1;
			break;
		}
		default:
			g_error("unknown escape '\\%c' in \"%s\"", p[1], s);
		}
	}
	return out;
}

/* Escapes len bytes, checks the output is safe and decodes back to them;
 * returns the output. */
static char *escape_checked(const void *bytes, gsize len)
{
	char *out = sv_text_for_terminal(bytes, (gssize)len);
	g_assert_nonnull(out);
	assert_safe(out);
	g_autoptr(GByteArray) back = unescape(out);
	g_assert_cmpmem(back->data, back->len, bytes, len);
	return out;
}

static void assert_escapes_to(const char *in, gssize len, const char *want)
{
	gsize n = len < 0 ? strlen(in) : (gsize)len;
	g_autofree char *out = escape_checked(in, n);
	g_assert_cmpstr(out, ==, want);
}

/* Each byte alone: ASCII but '\' as itself, a named or hex escape for C0
 * and DEL, and every byte >= 0x80 (no complete UTF-8 sequence alone) in hex. */
static void test_every_byte_alone(void)
{
	for (guint b = 0; b < 256; b++) {
		char in = (char)b;
		g_autofree char *want = NULL;
		if (b == '\\')
			want = g_strdup("\\\\");
		else if (b == '\n')
			want = g_strdup("\\n");
		else if (b == '\r')
			want = g_strdup("\\r");
		else if (b == '\t')
			want = g_strdup("\\t");
		else if (b >= 0x20 && b < 0x7f)
			want = g_strdup_printf("%c", b);
		else
			want = g_strdup_printf("\\x%02x", b);
		assert_escapes_to(&in, 1, want);
	}
}

/* Each byte between text, and before and after valid multi-byte text: an
 * invalid byte spoils nothing around it. */
static void test_every_byte_in_context(void)
{
	for (guint b = 0; b < 256; b++) {
		char in[] = { 'a', (char)b, 'z' };
		g_autofree char *alone = sv_text_for_terminal(in + 1, 1);
		g_autofree char *want = g_strdup_printf("a%sz", alone);
		assert_escapes_to(in, 3, want);
		char in2[] = "\xc3\xa9?\xe6\x97\xa5";
		in2[2] = (char)b;
		g_autofree char *want2 = g_strdup_printf("\xc3\xa9%s\xe6\x97\xa5", alone);
		assert_escapes_to(in2, sizeof(in2) - 1, want2);
	}
}

/* Every pair of bytes, framed by text: safe and reversible whatever they
 * are (the cases of a lead byte meeting any second byte). */
static void test_every_byte_pair(void)
{
	for (guint a = 0; a < 256; a++) {
		for (guint b = 0; b < 256; b++) {
			char in[] = { 'x', (char)a, (char)b, 'y' };
			g_autofree char *out = escape_checked(in, sizeof(in));
		}
	}
}

/* Random strings, weighted to the bytes that make UTF-8 sequences. */
static void test_random(void)
{
	static const guint8 pool[] = { 0x00, 0x07, 0x0a, 0x1b, 0x5c, 0x7f, 0x80, 0x9b,
				       0x9d, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe2,
				       0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 'a',	 '[' };
	for (guint iter = 0; iter < 20000; iter++) {
		guint8 in[24];
		gsize n = (gsize)g_test_rand_int_range(0, sizeof(in) + 1);
		for (gsize i = 0; i < n; i++)
			in[i] = g_test_rand_bit() ? pool[g_test_rand_int_range(0, sizeof(pool))]
						  : (guint8)g_test_rand_int_range(0, 256);
		g_autofree char *out = escape_checked(in, n);
	}
}

/* C1 controls arrive as C2 80 .. C2 9F: shown as code points; the first
 * code point after them (U+00A0) passes. */
static void test_c1_as_utf8(void)
{
	for (guint c = 0x80; c <= 0x9f; c++) {
		char in[] = { (char)0xc2, (char)c };
		g_autofree char *want = g_strdup_printf("\\u{%x}", c);
		assert_escapes_to(in, 2, want);
	}
	/* CSI 2 J and OSC 52 (clipboard) in their 8-bit forms */
	assert_escapes_to("\xc2\x9b"
			  "2J",
			  -1, "\\u{9b}2J");
	assert_escapes_to("\xc2\x9d"
			  "52;c;aGk=\xc2\x9c",
			  -1, "\\u{9d}52;c;aGk=\\u{9c}");
	assert_escapes_to("\xc2\xa0", -1, "\xc2\xa0");
}

static void test_malformed(void)
{
	/* overlong forms of '/' and of U+0000, and the smallest overlong 3-
	 * and 4-byte forms */
	assert_escapes_to("\xc0\xaf", -1, "\\xc0\\xaf");
	assert_escapes_to("\xc1\xbf", -1, "\\xc1\\xbf");
	assert_escapes_to("\xc0\x80", 2, "\\xc0\\x80");
	assert_escapes_to("\xe0\x80\xaf", -1, "\\xe0\\x80\\xaf");
	assert_escapes_to("\xe0\x9f\xbf", -1, "\\xe0\\x9f\\xbf");
	assert_escapes_to("\xf0\x80\x80\xaf", -1, "\\xf0\\x80\\x80\\xaf");
	assert_escapes_to("\xf0\x8f\xbf\xbf", -1, "\\xf0\\x8f\\xbf\\xbf");
	/* surrogates encoded in UTF-8 (CESU-8); U+D7FF and U+E000 around them pass */
	assert_escapes_to("\xed\xa0\x80", -1, "\\xed\\xa0\\x80");
	assert_escapes_to("\xed\xbf\xbf", -1, "\\xed\\xbf\\xbf");
	assert_escapes_to("\xed\x9f\xbf", -1, "\xed\x9f\xbf");
	assert_escapes_to("\xee\x80\x80", -1, "\xee\x80\x80");
	/* above U+10FFFF; U+10FFFF itself passes */
	assert_escapes_to("\xf4\x90\x80\x80", -1, "\\xf4\\x90\\x80\\x80");
	assert_escapes_to("\xf4\x8f\xbf\xbf", -1, "\xf4\x8f\xbf\xbf");
	assert_escapes_to("\xf8\x88\x80\x80\x80", -1, "\\xf8\\x88\\x80\\x80\\x80");
	/* lone continuation bytes, and a lead byte followed by ASCII */
	assert_escapes_to("\x80\xbf", -1, "\\x80\\xbf");
	assert_escapes_to("\xc3(", -1, "\\xc3(");
	assert_escapes_to("\xe6\x97(", -1, "\\xe6\\x97(");
}

/* A sequence cut short by the end of the input, also where the length
 * given ends it inside a longer string. */
static void test_truncated_at_end(void)
{
	assert_escapes_to("ab\xc3", -1, "ab\\xc3");
	assert_escapes_to("\xe6\x97", -1, "\\xe6\\x97");
	assert_escapes_to("\xf0\x9f\x98", -1, "\\xf0\\x9f\\x98");
	assert_escapes_to("\xe6\x97\xa5", 2, "\\xe6\\x97");
	assert_escapes_to("\xf0\x9f\x98\x80", 3, "\\xf0\\x9f\\x98");
}

/* A length covers NULs (a comm of 16 bytes may hold anything); -1 stops
 * at the first NUL; a length of 0 and NULL give "". */
static void test_length(void)
{
	assert_escapes_to("ab\0cd", 5, "ab\\x00cd");
	assert_escapes_to("ab\0cd", -1, "ab");
	assert_escapes_to("abcdef", 3, "abc");
	g_autofree char *empty = sv_text_for_terminal("abc", 0);
	g_assert_cmpstr(empty, ==, "");
	g_autofree char *null = sv_text_for_terminal(NULL, -1);
	g_assert_cmpstr(null, ==, "");
	/* a full 16-byte comm with no NUL: every byte shown, none read past */
	char comm[16];
	memcpy(comm, "0123456789abcde\x1b", 16);
	g_autofree char *out = sv_text_for_terminal(comm, (gssize)strnlen(comm, sizeof(comm)));
	g_assert_cmpstr(out, ==, "0123456789abcde\\x1b");
}

/* Text people can read is not touched, nor is anything printable. */
static void test_valid_text_unchanged(void)
{
	static const char *const same[] = {
		"",
		"counter",
		"/tmp/snapvm-fdenv-workload.dat",
		"[vdso]",
		"caf\xc3\xa9",					/* café */
		"\xe6\x97\xa5\xe6\x9c\xac",			/* 日本 */
		"\xf0\x9f\x98\x80",				/* 😀 */
		"\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", /* 👩‍💻: a ZWJ sequence */
		"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", /* שלום: right-to-left letters */
		"\xef\xbf\xbd",			    /* U+FFFD */
		"!\"#$%&'()*+,-./:;<=>?@[]^_`{|}~ ",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(same); i++)
		assert_escapes_to(same[i], -1, same[i]);
}

/* Exact outputs for the hostile strings of issue 12 and the rules' edges. */
static void test_table(void)
{
	static const struct {
		const char *in, *want;
	} table[] = {
		{ "\x1b[31mRED\x1b]0;x\x07", "\\x1b[31mRED\\x1b]0;x\\x07" },
		{ "/tmp/\x1b[2Jclear", "/tmp/\\x1b[2Jclear" },
		{ "\x1b]52;c;aGk=\x07", "\\x1b]52;c;aGk=\\x07" },
		{ "a\\x1b", "a\\\\x1b" }, /* a literal backslash cannot pose as an escape */
		{ "\\", "\\\\" },
		{ "line1\nline2\r\n\tx", "line1\\nline2\\r\\n\\tx" },
		{ "del\x7f", "del\\x7f" },
		{ "\x01\x1f", "\\x01\\x1f" },
		/* trojan source: a name that reads "exe.txt" when shown raw */
		{ "\xe2\x80\xaetxt.exe", "\\u{202e}txt.exe" },
		{ "\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad",
		  "\\u{202a}\\u{202b}\\u{202c}\\u{202d}" },
		{ "\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9",
		  "\\u{2066}\\u{2067}\\u{2068}\\u{2069}" },
		{ "\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\\u{200e}\\u{200f}\\u{61c}" },
		{ "a\xe2\x80\xa8"
		  "b\xe2\x80\xa9",
		  "a\\u{2028}b\\u{2029}" },
		/* neighbours of the escaped ranges pass */
		{ "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa",
		  "\\u{2029}\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa" },
		{ "caf\xc3\xa9\xff", "caf\xc3\xa9\\xff" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(table); i++)
		assert_escapes_to(table[i].in, -1, table[i].want);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/text-escape/every-byte/alone", test_every_byte_alone);
	g_test_add_func("/text-escape/every-byte/in-context", test_every_byte_in_context);
	g_test_add_func("/text-escape/every-byte/pairs", test_every_byte_pair);
	g_test_add_func("/text-escape/random", test_random);
	g_test_add_func("/text-escape/c1-as-utf8", test_c1_as_utf8);
	g_test_add_func("/text-escape/malformed", test_malformed);
	g_test_add_func("/text-escape/truncated-at-end", test_truncated_at_end);
	g_test_add_func("/text-escape/length", test_length);
	g_test_add_func("/text-escape/valid-text-unchanged", test_valid_text_unchanged);
	g_test_add_func("/text-escape/table", test_table);
	return g_test_run();
}
