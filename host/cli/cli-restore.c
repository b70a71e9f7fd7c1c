/* SPDX-License-Identifier: MIT */
/*
 * cli-restore.c - `snapvm restore FILE`: boot a fresh guest of the
 * snapshot's arch, rebuild the process in it, stream its output, exit with
 * its status.
 *
 * The host does every check and conversion (host/restore/): the snapshot
 * becomes a flat restore image, packed with the guest restorer into the
 * initrd appended to the image's, as `run` packs programs. The agent starts
 * the restorer like a workload - so the process keeps the wiring of a `run`
 * workload (stdin /dev/null, stdout/stderr to the host) - and the restorer
 * turns itself into the snapshot's process (guest/restorer/restore-main.c,
 * arch/<arch>/restorer/). A refusal in the guest is a message on stderr
 * and exit status 125. The VM is stopped at the end, unless --detach.
 */
#include <glib/gstdio.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "snapvm/restore-image-format.h"
#include "base/errors.h"
#include "host/agent/agent-client.h"
#include "host/cli/cli-restore-follow.h"
#include "host/cli/cli-run-files.h"
#include "host/cli/cli.h"
#include "host/image/image.h"
#include "host/image/rootfs.h"
#include "host/machine/machine-backend.h"
#include "host/pool/pool-base.h"
#include "host/pool/pool-standby.h"
#include "host/pool/pool.h"
#include "host/restore/cpu-check.h"
#include "host/restore/restore.h"

typedef struct RestoreOptions {
	SvCliVmOptions vm;
	char *pages;
	char **copy_out;
	gboolean pool, base, no_refill, lazy;
} RestoreOptions;

static void restore_options_clear(RestoreOptions *o)
{
	sv_cli_vm_options_clear(&o->vm);
	g_free(o->pages);
	g_strfreev(o->copy_out);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RestoreOptions, restore_options_clear)

/* A dir for the initrd where writing it costs no disk I/O: it can be as
 * large as the snapshot, and QEMU reads it once. */
static char *make_tmpdir(GError **error)
{
	if (g_file_test("/dev/shm", G_FILE_TEST_IS_DIR)) {
		g_autofree char *t = g_strdup("/dev/shm/snapvm-restore-XXXXXX");
		if (g_mkdtemp(t))
			return g_steal_pointer(&t);
	}
	return g_dir_make_tmp("snapvm-restore-XXXXXX", error);
}

/* SV_RIMG_HOST_PAGES: the restorer's page-frame messages answered with
 * the pages in guest RAM (host/restore/host-pages.c); its stderr meanwhile
 * passed through: a refusal says why there. If it exits instead,
 * *ret_exited and its status. */
static gboolean place_pages(SvCliGuest *g, guint32 pid, SvSnapshotReader *reader,
			    const GArray *runs, gboolean verbose, gboolean *ret_exited,
			    int *ret_status, GError **error)
{
	SvRestoreHostPages hp;
	if (!sv_restore_host_pages(g->agent, pid, g->ram, reader, runs, STDOUT_FILENO,
				   STDERR_FILENO, &hp, error))
		return FALSE;
	if (hp.exited) {
		*ret_exited = TRUE;
		*ret_status = hp.status;
		return TRUE;
	}
	sv_cli_verbose(verbose, "restore",
		       "%.1f MiB of pages written into guest RAM (%u page-frame messages, "
		       "%" G_GUINT64_FORMAT " frame runs; the first came %.0f ms ago)",
		       hp.bytes / 1048576.0, hp.messages, hp.frame_runs,
		       (g_get_monotonic_time() - hp.first_us) / 1000.0);
	return TRUE;
}

/* --lazy: the pager's buffer (the restorer's next message), and the
 * thread that serves it from here on; the process is running then. If
 * the restorer exits instead, *ret_exited and its status. */
static gboolean start_lazy(SvCliGuest *g, guint32 pid, SvSnapshotReader *reader,
			   const SvRestoreImageInfo *info, SvCliRestoreFollow *follow,
			   gboolean verbose, gboolean *ret_exited, int *ret_status, GError **error)
{
	GArray *frames = NULL;
	if (!sv_lazy_recv_buffer(g->agent, pid, STDOUT_FILENO, STDERR_FILENO, &frames, ret_exited,
				 ret_status, error))
		return FALSE;
	if (*ret_exited)
		return TRUE;
	follow->server = sv_lazy_server_start(g->ram, reader, info->lazy_runs, frames,
					      SV_LAZY_HOST_STALL_US, error);
	follow->running_ms = sv_cli_elapsed_ms();
	sv_cli_verbose(verbose && follow->server, "restore",
		       "the process runs; %" G_GUINT64_FORMAT " lazy pages follow",
		       info->lazy_pages);
	return follow->server != NULL;
}

