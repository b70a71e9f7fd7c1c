/* SPDX-License-Identifier: MIT */
/*
 * The GDB remote protocol's packet layer and target descriptions, as
 * snapvm's gdbstub client reads them: the stub's bytes are untrusted, so
 * every malformed packet must be refused and every well-formed one (escapes,
 * run-length encoding, split across reads, behind acknowledgements) decoded
 * exactly. Packets are built here by hand, apart from the framer, so a
 * shared mistake cannot hide.
 */
#include <string.h>

#include "base/errors.h"
#include "host/qemu/gdb-packet.h"
#include "host/qemu/gdb-tdesc.h"

/* A packet as a stub would send it: body (raw, already escaped/encoded)
 * and its checksum computed here. */
static char *wire(const char *body)
{
	guint sum = 0;
	for (const char *p = body; *p; p++)
		sum += (guint8)*p;
	return g_strdup_printf("$%s#%02x", body, sum & 0xff);
}

static SvGdbParseResult parse(const char *buf, gsize len, GByteArray *out, gsize *used,
			      GError **error)
{
	return sv_gdb_packet_parse((const guint8 *)buf, len, used, out, error);
}

static void assert_decodes(const char *body, const char *want, gsize want_len)
{
	g_autofree char *w = wire(body);
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	gsize used = 0;
	g_assert_cmpint(parse(w, strlen(w), out, &used, &error), ==, SV_GDB_PARSE_PACKET);
	g_assert_no_error(error);
	g_assert_cmpuint(used, ==, strlen(w));
	g_assert_cmpmem(out->data, out->len, want, want_len);
}

static void assert_refused(const char *buf, gsize len, const char *why)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	gsize used = 0;
	g_assert_cmpint(parse(buf, len, out, &used, &error), ==, SV_GDB_PARSE_ERROR);
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
	if (!strstr(error->message, why))
		g_error("refused for '%s', expected '%s'", error->message, why);
}

static void test_frame(void)
{
	/* checksum: byte sum mod 256 */
	g_autoptr(GString) a = sv_gdb_packet_frame("qSupported", 10);
	g_assert_cmpstr(a->str, ==, "$qSupported#37");
	g_autoptr(GString) e = sv_gdb_packet_frame("", 0);
	g_assert_cmpstr(e->str, ==, "$#00");
	/* $ # } * are escaped as } and the byte XOR 0x20; the checksum
	 * covers the escaped bytes */
	g_autoptr(GString) x = sv_gdb_packet_frame("a$b#c}d*", 8);
	g_autofree char *want = wire("a}\x04"
				     "b}\x03"
				     "c}]d}\x0a");
	g_assert_cmpstr(x->str, ==, want);
	/* and the parser gives back what went in */
	g_autoptr(GByteArray) out = g_byte_array_new();
	gsize used;
	g_assert_cmpint(parse(x->str, x->len, out, &used, NULL), ==, SV_GDB_PARSE_PACKET);
	g_assert_cmpmem(out->data, out->len, "a$b#c}d*", 8);
}

static void test_decode(void)
{
	assert_decodes("OK", "OK", 2);
	/* hex digits of either case */
	g_autoptr(GByteArray) upper = g_byte_array_new();
	gsize used;
	g_assert_cmpint(parse("$OK#9A", 6, upper, &used, NULL), ==, SV_GDB_PARSE_PACKET);
	assert_decodes("", "", 0);
	/* escapes: }] is }, }\x03 is #, }\x04 is $, }\x0a is * */
	assert_decodes("l}]}\x03}\x04}\x0a", "l}#$*", 5);
	/* run-length: "0* " is '0' then 3 more (' ' is 32 = 29 + 3) */
	assert_decodes("0* ", "0000", 4);
	/* 'a' then 97 - 29 = 68 more */
	char many[70];
	memset(many, 'a', sizeof(many));
	assert_decodes("aa", "aa", 2);
	assert_decodes("a*a", many, 69);
	/* a repeat of an escaped byte repeats the decoded byte */
	assert_decodes("}]*!", "}}}}}", 5);
	/* binary bytes (qXfer data) pass through */
	assert_decodes("m\x01\xff", "m\x01\xff", 3);
}

static void test_acks_and_pieces(void)
{
	g_autofree char *w = wire("1234");
	g_autofree char *stream = g_strdup_printf("++%s%s", w, w);
	g_autoptr(GByteArray) out = g_byte_array_new();
	gsize used = 0;
	/* every prefix that stops short of the checksum's end needs more */
	for (gsize n = 0; n < 2 + strlen(w); n++)
		g_assert_cmpint(parse(stream, n, out, &used, NULL), ==, SV_GDB_PARSE_NEED_MORE);
	g_assert_cmpint(parse(stream, strlen(stream), out, &used, NULL), ==, SV_GDB_PARSE_PACKET);
	g_assert_cmpuint(used, ==, 2 + strlen(w)); /* one packet at a time */
	g_assert_cmpmem(out->data, out->len, "1234", 4);
	g_assert_cmpint(parse(stream + used, strlen(stream) - used, out, &used, NULL), ==,
			SV_GDB_PARSE_PACKET);
	g_assert_cmpmem(out->data, out->len, "1234", 4);
}

