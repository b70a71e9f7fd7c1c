/* SPDX-License-Identifier: MIT */
/*
 * cli-image.c - `snapvm image build|list|rm|export|import`: root filesystem
 * images with a Debian userland for `snapvm run --image NAME`.
 */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "host/cli/cli.h"
#include "host/image/image.h"
#include "host/image/rootfs.h"

static int image_build(int argc, char **argv)
{
	g_autofree char *arch_name = NULL, *packages = NULL, *name = NULL;
	GOptionEntry entries[] = {
		{ "arch", 'a', 0, G_OPTION_ARG_STRING, &arch_name,
		  "Guest architecture: x86_64 or aarch64 (default: the host's)", "ARCH" },
		{ "packages", 'p', 0, G_OPTION_ARG_STRING, &packages,
		  "Debian 12 packages to install, comma-separated (their dependencies come too)",
		  "P1,P2,..." },
		{ "name", 'n', 0, G_OPTION_ARG_STRING, &name,
		  "Name to give the image (default: the packages joined by '+', then the arch)",
		  "NAME" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("");
	g_option_context_set_summary(
		ctx, "Builds a guest image: the kernel and agent of the arch's base image with a "
		     "read-only root filesystem\nunpacked from Debian 12 packages (never "
		     "configured: no maintainer scripts run, see images/README.md).\nCached by "
		     "its inputs: the same list again is instant. Prints the name, then the "
		     "directory.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "image build", &argc, &argv))
		return SV_EXIT_USAGE;
	if (!packages || !*packages || argc > 1) {
		fprintf(stderr, "snapvm image build: --packages P1,P2,... is required (and nothing "
				"else)\n");
		return SV_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	const SvArchOps *arch = arch_name ? sv_arch_lookup(arch_name, &error) : sv_arch_host();
	if (!arch) {
		sv_cli_error("image build", error);
		return SV_EXIT_USAGE;
	}
	g_auto(GStrv) list = g_strsplit(packages, ",", -1);
	if (!name) {
		g_autofree char *joined = g_strjoinv("+", list);
		name = g_strdup_printf("%s-%s", joined, arch->name);
	}
	if (!sv_rootfs_name_valid(name, &error)) {
		sv_cli_error("image build", error);
		return SV_EXIT_USAGE;
	}
	g_autoptr(SvImage) base = sv_image_open(arch, NULL, &error);
	if (!base) {
		sv_cli_error("image build", error);
		return SV_EXIT_FAILURE;
	}
	g_autofree char *dir = sv_rootfs_build(arch->name, (const char *const *)list, base->dir,
					       &error);
	if (!dir || !sv_rootfs_register(name, dir, &error)) {
		sv_cli_error("image build", error);
		return SV_EXIT_FAILURE;
	}
	printf("%s\n%s\n", name, dir);
	return 0;
}

static void add_image_json(JsonBuilder *b, const SvRootfs *r)
{
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, r->name);
	json_builder_set_member_name(b, "arch");
	json_builder_add_string_value(b, r->arch);
	json_builder_set_member_name(b, "packages");
	json_builder_begin_array(b);
	for (char **p = r->requested; *p; p++)
		json_builder_add_string_value(b, *p);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "resolved_packages");
	json_builder_add_int_value(b, r->n_packages);
	json_builder_set_member_name(b, "disk_bytes");
	json_builder_add_int_value(b, (gint64)r->disk_bytes);
	json_builder_set_member_name(b, "image_sha256");
	json_builder_add_string_value(b, r->image_sha256);
	json_builder_set_member_name(b, "dir");
	json_builder_add_string_value(b, r->dir);
	json_builder_end_object(b);
}

static int image_list(int argc, char **argv)
{
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("");
	g_option_context_set_summary(ctx, "Lists the images snapvm image build and import made.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "image list", &argc, &argv))
		return SV_EXIT_USAGE;
	g_autoptr(GPtrArray) all = sv_rootfs_list();
	if (json) {
		g_autoptr(JsonBuilder) b = json_builder_new();
		json_builder_begin_array(b);
		for (guint i = 0; i < all->len; i++)
			add_image_json(b, all->pdata[i]);
		json_builder_end_array(b);
		sv_cli_print_json(b, TRUE);
		return 0;
	}
	if (all->len)
		printf("%-24s %-8s %8s %-16s %s\n", "NAME", "ARCH", "DISK", "SHA256", "PACKAGES");
	for (guint i = 0; i < all->len; i++) {
		const SvRootfs *r = all->pdata[i];
		g_autofree char *pk = g_strjoinv(",", r->requested);
		g_autofree char *size = g_format_size(r->disk_bytes);
		printf("%-24s %-8s %8s %.16s %s (%u with dependencies)\n", r->name, r->arch, size,
		       r->image_sha256, pk, r->n_packages);
	}
	return 0;
}

/* The commands that take one argument and options no more than --name. */
static gboolean one_arg(GOptionContext *ctx, const char *cmd, int *argc, char ***argv,
			const char *what)
{
	if (!sv_cli_parse(ctx, cmd, argc, argv))
		return FALSE;
	if (*argc != 2) {
		fprintf(stderr, "snapvm %s: give one %s (see snapvm %s --help)\n", cmd, what, cmd);
		return FALSE;
	}
	return TRUE;
}

static int image_rm(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new("NAME");
	g_option_context_set_summary(ctx, "Forgets the image NAME, and deletes its files unless "
					  "another name uses them.");
	if (!one_arg(ctx, "image rm", &argc, &argv, "image NAME"))
		return SV_EXIT_USAGE;
	g_autoptr(GError) error = NULL;
	if (!sv_rootfs_remove(argv[1], &error)) {
		sv_cli_error("image rm", error);
		return SV_EXIT_FAILURE;
	}
	return 0;
}

static int image_export(int argc, char **argv)
{
	g_autofree char *out = NULL;
	GOptionEntry entries[] = {
		{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "File to write (a tar)", "FILE" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("NAME");
	g_option_context_set_summary(
		ctx, "Writes the image NAME whole into one file that snapvm image import takes "
		     "on another machine\n(Debian's archive moves on: a rebuild later may not "
		     "give the same bytes).");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!one_arg(ctx, "image export", &argc, &argv, "image NAME"))
		return SV_EXIT_USAGE;
	if (!out) {
		fprintf(stderr, "snapvm image export: -o FILE is required\n");
		return SV_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(SvRootfs) r = sv_rootfs_open(argv[1], &error);
	if (!r || !sv_rootfs_export(r, out, &error)) {
		sv_cli_error("image export", error);
		return SV_EXIT_FAILURE;
	}
	return 0;
}

static int image_import(int argc, char **argv)
{
	g_autofree char *name = NULL;
	GOptionEntry entries[] = {
		{ "name", 'n', 0, G_OPTION_ARG_STRING, &name,
		  "Name to give it (default: the name it was exported with)", "NAME" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("FILE");
	g_option_context_set_summary(ctx, "Adds an image written by snapvm image export, after "
					  "checking every file's sha256. Prints its name.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!one_arg(ctx, "image import", &argc, &argv, "FILE"))
		return SV_EXIT_USAGE;
	g_autoptr(GError) error = NULL;
	g_autofree char *got = sv_rootfs_import(argv[1], name, &error);
	if (!got) {
		sv_cli_error("image import", error);
		return SV_EXIT_FAILURE;
	}
	printf("%s\n", got);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{ "build", image_build, "build an image from Debian packages (cached by its inputs)" },
	{ "list", image_list, "list the images" },
	{ "rm", image_rm, "remove an image" },
	{ "export", image_export, "write an image into one file" },
	{ "import", image_import, "add an image from such a file" },
};

int sv_cmd_image(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	for (gsize i = 0; sub && i < G_N_ELEMENTS(subcommands); i++)
		if (!strcmp(sub, subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	gboolean help = sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h"));
	FILE *f = help ? stdout : stderr;
	if (sub && !help)
		fprintf(f, "snapvm image: unknown subcommand '%s'\n", sub);
	fprintf(f, "Usage: snapvm image SUBCOMMAND [OPTIONS] ...\n\nGuest images with a Debian "
		   "userland, for snapvm run --image NAME.\n\nSubcommands:\n");
	for (gsize i = 0; i < G_N_ELEMENTS(subcommands); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'snapvm image SUBCOMMAND --help' describes one.\n");
	return help ? 0 : SV_EXIT_USAGE;
}
