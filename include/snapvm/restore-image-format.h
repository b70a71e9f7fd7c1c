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
 *            sv_rimg_fsent[nfsents] (files the guest wrote, parents first)
 *            uint8_t data[data_len] (pipes' unread bytes, epoll interest lists,
 *                                    locks, POSIX timers)
 *            sv_rimg_thread[nthreads]            (threads besides the leader)
 *            sv_rimg_named[nthread_regs]         (their registers, a slice each)
 *            sv_rimg_sigqueue[nthread_sigqueue]  (their queued signals, a slice each)
 *            uint8_t thread_fpu[thread_fpu_len]  (their FPU states)
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
#define SV_RIMG_VERSION 6u
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
	/* a SysV shm attachment: shmat(files[file].sysv_id) at start, whole */
	SV_RIMG_VMA_SYSV = 1u << 16,
	/* SV_RIMG_LAZY: a private anonymous mapping whose stored pages are
	 * not in the runs but in the lazy runs; mapped empty, registered
	 * with the process's userfaultfd and filled by the pager */
	SV_RIMG_VMA_LAZY = 1u << 17,
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
	/* the process's credentials are in the header (uids, gids,
	 * securebits, caps): the restorer takes them on last */
	SV_RIMG_CREDS = 1u << 3,
	/* dumpable, no_new_privs, pdeath_signal and thp_disable are the
	 * process's (restore-process.c); without it they stay the restorer's */
	SV_RIMG_PRCTL = 1u << 4,
	/* nodename and domainname: set in a UTS namespace of the process's own */
	SV_RIMG_UTS = 1u << 5,
	/* clock_monotonic and clock_boottime: the process's clocks go on from
	 * them, in a time namespace of its own */
	SV_RIMG_CLOCKS = 1u << 6,
	/* oom_score_adj is the process's */
	SV_RIMG_OOM_SCORE_ADJ = 1u << 7,
	/* `restore --lazy`: the pages of the SV_RIMG_VMA_LAZY mappings (the
	 * lazy runs) arrive after the process resumes, through a
	 * userfaultfd and the pager (guest/restorer/lazy-pager.c; protocol
	 * below, struct sv_rimg_lazy_ctl) */
	SV_RIMG_LAZY = 1u << 8,
	/* the audit login uid and session id are the process's (loginuid,
	 * sessionid below; restore-process.c) */
	SV_RIMG_LOGINUID = 1u << 9,
};

