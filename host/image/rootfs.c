/* SPDX-License-Identifier: MIT */
/* rootfs.c - root filesystem images in the cache: open, list, name, remove,
 * verify, export/import, build (see rootfs.h). */
#include "host/image/rootfs.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/errors.h"
#include "snapvm/arch.h"
#include "host/util/state-paths.h"

#define MANIFEST "manifest.json"
#define NAME_FILE "name" /* in an export: the name it had */
#define MAX_NAME 64
/* The files an image has besides its manifest, hashed in this order. */
static const char *const image_files[] = { "files.tsv", "modules.cpio", "rootfs.ext4", NULL };

void sv_rootfs_free(SvRootfs *r)
{
	if (!r)
		return;
	g_free(r->name);
	g_free(r->dir);
	g_free(r->arch);
	g_free(r->disk);
	g_free(r->modules_cpio);
	g_free(r->image_sha256);
	g_free(r->kernel_release);
	g_strfreev(r->requested);
	g_free(r);
}

static char *rootfs_root(void)
{
	g_autofree char *cache = sv_cache_dir();
	return g_build_filename(cache, "rootfs", NULL);
}

static char *name_path(const char *name)
{
	g_autofree char *root = rootfs_root();
	return g_build_filename(root, "names", name, NULL);
}

gboolean sv_rootfs_name_valid(const char *name, GError **error)
{
	gsize n = name ? strlen(name) : 0;
	gboolean ok = n >= 1 && n <= MAX_NAME && name[0] != '.' && name[0] != '-';
	for (gsize i = 0; ok && i < n; i++)
		ok = g_ascii_isalnum(name[i]) || strchr("._+-", name[i]);
	if (!ok)
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "'%s' is not an image name: 1-%d letters, digits, '.', '_', '+' or "
			    "'-', not starting with '.' or '-'",
			    name ? name : "", MAX_NAME);
	return ok;
}

static gboolean is_hex(const char *s, gsize len)
{
	if (!s || strlen(s) != len)
		return FALSE;
	for (gsize i = 0; i < len; i++)
		if (!g_ascii_isxdigit(s[i]) || g_ascii_isupper(s[i]))
			return FALSE;
	return TRUE;
}

/* The manifest is written by images/build-rootfs.sh, or comes from an
 * imported file: every field is checked before use. */
SvRootfs *sv_rootfs_open_dir(const char *dir, GError **error)
{
	g_autofree char *manifest = g_build_filename(dir, MANIFEST, NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) local = NULL;
	if (!json_parser_load_from_file(parser, manifest, &local)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "root filesystem image %s is incomplete or damaged (%s)", dir,
			    local->message);
		return NULL;
	}
	JsonNode *root = json_parser_get_root(parser);
	JsonObject *obj = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
	const char *kind = obj ? json_object_get_string_member_with_default(obj, "kind", "") : "";
	const char *arch = obj ? json_object_get_string_member_with_default(obj, "arch", "") : "";
	const char *sha = obj ? json_object_get_string_member_with_default(obj, "image_sha256", "")
			      : "";
	JsonArray *req = obj && json_object_has_member(obj, "requested") &&
					 JSON_NODE_HOLDS_ARRAY(json_object_get_member(obj,
										      "requested"))
				 ? json_object_get_array_member(obj, "requested")
				 : NULL;
	JsonArray *pkgs = obj && json_object_has_member(obj, "packages") &&
					  JSON_NODE_HOLDS_ARRAY(json_object_get_member(obj,
										       "packages"))
				  ? json_object_get_array_member(obj, "packages")
				  : NULL;
	if (strcmp(kind, "rootfs") != 0 || !*arch || !is_hex(sha, 64) || !req || !pkgs) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "%s is not the manifest of a root filesystem image (kind, arch, "
			    "image_sha256, requested and packages are required)",
			    manifest);
		return NULL;
	}
	g_autoptr(SvRootfs) r = g_new0(SvRootfs, 1);
	char *real = realpath(dir, NULL);
	r->dir = real ? g_strdup(real) : g_strdup(dir);
	free(real);
	r->arch = g_strdup(arch);
	r->image_sha256 = g_strdup(sha);
	r->kernel_release =
		g_strdup(json_object_get_string_member_with_default(obj, "kernel_release", ""));
	r->disk = g_build_filename(r->dir, "rootfs.ext4", NULL);
	r->modules_cpio = g_build_filename(r->dir, "modules.cpio", NULL);
	guint n = json_array_get_length(req);
	r->requested = g_new0(char *, n + 1);
	for (guint i = 0; i < n; i++) {
		JsonNode *e = json_array_get_element(req, i);
		r->requested[i] = g_strdup(JSON_NODE_HOLDS_VALUE(e) &&
							   json_node_get_value_type(e) ==
								   G_TYPE_STRING
						   ? json_node_get_string(e)
						   : "?");
	}
	r->n_packages = json_array_get_length(pkgs);
	struct stat st;
	if (stat(r->disk, &st) < 0 || !S_ISREG(st.st_mode) ||
	    !g_file_test(r->modules_cpio, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "root filesystem image %s is incomplete (no rootfs.ext4 or "
			    "modules.cpio)",
			    r->dir);
		return NULL;
	}
	r->disk_bytes = (guint64)st.st_size;
	return g_steal_pointer(&r);
}

