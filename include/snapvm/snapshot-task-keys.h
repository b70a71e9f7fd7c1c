/* SPDX-License-Identifier: MIT */
/*
 * snapshot-task-keys.h - the schema of a snapshot's TASK section
 * (SV_SNAP_SECTION_TASK, snapshot-format.h): an a{sv} of one task, written
 * by the checkpoint and read by restore and inspect, each key by the name
 * below and never by its string. The strings are in files: they never
 * change; a new minor version may add keys, and a reader takes a missing
 * one as described.
 *
 * Who writes what: host/introspect/task-state.c (task, credentials,
 * signals), host/introspect/process-env.c (cwd, umask, rlimits, groups,
 * timers), host/introspect/process-view.c (prctl state, UTS names,
 * clocks), host/checkpoint/capture.c (how the registers were captured),
 * host/checkpoint/checkpoint.c (the fds list, host/introspect/files.c
 * making its entries). Integers are u32 ("u") or u64 ("t") as given; a
 * reader should take either (restore-image-task.c).
 */
#ifndef SNAPVM_SNAPSHOT_TASK_KEYS_H
#define SNAPVM_SNAPSHOT_TASK_KEYS_H

/* ---- the task (task-state.c) ---- */
#define SV_TASK_PID "pid"			  /* u: its process id (tgid) */
#define SV_TASK_TID "tid"			  /* u: its thread id (= pid: single-threaded) */
#define SV_TASK_COMM "comm"			  /* s: its name (task->comm, valid UTF-8) */
#define SV_TASK_STATE "state"			  /* u: task->__state */
#define SV_TASK_PERSONALITY "personality"	  /* u */
#define SV_TASK_CLEAR_CHILD_TID "clear_child_tid" /* t: set_tid_address(2) */
#define SV_TASK_SET_CHILD_TID "set_child_tid"	  /* t */
#define SV_TASK_ROBUST_LIST "robust_list"	  /* t: set_robust_list(2) head */
#define SV_TASK_RSEQ "rseq"			  /* t: registered struct rseq, 0 if none */
#define SV_TASK_RSEQ_LEN "rseq_len"		  /* u: its length (32 before Linux 6.3) */
#define SV_TASK_RSEQ_SIG "rseq_sig"		  /* u: its signature */

/* u: credentials (task->cred); restore refuses any but 0 */
#define SV_TASK_UID "uid"
#define SV_TASK_GID "gid"
#define SV_TASK_SUID "suid"
#define SV_TASK_SGID "sgid"
#define SV_TASK_EUID "euid"
#define SV_TASK_EGID "egid"
#define SV_TASK_FSUID "fsuid"
#define SV_TASK_FSGID "fsgid"

/* ---- signals (task-state.c); sigsets are one u64, signal n as bit n-1 ---- */
#define SV_TASK_SIGBLOCKED "sigblocked" /* t: the blocked mask */
/* t: the mask sigsuspend & co. return to; 0 if none */
#define SV_TASK_SIGBLOCKED_REAL "sigblocked_real"
#define SV_TASK_SIGPENDING "sigpending"		      /* t: pending on the task */
#define SV_TASK_SIGPENDING_SHARED "sigpending_shared" /* t: pending on the process */
#define SV_TASK_SIGALTSTACK_SP "sigaltstack_sp"	      /* t */
#define SV_TASK_SIGALTSTACK_SIZE "sigaltstack_size"   /* t */
#define SV_TASK_SIGALTSTACK_FLAGS "sigaltstack_flags" /* u */
/* SV_TASK_SIGACTIONS_TYPE: (signo, handler, flags, restorer, mask) of every
 * signal whose action is not the default */
#define SV_TASK_SIGACTIONS "sigactions"
#define SV_TASK_SIGACTIONS_TYPE "a(utttt)"
/* SV_TASK_SIGQUEUE_TYPE: (signo, kernel siginfo as the kernel keeps it) of
 * each queued signal, in queue order; on the task, and on the process */
#define SV_TASK_SIGQUEUE "sigqueue"
#define SV_TASK_SIGQUEUE_SHARED "sigqueue_shared"
#define SV_TASK_SIGQUEUE_TYPE "a(uay)"

/* ---- how the registers were captured (capture.c) ---- */
#define SV_TASK_REGS_SOURCE "regs_source" /* s: "memory" (saved by the kernel) or "vcpu" */
/* s: what the capture did to a syscall the task was in (sv_syscall_fixup_str:
 * none, reexecute, restart, eintr) */
#define SV_TASK_SYSCALL_FIXUP "syscall_fixup"
#define SV_TASK_ON_CPU "on_cpu" /* b: the task was running on a vCPU */

