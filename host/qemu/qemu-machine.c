/* SPDX-License-Identifier: MIT */
/*
 * qemu-machine.c - the machine interface on libvirt + QEMU.
 *
 * Every operation goes through a libvirt worker process (see
 * libvirt-worker.h), started on first use and kept until release_control,
 * except the queries, pauses and resumes snapvm's own QMP monitor answers
 * (qmp-socket.h: no libvirt start-up for a checkpoint),
 * and guest RAM is located by asking
 * QEMU itself (QOM) for the backing file of its memory backend, rather than
 * guessing libvirt's file naming - once per VM: the answer is recorded in
 * the VM's directory (ram-file).
 */
#include "host/qemu/qemu-machine.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <dlfcn.h>
#include <libvirt/libvirt.h>

#include "base/errors.h"
#include "host/machine/machine-backend.h"
#include "host/qemu/domain-xml.h"
#include "host/qemu/libvirt-worker.h"
#include "host/qemu/qmp-socket.h"
#include "host/qemu/qemu-vcpu-regs.h"

/* How long a command on snapvm's own monitor may take before libvirt is
 * asked instead (QEMU answers in a millisecond; its main loop can be slow
 * under load). */
#define QMP_DIRECT_TIMEOUT_MS 5000

typedef struct SvQemuMachine {
	SvMachine base;
	SvLibvirtWorker *worker; /* kept between operations until release_control */
} SvQemuMachine;

static SvQemuMachine *qm(SvMachine *m)
{
	return (SvQemuMachine *)m;
}

/* Answers a query or pause/resume through snapvm's own monitor
 * (qmp-socket.h) as the worker would; NULL: ask libvirt (no such monitor,
 * QEMU gone, or a state libvirt knows better). */
static char *direct(SvMachine *m, SvLibvirtOp op, const char *arg)
{
	const char *command = op == SV_LV_PAUSE	   ? "{\"execute\":\"stop\"}"
			      : op == SV_LV_RESUME ? "{\"execute\":\"cont\"}"
			      : op == SV_LV_STATE  ? "{\"execute\":\"query-status\"}"
			      : op == SV_LV_QMP	   ? arg
						   : NULL;
	if (!command || !m->vm_dir)
		return NULL;
	g_autofree char *path = g_build_filename(m->vm_dir, SV_QMP_SOCKET_NAME, NULL);
	g_autofree char *reply = sv_qmp_socket_command(path, command, QMP_DIRECT_TIMEOUT_MS, NULL);
	if (!reply || op == SV_LV_QMP)
		return g_steal_pointer(&reply);
	g_autoptr(JsonParser) p = json_parser_new();
	JsonNode *root = json_parser_load_from_data(p, reply, -1, NULL) ? json_parser_get_root(p)
									: NULL;
	JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
	JsonNode *ret = o ? json_object_get_member(o, "return") : NULL;
	if (!ret)
		return NULL;
	if (op != SV_LV_STATE)
		return g_strdup("");
	const char *status =
		JSON_NODE_HOLDS_OBJECT(ret)
			? json_object_get_string_member_with_default(json_node_get_object(ret),
								     "status", "")
			: "";
	if (!strcmp(status, "running") || !strcmp(status, "paused"))
		return g_strdup(status);
	return NULL;
}

static gboolean call(SvMachine *m, SvLibvirtOp op, const char *arg, char **ret_result,
		     GError **error)
{
	g_autofree char *quick = direct(m, op, arg);
	if (quick) {
		if (ret_result)
			*ret_result = g_steal_pointer(&quick);
		return TRUE;
	}
	if (!qm(m)->worker) {
		qm(m)->worker = sv_libvirt_worker_start(m->connect_uri, error);
		if (!qm(m)->worker)
			return FALSE;
	}
	return sv_libvirt_worker_call(qm(m)->worker, op, m->name, arg, ret_result, error);
}

