/* SPDX-License-Identifier: MIT */
/*
 * dirty-track.h - finding the pages a process wrote since an earlier
 * checkpoint from the guest kernel's soft-dirty bits instead of hashing
 * every page at the pause (page-select.h).
 *
 * How: at a checkpoint, before the pause, the guest agent writes "4" to
 * /proc/PID/clear_refs ("arming"): the kernel clears the soft-dirty bit of
 * every PTE and huge PMD of the process and the VM_SOFTDIRTY flag of every
 * VMA, write-protects the pages and flushes the TLBs of every CPU. From
 * then on the first write to a page faults and sets its bit again. Every
 * page the snapshot stores is read after the arm, so a later checkpoint
 * that finds a page's bit clear (and its VMA's VM_SOFTDIRTY clear) knows
 * it was not written since that snapshot was taken, and takes it from the
 * parent. The bits read at the pause come straight from the guest's page
 * tables (the arch decodes them: SvArchOps.soft_dirty, decode_pte).
 *
 * Why that is sound, case by case (Linux 6.1, mm/ and fs/proc/task_mmu.c):
 *  - any write, by the process or by the kernel through its page tables
 *    (copy_to_user, signal frames, rseq, GUP with FOLL_WRITE as ptrace and
 *    /proc/PID/mem use) goes through the write-protect fault, which marks
 *    the PTE dirty and soft-dirty;
 *  - copy-on-write after fork and KSM break the sharing by that same fault;
 *    a KSM merge or a page migration only moves identical contents, and
 *    migration carries the bit in the migration entry;
 *  - THP: a huge PMD has the bit too; splitting it copies the bit into
 *    every PTE; khugepaged's collapse marks the new PMD dirty;
 *  - mremap marks every PTE it moves soft-dirty; a new or grown mapping
 *    (mmap, brk, the stack at exec, munmap then mmap at the same address)
 *    gets VM_SOFTDIRTY, which counts every page in it as written;
 *  - a page dropped (MADV_DONTNEED, or MADV_FREE and reclaimed) and read
 *    again maps the kernel's zero page (or huge zero page) with its bit
 *    clear: a page mapping a zero frame counts as written
 *    (host/introspect/zero-page.c); dropped and not touched again, it is
 *    absent, and an absent page is never taken from the parent;
 *  - swap is off in snapvm guests, so no page leaves and comes back
 *    through a swap entry (whose bit is elsewhere);
 *  - only private anonymous mappings are judged by their bits: a shared or
 *    file-backed page can change through another process's PTEs or the
 *    page cache (write(2) on the file) without touching this process's
 *    tables, so those pages are still hashed;
 *  - a later arm clears bits an older snapshot's children relied on: the
 *    agent keeps, per pid, the mark of the latest arm only, and a child
 *    uses soft-dirty only when its parent's mark is that one and names the
 *    same task (pid, task_struct, mm) — otherwise it hashes. A rebooted
 *    guest's agent has no marks.
 * What it does not see, as CRIU's pre-dump does not: a device or the kernel
 * writing into pages it pinned earlier (DMA, io_uring fixed buffers, an
 * O_DIRECT read in flight) without a fault; and a process (or anything in
 * the guest) that writes clear_refs itself, as Boehm GC's SOFT_VDB mode
 * does, between two checkpoints (checkpoint --no-soft-dirty then hashes).
 * The dirtier workload (tests/workloads/dirtier.c) exercises the cases a
 * test can reach: small and huge pages, a mapping replaced in place, a
 * dropped page read again.
 *
 * An incremental checkpoint does not arm again: the bits then keep
 * counting from the first arm, which covers its own snapshot too, so its
 * children use the same mark. Where the arch has no soft-dirty (arm64 in
 * 6.1, riscv64), or the guest agent is not reachable, pages are hashed.
 */
#ifndef SNAPVM_DIRTY_TRACK_H
#define SNAPVM_DIRTY_TRACK_H

#include <glib.h>

#include "host/checkpoint/checkpoint.h"
#include "host/introspect/introspect.h"

/* How a checkpoint chose the pages it stores. */
typedef enum {
	SV_DIRTY_NONE,	     /* a full checkpoint: all */
	SV_DIRTY_HASHES,     /* every page hashed and compared with the parent's */
	SV_DIRTY_SOFT_DIRTY, /* private anonymous pages by their soft-dirty bits */
	SV_DIRTY_LOG,	     /* every page by the hypervisor's dirty log (dirty-log.h) */
} SvDirtyMethod;
const char *sv_dirty_method_str(SvDirtyMethod m);

/* A new mark for arming task t: random, and naming the task (pid, its
 * task_struct and mm addresses), at most SV_SOFT_DIRTY_MAX_MARK bytes. */
char *sv_dirty_mark_new(const SvTaskRef *t);
/* Whether mark was made for task t (sv_dirty_mark_new). */
gboolean sv_dirty_mark_names(const char *mark, const SvTaskRef *t);

/* The DIRTY_TRACK section: the mark of the arm the snapshot's pages were
 * read after (a{sv}, SV_SNAP_DIRTY_* keys). */
GVariant *sv_dirty_track_variant(const char *mark);
/* Its mark, or NULL when the section is absent or has none. */
char *sv_dirty_track_mark(GVariant *section);
/* The same for another method's section (method: the section's
 * SV_SNAP_DIRTY_METHOD; dirty-log.h's). */
GVariant *sv_dirty_track_variant_for(const char *method, const char *mark);
char *sv_dirty_track_mark_for(GVariant *section, const char *method);

/* What a checkpoint finds before its pause (the VM running). parent:
 * the parent's DIRTY_TRACK section, or NULL. When incremental and the
 * parent's mark is the agent's latest for this very task, the method is
 * SV_DIRTY_SOFT_DIRTY and *ret_mark the parent's (nothing is cleared).
 * Otherwise the bits are armed anew for a later checkpoint (*ret_mark the
 * new mark), and the method is hashes (incremental) or none. Tracking only
 * ever saves work: what stops it (no soft-dirty on the arch, no agent, an
 * arm that fails, a paused VM whose agent cannot answer) leaves *ret_mark
 * NULL and says why in *ret_note.
 * *ret_task: the task as found, for the pause to check it is the same. */
SvDirtyMethod sv_dirty_track_begin(const SvArchOps *arch, const SvIntrospect *in,
				   const SvCheckpointOptions *o, gboolean vm_running,
				   gboolean incremental, GVariant *parent, SvTaskRef *ret_task,
				   char **ret_mark, char **ret_note);

/* vm_flags' VM_SOFTDIRTY (include/linux/mm.h, with CONFIG_MEM_SOFT_DIRTY) */
#define SV_VM_SOFTDIRTY 0x08000000ull
/* Whether a VMA's pages may be judged by their soft-dirty bits: private
 * and anonymous. */
gboolean sv_dirty_vma_tracked(const SvGuestVma *v);

#endif
