/* SPDX-License-Identifier: MIT */
/* restore.c - the host's preparation of a restore (see restore.h). */
#include "host/restore/restore.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "snapvm/restore-image-format.h"
#include "host/agent/agent-client.h"
#include "base/errors.h"
#include "host/restore/restorers.h"
#include "host/snapshot/snapshot-variant.h"
#include "host/image/workload.h"
#include "host/machine/machine.h"
#include "host/machine/machine-backend.h"

static const SvEmbeddedRestorer *restorer_for(const char *arch)
{
	for (const SvEmbeddedRestorer *e = sv_embedded_restorers; e->arch; e++)
		if (!strcmp(e->arch, arch))
			return e;
	return NULL;
}

const SvArchOps *sv_restore_arch(SvSnapshotReader *r, const char *want, GError **error)
{
	const char *name = sv_snap_arch_name(sv_snapshot_reader_arch(r));
	const SvArchOps *arch = sv_arch_lookup(name, NULL);
	if (!arch) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "the snapshot is of a %s process; this snapvm knows %s", name,
			    sv_arch_names());
		return NULL;
	}
	if (want && strcmp(want, arch->name)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "the snapshot is of an %s process and cannot be restored in an %s guest: "
			    "restore runs a process on the arch it was checkpointed on",
			    arch->name, want);
		return NULL;
	}
	if (!restorer_for(arch->name)) {
		GString *have = g_string_new(NULL);
		for (const SvEmbeddedRestorer *e = sv_embedded_restorers; e->arch; e++)
			g_string_append_printf(have, "%s%s", have->len ? ", " : "", e->arch);
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "restoring %s processes is not supported by this build (restore "
			    "supports: %s)",
			    arch->name, have->len ? have->str : "none");
		g_string_free(have, TRUE);
		return NULL;
	}
	return arch;
}

gboolean sv_restore_build_initrd(SvSnapshotReader *r, const SvArchOps *arch,
				 const char *base_initramfs, const char *dir, SvRestorePages pages,
				 char **ret_initrd, SvRestoreImageInfo *ret_info, GError **error)
{
	const char *archives[] = { base_initramfs, NULL };
	return sv_restore_build_initrd_layers(r, arch, archives, dir, pages, ret_initrd, ret_info,
					      error);
}

gboolean sv_restore_build_initrd_layers(SvSnapshotReader *r, const SvArchOps *arch,
					const char *const *archives, const char *dir,
					SvRestorePages pages, char **ret_initrd,
					SvRestoreImageInfo *ret_info, GError **error)
{
	const SvEmbeddedRestorer *e = restorer_for(arch->name);
	g_return_val_if_fail(e != NULL, FALSE);
	g_autofree char *image = g_build_filename(dir, "restore-image", NULL);
	g_autofree char *restorer = g_build_filename(dir, "restore", NULL);
	g_autofree char *initrd = g_build_filename(dir, "initrd.cpio", NULL);
	g_auto(SvRestoreImageInfo) info = { 0 };
	if (!sv_restore_image_write(r, image, pages, &info, error))
		return FALSE;
	gboolean ok = g_file_set_contents_full(restorer, (const char *)e->start, e->end - e->start,
					       G_FILE_SET_CONTENTS_NONE, 0700, error);
	const SvInitrdExtra extras[] = {
		{ SV_RIMG_GUEST_DIR, NULL, 0700 },
		{ SV_RIMG_GUEST_RESTORER, restorer, 0700 },
		{ SV_RIMG_GUEST_IMAGE, image, 0600 },
	};
	const char *no_programs[] = { NULL };
	ok = ok && sv_workload_build_initrd_layers(archives, no_programs, extras,
						   G_N_ELEMENTS(extras), initrd, error);
	g_unlink(image);
	g_unlink(restorer);
	if (!ok)
		return FALSE;
	*ret_initrd = g_steal_pointer(&initrd);
	if (ret_info) {
		*ret_info = info;
		info.runs = NULL;
		info.lazy_runs = NULL;
	}
	return TRUE;
}

char *sv_restore_restorer_sum(const SvArchOps *arch)
{
	const SvEmbeddedRestorer *e = restorer_for(arch->name);
	g_return_val_if_fail(e != NULL, NULL);
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, e->start, e->end - e->start);
}

gboolean sv_restore_build_pool_initrd(const SvArchOps *arch, const char *base_initramfs,
				      const char *dir, char **ret_initrd, GError **error)
{
	const SvEmbeddedRestorer *e = restorer_for(arch->name);
	if (!e) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "restoring %s processes is not supported by this build", arch->name);
		return FALSE;
	}
	g_autofree char *restorer = g_build_filename(dir, "restore", NULL);
	g_autofree char *initrd = g_build_filename(dir, "initrd.cpio", NULL);
	const char *archives[] = { base_initramfs, NULL };
	const SvInitrdExtra extras[] = {
		{ SV_RIMG_GUEST_DIR, NULL, 0700 },
		{ SV_RIMG_GUEST_RESTORER, restorer, 0700 },
	};
	const char *no_programs[] = { NULL };
	gboolean ok = g_file_set_contents_full(restorer, (const char *)e->start, e->end - e->start,
					       G_FILE_SET_CONTENTS_NONE, 0700, error) &&
		      sv_workload_build_initrd_layers(archives, no_programs, extras,
						      G_N_ELEMENTS(extras), initrd, error);
	g_unlink(restorer);
	if (ok)
		*ret_initrd = g_steal_pointer(&initrd);
	return ok;
}