/* sv_rimg_fd.kind */
enum {
	SV_RIMG_FD_STDIO = 1, /* the restorer's own fd of that number is kept */
	SV_RIMG_FD_PATH = 2,  /* reopened by path: file, directory, device */
	/* pipes and FIFOs: value[2] = the pipe's capacity (F_SETPIPE_SZ) on
	 * the fd that holds its unread bytes; 0: the default */
	SV_RIMG_FD_PIPE_READ = 3,
	SV_RIMG_FD_PIPE_WRITE = 4,
	/* a named FIFO: made at path_off (mode i_mode; owner value[0] uid,
	 * value[1] gid when kind_flags has SV_RIMG_FIFO_OWNER) if the guest
	 * lacks it, its unread bytes as a pipe's; pipe says which one */
	SV_RIMG_FD_FIFO = 5,
	/* eventfd: value[0] = its count, kind_flags = its EFD_SEMAPHORE bit */
	SV_RIMG_FD_EVENTFD = 6,
	/* epoll: data_off/data_len hold its sv_rimg_epoll_item[] (interest
	 * list), added once every fd is in place */
	SV_RIMG_FD_EPOLL = 7,
	/* timerfd: kind_flags = its clockid, | SV_RIMG_TIMERFD_ABSTIME when
	 * value[0] is an absolute CLOCK_REALTIME expiry, not the time left
	 * (ns; 0: disarmed); value[1] = interval ns; value[2] = expirations
	 * not yet read */
	SV_RIMG_FD_TIMERFD = 8,
	/* signalfd: value[0] = its mask, signal n as bit n-1 */
	SV_RIMG_FD_SIGNALFD = 9,
	/* an unbound UNIX socket: pipe = which pair (both ends alike; a lone
	 * socket has its own); kind_flags = its end (0/1) | sk_shutdown << 8;
	 * value[] = type, sk_sndbuf, sk_rcvbuf; data_off/data_len = the
	 * messages unread in its receive queue, each a uint32_t length then
	 * its bytes (sent again through its peer) */
	SV_RIMG_FD_UNIX = 10,
	/* an IPv4/IPv6 socket bound again (if it was) and listening again
	 * (if it was): value[0] = family | type << 16, value[1] = port |
	 * backlog << 32, kind_flags = SV_RIMG_INET_*, data_off/data_len = its
	 * address (4 or 16 bytes, network order) */
	SV_RIMG_FD_INET = 11,
	/* an open file of a memory-only file (SV_RIMG_MEMFILE_*): reopened
	 * through /proc/self/fd of the file the restorer made */
	SV_RIMG_FD_MEMFILE = 12,
	/* an inotify instance: data_off/data_len hold its
	 * sv_rimg_inotify_watch[], by wd */
	SV_RIMG_FD_INOTIFY = 13,
};
enum {
	SV_RIMG_INET_REUSEADDR = 1,
	SV_RIMG_INET_REUSEPORT = 2,
	SV_RIMG_INET_V6ONLY = 4,
	SV_RIMG_INET_LISTEN = 8,
	SV_RIMG_INET_FREEBIND = 16,
	/* bound with IP_FREEBIND, cleared again after the bind */
	SV_RIMG_INET_NONLOCAL = 32,
	/* IP_TRANSPARENT, set before the bind */
	SV_RIMG_INET_TRANSPARENT = 64,
};
/* SV_RIMG_FD_UNIX and SV_RIMG_FD_INET: the buffer sizes (UNIX: value[1]
 * and value[2]; IP: value[2] = sk_sndbuf | sk_rcvbuf << 32) are made
 * exactly, and SO_BUF_LOCK set to SV_RIMG_SOCK_LOCKS(kind_flags)
 * (SOCK_SNDBUF_LOCK 1, SOCK_RCVBUF_LOCK 2). Without it a UNIX socket's
 * sizes are set as setsockopt leaves them and an IP socket's are left. */
#define SV_RIMG_SOCK_BUFS (1u << 12)
#define SV_RIMG_SOCK_LOCKS_SHIFT 13
#define SV_RIMG_SOCK_LOCKS(kind_flags) ((kind_flags) >> SV_RIMG_SOCK_LOCKS_SHIFT & 3u)
#define SV_RIMG_TIMERFD_ABSTIME (1u << 16)
#define SV_RIMG_FIFO_OWNER 1u
/* SV_RIMG_FD_PATH: a directory or character device whose name had gone,
 * made again without one (mkdir or mknod at a name of the restorer's,
 * opened, then removed) with i_mode, value[0] its device number, value[1]
 * uid | gid << 32; path_off names it in messages only */
#define SV_RIMG_PATH_GONE 1u

/* A lock held through an SV_RIMG_FD_PATH fd (its data_off/data_len hold
 * them; none on a dup): flock and OFD locks belong to its open file, a
 * POSIX one to the process (taken last, once the restorer's own fds of
 * the same files are closed: closing any fd of a file drops them). */
enum {
	SV_RIMG_LOCK_FLOCK = 1,
	SV_RIMG_LOCK_POSIX = 2,
	SV_RIMG_LOCK_OFD = 3,
};
struct sv_rimg_lock {
	uint32_t kind;	/* SV_RIMG_LOCK_* */
	uint32_t write; /* 1: F_WRLCK / LOCK_EX; 0: F_RDLCK / LOCK_SH */
	uint64_t start; /* first byte */
	uint64_t len;	/* bytes; 0: to the end of the file */
};

/* One entry of an epoll fd's interest list: the target is the process's
 * fd `fd` (already restored), watched for `events` with `data`. */
struct sv_rimg_epoll_item {
	int32_t fd;
	/* EPOLLIN... | EPOLLET | EPOLLONESHOT, as epoll_ctl takes them; a
	 * one-shot item that has fired has nothing but EPOLLONESHOT and the
	 * other private bits (the restorer fires it again) */
	uint32_t events;
	uint64_t data;
};

/* One watch of an inotify fd: made again with inotify_add_watch at the
 * path, so that it gets the same wd (restore-inotify.c). */
