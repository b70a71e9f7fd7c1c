/* SPDX-License-Identifier: MIT */
/*
 * lab-matrix.h - a manifest expanded into the units of work of a lab run:
 * one baseline per (workload, arch, accel) - its uninterrupted reference
 * runs, which every cell of that triple compares against - and one cell per
 * (workload, arch, accel, checkpoint point, restore target) not excluded.
 * Each unit has an id (its folder under RESULTS/cells/) and a hash of
 * everything that decides its result, which is how a rerun knows what it
 * may skip.
 */
#ifndef SNAPVM_LAB_MATRIX_H
#define SNAPVM_LAB_MATRIX_H

#include "host/lab/lab-manifest.h"

typedef enum {
	SV_LAB_UNIT_BASELINE,
	SV_LAB_UNIT_CELL,
} SvLabUnitKind;

typedef struct SvLabUnit {
	SvLabUnitKind kind;
	char *id;
	const SvLabWorkload *workload; /* points into the manifest */
	char *arch, *accel;
	char *program; /* host path of the binary for arch */
	char *program_sha256;
	char *image_sha256; /* of the workload's root filesystem image, if any */
	/* cells only */
	SvLabPoint point;
	char *point_label, *target_label;
	char *restore_accel; /* what `restore --accel` gets */
	char *baseline_id;
	char *input_hash; /* sha256 hex */
} SvLabUnit;

void sv_lab_unit_free(SvLabUnit *u);

/* Every unit of m, baselines first, in a stable order; an error naming the
 * manifest path when a cell cannot be run by this snapvm (no binary for an
 * arch, a workload kind this build lacks, a restore on another arch). */
GPtrArray *sv_lab_matrix_expand(const SvLabManifest *m, GError **error);
/* The unit called id in units, or NULL. */
const SvLabUnit *sv_lab_matrix_find(GPtrArray *units, const char *id);

#endif
