/* SPDX-License-Identifier: MIT */
/*
 * The lab's verdicts from what runs printed: bitwise, equivalent under an
 * ignore regex and under numeric tolerances, differs with the first
 * difference named, a restored run that starts mid-line, different exit
 * statuses, and reference runs that disagree (nondeterministic-baseline).
 */
#include <string.h>

#include "host/lab/lab-manifest.h"
#include "host/lab/lab-verdict.h"

static SvLabComparator *comparator(const char *ignore, double rtol, double atol)
{
	SvLabComparator *c = g_new0(SvLabComparator, 1);
	c->exact = !ignore && rtol == 0 && atol == 0;
	c->ignore_re = g_ptr_array_new_with_free_func((GDestroyNotify)g_regex_unref);
	if (ignore)
		g_ptr_array_add(c->ignore_re, g_regex_new(ignore, 0, 0, NULL));
	c->rtol = rtol;
	c->atol = atol;
	return c;
}

static void comparator_free(SvLabComparator *c)
{
	g_ptr_array_unref(c->ignore_re);
	g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvLabComparator, comparator_free)

static SvLabRunOutput run(const char *text, int code)
{
	return (SvLabRunOutput){ .out = g_bytes_new_static(text, strlen(text)), .exit_code = code };
}

static void judge(const SvLabComparator *c, const char *ref1, const char *ref2,
		  const char *original, const char *restored, int restored_code, SvLabVerdict want,
		  gboolean want_restored, const char *want_detail)
{
	SvLabRunOutput refs[2] = { run(ref1, 0), run(ref2, 0) };
	SvLabRunOutput o = run(original, 0), r = run(restored, restored_code);
	SvLabJudgement j;
	sv_lab_judge(c, refs, 2, &o, &r, &j);
	if (j.verdict != want)
		g_error("verdict %s, expected %s (%s)", sv_lab_verdict_name(j.verdict),
			sv_lab_verdict_name(want), j.detail ? j.detail : "");
	g_assert_cmpint(j.restored, ==, want_restored);
	if (want_detail && (!j.detail || !strstr(j.detail, want_detail)))
		g_error("detail \"%s\" lacks \"%s\"", j.detail ? j.detail : "", want_detail);
	sv_lab_judgement_clear(&j);
	for (int i = 0; i < 2; i++)
		g_bytes_unref(refs[i].out);
	g_bytes_unref(o.out);
	g_bytes_unref(r.out);
}

#define REF "step 0 value 1.000\nstep 1 value 2.000\nstep 2 value 3.000\ndone\n"

static void test_exact(void)
{
	g_autoptr(SvLabComparator) c = comparator(NULL, 0, 0);
	judge(c, REF, REF, REF, "step 2 value 3.000\ndone\n", 0, SV_LAB_VERDICT_BITWISE, TRUE,
	      NULL);
	/* restored output may begin mid-line: still the reference's tail */
	judge(c, REF, REF, REF, "lue 3.000\ndone\n", 0, SV_LAB_VERDICT_BITWISE, TRUE, NULL);
	/* a restored run that printed nothing (checkpoint at the very end) */
	judge(c, REF, REF, REF, "", 0, SV_LAB_VERDICT_BITWISE, TRUE, NULL);
	judge(c, REF, REF, REF, "step 2 value 3.001\ndone\n", 0, SV_LAB_VERDICT_DIFFERS, TRUE,
	      "restored run, against the reference's tail: line 1: got \"step 2 value 3.001\"");
	judge(c, REF, REF, "step 0 value 1.000\nstep 1 value 9.000\n", "", 0,
	      SV_LAB_VERDICT_DIFFERS, TRUE, "original run (checkpointed, left running): line 2");
	judge(c, REF, REF, REF, "done\n", 1, SV_LAB_VERDICT_DIFFERS, FALSE,
	      "restored run 1, reference 0");
	judge(c, REF, REF, REF, "extra\n" REF, 0, SV_LAB_VERDICT_DIFFERS, TRUE, "more than");
}

static void test_tolerance(void)
{
	g_autoptr(SvLabComparator) tol = comparator(NULL, 0.01, 0);
	judge(tol, REF, REF, REF, "step 2 value 3.001\ndone\n", 0, SV_LAB_VERDICT_EQUIVALENT, TRUE,
	      NULL);
	judge(tol, REF, REF, REF, "step 2 value 3.5\ndone\n", 0, SV_LAB_VERDICT_DIFFERS, TRUE,
	      "line 1");
	g_autoptr(SvLabComparator) abs = comparator(NULL, 0, 0.6);
	judge(abs, REF, REF, REF, "step 2 value 3.5\ndone\n", 0, SV_LAB_VERDICT_EQUIVALENT, TRUE,
	      NULL);
	/* words that are not numbers never get a tolerance */
	judge(abs, REF, REF, REF, "step 2 valve 3.000\ndone\n", 0, SV_LAB_VERDICT_DIFFERS, TRUE,
	      NULL);
}

static void test_ignore(void)
{
	g_autoptr(SvLabComparator) c = comparator("^time ", 0, 0);
	const char *r1 = "a\ntime 5\nb\ntime 9\nc\n", *r2 = "a\ntime 6\nb\ntime 7\nc\n";
	judge(c, r1, r2, "a\ntime 1\nb\ntime 2\nc\n", "time 4\nc\n", 0, SV_LAB_VERDICT_EQUIVALENT,
	      TRUE, NULL);
	/* without the ignore, the same references disagree */
	g_autoptr(SvLabComparator) exact = comparator(NULL, 0, 0);
	judge(exact, r1, r2, r1, "c\n", 0, SV_LAB_VERDICT_NONDETERMINISTIC, TRUE,
	      "reference run 2 differs from run 1: line 2");
}

static void test_nondeterministic_exit(void)
{
	g_autoptr(SvLabComparator) c = comparator(NULL, 0, 0);
	SvLabRunOutput refs[2] = { run("x\n", 0), run("x\n", 3) };
	SvLabRunOutput o = run("x\n", 0), r = run("", 0);
	SvLabJudgement j;
	sv_lab_judge(c, refs, 2, &o, &r, &j);
	g_assert_cmpint(j.verdict, ==, SV_LAB_VERDICT_NONDETERMINISTIC);
	g_assert_nonnull(strstr(j.detail, "exited 3"));
	sv_lab_judgement_clear(&j);
	g_bytes_unref(refs[0].out);
	g_bytes_unref(refs[1].out);
	g_bytes_unref(o.out);
	g_bytes_unref(r.out);
	for (int v = 0; v < SV_LAB_VERDICT_COUNT; v++)
		g_assert_cmpint(sv_lab_verdict_from_name(sv_lab_verdict_name(v)), ==, v);
	g_assert_cmpint(sv_lab_verdict_from_name("nonsense"), ==, SV_LAB_VERDICT_COUNT);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/lab/verdict/exact", test_exact);
	g_test_add_func("/lab/verdict/tolerance", test_tolerance);
	g_test_add_func("/lab/verdict/ignore", test_ignore);
	g_test_add_func("/lab/verdict/nondeterministic-exit", test_nondeterministic_exit);
	return g_test_run();
}