/* "python, numpy" for an error that lists what there is. */
static char *known_names(void)
{
	g_autoptr(GPtrArray) all = sv_rootfs_list();
	if (!all || all->len == 0)
		return g_strdup("none");
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < all->len; i++)
		g_string_append_printf(s, "%s%s", i ? ", " : "", ((SvRootfs *)all->pdata[i])->name);
	return g_string_free(s, FALSE);
}

SvRootfs *sv_rootfs_open(const char *name, GError **error)
{
	if (!sv_rootfs_name_valid(name, error))
		return NULL;
	g_autofree char *link = name_path(name);
	if (!g_file_test(link, G_FILE_TEST_EXISTS)) {
		g_autofree char *known = known_names();
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "no image named '%s' (images here: %s); build it with: snapvm image "
			    "build --packages PKG,... --name %s, or import one with snapvm image "
			    "import FILE",
			    name, known, name);
		return NULL;
	}
	SvRootfs *r = sv_rootfs_open_dir(link, error);
	if (r)
		r->name = g_strdup(name);
	return r;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *sv_rootfs_list(void)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)sv_rootfs_free);
	g_autofree char *root = rootfs_root();
	g_autofree char *names = g_build_filename(root, "names", NULL);
	g_autoptr(GDir) d = g_dir_open(names, 0, NULL);
	if (!d)
		return g_steal_pointer(&out); /* none built yet */
	g_autoptr(GPtrArray) sorted = g_ptr_array_new_with_free_func(g_free);
	const char *e;
	while ((e = g_dir_read_name(d)))
		if (sv_rootfs_name_valid(e, NULL))
			g_ptr_array_add(sorted, g_strdup(e));
	g_ptr_array_sort(sorted, compare_names);
	for (guint i = 0; i < sorted->len; i++) {
		/* a dangling or broken name is skipped here; rm still removes it */
		SvRootfs *r = sv_rootfs_open(sorted->pdata[i], NULL);
		if (r)
			g_ptr_array_add(out, r);
	}
	return g_steal_pointer(&out);
}

SvRootfs *sv_rootfs_of_disk(const char *disk, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(disk);
	g_autoptr(SvRootfs) r = sv_rootfs_open_dir(dir, error);
	if (!r)
		return NULL;
	g_autoptr(GPtrArray) all = sv_rootfs_list();
	for (guint i = 0; i < all->len && !r->name; i++) {
		const SvRootfs *named = all->pdata[i];
		if (!strcmp(named->dir, r->dir))
			r->name = g_strdup(named->name);
	}
	return g_steal_pointer(&r);
}

SvRootfs *sv_rootfs_find_by_sha256(const char *sha256, GError **error)
{
	g_autofree char *root = rootfs_root();
	g_autoptr(GDir) arches = g_dir_open(root, 0, NULL);
	const char *a;
	while (arches && (a = g_dir_read_name(arches))) {
		if (!strcmp(a, "names") || a[0] == '.')
			continue;
		g_autofree char *adir = g_build_filename(root, a, NULL);
		g_autoptr(GDir) keys = g_dir_open(adir, 0, NULL);
		const char *k;
		while (keys && (k = g_dir_read_name(keys))) {
			if (k[0] == '.')
				continue;
			g_autofree char *dir = g_build_filename(adir, k, NULL);
			g_autoptr(SvRootfs) r = sv_rootfs_open_dir(dir, NULL);
			if (r && !strcmp(r->image_sha256, sha256))
				return g_steal_pointer(&r);
		}
	}
	g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
		    "no root filesystem image with sha256 %s in the cache", sha256);
	return NULL;
}