/* Before anything boots: a CPU model no backend can give, or one that
 * lacks what the snapshot's FPU/SIMD state needs (the kvm backend presents
 * the default model). */
static gboolean check_cpu_before_boot(SvSnapshotReader *reader, const SvArchOps *arch,
				      const char *accel, const SvCliVmOptions *vm, GError **error)
{
	SvMachineConfig want = { .arch = arch, .accel = accel, .cpu_model = vm->cpu };
	g_autofree char *skipped = NULL;
	const SvMachineBackend *backend = sv_machine_choose_backend(&want, error);
	if (!backend ||
	    !sv_restore_check_cpu(reader, arch, backend->portable_cpu_only ? NULL : vm->cpu,
				  &skipped, error))
		return FALSE;
	sv_cli_verbose(
		vm->verbose, "restore", "%s",
		skipped ? skipped
			: "CPU model checked: it has every FPU/SIMD feature the snapshot uses");
	return TRUE;
}

/* Runs this snapvm with `pool VERB --arch ARCH --memory MIB` and the
 * restore's --cpu and --accel (with_image: its --append and --image too),
 * in a session of its own that outlives this one (a Ctrl-C here leaves
 * it be); what it is for, in a warning if it cannot start. */
static void pool_in_background(const char *verb, const char *arch, guint memory_mib,
			       gboolean with_image, const RestoreOptions *o, const char *what)
{
	g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *mem = g_strdup_printf("%u", memory_mib);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	const char *fixed[] = { self, "pool", verb, "--arch", arch, "--memory", mem };
	for (guint i = 0; i < G_N_ELEMENTS(fixed); i++)
		g_ptr_array_add(argv, (char *)fixed[i]);
	const char *const opts[][2] = { { "--cpu", o->vm.cpu },
					{ "--accel", o->vm.accel },
					{ "--append", with_image ? o->vm.append : NULL },
					{ "--image", with_image ? o->vm.image : NULL } };
	for (guint i = 0; i < G_N_ELEMENTS(opts); i++)
		if (opts[i][1]) {
			g_ptr_array_add(argv, (char *)opts[i][0]);
			g_ptr_array_add(argv, (char *)opts[i][1]);
		}
	g_ptr_array_add(argv, NULL);
	g_autoptr(GError) error = NULL;
	if (!self ||
	    !g_spawn_async(NULL, (char **)argv->pdata, NULL,
			   G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_STDOUT_TO_DEV_NULL |
				   G_SPAWN_STDERR_TO_DEV_NULL,
			   (GSpawnChildSetupFunc)(void (*)(void))setsid, NULL, NULL, &error))
		fprintf(stderr, "snapvm restore: warning: %s: %s\n", what,
			error ? error->message : "no /proc/self/exe");
}

/* A replacement for a pool guest taken, booted in the background. */
static void refill_pool(const SvMachine *taken, const RestoreOptions *o)
{
	pool_in_background("start", taken->arch->name, taken->memory_mib, FALSE, o,
			   "the pool is not refilled");
}

/* A base for restores like this one (`pool save`), saved in the
 * background where none could be loaded: with memory enough for this
 * restore and the standby's pool beside it. */
static void save_base_later(const SvArchOps *arch, guint need_mib, const RestoreOptions *o)
{
	pool_in_background("save", arch->name, MAX((need_mib + 255) / 256 * 256 + 256, 1024), TRUE,
			   o, "no base is saved for next time");
}

/* --base: a guest started from the smallest saved base that fits
 * (host/pool/pool-base.h), named as the base's VM was; NULL
 * when there is none or it cannot be loaded, which *ret_fallback says (a
 * base that cannot be loaded is removed), and then *ret_save_mib is the
 * memory a base for the next restore needs (save_base_later, once this
 * one's process runs: not a boot beside its boot), unless --no-refill. */
