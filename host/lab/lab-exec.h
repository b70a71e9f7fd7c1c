/* SPDX-License-Identifier: MIT */
/*
 * lab-exec.h - runs one unit of a lab (a baseline or a cell) and records
 * its result in the results directory. Both engines end here: the local
 * engine runs `snapvm lab exec` children, a Slurm job runs the same command
 * on a node.
 *
 * A cell has two phases, which Slurm runs as two dependent jobs:
 *   checkpoint  `snapvm run` the workload, `snapvm checkpoint --leave-running`
 *               at the point, let the original finish (checkpoint.json)
 *   restore     `snapvm restore` the snapshot, compare against the baseline,
 *               write the verdict (result.json)
 * A unit that fails records verdict "failed" with the reason and its logs;
 * only a results directory that cannot be written is an error here.
 */
#ifndef SNAPVM_LAB_EXEC_H
#define SNAPVM_LAB_EXEC_H

#include "host/lab/lab-manifest.h"
#include "host/lab/lab-matrix.h"

typedef enum {
	SV_LAB_PHASE_ALL,
	SV_LAB_PHASE_CHECKPOINT,
	SV_LAB_PHASE_RESTORE,
} SvLabPhase;

typedef struct SvLabExecContext {
	const char *results;
	const SvLabManifest *manifest;
	gboolean keep_snapshots;
} SvLabExecContext;

gboolean sv_lab_exec_unit(const SvLabExecContext *ctx, const SvLabUnit *u, SvLabPhase phase,
			  GError **error);

#endif
