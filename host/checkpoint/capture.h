/* SPDX-License-Identifier: MIT */
/*
 * capture.h - everything a snapshot holds of one task, read out of a paused
 * guest into host memory: metadata sections ready to write, the VMAs, and a
 * copy of every mapped page. Nothing here points into guest memory, so the
 * VM can run again as soon as sv_capture returns.
 */
#ifndef SNAPVM_CAPTURE_H
#define SNAPVM_CAPTURE_H

#include <glib.h>

#include "host/checkpoint/checkpoint.h"
#include "host/checkpoint/page-buffer.h"
#include "host/introspect/introspect.h"

/* A run of pages, contiguous in the task's address space, copied to
 * pages + offset. */
typedef struct SvPageRun {
	guint64 va, len, offset;
	SvGpa pa;
	/* in a file-backed mapping: its zero pages must be stored, since a
	 * page a snapshot lacks there reads from the file */
	gboolean keep_zero;
	guint vma;
	/* for an incremental checkpoint (SvPageBuffer.select), which keeps
	 * runs apart where these differ: written since the guest last cleared
	 * the soft-dirty bits (the PTE's bit, or its VMA's VM_SOFTDIRTY); in a
	 * VMA whose pages those bits may judge (dirty-track.h); mapped by a
	 * huge page, whose one bit covers all its pages */
	gboolean dirty, tracked, huge;
} SvPageRun;

typedef struct SvCaptureVma {
	SvGuestVma vma;
	gboolean file_backed; /* contents come from a file, carried by path */
	char *sha256;	      /* of the carried file, once carried */
} SvCaptureVma;

typedef struct SvCapture {
	GVariant *task, *regs, *fpu, *tls, *mm; /* snapshot metadata sections */
	/* the TASK dict's "fds" (introspect.h), joined to the task when
	 * written: their regular files' sha256 are known once carried */
	GVariant *fds;
	GArray *vmas; /* SvCaptureVma */
	/* path -> GBytes: mapped files read from the page cache at the pause
	 * (mapped-files.h, set by the caller), or NULL */
	GHashTable *mapped_files;
	GArray *runs;		 /* SvPageRun, in address order */
	SvPageBuffer buffer;	 /* the copies */
	guint8 *pages;		 /* buffer.data */
	gsize pages_len;	 /* bytes of it in use */
	const char *regs_source; /* the leader's: "memory" or "vcpu" */
	SvSyscallFixup syscall;	 /* the leader's */
	guint nthreads;		 /* the leader included */
	guint threads_on_vcpu;	 /* how many had their registers read from a vCPU */
	double copy_ms;
} SvCapture;

/* Reads the process's state: threads[0] is its leader, then its other
 * threads (sv_introspect_threads). vcpus: NULL, or one entry per thread,
 * the registers of the vCPU it runs on in user mode, or NULL when it is
 * off every CPU. buffer: prepared before the pause (taken over if large
 * enough, else replaced), or NULL. */
SvCapture *sv_capture(const SvIntrospect *in, const SvGuestMem *mem, const SvTaskRef *threads,
		      guint nthreads, SvVcpuRegs *const *vcpus, SvPageBuffer *buffer,
		      SvProgressFn progress, gpointer progress_data, GError **error);
void sv_capture_free(SvCapture *cap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvCapture, sv_capture_free)

/* The process's VMAs (SvCaptureVma), each checked restorable. */
GArray *sv_capture_vmas(const SvIntrospect *in, guint32 pid, GError **error);
/* The runs of mapped pages of the process's VMAs (SvCaptureVma; the
 * kernel's own special mappings left out), in address order, with their
 * bytes in all; split_dirty: with the dirty-tracking fields of SvPageRun,
 * runs kept apart by them. Read it with the VM paused. */
GArray *sv_capture_walk_pages(const SvIntrospect *in, const SvGuestMem *mem, guint32 pid,
			      const GArray *vmas, gboolean split_dirty, guint64 *ret_total,
			      GError **error);

/* The VMAS section (its sha256 fields filled once files are carried). */
/* Faults in the host's view of the process's pages in guest memory (read
 * only), found now by a walk of its page tables while the VM runs: the
 * copy at the pause then takes no fault on them (a fresh view of guest RAM
 * is mapped for every checkpoint, and faulting it in took a third of a
 * 1 GiB pause). An estimate: pages found later are faulted in by the copy
 * as before; failures only mean the same. */
void sv_capture_prefault_source(const SvIntrospect *in, const SvGuestMem *mem, guint32 pid);
GVariant *sv_capture_vmas_variant(const SvCapture *cap);
/* The PROVENANCE section: who took the snapshot, of what, where. */
GVariant *sv_capture_provenance(const SvCapture *cap, const SvMachine *m, guint32 pid);

#endif
