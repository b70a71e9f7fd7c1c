/* SPDX-License-Identifier: MIT */
/*
 * The kvm backend's CPU model (arch/x86_64/kvm/cpuid.c) from synthetic
 * KVM_GET_SUPPORTED_CPUID tables, no /dev/kvm needed: a host with AVX-512,
 * PKRU and XSAVES must still give the guest the portable model (AVX2, no
 * AVX-512, XCR0 at most x87|SSE|AVX, an 832-byte standard XSAVE area), and
 * a host that offers less gives that less.
 */
#include <glib.h>

#include "base/errors.h"
#include "arch/x86_64/kvm/x86-kvm.h"

#define BIT(n) (1u << (n))

typedef struct {
	guint32 function, index, eax, ebx, ecx, edx;
} Leaf;

/* A recent AMD host's KVM (Zen 4), trimmed: AVX-512, PKRU, XSAVEC/XSAVES,
 * SVM, SME, and KVM's own leaves. */
static const Leaf zen4[] = {
	{ 0x0, 0, 0x10, 0x68747541, 0x444d4163, 0x69746e65 },
	{ 0x1, 0, 0x00a10f11, 0x00020800, 0xfef83203, 0x178bfbff },
	{ 0x6, 0, 0x4, 0, 0, 0 },
	{ 0x7, 0, 0x1, 0xf1bf07ab | BIT(16) | BIT(17) | BIT(30) | BIT(31) | BIT(4) | BIT(11),
	  0x005ceec6 | BIT(1) | BIT(3), 0x10 },
	{ 0x7, 1, 0x20, 0, 0, 0 },
	{ 0xd, 0, 0x2e7, 0x340, 0x988, 0 },
	{ 0xd, 1, 0xf, 0x340, 0, 0 },
	{ 0xd, 2, 0x100, 0x240, 0, 0 },
	{ 0xd, 5, 0x40, 0x340, 0, 0 },
	{ 0xd, 6, 0x200, 0x380, 0, 0 },
	{ 0xd, 7, 0x400, 0x580, 0, 0 },
	{ 0xd, 9, 0x8, 0x980, 0, 0 },
	{ 0x10, 0, 0, 0x2, 0, 0 },
	{ 0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d },
	{ 0x40000001, 0, 0x01007efb, 0, 0, 0 },
	{ 0x80000000, 0, 0x80000021, 0x68747541, 0x444d4163, 0x69746e65 },
	{ 0x80000001, 0, 0x00a10f11, 0, 0x75c237ff, 0x2fd3fbff },
	{ 0x80000007, 0, 0x1, 0x2, 0x3, 0x100 | 0x200 },
	{ 0x80000008, 0, 0x3030, 0x091bd257, 0x7, 0x10000 },
	{ 0x8000000a, 0, 0x1, 0x8000, 0, 0x1fbfbff },
	{ 0x8000001f, 0, 0x1, 0xb3, 0, 0 },
	{ 0x80000021, 0, 0x45, 0, 0, 0 },
};

/* What this project's nested development host offers: SSE2 at most, no
 * XSAVE components beyond x87|SSE. */
static const Leaf no_avx[] = {
	{ 0x0, 0, 0xd, 0x68747541, 0x444d4163, 0x69746e65 },
	{ 0x1, 0, 0x00a10f11, 0x00020800, 0x80000000 | BIT(26), 0x178bfbff },
	{ 0x7, 0, 0, BIT(0) | BIT(3) | BIT(8), 0, 0 },
	{ 0xd, 0, 0x3, 0x240, 0x240, 0 },
	{ 0xd, 1, 0x1, 0, 0, 0 },
};

static struct kvm_cpuid2 *table(const Leaf *leaves, guint n)
{
	struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + n * sizeof(c->entries[0]));
	c->nent = n;
	for (guint i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		e->function = leaves[i].function;
		e->index = leaves[i].index;
		e->eax = leaves[i].eax;
		e->ebx = leaves[i].ebx;
		e->ecx = leaves[i].ecx;
		e->edx = leaves[i].edx;
		if (e->function == 0x7 || e->function == 0xd)
			e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	}
	return c;
}

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c, guint32 f, guint32 i)
{
	for (guint k = 0; k < c->nent; k++)
		if (c->entries[k].function == f && c->entries[k].index == i)
			return &c->entries[k];
	return NULL;
}

