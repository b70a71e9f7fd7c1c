/* SPDX-License-Identifier: MIT */
/*
 * pool-base.h - a saved base: the whole state of an idle pool guest
 * (booted, its standby restorer ready with its memory pre-faulted), saved
 * once by `snapvm pool save` into the cache, and loaded by `snapvm
 * restore --base` when no pool guest is up: a pool guest in the time it
 * takes to load the state, not to boot.
 *
 * A base is only good for the guest it was saved from, so it is filed
 * under a key made of everything that guest depends on (SvPoolBaseSpec):
 * a base whose key differs is never loaded (a new one is made). Its memory
 * is not in the key: a restore takes the smallest base with enough.
 *
 *   $SNAPVM_CACHE_DIR/bases/ARCH-CPU-MEMm-KEY/
 *     base.ini     the key's text, the pool guest's records (its standby,
 *                  its restorer), sizes and times
 *     state.sav    the backend's saved state (libvirt's save image)
 *     initrd.cpio  the initrd the guest booted (QEMU opens it again on
 *                  load; its contents are in the saved RAM already)
 *
 * A base is made in a hidden directory beside it and renamed into place
 * whole, so a reader sees a complete base or none.
 */
#ifndef SNAPVM_POOL_BASE_H
#define SNAPVM_POOL_BASE_H

#include <glib.h>

#include "host/machine/machine.h"

/* Everything a saved guest depends on besides its memory size (its
 * standby's pool follows from that: `pool start`'s default). */
typedef struct SvPoolBaseSpec {
	const char *arch;
	const char *cpu;	  /* NULL: the portable default */
	const char *accel;	  /* what the machine was asked to run on */
	const char *image_sha256; /* the guest image: kernel, initramfs, agent */
	const char *cmdline;	  /* the pool guest's own kernel parameters */
	const char *clock;	  /* the board's host-measured clock parameters, or NULL */
	const char *backend;	  /* sv_machine_saved_state_identity: QEMU's and libvirt's */
	const char *restorer;	  /* SHA-256 of the restorer in the guest's initrd */
} SvPoolBaseSpec;

/* The key's text (one "name=value" line each) and its short hash (16 hex
 * digits), which names the base. Host-measured numbers in spec->clock of 5
 * digits or more are rounded to thousands: a TSC measured in kHz varies
 * by a few kHz from one measurement to the next, a different host by
 * much more. */
char *sv_pool_base_key_text(const SvPoolBaseSpec *spec);
char *sv_pool_base_key(const SvPoolBaseSpec *spec);

/* The directory name of a base: ARCH-CPU-MEMm-KEY. */
char *sv_pool_base_name(const SvPoolBaseSpec *spec, guint memory_mib);
/* Parses a base's directory name made for spec: its memory, FALSE if the
 * name is not one of spec's (another key, arch or CPU model). */
gboolean sv_pool_base_name_parse(const SvPoolBaseSpec *spec, const char *name,
				 guint *ret_memory_mib);

/* The name of the VM a base is saved from, and which every load of it
 * runs as: base-ARCH-CPU-MEMm-RANDOM (no pool- name: never claimed by
 * restore --pool). */
char *sv_pool_base_vm_name(const SvPoolBaseSpec *spec, guint memory_mib);

/* Where bases live: $SNAPVM_CACHE_DIR/bases. */
char *sv_pool_base_root(void);

#define SV_POOL_BASE_INFO "base.ini"
#define SV_POOL_BASE_STATE "state.sav"
#define SV_POOL_BASE_INITRD "initrd.cpio"

/* The smallest complete base of spec with at least min_memory_mib, its
 * directory in *ret_dir and its memory in *ret_memory_mib; FALSE when there
 * is none. */
gboolean sv_pool_base_find(const SvPoolBaseSpec *spec, guint min_memory_mib, char **ret_dir,
			   guint *ret_memory_mib);

/* Saves pool guest m (booted with the initrd at initrd and UUID uuid, its
 * standby and records in its VM dir, no snapvm talking to its agent) as
 * the base of spec, which ends m; bases of spec's arch and CPU model with the same
 * memory but another key are removed (they can never be loaded again).
 * The base's directory and its size on disk in *ret_dir and *ret_bytes. */
gboolean sv_pool_base_save(SvMachine *m, const SvPoolBaseSpec *spec, const char *uuid,
			   const char *initrd, char **ret_dir, guint64 *ret_bytes, GError **error);

/* Starts a VM from the base in dir (sv_pool_base_find), as config says
 * (the pool guest's config: connect_uri may differ, name and initrd are
 * the base's), with the base's records in its VM dir: the caller's, as a
 * pool guest sv_pool_claim gave. It runs under the base's VM name and
 * UUID: libvirt starts a saved state only as the domain it was ("Target
 * domain name/uuid ... does not match source", its ABI check), so one base
 * runs one VM at a time: another load fails, *ret_busy set, while it
 * runs. */
SvMachine *sv_pool_base_load(const char *dir, const SvMachineConfig *config, gboolean *ret_busy,
			     GError **error);

/* Makes a guest started from a base its own (SV_MSG_RESUMED): fresh
 * entropy from the host for its kernel's CRNG, reseeded, and the wall
 * clock set to the host's. */
typedef struct SvAgentClient SvAgentClient;
gboolean sv_pool_base_resumed(SvAgentClient *agent, GError **error);

/* Removes the base in dir (one that could not be loaded). */
void sv_pool_base_remove(const char *dir);

#endif
