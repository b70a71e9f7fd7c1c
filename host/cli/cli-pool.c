/* SPDX-License-Identifier: MIT */
/*
 * cli-pool.c - `snapvm pool start|status|stop`: guests booted ahead of
 * time for `snapvm restore --pool` (host/pool/pool.h), which takes one
 * instead of booting and starts a replacement in the background.
 */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "base/errors.h"
#include "host/cli/cli.h"
#include "host/image/image.h"
#include "host/machine/machine-backend.h"
#include "host/machine/machine.h"
#include "host/pool/pool-base.h"
#include "host/pool/pool.h"
#include "host/pool/pool-standby.h"
#include "host/restore/restore.h"
#include "host/util/text-escape.h"

#define POOL_MEMORY_DEFAULT 1024
/* What a pool guest keeps out of its standby's pre-faulted pool: its
 * kernel, agent and page cache, and a restore's image in its RAM (the
 * restore does not use the standby when the image would not fit beside
 * it) */
#define POOL_UNPREFAULTED 512

/* As a restore boots (the restorer runs in it). Without a standby,
 * init_on_free=1: the kernel zeroes pages when they are freed (at boot:
 * all of them, while the guest waits in the pool) and then skips zeroing
 * small pages when they are allocated (post_alloc_hook; a huge page is
 * zeroed at its fault all the same). With one, the staging pages are the
 * standby's, zeroed while the guest waited, and init_on_free would only
 * make the restore pay for zeroing what it frees (the rest of the
 * standby's pool, for one). */
char *sv_cli_pool_cmdline(const SvArchOps *arch, const SvCliVmOptions *vm, gboolean prefault)
{
	SvMachineConfig want = { .arch = arch,
				 .accel = vm->accel ? vm->accel : "auto",
				 .cpu_model = vm->cpu };
	g_autofree char *own = sv_restore_cmdline(&want);
	char *cmdline = g_strjoin(" ", own, prefault ? "" : "init_on_free=1",
				  vm->append ? vm->append : "", NULL);
	return g_strstrip(cmdline);
}

SvMachineConfig sv_cli_pool_config(const SvArchOps *arch, const SvImage *image,
				   const SvCliVmOptions *vm, const char *name, guint memory,
				   const char *cmdline, const char *initrd)
{
	return (SvMachineConfig){
		.arch = arch,
		.name = name,
		.accel = vm->accel ? vm->accel : "auto",
		.memory_mib = memory,
		.vcpus = 1,
		.cpu_model = vm->cpu,
		.image_dir = image->dir,
		.kernel = image->kernel,
		.connect_uri = vm->connect,
		.cmdline_extra = cmdline,
		.initrd = initrd,
	};
}

/* The standby's pool in a guest of memory MiB when --prefault is not
 * given. */
static guint default_prefault(guint memory)
{
	return (guint)MAX((gint)memory - POOL_UNPREFAULTED, 0);
}

/* The options that say which guest, pool start's and pool save's alike. */
/* clang-format off */
#define POOL_GUEST_ENTRIES(vm)                                                  \
	{ "arch", 'a', 0, G_OPTION_ARG_STRING, &(vm).arch,                      \
	  "Guest architecture (default: the host's)", "ARCH" },                 \
	{ "accel", 0, 0, G_OPTION_ARG_STRING, &(vm).accel,                      \
	  "Accelerator: tcg or auto", "ACCEL" },                                \
	{ "cpu", 0, 0, G_OPTION_ARG_STRING, &(vm).cpu,                          \
	  "CPU model, as for restore (default: the portable one)", "MODEL" }
/* clang-format on */

