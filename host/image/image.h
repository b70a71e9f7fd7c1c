/* SPDX-License-Identifier: MIT */
/*
 * image.h - a built guest image (see images/README.md): kernel, base
 * initramfs with the agent as /init, and the manifest that names them.
 */
#ifndef SNAPVM_IMAGE_H
#define SNAPVM_IMAGE_H

#include <glib.h>

#include "snapvm/arch.h"

typedef struct SvImage {
	char *dir;
	char *kernel; /* the file to boot (vmlinux for PVH, arm64 Image) */
	char *initramfs;
	char *kernel_release;
	char *image_sha256; /* from the manifest */
} SvImage;

void sv_image_free(SvImage *image);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvImage, sv_image_free)

/* Opens the image in dir, or when dir is NULL the current one for arch in
 * the cache ($SNAPVM_IMAGE_DIR overrides). The error says how to build one. */
SvImage *sv_image_open(const SvArchOps *arch, const char *dir, GError **error);

#endif
