/* SPDX-License-Identifier: MIT */
/* machine.c - backend-independent half of the machine interface: the VM
 * record in the state dir, and the wrappers every caller goes through. */
#include "host/machine/machine.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "base/errors.h"
#include "host/machine/machine-backend.h"
#include "host/util/state-paths.h"

#define RECORD_GROUP "machine"

/* The backends, in the order --accel auto tries them: the kvm VMM where it
 * can run the config as well as QEMU would, else QEMU under TCG. */
static const SvMachineBackend *const backends[] = {
	&sv_kvm_backend,
	&sv_qemu_backend,
	NULL,
};

/* A handle on the machine name of backend: the shared fields from a config
 * or a record, then the backend's own. */
static SvMachine *open_handle(const SvMachineBackend *backend, const SvArchOps *arch,
			      const char *name, const char *connect_uri, guint memory_mib)
{
	g_assert(backend->instance_size >= sizeof(SvMachine));
	SvMachine *m = g_malloc0(backend->instance_size);
	m->ops = backend->ops;
	m->arch = arch;
	m->name = g_strdup(name);
	m->vm_dir = sv_vm_dir(name);
	m->agent_socket = g_build_filename(m->vm_dir, "agent.sock", NULL);
	m->agent_control_socket = g_build_filename(m->vm_dir, "agent-control.sock", NULL);
	m->console_log = g_build_filename(m->vm_dir, "console.log", NULL);
	m->connect_uri = g_strdup(connect_uri);
	m->memory_mib = memory_mib;
	if (backend->opened)
		backend->opened(m);
	return m;
}

static gboolean write_record(SvMachine *m, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_key_file_set_string(kf, RECORD_GROUP, "backend", m->ops->backend);
	g_key_file_set_string(kf, RECORD_GROUP, "arch", m->arch->name);
	g_key_file_set_uint64(kf, RECORD_GROUP, "memory_mib", m->memory_mib);
	if (m->connect_uri)
		g_key_file_set_string(kf, RECORD_GROUP, "connect", m->connect_uri);
	if (m->image_dir)
		g_key_file_set_string(kf, RECORD_GROUP, "image", m->image_dir);
	if (m->disk)
		g_key_file_set_string(kf, RECORD_GROUP, "disk", m->disk);
	g_autofree char *path = g_build_filename(m->vm_dir, "vm.ini", NULL);
	return g_key_file_save_to_file(kf, path, error);
}

const SvMachineBackend *sv_machine_choose_backend(const SvMachineConfig *config, GError **error)
{
	if (g_strcmp0(config->cpu_model, SV_CPU_HOST) == 0) {
		/* Passing the host's CPUID through would give processes XSAVE
		 * state (AVX-512, AMX) that the VMM's vCPU register reads and
		 * the snapshot's restore do not carry yet. */
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "--cpu host passes the host's CPU through, which needs --accel kvm: "
			    "QEMU's TCG emulates a CPU and cannot; and snapvm's KVM VMM presents "
			    "only the portable model (%s) so far. Use --cpu max for every feature "
			    "TCG emulates, or omit --cpu",
			    config->arch->qemu->default_cpu);
		return NULL;
	}
	/* --accel names a backend: that one, or why not */
	for (const SvMachineBackend *const *b = backends; *b; b++) {
		if (g_strcmp0(config->accel, (*b)->accel) != 0)
			continue;
		if ((*b)->available && !(*b)->available(config, error))
			return NULL;
		return *b;
	}
	/* auto: the first that can run config and is the better choice */
	for (const SvMachineBackend *const *b = backends; *b; b++) {
		if ((!(*b)->available || (*b)->available(config, NULL)) &&
		    (!(*b)->preferred || (*b)->preferred(config)))
			return *b;
	}
	g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
		    "no machine backend can run a %s guest on this host", config->arch->name);
	return NULL;
}