static char *file_sha256(const char *path, GError **error)
{
	g_autoptr(GMappedFile) mf = g_mapped_file_new(path, FALSE, error);
	if (!mf)
		return NULL;
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256,
					   (const guchar *)g_mapped_file_get_contents(mf),
					   g_mapped_file_get_length(mf));
}

gboolean sv_rootfs_verify(const SvRootfs *r, GError **error)
{
	g_autofree char *manifest = g_build_filename(r->dir, MANIFEST, NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	if (!json_parser_load_from_file(parser, manifest, error))
		return FALSE;
	JsonObject *obj = json_node_get_object(json_parser_get_root(parser));
	JsonArray *files = json_object_has_member(obj, "files") &&
					   JSON_NODE_HOLDS_ARRAY(json_object_get_member(obj,
											"files"))
				   ? json_object_get_array_member(obj, "files")
				   : NULL;
	/* image_sha256 is sha256sum's output over the files that make the
	 * image's identity (all but the ext4, whose bytes vary between builds
	 * of the same contents), in this order */
	GString *listing = g_string_new(NULL);
	for (const char *const *f = image_files; *f; f++) {
		const char *want = NULL;
		for (guint i = 0; files && i < json_array_get_length(files); i++) {
			JsonNode *n = json_array_get_element(files, i);
			JsonObject *o = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
			if (o &&
			    !g_strcmp0(json_object_get_string_member_with_default(o, "name", NULL),
				       *f))
				want = json_object_get_string_member_with_default(o, "sha256",
										  NULL);
		}
		g_autofree char *path = g_build_filename(r->dir, *f, NULL);
		if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
				    "image %s has no %s (incomplete, or built by an older snapvm): "
				    "rebuild it with snapvm image build",
				    r->dir, *f);
			g_string_free(listing, TRUE);
			return FALSE;
		}
		g_autofree char *got = file_sha256(path, error);
		if (!got || !is_hex(want, 64) || strcmp(got, want) != 0) {
			if (got)
				g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
					    "image %s: %s does not match its manifest (sha256 %s, "
					    "manifest says %s)",
					    r->dir, *f, got, want ? want : "nothing");
			g_string_free(listing, TRUE);
			return FALSE;
		}
		if (strcmp(*f, "rootfs.ext4") != 0)
			g_string_append_printf(listing, "%s  %s\n", got, *f);
	}
	g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, listing->str,
							     listing->len);
	g_string_free(listing, TRUE);
	if (strcmp(sum, r->image_sha256) != 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "image %s: image_sha256 %s does not match its files (%s)", r->dir,
			    r->image_sha256, sum);
		return FALSE;
	}
	return TRUE;
}

gboolean sv_rootfs_register(const char *name, const char *dir, GError **error)
{
	if (!sv_rootfs_name_valid(name, error))
		return FALSE;
	g_autofree char *link = name_path(name);
	g_autofree char *names = g_path_get_dirname(link);
	if (!sv_mkdir_p(names, error))
		return FALSE;
	/* a fresh symlink renamed over the old one: readers never miss it */
	g_autofree char *tmp = g_strdup_printf("%s/.%s.%d", names, name, (int)getpid());
	g_unlink(tmp);
	if (symlink(dir, tmp) < 0 || rename(tmp, link) < 0) {
		int e = errno;
		g_unlink(tmp);
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot name image %s '%s': %s", dir,
			    name, g_strerror(e));
		return FALSE;
	}
	return TRUE;
}

static gboolean remove_image_dir(const char *dir, GError **error)
{
	for (const char *const *f = image_files; *f; f++) {
		g_autofree char *p = g_build_filename(dir, *f, NULL);
		g_unlink(p);
	}
	/* the manifest last: without it the directory is an incomplete image */
	g_autofree char *m = g_build_filename(dir, MANIFEST, NULL);
	g_unlink(m);
	if (g_rmdir(dir) < 0 && errno != ENOENT) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot remove %s: %s", dir,
			    g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

gboolean sv_rootfs_remove(const char *name, GError **error)
{
	if (!sv_rootfs_name_valid(name, error))
		return FALSE;
	g_autofree char *link = name_path(name);
	g_autofree char *target = g_file_read_link(link, NULL);
	if (!target) {
		g_autofree char *known = known_names();
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "no image named '%s' (images here: %s)", name, known);
		return FALSE;
	}
	char *real = realpath(link, NULL);
	g_autofree char *dir = g_strdup(real);
	free(real);
	if (g_unlink(link) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot remove %s: %s", link,
			    g_strerror(errno));
		return FALSE;
	}
	if (!dir)
		return TRUE; /* it pointed nowhere */
	/* the image stays while another name uses it */
	g_autoptr(GPtrArray) others = sv_rootfs_list();
	for (guint i = 0; others && i < others->len; i++)
		if (!strcmp(((SvRootfs *)others->pdata[i])->dir, dir))
			return TRUE;
	return remove_image_dir(dir, error);
}

