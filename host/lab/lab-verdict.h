/* SPDX-License-Identifier: MIT */
/*
 * lab-verdict.h - how a lab cell is judged, from what its runs printed.
 *
 * A cell has the baseline's uninterrupted reference runs, the original run
 * (checkpointed with --leave-running, so it prints everything) and the
 * restored run (which prints what came after the checkpoint). Verdicts:
 *   bitwise        the original prints exactly a reference's bytes, the
 *                  restored run exactly the reference's tail, same exit status
 *   equivalent     the same under the manifest's comparator (lines ignored by
 *                  regex, numbers within rtol/atol)
 *   differs        neither; detail holds the first difference
 *   nondeterministic-baseline  the reference runs do not agree with each
 *                  other (under the comparator), so nothing can be judged
 *   failed         a run did not happen (set by the caller, with the reason)
 * and separately `restored`: the restored run resumed and exited as the
 * references did.
 */
#ifndef SNAPVM_LAB_VERDICT_H
#define SNAPVM_LAB_VERDICT_H

#include "host/lab/lab-manifest.h"

typedef enum {
	SV_LAB_VERDICT_BITWISE,
	SV_LAB_VERDICT_EQUIVALENT,
	SV_LAB_VERDICT_DIFFERS,
	SV_LAB_VERDICT_NONDETERMINISTIC,
	SV_LAB_VERDICT_FAILED,
	SV_LAB_VERDICT_COUNT,
} SvLabVerdict;

const char *sv_lab_verdict_name(SvLabVerdict v);
/* SV_LAB_VERDICT_COUNT when name is none. */
SvLabVerdict sv_lab_verdict_from_name(const char *name);

/* One run's result: what it printed and its exit status (code, 128+sig). */
typedef struct SvLabRunOutput {
	GBytes *out;
	int exit_code;
} SvLabRunOutput;

typedef struct SvLabJudgement {
	SvLabVerdict verdict;
	gboolean restored;
	char *detail; /* the first difference, or why nondeterministic */
} SvLabJudgement;

void sv_lab_judgement_clear(SvLabJudgement *j);

/* a and b equal under c; else FALSE with *ret_detail (may be NULL) saying
 * at which line and how. With tail, a need only match b's last lines (a is
 * what a restored run printed, b a whole run). */
gboolean sv_lab_outputs_equivalent(const SvLabComparator *c, GBytes *a, GBytes *b, gboolean tail,
				   char **ret_detail);

/* Judges a cell. refs: n_refs reference runs (>= 1). */
void sv_lab_judge(const SvLabComparator *c, const SvLabRunOutput *refs, guint n_refs,
		  const SvLabRunOutput *original, const SvLabRunOutput *restored,
		  SvLabJudgement *ret);

#endif
