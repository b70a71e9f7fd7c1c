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
#define SV_TASK_TID "tid"			  /* u: its thread id (the leader's: = pid) */
#define SV_TASK_COMM "comm"			  /* s: its name (task->comm, valid UTF-8) */
#define SV_TASK_STATE "state"			  /* u: task->__state */
#define SV_TASK_PERSONALITY "personality"	  /* u */
#define SV_TASK_CLEAR_CHILD_TID "clear_child_tid" /* t: set_tid_address(2) */
#define SV_TASK_SET_CHILD_TID "set_child_tid"	  /* t */
#define SV_TASK_ROBUST_LIST "robust_list"	  /* t: set_robust_list(2) head */
#define SV_TASK_RSEQ "rseq"			  /* t: registered struct rseq, 0 if none */
#define SV_TASK_RSEQ_LEN "rseq_len"		  /* u: its length (32 before Linux 6.3) */
#define SV_TASK_RSEQ_SIG "rseq_sig"		  /* u: its signature */

/* u: credentials (task->cred); restore switches to them last */
#define SV_TASK_UID "uid"
#define SV_TASK_GID "gid"
#define SV_TASK_SUID "suid"
#define SV_TASK_SGID "sgid"
#define SV_TASK_EUID "euid"
#define SV_TASK_EGID "egid"
#define SV_TASK_FSUID "fsuid"
#define SV_TASK_FSGID "fsgid"
/* (securebits, inheritable, permitted, effective, bounding, ambient):
 * capability n as bit n (host/introspect/creds.c); missing: the snapshot
 * predates it, and restore refuses ids other than 0 */
#define SV_TASK_CAPS "caps"
#define SV_TASK_CAPS_TYPE "(uttttt)"
/* (uu): the audit login uid (/proc/PID/loginuid, task_struct.loginuid)
 * and session id, when the login uid is set (host/introspect/creds.c);
 * missing: unset. Restore writes the uid again, as often as it takes the
 * guest's session counter to reach the id. */
#define SV_TASK_LOGINUID "loginuid"
#define SV_TASK_LOGINUID_TYPE "(uu)"
/* Highest session id restore makes again (each step is one write of the
 * login uid): a checkpoint refuses a higher one. */
#define SV_TASK_MAX_SESSIONID 65536u

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
/* POSIX timers (host/introspect/posix-timers.c): (id, clock, sigev_notify,
 * signo, sigev_value, time left ns (0: disarmed), interval ns, 0) */
#define SV_TASK_POSIX_TIMERS "posix_timers"
#define SV_TASK_POSIX_TIMERS_TYPE "a(uuuutttt)"
/* the overrun count timer_getoverrun gives (k_itimer.it_overrun_last) of
 * each POSIX timer whose count is not 0: (id, count); missing: all 0 */
#define SV_TASK_POSIX_TIMER_OVERRUNS "posix_timer_overruns"
#define SV_TASK_POSIX_TIMER_OVERRUNS_TYPE "a(ut)"
/* the thread each SIGEV_THREAD_ID POSIX timer signals: (id, tid); missing:
 * the process's main thread */
#define SV_TASK_POSIX_TIMER_TARGETS "posix_timer_targets"
#define SV_TASK_POSIX_TIMER_TARGETS_TYPE "a(uu)"

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
/* b: PR_SET_CHILD_SUBREAPER (signal->is_child_subreaper); missing: false */
#define SV_TASK_CHILD_SUBREAPER "child_subreaper"
/* i: /proc/PID/oom_score_adj (signal->oom_score_adj); missing: left as
 * the restore guest's */
#define SV_TASK_OOM_SCORE_ADJ "oom_score_adj"
/* u: the membarrier registrations of its mm, as the MEMBARRIER_CMD_REGISTER_*
 * commands that made them, OR'd (process-view.c); missing: none */