static gboolean run_tool(const char *const *argv, GError **error)
{
	g_autofree char *err = NULL;
	int status = 0;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &err,
			  &status, error))
		return FALSE;
	if (!g_spawn_check_wait_status(status, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "%s failed: %s", argv[0],
			    err && *err ? g_strstrip(err) : "no message");
		return FALSE;
	}
	return TRUE;
}

gboolean sv_rootfs_export(const SvRootfs *r, const char *file, GError **error)
{
	/* tar of a staging dir: the name, and the image's files through
	 * symlinks that tar -h follows */
	g_autofree char *stage = g_dir_make_tmp("snapvm-export-XXXXXX", error);
	if (!stage)
		return FALSE;
	g_autofree char *tmp = g_strdup_printf("%s.tmp-%d", file, (int)getpid());
	gboolean ok = FALSE;
	g_autofree char *name_file = g_build_filename(stage, NAME_FILE, NULL);
	g_autofree char *msrc = g_build_filename(r->dir, MANIFEST, NULL);
	g_autofree char *mdst = g_build_filename(stage, MANIFEST, NULL);
	g_autoptr(GPtrArray) argv = NULL;
	if (!g_file_set_contents(name_file, r->name ? r->name : "imported", -1, error))
		goto out;
	for (const char *const *f = image_files; *f; f++) {
		g_autofree char *src = g_build_filename(r->dir, *f, NULL);
		g_autofree char *dst = g_build_filename(stage, *f, NULL);
		if (symlink(src, dst) < 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "symlink %s: %s", dst,
				    g_strerror(errno));
			goto out;
		}
	}
	if (symlink(msrc, mdst) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "symlink %s: %s", mdst,
			    g_strerror(errno));
		goto out;
	}
	argv = g_ptr_array_new();
	const char *const head[] = { "tar", "-C", stage, "-chSf", tmp, NAME_FILE, MANIFEST };
	for (gsize i = 0; i < G_N_ELEMENTS(head); i++)
		g_ptr_array_add(argv, (gpointer)head[i]);
	for (const char *const *f = image_files; *f; f++)
		g_ptr_array_add(argv, (gpointer)*f);
	g_ptr_array_add(argv, NULL);
	if (!run_tool((const char *const *)argv->pdata, error))
		goto out;
	if (rename(tmp, file) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot write %s: %s", file,
			    g_strerror(errno));
		goto out;
	}
	ok = TRUE;
out:
	g_unlink(tmp);
	for (const char *const *f = image_files; *f; f++) {
		g_autofree char *p = g_build_filename(stage, *f, NULL);
		g_unlink(p);
	}
	g_unlink(mdst);
	g_unlink(name_file);
	g_rmdir(stage);
	return ok;
}

/* An export holds exactly these regular files and nothing else. */
static gboolean check_export_listing(const char *file, GError **error)
{
	const char *argv[] = { "tar", "-tf", file, NULL };
	g_autofree char *out = NULL, *err = NULL;
	int status = 0;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
			  &status, error))
		return FALSE;
	g_auto(GStrv) members = g_strsplit(out ? out : "", "\n", -1);
	guint n = 0;
	gboolean ok = g_spawn_check_wait_status(status, NULL);
	for (char **m = members; ok && *m; m++) {
		if (!**m)
			continue;
		n++;
		ok = !strcmp(*m, NAME_FILE) || !strcmp(*m, MANIFEST) ||
		     g_strv_contains(image_files, *m);
	}
	if (!ok || n != 2 + g_strv_length((char **)image_files)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
			    "%s is not an image exported by snapvm image export (%s)", file,
			    err && *err ? g_strstrip(err) : "unexpected members");
		return FALSE;
	}
	return TRUE;
}