static SvMachine *load_base(const SvArchOps *arch, const SvImage *image, const RestoreOptions *o,
			    guint need, char **ret_fallback, guint *ret_save_mib)
{
	g_autoptr(GError) error = NULL;
	g_auto(SvCliBaseSpec) b = { 0 };
	if (!sv_cli_base_spec(arch, image, &o->vm, &b, &error)) {
		*ret_fallback = g_strdup(error->message);
		return NULL;
	}
	g_autofree char *dir = NULL;
	guint mib = 0;
	if (!sv_pool_base_find(&b.spec, need, &dir, &mib)) {
		*ret_fallback = g_strdup_printf(
			"no saved base of %s, CPU %s, with %u MiB, for this image, kernel command "
			"line, QEMU, libvirt and restorer",
			arch->name, o->vm.cpu ? o->vm.cpu : "default", need);
		*ret_save_mib = o->no_refill ? 0 : need;
		return NULL;
	}
	g_autofree char *cmdline = sv_cli_pool_cmdline(arch, &o->vm, TRUE);
	SvMachineConfig config = sv_cli_pool_config(arch, image, &o->vm, NULL, mib, cmdline, NULL);
	gint64 t0 = g_get_monotonic_time();
	gboolean busy = FALSE;
	SvMachine *m = sv_pool_base_load(dir, &config, &busy, &error);
	if (!m) {
		if (busy) { /* nothing wrong with the base */
			*ret_fallback = g_strdup_printf(
				"the saved base %s is in use: it runs one VM at a time, the one it "
				"was saved as (%s)",
				dir, error->message);
			return NULL;
		}
		*ret_fallback = g_strdup_printf("the saved base %s cannot be loaded: %s", dir,
						error->message);
		sv_pool_base_remove(dir);
		*ret_save_mib = o->no_refill ? 0 : need;
		return NULL;
	}
	sv_cli_verbose(o->vm.verbose, "restore", "VM %s started from the saved base %s in %.0f ms",
		       m->name, dir, (g_get_monotonic_time() - t0) / 1000.0);
	return m;
}

/* Does pool guest m hold this very restorer already (pool start put it
 * in its initrd)? */
static gboolean has_own_restorer(const SvMachine *m, const SvArchOps *arch)
{
	g_autofree char *record = g_build_filename(m->vm_dir, SV_POOL_RESTORER_FILE, NULL);
	g_autofree char *have = NULL;
	g_autofree char *want = sv_restore_restorer_sum(arch);
	return g_file_get_contents(record, &have, NULL, NULL) && !g_strcmp0(have, want);
}

/* Ends pool guest g's standby restorer, not used for why, and waits until
 * its memory is free. */
static void end_standby(SvCliGuest *g, guint32 pid, const char *why, gboolean verbose)
{
	g_autoptr(GError) error = NULL;
	if (sv_pool_standby_end(g->agent, pid, &error))
		sv_cli_verbose(verbose, "restore",
			       "its standby restorer is not used (%s): ended, its memory free",
			       why);
	else /* the restore may still fit; if not, it says so */
		fprintf(stderr, "snapvm restore: warning: %s\n", error->message);
}

/* Pool guest g's standby restorer (pool-standby.h), if it has one this
 * restore can use: its pid, else 0. One it cannot (another build's
 * restorer; an image that would not fit in the RAM beside its pool) is
 * ended, so that its memory is free for the restore. */
static guint32 usable_standby(SvCliGuest *g, gboolean own_restorer, const SvRestoreImageInfo *info,
			      gboolean verbose)
{
	guint32 pid;
	guint mib;
	if (!sv_pool_standby_read(g->machine, &pid, &mib, NULL))
		return 0;
	guint64 beside = g->machine->memory_mib > mib ? g->machine->memory_mib - mib : 0;
	if (own_restorer && (info->image_bytes >> 20) + 256 <= beside) {
		sv_cli_verbose(verbose, "restore",
			       "its standby restorer (pid %u) holds %u MiB "
			       "pre-faulted",
			       pid, mib);
		return pid;
	}
	end_standby(g, pid,
		    own_restorer ? "the image does not fit beside its pool"
				 : "another build's restorer",
		    verbose);
	return 0;
}

/* Hands the restore to the standby restorer; FALSE (and the standby
 * ended, its memory free) when the agent refuses: the pid is taken (the
 * usual start then gives the process another) or the standby is gone. */
static gboolean start_standby(SvCliGuest *g, guint32 standby, guint32 want_pid, guint32 run_flags,
			      gboolean verbose)
{
	g_autoptr(GError) error = NULL;
	if (sv_restore_start_standby(g->agent, standby, want_pid, run_flags, &error))
		return TRUE;
	end_standby(g, standby, error->message, verbose);
	return FALSE;
}

/* The restore image, when the standby has a mailbox in guest RAM
 * (restore-image-format.h) it fits in: it goes there at memcpy speed,
 * where the agent's channel takes 50-250 ms for a MB under TCG, but only
 * after the hand-over (write_mailbox). *ret_mailed: the image (kept, too,
 * in case the hand-over fails, when it must go as a file after all), or
 * NULL when it goes as a file now. */
static gboolean image_for_mailbox(SvCliGuest *g, const char *image, GBytes **ret_mailed,
				  GError **error)
{
	*ret_mailed = NULL;
	guint32 pid;
	guint mib;
	g_autoptr(GArray) box = NULL;
	if (!sv_pool_standby_read(g->machine, &pid, &mib, &box) || !box)
		return TRUE;
	g_autoptr(GMappedFile) f = g_mapped_file_new(image, FALSE, error);
	if (!f)
		return FALSE;
	if (g_mapped_file_get_length(f) > SV_RIMG_STANDBY_MAILBOX - SV_RIMG_MAILBOX_IMAGE_AT)
		return TRUE;
	*ret_mailed = g_mapped_file_get_bytes(f);
	return TRUE;
}

