/* SPDX-License-Identifier: MIT */
/*
 * The lab manifest: a good one loads with its defaults; each malformed one
 * is refused with the JSON path of the bad key in the message; the matrix
 * expands to the expected baselines and cells, exclusions apply, and the
 * input hash changes exactly when an input does.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "base/errors.h"
#include "host/lab/lab-manifest.h"
#include "host/lab/lab-matrix.h"

static char *tmpdir;

/* Two files standing in for static binaries: the matrix only hashes them. */
static void write_programs(void)
{
	g_autofree char *a = g_build_filename(tmpdir, "prog-x86_64", NULL);
	g_autofree char *b = g_build_filename(tmpdir, "prog-aarch64", NULL);
	g_assert_true(g_file_set_contents(a, "x86 bytes", -1, NULL));
	g_assert_true(g_file_set_contents(b, "arm bytes", -1, NULL));
}

#define GOOD                                                                                   \
	"{\"experiment\": \"e\", \"workloads\": ["                                             \
	"{\"name\": \"a\", \"program\": {\"x86_64\": \"prog-x86_64\", \"aarch64\": "           \
	"\"prog-aarch64\"}, \"args\": [\"5\", \"\"]},"                                         \
	"{\"name\": \"b\", \"program\": \"prog-x86_64\"}],"                                    \
	"\"matrix\": {\"arch\": [\"x86_64\", \"aarch64\"], \"checkpoint_at\": [0.5, "          \
	"{\"after_lines\": 3}], \"exclude\": [{\"workload\": \"b\", \"arch\": \"aarch64\"}]}," \
	"\"compare\": {\"stdout\": {\"ignore\": [\"^time\"], \"rtol\": 0.01}}}"

static SvLabManifest *parse(const char *json, GError **error)
{
	return sv_lab_manifest_parse(json, strlen(json), "t.json", tmpdir, error);
}

static void test_good(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SvLabManifest) m = parse(GOOD, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(m->experiment, ==, "e");
	g_assert_cmpuint(m->workloads->len, ==, 2);
	g_assert_cmpint(m->reference_runs, ==, SV_LAB_REFERENCE_RUNS_DEFAULT);
	g_assert_cmpstr(m->accels[0], ==, "tcg");
	g_assert_null(m->accels[1]);
	g_assert_cmpuint(m->points->len, ==, 2);
	g_assert_cmpuint(m->targets->len, ==, 1);
	const SvLabWorkload *a = m->workloads->pdata[0];
	g_assert_cmpuint(g_strv_length(a->args), ==, 2);
	g_autofree char *want = g_build_filename(tmpdir, "prog-aarch64", NULL);
	g_assert_cmpstr(sv_lab_workload_program(a, "aarch64"), ==, want);
	const SvLabComparator *c = sv_lab_manifest_comparator(m, "stdout");
	g_assert_false(c->exact);
	g_assert_cmpfloat(c->rtol, ==, 0.01);
	g_assert_true(sv_lab_manifest_comparator(m, "/other")->exact);

	g_autoptr(GPtrArray) units = sv_lab_matrix_expand(m, &error);
	g_assert_no_error(error);
	/* a: 2 arches; b: x86_64 only (aarch64 excluded) -> 3 baselines, 6 cells */
	g_assert_cmpuint(units->len, ==, 9);
	const SvLabUnit *cell = sv_lab_matrix_find(units, "a-aarch64-tcg-lines3-same");
	g_assert_nonnull(cell);
	g_assert_cmpint(cell->kind, ==, SV_LAB_UNIT_CELL);
	g_assert_cmpstr(cell->baseline_id, ==, "ref-a-aarch64-tcg");
	g_assert_cmpstr(cell->restore_accel, ==, "tcg");
	g_assert_nonnull(sv_lab_matrix_find(units, "a-x86_64-tcg-0.5s-same"));
	g_assert_null(sv_lab_matrix_find(units, "ref-b-aarch64-tcg"));
	g_assert_cmpint(((SvLabUnit *)units->pdata[0])->kind, ==, SV_LAB_UNIT_BASELINE);
}

/* The same manifest with one input changed changes exactly the hashes of
 * the units that input feeds. */
