/* SPDX-License-Identifier: MIT */
/*
 * restore-image.h - the flat restore image: what `snapvm restore` makes of a
 * snapshot for the guest-side restorer (guest-agent/restore-main.c and
 * arch/<arch>/restorer/). Shared by host and guest: plain C11, no GLib.
 *
 * The snapshot format is for storage (self-describing, checksummed,
 * compressed); this is for the restorer, which runs without libraries,
 * partly without even its own memory mapped, and must not parse anything.
 * So the host does all validation and conversion, and the image is fixed
 * little-endian structs (only little-endian guests restore so far), offsets
 * from the start of the file, page data page-aligned so that it is read
 * straight into place with one pread per run of pages.
 *
 *   0        struct sv_rimg_header
 *   ...      sv_rimg_vma[nvmas], sorted by start, not overlapping
 *            sv_rimg_file[nfiles]   (files the mappings map, one each)
 *            sv_rimg_run[nruns]     (runs of stored pages, sorted by vaddr)
 *            sv_rimg_sigaction[nsigactions]
 *            sv_rimg_sigqueue[nsigqueue]
 *            uint64_t auxv[2 * nauxv]  (id, value pairs, AT_NULL included)
 *            sv_rimg_named[nregs]   (arch registers, by the snapshot's names)
 *            uint8_t fpu[fpu_size]  (the arch's FPU state, snapshot format)
 *            strings (paths; NUL-terminated)
 *   page-aligned: carried file contents, then page data
 *
 * The host checks every offset and count against the file size; the guest
 * checks them again (the image is as untrusted as the snapshot it came from
 * only through the host, but a crash in the restorer is worse than a check).
 */
#ifndef SNAPVM_RESTORE_IMAGE_H
#define SNAPVM_RESTORE_IMAGE_H

#include <stdint.h>

#define SV_RIMG_MAGIC "SVRIMG\0\1"
#define SV_RIMG_VERSION 1u
/* Where `snapvm restore` puts things in the guest (in the appended cpio). */
#define SV_RIMG_GUEST_DIR "/workload/.snapvm-restore"
#define SV_RIMG_GUEST_IMAGE SV_RIMG_GUEST_DIR "/image"
#define SV_RIMG_GUEST_RESTORER SV_RIMG_GUEST_DIR "/restore"
/* Exit status of the restorer when it refuses or fails before the process
 * is back (its message is on stderr): snapvm's own failure status. */
#define SV_RIMG_EXIT_FAILED 125

/* sv_rimg_vma.flags */
enum {
	SV_RIMG_VMA_SHARED = 1u << 0,	 /* MAP_SHARED (VM_SHARED) */
	SV_RIMG_VMA_GROWSDOWN = 1u << 1, /* the stack */
	SV_RIMG_VMA_NORESERVE = 1u << 2, /* VM_NORESERVE: no commit charge */
	SV_RIMG_VMA_VDSO = 1u << 3,	 /* [vdso]: placed, not filled */
	SV_RIMG_VMA_VVAR = 1u << 4,	 /* [vvar]: placed with the vDSO */
	SV_RIMG_VMA_HEAP = 1u << 5,	 /* [heap] */
};

/* sv_rimg_header.flags */
enum {
	/* the snapshot's mapped files were not carried (--no-files): every
	 * file must already be in the guest at its path */
	SV_RIMG_NO_FILES = 1u << 0,
	/* page data is not in the image: the host writes it straight into
	 * guest RAM (see struct sv_rimg_pfn_run); each run's data_off is its
	 * byte offset in the restorer's staging area */
	SV_RIMG_HOST_PAGES = 1u << 1,
};

struct sv_rimg_header {
	char magic[8];
	uint32_t version;
	uint32_t arch; /* enum sv_snap_arch */
	uint32_t page_size;
	uint32_t header_size; /* sizeof(struct sv_rimg_header) */
	uint64_t file_size;
	uint32_t flags;
	uint32_t pid; /* pid (= tid) the process had */

	uint32_t nvmas, nfiles, nruns, nsigactions, nsigqueue, nauxv, nregs, fpu_size;
	uint64_t off_vmas, off_files, off_runs, off_sigactions, off_sigqueue, off_auxv,
		off_regs, off_fpu, off_strings, strings_len;

	/* mm (prctl PR_SET_MM_MAP order) */
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack,
		arg_start, arg_end, env_start, env_end;
	/* task */
	uint64_t clear_child_tid, robust_list, rseq;
	uint32_t rseq_len, rseq_sig;
	uint64_t sigblocked;	  /* the mask to run with */
	uint64_t sigpending;	  /* private pending set */
	uint64_t sigpending_shared;
	uint64_t sigaltstack_sp, sigaltstack_size;
	uint32_t sigaltstack_flags;
	uint32_t personality;
	uint64_t fpu_features; /* x86_64: XSTATE_BV of the FPU image */
	char comm[16];
};

struct sv_rimg_vma {
	uint64_t start, end; /* page-aligned, end exclusive */
	uint64_t pgoff;	     /* in pages, for file mappings */
	uint32_t prot;	     /* PROT_* */
	uint32_t flags;	     /* SV_RIMG_VMA_* */
	int32_t file;	     /* index into the files, -1 for anonymous */
	uint32_t name_off;   /* into strings: "[heap]", "[stack]", a path or "" */
};

struct sv_rimg_file {
	uint32_t path_off;    /* into strings */
	uint32_t carried;     /* 1: contents at data_off; 0: must exist in the guest */
	uint64_t data_off;    /* page-aligned */
	uint64_t size;
	uint8_t sha256[32];   /* of the carried contents (zero if not carried) */
};

struct sv_rimg_run {
	uint64_t vaddr;
	uint64_t npages;
	uint64_t data_off; /* page-aligned */
};

struct sv_rimg_sigaction {
	uint32_t signo;
	uint32_t pad;
	uint64_t handler, flags, restorer, mask;
};

struct sv_rimg_sigqueue {
	uint32_t signo;
	uint32_t shared; /* 1: the process-wide queue */
	uint8_t info[128]; /* siginfo_t as the kernel keeps it (zero-padded) */
};

struct sv_rimg_named {
	char name[16];
	uint64_t value;
};

/*
 * SV_RIMG_HOST_PAGES: the restorer allocates a staging area as large as
 * all runs together, locked in RAM, finds its physical pages in
 * /proc/self/pagemap and writes on its stdout (the host reads it before
 * anything else of that process) the header below and nruns
 * sv_rimg_pfn_run. The host copies the snapshot's pages into guest RAM at
 * those frames and sends the restorer SIGUSR1; the blob then moves the
 * pages into place (mremap) - no copy inside the guest.
 */
#define SV_RIMG_PFN_MAGIC "\0SVPFNS\n"
#define SV_RIMG_PFN_SIGNAL 10 /* SIGUSR1 */
struct sv_rimg_pfn_header {
	char magic[8];
	uint64_t nruns;
	uint64_t staging_pages;
};
struct sv_rimg_pfn_run {
	uint64_t staging_page; /* first page's index in the staging area */
	uint64_t pfn;	       /* its guest page frame; the run is contiguous */
	uint64_t npages;
};

#endif