#define SV_TASK_MEMBARRIER "membarrier"

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
#define SV_TASK_FD_PATH "path"		 /* s: what it opened (not for anonymous pipes) */
#define SV_TASK_FD_STDIO "stdio"	 /* b: one of snapvm's stdio wirings */
#define SV_TASK_FD_PIPE_DATA "pipe_data" /* ay: a pipe's unread bytes, on one of its fds */
#define SV_TASK_FD_SHA256 "sha256"	 /* s: a regular file's carried contents (FILES) */
/* t: the file has no name, only this identity: the SV_TASK_MEMFILES entry
 * with that inode holds it (then there is no sha256) */
#define SV_TASK_FD_INODE "inode"
/* u: a pipe's (or FIFO's) capacity in bytes (F_GETPIPE_SZ), beside its
 * pipe_data; missing: the default */
#define SV_TASK_FD_PIPE_SIZE "pipe_size"
/* (uu): a FIFO's inode's owner, uid and gid; missing: restore makes it
 * owned by root */
#define SV_TASK_FD_OWNER "owner"
/* t: a directory or character device the fd holds whose last name has
 * gone (rmdir, unlink): restore makes it again nameless; its device
 * number (makedev's encoding; 0 for a directory), its owner in
 * SV_TASK_FD_OWNER, its mode in SV_TASK_FD_I_MODE */
#define SV_TASK_FD_GONE_RDEV "gone_rdev"
/* kernel objects behind anonymous inodes (host/introspect/fd-*.c) */
#define SV_TASK_FD_EVENTFD_COUNT "eventfd_count"	 /* t: an eventfd's count */
#define SV_TASK_FD_EVENTFD_SEMAPHORE "eventfd_semaphore" /* b: made with EFD_SEMAPHORE */
/* an epoll fd's interest list: (the target's open file, as SV_TASK_FD_FILE;
 * the fd it was added as; events; data; on the ready list), the ready
 * ones first in ready-list order */
#define SV_TASK_FD_EPOLL "epoll"
#define SV_TASK_FD_EPOLL_TYPE "a(tuutb)"
/* a timerfd: (clockid; TRUE: value is an absolute CLOCK_REALTIME expiry,
 * FALSE: the time left; value ns, 0 if disarmed; interval ns; expirations
 * not yet read) */
#define SV_TASK_FD_TIMERFD "timerfd"
#define SV_TASK_FD_TIMERFD_TYPE "(ubttt)"
#define SV_TASK_FD_SIGNALFD_MASK "signalfd_mask" /* t: signal n as bit n-1 */
/* an inotify fd's watches, by wd: (wd, the mask inotify_add_watch takes,
 * the watched inode's path) */
#define SV_TASK_FD_INOTIFY "inotify_watches"
#define SV_TASK_FD_INOTIFY_TYPE "a(uus)"
/* the locks held through a file or directory fd (host/introspect/fd-locks.c):
 * (SV_TASK_LOCK_*, F_RDLCK 0 / F_WRLCK 1, first byte, last byte); a
 * process's POSIX lock is on one fd of its inode only */
#define SV_TASK_FD_LOCKS "locks"
#define SV_TASK_FD_LOCKS_TYPE "a(uutt)"
/* a socket (host/introspect/fd-socket.c): (family, type, its identity,
 * its peer's (0: none), sk_shutdown, sk_sndbuf, sk_rcvbuf); and the
 * messages unread in its receive queue, oldest first */
#define SV_TASK_FD_SOCKET "socket"
#define SV_TASK_FD_SOCKET_TYPE "(uuttuuu)"
#define SV_TASK_FD_SOCKET_QUEUE "socket_queue"
/* an IPv4/IPv6 socket that needs no peer (fd-socket.c): (family, type,
 * bound address (4 or 16 bytes, network order), port, listen backlog,
 * SV_TASK_INET_* flags) */
