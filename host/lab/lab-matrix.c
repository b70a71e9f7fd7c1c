/* SPDX-License-Identifier: MIT */
/*
 * lab-matrix.c - expands a manifest into baselines and cells (lab-matrix.h).
 * The input hash covers what decides a unit's result and nothing else: the
 * binary's bytes (not its path's timestamp) or the root filesystem image's
 * sha256 and the command, arguments, environment, the bytes of the files
 * copied in, the outputs, arch, accelerator,
 * point, target, how outputs are compared, the number of reference runs, the
 * baseline it compares against, and snapvm's version.
 */
#include "host/lab/lab-matrix.h"

#include <string.h>

#include "base/errors.h"
#include "host/image/rootfs.h"

void sv_lab_unit_free(SvLabUnit *u)
{
	if (!u)
		return;
	g_free(u->id);
	g_free(u->arch);
	g_free(u->accel);
	g_free(u->program);
	g_free(u->program_sha256);
	g_free(u->image_sha256);
	g_free(u->point_label);
	g_free(u->target_label);
	g_free(u->restore_accel);
	g_free(u->baseline_id);
	g_free(u->input_hash);
	g_free(u);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvLabUnit, sv_lab_unit_free)

static char *file_sha256(const char *path, GError **error)
{
	g_autoptr(GMappedFile) f = g_mapped_file_new(path, FALSE, error);
	if (!f)
		return NULL;
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256,
					   (const guchar *)g_mapped_file_get_contents(f),
					   g_mapped_file_get_length(f));
}

static void hash_str(GChecksum *c, const char *key, const char *value)
{
	/* key=value\0: no two different inputs hash the same bytes */
	g_checksum_update(c, (const guchar *)key, -1);
	g_checksum_update(c, (const guchar *)"=", 1);
	g_checksum_update(c, (const guchar *)(value ? value : "(none)"), -1);
	g_checksum_update(c, (const guchar *)"", 1);
}

static void hash_strv(GChecksum *c, const char *key, char **v)
{
	for (guint i = 0; v && v[i]; i++) {
		g_autofree char *k = g_strdup_printf("%s[%u]", key, i);
		hash_str(c, k, v[i]);
	}
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under path (or path itself), in a stable order, by
 * its place under path and its bytes. */
static gboolean hash_tree(GChecksum *c, const char *path, const char *rel, guint depth,
			  GError **error)
{
	if (depth > 32) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA, "%s: nested too deep", path);
		return FALSE;
	}
	if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_autofree char *sha = file_sha256(path, error);
		if (!sha)
			return FALSE;
		hash_str(c, rel, sha);
		return TRUE;
	}
	g_autoptr(GDir) d = g_dir_open(path, 0, error);
	if (!d)
		return FALSE;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	for (const char *n; (n = g_dir_read_name(d));)
		g_ptr_array_add(names, g_strdup(n));
	g_ptr_array_sort(names, compare_names);
	for (guint i = 0; i < names->len; i++) {
		g_autofree char *p = g_build_filename(path, names->pdata[i], NULL);
		g_autofree char *r = g_build_filename(rel, names->pdata[i], NULL);
		if (!hash_tree(c, p, r, depth + 1, error))
			return FALSE;
	}
	return TRUE;
}

/* The files copied in: their guest places and bytes, not their host paths. */
static gboolean hash_copy_in(GChecksum *c, const SvLabWorkload *w, guint wi, GError **error)
{
	for (guint i = 0; w->copy_in && w->copy_in[i]; i++) {
		const char *colon = strrchr(w->copy_in[i], ':');
		g_autofree char *host = colon ? g_strndup(w->copy_in[i], colon - w->copy_in[i])
					      : g_strdup(w->copy_in[i]);
		g_autofree char *base = g_path_get_basename(host);
		g_autofree char *key = g_strdup_printf("copy_in[%u]:%s", i,
						       colon && colon[1] ? colon + 1 : base);
		g_autoptr(GError) e = NULL;
		if (!hash_tree(c, host, key, 0, &e)) {
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
				    "manifest $.workloads[%u].copy_in[%u]: %s", wi, i, e->message);
			return FALSE;
		}
	}
	return TRUE;
}

static void hash_comparator(GChecksum *c, const SvLabComparator *cmp)
{
	char buf[2][G_ASCII_DTOSTR_BUF_SIZE];
	hash_str(c, "compare", cmp->output);
	hash_str(c, "exact", cmp->exact ? "1" : "0");
	hash_strv(c, "ignore", cmp->ignore);
	hash_str(c, "rtol", g_ascii_dtostr(buf[0], sizeof(buf[0]), cmp->rtol));
	hash_str(c, "atol", g_ascii_dtostr(buf[1], sizeof(buf[1]), cmp->atol));
}

