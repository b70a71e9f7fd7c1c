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
	guint64 file;	    /* the struct file it maps (kernel address), 0 if none */
	guint64 uffd_ctx;   /* vm_userfaultfd_ctx.ctx: not 0 when a userfaultfd has it */
} SvGuestVma;
void sv_guest_vma_clear(SvGuestVma *v);

/* The frame numbers of the kernel's shared zero page and huge zero page
 * (G_MAXUINT64: none yet), which anonymous read faults map without
 * marking them written (zero-page.c). */
gboolean sv_introspect_zero_frames(const SvIntrospect *in, guint64 *ret_zero_pfn,
				   guint64 *ret_huge_zero_pfn, GError **error);

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

/* A user process found for checkpointing (its leader), or one of its
 * threads: alive, not a kernel thread. on_cpu/cpu say whether it was
 * running on a vCPU (and which) when the VM was paused. */
typedef struct SvTaskRef {
	guint64 task; /* task_struct address */
	guint64 mm;   /* mm_struct address */
	guint32 pid;  /* the process (tgid) */
	guint32 tid;  /* the thread (= pid for the leader) */
	guint32 cpu;
	gboolean on_cpu;
	guint32 nr_threads; /* the leader's: signal->nr_threads */
} SvTaskRef;
gboolean sv_introspect_find_task(const SvIntrospect *in, guint32 pid, SvTaskRef *ret,
				 GError **error);
/* Every thread of the process (SvTaskRef), the leader first: refuses a
 * thread that is exiting and a list that disagrees with nr_threads. */
GArray *sv_introspect_threads(const SvIntrospect *in, const SvTaskRef *leader, GError **error);
/* The pids of the process's child processes (guint32), live or zombies
 * not yet reaped, of any of its threads (SvTaskRef, from the above). */
GArray *sv_introspect_children(const SvIntrospect *in, const GArray *threads, GError **error);
/* Its saved user registers (see sv_introspect_task_pt_regs). */
GBytes *sv_introspect_task_ref_pt_regs(const SvIntrospect *in, const SvTaskRef *ref,
				       GError **error);
/* The snapshot's TASK dict (snapshot-format.h): ids, credentials, user
 * pointers the kernel keeps (clear_child_tid, robust_list, rseq), signal
 * actions, masks and alternate stack. */
GVariant *sv_introspect_task_fields(const SvIntrospect *in, const SvTaskRef *ref, GError **error);
/* One more thread's own part of it (SV_TASK_THREADS): tid, comm, user
 * pointers, signal masks, pending and queued signals, altstack; refuses a
 * thread whose credentials differ from its leader's. */
GVariant *sv_introspect_thread_fields(const SvIntrospect *in, const SvTaskRef *leader,
				      const SvTaskRef *thread, GError **error);
/* The snapshot's MM record: layout fields and the saved auxv. */
GVariant *sv_introspect_mm_fields(const SvIntrospect *in, const SvTaskRef *ref, GError **error);
/* The path of a struct path at kernel address path, as d_path prints it. */
char *sv_introspect_path(const SvIntrospect *in, guint64 path, GError **error);
/* The same for a vfsmount and a dentry in it (kernel addresses). */
char *sv_introspect_path_at(const SvIntrospect *in, guint64 mnt, guint64 dentry, GError **error);
/* The TASK dict's "fds" (files.c): one a{sv} per open fd, pipes with their
 * unread bytes; refuses kinds restore cannot recreate, naming the fd. */
GVariant *sv_introspect_fds(const SvIntrospect *in, const SvTaskRef *ref, GError **error);
/* Adds cwd, umask, rlimits, groups and interval timers to the TASK dict
 * (process-env.c); refuses POSIX timers. */
gboolean sv_introspect_process_env(const SvIntrospect *in, const SvTaskRef *ref, GVariantDict *d,
				   GError **error);
/* A file's contents from the guest's page cache (page-cache.c), by its
 * inode (kernel address). complete: every byte is known (holes: a page the
 * cache lacks is a hole, as on shmem and ramfs; else it is only on disk),
 * contents then hold them. A file over max_size is refused. */