SvMachine *sv_machine_start(const SvMachineConfig *config, GError **error)
{
	if (!sv_vm_name_valid(config->name, error))
		return NULL;
	const SvMachineBackend *backend = sv_machine_choose_backend(config, error);
	if (!backend)
		return NULL;
	if (config->saved_state && !backend->ops->save) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "the %s backend cannot start a VM from a saved state", backend->name);
		return NULL;
	}
	g_autofree char *dir = sv_vm_dir(config->name);
	g_autofree char *parent = g_path_get_dirname(dir);
	if (!sv_mkdir_p(parent, error))
		return NULL;
	if (g_mkdir(dir, 0700) < 0) {
		g_set_error(error, SV_ERROR,
			    errno == EEXIST ? SV_ERROR_INVALID_ARGUMENT : SV_ERROR_FAILED,
			    errno == EEXIST ? "a VM named '%s' already exists (see snapvm list; "
					      "snapvm stop %s)"
					    : "cannot create the VM directory for '%s': %s",
			    config->name, errno == EEXIST ? config->name : g_strerror(errno));
		return NULL;
	}
	SvMachine *m = open_handle(backend, config->arch, config->name, config->connect_uri,
				   config->memory_mib);
	m->image_dir = g_strdup(config->image_dir);
	m->disk = g_strdup(config->disk);
	g_autoptr(GError) local = NULL;
	if (!write_record(m, &local) || !backend->create(m, config, &local)) {
		sv_remove_dir_of_files(dir);
		sv_machine_free(m);
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	return m;
}

SvMachine *sv_machine_open(const char *name, GError **error)
{
	if (!sv_vm_name_valid(name, error))
		return NULL;
	g_autofree char *dir = sv_vm_dir(name);
	g_autofree char *path = g_build_filename(dir, "vm.ini", NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "no VM named '%s' (snapvm list shows the running ones)", name);
		return NULL;
	}
	g_autofree char *backend = g_key_file_get_string(kf, RECORD_GROUP, "backend", NULL);
	g_autofree char *arch_name = g_key_file_get_string(kf, RECORD_GROUP, "arch", NULL);
	g_autofree char *uri = g_key_file_get_string(kf, RECORD_GROUP, "connect", NULL);
	guint64 mib = g_key_file_get_uint64(kf, RECORD_GROUP, "memory_mib", NULL);
	const SvArchOps *arch = sv_arch_lookup(arch_name, error);
	if (!arch)
		return NULL;
	const SvMachineBackend *const *b = backends;
	while (*b && g_strcmp0(backend, (*b)->name) != 0)
		b++;
	if (!*b) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "VM '%s' uses backend '%s', which this snapvm does not know", name,
			    backend ? backend : "(none)");
		return NULL;
	}
	SvMachine *m = open_handle(*b, arch, name, uri, (guint)mib);
	m->image_dir = g_key_file_get_string(kf, RECORD_GROUP, "image", NULL);
	m->disk = g_key_file_get_string(kf, RECORD_GROUP, "disk", NULL);
	return m;
}

void sv_machine_free(SvMachine *m)
{
	if (!m)
		return;
	m->ops->free_backend(m);
	g_free(m->name);
	g_free(m->vm_dir);
	g_free(m->agent_socket);
	g_free(m->agent_control_socket);
	g_free(m->console_log);
	g_free(m->connect_uri);
	g_free(m->image_dir);
	g_free(m->disk);
	g_free(m);
}

gboolean sv_machine_check_introspectable(SvMachine *m, SvMachineState *ret_state, GError **error)
{
	if (!m->image_dir) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "VM '%s' was started without an image record; cannot introspect it",
			    m->name);
		return FALSE;
	}
	g_autoptr(GError) local = NULL;
	SvMachineState st = sv_machine_get_state(m, &local);
	if (st != SV_MACHINE_RUNNING && st != SV_MACHINE_PAUSED) {
		if (local)
			g_propagate_error(error, g_steal_pointer(&local));
		else
			g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "VM '%s' is %s", m->name,
				    sv_machine_state_str(st));
		return FALSE;
	}
	*ret_state = st;
	return TRUE;
}