/* Boots one idle pool guest, its standby started, ready, in *g. */
static int boot_one(const SvArchOps *arch, const SvImage *image, const SvCliVmOptions *vm,
		    guint memory, guint prefault, const char *name, const char *uuid, int sfd,
		    const char *cmd, SvCliGuest *g)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("snapvm-pool-XXXXXX", &error);
	g_autofree char *initrd = NULL;
	/* the image's initramfs with the restorer in it (sv_cli_boot removes
	 * the initrd it boots) */
	if (!dir || !sv_restore_build_pool_initrd(arch, image->initramfs, dir, &initrd, &error)) {
		if (dir)
			g_rmdir(dir);
		sv_cli_error(cmd, error);
		return SV_EXIT_FAILURE;
	}
	g_autofree char *pool_name = name ? NULL : sv_pool_vm_name(arch->name, vm->cpu, memory);
	g_autofree char *cmdline = sv_cli_pool_cmdline(arch, vm, prefault > 0);
	SvMachineConfig config = sv_cli_pool_config(arch, image, vm, name ? name : pool_name,
						    memory, cmdline, initrd);
	config.uuid = uuid;
	int rc = sv_cli_boot(cmd, &config, dir, FALSE, sfd, vm->verbose, g);
	if (rc)
		return rc;
	g_autofree char *sum = sv_restore_restorer_sum(arch);
	g_autofree char *record = g_build_filename(g->machine->vm_dir, SV_POOL_RESTORER_FILE, NULL);
	if (!g_file_set_contents(record, sum, -1, &error)) /* restore then sends its own */
		fprintf(stderr, "snapvm %s: warning: %s\n", cmd, error->message);
	g_clear_error(&error);
	if (prefault) {
		gint64 t0 = g_get_monotonic_time();
		g_autofree char *notes = NULL;
		if (sv_pool_standby_start(g->agent, g->machine, prefault, &notes, &error)) {
			sv_cli_verbose(vm->verbose, cmd,
				       "%u MiB pre-faulted by the standby restorer in %.0f ms",
				       prefault, (g_get_monotonic_time() - t0) / 1000.0);
			if (notes) /* the restorer's notes, as a restore shows them */
				fputs(notes, stderr);
		} else /* the guest still serves restores, without pre-faulted pages */
			fprintf(stderr, "snapvm %s: warning: no pre-faulted memory: %s\n", cmd,
				error->message);
	}
	/* last: a restore claims it only from here on */
	if (!sv_pool_mark_ready(g->machine, &error))
		return sv_cli_end_vm(cmd, g->machine, FALSE, SV_EXIT_FAILURE,
				     g_steal_pointer(&error), vm->verbose);
	return 0;
}

void sv_cli_base_spec_clear(SvCliBaseSpec *b)
{
	g_free(b->cmdline);
	g_free(b->clock);
	g_free(b->backend);
	g_free(b->restorer);
	*b = (SvCliBaseSpec){ 0 };
}

gboolean sv_cli_base_spec(const SvArchOps *arch, const SvImage *image, const SvCliVmOptions *vm,
			  SvCliBaseSpec *ret, GError **error)
{
	SvMachineConfig want = { .arch = arch,
				 .accel = vm->accel ? vm->accel : "auto",
				 .cpu_model = vm->cpu };
	const SvMachineBackend *backend = sv_machine_choose_backend(&want, error);
	if (!backend)
		return FALSE;
	*ret = (SvCliBaseSpec){ 0 };
	ret->backend = sv_machine_saved_state_identity(backend, arch);
	if (!ret->backend) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "the %s backend cannot save a guest, so there are no saved bases for "
			    "it (--accel tcg has them)",
			    backend->name);
		return FALSE;
	}
	ret->cmdline = sv_cli_pool_cmdline(arch, vm, TRUE);
	ret->clock = arch->qemu && arch->qemu->clock_cmdline ? arch->qemu->clock_cmdline() : NULL;
	ret->restorer = sv_restore_restorer_sum(arch);
	ret->spec = (SvPoolBaseSpec){ .arch = arch->name,
				      .cpu = vm->cpu,
				      .accel = backend->accel,
				      .image_sha256 = image->image_sha256,
				      .cmdline = ret->cmdline,
				      .clock = ret->clock,
				      .backend = ret->backend,
				      .restorer = ret->restorer };
	return TRUE;
}

/* Boots one idle pool guest and leaves it running; prints its name. */
static int start_one(const SvArchOps *arch, const SvImage *image, const SvCliVmOptions *vm,
		     guint memory, guint prefault, int sfd)
{
	g_auto(SvCliGuest) g = { 0 };
	int rc = boot_one(arch, image, vm, memory, prefault, NULL, NULL, sfd, "pool start", &g);
	if (rc)
		return rc;
	printf("%s\n", g.machine->name);
	fflush(stdout);
	return 0;
}

