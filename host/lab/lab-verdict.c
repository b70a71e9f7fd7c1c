/* SPDX-License-Identifier: MIT */
/*
 * lab-verdict.c - the comparators and the verdict of a cell (lab-verdict.h).
 * Pure functions of the bytes the runs printed, so the unit tests reach
 * every verdict without a guest.
 */
#include "host/lab/lab-verdict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* How much of a differing line a detail quotes. */
#define EXCERPT_MAX 160

static const char *const names[] = {
	[SV_LAB_VERDICT_BITWISE] = "bitwise",
	[SV_LAB_VERDICT_EQUIVALENT] = "equivalent",
	[SV_LAB_VERDICT_DIFFERS] = "differs",
	[SV_LAB_VERDICT_NONDETERMINISTIC] = "nondeterministic-baseline",
	[SV_LAB_VERDICT_FAILED] = "failed",
};

const char *sv_lab_verdict_name(SvLabVerdict v)
{
	return v < SV_LAB_VERDICT_COUNT ? names[v] : "unknown";
}

SvLabVerdict sv_lab_verdict_from_name(const char *name)
{
	for (int v = 0; name && v < SV_LAB_VERDICT_COUNT; v++)
		if (!strcmp(names[v], name))
			return v;
	return SV_LAB_VERDICT_COUNT;
}

void sv_lab_judgement_clear(SvLabJudgement *j)
{
	g_clear_pointer(&j->detail, g_free);
}

/* The lines of out that no ignore regex matches (a final newline does not
 * start another line). */
static GPtrArray *kept_lines(const SvLabComparator *c, GBytes *out)
{
	gsize len = 0;
	const char *data = out ? g_bytes_get_data(out, &len) : NULL;
	g_autofree char *text = g_strndup(data ? data : "", len);
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	char *p = text;
	while (*p) {
		char *nl = strchr(p, '\n');
		char *line = nl ? g_strndup(p, (gsize)(nl - p)) : g_strdup(p);
		gboolean ignore = FALSE;
		for (guint i = 0; c->ignore_re && i < c->ignore_re->len && !ignore; i++)
			ignore = g_regex_match(g_ptr_array_index(c->ignore_re, i), line, 0, NULL);
		if (ignore)
			g_free(line);
		else
			g_ptr_array_add(lines, line);
		if (!nl)
			break;
		p = nl + 1;
	}
	return lines;
}

static gboolean number_token(const char *s, double *ret)
{
	char *end = NULL;
	double v = g_ascii_strtod(s, &end);
	if (end == s || *end)
		return FALSE;
	*ret = v;
	return TRUE;
}

/* Lines equal, or, with a tolerance, equal word by word where the words
 * that are numbers may differ by atol + rtol * |expected|. */
static gboolean lines_match(const SvLabComparator *c, const char *got, const char *want)
{
	if (!strcmp(got, want))
		return TRUE;
	if (c->exact || (c->rtol == 0 && c->atol == 0))
		return FALSE;
	g_auto(GStrv) g = g_strsplit_set(got, " \t", -1);
	g_auto(GStrv) w = g_strsplit_set(want, " \t", -1);
	if (g_strv_length(g) != g_strv_length(w))
		return FALSE;
	for (guint i = 0; g[i]; i++) {
		if (!strcmp(g[i], w[i]))
			continue;
		double a, b;
		if (!number_token(g[i], &a) || !number_token(w[i], &b))
			return FALSE;
		if (!(fabs(a - b) <= c->atol + c->rtol * fabs(b)))
			return FALSE;
	}
	return TRUE;
}

static char *excerpt(const char *line)
{
	g_autofree char *cut = g_utf8_make_valid(line, MIN(strlen(line), EXCERPT_MAX));
	return g_strescape(cut, NULL);
}