#define SV_TASK_FD_INET "inet"
#define SV_TASK_FD_INET_TYPE "(uuayuuu)"
#define SV_TASK_INET_REUSEADDR 1u
#define SV_TASK_INET_REUSEPORT 2u
#define SV_TASK_INET_V6ONLY 4u
#define SV_TASK_INET_LISTEN 8u
/* IP_FREEBIND / IPV6_FREEBIND: set again before the bind */
#define SV_TASK_INET_FREEBIND 16u
/* bound, without IP_FREEBIND, to an address the guest's interfaces did not
 * have (IP_FREEBIND cleared since the bind, IP_TRANSPARENT, the
 * ip_nonlocal_bind sysctl): restore sets IP_FREEBIND for the bind only.
 * Without it (or FREEBIND) a bind to an address the restore guest lacks
 * fails, naming it. */
#define SV_TASK_INET_NONLOCAL 32u
/* IP_TRANSPARENT / IPV6_TRANSPARENT: set again before the bind */
#define SV_TASK_INET_TRANSPARENT 64u
/* every SV_TASK_INET_* bit: a snapshot with another is refused */
#define SV_TASK_INET_KNOWN 127u
/* a UNIX or IP socket's buffers (fd-socket.c): (sk_sndbuf, sk_rcvbuf,
 * sk_userlocks' SOCK_SNDBUF_LOCK 1 | SOCK_RCVBUF_LOCK 2), made again with
 * SO_SNDBUFFORCE / SO_RCVBUFFORCE and SO_BUF_LOCK; missing (older
 * snapshots): a UNIX socket's sizes are SV_TASK_FD_SOCKET's, unlocked as
 * setsockopt leaves them, and an IP socket's are the kernel's defaults */
#define SV_TASK_FD_SOCKET_BUFS "socket_bufs"
#define SV_TASK_FD_SOCKET_BUFS_TYPE "(uuu)"
#define SV_TASK_LOCK_FLOCK 1u
#define SV_TASK_LOCK_POSIX 2u
#define SV_TASK_LOCK_OFD 3u

#define SV_TASK_FD_KIND_FILE "file"
#define SV_TASK_FD_KIND_DIR "dir"
#define SV_TASK_FD_KIND_CHR "chr"
#define SV_TASK_FD_KIND_BLK "blk"
#define SV_TASK_FD_KIND_PIPE "pipe"
#define SV_TASK_FD_KIND_FIFO "fifo"	/* a named pipe: pipe (identity), path, i_mode */
#define SV_TASK_FD_KIND_SOCKET "socket" /* refused by older snapvm; kind unix now */
#define SV_TASK_FD_KIND_INET "inet"	/* a listening/unconnected IP socket: inet */
#define SV_TASK_FD_KIND_UNIX "unix"	/* an unbound UNIX socket: socket, socket_queue */
#define SV_TASK_FD_KIND_LINK "link"
#define SV_TASK_FD_KIND_ANON "anon"	    /* anon_inode: epoll, eventfd, signalfd, timerfd... */
#define SV_TASK_FD_KIND_EVENTFD "eventfd"   /* eventfd_count, eventfd_semaphore */
#define SV_TASK_FD_KIND_EPOLL "epoll"	    /* epoll */
#define SV_TASK_FD_KIND_TIMERFD "timerfd"   /* timerfd */
#define SV_TASK_FD_KIND_SIGNALFD "signalfd" /* signalfd_mask */
#define SV_TASK_FD_KIND_INOTIFY "inotify"   /* inotify_watches */

/* ---- files that exist only in the guest's memory (host/checkpoint/memfiles.c) ----
 * Unlinked files still open or mapped, O_TMPFILE files, memfds and shared
 * anonymous memory: one a{sv} each, with the SV_TASK_MEMFILE_* keys. Their
 * fds name them by SV_TASK_FD_INODE, their mappings by start address. */
#define SV_TASK_MEMFILES "memfiles"
#define SV_TASK_MEMFILES_TYPE "aa{sv}"

