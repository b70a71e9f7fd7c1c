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
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "restore-args.h"
#include "snapvm/restore-image-format.h"

/* refuse.c. Refuses: one line on stderr, exit SV_RIMG_EXIT_FAILED. */
__attribute__((noreturn, format(printf, 1, 2))) void rst_die(const char *fmt, ...);
/* What rst_die runs before the exit, if set (stage-pages.c sets it). */
extern void (*rst_before_giving_up)(void);
/* The image's string at off in its string table, refusing an offset out of
 * the table or a string without its NUL. h is the mapped image, whose
 * string table restore-main.c has checked to lie inside it. */
const char *rst_str(const struct sv_rimg_header *h, uint32_t off);

/* restore-memfiles.c. Makes the memory-only file f (f->memfile set) from
 * its contents (f->size bytes at data); an O_RDWR close-on-exec fd of it. */
int rst_memfile_create(const struct sv_rimg_header *h, const struct sv_rimg_file *f,
		       const uint8_t *data);

/* Makes the SysV shm segment f (SV_RIMG_MEMFILE_SYSV) again with its key,
 * mode and id, filled from data. */
void rst_sysv_create(const struct sv_rimg_header *h, const struct sv_rimg_file *f,
		     const uint8_t *data);

/* Writes size bytes of data into the file fd (at path), sized first,
 * skipping zero pages: they stay holes. */
void rst_write_sparse(int fd, const char *path, const uint8_t *data, uint64_t size);

/* restore-fs.c. Makes the files the guest wrote before the checkpoint
 * (h->nfsents entries), contents from files in the image img. */
void rst_fs_restore(const struct sv_rimg_header *h, const struct sv_rimg_fsent *fsents,
		    const struct sv_rimg_file *files, const uint8_t *img, uint64_t img_size);

/* restore-files.c. Makes the image's fds (SV_RIMG_FDS) at their numbers,
 * first moving the restorer's own (*own[i], updated) above them; returns
 * the lowest fd the blob is to close from. own[0] is the image, own[1 + i]
 * file i's fd (an SV_RIMG_FD_MEMFILE fd reopens that), any after those the
 * restorer's others (the unmapper's pipes). */
int rst_files_restore(const struct sv_rimg_header *h, const struct sv_rimg_fd *fds,
		      const uint8_t *data, int **own, int nown);
/* cwd, umask, groups, resource limits. */
void rst_env_restore(const struct sv_rimg_header *h, const uint32_t *groups);
/* restore-files.c: is path /proc or under it? */
int rst_path_in_procfs(const char *path);
/* stage-layout.c: each run's offset in the staging area (pos[i], bytes
 * from a huge-aligned start; in the runs' order, each after the one
 * before), chosen so that huge pages survive the blob's moves. Returns
 * where the last run ends. */
uint64_t rst_stage_layout(const struct sv_rimg_run *runs, uint32_t nruns, uint64_t huge,
			  uint64_t *pos);
/* SV_RIMG_HOST_PAGES (stage-pages.c): maps [at + pos[0], at + end) (at
 * 1 GiB-aligned; pos and end from rst_stage_layout), the staging area;
 * locks it and tells the host the frames of each run's pages (the host's
 * staging order: the runs' pages one after another, the unused pages
 * between them left out) a slice at a time. The host fills them from
 * then on: rst_stage_pages_wait returns once it has (at once when nothing
 * was staged, or after the first call). */
void rst_stage_pages(uint64_t at, const struct sv_rimg_run *runs, uint32_t nruns,
		     const uint64_t *pos, uint64_t end);
void rst_stage_pages_wait(void);
/* Leaves the staging area out of a fork's child (true), then puts it back
 * (false), as rst_standby_dontfork does the pool: a child sharing its
 * pages would make the process's first write to each copy it. */