static char *find_emulator(const SvArchOps *arch, GError **error)
{
	char *path = g_find_program_in_path(arch->qemu->emulator);
	if (!path)
		g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
			    "%s is not installed: apt-get install %s", arch->qemu->emulator,
			    arch->qemu->package);
	return path;
}

gboolean sv_qemu_machine_create(SvMachine *m, const SvMachineConfig *config, GError **error)
{
	g_autofree char *emulator = find_emulator(m->arch, error);
	if (!emulator)
		return FALSE;
	g_autofree char *xml = sv_domain_xml_build(m, config, emulator);
	if (config->saved_state) {
		if (strchr(config->saved_state, '\n')) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "a saved state's path cannot hold a newline: %s",
				    config->saved_state);
			return FALSE;
		}
		g_autofree char *arg = g_strconcat(config->saved_state, "\n", xml, NULL);
		return call(m, SV_LV_RESTORE, arg, NULL, error);
	}
	/* Transient: the domain vanishes when it stops, nothing to undefine. */
	return call(m, SV_LV_CREATE, xml, NULL, error);
}

/* libvirt's save image (its header and the domain's XML, then QEMU's
 * migration stream); libvirt ends the domain once it is written. */
static gboolean qemu_save(SvMachine *m, const char *path, GError **error)
{
	return call(m, SV_LV_SAVE, path, NULL, error);
}

static gboolean qemu_pause(SvMachine *m, GError **error)
{
	return call(m, SV_LV_PAUSE, NULL, NULL, error);
}

static gboolean qemu_resume(SvMachine *m, GError **error)
{
	return call(m, SV_LV_RESUME, NULL, NULL, error);
}

static gboolean qemu_stop(SvMachine *m, GError **error)
{
	return call(m, SV_LV_DESTROY, NULL, NULL, error);
}

static SvMachineState qemu_get_state(SvMachine *m, GError **error)
{
	g_autofree char *state = NULL;
	if (!call(m, SV_LV_STATE, NULL, &state, error))
		return SV_MACHINE_OTHER;
	if (!strcmp(state, "running"))
		return SV_MACHINE_RUNNING;
	if (!strcmp(state, "paused"))
		return SV_MACHINE_PAUSED;
	if (!strcmp(state, "stopped"))
		return SV_MACHINE_STOPPED;
	return SV_MACHINE_OTHER;
}

/* Runs one QMP command and returns its "return" member. */
static JsonNode *qmp(SvMachine *m, const char *command, GError **error)
{
	g_autofree char *reply = NULL;
	if (!call(m, SV_LV_QMP, command, &reply, error))
		return NULL;
	g_autoptr(JsonParser) p = json_parser_new();
	if (!json_parser_load_from_data(p, reply, -1, error))
		return NULL;
	JsonNode *root = json_parser_get_root(p);
	JsonObject *o = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
	if (!o || !json_object_has_member(o, "return")) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "QEMU monitor: %s", reply);
		return NULL;
	}
	return json_node_copy(json_object_get_member(o, "return"));
}

/* Reads a property of one of QEMU's /objects. */
static JsonNode *qom_get(SvMachine *m, const char *object, const char *property, GError **error)
{
	g_autofree char *cmd =
		g_strdup_printf("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/objects/%s\","
				"\"property\":\"%s\"}}",
				object, property);
	return qmp(m, cmd, error);
}

/* Finds the memory-backend-file object QEMU uses for main RAM. */
static gboolean find_ram_file(SvMachine *m, char **ret_path, guint64 *ret_size, GError **error)
{
	g_autoptr(JsonNode) list =
		qmp(m, "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/objects\"}}", error);
	if (!list)
		return FALSE;
	JsonArray *arr = JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;
	for (guint i = 0; arr && i < json_array_get_length(arr); i++) {
		JsonObject *o = json_array_get_object_element(arr, i);
		const char *type = json_object_get_string_member_with_default(o, "type", "");
		const char *name = json_object_get_string_member_with_default(o, "name", "");
		if (g_strcmp0(type, "child<memory-backend-file>") != 0)
			continue;
		g_autoptr(JsonNode) path = qom_get(m, name, "mem-path", error);
		if (!path)
			return FALSE;
		g_autoptr(JsonNode) size = qom_get(m, name, "size", error);
		if (!size)
			return FALSE;
		*ret_path = g_strdup(json_node_get_string(path));
		*ret_size = (guint64)json_node_get_int(size);
		return TRUE;
	}
	g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
		    "QEMU has no file-backed RAM object; was this VM started by snapvm?");
	return FALSE;
}

