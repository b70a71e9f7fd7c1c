/* SPDX-License-Identifier: MIT */
/*
 * restore.h - the guest-side restorer, `snapvm-restore-<arch>`: a static
 * program the host packs into the guest with the flat restore image; the
 * agent starts it like any workload (so fds 0-2 are the agent's pipes and
 * its exit status reaches the host), and it turns itself into the
 * snapshot's process. restore-main.c does everything that needs libc,
 * with restore-files.c (fds and the rest of the kernel's per-process
 * state) and refuse.c (giving up); the per-arch half
 * (arch/<arch>/restorer/) builds the rt_sigreturn frame, checks the CPU and
 * runs the blob that finishes the job.
 */
#ifndef SNAPVM_RESTORE_H
#define SNAPVM_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "restore-args.h"
#include "snapvm/restore-image-format.h"

/* refuse.c. Refuses: one line on stderr, exit SV_RIMG_EXIT_FAILED. */
__attribute__((noreturn, format(printf, 1, 2))) void rst_die(const char *fmt, ...);
/* The image's string at off in its string table, refusing an offset out of
 * the table or a string without its NUL. h is the mapped image, whose
 * string table restore-main.c has checked to lie inside it. */
const char *rst_str(const struct sv_rimg_header *h, uint32_t off);

/* restore-files.c. Makes the image's fds (SV_RIMG_FDS) at their numbers,
 * first moving the restorer's own (*own[i], updated) above them; returns
 * the lowest fd the blob is to close from. */
int rst_files_restore(const struct sv_rimg_header *h, const struct sv_rimg_fd *fds,
		      const uint8_t *data, int **own, int nown);
/* cwd, umask, groups, resource limits. */
void rst_env_restore(const struct sv_rimg_header *h, const uint32_t *groups);
/* restore-files.c: is path /proc or under it? */
int rst_path_in_procfs(const char *path);
/* restore-process.c: the process's clocks (a time namespace), UTS names
 * and prctl state, each when the image has it. */
void rst_process_restore(const struct sv_rimg_header *h);
/* The interval timers: the last thing before the blob, with every signal
 * blocked (an early SIGALRM waits for the process's own mask). */
void rst_itimers_arm(const struct sv_rimg_header *h);

/* The blob, embedded by restore-common.c (objcopy -O binary output). */
extern const unsigned char rst_blob_start[], rst_blob_end[];

/* restore-common.c: what every arch's half shares. */
/* The image's register called name: 1 with *out set, 0 if it has none. */
int rst_reg(const struct sv_rimg_header *h, const struct sv_rimg_named *regs, const char *name,
	    uint64_t *out);
/* stack_t as the kernel's uapi has it on every 64-bit arch restore knows
 * (ucontext.uc_stack) */
struct rst_stack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};
/* The alternate signal stack rt_sigreturn installs: the snapshot's, or
 * none. */
void rst_fill_altstack(struct rst_stack *st, const struct sv_rimg_header *h);
/* Unregisters the rseq area libc registered for this program (the blob
 * unmaps it; the kernel would fault writing to it). 0, or -errno. */
int rst_forget_rseq(void);

/* The arch's half, arch/<arch>/restorer/restore-<arch>.c: */

/* Refuses (returns a message in msg, 0 when fine) FPU state the CPU cannot
 * load: on x86_64, XSAVE features that XCR0 does not enable; on aarch64,
 * an FPSIMD image of the wrong size or a CPU without FP/SIMD. */
int rst_arch_check_cpu(const struct sv_rimg_header *h, const uint8_t *fpu, char *msg, size_t cap);
/* Bytes the rt_sigreturn frame needs (its alignment included). */
size_t rst_arch_sigframe_size(const struct sv_rimg_header *h);
/* Builds the frame in buf (inside the blob region, at its final address;
 * zeroed and 64-byte aligned by the caller) from the image's named
 * registers and FPU state; *ret_sp is the stack pointer rt_sigreturn must
 * be entered with. 0, or -1 with msg. */
int rst_arch_build_sigframe(void *buf, size_t cap, const struct sv_rimg_header *h,
			    const struct sv_rimg_named *regs, const uint8_t *fpu, uint64_t *ret_sp,
			    char *msg, size_t msg_cap);
/* TLS registers the blob sets, into a->tls (x86_64: fs_base, gs_base;
 * aarch64: tpidr_el0). */
void rst_arch_tls(const struct sv_rimg_header *h, const struct sv_rimg_named *regs,
		  struct rst_args *a);
/* Switches to stack_top and jumps to the blob's entry with args. */
__attribute__((noreturn)) void rst_arch_jump(uint64_t entry, uint64_t stack_top,
					     struct rst_args *args);

#endif