void rst_stage_pages_dontfork(bool dontfork);
/* frames.c: the frames of pages [first, first + n) of the locked area at `at` (pm:
 * /proc/self/pagemap open), as runs (room for n; staging_page counts from
 * at); dies where one is not in RAM. Returns how many runs. */
uint64_t rst_frame_runs(int pm, uint64_t at, uint64_t first, uint64_t n,
			struct sv_rimg_pfn_run *runs);
/* standby.c: `restore --standby MIB` - pre-faults a pool of MIB, waits for
 * the pid to restore as, and returns in the process of that pid. */
void rst_standby(const char *mib_arg);
/* Maps [at, at + len) (a free range) with the pool's pre-faulted pages
 * first, as one mapping; false when there is no pool. */
bool rst_standby_take(uint64_t at, uint64_t len);
/* Leaves the pool out of a fork's child (true), then puts it back (false):
 * a child sharing its pages would make the staging area's mlock (a write
 * fault each) copy every one, huge pages split, while the child keeps the
 * originals - the pool's memory twice. */
void rst_standby_dontfork(bool dontfork);
/* Unmaps what is left of the pool. */
void rst_standby_drop(void);
/* The restore image the host wrote into the standby's mailbox (after the
 * hand-over), if it did: true and *ret_img, *ret_size. */
bool rst_standby_image(const uint8_t **ret_img, size_t *ret_size);
/* frames.c: keeps compaction off locked pages (the host writes into their
 * frames). */
void rst_pin_frames_setup(void);
/* frames.c: leaves [at, at + len) out of a fork's child (dontfork) or puts
 * it back; dies naming what. Nothing when len is 0. */
void rst_frames_dontfork(uint64_t at, uint64_t len, bool dontfork, const char *what);
/* restore-process.c: the process's clocks (a time namespace), UTS names
 * and prctl state, each when the image has it. */
void rst_process_restore(const struct sv_rimg_header *h);
/* The offset of the time namespace the restorer entered for clock (ns;
 * 0 for other clocks, or before or without one). */
int64_t rst_timens_offset(clockid_t clock);
/* The interval timers: the last thing before the blob, with every signal
 * blocked (an early SIGALRM waits for the process's own mask). */
void rst_itimers_arm(const struct sv_rimg_header *h, const uint8_t *data);
/* restore-timers.c. The POSIX timers, with their ids (called by
 * rst_itimers_arm). */
void rst_posix_timers_arm(const struct sv_rimg_header *h, const uint8_t *data);

/* fd-place.c. An fd at or above `above` for fd (closed), close-on-exec;
 * what names it in the refusal. rst_place dup3s tmp to f->fd with its
 * close-on-exec flag. */
int rst_move_up(int fd, int above, const char *what);
void rst_place(int tmp, const struct sv_rimg_fd *f);

/* restore-gone.c. A directory or character device whose name had gone
 * (SV_RIMG_PATH_GONE), made again with no name: an open fd of it with
 * f's flags, mode and owner, or -1 with errno when opening it failed. */
int rst_open_gone(const struct sv_rimg_fd *f, const char *was);

/* restore-pipes.c. rst_pipe_restore makes the pipe or FIFO of fds[i]
 * and every fd of it, if fds[i] is its first fd (otherwise nothing);
 * base is rst_files_restore's. */
int rst_is_pipe_kind(uint32_t kind);
void rst_pipe_restore(const struct sv_rimg_header *h, const struct sv_rimg_fd *fds, uint32_t i,
		      const uint8_t *data, int base);

/* restore-kobjects.c. An eventfd; an epoll fd, empty; and, once every fd
 * is in place, every epoll fd's interest list. */
void rst_eventfd_restore(const struct sv_rimg_fd *f, int base);
void rst_timerfd_restore(const struct sv_rimg_fd *f, int base);
void rst_signalfd_restore(const struct sv_rimg_fd *f, int base);
void rst_epoll_create(const struct sv_rimg_fd *f, int base);
/* restore-inotify.c. An inotify fd with its watches (their wds too). */
void rst_inotify_restore(const struct sv_rimg_header *h, const struct sv_rimg_fd *f,
			 const uint8_t *data, int base);