/* Writes the image into the standby's mailbox, the header last, once the
 * agent has handed the restore over (SV_RUN_STANDBY_MAIL): the frames the
 * standby named are its own only while it lives, and the hand-over found
 * it alive (a standby that died before would have given them back to the
 * guest kernel, and writing there would corrupt the guest). */
static gboolean write_mailbox(SvCliGuest *g, GBytes *image, GError **error)
{
	guint32 pid;
	guint mib;
	g_autoptr(GArray) box = NULL;
	if (!sv_pool_standby_read(g->machine, &pid, &mib, &box) || !box) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "the standby's mailbox record is gone from %s", g->machine->name);
		return FALSE;
	}
	gsize len;
	const void *data = g_bytes_get_data(image, &len);
	struct sv_rimg_mailbox hdr = { .image_bytes = len };
	memcpy(hdr.magic, SV_RIMG_MAILBOX_MAGIC, 8);
	g_autoptr(SvGuestRamWriter) w = sv_guest_ram_writer_new();
	if (!sv_guest_ram_write_frames(w, g->ram, box, SV_RIMG_MAILBOX_IMAGE_AT, data, len,
				       error) ||
	    !sv_guest_ram_write_frames(w, g->ram, box, 0, &hdr, sizeof(hdr), error)) {
		g_prefix_error(error, "writing the image into the standby's mailbox: ");
		return FALSE;
	}
	return TRUE;
}

typedef struct {
	SvMachine *m;
	SvGuestMem *ram;
	GError *error;
} MapRamJob;

static gpointer map_ram_thread(gpointer data)
{
	MapRamJob *job = data;
	job->ram = sv_machine_map_ram(job->m, &job->error);
	return NULL;
}

/* --pool, --base: an idle pool guest that fits, claimed, or one started
 * from a saved base, its RAM mapped, its agent answering (a base's
 * made its own: sv_pool_base_resumed), with the restorer and image (built
 * in tmpdir) written into it. 0 and nothing in *g when there is none (the
 * caller boots; *ret_fallback says why with --base); else 0 or the exit
 * code of a failure, reported. */
static int take_pool_guest(SvSnapshotReader *reader, const SvArchOps *arch,
			   const SvImage *base_image, const RestoreOptions *o, const char *tmpdir,
			   int sfd, SvCliGuest *g, SvRestoreImageInfo *info, guint32 *ret_standby,
			   SvPagePrefetch **ret_prefetch, GBytes **ret_mailed,
			   const char **ret_from, char **ret_fallback, guint *ret_save_mib)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *image = g_build_filename(tmpdir, "restore-image", NULL);
	if (!sv_restore_image_write(reader, image,
				    o->lazy ? SV_RESTORE_PAGES_LAZY : SV_RESTORE_PAGES_HOST, info,
				    &error)) {
		sv_cli_error("restore", error);
		return SV_EXIT_FAILURE;
	}
	guint need = sv_restore_memory_mib(info, 0);
	g_autoptr(SvMachine) m = o->pool ? sv_pool_claim(arch->name, o->vm.cpu, need, &error)
					 : NULL;
	gboolean from_base = FALSE;
	if (!m && !error && o->pool)
		sv_cli_verbose(o->vm.verbose, "restore",
			       "no idle pool guest of %s, CPU %s, with %u MiB", arch->name,
			       o->vm.cpu ? o->vm.cpu : "default", need);
	if (!m && !error && o->base) {
		m = load_base(arch, base_image, o, need, ret_fallback, ret_save_mib);
		from_base = m != NULL;
		if (!m)
			sv_cli_verbose(o->vm.verbose, "restore", "%s", *ret_fallback);
	}
	if (!m) {
		g_unlink(image);
		sv_restore_image_info_clear(info); /* the boot builds its own */
		if (!error) {
			sv_cli_verbose(o->vm.verbose, "restore", "booting a guest");
			return 0;
		}
		sv_cli_error("restore", error);
		return SV_EXIT_FAILURE;
	}
	*ret_from = from_base ? "base" : "pool";
	if (!from_base)
		sv_cli_verbose(o->vm.verbose, "restore", "took pool guest %s", m->name);
	/* from here on only the placer reads the snapshot */
	*ret_prefetch = sv_page_prefetch_start(reader, info->runs);
	if (!o->no_refill && !from_base)
		refill_pool(m, o);
	g->machine = g_steal_pointer(&m);
	gboolean own_restorer = has_own_restorer(g->machine, arch);
	/* two waits on the guest's QEMU at once: its monitor (where its RAM
	 * file is) and its agent (hello) */
	MapRamJob job = { .m = g->machine };
	GThread *mapping = g_thread_new("map-ram", map_ram_thread, &job);
	gboolean ok = (g->agent = sv_agent_client_connect(g->machine->agent_socket, 10000,
							  &error)) != NULL;
	if (ok) {
		sv_agent_client_set_interrupt_fd(g->agent, sfd);
		ok = sv_agent_client_hello(g->agent, 10000, &g->agent_info, &error);
	}
	/* first: nothing random is made in it before its CRNG is its own */
	if (ok && from_base)
		ok = sv_pool_base_resumed(g->agent, &error);
	g_thread_join(mapping);
	g->ram = job.ram;
	sv_machine_release_control(g->machine);
	if (ok && !g->ram) {
		g_propagate_error(&error, g_steal_pointer(&job.error));
		ok = FALSE;
	}
	g_clear_error(&job.error);
	if (ok) {
		*ret_standby = usable_standby(g, own_restorer, info, o->vm.verbose);
		ok = !*ret_standby || image_for_mailbox(g, image, ret_mailed, &error);
		ok = ok && (*ret_mailed ||
			    sv_restore_send_to_guest(arch, image, !own_restorer, g->agent, &error));
	}
	g_unlink(image);
	if (ok)
		sv_cli_verbose(o->vm.verbose, "restore", "%s %s",
			       own_restorer ? "image (its restorer is this build's)"
					    : "restorer and image",
			       *ret_mailed ? "to go into its standby's mailbox once handed over"
					   : "written into it");
	return ok ? 0
		  : sv_cli_end_vm("restore", g->machine, FALSE, SV_EXIT_FAILURE,
				  g_steal_pointer(&error), o->vm.verbose);
}

