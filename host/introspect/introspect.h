/* SPDX-License-Identifier: MIT */
/*
 * introspect.h - reading the guest kernel's own structures out of guest
 * memory, with no help from inside the guest.
 *
 * An SvIntrospect joins what the host knows about the guest's kernel (types
 * from its BTF, symbols from its kallsyms, both read from the image file) to
 * a read-only view of its RAM. Guest memory is hostile input: every pointer
 * read from it is translated and bounds-checked before use, and every list
 * walk is bounded and checked for loops.
 */
#ifndef SNAPVM_INTROSPECT_H
#define SNAPVM_INTROSPECT_H

#include <glib.h>

#include "snapvm/arch.h"
#include "host/agent/agent-client.h" /* SvGuestProcess */
#include "base/guest-mem.h"

typedef struct SvIntrospect SvIntrospect;

/* image_dir: the guest image the VM booted (kernel, config). mem is
 * borrowed and must outlive the result. */
SvIntrospect *sv_introspect_new(const SvArchOps *arch, const char *image_dir, const SvGuestMem *mem,
				GError **error);
void sv_introspect_free(SvIntrospect *in);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvIntrospect, sv_introspect_free)

/* Copies len bytes at kernel virtual address va. */
gboolean sv_introspect_read(const SvIntrospect *in, guint64 va, void *buf, gsize len,
			    GError **error);

/* The guest's processes (thread-group leaders, kernel threads included),
 * walking the task list from init_task: an array of SvGuestProcess. Read
 * it with the VM paused, or the list may change under the walk. */
GArray *sv_introspect_processes(const SvIntrospect *in, GError **error);

/* One VMA as /proc/PID/maps would show it. */
typedef struct SvGuestVma {
	guint64 start, end; /* [start, end) */
	guint64 flags;	    /* vm_flags: VM_READ 1, VM_WRITE 2, VM_EXEC 4, VM_SHARED 8 */
	guint64 pgoff;	    /* in pages */
	char *name;	    /* file path, [heap], [stack], [vdso], [vvar], or NULL */
} SvGuestVma;
void sv_guest_vma_clear(SvGuestVma *v);

/* A process's VMAs, sorted (an array of SvGuestVma that frees its names). */
GArray *sv_introspect_vmas(const SvIntrospect *in, guint32 pid, GError **error);
/* Refuses (naming the mapping of guest pid) a VMA whose vm_flags say
 * restore could not give it back as it is: userfaultfd registration,
 * hugetlbfs, MAP_SYNC, a kernel object's mapping (an aio ring). The advice
 * bits (MADV_DONTFORK and the rest) and mlock restore and pass. */
gboolean sv_guest_vma_check_restorable(const SvGuestVma *v, guint32 pid, GError **error);
/* The mm_struct address of a process. */
gboolean sv_introspect_task_mm(const SvIntrospect *in, guint32 pid, guint64 *ret_mm,
			       GError **error);

/* The user registers a task saved on entering the kernel (its pt_regs, in
 * the kernel's layout), read from the top of its vmalloc'd kernel stack
 * through the kernel's page tables. Valid for a task not running in user
 * mode at the moment the VM was paused. */
GBytes *sv_introspect_task_pt_regs(const SvIntrospect *in, guint32 pid, GError **error);
/* The guest kernel's structure layouts (for decoding what the above returns). */
const struct SvKernelTypes *sv_introspect_types(const SvIntrospect *in);

/* Guest-physical root of a process's page tables (its mm->pgd). */
gboolean sv_introspect_page_table_root(const SvIntrospect *in, guint32 pid, SvGpa *ret_root,
				       GError **error);
/* The translation context, for sv_page_walk. */
const SvKernelSpace *sv_introspect_kernel_space(const SvIntrospect *in);
/* Whether reading a timer's time left needs the guest's clock from outside
 * (its kernel has no tk_core symbol to read CLOCK_MONOTONIC from: Debian's
 * arm64 kallsyms holds no data symbols). */
gboolean sv_introspect_needs_guest_clock(const SvIntrospect *in);
/* Tells the guest's CLOCK_MONOTONIC at the pause, in ns (at most the true
 * value: a timer restored from it fires late, never early). */
void sv_introspect_set_guest_clock(SvIntrospect *in, guint64 now_ns);

/* The task_struct and mm_struct addresses of a thread-group leader (mm 0
 * for a kernel thread). */
gboolean sv_introspect_task_address(const SvIntrospect *in, guint32 pid, guint64 *ret_task,
				    guint64 *ret_mm, GError **error);

/* A user process found for checkpointing: alive, not a kernel thread,
 * single-threaded. on_cpu/cpu say whether it was running on a vCPU (and
 * which) when the VM was paused. */
typedef struct SvTaskRef {
	guint64 task; /* task_struct address */
	guint64 mm;   /* mm_struct address */
	guint32 pid;
	guint32 cpu;
	gboolean on_cpu;
} SvTaskRef;
gboolean sv_introspect_find_task(const SvIntrospect *in, guint32 pid, SvTaskRef *ret,
				 GError **error);
/* Its saved user registers (see sv_introspect_task_pt_regs). */
GBytes *sv_introspect_task_ref_pt_regs(const SvIntrospect *in, const SvTaskRef *ref,
				       GError **error);
/* The snapshot's TASK dict (snapshot-format.h): ids, credentials, user
 * pointers the kernel keeps (clear_child_tid, robust_list, rseq), signal
 * actions, masks and alternate stack. */
GVariant *sv_introspect_task_fields(const SvIntrospect *in, const SvTaskRef *ref, GError **error);
/* The snapshot's MM record: layout fields and the saved auxv. */
GVariant *sv_introspect_mm_fields(const SvIntrospect *in, const SvTaskRef *ref, GError **error);
/* The path of a struct path at kernel address path, as d_path prints it. */
char *sv_introspect_path(const SvIntrospect *in, guint64 path, GError **error);
/* The TASK dict's "fds" (files.c): one a{sv} per open fd, pipes with their
 * unread bytes; refuses kinds restore cannot recreate, naming the fd. */
GVariant *sv_introspect_fds(const SvIntrospect *in, const SvTaskRef *ref, GError **error);
/* Adds cwd, umask, rlimits, groups and interval timers to the TASK dict
 * (process-env.c); refuses POSIX timers. */
gboolean sv_introspect_process_env(const SvIntrospect *in, const SvTaskRef *ref, GVariantDict *d,
				   GError **error);
/* prctl state (dumpable, THP disabled, no_new_privs, parent-death signal),
 * its UTS names and its clocks, into d (process-view.c). */
gboolean sv_introspect_process_view(const SvIntrospect *in, const SvTaskRef *ref, GVariantDict *d,
				    GError **error);
/* The arch it was made for. */
const SvArchOps *sv_introspect_arch(const SvIntrospect *in);
/* Kernel-virtual reads for the arch hooks. */
SvKernelReader sv_introspect_reader(const SvIntrospect *in);

#endif