void rst_epoll_fill(const struct sv_rimg_header *h, const struct sv_rimg_fd *fds,
		    const uint8_t *data);

/* restore-unix.c. The UNIX socket (pair) of fds[i] and its fds, if fds[i]
 * is its first fd (otherwise nothing). */
void rst_unix_restore(const struct sv_rimg_fd *fds, uint32_t nfds, uint32_t i, const uint8_t *data,
		      int base);

/* restore-inet.c. An IPv4/IPv6 socket, bound and listening again. */
void rst_inet_restore(const struct sv_rimg_fd *f, const uint8_t *data, int base);

/* restore-sockbuf.c. The socket at fd gets buffer sizes sndbuf and rcvbuf
 * and, unless locks < 0, exactly those SO_BUF_LOCK bits; each read back. */
void rst_sock_buffers(int fd, uint64_t sndbuf, uint64_t rcvbuf, int locks);

/* restore-locks.c. Takes the flock and OFD locks of the image's fds (all
 * made) and lists the POSIX ones in rst_posix_locks for the blob. */
extern struct rst_posix_lock *rst_posix_locks;
extern uint32_t rst_nposix_locks;
void rst_locks_take(const struct sv_rimg_header *h, const struct sv_rimg_fd *fds,
		    const uint8_t *data);

/* region-unmap.c: starts the process that takes the blob's region away
 * once every thread is out of it (after rst_threads_park: it traces the
 * leader and h's threads). *ret_go and *ret_ack are the restorer's ends
 * of its two pipes, for rst_args. */
void rst_unmapper_start(const struct sv_rimg_header *h, const struct sv_rimg_thread *threads,
			int *ret_go, int *ret_ack);

/* lazy-pager.c (SV_RIMG_LAZY): makes the process's userfaultfd (returned)
 * and starts the pager that will fill the lazy runs through it; *ret_report
 * is where the pager's buffer message comes, for rst_lazy_announce;
 * *ret_ready where the blob says it has registered the lazy mappings
 * (the pager places nothing before: rst_args.lazy_ready). Before
 * any other fork (the others must not hold the fd) and before the
 * process's memory is mapped. */
int rst_lazy_start(const struct sv_rimg_header *h, const struct sv_rimg_run *runs, int *ret_report,
		   int *ret_ready);
/* Writes the pager's buffer message on stdout for the host: after the
 * staged pages, before the process's own output. */
void rst_lazy_announce(int report);

/* mkdir -p of the directories above path (restore-common.c). */
void rst_mkdir_parents(const char *path);

struct rst_region; /* below */
struct rst_park;

/* restore-threads.c: the process's other threads (sv_rimg_thread). */
/* Checks their records and FPU states; returns the region bytes they need. */
size_t rst_threads_check(const struct sv_rimg_header *h, const struct sv_rimg_thread *threads,
			 const uint8_t *tfpu);
/* Creates each with its tid, parked (refusing a tid taken here). */
void rst_threads_park(const struct sv_rimg_header *h, const struct sv_rimg_thread *threads);
/* Their records, frames and stacks in the region (a->threads). */
void rst_threads_fill(const struct sv_rimg_header *h, const struct sv_rimg_thread *threads,
		      const struct sv_rimg_named *tregs, const struct sv_rimg_sigqueue *tsigq,
		      const uint8_t *tfpu, const uint32_t *groups, struct rst_args *a,
		      struct rst_region *rg);
/* Sends each into the blob at entry, on its stack in the region. */
void rst_threads_release(struct rst_args *a, uint64_t entry);

/* Where a parked thread waits (go, a futex word) and where it then goes:
 * the blob's entry with thread in its second argument register and sp. The
 * arches' parking code reads it at these offsets. */
