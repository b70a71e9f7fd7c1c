/* SPDX-License-Identifier: MIT */
/*
 * pool.h - guests booted ahead of time and left idle, so that a restore
 * finds one up instead of waiting seconds for a boot (`snapvm pool`,
 * `snapvm restore --pool`).
 *
 * A pool guest is an ordinary snapvm VM, booted on the arch's image with
 * the restore kernel parameters and nothing to run, named
 * pool-ARCH-CPU-MEMm-SUFFIX (CPU "default" for the portable model). A
 * restore claims one by making a file in its VM dir with O_EXCL, so two
 * restores never take the same guest; it is then the restore's VM, stopped
 * when the process ends like any other. A guest is claimed only once
 * `pool start` has marked it ready (SV_POOL_READY_FILE): while it boots,
 * or while its standby restorer faults in its pool, it is "starting".
 */
#ifndef SNAPVM_POOL_H
#define SNAPVM_POOL_H

#include <glib.h>

#include "host/machine/machine.h"

#define SV_POOL_PREFIX "pool-"

/* A fresh name for a pool guest (cpu NULL: the portable default). */
char *sv_pool_vm_name(const char *arch, const char *cpu, guint memory_mib);

typedef struct SvPoolGuest {
	char *name;
	char *arch, *cpu; /* cpu "default": the portable model */
	guint memory_mib;
	gboolean claimed;
	gboolean ready; /* pool start is done with it (SV_POOL_READY_FILE) */
} SvPoolGuest;

/* In a pool guest's VM dir once `pool start` is done with it: booted, its
 * standby (if any) ready. Written last, atomically. */
#define SV_POOL_READY_FILE "pool-ready"

/* Marks pool guest m ready to be claimed. */
gboolean sv_pool_mark_ready(const SvMachine *m, GError **error);

/* A pool guest's record of the restorer its initrd holds (the SHA-256 of
 * sv_restore_restorer_sum), in its VM dir; restore sends none when it is
 * its own. */
#define SV_POOL_RESTORER_FILE "pool-restorer.sha256"

/* The pool guests there are (running or not), by name. */
GArray *sv_pool_list(GError **error);

/* Claims an idle pool guest of arch and cpu with at least min_memory_mib
 * (the smallest that fits), ready and running: opened; NULL and no error
 * when there is none. */
SvMachine *sv_pool_claim(const char *arch, const char *cpu, guint min_memory_mib, GError **error);

#endif
