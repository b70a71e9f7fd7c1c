/* SPDX-License-Identifier: MIT */
/*
 * cpu-check.c - the guest CPU model against the snapshot's FPU/SIMD state,
 * before any guest boots (see cpu-check.h). Finding out in the guest costs
 * a whole boot (3-20 s under TCG); asking QEMU costs about 60 ms.
 */
#include "host/restore/cpu-check.h"

#include <string.h>

#include "snapvm/snapshot-format.h"
#include "base/errors.h"
#include "host/machine/machine.h"

static gboolean model_has(const SvCpuModelFeatures *model, const SvCpuNeed *need)
{
	for (const char *const *p = need->props; *p; p++)
		if (!model->known || !g_hash_table_contains(model->on, *p))
			return FALSE;
	return TRUE;
}

GPtrArray *sv_cpu_needs_missing(const GPtrArray *needs, const SvCpuModelFeatures *model)
{
	GPtrArray *missing = g_ptr_array_new();
	for (guint i = 0; i < needs->len; i++) {
		const SvCpuNeed *need = g_ptr_array_index(needs, i);
		if (!model_has(model, need))
			g_ptr_array_add(missing, (gpointer)need);
	}
	return missing;
}

static gboolean has_all(const GPtrArray *needs, const SvCpuModelFeatures *model)
{
	g_autoptr(GPtrArray) missing = sv_cpu_needs_missing(needs, model);
	return missing->len == 0;
}

gboolean sv_cpu_check_needs(const GPtrArray *needs, const SvCpuModelFeatures *chosen,
			    gboolean chosen_is_default, const SvCpuModelFeatures *dflt,
			    const SvCpuModelFeatures *max, GError **error)
{
	if (!chosen->known) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "QEMU cannot give the guest CPU model '%s': %s", chosen->model,
			    chosen->error ? chosen->error : "unknown model");
		return FALSE;
	}
	g_autoptr(GPtrArray) missing = sv_cpu_needs_missing(needs, chosen);
	if (missing->len == 0)
		return TRUE;
	g_autoptr(GString) what = g_string_new(NULL);
	for (guint i = 0; i < missing->len; i++) {
		const SvCpuNeed *need = g_ptr_array_index(missing, i);
		g_string_append_printf(what, "%s%s", i ? ", " : "", need->what);
	}
	const char *them = missing->len > 1 ? "them" : "it";
	g_autoptr(GString) msg = g_string_new(NULL);
	g_string_printf(msg,
			"the snapshot's FPU/SIMD state uses %s, which %sCPU model %s lacks "
			"under QEMU's TCG: ",
			what->str, chosen_is_default ? "the default " : "", chosen->model);
	gboolean dflt_ok = !chosen_is_default && dflt && has_all(needs, dflt);
	gboolean max_ok = max && g_strcmp0(chosen->model, max->model) && has_all(needs, max);
	if (dflt_ok || max_ok) {
		g_string_append_printf(msg, "pick a CPU model with %s, e.g. ", them);
		if (dflt_ok)
			g_string_append_printf(msg, "%s (the default: omit --cpu)", dflt->model);
		if (dflt_ok && max_ok)
			g_string_append(msg, " or ");
		if (max_ok)
			g_string_append_printf(msg, "--cpu %s", max->model);
	} else {
		g_string_append_printf(msg, "no CPU model QEMU's TCG emulates here has %s%s", them,
				       max ? " (not even max)" : "");
	}
	g_set_error_literal(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT, msg->str);
	return FALSE;
}

/* The FPU section's size and features, as the reader validated them. */
static gboolean snapshot_fpu(SvSnapshotReader *r, gsize *ret_size, guint64 *ret_features,
			     GError **error)
{
	g_autoptr(GVariant) fpu = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_FPU);
	if (!fpu || !g_variant_is_of_type(fpu, G_VARIANT_TYPE("(uta{sv}ay)"))) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "the snapshot has no FPU state");
		return FALSE;
	}
	g_autoptr(GVariant) raw = g_variant_get_child_value(fpu, 3);
	g_variant_get_child(fpu, 1, "t", ret_features);
	*ret_size = g_variant_get_size(raw);
	return TRUE;
}

gboolean sv_restore_check_cpu(SvSnapshotReader *r, const SvArchOps *arch, const char *cpu_model,
			      char **ret_skipped, GError **error)
{
	*ret_skipped = NULL;
	gsize size;
	guint64 features;
	g_autoptr(GPtrArray) needs = g_ptr_array_new();
	if (!snapshot_fpu(r, &size, &features, error) ||
	    !sv_arch_fpu_cpu_needs(arch, features, size, needs, error))
		return FALSE;
	const char *dflt = arch->qemu->default_cpu;
	gboolean is_default = !cpu_model || !g_strcmp0(cpu_model, dflt);
	const char *models[] = { is_default ? dflt : cpu_model, dflt, SV_CPU_MAX, NULL };
	g_autoptr(GError) local = NULL;
	g_autoptr(GPtrArray) found = sv_qemu_cpu_probe(arch, models, &local);
	if (!found) {
		*ret_skipped = g_strdup_printf("the CPU model was not checked before boot (%s)",
					       local->message);
		return TRUE;
	}
	/* The default model is started with some features switched off
	 * (SvQemuBoard.default_cpu_disabled). */
	for (guint i = 0; i < 2; i++) {
		SvCpuModelFeatures *m = g_ptr_array_index(found, i);
		for (const char *const *f = arch->qemu->default_cpu_disabled;
		     m->on && !strcmp(m->model, dflt) && f && *f; f++)
			g_hash_table_remove(m->on, *f);
	}
	return sv_cpu_check_needs(needs, g_ptr_array_index(found, 0), is_default,
				  g_ptr_array_index(found, 1), g_ptr_array_index(found, 2), error);
}