struct sv_rimg_inotify_watch {
	int32_t wd;
	uint32_t mask;	   /* IN_* as inotify_add_watch takes them */
	uint32_t path_off; /* into strings */
	uint32_t pad;
};

/* sv_rimg_file.memfile: a file that exists only in memory, made again
 * from its carried contents with no name (the snapshot's SV_TASK_MEMFILES) */
enum {
	SV_RIMG_MEMFILE_NONE = 0,    /* a file at its path */
	SV_RIMG_MEMFILE_GHOST = 1,   /* made at its path, then unlinked */
	SV_RIMG_MEMFILE_TMPFILE = 2, /* O_TMPFILE in its directory */
	SV_RIMG_MEMFILE_MEMFD = 3,   /* memfd_create with the name after "/memfd:", then sealed */
	SV_RIMG_MEMFILE_SHMEM = 4,   /* MAP_SHARED|MAP_ANONYMOUS memory */
	/* not a memory-only file and not opened: the contents of a regular
	 * file of the guest's filesystem (sv_rimg_fsent.file) */
	SV_RIMG_MEMFILE_FS_DATA = 5,
	/* a SysV shm segment: shmget with its key, mode and id, filled; its
	 * mappings are attachments (SV_RIMG_VMA_SYSV) */
	SV_RIMG_MEMFILE_SYSV = 6,
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

	/* the files the guest wrote since boot (the snapshot's FS section),
	 * made again before anything else */
	uint32_t nfsents;
	uint32_t pad2;
	uint64_t off_fsents;
	/* threads besides the leader, whose are the task fields above; 0 for
	 * a single-threaded process */
	uint32_t nthreads, nthread_regs, nthread_sigqueue, pad3;
	uint64_t off_threads, off_thread_regs, off_thread_sigqueue, off_thread_fpu, thread_fpu_len;
	/* credentials (SV_RIMG_CREDS): switched to last, in the blob */
	uint32_t uids[4]; /* real, effective, saved, filesystem */
	uint32_t gids[4];
	uint32_t securebits;
	uint32_t pad4;
	/* capability n as bit n: inheritable, permitted, effective, bounding,
	 * ambient */
	uint64_t caps[5];
	/* POSIX timers: sv_rimg_posix_timer[ntimers] at data + timers_off,
	 * by id */
	uint32_t ntimers;
	uint32_t pad5;
	uint64_t timers_off;
	/* SV_RIMG_PRCTL */
	uint32_t dumpable; /* 0 or 1 */
	uint32_t no_new_privs;
	uint32_t pdeath_signal;
	uint32_t thp_disable;
	/* SV_RIMG_UTS: NUL-terminated */
	char nodename[65];
	char domainname[65];
	uint8_t pad6[6];
	/* SV_RIMG_CLOCKS: ns, as the process saw them at the checkpoint */
	uint64_t clock_monotonic, clock_boottime;
	/* SV_RIMG_PRCTL: PR_SET_CHILD_SUBREAPER */
	uint32_t child_subreaper;
	int32_t oom_score_adj; /* SV_RIMG_OOM_SCORE_ADJ: -1000..1000 */
	/* MEMBARRIER_CMD_REGISTER_* commands the restorer issues again (their
	 * OR; 0: none) */
	uint32_t membarrier_cmds;
	uint32_t pad_membarrier;
	/* SV_RIMG_LAZY: sv_rimg_run[nlazy_runs] (data_off 0), sorted by
	 * vaddr, each inside one SV_RIMG_VMA_LAZY mapping: the pages the
	 * pager places; a page of such a mapping in none of them is zero */
	uint32_t nlazy_runs;
	uint32_t pad_lazy;
	uint64_t off_lazy_runs;
	/* SV_RIMG_LOGINUID: written to /proc/thread-self/loginuid while the
	 * restorer is root, before any thread is made, as often as it takes
	 * the guest's session counter to give out sessionid */
	uint32_t loginuid, sessionid;
};

/* How far back the restorer arms a timer to make its overrun count again:
 * it may have to wait that long for the restore guest's clock to reach
 * it (restore-timers.c). A count reaching further is refused at checkpoint. */
#define SV_RIMG_MAX_OVERRUN_REACH_NS (10ull * 1000000000ull)