gboolean sv_restore_send_to_guest(const SvArchOps *arch, const char *image, gboolean with_restorer,
				  SvAgentClient *agent, GError **error)
{
	const SvEmbeddedRestorer *e = restorer_for(arch->name);
	g_return_val_if_fail(e != NULL, FALSE);
	g_autoptr(GMappedFile) mapped = g_mapped_file_new(image, FALSE, error);
	return mapped &&
	       (!with_restorer || sv_agent_client_write_file(agent, SV_RIMG_GUEST_RESTORER, 0700,
							     e->start, e->end - e->start, error)) &&
	       sv_agent_client_write_file(agent, SV_RIMG_GUEST_IMAGE, 0600,
					  g_mapped_file_get_contents(mapped),
					  g_mapped_file_get_length(mapped), error);
}

char *sv_restore_cmdline(const SvMachineConfig *want)
{
	const SvEmbeddedRestorer *e = restorer_for(want->arch->name);
	if (!e)
		return g_strdup("");
	/* a backend that cannot boot this fails the boot itself, saying why */
	const SvMachineBackend *backend = sv_machine_choose_backend(want, NULL);
	gboolean tcg = backend && !g_strcmp0(backend->accel, "tcg");
	return g_strjoin(" ", e->cmdline, tcg ? e->cmdline_tcg : "", NULL);
}

guint sv_restore_memory_mib(const SvRestoreImageInfo *info, guint at_least)
{
	/* the initrd twice while it is unpacked, the pages once more (those
	 * placed after the process resumes too: --lazy) */
	guint64 mib = 2 * (info->image_bytes >> 20) + ((info->pages + info->lazy_pages) >> 8) + 384;
	return (guint)MAX(mib, at_least);
}

/* Sends request (buf, len) and reads the pid of its SV_MSG_RUN_REPLY. */
static gboolean request_pid(SvAgentClient *agent, guint16 type, const guint8 *buf, gsize len,
			    guint32 *ret_pid, GError **error)
{
	g_auto(SvAgentFrame) f = { 0 };
	struct sv_rbuf r;
	if (!sv_agent_client_request(agent, type, buf, len, SV_MSG_RUN_REPLY, 30000, &f, &r, error))
		return FALSE;
	guint32 pid = sv_rbuf_u32(&r);
	if (!sv_rbuf_done(&r) || pid == 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "malformed reply to %s",
			    type == SV_MSG_RUN_AS_PID ? "RUN_AS_PID" : "STANDBY_GO");
		return FALSE;
	}
	*ret_pid = pid;
	return TRUE;
}

static gboolean run_as_pid(SvAgentClient *agent, guint32 want_pid, guint32 run_flags,
			   const char *const *argv, guint argc, guint32 *ret_pid, GError **error)
{
	guint8 buf[256];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_u32(&w, want_pid);
	sv_wbuf_u32(&w, run_flags);
	sv_wbuf_u32(&w, argc);
	for (guint i = 0; i < argc; i++)
		sv_wbuf_str(&w, argv[i]);
	g_assert(!w.overflow);
	return request_pid(agent, SV_MSG_RUN_AS_PID, buf, w.len, ret_pid, error);
}

gboolean sv_restore_start(SvAgentClient *agent, guint32 want_pid, guint32 run_flags,
			  guint32 *ret_pid, GError **error)
{
	static const char *const argv[] = { SV_RIMG_GUEST_RESTORER, SV_RIMG_GUEST_IMAGE };
	return run_as_pid(agent, want_pid, run_flags, argv, G_N_ELEMENTS(argv), ret_pid, error);
}

/* Where a standby restorer waits: high, out of the way of the pids a
 * workload started after boot gets (which a snapshot's process usually
 * has, and the restore then wants); below the smallest pid_max (32768). */
#define STANDBY_PID 32000

gboolean sv_restore_run_standby(SvAgentClient *agent, guint mib, guint32 *ret_pid, GError **error)
{
	g_autofree char *mib_arg = g_strdup_printf("%u", mib);
	const char *const argv[] = { SV_RIMG_GUEST_RESTORER, "--standby", mib_arg };
	return run_as_pid(agent, STANDBY_PID, SV_RUN_BUFFER_WHEN_DETACHED, argv, G_N_ELEMENTS(argv),
			  ret_pid, error);
}

gboolean sv_restore_start_standby(SvAgentClient *agent, guint32 standby_pid, guint32 want_pid,
				  guint32 run_flags, GError **error)
{
	guint8 buf[12];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_u32(&w, standby_pid);
	sv_wbuf_u32(&w, want_pid);
	sv_wbuf_u32(&w, run_flags);
	g_assert(!w.overflow);
	guint32 pid;
	if (!request_pid(agent, SV_MSG_STANDBY_GO, buf, w.len, &pid, error))
		return FALSE;
	if (pid != want_pid) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "the agent handed the standby restorer pid %u, not %u", pid, want_pid);
		return FALSE;
	}
	return TRUE;
}