static void test_avx512_host(void)
{
	g_autofree struct kvm_cpuid2 *sup = table(zen4, G_N_ELEMENTS(zen4));
	g_autofree struct kvm_cpuid2 *m = sv_x86_kvm_cpuid_model(sup);

	const struct kvm_cpuid_entry2 *l0 = leaf(m, 0, 0);
	g_assert_nonnull(l0);
	g_assert_cmphex(l0->eax, ==, 0xd);	  /* nothing past XSAVE's leaf */
	g_assert_cmphex(l0->ebx, ==, 0x68747541); /* the host's vendor */

	const struct kvm_cpuid_entry2 *l1 = leaf(m, 1, 0);
	g_assert_nonnull(l1);
	for (guint b = 0; b < 32; b++) { /* sse3 ssse3 fma sse4.1 sse4.2 xsave avx */
		gboolean want = b == 0 || b == 9 || b == 12 || b == 19 || b == 20 || b == 26 ||
				b == 28;
		if (want)
			g_assert_true(l1->ecx & BIT(b));
	}
	g_assert_false(l1->ecx & BIT(5)); /* no VMX */
	g_assert_cmphex(l1->edx, ==, 0x078bfbff & zen4[1].edx);
	g_assert_cmphex((l1->ebx >> 16) & 0xff, ==, 1); /* one logical CPU per package */

	const struct kvm_cpuid_entry2 *l7 = leaf(m, 7, 0);
	g_assert_nonnull(l7);
	g_assert_true(l7->ebx & BIT(5));	      /* AVX2 */
	g_assert_true(l7->ebx & BIT(3));	      /* BMI1 */
	g_assert_false(l7->ebx & BIT(16));	      /* AVX512F */
	g_assert_false(l7->ebx & BIT(17));	      /* AVX512DQ */
	g_assert_false(l7->ebx & BIT(30));	      /* AVX512BW */
	g_assert_false(l7->ebx & BIT(31));	      /* AVX512VL */
	g_assert_false(l7->ebx & (BIT(4) | BIT(11))); /* HLE, RTM: noTSX */
	g_assert_cmphex(l7->ecx, ==, 0);	      /* no AVX512_VBMI, no PKU */
	g_assert_cmphex(l7->edx, ==, 0);
	g_assert_cmphex(l7->eax, ==, 0);
	g_assert_null(leaf(m, 7, 1)); /* AVX-VNNI, AVX512_BF16 live there */

	const struct kvm_cpuid_entry2 *xs = leaf(m, 0xd, 0);
	g_assert_nonnull(xs);
	g_assert_cmphex(xs->eax, ==, 0x7); /* XCR0: x87, SSE, AVX */
	g_assert_cmphex(xs->edx, ==, 0);
	g_assert_cmpuint(xs->ecx, ==, 832); /* 512 legacy + 64 header + 256 YMM_Hi128 */
	const struct kvm_cpuid_entry2 *xs1 = leaf(m, 0xd, 1);
	g_assert_nonnull(xs1);
	g_assert_cmphex(xs1->eax, ==, 0x1); /* XSAVEOPT; no XSAVEC, XGETBV1, XSAVES */
	g_assert_cmphex(xs1->ebx | xs1->ecx | xs1->edx, ==, 0); /* no IA32_XSS components */
	const struct kvm_cpuid_entry2 *avx = leaf(m, 0xd, 2);
	g_assert_nonnull(avx);
	g_assert_cmpuint(avx->eax, ==, 256);
	g_assert_cmpuint(avx->ebx, ==, 576);
	for (guint i = 3; i < 64; i++)
		g_assert_null(leaf(m, 0xd, i)); /* opmask, ZMM, PKRU: gone */

	g_assert_null(leaf(m, 0x10, 0));
	g_assert_null(leaf(m, 0x8000000a, 0)); /* SVM */
	g_assert_null(leaf(m, 0x8000001f, 0)); /* SME/SEV */
	g_assert_null(leaf(m, 0x80000021, 0));
	g_assert_cmphex(leaf(m, 0x80000000, 0)->eax, ==, 0x80000008);
	const struct kvm_cpuid_entry2 *x1 = leaf(m, 0x80000001, 0);
	g_assert_cmphex(x1->ecx, ==, BIT(0) | BIT(5)); /* lahf_lm, abm: no svm, sse4a */
	g_assert_cmphex(x1->edx, ==, BIT(11) | BIT(20) | BIT(27) | BIT(29));
	g_assert_cmphex(leaf(m, 0x80000007, 0)->edx, ==, 0x100); /* invariant TSC only */
	g_assert_cmphex(leaf(m, 0x80000008, 0)->ebx, ==, 0);
	/* KVM's paravirtual leaves stay: they are the hypervisor's */
	g_assert_nonnull(leaf(m, 0x40000000, 0));
	g_assert_nonnull(leaf(m, 0x40000001, 0));

	g_assert_cmphex(sv_x86_kvm_cpuid_xcr0(m), ==, 0x7);

	g_autoptr(GError) error = NULL;
	g_assert_true(sv_x86_kvm_cpuid_covers_model(sup, &error));
	g_assert_no_error(error);
}

