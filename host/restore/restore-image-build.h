/* SPDX-License-Identifier: MIT */
/*
 * restore-image-build.h - builds, from a snapshot (already opened, so
 * validated by the reader), the flat restore image the guest-side restorer
 * reads (include/snapvm/restore-image-format.h). Everything the restorer
 * would otherwise have to parse or check is decided here, where errors can
 * be reported well; restore-image-parts.h says which file builds what.
 */
#ifndef SNAPVM_RESTORE_IMAGE_BUILD_H
#define SNAPVM_RESTORE_IMAGE_BUILD_H

#include <glib.h>

#include "host/snapshot/snapshot-reader.h"

/* A run of stored pages: at vaddr, in PAGES section `section` of the
 * snapshot at byte offset `offset` (of its raw payload). */
typedef struct SvRestorePageRun {
	guint64 vaddr, npages;
	guint32 section;
	guint64 offset;
} SvRestorePageRun;

/* The runs of a snapshot's PAGEMAP metadata (SV_SNAP_PAGEMAP_TYPE), sorted
 * by vaddr. */
GArray *sv_restore_pagemap_runs(GVariant *pagemap);

/* Where a restore's pages come from. */
typedef enum {
	SV_RESTORE_PAGES_IN_IMAGE = 0, /* in the image; the guest copies them */
	SV_RESTORE_PAGES_HOST = 1,     /* SV_RIMG_HOST_PAGES: the host writes them into guest RAM */
	/* SV_RIMG_LAZY too: those of private anonymous mappings after the
	 * process resumes, on demand (lazy-image.c) */
	SV_RESTORE_PAGES_LAZY = 2,
} SvRestorePages;

typedef struct SvRestoreImageInfo {
	guint32 pid;
	char comm[17];
	guint64 image_bytes; /* size of the flat image */
	guint64 pages;	     /* pages stored (copied into the image) */
	guint nvmas;
	guint nfiles_carried;
	gboolean no_files; /* the snapshot carries no files (--no-files) */
	/* the pages the image's runs restore, by vaddr (= staging order with
	 * SV_RIMG_HOST_PAGES): the snapshot's, less those a private file
	 * mapping reads from its file anyway */
	GArray *runs; /* SvRestorePageRun */
	/* SV_RESTORE_PAGES_LAZY: the pages placed after the process resumes
	 * (the image's lazy runs, by vaddr), not in runs nor pages */
	GArray *lazy_runs; /* SvRestorePageRun */
	guint64 lazy_pages;
} SvRestoreImageInfo;

void sv_restore_image_info_clear(SvRestoreImageInfo *info);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SvRestoreImageInfo, sv_restore_image_info_clear)

/* Writes the flat image of r to out_path (created, truncated). Unless
 * SV_RESTORE_PAGES_IN_IMAGE the page data stays out of it (SV_RIMG_HOST_PAGES: the host
 * writes it into guest RAM, SvPagePlacer in restore.h). Fails with
 * SV_ERROR_INVALID_ARGUMENT for a snapshot restore cannot honour (the error
 * says what and why). */
gboolean sv_restore_image_write(SvSnapshotReader *r, const char *out_path, SvRestorePages pages,
				SvRestoreImageInfo *ret_info, GError **error);

/* What sv_restore_image_write would refuse about r (its size, what it
 * holds), decided without writing anything or reading the file bytes: a
 * checkpoint --kill checks it before it takes the process. */
gboolean sv_restore_image_check(SvSnapshotReader *r, GError **error);

#endif
