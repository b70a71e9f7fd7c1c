/* SPDX-License-Identifier: MIT */
/*
 * test-cpu-check.c - the pre-boot CPU model check without QEMU: each arch's
 * FPU/SIMD needs in QEMU property names, QEMU's QMP answers read from a
 * canned transcript (QEMU 7.2's words), and the refusal text.
 */
#include <string.h>

#include "snapvm/arch.h"
#include "base/errors.h"
#include "host/restore/cpu-check.h"

static GPtrArray *needs_of(const char *arch_name, guint64 features, gsize size)
{
	const SvArchOps *arch = sv_arch_lookup(arch_name, NULL);
	g_assert_nonnull(arch);
	GPtrArray *needs = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_arch_fpu_cpu_needs(arch, features, size, needs, &error));
	g_assert_no_error(error);
	return needs;
}

static GString *needs_text(const GPtrArray *needs)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < needs->len; i++) {
		const SvCpuNeed *n = g_ptr_array_index(needs, i);
		g_string_append_printf(s, "%s%s:", i ? " " : "", n->what);
		for (const char *const *p = n->props; *p; p++)
			g_string_append_printf(s, "%s%s", p == n->props ? "" : ",", *p);
	}
	return s;
}

static void test_x86_needs(void)
{
	g_autoptr(GPtrArray) avx = needs_of("x86_64", 0x7, 832);
	g_autoptr(GString) t = needs_text(avx);
	g_assert_cmpstr(t->str, ==, "x87:fpu SSE:sse,sse2 AVX:xsave,avx");
	/* x87 and SSE even in their init state; AVX-512's three components
	 * are one need; PKRU */
	g_autoptr(GPtrArray) big = needs_of("x86_64", 0x2e4, 2696);
	g_autoptr(GString) t2 = needs_text(big);
	g_assert_cmpstr(t2->str, ==,
			"x87:fpu SSE:sse,sse2 AVX:xsave,avx AVX-512:xsave,avx512f "
			"PKRU (protection keys):xsave,pku");
	/* AMX: not something snapvm restores */
	const SvArchOps *x86 = sv_arch_lookup("x86_64", NULL);
	g_autoptr(GPtrArray) n = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_arch_fpu_cpu_needs(x86, 0x60003, 576, n, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED);
	g_assert_nonnull(strstr(error->message, "component 17"));
	g_clear_error(&error);
	g_assert_false(sv_arch_fpu_cpu_needs(x86, 0x3, 512, n, &error)); /* FXSAVE-sized */
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_DATA);
}

static void test_aarch64_needs(void)
{
	g_autoptr(GPtrArray) n = needs_of("aarch64", 0, 528);
	g_autoptr(GString) t = needs_text(n);
	g_assert_cmpstr(t->str, ==, "AArch64 with FP/SIMD:aarch64");
	const SvArchOps *a64 = sv_arch_lookup("aarch64", NULL);
	g_autoptr(GPtrArray) m = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_arch_fpu_cpu_needs(a64, 0x7, 832, m, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_DATA);
}

/* What QEMU 7.2 answers (trimmed): a greeting, expansions, one error, the
 * definitions with TCG's unavailable features, a warning line. */
static const char transcript[] =
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}}, "
	"\"capabilities\": [\"oob\"]}}\n"
	"{\"return\": {}, \"id\": \"caps\"}\n"
	"{\"return\": {\"model\": {\"name\": \"Nehalem\", \"props\": {\"fpu\": true, \"sse\": "
	"true, \"sse2\": true, \"xsave\": false, \"avx\": false, \"family\": 6, "
	"\"model-id\": \"Intel Core i7 9xx\"}}}, \"id\": \"expand-0\"}\n"
	"qemu-system-x86_64: warning: something on stderr that reached stdout\n"
	"{\"return\": {\"model\": {\"name\": \"Haswell-noTSX-IBRS\", \"props\": {\"fpu\": true, "
	"\"sse\": true, \"sse2\": true, \"xsave\": true, \"avx\": true, \"pcid\": true, "
	"\"pku\": false}}}, \"id\": \"expand-1\"}\n"
	"{\"return\": {\"model\": {\"name\": \"max\", \"props\": {\"fpu\": true, \"sse\": true, "
	"\"sse2\": true, \"xsave\": true, \"avx\": true, \"pku\": true, \"avx512f\": false}}}, "
	"\"id\": \"expand-2\"}\n"
	"{\"error\": {\"class\": \"GenericError\", \"desc\": \"CPU model 'Foo' not found\"}, "
	"\"id\": \"expand-3\"}\n"
	"{\"return\": [{\"name\": \"max\", \"unavailable-features\": []}, {\"name\": "
	"\"Haswell-noTSX-IBRS\", \"unavailable-features\": [\"pcid\", \"x2apic\"]}, {\"name\": "
	"\"Nehalem\", \"unavailable-features\": []}], \"id\": \"defs\"}\n"
	"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"SHUTDOWN\"}\n"
	"{\"return\": {}, \"id\": \"quit\"}\n";