struct sv_rimg_posix_timer {
	int32_t id; /* what timer_create must return: the process names it so */
	int32_t clock;
	int32_t notify; /* sigev_notify (SIGEV_SIGNAL, SIGEV_NONE, | SIGEV_THREAD_ID) */
	int32_t signo;
	uint64_t value;	   /* sigev_value */
	uint64_t left;	   /* ns to its next expiry; 0: disarmed */
	uint64_t interval; /* ns */
	/* its overrun count (timer_getoverrun), made again by the restorer
	 * (restore-timers.c) for an armed periodic CLOCK_MONOTONIC or
	 * CLOCK_BOOTTIME timer that signals the process or its main thread,
	 * reaching back (overrun + 1) * interval <= SV_RIMG_MAX_OVERRUN_REACH_NS */
	uint64_t overrun;
	/* SIGEV_THREAD_ID: the thread it signals (restored with its tid
	 * before the timers are made); 0: the main thread */
	int32_t tid;
	uint32_t pad;
};

/* sv_rimg_fsent.kind */
enum {
	SV_RIMG_FS_DIR = 1,
	SV_RIMG_FS_FILE = 2,	/* contents: files[file] */
	SV_RIMG_FS_SYMLINK = 3, /* target_off: its target */
	SV_RIMG_FS_LINK = 4,	/* a hard link: target_off names the earlier entry's path */
	SV_RIMG_FS_NODE = 5,	/* a FIFO or device node: mknod(mode, rdev) */
};

struct sv_rimg_fsent {
	uint32_t kind;	     /* SV_RIMG_FS_* */
	uint32_t path_off;   /* into strings: absolute */
	uint32_t target_off; /* into strings */
	int32_t file;	     /* SV_RIMG_FS_FILE: index into the files; -1 otherwise */
	uint32_t mode;	     /* st_mode */
	uint32_t uid, gid;
	uint32_t rdev_major, rdev_minor;
	uint32_t atime_nsec, mtime_nsec;
	uint32_t pad;
	int64_t atime_sec, mtime_sec;
};

/* One more thread: the restorer recreates it with its own tid, sets what
 * the kernel keeps per thread, and lets it run only once every thread is
 * in place, through an rt_sigreturn frame of its own. The fields are the
 * header's task fields of the same names, for this thread. */