static int pool_start(int argc, char **argv)
{
	SvCliVmOptions vm = SV_CLI_VM_OPTIONS_INIT;
	gint count = 1, prefault = -1;
	GOptionEntry entries[] = {
		POOL_GUEST_ENTRIES(vm),
		{ "memory", 'm', 0, G_OPTION_ARG_INT, &vm.memory_mib,
		  "Guest RAM in MiB (default 1024): a restore takes a guest with enough", "MIB" },
		{ "count", 'n', 0, G_OPTION_ARG_INT, &count, "Guests to boot (default 1)", "N" },
		{ "prefault", 0, 0, G_OPTION_ARG_INT, &prefault,
		  "Guest RAM to fault in ahead, in MiB, which a restore's pages then "
		  "take instead of waiting for the guest kernel to zero them (default: the "
		  "RAM less " G_STRINGIFY(POOL_UNPREFAULTED) " MiB; 0: none). It stays "
							     "held while the guest waits",
		  "MIB" },
		{ "image", 0, 0, G_OPTION_ARG_FILENAME, &vm.image, "Guest image directory", "DIR" },
		{ "append", 0, 0, G_OPTION_ARG_STRING, &vm.append,
		  "Extra kernel command line (after the pool's own)", "ARGS" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &vm.verbose, "Print the steps", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("");
	g_option_context_set_summary(ctx, "Boots idle guests for `snapvm restore --pool` and "
					  "leaves them running; prints their names.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	gboolean ok = sv_cli_parse(ctx, "pool start", &argc, &argv) && argc == 1 && count > 0 &&
		      count <= 64 && prefault >= -1 && sv_cli_vm_options_check(&vm, "pool start");
	guint memory = vm.memory_mib > 0 ? (guint)vm.memory_mib : POOL_MEMORY_DEFAULT;
	if (ok && prefault > 0 && prefault > (gint)memory - POOL_UNPREFAULTED) {
		fprintf(stderr,
			"snapvm pool start: --prefault %d leaves less than %d MiB of the "
			"guest's %u for its kernel and a restore's image\n",
			prefault, POOL_UNPREFAULTED, memory);
		ok = FALSE;
	}
	if (!ok) {
		fprintf(stderr, "snapvm pool start: see snapvm pool start --help (--count 1..64, "
				"--prefault 0..MEMORY-" G_STRINGIFY(POOL_UNPREFAULTED) ")\n");
		sv_cli_vm_options_clear(&vm);
		return SV_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	const SvArchOps *arch = vm.arch ? sv_arch_lookup(vm.arch, &error) : sv_arch_host();
	g_autoptr(SvImage) image = arch ? sv_image_open(arch, vm.image, &error) : NULL;
	int rc = SV_EXIT_FAILURE;
	if (!image) {
		sv_cli_error("pool start", error);
		goto out;
	}
	guint pre = prefault >= 0 ? (guint)prefault : default_prefault(memory);
	int sfd = sv_cli_catch_signals();
	for (gint i = 0; i < count; i++)
		if ((rc = start_one(arch, image, &vm, memory, pre, sfd)))
			break;
out:
	sv_cli_vm_options_clear(&vm);
	return rc;
}

/* taken by a restore; starting (booting, or its standby faulting in its
 * pool: not claimed yet); idle */
static const char *pool_guest_state(const SvPoolGuest *g)
{
	return g->claimed ? "taken" : g->ready ? "idle" : "starting";
}

static int pool_status(int argc, char **argv)
{
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("");
	g_option_context_set_summary(ctx, "Lists the pool's guests: arch, CPU model, memory, and "
					  "state (starting, idle, or taken by a restore).");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "pool status", &argc, &argv) || argc != 1)
		return SV_EXIT_USAGE;
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) all = sv_pool_list(&error);
	if (!all) {
		sv_cli_error("pool status", error);
		return SV_EXIT_FAILURE;
	}
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_array(b);
	for (guint i = 0; i < all->len; i++) {
		const SvPoolGuest *g = &g_array_index(all, SvPoolGuest, i);
		if (!json) {
			g_autofree char *shown = sv_text_for_terminal(g->name, -1);
			printf("%-44s %-8s %-20s %6u MiB  %s\n", shown, g->arch, g->cpu,
			       g->memory_mib, pool_guest_state(g));
			continue;
		}
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, g->name);
		json_builder_set_member_name(b, "arch");
		json_builder_add_string_value(b, g->arch);
		json_builder_set_member_name(b, "cpu");
		json_builder_add_string_value(b, g->cpu);
		json_builder_set_member_name(b, "memory_mib");
		json_builder_add_int_value(b, g->memory_mib);
		json_builder_set_member_name(b, "idle");
		json_builder_add_boolean_value(b, !g->claimed && g->ready);
		json_builder_set_member_name(b, "state");
		json_builder_add_string_value(b, pool_guest_state(g));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	if (json)
		sv_cli_print_json(b, TRUE);
	return 0;
}

static int pool_stop(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new("");
	g_option_context_set_summary(ctx, "Stops the pool's idle guests (those a restore took "
					  "carry on).");
	if (!sv_cli_parse(ctx, "pool stop", &argc, &argv) || argc != 1)
		return SV_EXIT_USAGE;
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) all = sv_pool_list(&error);
	if (!all) {
		sv_cli_error("pool stop", error);
		return SV_EXIT_FAILURE;
	}
	int rc = 0;
	for (guint i = 0; i < all->len; i++) {
		const SvPoolGuest *g = &g_array_index(all, SvPoolGuest, i);
		g_autoptr(GError) e = NULL;
		if (g->claimed)
			continue;
		g_autoptr(SvMachine) m = sv_machine_open(g->name, &e);
		if (!m || !sv_machine_stop(m, FALSE, NULL, &e)) {
			sv_cli_error("pool stop", e);
			rc = SV_EXIT_FAILURE;
		}
	}
	return rc;
}