static const char *const models[] = { "Nehalem", "Haswell-noTSX-IBRS", "max", "Foo", NULL };

static GPtrArray *parse(void)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *f = sv_qemu_cpu_probe_parse(transcript, models, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(f->len, ==, 4);
	return f;
}

static void test_probe_parse(void)
{
	g_autoptr(GPtrArray) f = parse();
	SvCpuModelFeatures *neh = g_ptr_array_index(f, 0), *has = g_ptr_array_index(f, 1),
			   *foo = g_ptr_array_index(f, 3);
	g_assert_true(neh->known);
	g_assert_true(g_hash_table_contains(neh->on, "sse2"));
	g_assert_false(g_hash_table_contains(neh->on, "avx"));
	g_assert_false(g_hash_table_contains(neh->on, "family")); /* not a boolean */
	/* TCG's unavailable features are off */
	g_assert_false(g_hash_table_contains(has->on, "pcid"));
	g_assert_true(g_hash_table_contains(has->on, "avx"));
	g_assert_false(foo->known);
	g_assert_cmpstr(foo->error, ==, "CPU model 'Foo' not found");
	/* the script asks by id, in that order */
	g_autofree char *script = sv_qemu_cpu_probe_script(models);
	g_assert_nonnull(strstr(script, "\"id\":\"expand-3\""));
	g_assert_nonnull(strstr(script, "\"name\":\"Foo\""));
	g_assert_true(g_str_has_suffix(script, "{\"execute\":\"quit\",\"id\":\"quit\"}\n"));
	/* no answer to the definitions: not QEMU, or it died */
	g_autoptr(GError) error = NULL;
	g_assert_null(sv_qemu_cpu_probe_parse("{\"return\": {}, \"id\": \"caps\"}\n", models,
					      &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_PROTOCOL);
}

static void test_decision(void)
{
	g_autoptr(GPtrArray) f = parse();
	SvCpuModelFeatures *neh = g_ptr_array_index(f, 0), *has = g_ptr_array_index(f, 1),
			   *max = g_ptr_array_index(f, 2), *foo = g_ptr_array_index(f, 3);
	g_autoptr(GPtrArray) avx = needs_of("x86_64", 0x7, 832);
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_cpu_check_needs(avx, has, TRUE, has, max, &error));
	g_assert_true(sv_cpu_check_needs(avx, max, FALSE, has, max, &error));
	g_assert_no_error(error);
	/* the brief's case: named model, missing feature, what to pick */
	g_assert_false(sv_cpu_check_needs(avx, neh, FALSE, has, max, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_assert_cmpstr(error->message, ==,
			"the snapshot's FPU/SIMD state uses AVX, which CPU model Nehalem lacks "
			"under QEMU's TCG: pick a CPU model with it, e.g. Haswell-noTSX-IBRS "
			"(the default: omit --cpu) or --cpu max");
	g_clear_error(&error);
	/* PKRU: only max has it; the default is not offered */
	g_autoptr(GPtrArray) pkru = needs_of("x86_64", 0x207, 2696);
	g_assert_false(sv_cpu_check_needs(pkru, has, TRUE, has, max, &error));
	g_assert_nonnull(strstr(error->message, "uses PKRU (protection keys), which the default "
						"CPU model Haswell-noTSX-IBRS lacks"));
	g_assert_true(g_str_has_suffix(error->message, "e.g. --cpu max"));
	g_clear_error(&error);
	/* AVX-512: nothing TCG emulates has it */
	g_autoptr(GPtrArray) z = needs_of("x86_64", 0xe7, 2688);
	g_assert_false(sv_cpu_check_needs(z, max, FALSE, has, max, &error));
	g_assert_nonnull(strstr(error->message, "uses AVX-512, which CPU model max lacks"));
	g_assert_nonnull(strstr(error->message, "no CPU model QEMU's TCG emulates here has it"));
	g_clear_error(&error);
	/* two missing: named together */
	g_assert_false(sv_cpu_check_needs(pkru, neh, FALSE, has, max, &error));
	g_assert_nonnull(strstr(error->message, "uses AVX, PKRU (protection keys), which"));
	g_assert_nonnull(strstr(error->message, "with them, e.g. --cpu max"));
	g_clear_error(&error);
	/* a model QEMU does not know: QEMU's reason */
	g_assert_false(sv_cpu_check_needs(avx, foo, FALSE, has, max, &error));
	g_assert_cmpstr(error->message, ==,
			"QEMU cannot give the guest CPU model 'Foo': CPU model 'Foo' not found");
	g_autoptr(GPtrArray) missing = sv_cpu_needs_missing(avx, neh);
	g_assert_cmpuint(missing->len, ==, 1);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cpu-check/needs/x86_64", test_x86_needs);
	g_test_add_func("/cpu-check/needs/aarch64", test_aarch64_needs);
	g_test_add_func("/cpu-check/probe/parse", test_probe_parse);
	g_test_add_func("/cpu-check/decision", test_decision);
	return g_test_run();
}
