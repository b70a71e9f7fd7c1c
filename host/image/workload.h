/* SPDX-License-Identifier: MIT */
/*
 * workload.h - a host program to run in the guest: checked to be an ELF of
 * the guest's arch (static, unless the guest has a userland image), then packed into a cpio the kernel unpacks over
 * the base initramfs (Linux accepts concatenated archives).
 */
#ifndef SNAPVM_WORKLOAD_H
#define SNAPVM_WORKLOAD_H

#include <glib.h>

#include "snapvm/arch.h"

/* Checks path is a static executable for arch. The error says what is wrong
 * (missing, not ELF, dynamic, other arch) and what to do. */
gboolean sv_workload_check(const char *path, const SvArchOps *arch, GError **error);
/* The same; a dynamically linked program passes when has_libraries (the
 * guest boots an image with a userland: whether that has the program's
 * libraries shows when it starts - the dynamic loader names a missing one). */
gboolean sv_workload_check_with_libraries(const char *path, const SvArchOps *arch,
					  gboolean has_libraries, GError **error);

/* The ELF interpreter (dynamic loader) path program asks for, or NULL. */
char *sv_workload_interpreter(const char *path);

/* Writes to out_path: a copy of base_initramfs followed by a newc cpio that
 * holds each of the NULL-terminated programs at
 * SV_GUEST_WORKLOAD_DIR/<basename>. Atomic (temp file, rename). */
gboolean sv_workload_build_initrd(const char *base_initramfs, const char *const *programs,
				  const char *out_path, GError **error);

/* Something else to put in the appended cpio: a directory (host_path NULL)
 * or a copy of a host file, at guest_path (absolute). */
typedef struct SvInitrdExtra {
	const char *guest_path;
	const char *host_path;
	guint32 mode; /* permission bits */
} SvInitrdExtra;

/* sv_workload_build_initrd, plus n extras after the programs (a parent
 * directory must come before what it holds). Large files are mapped, not
 * read into memory. */
gboolean sv_workload_build_initrd_extra(const char *base_initramfs, const char *const *programs,
					const SvInitrdExtra *extras, gsize n, const char *out_path,
					GError **error);

/* The same, with every archive of the NULL-terminated list (the base
 * initramfs, then e.g. a root filesystem image's modules.cpio) before the
 * programs and extras. */
gboolean sv_workload_build_initrd_layers(const char *const *archives, const char *const *programs,
					 const SvInitrdExtra *extras, gsize n, const char *out_path,
					 GError **error);

#endif