static void test_hash(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SvLabManifest) m1 = parse(GOOD, &error);
	g_autoptr(GPtrArray) u1 = sv_lab_matrix_expand(m1, &error);
	g_assert_no_error(error);
	g_autoptr(SvLabManifest) m2 = parse(GOOD, &error);
	g_autoptr(GPtrArray) u2 = sv_lab_matrix_expand(m2, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < u1->len; i++)
		g_assert_cmpstr(((SvLabUnit *)u1->pdata[i])->input_hash, ==,
				((SvLabUnit *)u2->pdata[i])->input_hash);
	/* a new aarch64 binary: a's aarch64 units change, nothing else */
	g_autofree char *b = g_build_filename(tmpdir, "prog-aarch64", NULL);
	g_assert_true(g_file_set_contents(b, "arm bytes, rebuilt", -1, NULL));
	g_autoptr(SvLabManifest) m3 = parse(GOOD, &error);
	g_autoptr(GPtrArray) u3 = sv_lab_matrix_expand(m3, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < u1->len; i++) {
		const SvLabUnit *x = u1->pdata[i], *y = u3->pdata[i];
		g_assert_cmpstr(x->id, ==, y->id);
		gboolean changed = strcmp(x->input_hash, y->input_hash) != 0;
		g_assert_cmpint(changed, ==,
				!strcmp(x->workload->name, "a") && !strcmp(x->arch, "aarch64"));
	}
	write_programs();
}

/* copy_in: a relative host path is the manifest folder's, and the bytes
 * copied in (not the host path) are inputs. */
static void test_copy_in_hash(void)
{
	const char *json = "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", "
			   "\"program\": \"prog-x86_64\", \"copy_in\": [\"data.txt:in.txt\"], "
			   "\"outputs\": [\"/work/out\"]}], \"matrix\": {\"arch\": [\"x86_64\"], "
			   "\"checkpoint_at\": [1]}}";
	g_autofree char *data = g_build_filename(tmpdir, "data.txt", NULL);
	g_assert_true(g_file_set_contents(data, "one", -1, NULL));
	g_autoptr(GError) error = NULL;
	g_autoptr(SvLabManifest) m = parse(json, &error);
	g_assert_no_error(error);
	const SvLabWorkload *w = m->workloads->pdata[0];
	g_autofree char *want = g_strconcat(data, ":in.txt", NULL);
	g_assert_cmpstr(w->copy_in[0], ==, want);
	g_autoptr(GPtrArray) u1 = sv_lab_matrix_expand(m, &error);
	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(data, "two", -1, NULL));
	g_autoptr(GPtrArray) u2 = sv_lab_matrix_expand(m, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(u1->len, ==, u2->len);
	for (guint i = 0; i < u1->len; i++)
		g_assert_cmpstr(((SvLabUnit *)u1->pdata[i])->input_hash, !=,
				((SvLabUnit *)u2->pdata[i])->input_hash);
	g_unlink(data);
}