typedef struct SvPageCacheRead {
	GBytes *contents; /* NULL unless complete */
	guint64 size;
	guint64 cached_bytes;
	gboolean complete;
} SvPageCacheRead;
gboolean sv_introspect_page_cache(const SvIntrospect *in, guint64 inode, guint64 max_size,
				  gboolean holes, SvPageCacheRead *ret, GError **error);
/* What an open file (struct file at kernel address file) is underneath
 * its path (file-identity.c). */
#define SV_TMPFS_MAGIC 0x01021994ull /* shmem: tmpfs, memfd, shared anonymous, SysV shm */
#define SV_RAMFS_MAGIC 0x858458f6ull /* the initramfs rootfs without tmpfs */
#define SV_PROC_MAGIC 0x9fa0ull
typedef struct SvFileIdentity {
	guint64 inode; /* kernel address: the identity fds and mappings share */
	guint64 ino;
	guint64 fs_magic; /* its super_block's s_magic */
	guint32 nlink;	  /* 0: no name (unlinked, O_TMPFILE, memfd...) */
	guint32 i_mode;
	guint32 uid, gid; /* its owner (the guest has one user namespace) */
	guint32 seals;	  /* memfd seals (F_SEAL_*), shmem only */
} SvFileIdentity;
gboolean sv_introspect_file_identity(const SvIntrospect *in, guint64 file, SvFileIdentity *ret,
				     GError **error);
/* The segment id of a SysV shm attachment (a mapping's file named
 * /SYSVkey), checked to be one. */
typedef struct SvShmSegment {
	gint32 id;
	guint32 key, mode; /* mode: its permission bits */
	gboolean removed;  /* IPC_RMID'd while attached */
} SvShmSegment;
gboolean sv_introspect_shm_attachment(const SvIntrospect *in, guint64 file, guint64 inode,
				      SvShmSegment *ret, GError **error);
/* A file the guest wrote since it booted (guest-fs.c). */
typedef struct SvGuestFsEntry {
	char *path; /* absolute */
	guint32 i_mode, uid, gid, rdev;
	gint64 atime_sec, mtime_sec;
	guint32 atime_nsec, mtime_nsec;
	guint64 size;
	guint64 inode;	  /* kernel address: the names of one inode share it */
	char *link;	  /* a second name of the inode first seen at this path */
	char *target;	  /* a symbolic link's */
	GBytes *contents; /* a regular file's (holes as zeros) */
} SvGuestFsEntry;
void sv_guest_fs_entry_free(SvGuestFsEntry *e);
/* The guest's writable filesystems (tmpfs, ramfs) as the task ref sees
 * them, less what its root held at boot: SvGuestFsEntry, parents before
 * children. The contents of regular files over max_bytes in all are
 * refused; *ret_bytes says how many were read. */
GPtrArray *sv_introspect_guest_fs(const SvIntrospect *in, const SvTaskRef *ref, guint64 max_bytes,
				  guint64 *ret_bytes, GError **error);
/* An inode's (kernel address) access and modification times, as the
 * kernel's BTF lays them out (guest-fs.c). */
typedef struct SvInodeTimes {
	gint64 atime_sec, mtime_sec;
	guint32 atime_nsec, mtime_nsec;
} SvInodeTimes;
gboolean sv_introspect_inode_times(const SvIntrospect *in, guint64 inode, SvInodeTimes *ret,
				   GError **error);
/* The entry at index of the xarray (or idr) at kernel address xa, 0 if
 * none or not a plain pointer (page-cache.c). */
gboolean sv_introspect_xa_load(const SvIntrospect *in, guint64 xa, guint64 index,
			       guint64 *ret_entry, GError **error);
/* prctl state (dumpable, THP disabled, no_new_privs, parent-death signal),
 * its UTS names and its clocks, into d (process-view.c). */
gboolean sv_introspect_process_view(const SvIntrospect *in, const SvTaskRef *ref, GVariantDict *d,
				    GError **error);
/* The arch it was made for. */
const SvArchOps *sv_introspect_arch(const SvIntrospect *in);
/* Kernel-virtual reads for the arch hooks. */
SvKernelReader sv_introspect_reader(const SvIntrospect *in);

#endif
