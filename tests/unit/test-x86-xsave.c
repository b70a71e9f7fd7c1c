/* SPDX-License-Identifier: MIT */
/*
 * The kernel's XSAVE buffer as a snapshot's standard-format image
 * (sv_x86_xsave_to_standard): the compacted layout XSAVES writes, unused
 * components left out, components in their init state holding the init
 * values rather than what an earlier save left in their bytes, and
 * buffers that lie.
 */
#include <string.h>

#include "arch/x86_64/x86_64-private.h"
#include "base/errors.h"
#include "snapvm/le.h"

#define COMPACTED (1ull << 63)
#define PKRU_BIT (1ull << 9)

/* A kernel buffer of len bytes whose every byte is fill, with the header's
 * XSTATE_BV and XCOMP_BV. */
static guint8 *kernel_buffer(gsize len, guint8 fill, guint64 xstate_bv, guint64 xcomp_bv)
{
	guint8 *buf = g_malloc(len);
	memset(buf, fill, len);
	sv_put_le64(buf + 512, xstate_bv);
	sv_put_le64(buf + 520, xcomp_bv);
	memset(buf + 528, 0, 48);
	return buf;
}

static void assert_all(const guint8 *p, gsize n, guint8 v)
{
	for (gsize i = 0; i < n; i++)
		if (p[i] != v)
			g_error("byte %" G_GSIZE_FORMAT ": 0x%02x, not 0x%02x", i, p[i], v);
}

/* Everything in use, standard format: the legacy region and YMM_Hi128 as
 * they are, nothing past AVX. */
static void test_standard_in_use(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree guint8 *buf = kernel_buffer(832, 0x5a, 0x7, 0);
	guint64 features = 0;
	g_autoptr(GBytes) out = sv_x86_xsave_to_standard(buf, 832, 0x7, &features, &error);
	g_assert_no_error(error);
	gsize len;
	const guint8 *x = g_bytes_get_data(out, &len);
	g_assert_cmpuint(len, ==, 832);
	g_assert_cmphex(features, ==, 0x7);
	g_assert_cmpmem(x, 512, buf, 512);
	g_assert_cmphex(sv_get_le64(x + 512), ==, 0x7);
	g_assert_cmpmem(x + 576, 256, buf + 576, 256);
}

/* XSAVES's compacted format with PKRU right after AVX: the kernel's default
 * PKRU is left out (the restore guest may lack PKU), a changed one kept at
 * its standard offset. */
static void test_compacted_pkru(void)
{
	const guint64 comp = COMPACTED | 0x7 | PKRU_BIT;
	const gsize len = 576 + 256 + 8;
	for (guint changed = 0; changed < 2; changed++) {
		g_autoptr(GError) error = NULL;
		g_autofree guint8 *buf = kernel_buffer(len, 0x11, 0x7 | PKRU_BIT, comp);
		memset(buf + 576, 0x22, 256);
		sv_put_le32(buf + 832, changed ? 0x5555555cu : 0x55555554u);
		guint64 features = 0;
		g_autoptr(GBytes)
			out = sv_x86_xsave_to_standard(buf, len, 0x7 | PKRU_BIT, &features, &error);
		g_assert_no_error(error);
		gsize out_len;
		const guint8 *x = g_bytes_get_data(out, &out_len);
		assert_all(x + 576, 256, 0x22);
		if (!changed) {
			g_assert_cmphex(features, ==, 0x7);
			g_assert_cmpuint(out_len, ==, 832);
			continue;
		}
		g_assert_cmphex(features, ==, 0x7 | PKRU_BIT);
		g_assert_cmpuint(out_len, ==, 2696);
		g_assert_cmphex(sv_get_le32(x + 2688), ==, 0x5555555c);
		assert_all(x + 832, 2688 - 832, 0); /* MPX and AVX-512: not there */
	}
}

/*
 * Components whose XSTATE_BV bit is clear are in their init state and
 * XSAVEOPT/XSAVES did not write them: stale bytes (0xee here) must not
 * become the snapshot's state. x87 init is FCW 0x037f and zeros; XMM
 * zeros; MXCSR 0x1f80 unless AVX (which also saves it) is in use.
 */
static void test_init_components_not_stale(void)
{
	static const struct {
		guint64 bv;
		guint16 fcw;
		guint32 mxcsr;
		guint8 st, xmm, ymm_hi;
	} cases[] = {
		{ 0x7, 0xeeee, 0xeeeeeeee, 0xee, 0xee, 0xee },
		{ 0x6, 0x037f, 0xeeeeeeee, 0x00, 0xee, 0xee },
		{ 0x4, 0x037f, 0xeeeeeeee, 0x00, 0x00, 0xee },
		{ 0x3, 0xeeee, 0xeeeeeeee, 0xee, 0xee, 0x00 },
		{ 0x1, 0xeeee, 0x00001f80, 0xee, 0x00, 0x00 },
		{ 0x0, 0x037f, 0x00001f80, 0x00, 0x00, 0x00 },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree guint8 *buf = kernel_buffer(832, 0xee, cases[i].bv, COMPACTED | 0x7);
		guint64 features = 0;
		g_autoptr(GBytes) out = sv_x86_xsave_to_standard(buf, 832, 0x7, &features, &error);
		g_assert_no_error(error);
		const guint8 *x = g_bytes_get_data(out, NULL);
		g_test_message("XSTATE_BV 0x%" G_GINT64_MODIFIER "x", cases[i].bv);
		g_assert_cmphex(features, ==, cases[i].bv);
		g_assert_cmphex(sv_get_le64(x + 512), ==, cases[i].bv);
		g_assert_cmphex(sv_get_le16(x), ==, cases[i].fcw);
		/* FSW, FTW, FOP, FIP, FDP */
		assert_all(x + 2, 22, cases[i].st);
		g_assert_cmphex(sv_get_le32(x + 24), ==, cases[i].mxcsr);
		g_assert_cmphex(sv_get_le32(x + 28), ==, 0xeeeeeeee); /* MXCSR_MASK: the CPU's */
		assert_all(x + 32, 128, cases[i].st);
		assert_all(x + 160, 256, cases[i].xmm);
		assert_all(x + 576, 256, cases[i].ymm_hi);
	}
}

/* Buffers that lie: too short, a component the compacted header does not
 * hold, one snapvm does not know. */
static void test_bad_buffers(void)
{
	g_autoptr(GError) error = NULL;
	guint64 features = 0;
	g_autofree guint8 *buf = kernel_buffer(832, 0, 0x7, COMPACTED | 0x3);
	g_assert_null(sv_x86_xsave_to_standard(buf, 575, 0x7, &features, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_DATA);
	g_clear_error(&error);
	g_assert_null(sv_x86_xsave_to_standard(buf, 832, 0x7, &features, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "component 2 lies outside"));
	g_clear_error(&error);
	sv_put_le64(buf + 520, 0);
	g_assert_null(sv_x86_xsave_to_standard(buf, 700, 0x7, &features, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_DATA);
	g_clear_error(&error);
	g_assert_null(sv_x86_xsave_to_standard(buf, 832, 0x7 | (1ull << 17), &features, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED);
	g_assert_nonnull(strstr(error->message, "component 17"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/x86-xsave/standard-in-use", test_standard_in_use);
	g_test_add_func("/x86-xsave/compacted-pkru", test_compacted_pkru);
	g_test_add_func("/x86-xsave/init-components-not-stale", test_init_components_not_stale);
	g_test_add_func("/x86-xsave/bad-buffers", test_bad_buffers);
	return g_test_run();
}
