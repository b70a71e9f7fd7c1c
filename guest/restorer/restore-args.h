/* SPDX-License-Identifier: MIT */
/*
 * restore-args.h - what the restorer (guest/restorer/restore-main.c, a normal
 * static program) hands to the restorer blob (guest/restorer/restorer-blob.c
 * with arch/<arch>/restorer/blob-arch.h: freestanding position-independent
 * code it copies to an address the snapshot leaves free). Every pointer
 * points into the blob's own region: once the blob runs, nothing else of
 * the restorer stays mapped.
 */
#ifndef SNAPVM_RESTORE_ARGS_H
#define SNAPVM_RESTORE_ARGS_H

#include <stdint.h>

#include "snapvm/restore-image-format.h"

/* include/uapi/linux/prctl.h, kept here so the freestanding blob needs no
 * system headers */
struct rst_prctl_mm_map {
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack, arg_start,
		arg_end, env_start, env_end;
	uint64_t auxv; /* pointer */
	uint32_t auxv_size;
	uint32_t exe_fd;
};

struct rst_vma {
	uint64_t start, end, pgoff;
	uint32_t prot;	/* final PROT_* */
	uint32_t flags; /* SV_RIMG_VMA_* */
	int32_t fd;	/* -1: anonymous */
	uint32_t fill;	/* 1: write stored pages into it */
};

/* A POSIX lock the blob takes with fcntl(fd, F_SETLK) once it has closed
 * the restorer's own fds (restore-locks.c); the fields after fd are
 * struct flock as every 64-bit arch restore knows has it. */
struct rst_posix_lock {
	int32_t fd;
	int32_t pad;
	int16_t type, whence; /* F_RDLCK / F_WRLCK; SEEK_SET (0) */
	int32_t pad2;
	int64_t start, len;
	int32_t pid, pad3;
};

/* The credentials the blob switches to last (blob-creds.h). */
struct rst_creds {
	uint32_t set; /* 0: stay as the restorer is (root) */
	uint32_t securebits;
	uint32_t uids[4], gids[4]; /* real, effective, saved, filesystem */
	uint64_t caps[5];	   /* inheritable, permitted, effective, bounding, ambient */
};

struct rst_run {
	uint64_t vaddr, len, data_off;
};

/*
 * One more thread. The restorer creates it first thing (clone3 with
 * set_tid, so no other task can take its tid meanwhile), parked; it enters
 * the blob on its own stack in the region before the blob unmaps anything,
 * then follows the leader's stages (*stage, a futex word): at 1 the
 * process's memory is in place and it sets its own state, at 2 it enters
 * its own rt_sigreturn frame.
 */
enum { RST_STAGE_MEMORY = 1, RST_STAGE_GO = 2 };
enum { RST_THREAD_IN_REGION = 1, RST_THREAD_READY = 2 };
struct rst_thread {
	uint32_t tid;
	uint32_t ready;	  /* futex word: RST_THREAD_* reached */
	uint32_t *stage;  /* the leader's stage, RST_STAGE_* */
	uint32_t *groups; /* the process's supplementary groups */
	uint32_t ngroups; /* (per thread in Linux: each sets them) */
	uint32_t personality;
	uint64_t tls[2];
	uint64_t clear_child_tid, robust_list, rseq;
	uint32_t rseq_len, rseq_sig;
	uint64_t sigframe_sp;
	uint64_t sigframe_ip;	   /* its instruction pointer's slot in the frame; 0: unknown */
	uint64_t stack, stack_len; /* [stack, stack + stack_len), 64-byte aligned */
	struct sv_rimg_sigqueue *sigqueue;
	uint32_t nsigqueue;
	uint32_t pad;
	uint64_t sigpending;
	char comm[16];
	/* the process's credentials, taken by each thread after GO (per
	 * thread in Linux, as the leader takes them for itself) */
	const struct rst_creds *creds;
};

/* An fd the blob moves to its offset once the process's memory is in
 * place: a /proc file whose text depends on it (/proc/self/maps), which a
 * seek regenerates up to the offset from what the process has mapped. */
struct rst_seek {
	int32_t fd;
	uint32_t pad;
	uint64_t pos;
};

struct rst_args {
	uint64_t region_start, region_end; /* the blob's own mapping */
	int32_t image_fd;
	/* SV_RIMG_LAZY: the process's userfaultfd, with which the blob
	 * registers every SV_RIMG_VMA_LAZY mapping once it is mapped; -1 */
	int32_t uffd;
	/* and where it then tells the pager so (a byte) */
	int32_t lazy_ready;
	uint32_t nvmas, nruns, nsigactions, nsigqueue;
	uint32_t pid;
	struct rst_vma *vmas;
	struct rst_run *runs;
	struct sv_rimg_sigaction *sigactions;
	struct sv_rimg_sigqueue *sigqueue;
	uint64_t sigpending, sigpending_shared;
	struct rst_prctl_mm_map mm;
	uint64_t vdso_vvar_start; /* where [vvar] (then [vdso]) goes; 0: none */
	/* this program's own [vvar] and [vdso] (adjacent, vvar first), for
	 * the arches that move them rather than map new ones */
	uint64_t vdso_now_start, vdso_now_end, vvar_len;
	/* thread pointer registers (x86_64: fs_base, gs_base; aarch64: tpidr_el0) */
	uint64_t tls[2];
	uint64_t clear_child_tid, robust_list, rseq;
	uint32_t rseq_len, rseq_sig;
	uint64_t sigframe_sp; /* sp for the final rt_sigreturn */
	uint64_t sigframe_ip; /* its instruction pointer's slot in the frame; 0: unknown */
	/* SV_RIMG_HOST_PAGES: the pages are already in this area (runs'
	 * data_off are offsets in it); kept like the region until they are
	 * moved (or, into file, stack and shared mappings, copied) into place */
	uint64_t staging_start, staging_len;
	char comm[16];
	/* the first fd that is the restorer's own (the process's are below) */
	uint32_t close_from;
	/* the threads besides this one, and the stage they follow */
	uint32_t nthreads;
	uint32_t stage;
	struct rst_thread *threads;
	uint32_t nposix_locks;
	struct rst_posix_lock *posix_locks; /* taken after close_from and up are closed */
	struct rst_creds creds;
	uint32_t nseeks;
	struct rst_seek *seeks;
	/* the unmapper's pipes (region-unmap.c): the region goes to it, its
	 * answer comes back (0, or the errno that stops it tracing) */
	int32_t unmapper_go, unmapper_ack;
};

/* The blob's entry point is its first byte: void entry(struct rst_args *,
 * struct rst_thread *) with the stack already inside the region: the
 * leader enters with NULL, each other thread with its own record. It never
 * returns. */

#endif