/* (uu): the inode's uid and gid; missing: restore leaves it root's */
#define SV_TASK_MEMFILE_OWNER "owner"

#define SV_TASK_MEMFILE_INODE "inode"	    /* t: its identity (kernel address of the inode) */
#define SV_TASK_MEMFILE_KIND "kind"	    /* s: one of SV_TASK_MEMFILE_KIND_* */
#define SV_TASK_MEMFILE_PATH "path"	    /* s: the name it had, d_path's without " (deleted)" */
#define SV_TASK_MEMFILE_I_MODE "i_mode"	    /* u: the inode's type and permissions */
#define SV_TASK_MEMFILE_SEALS "seals"	    /* u: memfd seals (F_SEAL_*) */
#define SV_TASK_MEMFILE_SHA256 "sha256"	    /* s: its contents (FILES) */
#define SV_TASK_MEMFILE_SOURCE "source"	    /* s: "page-cache" or "agent": how they were read */
#define SV_TASK_MEMFILE_VMAS "vmas"	    /* at: the start of every mapping of it */
#define SV_TASK_MEMFILE_SYSV_KEY "sysv_key" /* u: a SysV segment's key (0: IPC_PRIVATE) */
#define SV_TASK_MEMFILE_SYSV_ID "sysv_id"   /* i: and its shmid */
/* its access and modification times (atime s, ns, mtime s, ns), put back
 * after its contents; missing (older snapshots): not put back */
#define SV_TASK_MEMFILE_TIMES "times"
#define SV_TASK_MEMFILE_TIMES_TYPE "(xuxu)"

#define SV_TASK_MEMFILE_KIND_GHOST "ghost"     /* a file unlinked while open or mapped */
#define SV_TASK_MEMFILE_KIND_TMPFILE "tmpfile" /* made with O_TMPFILE, never linked */
#define SV_TASK_MEMFILE_KIND_MEMFD "memfd"     /* memfd_create(2); path "/memfd:NAME" */
#define SV_TASK_MEMFILE_KIND_SHMEM "shmem"     /* MAP_SHARED|MAP_ANONYMOUS memory */
#define SV_TASK_MEMFILE_KIND_SYSV "sysv"       /* a SysV shm segment attached (shmat) */

/* ---- threads (capture.c, entries from task-state.c) ----
 * The TASK dict, the REGS, FPU and TLS sections are the thread-group
 * leader's; every other thread is one a{sv} of SV_TASK_THREADS, in the
 * kernel's thread-list order (creation order). Each holds that thread's
 * own keys from above - SV_TASK_TID, COMM, STATE, PERSONALITY,
 * CLEAR_CHILD_TID, SET_CHILD_TID, ROBUST_LIST, RSEQ, RSEQ_LEN, RSEQ_SIG,
 * SIGBLOCKED, SIGBLOCKED_REAL, SIGPENDING, SIGQUEUE, SIGALTSTACK_*,
 * REGS_SOURCE, SYSCALL_FIXUP, ON_CPU - and its CPU state as the sections
 * have the leader's: SV_TASK_THREAD_REGS, _FPU, _TLS. What the threads
 * share (pid, credentials, signal actions, the process's pending signals,
 * fds, environment) is only in the TASK dict. Missing: single-threaded. */
#define SV_TASK_THREADS "threads"
#define SV_TASK_THREADS_TYPE "aa{sv}"
#define SV_TASK_THREAD_REGS "regs" /* SV_SNAP_REGS_TYPE, as the REGS section */
#define SV_TASK_THREAD_FPU "fpu"   /* SV_SNAP_FPU_TYPE, as the FPU section */
#define SV_TASK_THREAD_TLS "tls"   /* a{sv}, as the TLS section */
/* Most threads a process may have, the leader included (a checkpoint
 * refuses more; so does restore). */
#define SV_TASK_MAX_THREADS 1024u

#endif