struct rst_park {
	uint32_t go;
	uint32_t pad;
	uint64_t entry, thread, sp;
};
_Static_assert(offsetof(struct rst_park, entry) == 8 && offsetof(struct rst_park, thread) == 16 &&
		       offsetof(struct rst_park, sp) == 24,
	       "rst_park layout");

/* The blob's region while restore-main.c fills it: rst_take hands out
 * 64-byte aligned pieces in order, refusing to run past its end. */
struct rst_region {
	uint8_t *base;
	size_t at, len;
};
void *rst_take(struct rst_region *rg, size_t bytes);
/* Wakes every waiter on a futex word of this process. */
void rst_futex_wake(uint32_t *word);

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
 * unmaps it; the kernel would fault writing to it), at __rseq_offset from
 * thread_pointer (rst_arch_thread_pointer). 0, or -errno. */
int rst_forget_rseq(void *thread_pointer);
/* Registers libc's rseq area again: a process made with CLONE_VM (the
 * standby's, standby.c) starts with none. 0 or -errno. */
int rst_rejoin_rseq(void *thread_pointer);
/* 0 if AT_HWCAP has every bit of need; else -1 with msg saying the guest
 * CPU lacks what (and how to pick another CPU model). */
int rst_check_hwcap(unsigned long need, const char *what, char *msg, size_t cap);

/* The arch's half, arch/<arch>/restorer/restore-<arch>.c: */

/* Refuses (returns a message in msg, 0 when fine) FPU state the CPU cannot
 * load: on x86_64, XSAVE features that XCR0 does not enable; on aarch64,
 * an FPSIMD image of the wrong size or a CPU without FP/SIMD. */
int rst_arch_check_cpu(const struct sv_rimg_header *h, const uint8_t *fpu, char *msg, size_t cap);
/* Bytes the rt_sigreturn frame needs (its alignment included). */
size_t rst_arch_sigframe_size(const struct sv_rimg_header *h);
/* Where in that frame, from the sp rst_arch_build_sigframe gives, the
 * instruction pointer is (the blob moves a thread caught in an rseq
 * critical section to its abort handler there); 0: the arch does not say
 * (a weak default in restore-common.c), and no such move is made. */
size_t rst_arch_sigframe_ip_offset(void);
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
/* Switches to stack_top and jumps to the blob's entry with args (and no
 * thread). */
__attribute__((noreturn)) void rst_arch_jump(uint64_t entry, uint64_t stack_top,
					     struct rst_args *args);
/* The size of a huge page (one PMD entry) with the page size the arch's
 * guest kernel uses: what a transparent huge page is, and the alignment at
 * which mremap moves whole ones. */
extern const uint64_t rst_arch_huge_page;
/* The calling thread's thread pointer, as libc's __rseq_offset counts
 * from it (GCC has no __builtin_thread_pointer on powerpc). */
void *rst_arch_thread_pointer(void);
/* For the unmapper (region-unmap.c): a system call as ptrace sees it on
 * the arch. The 8-byte slots of the instruction pointer, the call's number
 * and its first two arguments among the registers PTRACE_GETREGSET
 * NT_PRSTATUS gives, and the length of the instruction that issues it;
 * after_call puts back what the registers do not carry once a thread has
 * run a call the unmapper made it run (NULL: nothing; the arch's file says
 * why), 0 or -errno. */
struct rst_arch_syscall_regs {
	unsigned ip, nr, arg0, arg1, insn_len;
	int (*after_call)(int tid);
};
extern const struct rst_arch_syscall_regs rst_arch_syscall_regs;
/* clone3(args, size) for a parked thread (struct rst_park): returns its
 * tid, or -errno. It runs no libc; once park->go is set it jumps to
 * park->entry on park->sp with the blob's arguments (NULL, park->thread). */
long rst_arch_park_thread(void *clone_args, size_t size, struct rst_park *park);

#endif