/*
 * The RAM file found, recorded in the VM's directory, which lives as long
 * as the VM (sv_machine_start makes it, stop removes it): the three
 * monitor round trips of find_ram_file (each tens of ms while TCG keeps
 * QEMU busy) are paid once per VM rather than at every checkpoint. The
 * record names the monitor socket it was found through (inode and change
 * time: a QEMU started again makes the socket anew), and is believed only
 * while that socket is the same and the file has the size recorded.
 */
#define RAM_RECORD "ram-file"
#define RAM_GROUP "ram"

static char *ram_record_path(SvMachine *m)
{
	return m->vm_dir ? g_build_filename(m->vm_dir, RAM_RECORD, NULL) : NULL;
}

static gboolean monitor_identity(SvMachine *m, guint64 *ret_ino, gint64 *ret_ctime_ns)
{
	g_autofree char *sock = g_build_filename(m->vm_dir, SV_QMP_SOCKET_NAME, NULL);
	struct stat st;
	if (stat(sock, &st) < 0)
		return FALSE;
	*ret_ino = st.st_ino;
	*ret_ctime_ns = (gint64)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	return TRUE;
}

static gboolean recorded_ram_file(SvMachine *m, char **ret_path, guint64 *ret_size)
{
	g_autofree char *record = ram_record_path(m);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	guint64 ino;
	gint64 ctime_ns;
	if (!record || !monitor_identity(m, &ino, &ctime_ns) ||
	    !g_key_file_load_from_file(kf, record, G_KEY_FILE_NONE, NULL) ||
	    g_key_file_get_uint64(kf, RAM_GROUP, "monitor-inode", NULL) != ino ||
	    g_key_file_get_int64(kf, RAM_GROUP, "monitor-ctime-ns", NULL) != ctime_ns)
		return FALSE;
	g_autofree char *path = g_key_file_get_string(kf, RAM_GROUP, "path", NULL);
	guint64 size = g_key_file_get_uint64(kf, RAM_GROUP, "size", NULL);
	GStatBuf st;
	if (!path || g_stat(path, &st) < 0 || (guint64)st.st_size != size)
		return FALSE;
	*ret_path = g_steal_pointer(&path);
	*ret_size = size;
	return TRUE;
}

/* Best effort: without the record, the next lookup asks QEMU again. */
static void record_ram_file(SvMachine *m, const char *path, guint64 size)
{
	g_autofree char *record = ram_record_path(m);
	guint64 ino;
	gint64 ctime_ns;
	if (!record || !monitor_identity(m, &ino, &ctime_ns))
		return;
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_key_file_set_string(kf, RAM_GROUP, "path", path);
	g_key_file_set_uint64(kf, RAM_GROUP, "size", size);
	g_key_file_set_uint64(kf, RAM_GROUP, "monitor-inode", ino);
	g_key_file_set_int64(kf, RAM_GROUP, "monitor-ctime-ns", ctime_ns);
	(void)g_key_file_save_to_file(kf, record, NULL);
}

static SvGuestMem *qemu_map_ram(SvMachine *m, GError **error)
{
	g_autofree char *path = NULL;
	guint64 size = 0;
	if (!recorded_ram_file(m, &path, &size)) {
		if (!find_ram_file(m, &path, &size, error))
			return NULL;
		record_ram_file(m, path, size);
	}
	SvRamRegion regions[SV_RAM_REGIONS_MAX];
	guint n = m->arch->qemu->ram_layout(size, regions);
	return sv_guest_mem_open(path, regions, n, error);
}