/* The usual way: the restorer and image packed into the initrd of a guest
 * booted for the restore. 0, or the exit code of a failure, reported. */
static int boot_guest(SvSnapshotReader *reader, const SvArchOps *arch, const SvImage *image,
		      const SvRootfs *rootfs, const RestoreOptions *o, const char *accel,
		      SvRestorePages how, const char *tmpdir, int sfd, SvCliGuest *g,
		      SvRestoreImageInfo *info, SvPagePrefetch **ret_prefetch)
{
	gboolean host_pages = how != SV_RESTORE_PAGES_IN_IMAGE;
	g_autoptr(GError) error = NULL;
	g_autofree char *initrd = NULL;
	const char *archives[] = { image->initramfs, rootfs ? rootfs->modules_cpio : NULL, NULL };
	if (!sv_restore_build_initrd_layers(reader, arch, archives, tmpdir, how, &initrd, info,
					    &error)) {
		g_rmdir(tmpdir);
		sv_cli_error("restore", error);
		return SV_EXIT_FAILURE;
	}
	sv_cli_verbose(o->vm.verbose, "restore",
		       "restore image of pid %u (%s): %u VMAs, %" G_GUINT64_FORMAT
		       " pages, %.1f MiB, in the initrd",
		       info->pid, info->comm, info->nvmas, info->pages,
		       info->image_bytes / 1048576.0);
	/* while the guest boots (only the placer reads the snapshot now) */
	if (host_pages)
		*ret_prefetch = sv_page_prefetch_start(reader, info->runs);
	g_autofree char *name = o->vm.name
					? g_strdup(o->vm.name)
					: sv_cli_vm_name(info->comm[0] ? info->comm : "restored");
	guint memory = o->vm.memory_mib > 0 ? (guint)o->vm.memory_mib
					    : sv_restore_memory_mib(info, 512);
	if (memory < sv_restore_memory_mib(info, 0))
		fprintf(stderr,
			"snapvm restore: warning: --memory %u MiB may be too little for "
			"a %.0f MiB snapshot (%u MiB suggested)\n",
			memory, info->image_bytes / 1048576.0, sv_restore_memory_mib(info, 0));
	/* The arch's restore parameters (arch/<arch>/restorer/restore-cmdline,
	 * which says why each), then the user's. */
	SvMachineConfig want = { .arch = arch, .accel = accel, .cpu_model = o->vm.cpu };
	g_autofree char *own = sv_restore_cmdline(&want);
	g_autofree char *cmdline = g_strjoin(" ", own, rootfs ? SV_ROOTFS_CMDLINE : "",
					     o->vm.append ? o->vm.append : "", NULL);
	g_strstrip(cmdline);
	SvMachineConfig config = {
		.arch = arch,
		.name = name,
		.accel = accel,
		.memory_mib = memory,
		.vcpus = 1,
		.cpu_model = o->vm.cpu,
		.image_dir = image->dir,
		.kernel = image->kernel,
		.connect_uri = o->vm.connect,
		.cmdline_extra = cmdline[0] ? cmdline : NULL,
		.initrd = initrd,
		.disk = rootfs ? rootfs->disk : NULL,
	};
	int rc = sv_cli_boot("restore", &config, tmpdir, host_pages, sfd, o->vm.verbose, g);
	if (rc)
		return rc;
	sv_cli_verbose(o->vm.verbose, "restore", "agent %s up on %s %s (guest boot done)",
		       g->agent_info.agent_version, g->agent_info.machine,
		       g->agent_info.kernel_release);
	return 0;
}