gboolean sv_lab_outputs_equivalent(const SvLabComparator *c, GBytes *a, GBytes *b, gboolean tail,
				   char **ret_detail)
{
	g_autoptr(GPtrArray) la = kept_lines(c, a);
	g_autoptr(GPtrArray) lb = kept_lines(c, b);
	if (tail && la->len > lb->len) {
		if (ret_detail)
			*ret_detail =
				g_strdup_printf("restored run printed %u lines, more than the "
						"whole reference run's %u",
						la->len, lb->len);
		return FALSE;
	}
	guint skip = tail ? lb->len - la->len : 0;
	for (guint i = 0; i < MAX(la->len, lb->len - skip); i++) {
		const char *ga = i < la->len ? g_ptr_array_index(la, i) : NULL;
		const char *wb = i + skip < lb->len ? g_ptr_array_index(lb, i + skip) : NULL;
		if (ga && wb && lines_match(c, ga, wb))
			continue;
		/* a restored run may start in the middle of a line the original had
		 * begun: its first line need only end the reference's */
		if (tail && i == 0 && ga && wb && g_str_has_suffix(wb, ga))
			continue;
		if (ret_detail) {
			g_autofree char *eg = ga ? excerpt(ga) : g_strdup("(end of output)");
			g_autofree char *ew = wb ? excerpt(wb) : g_strdup("(end of output)");
			*ret_detail = g_strdup_printf("line %u: got \"%s\", expected \"%s\"", i + 1,
						      eg, ew);
		}
		return FALSE;
	}
	return TRUE;
}

static gboolean bytes_tail_of(GBytes *tail, GBytes *whole)
{
	gsize tl = 0, wl = 0;
	const guint8 *t = tail ? g_bytes_get_data(tail, &tl) : NULL;
	const guint8 *w = whole ? g_bytes_get_data(whole, &wl) : NULL;
	return tl <= wl && (tl == 0 || !memcmp(w + wl - tl, t, tl));
}

static gboolean bytes_equal(GBytes *a, GBytes *b)
{
	gsize al = a ? g_bytes_get_size(a) : 0, bl = b ? g_bytes_get_size(b) : 0;
	return al == bl &&
	       (al == 0 || !memcmp(g_bytes_get_data(a, NULL), g_bytes_get_data(b, NULL), al));
}

void sv_lab_judge(const SvLabComparator *c, const SvLabRunOutput *refs, guint n_refs,
		  const SvLabRunOutput *original, const SvLabRunOutput *restored,
		  SvLabJudgement *ret)
{
	const SvLabRunOutput *ref = &refs[0];
	*ret = (SvLabJudgement){ 0 };
	ret->restored = restored->exit_code == ref->exit_code;
	gboolean refs_bitwise = TRUE;
	for (guint i = 1; i < n_refs; i++) {
		g_autofree char *why = NULL;
		if (refs[i].exit_code != ref->exit_code) {
			ret->verdict = SV_LAB_VERDICT_NONDETERMINISTIC;
			ret->detail = g_strdup_printf("reference run %u exited %d, run 1 exited %d",
						      i + 1, refs[i].exit_code, ref->exit_code);
			return;
		}
		if (bytes_equal(refs[i].out, ref->out))
			continue;
		refs_bitwise = FALSE;
		if (!sv_lab_outputs_equivalent(c, refs[i].out, ref->out, FALSE, &why)) {
			ret->verdict = SV_LAB_VERDICT_NONDETERMINISTIC;
			ret->detail = g_strdup_printf("reference run %u differs from run 1: %s",
						      i + 1, why);
			return;
		}
	}
	if (original->exit_code != ref->exit_code || !ret->restored) {
		ret->verdict = SV_LAB_VERDICT_DIFFERS;
		ret->detail = g_strdup_printf(
			"exit status: original run %d, restored run %d, reference %d",
			original->exit_code, restored->exit_code, ref->exit_code);
		return;
	}
	if (refs_bitwise && bytes_equal(original->out, ref->out) &&
	    bytes_tail_of(restored->out, ref->out)) {
		ret->verdict = SV_LAB_VERDICT_BITWISE;
		return;
	}
	g_autofree char *why = NULL;
	if (!sv_lab_outputs_equivalent(c, original->out, ref->out, FALSE, &why)) {
		ret->verdict = SV_LAB_VERDICT_DIFFERS;
		ret->detail = g_strdup_printf("original run (checkpointed, left running): %s", why);
		return;
	}
	if (!sv_lab_outputs_equivalent(c, restored->out, ref->out, TRUE, &why)) {
		ret->verdict = SV_LAB_VERDICT_DIFFERS;
		ret->detail = g_strdup_printf("restored run, against the reference's tail: %s",
					      why);
		return;
	}
	ret->verdict = SV_LAB_VERDICT_EQUIVALENT;
}