static void hash_run_inputs(GChecksum *c, const SvLabManifest *m, const SvLabUnit *u)
{
	const SvLabWorkload *w = u->workload;
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	hash_str(c, "snapvm", SNAPVM_VERSION);
	hash_str(c, "workload", w->name);
	hash_str(c, "program_sha256", u->program_sha256);
	hash_str(c, "image_sha256", u->image_sha256);
	hash_strv(c, "command", w->command);
	hash_strv(c, "args", w->args);
	hash_strv(c, "env", w->env);
	hash_strv(c, "outputs", w->outputs);
	hash_str(c, "timeout", g_ascii_dtostr(buf, sizeof(buf), w->timeout_s));
	hash_str(c, "arch", u->arch);
	hash_str(c, "accel", u->accel);
	g_autofree char *runs = g_strdup_printf("%d", m->reference_runs);
	hash_str(c, "reference_runs", runs);
}

static SvLabUnit *new_unit(SvLabUnitKind kind, const SvLabWorkload *w, const char *arch,
			   const char *accel, const char *program, const char *sha)
{
	SvLabUnit *u = g_new0(SvLabUnit, 1);
	u->kind = kind;
	u->workload = w;
	u->arch = g_strdup(arch);
	u->accel = g_strdup(accel);
	u->program = g_strdup(program);
	u->program_sha256 = g_strdup(sha);
	return u;
}

static gboolean excluded(const SvLabManifest *m, const SvLabUnit *u)
{
	for (guint i = 0; i < m->excludes->len; i++) {
		const SvLabExclude *x = g_ptr_array_index(m->excludes, i);
		if ((!x->workload || !strcmp(x->workload, u->workload->name)) &&
		    (!x->arch || !strcmp(x->arch, u->arch)) &&
		    (!x->accel || !strcmp(x->accel, u->accel)) &&
		    (!x->point || !strcmp(x->point, u->point_label)) &&
		    (!x->target || !strcmp(x->target, u->target_label)))
			return TRUE;
	}
	return FALSE;
}

static gboolean all_cells_excluded(const SvLabManifest *m, const SvLabUnit *base)
{
	SvLabUnit probe = *base; /* shallow: only the labels are set here */
	for (guint p = 0; p < m->points->len; p++)
		for (guint t = 0; t < m->targets->len; t++) {
			g_autofree char *pl = sv_lab_point_label(&g_array_index(m->points,
										SvLabPoint, p));
			g_autofree char *tl = sv_lab_target_label(g_ptr_array_index(m->targets, t));
			probe.point_label = pl;
			probe.target_label = tl;
			if (!excluded(m, &probe))
				return FALSE;
		}
	return TRUE;
}

/* An image workload's image must exist and be for the arch: refused before
 * anything boots, saying how to build it. */
static SvRootfs *open_image(const SvLabWorkload *w, guint wi, const char *arch, GError **error)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(SvRootfs) r = sv_rootfs_open(w->image, &e);
	if (!r) {
		/* its message lists the images there are and how to build one */
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "manifest $.workloads[%u].image: %s", wi, e->message);
		return NULL;
	}
	if (strcmp(r->arch, arch)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "manifest $.workloads[%u].image: '%s' is an %s image and $.matrix.arch "
			    "lists %s (build one for %s, or exclude {\"workload\": \"%s\", "
			    "\"arch\": \"%s\"})",
			    wi, w->image, r->arch, arch, arch, w->name, arch);
		return NULL;
	}
	return g_steal_pointer(&r);
}