static void test_refused(void)
{
	assert_refused("$OK#9b", 6, "bad checksum"); /* OK sums to 9a */
	assert_refused("$OK#zz", 6, "checksum is not two hex digits");
	g_autofree char *dangling_escape = wire("ab}");
	assert_refused(dangling_escape, strlen(dangling_escape), "inside an escape");
	g_autofree char *leading_rle = wire("*0");
	assert_refused(leading_rle, strlen(leading_rle), "nothing to repeat");
	g_autofree char *short_rle = wire("0*\x1f");
	assert_refused(short_rle, strlen(short_rle), "bad run-length count");
	g_autofree char *dangling_rle = wire("0*");
	assert_refused(dangling_rle, strlen(dangling_rle), "inside a run-length repeat");
	assert_refused("-", 1, "resend");
	assert_refused("x$OK#9a", 7, "outside a packet");
	assert_refused("+%Stop:T05#00", 13, "outside a packet");
	/* a reply that never ends is cut off, not buffered for ever */
	gsize big = SV_GDB_PACKET_MAX + 16;
	g_autofree char *endless = g_malloc(big);
	memset(endless, '0', big);
	endless[0] = '$';
	assert_refused(endless, big, "too long");
	/* nor may run-length encoding blow a small packet up past the limit */
	GString *bomb = g_string_new("0");
	for (guint i = 0; i < SV_GDB_PACKET_MAX / 97 + 2; i++)
		g_string_append(bomb, "*~");
	g_autofree char *bomb_wire = wire(bomb->str);
	g_string_free(bomb, TRUE);
	assert_refused(bomb_wire, strlen(bomb_wire), "too long");
}