gboolean sv_machine_pause(SvMachine *m, GError **error)
{
	return m->ops->pause(m, error);
}

gboolean sv_machine_resume(SvMachine *m, GError **error)
{
	return m->ops->resume(m, error);
}

SvMachineState sv_machine_get_state(SvMachine *m, GError **error)
{
	return m->ops->get_state(m, error);
}

const char *sv_machine_state_str(SvMachineState s)
{
	switch (s) {
	case SV_MACHINE_RUNNING:
		return "running";
	case SV_MACHINE_PAUSED:
		return "paused";
	case SV_MACHINE_STOPPED:
		return "stopped";
	case SV_MACHINE_OTHER:
		break;
	}
	return "other";
}

SvGuestMem *sv_machine_map_ram(SvMachine *m, GError **error)
{
	return m->ops->map_ram(m, error);
}

gboolean sv_machine_read_vcpu_regs(SvMachine *m, guint cpu, SvVcpuRegs *ret_regs, GError **error)
{
	return m->ops->read_vcpu_regs(m, cpu, ret_regs, error);
}

gboolean sv_machine_dirty_log(SvMachine *m, const char *mark, char **ret_prev_mark,
			      GBytes **ret_bits, GError **error)
{
	if (!m->ops->dirty_log) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "the %s backend has no dirty log of guest memory", m->ops->backend);
		return FALSE;
	}
	return m->ops->dirty_log(m, mark, ret_prev_mark, ret_bits, error);
}

void sv_machine_release_control(SvMachine *m)
{
	m->ops->release_control(m);
}

char *sv_machine_saved_state_identity(const SvMachineBackend *backend, const SvArchOps *arch)
{
	return backend->ops->save && backend->saved_state_identity
		       ? backend->saved_state_identity(arch)
		       : NULL;
}

gboolean sv_machine_save(SvMachine *m, const char *path, GError **error)
{
	if (!m->ops->save) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "the %s backend cannot save a VM's state", m->ops->backend);
		return FALSE;
	}
	if (!m->ops->save(m, path, error))
		return FALSE;
	return sv_machine_stop(m, FALSE, NULL, error); /* gone already: its record */
}

gboolean sv_machine_stop(SvMachine *m, gboolean keep_console, char **ret_kept_log, GError **error)
{
	if (!m->ops->stop(m, error))
		return FALSE;
	if (keep_console && g_file_test(m->console_log, G_FILE_TEST_EXISTS)) {
		g_autofree char *state = sv_state_dir();
		g_autofree char *logs = g_build_filename(state, "logs", NULL);
		g_autofree char *base = g_strdup_printf("%s.console.log", m->name);
		g_autofree char *dest = g_build_filename(logs, base, NULL);
		if (sv_mkdir_p(logs, NULL) && g_rename(m->console_log, dest) == 0 && ret_kept_log)
			*ret_kept_log = g_steal_pointer(&dest);
	}
	sv_remove_dir_of_files(m->vm_dir);
	return TRUE;
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

GPtrArray *sv_machine_list_names(GError **error)
{
	g_autofree char *state = sv_state_dir();
	g_autofree char *vms = g_build_filename(state, "vms", NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) d = g_dir_open(vms, 0, NULL);
	if (!d)
		return g_steal_pointer(&names); /* nothing started yet */
	const char *n;
	while ((n = g_dir_read_name(d))) {
		g_autofree char *rec = g_build_filename(vms, n, "vm.ini", NULL);
		if (g_file_test(rec, G_FILE_TEST_IS_REGULAR))
			g_ptr_array_add(names, g_strdup(n));
	}
	g_ptr_array_sort(names, compare_strings);
	return g_steal_pointer(&names);
}
