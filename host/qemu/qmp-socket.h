/* SPDX-License-Identifier: MIT */
/*
 * qmp-socket.h - a QMP monitor of snapvm's own on each QEMU it starts
 * (-qmp unix:<vm_dir>/qmp.sock), used for the commands a checkpoint makes
 * (state, pause, resume, QOM and HMP queries) without libvirt.
 *
 * Why: libvirt's embedded driver is opened in a worker process per snapvm
 * command (libvirt-worker.h), and that open (driver state, capabilities,
 * CPU maps, reconnecting to the VM's own monitor) costs 0.3 to 1.4 s under
 * load: most of the fixed cost of an incremental checkpoint. A QMP command
 * on this socket costs a millisecond. Each command connects, negotiates
 * and closes again, so that another snapvm process waits at most for one
 * command, never for a whole checkpoint (QEMU serves one client at a time).
 * libvirt learns of a pause or resume made here from QEMU's STOP and
 * RESUME events when its worker is connected, and by asking QEMU for its
 * status when the next worker reconnects.
 */
#ifndef SNAPVM_QMP_SOCKET_H
#define SNAPVM_QMP_SOCKET_H

#include <glib.h>

/* The socket's name in the VM directory. */
#define SV_QMP_SOCKET_NAME "qmp.sock"

/* Runs one QMP command (JSON text) on the monitor at path; returns QEMU's
 * reply to it (the JSON object with "return" or "error"; events before it
 * are skipped), or NULL with error: SV_ERROR_NOT_FOUND when nothing listens
 * at path (an older VM, or QEMU gone), so the caller can ask libvirt;
 * SV_ERROR_TIMEOUT when the connection, the command or its reply took
 * longer than timeout_ms. Never blocks longer than that. */
char *sv_qmp_socket_command(const char *path, const char *command, guint timeout_ms,
			    GError **error);

#endif