static void test_hex(void)
{
	guint8 b[4];
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_gdb_hex_decode("7f03aB00", 8, b, 4, &error));
	g_assert_no_error(error);
	g_assert_cmpmem(b, 4, "\x7f\x03\xab\x00", 4);
	/* exactly the register's size: a short or long reply is refused */
	g_assert_false(sv_gdb_hex_decode("7f03ab", 6, b, 4, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
	g_clear_error(&error);
	g_assert_false(sv_gdb_hex_decode("7f03ab0000", 10, b, 4, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
	g_clear_error(&error);
	/* 'x': the stub has no value for it */
	g_assert_false(sv_gdb_hex_decode("xxxxxxxx", 8, b, 4, &error));
	g_assert_nonnull(strstr(error->message, "not available"));
	g_clear_error(&error);
	g_assert_false(sv_gdb_hex_decode("7g03ab00", 8, b, 4, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
}

/* ---- target descriptions ---- */

static char *fetch_from(const char *annex, gpointer data, GError **error)
{
	const char *const *docs = data;
	for (guint i = 0; docs[i]; i += 2)
		if (!strcmp(docs[i], annex))
			return g_strdup(docs[i + 1]);
	g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "no document %s", annex);
	return NULL;
}

static const SvGdbReg *reg(GHashTable *regs, const char *name)
{
	const SvGdbReg *r = g_hash_table_lookup(regs, name);
	if (!r)
		g_error("no register %s", name);
	return r;
}

/* QEMU's shape: a target that includes features, numbering carrying on
 * from one document to the next, regnum jumping ahead, comments (with a
 * commented-out register) and a DOCTYPE. */
static void test_tdesc(void)
{
	const char *docs[] = {
		"target.xml",
		"<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
		"<target><architecture>aarch64</architecture>"
		"<xi:include href=\"core.xml\"/><xi:include href=\"fpu.xml\"/>"
		"<xi:include href=\"sys.xml\"/></target>",
		"core.xml",
		"<?xml version=\"1.0\"?>\n<!-- (c) -->\n<!DOCTYPE feature SYSTEM \"gdb-target.dtd\">\n"
		"<feature name=\"org.gnu.gdb.aarch64.core\">\n"
		"  <reg name=\"x0\" bitsize=\"64\" regnum=\"0\"/>\n"
		"  <reg name=\"x1\" bitsize=\"64\"/>\n"
		"  <!--reg name=\"x2\" bitsize=\"64\"/-->\n"
		"  <flags id=\"f\" size=\"4\"><field name=\"N\" start=\"31\" end=\"31\"/></flags>\n"
		"  <reg name=\"cpsr\" bitsize=\"32\" type=\"f\"/>\n"
		"</feature>\n",
		"fpu.xml",
		"<feature name=\"org.gnu.gdb.aarch64.fpu\"><vector id=\"v\" type=\"uint128\" count=\"1\"/>"
		"<reg name=\"v0\" bitsize=\"128\" type=\"v\" regnum=\"34\"/><reg name=\"fpsr\" bitsize=\"32\"/>"
		"</feature>",
		"sys.xml",
		"<feature name=\"org.qemu.gdb.arm.sys.regs\"><reg name=\"TPIDR_EL0\" bitsize=\"64\" "
		"regnum=\"198\" group=\"cp_regs\"/><reg name=\"TPIDRRO_EL0\" bitsize=\"64\"/></feature>",
		NULL,
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) regs = sv_gdb_tdesc_load(fetch_from, docs, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_hash_table_size(regs), ==, 7);
	g_assert_cmpuint(reg(regs, "x0")->regnum, ==, 0);
	g_assert_cmpuint(reg(regs, "x1")->regnum, ==, 1);
	g_assert_cmpuint(reg(regs, "cpsr")->regnum, ==, 2);
	g_assert_cmpuint(reg(regs, "cpsr")->bitsize, ==, 32);
	g_assert_false(g_hash_table_contains(regs, "x2"));
	g_assert_cmpuint(reg(regs, "v0")->regnum, ==, 34);
	g_assert_cmpuint(reg(regs, "v0")->bitsize, ==, 128);
	g_assert_cmpuint(reg(regs, "fpsr")->regnum, ==, 35);
	g_assert_cmpuint(reg(regs, "TPIDR_EL0")->regnum, ==, 198);
	g_assert_cmpuint(reg(regs, "TPIDRRO_EL0")->regnum, ==, 199);
}

/* A name listed again (QEMU's ppc64 stub: xer in the core feature and among
 * the SPRs) keeps its first register; the second still takes a number. */
static void test_tdesc_repeated_name(void)
{
	const char *docs[] = { "target.xml",
			       "<target><reg name=\"xer\" bitsize=\"32\" regnum=\"69\"/>"
			       "<reg name=\"xer\" bitsize=\"64\" regnum=\"200\"/>"
			       "<reg name=\"after\" bitsize=\"64\"/></target>",
			       NULL };
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) regs = sv_gdb_tdesc_load(fetch_from, docs, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_hash_table_size(regs), ==, 2);
	g_assert_cmpuint(reg(regs, "xer")->regnum, ==, 69);
	g_assert_cmpuint(reg(regs, "xer")->bitsize, ==, 32);
	g_assert_cmpuint(reg(regs, "after")->regnum, ==, 201);
}

static void assert_tdesc_refused(const char *target, const char *why)
{
	const char *docs[] = { "target.xml", target, "self.xml",
			       "<feature><xi:include href=\"self.xml\"/></feature>", NULL };
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) regs = sv_gdb_tdesc_load(fetch_from, docs, &error);
	g_assert_null(regs);
	g_assert_nonnull(error);
	if (!strstr(error->message, why))
		g_error("refused for '%s', expected '%s'", error->message, why);
}

static void test_tdesc_refused(void)
{
	assert_tdesc_refused("<target><reg name=\"a\" bitsize=\"64\"", "target.xml");
	assert_tdesc_refused("<target><reg bitsize=\"64\"/></target>", "without a usable name");
	assert_tdesc_refused("<target><reg name=\"a\"/></target>", "no sensible bitsize");
	assert_tdesc_refused("<target><reg name=\"a\" bitsize=\"0\"/></target>",
			     "no sensible bitsize");
	assert_tdesc_refused("<target><reg name=\"a\" bitsize=\"-8\"/></target>",
			     "no sensible bitsize");
	assert_tdesc_refused("<target><reg name=\"a\" bitsize=\"8\" regnum=\"x\"/></target>",
			     "bad regnum");
	assert_tdesc_refused("<target><xi:include href=\"../etc/passwd\"/></target>", "plain");
	assert_tdesc_refused("<target><xi:include href=\"missing.xml\"/></target>", "no document");
	assert_tdesc_refused("<target><xi:include href=\"self.xml\"/></target>", "too many");
	assert_tdesc_refused("<target></target>", "no registers");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/gdb-packet/frame", test_frame);
	g_test_add_func("/gdb-packet/decode", test_decode);
	g_test_add_func("/gdb-packet/acks-and-pieces", test_acks_and_pieces);
	g_test_add_func("/gdb-packet/refused", test_refused);
	g_test_add_func("/gdb-packet/hex", test_hex);
	g_test_add_func("/gdb-tdesc/qemu-shape", test_tdesc);
	g_test_add_func("/gdb-tdesc/refused", test_tdesc_refused);
	g_test_add_func("/gdb-tdesc/repeated-name", test_tdesc_repeated_name);
	return g_test_run();
}
