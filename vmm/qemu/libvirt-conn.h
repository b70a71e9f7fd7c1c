/* SPDX-License-Identifier: MIT */
/*
 * libvirt-conn.h - a libvirt connection held for one stretch of work.
 *
 * The default URI is libvirt's embedded QEMU driver rooted in the state dir
 * (qemu:///embed?root=<state>/libvirt): no daemon to install or start. The
 * embedded driver lets one process at a time open a root, so snapvm never
 * holds a connection longer than an operation needs, and takes a file lock
 * first, so a second snapvm process waits its turn instead of failing. A
 * domain outlives the connection that started it: QEMU keeps running, and
 * whoever opens the root next reconnects to its monitor. That is how one
 * process can stream a workload's output (which needs no libvirt, only the
 * agent socket) while another pauses the same VM to checkpoint it.
 *
 * Any other URI (--connect qemu:///system, a remote host) is used as is,
 * without the lock: the daemon behind it serialises for us.
 */
#ifndef SNAPVM_LIBVIRT_CONN_H
#define SNAPVM_LIBVIRT_CONN_H

#include <glib.h>
#include <libvirt/libvirt.h>

typedef struct SvLibvirtConn {
	virConnectPtr conn;
	int lock_fd; /* -1 when not the embedded driver */
	char *uri;
	char *embed_root; /* NULL when not the embedded driver */
} SvLibvirtConn;

/* uri NULL means the embedded driver under the state dir. Waits up to
 * a minute for another snapvm process to finish with the embedded root. */
SvLibvirtConn *sv_libvirt_open(const char *uri, GError **error);
void sv_libvirt_close(SvLibvirtConn *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvLibvirtConn, sv_libvirt_close)

/* Turns libvirt's last error into a GError with a hint where one helps. */
void sv_libvirt_set_error(GError **error, const char *what);

#endif