/* ---- process environment (process-env.c) ---- */
#define SV_TASK_CWD "cwd"	  /* s: absolute path */
#define SV_TASK_UMASK "umask"	  /* u; missing: 022 */
#define SV_TASK_RLIMITS "rlimits" /* a(tt): (soft, hard) in RLIMIT_* order */
#define SV_TASK_RLIMITS_TYPE "a(tt)"
#define SV_TASK_GROUPS "groups" /* au: supplementary groups */
#define SV_TASK_GROUPS_TYPE "au"
/* SV_TASK_ITIMER_TYPE, ns: (time left, period); missing: not armed */
#define SV_TASK_ITIMER_REAL "itimer_real"
#define SV_TASK_ITIMER_VIRTUAL "itimer_virtual"
#define SV_TASK_ITIMER_PROF "itimer_prof"
/* instead of SV_TASK_ITIMER_REAL when the guest's clock could not be read:
 * (expiry on CLOCK_MONOTONIC, period); restore refuses it */
#define SV_TASK_ITIMER_REAL_EXPIRES "itimer_real_expires"
#define SV_TASK_ITIMER_TYPE "(tt)"

/* ---- what the process sees of the kernel around it (process-view.c);
 * missing: the snapshot predates them, restore leaves the fresh guest's ---- */
#define SV_TASK_DUMPABLE "dumpable"		/* u: PR_GET_DUMPABLE (0, 1; 2 is suid_dumpable) */
#define SV_TASK_THP_DISABLE "thp_disable"	/* b: PR_SET_THP_DISABLE */
#define SV_TASK_NO_NEW_PRIVS "no_new_privs"	/* b: PR_SET_NO_NEW_PRIVS */
#define SV_TASK_PDEATH_SIGNAL "pdeath_signal"	/* u: PR_SET_PDEATHSIG, 0 for none */
#define SV_TASK_UTS_NODENAME "uts_nodename"	/* s: its UTS namespace's host name */
#define SV_TASK_UTS_DOMAINNAME "uts_domainname" /* s: and NIS domain name */
/* t, ns: CLOCK_MONOTONIC and CLOCK_BOOTTIME as the process saw them at the
 * pause (its time namespace's offsets included); missing when the guest's
 * clock could not be read */
#define SV_TASK_CLOCK_MONOTONIC "clock_monotonic"
#define SV_TASK_CLOCK_BOOTTIME "clock_boottime"

/* ---- open fds (checkpoint.c, entries from files.c) ---- */
/* one a{sv} per fd, in fd order, with the SV_TASK_FD_* keys; missing:
 * the snapshot predates fds (restore keeps fds 0-2 only) */
#define SV_TASK_FDS "fds"
#define SV_TASK_FDS_TYPE "aa{sv}"

#define SV_TASK_FD_FD "fd"		 /* u: the fd number */
#define SV_TASK_FD_KIND "kind"		 /* s: one of SV_TASK_FD_KIND_* */
#define SV_TASK_FD_FLAGS "flags"	 /* u: file->f_flags (open(2) flags) */
#define SV_TASK_FD_MODE "mode"		 /* u: file->f_mode */
#define SV_TASK_FD_CLOEXEC "cloexec"	 /* b: FD_CLOEXEC */
#define SV_TASK_FD_POS "pos"		 /* t: the file offset */
#define SV_TASK_FD_I_MODE "i_mode"	 /* u: the inode's type and permissions */
#define SV_TASK_FD_FILE "file"		 /* t: the open file's identity: dups share it */
#define SV_TASK_FD_PIPE "pipe"		 /* t: a pipe's identity, both ends alike */
#define SV_TASK_FD_PATH "path"		 /* s: what it opened (not for pipes) */
#define SV_TASK_FD_STDIO "stdio"	 /* b: one of snapvm's stdio wirings */
#define SV_TASK_FD_PIPE_DATA "pipe_data" /* ay: a pipe's unread bytes, on one of its fds */
#define SV_TASK_FD_SHA256 "sha256"	 /* s: a regular file's carried contents (FILES) */

#define SV_TASK_FD_KIND_FILE "file"
#define SV_TASK_FD_KIND_DIR "dir"
#define SV_TASK_FD_KIND_CHR "chr"
#define SV_TASK_FD_KIND_BLK "blk"
#define SV_TASK_FD_KIND_PIPE "pipe"
#define SV_TASK_FD_KIND_SOCKET "socket"
#define SV_TASK_FD_KIND_LINK "link"
#define SV_TASK_FD_KIND_ANON "anon" /* anon_inode: epoll, eventfd, signalfd, timerfd... */

#endif
