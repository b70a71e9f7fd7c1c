/* SPDX-License-Identifier: MIT */
/* image.c - finds a guest image and checks it is complete. */
#include "host/image/image.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>

#include "base/errors.h"
#include "host/util/state-paths.h"

void sv_image_free(SvImage *image)
{
	if (!image)
		return;
	g_free(image->dir);
	g_free(image->kernel);
	g_free(image->initramfs);
	g_free(image->kernel_release);
	g_free(image->image_sha256);
	g_free(image);
}

static char *read_trimmed(const char *dir, const char *name, GError **error)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, error))
		return NULL;
	return g_strstrip(text);
}

SvImage *sv_image_open(const SvArchOps *arch, const char *dir, GError **error)
{
	g_autofree char *chosen = NULL;
	if (dir)
		chosen = g_canonicalize_filename(dir, NULL);
	else if (g_getenv("SNAPVM_IMAGE_DIR"))
		chosen = g_build_filename(g_getenv("SNAPVM_IMAGE_DIR"), arch->name, "current",
					  NULL);
	else {
		g_autofree char *cache = sv_cache_dir();
		chosen = g_build_filename(cache, "images", arch->name, "current", NULL);
	}
	/* The manifest is written last by images/build-image.sh: without it the
	 * image is incomplete. */
	g_autofree char *manifest = g_build_filename(chosen, "manifest.json", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) local = NULL;
	if (!json_parser_load_from_file(parser, manifest, &local)) {
		g_set_error(
			error, SV_ERROR, SV_ERROR_NOT_FOUND,
			"no %s guest image at %s (%s); build one with: "
			"images/build-image.sh --arch %s --agent build/guest/agent/snapvm-agent-%s",
			arch->name, chosen, local->message, arch->name, arch->name);
		return NULL;
	}
	JsonNode *root = json_parser_get_root(parser);
	JsonObject *obj = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
	const char *m_arch = obj ? json_object_get_string_member_with_default(obj, "arch", NULL)
				 : NULL;
	if (g_strcmp0(m_arch, arch->name) != 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "guest image %s is for %s, not %s", chosen,
			    m_arch ? m_arch : "(unknown)", arch->name);
		return NULL;
	}
	g_autoptr(SvImage) image = g_new0(SvImage, 1);
	/* "current" is a symlink the next image build moves: a running VM must
	 * keep naming the image it actually booted */
	char *real = realpath(chosen, NULL);
	image->dir = real ? g_strdup(real) : g_steal_pointer(&chosen);
	free(real);
	image->image_sha256 =
		g_strdup(json_object_get_string_member_with_default(obj, "image_sha256", ""));
	g_autofree char *boot = read_trimmed(image->dir, "boot-kernel", error);
	if (!boot)
		return NULL;
	image->kernel = g_build_filename(image->dir, boot, NULL);
	image->initramfs = g_build_filename(image->dir, "initramfs.cpio", NULL);
	image->kernel_release = read_trimmed(image->dir, "kernel-release", error);
	if (!image->kernel_release)
		return NULL;
	if (!g_file_test(image->kernel, G_FILE_TEST_IS_REGULAR) ||
	    !g_file_test(image->initramfs, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "guest image %s is incomplete (no %s or initramfs.cpio)", image->dir,
			    boot);
		return NULL;
	}
	return g_steal_pointer(&image);
}