/* Each malformed manifest is refused with its path in the message. */
static void test_malformed(void)
{
	static const struct {
		const char *json, *path;
	} cases[] = {
		{ "[]", "manifest $:" },
		{ "{\"workloads\": []}", "$.experiment" },
		{ "{\"experiment\": \"e\", \"workloads\": [], \"matrix\": {}}", "$.workloads" },
		{ "{\"experiment\": \"e\", \"typo\": 1}", "$.typo: unknown key" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\"}]}",
		  "$.workloads[0]: expected exactly one of" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a b\", \"program\": \"p\"}]}",
		  "$.workloads[0].name" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": "
		  "{\"sparc\": \"p\"}}]}",
		  "$.workloads[0].program.sparc: unknown key" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\", "
		  "\"args\": [1]}]}",
		  "$.workloads[0].args[0]: expected a string" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\"}, "
		  "{\"name\": \"a\", \"program\": \"p\"}]}",
		  "$.workloads[1].name" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\"}], "
		  "\"matrix\": {\"arch\": [\"x86_64\"], \"checkpoint_at\": [1, -2]}}",
		  "$.matrix.checkpoint_at[1]" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\"}], "
		  "\"matrix\": {\"arch\": [\"x86_64\"], \"checkpoint_at\": [{\"after_lines\": 0}]}}",
		  "$.matrix.checkpoint_at[0].after_lines" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\"}], "
		  "\"matrix\": {\"arch\": [\"mips\"], \"checkpoint_at\": [1]}}",
		  "$.matrix.arch[0]: \"mips\" is not one of" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\"}], "
		  "\"matrix\": {\"arch\": [\"x86_64\"], \"accel\": [\"hvf\"], \"checkpoint_at\": "
		  "[1]}}",
		  "$.matrix.accel[0]" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\"}], "
		  "\"matrix\": {\"arch\": [\"x86_64\"], \"checkpoint_at\": [1], \"restore_on\": "
		  "[\"elsewhere\"]}}",
		  "$.matrix.restore_on[0]" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\"}], "
		  "\"matrix\": {\"arch\": [\"x86_64\"], \"checkpoint_at\": [1]}, "
		  "\"reference_runs\": 0}",
		  "$.reference_runs" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\"}], "
		  "\"matrix\": {\"arch\": [\"x86_64\"], \"checkpoint_at\": [1]}, "
		  "\"compare\": {\"stdout\": {\"ignore\": [\"(\"]}}}",
		  "$.compare[\"stdout\"].ignore[0]: not a valid regular expression" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\"}], "
		  "\"matrix\": {\"arch\": [\"x86_64\"], \"checkpoint_at\": [1]}, "
		  "\"compare\": {\"/out.txt\": \"exact\"}}",
		  "$.compare[\"/out.txt\"]: not \"stdout\"" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\"}], "
		  "\"matrix\": {\"arch\": [\"x86_64\"], \"checkpoint_at\": [1], \"exclude\": "
		  "[{\"arch\": \"x86_64\", \"shape\": 1}]}}",
		  "$.matrix.exclude[0].shape: unknown key" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\", "
		  "\"outputs\": [\"rel\"]}]}",
		  "$.workloads[0].outputs[0]: expected an absolute guest path" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": \"p\", "
		  "\"outputs\": [\"/ok\", \"/a:b\"]}]}",
		  "$.workloads[0].outputs[1]: a guest path without ':'" },
		{ "{\"experiment\": ", "not JSON" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(SvLabManifest) m = parse(cases[i].json, &error);
		g_assert_null(m);
		g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_DATA);
		if (!strstr(error->message, cases[i].path))
			g_error("case %zu: \"%s\" does not name %s", i, error->message,
				cases[i].path);
	}
}

/* What parses but this build cannot run is refused at expansion, naming
 * the key and why. */
static void test_unrunnable(void)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"image\": "
		  "\"no-such-image-for-lab\", \"command\": [\"python3\"]}], \"matrix\": "
		  "{\"arch\": [\"x86_64\"], \"checkpoint_at\": [1]}}",
		  "$.workloads[0].image: " },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": "
		  "\"prog-x86_64\", \"copy_in\": [\"not-there:data\"]}], \"matrix\": "
		  "{\"arch\": [\"x86_64\"], \"checkpoint_at\": [1]}}",
		  "$.workloads[0].copy_in[0]: " },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": "
		  "{\"x86_64\": \"prog-x86_64\"}}], \"matrix\": {\"arch\": [\"x86_64\", "
		  "\"aarch64\"], \"checkpoint_at\": [1]}}",
		  "$.workloads[0].program: no binary for aarch64" },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": "
		  "\"missing\"}], \"matrix\": {\"arch\": [\"x86_64\"], \"checkpoint_at\": [1]}}",
		  "$.workloads[0].program: " },
		{ "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": "
		  "\"prog-x86_64\"}], \"matrix\": {\"arch\": [\"x86_64\"], \"checkpoint_at\": [1], "
		  "\"restore_on\": [{\"arch\": \"aarch64\"}]}}",
		  "$.matrix.restore_on[0]: a x86_64 process cannot be restored on aarch64: its "
		  "registers and memory are x86_64's" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(SvLabManifest) m = parse(cases[i].json, &error);
		g_assert_no_error(error);
		g_autoptr(GPtrArray) units = sv_lab_matrix_expand(m, &error);
		g_assert_null(units);
		g_assert_nonnull(error);
		if (!strstr(error->message, cases[i].want))
			g_error("case %zu: \"%s\" does not say %s", i, error->message,
				cases[i].want);
	}
	/* an arch with no binary is fine when the exclusions remove its cells */
	const char *ok = "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", \"program\": "
			 "{\"x86_64\": \"prog-x86_64\"}}], \"matrix\": {\"arch\": [\"x86_64\", "
			 "\"aarch64\"], \"checkpoint_at\": [1], \"exclude\": [{\"arch\": "
			 "\"aarch64\"}]}}";
	g_autoptr(GError) error = NULL;
	g_autoptr(SvLabManifest) m = parse(ok, &error);
	g_autoptr(GPtrArray) units = sv_lab_matrix_expand(m, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(units->len, ==, 2);
}

