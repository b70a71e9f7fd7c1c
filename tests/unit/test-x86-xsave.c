/* SPDX-License-Identifier: MIT */
/*
 * The kernel's XSAVE buffer as a snapshot's standard-format image
 * (sv_x86_xsave_to_standard): the compacted layout XSAVES writes, unused
 * components left out, components in their init state holding the init
 * values rather than what an earlier save left in their bytes, and
 * buffers that lie. And protection keys, asleep (sv_x86_task_fpu) or
 * caught on a vCPU (sv_x86_vcpu_fpu_complete), against the real x86_64
 * guest kernel's BTF.
 */
#include <string.h>

#include "arch/x86_64/x86_64-private.h"
#include "base/errors.h"
#include "base/kernel-types.h"
#include "host/image/image.h"
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

/* A guest kernel's memory: one task and its mm, in a buffer at BASE. */
#define BASE 0xffff888000100000ull
#define TASK BASE
#define MM (BASE + 0x10000)
#define FPSTATE (BASE + 0x14000)
#define SPAN 0x20000

static gboolean read_span(gconstpointer ctx, guint64 va, void *buf, gsize len, GError **error)
{
	if (va < BASE || va - BASE > SPAN || len > SPAN - (va - BASE)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "no memory at 0x%" G_GINT64_MODIFIER "x", va);
		return FALSE;
	}
	memcpy(buf, (const guint8 *)ctx + (va - BASE), len);
	return TRUE;
}

/* The structure layouts of the x86_64 guest kernel scripts/setup.sh built. */
static SvKernelTypes *x86_kernel_types(void)
{
	g_autoptr(GError) error = NULL;
	const SvArchOps *arch = sv_arch_lookup("x86_64", &error);
	g_autoptr(SvImage) image = sv_image_open(arch, NULL, &error);
	g_assert_no_error(error);
	SvKernelTypes *kt = sv_kernel_types_load(image->kernel, &error);
	g_assert_no_error(error);
	return kt;
}

/*
 * QEMU's gdbstub gives no PKRU. Without CR4.PKE there is none; with it, a
 * process that allocated no key but 0 has the kernel's rights (left out of
 * the image); one with keys allocated is refused, naming them, also when
 * the image has PKRU (the kvm backend's): the mappings' keys are what
 * restore loses. A dump without cr4 is an error.
 */
static void test_vcpu_pkru(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SvKernelTypes) kt = x86_kernel_types();
	guint64 mm_off, keys_off;
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "mm", &mm_off, &error));
	g_assert_true(sv_kernel_types_offset(kt, "mm_struct", "context.pkey_allocation_map",
					     &keys_off, &error));
	g_autofree guint8 *mem = g_malloc0(SPAN);
	sv_put_le64(mem + (TASK - BASE) + mm_off, MM);
	SvKernelReader rd = { .read = read_span, .ctx = mem, .types = kt };
	static const struct {
		guint64 cr4, features;
		guint16 keys;
		gboolean ok;
	} cases[] = {
		{ 0, 0x7, 0x0003, TRUE },		     /* no PKE */
		{ 1u << 22, 0x7, 0x0001, TRUE },	     /* key 0 only */
		{ 1u << 22, 0x7, 0x0003, FALSE },	     /* pkey_alloc gave key 1 */
		{ 1u << 22, 0x7 | PKRU_BIT, 0x0003, FALSE }, /* the image has PKRU */
		{ 0, 0x7 | PKRU_BIT, 0x0003, FALSE },	     /* PKRU says PKE */
		{ 1u << 22, 0x7 | PKRU_BIT, 0x0001, TRUE },  /* PKRU, key 0 only */
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree SvVcpuRegs *v = g_new0(SvVcpuRegs, 1);
		sv_vcpu_regs_add(v, "cr4", cases[i].cr4);
		sv_put_le16(mem + (MM - BASE) + keys_off, cases[i].keys);
		g_auto(SvFpuState) fpu = { .raw = g_bytes_new(mem, 832),
					   .features = cases[i].features,
					   .format = "xsave" };
		gboolean ok = sv_x86_vcpu_fpu_complete(&rd, TASK, v, &fpu, &error);
		g_assert_cmpint(ok, ==, cases[i].ok);
		if (ok) {
			g_assert_no_error(error);
			continue;
		}
		g_assert_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED);
		g_assert_nonnull(strstr(error->message, "protection keys (allocated: 0x0003)"));
		g_assert_nonnull(strstr(error->message, "without PKU (the default)"));
		g_clear_error(&error);
	}
	g_autofree SvVcpuRegs *none = g_new0(SvVcpuRegs, 1);
	g_auto(SvFpuState) fpu = { .raw = g_bytes_new(mem, 832), .features = 0x7 };
	g_assert_false(sv_x86_vcpu_fpu_complete(&rd, TASK, none, &fpu, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_DATA);
}