/* The smallest guest a base is made of: a standby's pool beside what a
 * pool guest keeps out of it. */
#define BASE_MEMORY_MIN 768 /* POOL_UNPREFAULTED + 256 */

/* Boots a pool guest as pool start does, then saves it as the base of
 * spec (which ends it). */
static int save_base(const SvArchOps *arch, const SvImage *image, const SvCliVmOptions *vm,
		     const SvCliBaseSpec *b, guint memory, int sfd)
{
	gint64 t0 = g_get_monotonic_time();
	g_autoptr(GError) error = NULL;
	g_auto(SvCliGuest) g = { 0 };
	/* The base's own name and UUID: libvirt loads a saved state under no
	 * others. Not a pool- name: no restore --pool ever claims it. */
	g_autofree char *uuid = g_uuid_string_random();
	g_autofree char *name = sv_pool_base_vm_name(&b->spec, memory);
	int rc = boot_one(arch, image, vm, memory, default_prefault(memory), name, uuid, sfd,
			  "pool save", &g);
	if (rc)
		return rc;
	double booted_ms = (g_get_monotonic_time() - t0) / 1000.0;
	/* No snapvm talks to its agent while it is saved: a guest loaded from
	 * it waits for a host to attach, as a pool guest does. */
	g_clear_pointer(&g.agent, sv_agent_client_free);
	g_autofree char *dir = g_dir_make_tmp("snapvm-base-XXXXXX", &error);
	g_autofree char *initrd = NULL;
	g_autofree char *base = NULL;
	guint64 bytes = 0;
	gint64 t1 = g_get_monotonic_time();
	/* the initrd it booted, made again (sv_cli_boot removed it): QEMU
	 * opens it when a base loads */
	gboolean ok = dir &&
		      sv_restore_build_pool_initrd(arch, image->initramfs, dir, &initrd, &error) &&
		      sv_pool_base_save(g.machine, &b->spec, uuid, initrd, &base, &bytes, &error);
	if (initrd)
		g_unlink(initrd);
	if (dir)
		g_rmdir(dir);
	if (!ok)
		return sv_cli_end_vm("pool save", g.machine, FALSE, SV_EXIT_FAILURE,
				     g_steal_pointer(&error), vm->verbose);
	double saved_ms = (g_get_monotonic_time() - t1) / 1000.0;
	sv_cli_verbose(vm->verbose, "pool save", "saved in %.0f ms (booted in %.0f)", saved_ms,
		       booted_ms);
	if (!vm->json) {
		printf("%s\n", base);
		return 0;
	}
	g_autoptr(JsonBuilder) jb = json_builder_new();
	json_builder_begin_object(jb);
	json_builder_set_member_name(jb, "base");
	json_builder_add_string_value(jb, base);
	json_builder_set_member_name(jb, "arch");
	json_builder_add_string_value(jb, arch->name);
	json_builder_set_member_name(jb, "memory_mib");
	json_builder_add_int_value(jb, memory);
	json_builder_set_member_name(jb, "bytes_on_disk");
	json_builder_add_int_value(jb, (gint64)bytes);
	json_builder_set_member_name(jb, "boot_ms");
	json_builder_add_double_value(jb, booted_ms);
	json_builder_set_member_name(jb, "save_ms");
	json_builder_add_double_value(jb, saved_ms);
	json_builder_end_object(jb);
	sv_cli_print_json(jb, TRUE);
	return 0;
}

