/* SPDX-License-Identifier: MIT */
/*
 * lab-engine.h - how the units of a lab run get run: the local engine
 * (children of this process, up to -j at once) or Slurm (sbatch arrays).
 * Both run `snapvm lab exec` for every unit and phase, so a cell's result
 * does not depend on the engine; both skip units whose result is already
 * there for the same inputs (resume), and both cancel what is outstanding
 * on Ctrl-C, SIGTERM or SIGHUP and leave the results directory consistent.
 *
 * The tasks: every baseline; every cell's checkpoint phase (no
 * dependency); every cell's restore phase, after its checkpoint phase and
 * its baseline.
 */
#ifndef SNAPVM_LAB_ENGINE_H
#define SNAPVM_LAB_ENGINE_H

#include "host/lab/lab-exec.h"

typedef struct SvLabRunOptions {
	const char *results;
	gint jobs; /* local: cells at once */
	gboolean keep_snapshots;
	gboolean no_wait; /* slurm: submit and return */
	gboolean quiet;	  /* no progress lines */
} SvLabRunOptions;

/* Default -j: one TCG guest keeps about two host threads busy (the vCPU
 * and QEMU's I/O), so half the CPUs, at least one. */
gint sv_lab_default_jobs(void);

/* Runs every unit not already done. FALSE with SV_ERROR_INTERRUPTED after
 * a signal (what was running is stopped), or another error when the
 * engine itself failed; failed cells are results, not errors. */
gboolean sv_lab_engine_local(const SvLabRunOptions *o, GPtrArray *units, int interrupt_fd,
			     GError **error);
gboolean sv_lab_engine_slurm(const SvLabRunOptions *o, GPtrArray *units, int interrupt_fd,
			     GError **error);
/* For `lab status`: the Slurm jobs of a run submitted with --no-wait, one
 * line each ("JOBID STATE"), or NULL when the run was not on Slurm. */
char *sv_lab_slurm_status(const char *results, GError **error);

/* TRUE once a signal has come on interrupt_fd (a non-blocking signalfd;
 * -1: never). */
gboolean sv_lab_interrupted(int interrupt_fd);

/* The argv of `snapvm lab exec` for a unit and phase (for both engines). */
char **sv_lab_exec_argv(const SvLabRunOptions *o, const char *id, SvLabPhase phase);
const char *sv_lab_phase_name(SvLabPhase phase);

#endif
