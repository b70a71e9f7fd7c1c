/* SPDX-License-Identifier: MIT */
/*
 * rootfs.h - root filesystem images: a Debian userland on a read-only ext4
 * disk that `snapvm run --image NAME` boots the guest's kernel and agent
 * with (images/build-rootfs.sh builds one; images/README.md).
 *
 * In the cache: $CACHE/rootfs/<arch>/<key>/{rootfs.ext4, modules.cpio,
 * manifest.json}, the key a hash of the build's inputs; names are symlinks
 * $CACHE/rootfs/names/<NAME> -> ../<arch>/<key>. An image is identified
 * everywhere else (snapshots) by its image_sha256, over its files' hashes.
 */
#ifndef SNAPVM_ROOTFS_H
#define SNAPVM_ROOTFS_H

#include <glib.h>

typedef struct SvRootfs {
	char *name; /* the name it was opened by; NULL when opened otherwise */
	char *dir;
	char *arch;
	char *disk;	    /* rootfs.ext4 */
	char *modules_cpio; /* appended to the initramfs: the modules that mount it */
	char *image_sha256;
	char *kernel_release; /* of the kernel its modules are for */
	char **requested;     /* the packages asked for, NULL-terminated */
	guint n_packages;     /* resolved, dependencies included */
	guint64 disk_bytes;
} SvRootfs;

void sv_rootfs_free(SvRootfs *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvRootfs, sv_rootfs_free)

/* Whether name can name an image: 1-64 of [A-Za-z0-9._+-], not starting
 * with '.' or '-'. The error says so. */
gboolean sv_rootfs_name_valid(const char *name, GError **error);
/* Opens the image registered as name. The error says how to build one or
 * lists the images there are. */
SvRootfs *sv_rootfs_open(const char *name, GError **error);
/* Opens the image in dir (complete: its manifest exists and parses). */
SvRootfs *sv_rootfs_open_dir(const char *dir, GError **error);
/* The image whose rootfs.ext4 disk is (a VM's record names its disk), with
 * a name that points at it if there is one. */
SvRootfs *sv_rootfs_of_disk(const char *disk, GError **error);
/* Finds an image in the cache by image_sha256 (any name, or none). */
SvRootfs *sv_rootfs_find_by_sha256(const char *sha256, GError **error);
/* Checks every file's size and sha256 against the manifest, and the
 * image_sha256 over them. */
gboolean sv_rootfs_verify(const SvRootfs *r, GError **error);
/* Every registered image, sorted by name (SvRootfs, named); names that
 * point at nothing complete are left out. */
GPtrArray *sv_rootfs_list(void);
/* Its modules are for one kernel: the base image must boot that one
 * (release). The error says how to rebuild it. */
gboolean sv_rootfs_check_kernel(const SvRootfs *r, const char *release, GError **error);
/* Points name at the image in dir (atomically; replaces an older target). */
gboolean sv_rootfs_register(const char *name, const char *dir, GError **error);
/* Forgets name, and deletes its image unless another name still uses it. */
gboolean sv_rootfs_remove(const char *name, GError **error);
/* Writes the image as one tar file (atomically), name included. */
gboolean sv_rootfs_export(const SvRootfs *r, const char *file, GError **error);
/* Unpacks an exported image into the cache, verifies it, registers it as
 * name (NULL: the name it was exported with) and returns that name. */
char *sv_rootfs_import(const char *file, const char *name, GError **error);
/* Builds (or finds cached) the image of packages for arch on the base image
 * in base_dir, with images/build-rootfs.sh (its progress on stderr), and
 * returns its directory. */
char *sv_rootfs_build(const char *arch, const char *const *packages, const char *base_dir,
		      GError **error);

/* Provenance keys of a snapshot taken in a guest that booted an image. */
#define SV_PROV_ROOTFS_NAME "rootfs_name"
#define SV_PROV_ROOTFS_SHA256 "rootfs_sha256"
#define SV_PROV_ROOTFS_PACKAGES "rootfs_packages" /* as requested, comma-separated */

/* The kernel parameter that makes the agent switch into the disk's root
 * (guest/agent/image-root.c); the disk is the first virtio block device. */
#define SV_ROOTFS_CMDLINE "snapvm.root=vda"

/* The image a restore of a snapshot with provenance prov boots (rootfs-choice.c):
 * *ret_rootfs NULL when the snapshot ran on none and asked is NULL; asked
 * (--image NAME) must be the snapshot's image. The error says how to get a
 * missing image. The chosen image is verified (sha256 of its files). */
gboolean sv_rootfs_for_snapshot(GVariant *prov, const char *asked, SvRootfs **ret_rootfs,
				GError **error);

#endif