static int pool_save(int argc, char **argv)
{
	SvCliVmOptions vm = SV_CLI_VM_OPTIONS_INIT;
	GOptionEntry entries[] = {
		POOL_GUEST_ENTRIES(vm),
		{ "memory", 'm', 0, G_OPTION_ARG_INT, &vm.memory_mib,
		  "Guest RAM in MiB (default 1024, at least " G_STRINGIFY(
			  BASE_MEMORY_MIN) "): a restore takes the smallest base with enough; "
					   "all but " G_STRINGIFY(
						   POOL_UNPREFAULTED) " MiB are pre-faulted",
		  "MIB" },
		{ "image", 0, 0, G_OPTION_ARG_FILENAME, &vm.image, "Guest image directory", "DIR" },
		{ "append", 0, 0, G_OPTION_ARG_STRING, &vm.append,
		  "Extra kernel command line (after the pool's own; a restore must give the same "
		  "--append to use the base)",
		  "ARGS" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &vm.json,
		  "Print the base's directory, size on disk and times as JSON", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &vm.verbose, "Print the steps", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("");
	g_option_context_set_summary(
		ctx, "Boots a pool guest (as pool start does: its standby restorer ready, its "
		     "memory pre-faulted) and saves its whole state into the cache as a base,\n"
		     "which `snapvm restore --base` loads instead of booting when no pool guest "
		     "is up. Prints the base's directory.\nA base is kept per arch, CPU model, "
		     "memory and everything the guest depends on (image, kernel command line, "
		     "QEMU, libvirt, the restorer):\nwhen one of those changes, restore boots "
		     "and saves a new one in the background.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	gboolean ok = sv_cli_parse(ctx, "pool save", &argc, &argv) && argc == 1 &&
		      sv_cli_vm_options_check(&vm, "pool save");
	guint memory = vm.memory_mib > 0 ? (guint)vm.memory_mib : POOL_MEMORY_DEFAULT;
	if (ok && memory < BASE_MEMORY_MIN) {
		fprintf(stderr, "snapvm pool save: --memory %u: a base needs at least %d MiB\n",
			memory, BASE_MEMORY_MIN);
		ok = FALSE;
	}
	if (!ok) {
		sv_cli_vm_options_clear(&vm);
		return SV_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	const SvArchOps *arch = vm.arch ? sv_arch_lookup(vm.arch, &error) : sv_arch_host();
	g_autoptr(SvImage) image = arch ? sv_image_open(arch, vm.image, &error) : NULL;
	g_auto(SvCliBaseSpec) b = { 0 };
	int rc = SV_EXIT_FAILURE;
	if (!image || !sv_cli_base_spec(arch, image, &vm, &b, &error))
		sv_cli_error("pool save", error);
	else
		rc = save_base(arch, image, &vm, &b, memory, sv_cli_catch_signals());
	sv_cli_vm_options_clear(&vm);
	return rc;
}

int sv_cmd_pool(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} subs[] = { { "start", pool_start },
		     { "status", pool_status },
		     { "stop", pool_stop },
		     { "save", pool_save } };
	for (guint i = 0; argc > 1 && i < G_N_ELEMENTS(subs); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(argc - 1, argv + 1);
	fprintf(stderr,
		"Usage: snapvm pool start|status|stop|save [OPTIONS]\n\n"
		"Guests booted ahead of time for `snapvm restore --pool`, which takes one instead "
		"of booting\n(the boot is most of a restore's time) and starts a replacement in the "
		"background.\n  start   boot idle guests (--arch, --cpu, --memory, --count)\n"
		"  status  list them\n  stop    stop the idle ones\n"
		"  save    save a booted pool guest into the cache, for `restore --base`\n");
	return argc > 1 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h") ? SV_EXIT_USAGE : 0;
}
