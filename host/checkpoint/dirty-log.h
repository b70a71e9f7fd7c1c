/* SPDX-License-Identifier: MIT */
/*
 * dirty-log.h - finding the pages a process wrote since its parent
 * checkpoint from the hypervisor's log of written guest RAM
 * (SvMachineOps.dirty_log; the kvm backend's is KVM's dirty log,
 * host/kvm/dirty-log.c), instead of the guest's soft-dirty bits
 * (dirty-track.h) or hashing every page at the pause (page-select.h).
 *
 * How: every checkpoint on such a machine takes the log at its pause
 * (which clears it: the log then runs from this pause) under a new mark
 * naming the task (sv_dirty_mark_new), and records where each of the
 * process's present pages was in guest-physical memory at that pause (its
 * frame; <vm_dir>/dirty-frames, with the mark). An incremental checkpoint
 * whose parent's mark is the one the log ran from stores a page when
 *   its frame was written since the parent's pause (the log), or
 *   its PTE now points to another frame than at the parent's pause, or
 *   the parent had no page there;
 * and takes every other present page from the parent.
 *
 * Why that is sound: a page's contents change only when its frame is
 * written or its PTE is pointed at another frame. Every write to a frame
 * is in the log, whoever makes it: the process, the guest kernel through
 * any mapping (the direct map: copy_to_user, write(2) into a page-cache
 * page, zeroing, copying), another process sharing the frame, or the VMM
 * itself (a disk read, DMA-like: the VMM marks what it hands out,
 * host/kvm/dirty-log.c). KVM logs by guest-physical page, not by mapping,
 * so nothing here depends on how the page is mapped, and it holds for
 * shared and file-backed mappings as for private anonymous ones. What
 * moves a page to another frame is caught by the frame comparison:
 *  - the zero page: a page dropped (MADV_DONTNEED) and read again maps
 *    the kernel's zero frame, never written; its frame differs from the
 *    parent's;
 *  - copy-on-write (after fork, or of the zero page), page migration
 *    (compaction, NUMA), KSM merging, THP collapse or split into other
 *    frames: all map another frame (and the copy into it is a write too);
 *  - mremap and munmap-then-mmap at the same address: another frame at
 *    that address, or the same frame at another address (compared per
 *    address, so it counts as changed);
 *  - THP: the log is per 4 KiB page, so a huge page's untouched parts
 *    stay the parent's;
 *  - a frame freed and given back to the same address holds new contents
 *    only by a write (zeroing at least), which the log has.
 * The log is relative to the last take, whichever checkpoint made it: a
 * child is judged by the log only when its parent's mark is the one the
 * VMM held (no other checkpoint of this VM in between) and the frames
 * recorded are that mark's; otherwise pages are hashed. Unlike soft-dirty,
 * no guest agent is needed, the guest cannot clear the log, and nothing
 * is armed before the pause.
 */
#ifndef SNAPVM_DIRTY_LOG_H
#define SNAPVM_DIRTY_LOG_H

#include <glib.h>

#include "host/checkpoint/checkpoint.h"
#include "host/checkpoint/dirty-track.h"
#include "host/checkpoint/page-select.h"
#include "host/introspect/introspect.h"
#include "host/machine/machine.h"

#define SV_DIRTY_METHOD_LOG_NAME "dirty-log"

typedef struct SvDirtyLog SvDirtyLog;

/* Before the pause: NULL when m keeps no dirty log (or the task is not
 * found, *ret_note then says so): the caller uses dirty-track.h instead.
 * parent_track: the parent's DIRTY_TRACK section, or NULL. sel: the
 * incremental checkpoint's choice, whose pages the log judges. *ret_task:
 * the task as found, for the pause to check it is the same. */
SvDirtyLog *sv_dirty_log_begin(SvMachine *m, const SvIntrospect *in, guint32 pid,
			       GVariant *parent_track, SvPageSelect *sel, SvTaskRef *ret_task,
			       char **ret_note);
/* At the pause, every vCPU stopped: takes the log. What fails only makes
 * the checkpoint hash (the note says why). */
void sv_dirty_log_take(SvDirtyLog *d);
/* An SvPageSelectFn for an incremental checkpoint (data: the SvDirtyLog):
 * records the frames of every present page, then chooses by the log when
 * it runs from the parent's pause, else by hashes. */
gboolean sv_dirty_log_select(GArray *runs, guint64 *total, const SvGuestMem *mem, gpointer data,
			     GError **error);
/* After a full checkpoint's capture: records the frames of runs (every
 * page present at the pause). */
void sv_dirty_log_record(SvDirtyLog *d, const GArray *runs);
/* What chose the pages: SV_DIRTY_LOG, or hashes, or none. */
SvDirtyMethod sv_dirty_log_method(const SvDirtyLog *d, gboolean incremental);
/* The mark for the snapshot's DIRTY_TRACK section (NULL: none: its
 * children will hash), and why tracking did not apply, or NULL. */
const char *sv_dirty_log_mark(const SvDirtyLog *d);
const char *sv_dirty_log_note(const SvDirtyLog *d);
void sv_dirty_log_free(SvDirtyLog *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvDirtyLog, sv_dirty_log_free)

#endif