/* The cells of one baseline, one per point and target not excluded. */
static gboolean add_cells(const SvLabManifest *m, const SvLabUnit *base, GPtrArray *units,
			  GError **error)
{
	for (guint p = 0; p < m->points->len; p++) {
		for (guint t = 0; t < m->targets->len; t++) {
			const SvLabTarget *tg = g_ptr_array_index(m->targets, t);
			g_autoptr(SvLabUnit)
				u = new_unit(SV_LAB_UNIT_CELL, base->workload, base->arch,
					     base->accel, base->program, base->program_sha256);
			u->image_sha256 = g_strdup(base->image_sha256);
			u->point = g_array_index(m->points, SvLabPoint, p);
			u->point_label = sv_lab_point_label(&u->point);
			u->target_label = sv_lab_target_label(tg);
			if (excluded(m, u))
				continue;
			if (!tg->same && tg->arch && strcmp(tg->arch, u->arch)) {
				/* a snapshot is not translated between ISAs */
				g_autofree char *accel =
					tg->accel
						? g_strdup_printf(", \"accel\": \"%s\"", tg->accel)
						: g_strdup("");
				g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
					    "manifest $.matrix.restore_on[%u]: a %s process cannot "
					    "be restored on %s: its registers and memory are %s's "
					    "(its machine code, the register file it was stopped "
					    "with, the system call it may be in), which a %s CPU "
					    "cannot run; restore_on may change the accelerator, not "
					    "the arch. Restore %s cells on %s, or leave them out: "
					    "\"exclude\": [{\"arch\": \"%s\", \"restore_on\": "
					    "{\"arch\": \"%s\"%s}}]",
					    t, u->arch, tg->arch, u->arch, tg->arch, u->arch,
					    u->arch, u->arch, tg->arch, accel);
				return FALSE;
			}
			const char *accel = tg->same || !tg->accel ? u->accel : tg->accel;
			u->restore_accel = g_strdup(!strcmp(accel, "kvm") ? "auto" : accel);
			u->baseline_id = g_strdup(base->id);
			u->id = g_strdup_printf("%s-%s-%s-%s-%s", u->workload->name, u->arch,
						u->accel, u->point_label, u->target_label);
			g_autoptr(GChecksum) c = g_checksum_new(G_CHECKSUM_SHA256);
			hash_run_inputs(c, m, u);
			hash_str(c, "point", u->point_label);
			hash_str(c, "target", u->target_label);
			hash_str(c, "restore_accel", u->restore_accel);
			hash_str(c, "baseline", base->input_hash);
			hash_comparator(c, sv_lab_manifest_comparator(m, "stdout"));
			for (guint o = 0; u->workload->outputs && u->workload->outputs[o]; o++)
				hash_comparator(c,
						sv_lab_manifest_comparator(m,
									   u->workload->outputs[o]));
			u->input_hash = g_strdup(g_checksum_get_string(c));
			g_ptr_array_add(units, g_steal_pointer(&u));
		}
	}
	return TRUE;
}

GPtrArray *sv_lab_matrix_expand(const SvLabManifest *m, GError **error)
{
	g_autoptr(GPtrArray)
		bases = g_ptr_array_new_with_free_func((GDestroyNotify)sv_lab_unit_free);
	g_autoptr(GPtrArray)
		cells = g_ptr_array_new_with_free_func((GDestroyNotify)sv_lab_unit_free);
	for (guint wi = 0; wi < m->workloads->len; wi++) {
		const SvLabWorkload *w = g_ptr_array_index(m->workloads, wi);
		for (guint a = 0; m->arches[a]; a++) {
			const char *program = sv_lab_workload_program(w, m->arches[a]);
			for (guint x = 0; m->accels[x]; x++) {
				g_autoptr(SvLabUnit)
					base = new_unit(SV_LAB_UNIT_BASELINE, w, m->arches[a],
							m->accels[x], program, NULL);
				guint before = cells->len;
				base->id = g_strdup_printf("ref-%s-%s-%s", w->name, base->arch,
							   base->accel);
				if (w->image && all_cells_excluded(m, base))
					continue;
				if (w->image) {
					g_autoptr(SvRootfs)
						r = open_image(w, wi, base->arch, error);
					if (!r)
						return NULL;
					base->image_sha256 = g_strdup(r->image_sha256);
				}
				/* no binary is fine when exclusions leave the pair no cell */
				if (!program && !w->image) {
					if (all_cells_excluded(m, base))
						continue;
					g_set_error(
						error, SV_ERROR, SV_ERROR_INVALID_DATA,
						"manifest $.workloads[%u].program: no binary for %s, "
						"which $.matrix.arch lists (add one, or exclude "
						"{\"workload\": \"%s\", \"arch\": \"%s\"})",
						wi, base->arch, w->name, base->arch);
					return NULL;
				}
				g_autoptr(GError) sha_error = NULL;
				if (program)
					base->program_sha256 = file_sha256(program, &sha_error);
				if (program && !base->program_sha256) {
					g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
						    "manifest $.workloads[%u].program: %s", wi,
						    sha_error->message);
					return NULL;
				}
				g_autoptr(GChecksum) c = g_checksum_new(G_CHECKSUM_SHA256);
				hash_run_inputs(c, m, base);
				if (!hash_copy_in(c, w, wi, error))
					return NULL;
				base->input_hash = g_strdup(g_checksum_get_string(c));
				if (!add_cells(m, base, cells, error))
					return NULL;
				if (cells->len > before)
					g_ptr_array_add(bases, g_steal_pointer(&base));
			}
		}
	}
	g_ptr_array_extend_and_steal(bases, g_steal_pointer(&cells));
	return g_steal_pointer(&bases);
}

const SvLabUnit *sv_lab_matrix_find(GPtrArray *units, const char *id)
{
	for (guint i = 0; i < units->len; i++) {
		const SvLabUnit *u = g_ptr_array_index(units, i);
		if (!strcmp(u->id, id))
			return u;
	}
	return NULL;
}
