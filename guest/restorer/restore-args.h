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

struct rst_run {
	uint64_t vaddr, len, data_off;
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
	uint64_t region_start, region_end; /* the blob's own mapping, kept */
	int32_t image_fd;
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
	/* SV_RIMG_HOST_PAGES: the pages are already in this area (runs'
	 * data_off are offsets in it); kept like the region until they are
	 * moved (or, into file, stack and shared mappings, copied) into place */
	uint64_t staging_start, staging_len;
	char comm[16];
	/* the first fd that is the restorer's own (the process's are below) */
	uint32_t close_from;
	uint32_t nseeks;
	struct rst_seek *seeks;
};

/* The blob's entry point is its first byte: void entry(struct rst_args *)
 * with the stack already inside the region. It never returns. */

#endif