/*
 * The same keys asleep (sv_x86_task_fpu, from the task's fpstate): with
 * PKRU among the user features (PKU enabled) and a key besides 0
 * allocated, refused; key 0 alone, or no PKRU feature, captured.
 */
static void test_memory_pkru(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SvKernelTypes) kt = x86_kernel_types();
	guint64 mm_off, keys_off, fp_off, size_off, uf_off, regs_off, task_size;
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "mm", &mm_off, &error));
	g_assert_true(sv_kernel_types_offset(kt, "task_struct", "thread.fpu.fpstate", &fp_off,
					     &error));
	g_assert_true(sv_kernel_types_size(kt, "task_struct", NULL, &task_size, &error));
	g_assert_cmpuint(task_size, <=, MM - TASK);
	g_assert_true(sv_kernel_types_offset(kt, "mm_struct", "context.pkey_allocation_map",
					     &keys_off, &error));
	g_assert_true(sv_kernel_types_offset(kt, "fpstate", "size", &size_off, &error));
	g_assert_true(sv_kernel_types_offset(kt, "fpstate", "user_xfeatures", &uf_off, &error));
	g_assert_true(sv_kernel_types_offset(kt, "fpstate", "regs", &regs_off, &error));
	g_autofree guint8 *mem = g_malloc0(SPAN);
	sv_put_le64(mem + (TASK - BASE) + mm_off, MM);
	sv_put_le64(mem + (TASK - BASE) + fp_off, FPSTATE);
	guint8 *fs = mem + (FPSTATE - BASE);
	sv_put_le32(fs + size_off, 2696);
	guint8 *x = fs + regs_off;
	sv_put_le64(x + 512, 0x7 | PKRU_BIT);
	sv_put_le32(x + 2688, 0x55555554);
	SvKernelReader rd = { .read = read_span, .ctx = mem, .types = kt };
	static const struct {
		guint64 user_features;
		guint16 keys;
		gboolean ok;
	} cases[] = {
		{ 0x7, 0x0003, TRUE },		   /* no PKU */
		{ 0x7 | PKRU_BIT, 0x0001, TRUE },  /* key 0 only */
		{ 0x7 | PKRU_BIT, 0x0005, FALSE }, /* pkey_alloc gave key 2 */
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		sv_put_le64(fs + uf_off, cases[i].user_features);
		sv_put_le16(mem + (MM - BASE) + keys_off, cases[i].keys);
		g_auto(SvFpuState) fpu = { 0 };
		gboolean ok = sv_x86_task_fpu(&rd, TASK, &fpu, &error);
		g_assert_cmpint(ok, ==, cases[i].ok);
		if (ok) {
			g_assert_no_error(error);
			g_assert_cmphex(fpu.features, ==, 0x7); /* the default PKRU left out */
			continue;
		}
		g_assert_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED);
		g_assert_nonnull(strstr(error->message, "protection keys (allocated: 0x0005)"));
		g_clear_error(&error);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/x86-xsave/standard-in-use", test_standard_in_use);
	g_test_add_func("/x86-xsave/compacted-pkru", test_compacted_pkru);
	g_test_add_func("/x86-xsave/init-components-not-stale", test_init_components_not_stale);
	g_test_add_func("/x86-xsave/bad-buffers", test_bad_buffers);
	g_test_add_func("/x86-xsave/vcpu-pkru", test_vcpu_pkru);
	g_test_add_func("/x86-xsave/memory-pkru", test_memory_pkru);
	return g_test_run();
}
