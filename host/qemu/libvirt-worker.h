/* SPDX-License-Identifier: MIT */
/*
 * libvirt-worker.h - libvirt, driven from a short-lived child process.
 *
 * Why a child: the default connection is libvirt's embedded QEMU driver
 * rooted in snapvm's state dir (qemu:///embed?root=<state>/libvirt), which
 * needs no daemon. But that driver locks its root (run/qemu/driver.pid) for
 * the whole life of the process that opened it - closing the connection
 * does not release it (checked with libvirt 9.0). Several snapvm processes
 * must control one VM at once (one streams a workload's output while another
 * pauses it to checkpoint), so no long-lived snapvm process may hold the
 * root. Each snapvm process therefore forks a worker that opens the
 * connection, serves requests over a socketpair, and exits when released,
 * which frees the root for the next process. A file lock taken by the worker
 * makes a second process wait its turn instead of failing. QEMU outlives the
 * worker that started it; the next worker reconnects to its monitor.
 *
 * Any other URI (--connect qemu:///system, a remote host) goes through the
 * same worker, minus the lock: one way to do each thing.
 */
#ifndef SNAPVM_LIBVIRT_WORKER_H
#define SNAPVM_LIBVIRT_WORKER_H

#include <glib.h>

typedef enum {
	SV_LV_CREATE = 1, /* arg: domain XML; starts a transient domain */
	SV_LV_PAUSE,
	SV_LV_RESUME,
	SV_LV_DESTROY, /* succeeds if the domain is already gone */
	SV_LV_STATE,   /* result: running | paused | stopped | other */
	SV_LV_QMP,     /* arg: a QMP command (JSON); result: QEMU's JSON reply */
	/* arg: a file path; saves the domain's whole state there (libvirt's
	 * save image: its header and domain XML, then QEMU's migration
	 * stream), which ends the domain */
	SV_LV_SAVE,
	/* arg: "PATH\nXML": starts a transient domain from the state saved in
	 * PATH, defined by XML (a new name, uuid and socket paths; libvirt
	 * checks it keeps the saved guest's ABI), running */
	SV_LV_RESTORE,
} SvLibvirtOp;

typedef struct SvLibvirtWorker SvLibvirtWorker;

/* Forks the worker and waits until it holds the connection (at most about a
 * minute if another snapvm process holds the embedded root). uri NULL: the
 * embedded driver under the state dir. */
SvLibvirtWorker *sv_libvirt_worker_start(const char *uri, GError **error);
/* Runs op on domain; *ret_result (may be NULL) gets the result text. */
gboolean sv_libvirt_worker_call(SvLibvirtWorker *w, SvLibvirtOp op, const char *domain,
				const char *arg, char **ret_result, GError **error);
/* Ends the worker, releasing the connection and the root. */
void sv_libvirt_worker_stop(SvLibvirtWorker *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvLibvirtWorker, sv_libvirt_worker_stop)

#endif