char *sv_rootfs_import(const char *file, const char *name, GError **error)
{
	if (!check_export_listing(file, error))
		return NULL;
	g_autofree char *root = rootfs_root();
	if (!sv_mkdir_p(root, error))
		return NULL;
	g_autofree char *tmpl = g_build_filename(root, ".import-XXXXXX", NULL);
	if (!g_mkdtemp(tmpl)) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot create %s: %s", tmpl,
			    g_strerror(errno));
		return NULL;
	}
	char *result = NULL;
	g_autofree char *name_file = g_build_filename(tmpl, NAME_FILE, NULL);
	g_autofree char *stored_name = NULL;
	g_autoptr(SvRootfs) r = NULL;
	g_autofree char *adir = NULL, *key = NULL, *dest = NULL, *dest_manifest = NULL;
	const char *argv[] = { "tar", "-C", tmpl, "--no-same-owner", "-xf", file, NULL };
	if (!run_tool(argv, error))
		goto out;
	/* members that are not regular files (links) are refused */
	for (guint i = 0; i < 2 + g_strv_length((char **)image_files); i++) {
		const char *f = i == 0 ? NAME_FILE : i == 1 ? MANIFEST : image_files[i - 2];
		g_autofree char *p = g_build_filename(tmpl, f, NULL);
		struct stat st;
		if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA,
				    "%s: member %s is not a regular file", file, f);
			goto out;
		}
	}
	if (!g_file_get_contents(name_file, &stored_name, NULL, error))
		goto out;
	g_strstrip(stored_name);
	const char *final_name = name ? name : stored_name;
	if (!sv_rootfs_name_valid(final_name, error))
		goto out;
	g_unlink(name_file);
	r = sv_rootfs_open_dir(tmpl, error);
	if (!r || !sv_rootfs_verify(r, error))
		goto out;
	if (!sv_arch_lookup(r->arch, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_DATA, "%s: unknown arch '%s'", file,
			    r->arch);
		goto out;
	}
	/* stored under its image sha256's first 16 digits: an import of the
	 * same image twice lands in one place */
	adir = g_build_filename(root, r->arch, NULL);
	key = g_strdup_printf("i%.16s", r->image_sha256);
	dest = g_build_filename(adir, key, NULL);
	dest_manifest = g_build_filename(dest, MANIFEST, NULL);
	if (!sv_mkdir_p(adir, error))
		goto out;
	if (!g_file_test(dest_manifest, G_FILE_TEST_EXISTS)) {
		remove_image_dir(dest, NULL); /* an incomplete leftover */
		if (rename(tmpl, dest) < 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot move %s to %s: %s",
				    tmpl, dest, g_strerror(errno));
			goto out;
		}
	}
	if (!sv_rootfs_register(final_name, dest, error))
		goto out;
	result = g_strdup(final_name);
out:
	remove_image_dir(tmpl, NULL);
	return result;
}

static char *builder_script(void)
{
	const char *dir = g_getenv("SNAPVM_IMAGES_DIR");
	return g_build_filename(dir ? dir : SV_IMAGES_SOURCE_DIR, "build-rootfs.sh", NULL);
}

char *sv_rootfs_build(const char *arch, const char *const *packages, const char *base_dir,
		      GError **error)
{
	g_autofree char *script = builder_script();
	if (!g_file_test(script, G_FILE_TEST_IS_EXECUTABLE)) {
		g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
			    "the image builder %s is missing (set SNAPVM_IMAGES_DIR to the "
			    "source tree's images/ folder)",
			    script);
		return NULL;
	}
	g_autofree char *list = g_strjoinv(",", (char **)packages);
	g_autofree char *cache = sv_cache_dir();
	const char *argv[] = { script,	 "--arch", arch,      "--packages", list,
			       "--base", base_dir, "--cache", cache,	    NULL };
	g_autofree char *out = NULL;
	int status = 0;
	/* its progress and errors go straight to our stderr */
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, &out,
			  NULL, &status, error))
		return NULL;
	if (!g_spawn_check_wait_status(status, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "building the image failed (the builder said why above)");
		return NULL;
	}
	g_strstrip(out);
	const char *last = strrchr(out, '\n');
	return g_strdup(last ? last + 1 : out);
}

gboolean sv_rootfs_check_kernel(const SvRootfs *r, const char *release, GError **error)
{
	if (!strcmp(r->kernel_release, release))
		return TRUE;
	g_autofree char *pk = g_strjoinv(",", r->requested);
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "image '%s' was built for kernel %s, but the %s guest boots %s: rebuild it "
		    "with snapvm image build --arch %s --packages %s --name %s",
		    r->name ? r->name : r->dir, r->kernel_release, r->arch, release, r->arch, pk,
		    r->name ? r->name : "NAME");
	return FALSE;
}