char *sv_qemu_machine_hmp(SvMachine *m, const char *command_line, gint cpu, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "execute");
	json_builder_add_string_value(b, "human-monitor-command");
	json_builder_set_member_name(b, "arguments");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "command-line");
	json_builder_add_string_value(b, command_line);
	if (cpu >= 0) {
		json_builder_set_member_name(b, "cpu-index");
		json_builder_add_int_value(b, cpu);
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	g_autofree char *cmd = json_to_string(root, FALSE);
	g_autoptr(JsonNode) text = qmp(m, cmd, error);
	if (!text)
		return NULL;
	const char *s = JSON_NODE_HOLDS_VALUE(text) ? json_node_get_string(text) : NULL;
	if (!s) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "QEMU monitor: '%s' gave no text",
			    command_line);
		return NULL;
	}
	return g_strdup(s);
}

gboolean sv_qemu_machine_running(SvMachine *m, gboolean *ret_running, GError **error)
{
	g_autoptr(JsonNode) st = qmp(m, "{\"execute\":\"query-status\"}", error);
	if (!st)
		return FALSE;
	JsonObject *o = JSON_NODE_HOLDS_OBJECT(st) ? json_node_get_object(st) : NULL;
	if (!o || !json_object_has_member(o, "running")) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "QEMU monitor: query-status has no 'running'");
		return FALSE;
	}
	*ret_running = json_object_get_boolean_member(o, "running");
	return TRUE;
}

static void qemu_release_control(SvMachine *m)
{
	g_clear_pointer(&qm(m)->worker, sv_libvirt_worker_stop);
}

static void qemu_free_backend(SvMachine *m)
{
	qemu_release_control(m);
}

/* A saved state is QEMU's migration stream inside libvirt's save image:
 * loaded by the same QEMU binary and libvirt it was saved with, it needs
 * no compatibility check of either. */
static char *qemu_saved_state_identity(const SvArchOps *arch)
{
	g_autofree char *emulator = g_find_program_in_path(arch->qemu->emulator);
	/* libvirt's library as a file: asking its version would initialise
	 * it here, before a worker sets where it logs */
	Dl_info lib = { 0 };
	if (!dladdr((void *)virConnectOpen, &lib))
		lib.dli_fname = NULL;
	GStatBuf st, lst;
	gboolean found = emulator && g_stat(emulator, &st) == 0;
	gboolean lfound = lib.dli_fname && g_stat(lib.dli_fname, &lst) == 0;
	return g_strdup_printf("%s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "; %s %" G_GINT64_FORMAT
			       " %" G_GINT64_FORMAT "; built with libvirt %d",
			       emulator ? emulator : arch->qemu->emulator,
			       found ? (gint64)st.st_size : -1, found ? (gint64)st.st_mtime : -1,
			       lib.dli_fname ? lib.dli_fname : "libvirt",
			       lfound ? (gint64)lst.st_size : -1,
			       lfound ? (gint64)lst.st_mtime : -1, LIBVIR_VERSION_NUMBER);
}

static const SvMachineOps qemu_machine_ops = {
	.backend = "qemu",
	.pause = qemu_pause,
	.resume = qemu_resume,
	.stop = qemu_stop,
	.get_state = qemu_get_state,
	.map_ram = qemu_map_ram,
	.read_vcpu_regs = sv_qemu_vcpu_regs_read,
	.save = qemu_save,
	.release_control = qemu_release_control,
	.free_backend = qemu_free_backend,
};

/* Libvirt's QEMU under TCG: every arch, every CPU model QEMU has. */
const SvMachineBackend sv_qemu_backend = {
	.name = "qemu",
	.accel = "tcg",
	.instance_size = sizeof(SvQemuMachine),
	.ops = &qemu_machine_ops,
	.create = sv_qemu_machine_create,
	.saved_state_identity = qemu_saved_state_identity,
};