int sv_cmd_restore(int argc, char **argv)
{
	g_auto(RestoreOptions) o = { .vm = SV_CLI_VM_OPTIONS_INIT };
	g_autofree char *cpu_help = sv_cli_cpu_help(
		"QEMU CPU model with every feature the snapshot's FPU/SIMD state uses "
		"(checked before the guest boots), e.g. max.");
	GOptionEntry entries[] = {
		{ "arch", 'a', 0, G_OPTION_ARG_STRING, &o.vm.arch,
		  "Guest architecture; must be the snapshot's (the default)", "ARCH" },
		{ "accel", 0, 0, G_OPTION_ARG_STRING, &o.vm.accel,
		  "Accelerator: tcg, kvm or auto (default auto, as for run)", "ACCEL" },
		{ "cpu", 0, 0, G_OPTION_ARG_STRING, &o.vm.cpu, cpu_help, "MODEL" },
		{ "memory", 'm', 0, G_OPTION_ARG_INT, &o.vm.memory_mib,
		  "Guest RAM in MiB (default: 512, or what the snapshot needs)", "MIB" },
		{ "name", 'n', 0, G_OPTION_ARG_STRING, &o.vm.name,
		  "VM name (default: the process's name plus a random suffix)", "NAME" },
		{ "detach", 'd', 0, G_OPTION_ARG_NONE, &o.vm.detach,
		  "Leave the VM running; print its name and the restored process's guest pid",
		  NULL },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o.vm.json,
		  "With --detach, print the VM and pid as JSON; without, once the process has "
		  "exited, print on stderr a JSON object with the times (ms from the command's "
		  "start) to the process running, to its first output and, with --lazy, to the "
		  "last page placed",
		  NULL },
		{ "image", 0, 0, G_OPTION_ARG_FILENAME, &o.vm.image,
		  "The root filesystem image to boot (a name; default: the one the snapshot's "
		  "process ran on, found in the cache by its sha256; another one is refused), or "
		  "a base guest image directory (a path with '/'; default: the cache's current "
		  "image for the arch)",
		  "NAME|DIR" },
		{ "connect", 'c', 0, G_OPTION_ARG_STRING, &o.vm.connect, "libvirt URI (as for run)",
		  "URI" },
		{ "pages", 0, 0, G_OPTION_ARG_STRING, &o.pages,
		  "How pages reach the guest: host (default: written straight into guest RAM) or "
		  "initrd (carried in the initrd, copied by the guest)",
		  "HOW" },
		{ "append", 0, 0, G_OPTION_ARG_STRING, &o.vm.append, "Extra kernel command line",
		  "ARGS" },
		{ "copy-out", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.copy_out,
		  "After the process exits, copy a guest file (absolute, or relative to /) to "
		  "the host, as run --copy-out does; repeatable",
		  "GUEST:HOST" },
		{ "pool", 0, 0, G_OPTION_ARG_NONE, &o.pool,
		  "Take an idle guest of `snapvm pool` (arch, CPU model and enough memory) instead "
		  "of booting one, and start a replacement in the background; boot as usual when "
		  "there is none",
		  NULL },
		{ "base", 0, 0, G_OPTION_ARG_NONE, &o.base,
		  "Start the guest from a saved base (`snapvm pool save`: a booted pool guest's "
		  "state, in the cache) instead of booting one; with --pool, when no pool guest "
		  "is idle. The VM is then the one the base was saved as (its name: --name does "
		  "not apply), one at a time. When there is none for this arch, CPU model, memory, image and "
		  "snapvm, or it cannot be loaded, boot as usual (-v and --json say why) and save "
		  "one in the background for the next restore",
		  NULL },
		{ "no-refill", 0, 0, G_OPTION_ARG_NONE, &o.no_refill,
		  "With --pool: boot no replacement for the guest taken; with --base: save no "
		  "base in the background",
		  NULL },
		{ "lazy", 0, 0, G_OPTION_ARG_NONE, &o.lazy,
		  "Let the process run before the pages of its private anonymous memory are in "
		  "place: a pager in the guest (userfaultfd) brings in each page as it is first "
		  "touched and the rest in the background. snapvm serves the pages until the "
		  "process exits (with --detach: until the last is placed)",
		  NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &o.vm.verbose,
		  "Print the steps with timestamps on stderr", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("FILE");
	g_option_context_set_summary(
		ctx,
		"Boots a fresh guest of the snapshot's arch and carries on the snapshot's "
		"process in it, where it stopped.\nIts stdout and stderr stream here; its exit "
		"status becomes snapvm's (128+N if signal N killed it).\nsnapvm's own failures "
		"and refusals exit 125, Ctrl-C 130. The VM is stopped when the process ends, "
		"unless --detach.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "restore", &argc, &argv))
		return SV_EXIT_USAGE;
	if (argc != 2) {
		fprintf(stderr,
			"snapvm restore: give one snapshot FILE (see snapvm restore --help)\n");
		return SV_EXIT_USAGE;
	}
	if (!sv_cli_vm_options_check(&o.vm, "restore"))
		return SV_EXIT_USAGE;
	const char *accel = o.vm.accel ? o.vm.accel : "auto";
	gboolean host_pages = !o.pages || !strcmp(o.pages, "host");
	if (o.pages && strcmp(o.pages, "host") && strcmp(o.pages, "initrd")) {
		fprintf(stderr, "snapvm restore: unknown --pages '%s' (host or initrd)\n", o.pages);
		return SV_EXIT_USAGE;
	}
	if (o.lazy && !host_pages) {
		fprintf(stderr, "snapvm restore: --lazy places pages from the host: leave out "
				"--pages initrd\n");
		return SV_EXIT_USAGE;
	}
	SvRestorePages how = !host_pages ? SV_RESTORE_PAGES_IN_IMAGE
			     : o.lazy	 ? SV_RESTORE_PAGES_LAZY
					 : SV_RESTORE_PAGES_HOST;
	if ((o.pool || o.base) && !host_pages) {
		fprintf(stderr,
			"snapvm restore: --pool and --base place pages from the host: leave "
			"out --pages initrd\n");
		return SV_EXIT_USAGE;
	}
	const char *file = argv[1];
	g_autoptr(GError) error = NULL;
	if (!sv_run_files_check_copy_out(o.copy_out, &error)) {
		sv_cli_error("restore", error);
		return SV_EXIT_USAGE;
	}
	if (o.copy_out && o.vm.detach) {
		fprintf(stderr, "snapvm restore: --copy-out needs the process's end: not with "
				"--detach\n");
		return SV_EXIT_USAGE;
	}
	g_autoptr(SvSnapshotReader) reader = sv_snapshot_reader_open(file, &error);
	if (!reader) {
		sv_cli_error("restore", error);
		return SV_EXIT_FAILURE;
	}
	const SvArchOps *arch = sv_restore_arch(reader, o.vm.arch, &error);
	if (!arch) {
		sv_cli_error("restore", error);
		return SV_EXIT_FAILURE;
	}
	gboolean image_is_dir = o.vm.image && strchr(o.vm.image, '/');
	g_autoptr(GVariant) prov = sv_snapshot_reader_metadata(reader, SV_SNAP_SECTION_PROVENANCE);
	g_autoptr(SvRootfs) rootfs = NULL;
	if (!sv_rootfs_for_snapshot(prov, image_is_dir ? NULL : o.vm.image, &rootfs, &error)) {
		sv_cli_error("restore", error);
		return SV_EXIT_FAILURE;
	}
	g_autoptr(SvImage) image = sv_image_open(arch, image_is_dir ? o.vm.image : NULL, &error);
	if (!image) {
		sv_cli_error("restore", error);
		return SV_EXIT_FAILURE;
	}
	if (rootfs && strcmp(rootfs->arch, arch->name) != 0) {
		fprintf(stderr, "snapvm restore: image '%s' is for %s, the snapshot is %s\n",
			rootfs->name ? rootfs->name : rootfs->dir, rootfs->arch, arch->name);
		return SV_EXIT_FAILURE;
	}
	if (rootfs && !sv_rootfs_check_kernel(rootfs, image->kernel_release, &error)) {
		sv_cli_error("restore", error);
		return SV_EXIT_FAILURE;
	}
	if (rootfs && (o.pool || o.base)) {
		fprintf(stderr,
			"snapvm restore: the snapshot's process ran on image '%s', and pool guests "
			"and bases boot the minimal image without its disk: leave out --pool and "
			"--base\n",
			rootfs->name ? rootfs->name : rootfs->dir);
		return SV_EXIT_USAGE;
	}
	if (rootfs)
		sv_cli_verbose(o.vm.verbose, "restore", "root filesystem image %s (%s), verified",
			       rootfs->name ? rootfs->name : "(no name)", rootfs->dir);
	sv_cli_verbose(o.vm.verbose, "restore", "snapshot %s opened (%s); image %s", file,
		       arch->name, image->dir);
	if (!check_cpu_before_boot(reader, arch, accel, &o.vm, &error)) {
		sv_cli_error("restore", error);
		return SV_EXIT_FAILURE;
	}

	int sfd = sv_cli_catch_signals();

	g_auto(SvRestoreImageInfo) info = { 0 };
	g_autofree char *tmpdir = make_tmpdir(&error);
	if (!tmpdir) {
		sv_cli_error("restore", error);
		return SV_EXIT_FAILURE;
	}
	g_auto(SvCliGuest) g = { 0 };
	guint32 standby = 0;
	/* ended before the reader is freed (declared after it) */
	g_autoptr(SvPagePrefetch) prefetch = NULL;
	g_autoptr(GBytes) mailed = NULL;
	const char *guest_from = "boot";
	g_autofree char *base_fallback = NULL;
	guint save_base_mib = 0;
	if (o.pool || o.base) {
		int prc = take_pool_guest(reader, arch, image, &o, tmpdir, sfd, &g, &info, &standby,
					  &prefetch, &mailed, &guest_from, &base_fallback,
					  &save_base_mib);
		if (prc)
			return prc;
	}
	int rc = g.machine ? 0
			   : boot_guest(reader, arch, image, rootfs, &o, accel, how, tmpdir, sfd,
					&g, &info, &prefetch);
	if (g.machine)
		g_rmdir(tmpdir); /* a pool guest's: the boot removes its own */
	if (rc)
		return rc;
	rc = SV_EXIT_FAILURE;
	guint32 pid = 0;
	int status = 0;
	guint32 run_flags = o.vm.detach ? SV_RUN_BUFFER_WHEN_DETACHED
					: SV_RUN_POWEROFF_ON_HOST_LOSS;
	if (standby &&
	    !start_standby(&g, standby, info.pid, run_flags | (mailed ? SV_RUN_STANDBY_MAIL : 0),
			   o.vm.verbose)) {
		standby = 0;
		/* the usual start reads the image from its file */
		if (mailed && !sv_agent_client_write_file(g.agent, SV_RIMG_GUEST_IMAGE, 0600,
							  g_bytes_get_data(mailed, NULL),
							  g_bytes_get_size(mailed), &error))
			goto out;
	}
	if (standby && mailed) {
		if (!write_mailbox(&g, mailed, &error))
			goto out;
		sv_cli_verbose(o.vm.verbose, "restore",
			       "image written into the standby's mailbox, in guest RAM");
	}
	if (standby)
		pid = info.pid;
	else if (!sv_restore_start(g.agent, info.pid, run_flags, &pid, &error))
		goto out;
	sv_cli_verbose(o.vm.verbose, "restore", "restorer started as guest pid %u%s", pid,
		       standby ? " (the standby, with its pre-faulted pages)" : "");
	gboolean exited = FALSE;
	g_clear_pointer(&prefetch, sv_page_prefetch_finish);
	if (host_pages && info.pages) {
		if (!place_pages(&g, pid, reader, info.runs, o.vm.verbose, &exited, &status,
				 &error))
			goto out;
		if (exited) {
			rc = sv_cli_exit_code(status);
			goto out;
		}
		sv_cli_verbose(o.vm.verbose, "restore", "pages in place; the restorer goes on");
	}
	SvCliRestoreFollow follow = { .pid = pid,
				      .running_ms = sv_cli_elapsed_ms(),
				      .pages = info.pages,
				      .lazy = o.lazy,
				      .lazy_pages = info.lazy_pages,
				      .interrupt_fd = sfd,
				      .guest_from = guest_from,
				      .base_fallback = base_fallback };
	if (o.lazy &&
	    !start_lazy(&g, pid, reader, &info, &follow, o.vm.verbose, &exited, &status, &error))
		goto out;
	if (exited) {
		rc = sv_cli_exit_code(status);
		goto out;
	}
	if (save_base_mib) /* the process runs: a base for the next restore */
		save_base_later(arch, save_base_mib, &o);
	if (pid != info.pid)
		fprintf(stderr,
			"snapvm restore: note: pid %u is taken in the fresh guest; the "
			"process runs as pid %u\n",
			info.pid, pid);
	if (o.lazy || (o.vm.json && !o.vm.detach))
		return sv_cli_restore_follow(&g, &follow, o.copy_out, &o.vm);
	if (!o.copy_out)
		return sv_cli_follow_process("restore", g.machine, g.agent, pid, &o.vm);
	if (sv_cli_stream_until_exit(g.agent, pid, o.vm.verbose ? "restore" : NULL, &status,
				     &error) &&
	    sv_run_files_copy_out(g.agent, o.copy_out, "/", &error))
		rc = sv_cli_exit_code(status);
out:
	return sv_cli_end_vm("restore", g.machine, FALSE, rc, g_steal_pointer(&error),
			     o.vm.verbose);
}
