/* SPDX-License-Identifier: MIT */
/* introspect-private.h - shared by the files of host/introspect/. */
#ifndef SNAPVM_INTROSPECT_PRIVATE_H
#define SNAPVM_INTROSPECT_PRIVATE_H

#include "snapvm/le.h" /* sv_get_le64 */
#include "host/introspect/introspect.h"
#include "base/kallsyms.h"
#include "base/kernel-types.h"

struct SvIntrospect {
	const SvArchOps *arch;
	const SvGuestMem *mem;
	SvKernelTypes *types;
	SvKallsyms *syms;
	SvKernelSpace space;
	/* the guest's CLOCK_MONOTONIC at the pause, in ns, as told by
	 * sv_introspect_set_guest_clock; 0: unknown */
	guint64 clock_hint_ns;
};

/* The exact value of the struct percpu_counter at counter (its count plus
 * every CPU's delta), percpu.c. */
gboolean sv_introspect_percpu_counter_sum(const SvIntrospect *in, guint64 counter, gint64 *ret,
					  GError **error);

/* struct-page.c: struct page addresses to page frames (the vmemmap). */
typedef struct {
	guint64 vmemmap; /* the struct page of first_pfn */
	guint64 first_pfn;
	guint64 page_size; /* sizeof(struct page) */
} SvStructPages;
gboolean sv_struct_pages_init(const SvIntrospect *in, SvStructPages *sp, GError **error);
gboolean sv_struct_page_frame(const SvStructPages *sp, guint64 page, guint64 *ret_pfn,
			      GError **error);

/* A little-endian integer of size bytes (at most 8) at guest address va. */
static inline gboolean sv_introspect_read_uint(const SvIntrospect *in, guint64 va, guint size,
					       guint64 *ret, GError **error)
{
	guint8 b[8] = { 0 };
	if (size > 8 || !sv_introspect_read(in, va, b, size, error))
		return FALSE;
	*ret = sv_get_le64(b);
	return TRUE;
}

/* process-env.c: the guest's struct timekeeper (in tk_core). */
gboolean sv_introspect_timekeeper(const SvIntrospect *in, guint64 *ret, GError **error);

/* posix-timers.c: the process's POSIX timers (SV_TASK_POSIX_TIMERS) into
 * d, from its signal_struct at guest address signal. */
gboolean sv_introspect_posix_timers(const SvIntrospect *in, const SvTaskRef *ref, guint64 signal,
				    GVariantDict *d, GError **error);

/* net-local-addr.c: *ret_local says whether addr (4 bytes, or 16 if v6;
 * network order) is one the network namespace of the struct sock at sk
 * lets any socket bind to (an interface's, a loopback prefix's, a
 * broadcast or multicast one). */
gboolean sv_introspect_inet_addr_local(const SvIntrospect *in, guint64 sk, gboolean v6,
				       const guint8 *addr, gboolean *ret_local, GError **error);

/* creds.c: securebits and capability sets (SV_TASK_CAPS) into d. */
gboolean sv_introspect_caps(const SvIntrospect *in, const SvTaskRef *ref, GVariantDict *d,
			    GError **error);

/* fd-anon.c: an fd on an anonymous inode (its struct file at guest
 * address file): its kind and the kind's state into d, or a refusal
 * naming the fd and what it is. The kinds' own readers, given
 * file->private_data: */
gboolean sv_introspect_fd_anon(const SvIntrospect *in, guint32 pid, guint fd, guint64 file,
			       GVariantDict *d, GError **error);
gboolean sv_introspect_eventfd(const SvIntrospect *in, guint32 pid, guint fd, guint64 ctx,
			       GVariantDict *d, GError **error);
gboolean sv_introspect_timerfd(const SvIntrospect *in, guint32 pid, guint fd, guint64 ctx,
			       GVariantDict *d, GError **error);
gboolean sv_introspect_signalfd(const SvIntrospect *in, guint32 pid, guint fd, guint64 ctx,
				GVariantDict *d, GError **error);
gboolean sv_introspect_epoll(const SvIntrospect *in, guint32 pid, guint fd, guint64 ep,
			     GVariantDict *d, GError **error);
gboolean sv_introspect_inotify(const SvIntrospect *in, guint32 pid, guint fd, guint64 group,
			       GVariantDict *d, GError **error);

/* fd-socket.c: a socket fd (its struct file at guest address file): an
 * unbound UNIX socket into d, or a refusal naming the fd and what it is
 * (a TCP connection with its addresses). */
gboolean sv_introspect_fd_socket(const SvIntrospect *in, guint32 pid, guint fd, guint64 file,
				 GVariantDict *d, GError **error);

/* ipc-namespace.c: the process's IPC namespace (nsproxy at guest address
 * nsproxy) holds nothing snapvm does not carry - SysV semaphore sets or
 * message queues, POSIX message queues, limits other than a fresh
 * namespace's - or a refusal naming it. */
gboolean sv_introspect_ipc_namespace(const SvIntrospect *in, const SvTaskRef *ref, guint64 nsproxy,
				     GError **error);

/* fd-relations.c: what one fd of the list fds (SV_TASK_FDS_TYPE) refers to
 * through another is still there: each epoll item's fd holds the file it
 * was added as, each connected UNIX socket's peer is another fd of the
 * process. Otherwise a refusal naming the fd. */
gboolean sv_introspect_fd_relations(GVariant *fds, guint32 pid, GError **error);

/* fd-locks.c: the locks held through the open file `file` (fd `fd`, on
 * `inode`, opened with f_mode `mode`) of the process whose files_struct is
 * `files`, into d; posix_done (a set of guint64, file_lock addresses, kept
 * across the process's fds) lists each POSIX lock on one fd only. A lease
 * is refused. */
gboolean sv_introspect_fd_locks(const SvIntrospect *in, guint32 pid, guint fd, guint64 file,
				guint64 inode, guint32 mode, guint64 files, GHashTable *posix_done,
				GVariantDict *d, GError **error);
/* process-env.c: the guest's CLOCK_MONOTONIC at its last timekeeping
 * update, in ns, from tk_core (which needs the kernel's data symbols), and
 * if ret_offs_boot, CLOCK_BOOTTIME's offset from it (tk->offs_boot). */
gboolean sv_introspect_guest_monotonic(const SvIntrospect *in, guint64 *ret, guint64 *ret_offs_boot,
				       GError **error);

#endif
