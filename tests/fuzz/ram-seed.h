/* SPDX-License-Identifier: MIT */
/*
 * ram-seed.h - a real guest's RAM saved for fuzzing introspection: a
 * directory holding `ram` (the RAM backing file as the board lays it out)
 * and `seed.ini` (arch, the image the guest booted, its RAM regions and the
 * pid of a workload worth checkpointing). make-ram-seed.sh makes one from a
 * fresh x86_64 guest; fuzz-introspect and the replay test read it.
 */
#ifndef SNAPVM_RAM_SEED_H
#define SNAPVM_RAM_SEED_H

#include <glib.h>

#include "snapvm/arch.h"
#include "base/guest-mem.h"
#include "host/introspect/introspect.h"

typedef struct SvRamSeed {
	const SvArchOps *arch;
	char *image_dir;
	char *ram_path;
	guint32 pid;
	SvRamRegion regions[SV_RAM_REGIONS_MAX];
	guint n_regions;
} SvRamSeed;

/* Writes dir/ram and dir/seed.ini from the paused guest's RAM. */
gboolean sv_ram_seed_save(const char *dir, const SvArchOps *arch, const char *image_dir,
			  guint32 pid, const SvGuestMem *mem, const SvRamRegion *regions,
			  guint n_regions, GError **error);
SvRamSeed *sv_ram_seed_load(const char *dir, GError **error);
/* Copies the seed's RAM into a memfd and opens guest memory on it; *ret_ram
 * is a writable shared mapping of the same memfd (*ret_size bytes, laid out
 * as the RAM file), so writes there are what the guest-mem then reads. */
SvGuestMem *sv_ram_seed_open_writable(const SvRamSeed *seed, guint8 **ret_ram, gsize *ret_size,
				      GError **error);
/* The RAM file offset of [gpa, gpa+len), or -1 when it is not in one region. */
gint64 sv_ram_seed_offset(const SvRamSeed *seed, guint64 gpa, gsize len);
void sv_ram_seed_free(SvRamSeed *seed);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvRamSeed, sv_ram_seed_free)

/*
 * Everything snapvm reads of a paused guest, for pid: the process list,
 * the task lookup, the checkpoint capture (registers, FPU, TLS, task and mm
 * fields, signals, VMAs with paths, every page), and on their own the VMAs
 * and saved user registers. Each step must return success or a GError;
 * returns how many steps succeeded. Messages of failed steps go to log if
 * given.
 */
guint sv_ram_seed_exercise(const SvIntrospect *in, const SvGuestMem *mem, guint32 pid,
			   GString *log);

#endif
