/* SPDX-License-Identifier: MIT */
/*
 * gdbstub.h - a client for QEMU's gdbstub (the GDB remote serial protocol)
 * that reads one paused vCPU's registers by the names of the stub's target
 * description.
 *
 * Read-only on purpose: it sends qSupported, qXfer:features:read, Hg and p,
 * nothing that writes or resumes. Closing never sends 'D': QEMU's detach
 * starts the VM (gdb_continue), which would undo the pause the VM's owner
 * (libvirt) made. Note that QEMU stops a running VM when a client connects:
 * connect only to a paused VM's stub.
 */
#ifndef SNAPVM_GDBSTUB_H
#define SNAPVM_GDBSTUB_H

#include <glib.h>

typedef struct SvGdbStub SvGdbStub;

/* Connects to the stub listening on the unix socket path and reads its
 * target description; timeout_ms bounds each exchange. */
SvGdbStub *sv_gdb_stub_connect(const char *path, guint timeout_ms, GError **error);
/* Makes vCPU cpu_index (QEMU's, from 0) the one registers are read from. */
gboolean sv_gdb_stub_select_cpu(SvGdbStub *s, guint cpu_index, GError **error);
/* Whether the target description has a register called name. */
gboolean sv_gdb_stub_has_register(SvGdbStub *s, const char *name);
/* Reads register name into buf; len must be its size in the target
 * description. Bytes come in the target's order, as the stub sends them. */
gboolean sv_gdb_stub_read_register(SvGdbStub *s, const char *name, void *buf, gsize len,
				   GError **error);
/* Closes the connection (never detaching, see above). */
void sv_gdb_stub_close(SvGdbStub *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvGdbStub, sv_gdb_stub_close)

#endif