static void test_per_vcpu(void)
{
	g_autofree struct kvm_cpuid2 *sup = table(zen4, G_N_ELEMENTS(zen4));
	g_autofree struct kvm_cpuid2 *m = sv_x86_kvm_cpuid_model(sup);
	for (guint cpu = 0; cpu < 4; cpu++) {
		g_autofree struct kvm_cpuid2 *v = sv_x86_kvm_cpuid_for_vcpu(m, cpu);
		g_assert_cmpuint(v->nent, ==, m->nent);
		for (guint i = 0; i < v->nent; i++) {
			const struct kvm_cpuid_entry2 *a = &m->entries[i], *b = &v->entries[i];
			if (a->function == 1) {
				g_assert_cmpuint(b->ebx >> 24, ==, cpu); /* initial APIC ID */
				g_assert_cmphex(b->ebx & 0xffffff, ==, a->ebx & 0xffffff);
			} else {
				g_assert_cmpmem(a, sizeof(*a), b, sizeof(*b));
			}
		}
	}
}

static void test_lesser_host(void)
{
	g_autofree struct kvm_cpuid2 *sup = table(no_avx, G_N_ELEMENTS(no_avx));
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_x86_kvm_cpuid_covers_model(sup, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY);
	g_assert_nonnull(strstr(error->message, "portable CPU model"));
	/* the subset it has: still nothing TCG's model lacks */
	g_autofree struct kvm_cpuid2 *m = sv_x86_kvm_cpuid_model(sup);
	g_assert_false(leaf(m, 1, 0)->ecx & BIT(28));
	const struct kvm_cpuid_entry2 *xs = leaf(m, 0xd, 0);
	g_assert_cmphex(xs->eax, ==, 0x3);
	g_assert_cmpuint(xs->ecx, ==, 576);
	g_assert_cmphex(sv_x86_kvm_cpuid_xcr0(m), ==, 0x3);
}

static void test_missing_leaves(void)
{
	/* no leaf 0xd at all: not the model */
	g_autofree struct kvm_cpuid2 *sup = table(zen4, 5);
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_x86_kvm_cpuid_covers_model(sup, &error));
	g_assert_nonnull(error);
	g_autofree struct kvm_cpuid2 *empty = table(zen4, 0);
	g_autofree struct kvm_cpuid2 *m = sv_x86_kvm_cpuid_model(empty);
	g_assert_cmpuint(m->nent, ==, 0);
	g_assert_cmphex(sv_x86_kvm_cpuid_xcr0(m), ==, 0); /* no XSAVE: XCR0 left alone */
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kvm/cpuid/avx512-host", test_avx512_host);
	g_test_add_func("/kvm/cpuid/per-vcpu", test_per_vcpu);
	g_test_add_func("/kvm/cpuid/lesser-host", test_lesser_host);
	g_test_add_func("/kvm/cpuid/missing-leaves", test_missing_leaves);
	return g_test_run();
}
