/* SPDX-License-Identifier: MIT */
/*
 * restore-image-format.h - the flat restore image: what `snapvm restore` makes of a
 * snapshot for the guest-side restorer (guest/restorer/restore-main.c and
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
 *            sv_rimg_fd[nfds]       (open fds, by number)
 *            uint32_t groups[ngroups]
 *            uint8_t data[data_len] (pipes' unread bytes)
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
#define SV_RIMG_VERSION 2u
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
	/* advice and locking the blob re-applies once the VMA is filled
	 * (madvise, mlock); the kernel keeps them in vm_flags */
	SV_RIMG_VMA_DONTFORK = 1u << 6,	    /* MADV_DONTFORK (VM_DONTCOPY) */
	SV_RIMG_VMA_DONTDUMP = 1u << 7,	    /* MADV_DONTDUMP */
	SV_RIMG_VMA_WIPEONFORK = 1u << 8,   /* MADV_WIPEONFORK */
	SV_RIMG_VMA_HUGEPAGE = 1u << 9,	    /* MADV_HUGEPAGE */
	SV_RIMG_VMA_NOHUGEPAGE = 1u << 10,  /* MADV_NOHUGEPAGE */
	SV_RIMG_VMA_MERGEABLE = 1u << 11,   /* MADV_MERGEABLE (KSM) */
	SV_RIMG_VMA_SEQUENTIAL = 1u << 12,  /* MADV_SEQUENTIAL */
	SV_RIMG_VMA_RANDOM = 1u << 13,	    /* MADV_RANDOM */
	SV_RIMG_VMA_LOCKED = 1u << 14,	    /* mlock */
	SV_RIMG_VMA_LOCKONFAULT = 1u << 15, /* with LOCKED: mlock2(MLOCK_ONFAULT) */
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
	/* the snapshot has the process's fd table (sv_rimg_fd): the restored
	 * process gets exactly those fds; without it (older snapshots) it
	 * keeps fds 0-2 and nothing else */
	SV_RIMG_FDS = 1u << 2,
	/* dumpable, no_new_privs, pdeath_signal and thp_disable are the
	 * process's (restore-process.c); without it they stay the restorer's */
	SV_RIMG_PRCTL = 1u << 3,
	/* nodename and domainname: set in a UTS namespace of the process's own */
	SV_RIMG_UTS = 1u << 4,
	/* clock_monotonic and clock_boottime: the process's clocks go on from
	 * them, in a time namespace of its own */
	SV_RIMG_CLOCKS = 1u << 5,
};

/* sv_rimg_fd.kind */
enum {
	SV_RIMG_FD_STDIO = 1, /* the restorer's own fd of that number is kept */
	SV_RIMG_FD_PATH = 2,  /* reopened by path: file, directory, device */
	SV_RIMG_FD_PIPE_READ = 3,
	SV_RIMG_FD_PIPE_WRITE = 4,
};

#define SV_RIMG_MAX_FD (1u << 20) /* the kernel's default fs.nr_open */
#define SV_RIMG_RLIMITS 16	  /* RLIM_NLIMITS */

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
	uint64_t off_vmas, off_files, off_runs, off_sigactions, off_sigqueue, off_auxv, off_regs,
		off_fpu, off_strings, strings_len;

	/* mm (prctl PR_SET_MM_MAP order) */
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack, arg_start,
		arg_end, env_start, env_end;
	/* task */
	uint64_t clear_child_tid, robust_list, rseq;
	uint32_t rseq_len, rseq_sig;
	uint64_t sigblocked; /* the mask to run with */
	uint64_t sigpending; /* private pending set */
	uint64_t sigpending_shared;
	uint64_t sigaltstack_sp, sigaltstack_size;
	uint32_t sigaltstack_flags;
	uint32_t personality;
	uint64_t fpu_features; /* x86_64: XSTATE_BV of the FPU image */
	char comm[16];

	/* files and process environment (SV_RIMG_FDS) */
	uint32_t nfds, ngroups;
	uint64_t off_fds, off_groups, off_data, data_len;
	uint32_t cwd_off; /* into strings; "" keeps the restorer's */
	uint32_t umask;
	uint32_t nrlimits; /* 0: left as the restorer's */
	uint32_t pad;
	uint64_t rlimits[SV_RIMG_RLIMITS][2]; /* (cur, max), RLIMIT_* order */
	/* interval timers, ns: (time left, period); ITIMER_REAL, VIRTUAL, PROF */
	uint64_t itimers[3][2];

	/* SV_RIMG_PRCTL */
	uint32_t dumpable; /* 0 or 1 */
	uint32_t no_new_privs;
	uint32_t pdeath_signal;
	uint32_t thp_disable;
	/* SV_RIMG_UTS: NUL-terminated */
	char nodename[65];
	char domainname[65];
	uint8_t pad2[6];
	/* SV_RIMG_CLOCKS: ns, as the process saw them at the checkpoint */
	uint64_t clock_monotonic, clock_boottime;
};

struct sv_rimg_fd {
	int32_t fd;
	uint32_t kind; /* SV_RIMG_FD_* */
	uint32_t flags; /* open(2) flags the file was opened with (O_ACCMODE, O_APPEND, O_NONBLOCK...) */
	uint32_t cloexec;  /* 1: FD_CLOEXEC */
	uint32_t path_off; /* SV_RIMG_FD_PATH: into strings */
	uint32_t pipe;	   /* pipes: which one (the same for both ends and every dup) */
	uint64_t pos;	   /* SV_RIMG_FD_PATH: the file offset */
	uint64_t data_off; /* pipes: unread bytes at data + data_off (on one fd of the pipe) */
	uint64_t data_len;
	/* a dup: the fd (lower, made first) whose open file it shares, so
	 * offset and status flags stay shared; -1 for none */
	int32_t dup_of;
	uint32_t pad;
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
	uint32_t path_off; /* into strings */
	uint32_t carried;  /* 1: contents at data_off; 0: must exist in the guest */
	uint64_t data_off; /* page-aligned */
	uint64_t size;
	uint8_t sha256[32]; /* of the carried contents (zero if not carried) */
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
	uint32_t shared;   /* 1: the process-wide queue */
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
