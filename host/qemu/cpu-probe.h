/* SPDX-License-Identifier: MIT */
/*
 * cpu-probe.h - what CPU features QEMU's TCG gives a CPU model, asked
 * without booting a guest: `qemu-system-<arch> -M none -accel tcg` with QMP
 * on stdio answers query-cpu-model-expansion (the model's properties) and
 * query-cpu-definitions (the features TCG cannot give a model, which QEMU
 * drops with a warning when the guest starts). About 60 ms a run here, so
 * nothing is cached.
 */
#ifndef SNAPVM_QEMU_CPU_PROBE_H
#define SNAPVM_QEMU_CPU_PROBE_H

#include <glib.h>

#include "snapvm/arch.h"

typedef struct SvCpuModelFeatures {
	char *model;
	gboolean known; /* QEMU expanded it (else error says why not) */
	char *error;	/* QEMU's own words when it could not */
	GHashTable *on; /* property names that are on and that TCG can give (a set) */
} SvCpuModelFeatures;
void sv_cpu_model_features_free(SvCpuModelFeatures *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvCpuModelFeatures, sv_cpu_model_features_free)

/* The QMP commands that ask about models (NULL-terminated), one a line. */
char *sv_qemu_cpu_probe_script(const char *const *models);
/* Reads QEMU's answer to that script (pure: unit-tested). Returns one
 * SvCpuModelFeatures per model, in order (the array frees them). */
GPtrArray *sv_qemu_cpu_probe_parse(const char *transcript, const char *const *models,
				   GError **error);
/* Runs arch's QEMU on the script (10 s at most) and parses its answer. */
GPtrArray *sv_qemu_cpu_probe(const SvArchOps *arch, const char *const *models, GError **error);

#endif
