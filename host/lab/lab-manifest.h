/* SPDX-License-Identifier: MIT */
/*
 * lab-manifest.h - a `snapvm lab` experiment as read from its JSON manifest
 * (docs/lab.md, docs/lab-manifest.schema.json), validated on load: every
 * error names the JSON path of the bad key ("$.workloads[1].program") and
 * what was expected there.
 */
#ifndef SNAPVM_LAB_MANIFEST_H
#define SNAPVM_LAB_MANIFEST_H

#include <glib.h>

/* How many uninterrupted runs a workload gets when the manifest does not
 * say: two, so a nondeterministic program shows as such. */
#define SV_LAB_REFERENCE_RUNS_DEFAULT 2
/* A workload run that lasts longer than this (seconds) is ended and fails. */
#define SV_LAB_TIMEOUT_DEFAULT 600

typedef struct SvLabWorkload {
	char *name;
	/* arch -> absolute host path of its static binary; one entry "*" when
	 * the manifest gave one path for every arch */
	GHashTable *programs;
	char *image; /* with command: a workload from a guest image */
	char **command;
	char **args;
	char **env; /* "KEY=VALUE" */
	char **copy_in;
	char **outputs;
	double timeout_s;
} SvLabWorkload;

typedef enum {
	SV_LAB_POINT_SECONDS, /* seconds after the process started */
	SV_LAB_POINT_LINES,   /* once this many lines of output have appeared */
} SvLabPointKind;

typedef struct SvLabPoint {
	SvLabPointKind kind;
	double seconds;
	gint64 lines;
} SvLabPoint;

typedef struct SvLabTarget {
	gboolean same;
	char *arch;  /* NULL: the cell's */
	char *accel; /* NULL: the cell's */
} SvLabTarget;

/* How one output ("stdout" or a declared output) is compared. */
typedef struct SvLabComparator {
	char *output;
	gboolean exact;
	char **ignore;	      /* regexes: matching lines are left out on both sides */
	GPtrArray *ignore_re; /* of GRegex, compiled from ignore */
	double rtol, atol;
} SvLabComparator;

/* An exclusion: a cell matching every given key is skipped. */
typedef struct SvLabExclude {
	char *workload, *arch, *accel;
	char *point;  /* sv_lab_point_label(), or NULL */
	char *target; /* sv_lab_target_label(), or NULL */
} SvLabExclude;

typedef struct SvLabManifest {
	char *path;   /* as given */
	char *dir;    /* relative program paths are relative to this */
	char *sha256; /* of the file's bytes */
	char *experiment;
	GPtrArray *workloads; /* SvLabWorkload */
	char **arches;
	char **accels;
	GArray *points;	     /* SvLabPoint */
	GPtrArray *targets;  /* SvLabTarget */
	GPtrArray *excludes; /* SvLabExclude */
	GPtrArray *compare;  /* SvLabComparator */
	gint reference_runs;
} SvLabManifest;

void sv_lab_manifest_free(SvLabManifest *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvLabManifest, sv_lab_manifest_free)

/* Parses and validates a manifest; dir resolves relative program paths
 * (NULL: the current directory). path is only remembered. */
SvLabManifest *sv_lab_manifest_parse(const char *json, gsize len, const char *path, const char *dir,
				     GError **error);
/* Reads path and parses it, relative paths resolved against its folder. */
SvLabManifest *sv_lab_manifest_load(const char *path, GError **error);

/* The comparator for output (or the exact default). */
const SvLabComparator *sv_lab_manifest_comparator(const SvLabManifest *m, const char *output);
/* The workload's binary for arch, or NULL when it has none. */
const char *sv_lab_workload_program(const SvLabWorkload *w, const char *arch);

/* Short stable names used in cell ids and exclusions: "2s", "1.5s",
 * "lines5"; "same", "x86_64-tcg". */
char *sv_lab_point_label(const SvLabPoint *p);
char *sv_lab_target_label(const SvLabTarget *t);

#endif
