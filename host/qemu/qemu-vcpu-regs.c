/* SPDX-License-Identifier: MIT */
/* qemu-vcpu-regs.c - see qemu-vcpu-regs.h. */
#include "host/qemu/qemu-vcpu-regs.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "base/errors.h"
#include "host/qemu/gdbstub.h"

/* The gdbstub's socket in the VM directory, there only during a read. */
#define GDB_SOCKET_NAME "gdb.sock"
#define GDB_TIMEOUT_MS 10000

typedef struct {
	SvMachine *m;
	guint cpu;
	SvGdbStub *stub;
	char *monitor_text;
} VcpuSource;

static gboolean source_has(gpointer ctx, const char *name)
{
	VcpuSource *src = ctx;
	return sv_gdb_stub_has_register(src->stub, name);
}

static gboolean source_read(gpointer ctx, const char *name, void *buf, gsize len, GError **error)
{
	VcpuSource *src = ctx;
	return sv_gdb_stub_read_register(src->stub, name, buf, len, error);
}

static const char *source_monitor_text(gpointer ctx, GError **error)
{
	VcpuSource *src = ctx;
	if (!src->monitor_text)
		src->monitor_text = sv_qemu_machine_hmp(src->m, "info registers", (gint)src->cpu,
							error);
	if (src->monitor_text && !*src->monitor_text) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "VM '%s' has no vCPU %u",
			    src->m->name, src->cpu);
		return NULL;
	}
	return src->monitor_text;
}

/* "gdbserver" takes a chardev spec: commas in the path are doubled, and
 * the whole argument is quoted for HMP's own parser. */
static char *gdbserver_command(const char *socket_path)
{
	g_autoptr(GString) arg = g_string_new("unix:");
	for (const char *p = socket_path; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_c(arg, '\\');
		g_string_append_c(arg, *p);
		if (*p == ',')
			g_string_append_c(arg, ',');
	}
	g_string_append(arg, ",server=on,wait=off");
	return g_strdup_printf("gdbserver \"%s\"", arg->str);
}

static gboolean stop_gdbserver(SvMachine *m, const char *socket_path, GError **error)
{
	g_autofree char *out = sv_qemu_machine_hmp(m, "gdbserver none", -1, error);
	if (!out)
		return FALSE;
	/* QEMU removes its listening socket; make sure of it */
	if (g_unlink(socket_path) < 0 && errno != ENOENT) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot remove %s: %s", socket_path,
			    g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

gboolean sv_qemu_vcpu_regs_read(SvMachine *m, guint cpu, SvVcpuRegs *ret_regs, GError **error)
{
	gboolean running;
	if (!sv_qemu_machine_running(m, &running, error))
		return FALSE;
	if (running) {
		g_set_error(
			error, SV_ERROR, SV_ERROR_FAILED,
			"VM '%s' is running: its vCPU registers are read only while it is paused",
			m->name);
		return FALSE;
	}
	g_autofree char *socket_path = g_build_filename(m->vm_dir, GDB_SOCKET_NAME, NULL);
	g_autofree char *start = gdbserver_command(socket_path);
	g_autofree char *started = sv_qemu_machine_hmp(m, start, -1, error);
	if (!started)
		return FALSE;
	if (!g_str_has_prefix(started, "Waiting for gdb connection")) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "QEMU cannot start its gdbstub: %s",
			    g_strstrip(started));
		stop_gdbserver(m, socket_path, NULL);
		return FALSE;
	}
	VcpuSource src = { .m = m, .cpu = cpu };
	SvGdbRegReader rd = { .has = source_has,
			      .read = source_read,
			      .monitor_text = source_monitor_text,
			      .ctx = &src };
	src.stub = sv_gdb_stub_connect(socket_path, GDB_TIMEOUT_MS, error);
	gboolean ok = src.stub && sv_gdb_stub_select_cpu(src.stub, cpu, error) &&
		      sv_arch_gdb_vcpu_regs(m->arch, &rd, ret_regs, error);
	g_clear_pointer(&src.stub, sv_gdb_stub_close);
	g_free(src.monitor_text);
	/* cleanup errors matter only when the read itself went well */
	GError **cleanup_error = ok ? error : NULL;
	ok = stop_gdbserver(m, socket_path, cleanup_error) && ok;
	if (ok && !sv_qemu_machine_running(m, &running, error))
		return FALSE;
	if (ok && running) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "VM '%s' started running while its vCPU registers were read", m->name);
		return FALSE;
	}
	return ok;
}
