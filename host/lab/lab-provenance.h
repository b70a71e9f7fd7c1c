/* SPDX-License-Identifier: MIT */
/*
 * lab-provenance.h - what someone needs to rerun a lab cell next year: the
 * snapvm build, the guest image and kernel, QEMU and libvirt, the machine
 * and CPU model, the host, and the Slurm job that ran it.
 */
#ifndef SNAPVM_LAB_PROVENANCE_H
#define SNAPVM_LAB_PROVENANCE_H

#include <json-glib/json-glib.h>

/* Adds member "provenance" (an object) to the object b is building. A fact
 * that cannot be found is recorded as null, never guessed. rootfs_sha256:
 * the image_sha256 of an image workload's root filesystem, else NULL.
 * checkpoint_where: for a cell's restore, where its checkpoint ran (what
 * sv_lab_where_add recorded then), added as checkpoint_host,
 * checkpoint_slurm_node, ...; else NULL. */
void sv_lab_provenance_add(JsonBuilder *b, const char *arch, const char *accel,
			   const char *manifest_sha256, const char *program_sha256,
			   const char *rootfs_sha256, JsonObject *checkpoint_where);
/* Adds where this process runs to the object b is building: host, and the
 * Slurm job, array job and task, and node (null outside Slurm). */
void sv_lab_where_add(JsonBuilder *b);
/* The time now as ISO 8601 UTC with milliseconds. */
char *sv_lab_now_iso8601(void);

#endif