struct sv_rimg_thread {
	uint32_t tid;
	uint32_t first_reg, nregs;	    /* its slice of the thread registers */
	uint32_t first_sigqueue, nsigqueue; /* its slice of the thread signal queue */
	uint32_t fpu_size;
	uint64_t fpu_off; /* into thread_fpu, 64-byte aligned */
	uint64_t fpu_features;
	uint64_t clear_child_tid, robust_list, rseq;
	uint32_t rseq_len, rseq_sig;
	uint64_t sigblocked, sigpending;
	uint64_t sigaltstack_sp, sigaltstack_size;
	uint32_t sigaltstack_flags;
	uint32_t personality;
	char comm[16];
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
	uint32_t memfile;    /* SV_RIMG_FD_MEMFILE: index into the files */
	uint32_t i_mode;     /* the inode's type and permissions (FIFOs: the mode to make) */
	uint32_t kind_flags; /* per kind (SV_RIMG_FD_EVENTFD: EFD_SEMAPHORE) */
	uint32_t pad;
	uint64_t value[3]; /* per kind (see the kinds) */
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
	uint32_t memfile;   /* SV_RIMG_MEMFILE_* (then always carried) */
	uint32_t seals;	    /* SV_RIMG_MEMFILE_MEMFD: F_SEAL_* to add once filled */
	uint32_t mode;	    /* memory-only files: permission bits */
	uint32_t sysv_key;  /* SV_RIMG_MEMFILE_SYSV: the segment's key and id */
	int32_t sysv_id;
	uint32_t pad;
	/* memory-only files but SysV: 1 when uid and gid are its owner's
	 * (else it stays the restorer's, root) */
	uint32_t owner;
	uint32_t uid, gid;
	/* ghost, tmpfile and memfd files: 1 when the times below are its
	 * access and modification times, put back once it is filled */
	uint32_t times;
	int64_t atime_sec, mtime_sec;
	uint32_t atime_nsec, mtime_nsec;
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
 * all runs together, locks it in RAM a slice at a time, finds each slice's
 * physical pages in /proc/self/pagemap and writes on its stdout (the host
 * reads it before anything else of that process) a message: the header
 * below and nruns sv_rimg_pfn_run. The messages cover the area in order,
 * each run continuing where the last ended. The host copies the
 * snapshot's pages into guest RAM at those frames as each message comes
 * and, after the last, sends the restorer SIGUSR1; the blob then moves
 * the pages into place (mremap) - no copy inside the guest.
 */
#define SV_RIMG_PFN_MAGIC "\0SVPFNS\n"
#define SV_RIMG_PFN_SIGNAL 10 /* SIGUSR1 */
/* A standby restorer (`restore --standby MIB`, snapvm pool): it maps and
 * locks MIB of anonymous memory while its guest is idle (the guest kernel
 * zeroes it then, not during a restore), writes SV_RIMG_STANDBY_READY on
 * its stdout, and waits for this signal, whose value is the pid to
 * restore as (SV_MSG_STANDBY_GO). It then restores SV_RIMG_GUEST_IMAGE;
 * its staging area takes the pre-faulted pages (mremap) instead of
 * faulting fresh ones. */
#define SV_RIMG_STANDBY_SIGNAL 12 /* SIGUSR2 */
#define SV_RIMG_STANDBY_READY "snapvm-restore: standby ready\n"
/* A standby may also have mapped and locked a mailbox of
 * SV_RIMG_STANDBY_MAILBOX bytes; its ready line then names the mailbox's
 * frames instead: SV_RIMG_STANDBY_READY_MAILBOX, then " PFN+N" for each
 * run in order (hex frame, decimal pages; at most
 * SV_RIMG_STANDBY_MAILBOX_RUNS), then "\n". Before the hand-over the host
 * may write a restore image into it (at SV_RIMG_MAILBOX_IMAGE_AT, then
 * struct sv_rimg_mailbox at 0; since version 5, right after the hand-over,
 * SV_RIMG_STANDBY_GO_MAIL) - guest RAM at memcpy speed, where the
 * agent's channel is a few MB/s under TCG - and the standby restores that
 * instead of SV_RIMG_GUEST_IMAGE. */
#define SV_RIMG_STANDBY_READY_MAILBOX "snapvm-restore: standby ready mailbox"
#define SV_RIMG_STANDBY_MAILBOX (8u << 20)
#define SV_RIMG_STANDBY_MAILBOX_RUNS 64
#define SV_RIMG_MAILBOX_MAGIC "\0SVMBOX\n"
#define SV_RIMG_MAILBOX_IMAGE_AT 4096u /* page-aligned, as a mapped image file */
/* In the standby signal's value beside the pid (at most 0x3fffffff): the
 * host writes the image into the mailbox after the hand-over
 * (SV_RUN_STANDBY_MAIL); the standby waits for its header up to
 * SV_RIMG_MAILBOX_WAIT_MS. */
#define SV_RIMG_STANDBY_GO_MAIL 0x40000000u
#define SV_RIMG_MAILBOX_WAIT_MS 30000u
struct sv_rimg_mailbox {
	char magic[8];
	uint64_t image_bytes; /* at most SV_RIMG_STANDBY_MAILBOX - SV_RIMG_MAILBOX_IMAGE_AT */
};
struct sv_rimg_pfn_header {
	char magic[8];
	uint64_t nruns;
	uint64_t staging_pages; /* the whole area's, in every message */
};
struct sv_rimg_pfn_run {
	uint64_t staging_page; /* first page's index in the staging area */
	uint64_t pfn;	       /* its guest page frame; the run is contiguous */
	uint64_t npages;
};

/*
 * SV_RIMG_LAZY: the pager's buffer. After the staged pages (if any), the
 * restorer writes on its stdout one more message: struct
 * sv_rimg_lazy_header, then nruns sv_rimg_pfn_run covering the pager's
 * locked buffer (staging_page counts its pages) - then the process's own
 * output follows. The buffer's first page is struct sv_rimg_lazy_ctl,
 * then SV_RIMG_LAZY_SLOTS slots of SV_RIMG_LAZY_SLOT_PAGES pages each.
 * Host and pager talk only through it, by polling (no agent in between):
 *   - the pager posts the snapshot address of a page a thread waits for
 *     in want[want_head % SV_RIMG_LAZY_WANTS], then bumps want_head;
 *   - the host fills a free slot (consumed[k] == slot[k].seq) with pages,
 *     writes slot[k].vaddr, npages and sum, then - after a release
 *     fence - a new slot[k].seq;
 *   - the pager reads seq (acquire), checks sum (sv_rimg_lazy_sum of the
 *     pages, vaddr, npages and seq: a buffer frame that moved, or a slot
 *     read torn, fails loudly instead of placing wrong bytes), places the
 *     slot's pages (UFFDIO_COPY; wanted ones first) and sets consumed[k]
 *     to its seq.
 * Every page of the lazy runs is sent once, the waited-for first; the
 * host then sets host_state SENT_ALL. The pager sets pager_state once
 * it has placed the last page (DONE), or gave up (FAILED, the process
 * killed, saying why on its stderr). A host that fails sets FAILED: the
 * pager then kills the process, saying so.
 */
#define SV_RIMG_LAZY_MAGIC "\0SVLAZY\n"
/* Small slots, so that a waited-for page never queues behind much: the
 * pager's copy (UFFDIO_COPY, under TCG) is what limits the stream. */
#define SV_RIMG_LAZY_SLOTS 16
#define SV_RIMG_LAZY_SLOT_PAGES 128 /* 512 KiB */
#define SV_RIMG_LAZY_WANTS 64
#define SV_RIMG_LAZY_BUFFER_PAGES (1 + SV_RIMG_LAZY_SLOTS * SV_RIMG_LAZY_SLOT_PAGES)
struct sv_rimg_lazy_header {
	char magic[8];
	uint64_t nruns;
	uint64_t buffer_pages; /* SV_RIMG_LAZY_BUFFER_PAGES */
};
enum {
	SV_RIMG_LAZY_RUNNING = 0,
	SV_RIMG_LAZY_SENT_ALL = 1,
	SV_RIMG_LAZY_DONE = 2,
	SV_RIMG_LAZY_FAILED = 3
};
struct sv_rimg_lazy_slot {
	uint64_t seq; /* written last */
	uint64_t vaddr, npages;
	uint64_t wanted; /* 1: a thread waits for them: placed before the others */
	uint64_t sum;	 /* sv_rimg_lazy_sum */
};

/* A slot's checksum: Fletcher sums on four lanes of 64-bit words (cheap
 * enough for the guest's pager under TCG; position-dependent, so pages
 * swapped or shifted differ), seeded with where they go and the seq. */
static inline uint64_t sv_rimg_lazy_sum(const void *pages, uint64_t npages, uint64_t vaddr,
					uint64_t seq)
{
	const uint64_t *w = (const uint64_t *)pages;
	uint64_t a0 = vaddr, a1 = npages, a2 = seq, a3 = 1, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
	for (uint64_t i = 0; i < npages * (4096 / 8); i += 4) {
		a0 += w[i];
		a1 += w[i + 1];
		a2 += w[i + 2];
		a3 += w[i + 3];
		b0 += a0;
		b1 += a1;
		b2 += a2;
		b3 += a3;
	}
	uint64_t h = a0 ^ (a1 << 1) ^ (a2 << 2) ^ (a3 << 3);
	return h ^ (b0 * 0x9e3779b97f4a7c15ull) ^ (b1 * 0xc2b2ae3d27d4eb4full) ^
	       (b2 * 0x165667b19e3779f9ull) ^ (b3 * 0x27d4eb2f165667c5ull);
}
struct sv_rimg_lazy_ctl {
	/* the pager's */
	uint64_t pager_state;
	uint64_t want_head;
	uint64_t want[SV_RIMG_LAZY_WANTS];
	uint64_t consumed[SV_RIMG_LAZY_SLOTS];
	uint64_t faults, zero_faults; /* counted, for the host's report */
	/* the host's, on a cache line of its own */
	uint64_t host_state __attribute__((aligned(64)));
	struct sv_rimg_lazy_slot slot[SV_RIMG_LAZY_SLOTS];
};
_Static_assert(sizeof(struct sv_rimg_lazy_ctl) <= 4096, "the control page is one page");

#endif
