/* SPDX-License-Identifier: MIT */
/*
 * rootfs-choice.c - which root filesystem image a restore boots: the one the
 * snapshot's process ran on (its provenance names the image's sha256),
 * found in the cache by that sha256, or the one --image names, which must
 * be the same image. A snapshot's referenced files are only right on it.
 */
#include <string.h>

#include "base/errors.h"
#include "host/image/rootfs.h"

static const char *prov_get(GVariant *prov, const char *key)
{
	const char *v = NULL;
	if (prov && g_variant_is_of_type(prov, G_VARIANT_TYPE("a{ss}")) &&
	    g_variant_lookup(prov, key, "&s", &v) && *v)
		return v;
	return NULL;
}

gboolean sv_rootfs_for_snapshot(GVariant *prov, const char *asked, SvRootfs **ret_rootfs,
				GError **error)
{
	const char *sha = prov_get(prov, SV_PROV_ROOTFS_SHA256);
	const char *name = prov_get(prov, SV_PROV_ROOTFS_NAME);
	const char *packages = prov_get(prov, SV_PROV_ROOTFS_PACKAGES);
	g_autoptr(SvRootfs) r = NULL;
	if (asked) {
		r = sv_rootfs_open(asked, error);
		if (!r)
			return FALSE;
		if (sha && strcmp(sha, r->image_sha256) != 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "the snapshot's process ran on image '%s' (sha256 %.16s...), "
				    "and image '%s' is a different one (sha256 %.16s...): the files "
				    "it references are only right on its own image; restore without "
				    "--image, or with --image naming that image",
				    name ? name : "?", sha, asked, r->image_sha256);
			return FALSE;
		}
	} else if (sha) {
		g_autoptr(GError) local = NULL;
		r = sv_rootfs_find_by_sha256(sha, &local);
		if (!r) {
			g_set_error(
				error, SV_ERROR, SV_ERROR_NOT_FOUND,
				"the snapshot's process ran on image '%s' (sha256 %s), which this "
				"machine does not have: copy it here with snapvm image export %s -o "
				"FILE where it was built and snapvm image import FILE here, or build "
				"it with snapvm image build --arch ARCH --packages %s (the same sha256 "
				"only if Debian still serves the same package versions)",
				name ? name : "?", sha, name ? name : "NAME",
				packages ? packages : "...");
			return FALSE;
		}
	}
	/* the cache is ours, but a snapshot's files are checked by content: so
	 * is the image they are read from */
	if (r && !sv_rootfs_verify(r, error))
		return FALSE;
	*ret_rootfs = g_steal_pointer(&r);
	return TRUE;
}