/* A restore on another arch is refused saying why, and the exclusion the
 * message suggests, put into the manifest as it says, is what it takes. */
static void test_cross_arch_refused(void)
{
	const char *head = "{\"experiment\": \"e\", \"workloads\": [{\"name\": \"a\", "
			   "\"program\": \"prog-x86_64\"}], \"matrix\": {\"arch\": "
			   "[\"x86_64\"], \"checkpoint_at\": [1], \"restore_on\": [\"same\", "
			   "{\"arch\": \"aarch64\", \"accel\": \"tcg\"}]";
	g_autofree char *bad = g_strconcat(head, "}}", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvLabManifest) m = parse(bad, &error);
	g_assert_no_error(error);
	g_autoptr(GPtrArray) none = sv_lab_matrix_expand(m, &error);
	g_assert_null(none);
	g_assert_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED);
	g_assert_nonnull(strstr(error->message, "$.matrix.restore_on[1]: a x86_64 process "
						"cannot be restored on aarch64: its registers "
						"and memory are x86_64's"));
	g_assert_nonnull(strstr(error->message, "not the arch"));
	const char *exclude = strstr(error->message, "\"exclude\": [");
	g_assert_nonnull(exclude);
	g_autofree char *good = g_strconcat(head, ", ", exclude, "}}", NULL);
	g_clear_error(&error);
	g_autoptr(SvLabManifest) m2 = parse(good, &error);
	g_assert_no_error(error);
	g_autoptr(GPtrArray) units = sv_lab_matrix_expand(m2, &error);
	g_assert_no_error(error);
	/* the baseline and the "same" cell */
	g_assert_cmpuint(units->len, ==, 2);
}

/* The examples docs/lab.md shows load (their binaries are in a build, so
 * only parsing is checked here; tests/lab/check-schema.py checks them
 * against the schema). */
static void test_examples(void)
{
	const char *src = g_getenv("SNAPVM_SOURCE_DIR");
	g_assert_nonnull(src); /* run through meson test */
	g_autofree char *dir = g_build_filename(src, "docs", "lab-examples", NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_assert_nonnull(d);
	guint n = 0;
	for (const char *name; (name = g_dir_read_name(d));) {
		if (!g_str_has_suffix(name, ".json"))
			continue;
		g_autofree char *path = g_build_filename(dir, name, NULL);
		g_autoptr(GError) error = NULL;
		g_autoptr(SvLabManifest) m = sv_lab_manifest_load(path, &error);
		g_assert_no_error(error);
		n++;
	}
	g_assert_cmpuint(n, >=, 2);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("test-lab-manifest-XXXXXX", NULL);
	write_programs();
	g_test_add_func("/lab/manifest/good", test_good);
	g_test_add_func("/lab/manifest/hash", test_hash);
	g_test_add_func("/lab/manifest/malformed", test_malformed);
	g_test_add_func("/lab/manifest/unrunnable", test_unrunnable);
	g_test_add_func("/lab/manifest/cross-arch-refused", test_cross_arch_refused);
	g_test_add_func("/lab/manifest/examples", test_examples);
	g_test_add_func("/lab/manifest/copy-in-hash", test_copy_in_hash);
	int rc = g_test_run();
	for (const char *const *f = (const char *const[]){ "prog-x86_64", "prog-aarch64", NULL };
	     *f; f++) {
		g_autofree char *p = g_build_filename(tmpdir, *f, NULL);
		g_unlink(p);
	}
	g_rmdir(tmpdir);
	return rc;
}
