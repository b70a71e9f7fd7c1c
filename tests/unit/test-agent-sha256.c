/* SPDX-License-Identifier: MIT */
/*
 * The guest programs' own SHA-256 (guest/lib/sha256.c, compiled here for the host)
 * against GLib's: the FIPS 180-4 examples, every length around the padding
 * boundaries, and random inputs fed in random pieces.
 */
#include <glib.h>

#include "guest/lib/sha256.h"

static void agent_hash(const guint8 *p, gsize n, const gsize *cuts, gsize ncuts, char hex[65])
{
	struct sha256 s;
	sha256_init(&s);
	gsize at = 0;
	for (gsize i = 0; i < ncuts && cuts[i] <= n; i++) {
		sha256_update(&s, p + at, cuts[i] - at);
		at = cuts[i];
	}
	sha256_update(&s, p + at, n - at);
	sha256_final_hex(&s, hex);
}

static void test_known_answers(void)
{
	char hex[65];
	agent_hash((const guint8 *)"", 0, NULL, 0, hex);
	g_assert_cmpstr(hex, ==,
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	agent_hash((const guint8 *)"abc", 3, NULL, 0, hex);
	g_assert_cmpstr(hex, ==,
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	agent_hash((const guint8 *)two, strlen(two), NULL, 0, hex);
	g_assert_cmpstr(hex, ==,
			"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_against_glib(void)
{
	guint8 buf[4096];
	for (gsize i = 0; i < sizeof(buf); i++)
		buf[i] = (guint8)g_test_rand_int();
	/* every length up to three blocks, then random ones in random pieces */
	for (gsize n = 0; n < 200 + 300; n++) {
		gsize len = n < 200 ? n : (gsize)g_test_rand_int_range(0, sizeof(buf));
		gsize cuts[3] = { 0 };
		gsize ncuts = 0;
		if (n >= 200) {
			cuts[0] = g_test_rand_int_range(0, len + 1);
			cuts[1] = g_test_rand_int_range(cuts[0], len + 1);
			cuts[2] = g_test_rand_int_range(cuts[1], len + 1);
			ncuts = 3;
		}
		char hex[65];
		agent_hash(buf, len, cuts, ncuts, hex);
		g_autofree char *want = g_compute_checksum_for_data(G_CHECKSUM_SHA256, buf, len);
		if (strcmp(hex, want) != 0)
			g_error("length %" G_GSIZE_FORMAT ": agent %s, GLib %s", len, hex, want);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/agent-sha256/known-answers", test_known_answers);
	g_test_add_func("/agent-sha256/against-glib", test_against_glib);
	return g_test_run();
}
