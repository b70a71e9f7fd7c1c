/* SPDX-License-Identifier: MIT */
/*
 * restore-main.c - snapvm-restore-<arch> IMAGE: turns itself into the
 * process of a flat restore image (include/snapvm/restore-image-format.h).
 *
 * Started by the agent like any workload (its fds 0-2 are the agent's
 * /dev/null and output pipes, which the restored process keeps, so its
 * output reaches the host as a `run` workload's does; its exit status is
 * the restored process's). Here, with libc: read and check the image, put
 * each mapped file at its path (from the carried copy when the guest lacks
 * it), open them, check the vDSO and the CPU, pick a region no mapping of
 * the snapshot nor of this program uses, copy the blob there with its
 * arguments and the rt_sigreturn frames (one per thread), and jump. The blob (per arch) does
 * the rest without libc. Refusals print one line on stderr and exit
 * SV_RIMG_EXIT_FAILED.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "guest/lib/sha256.h"
#include "restore.h"
#include "snapvm/snapshot-format.h"

#define PAGE 4096ul
#define BLOB_STACK (64ul * 1024)
#define AUXV_MAX_BYTES 416 /* sizeof(mm->saved_auxv) on x86_64 and arm64 */

#define die rst_die
#define str rst_str

static const uint8_t *img;
static size_t img_size;
static int image_fd = -1; /* img's file; -1: the image is in a standby's mailbox */

/* A table of the image, checked to lie inside it. */
static const void *table(uint64_t off, uint64_t n, size_t elem, const char *what)
{
	if (n > img_size / (elem ? elem : 1) || off > img_size || n * elem > img_size - off ||
	    off % 8)
		die("corrupt restore image: %s table out of bounds", what);
	return img + off;
}

struct range {
	uint64_t start, end;
};

/* This program's own mappings, from /proc/self/maps; the vDSO's and
 * vvar's on the side. */
static int own_maps(struct range *out, int max, struct range *vdso, struct range *vvar)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		die("cannot read /proc/self/maps: %s", strerror(errno));
	char line[512];
	int n = 0;
	*vdso = *vvar = (struct range){ 0, 0 };
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx", &s, &e) != 2)
			continue;
		if (strstr(line, "[vdso]"))
			*vdso = (struct range){ s, e };
		if (strstr(line, "[vvar]"))
			*vvar = (struct range){ s, e };
		if (n < max)
			out[n++] = (struct range){ s, e };
	}
	fclose(f);
	return n;
}

static int overlaps(uint64_t s, uint64_t e, const struct range *r, int n)
{
	for (int i = 0; i < n; i++)
		if (s < r[i].end && r[i].start < e)
			return 1;
	return 0;
}

/* A free range of len bytes (aligned to 1 GiB steps, from 4 GiB up: a
 * static program's code and heap sit low and its mmap area, stack and
 * vDSO near the top) that neither this program nor the snapshot uses. */
static uint64_t find_gap(uint64_t len, const struct range *own, int nown,
			 const struct sv_rimg_vma *vmas, uint32_t nvmas)
{
	for (uint64_t cand = 1ull << 32; cand + len < 0x7ff000000000ull; cand += 1ull << 30) {
		/* the first VMA ending above cand (they are sorted): only it
		 * can clash, so 18k mappings cost a binary search, not a scan */
		uint32_t lo = 0, hi = nvmas;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (vmas[mid].end <= cand)
				lo = mid + 1;
			else
				hi = mid;
		}
		int clash = overlaps(cand, cand + len, own, nown) ||
			    (lo < nvmas && vmas[lo].start < cand + len);
		if (!clash)
			return cand;
	}
	return 0;
}

static void sha256_of_fd(int fd, uint8_t out[32])
{
	struct sha256 s;
	sha256_init(&s);
	static uint8_t buf[65536];
	ssize_t n;
	off_t at = 0;
	while ((n = pread(fd, buf, sizeof(buf), at)) > 0) {
		sha256_update(&s, buf, (size_t)n);
		at += n;
	}
	char hex[65];
	sha256_final_hex(&s, hex);
	for (int i = 0; i < 32; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

/* Puts file i at its path (the carried copy when the guest has none) and
 * opens it. A guest file that differs from the carried copy is refused:
 * mapping it would give the process other bytes than it had. */
static int prepare_file(const struct sv_rimg_header *h, const struct sv_rimg_file *f, int shared)
{
	const char *path = str(h, f->path_off);
	int flags = (shared ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	if (f->memfile == SV_RIMG_MEMFILE_FS_DATA)
		return -1; /* contents for rst_fs_restore, not opened */
	if (f->memfile == SV_RIMG_MEMFILE_SYSV) {
		if (f->data_off > img_size || f->size > img_size - f->data_off)
			die("corrupt restore image: SysV segment %s out of bounds", path);
		rst_sysv_create(h, f, img + f->data_off);
		return -1; /* attached by the blob, by id */
	}
	if (f->memfile) {
		if (!f->carried || f->data_off > img_size || f->size > img_size - f->data_off)
			die("corrupt restore image: memory-only file %s out of bounds", path);
		return rst_memfile_create(h, f, img + f->data_off);
	}
	int fd = open(path, flags);
	if (fd < 0 && errno != ENOENT)
		die("cannot open %s: %s", path, strerror(errno));
	if (fd < 0 && !f->carried)
		die("%s is not in the guest and the snapshot does not carry it (checkpointed with "
		    "--no-files)",
		    path);
	if (fd >= 0 && f->carried) {
		struct stat st;
		uint8_t sum[32];
		if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != f->size)
			die("%s in the guest differs from the snapshot's copy (%lld bytes, not %llu)",
			    path, (long long)st.st_size, (unsigned long long)f->size);
		sha256_of_fd(fd, sum);
		if (memcmp(sum, f->sha256, 32))
			die("%s in the guest differs from the snapshot's copy (SHA-256)", path);
		return fd;
	}
	if (fd >= 0)
		return fd;
	if (f->data_off > img_size || f->size > img_size - f->data_off)
		die("corrupt restore image: file %s out of bounds", path);
	rst_mkdir_parents(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (fd < 0)
		die("cannot create %s: %s", path, strerror(errno));
	for (uint64_t done = 0; done < f->size;) {
		ssize_t n = pwrite(fd, img + f->data_off + done, f->size - done, (off_t)done);
		if (n <= 0)
			die("cannot write %s: %s", path, n < 0 ? strerror(errno) : "short write");
		done += (uint64_t)n;
	}
	/* Reopened as the mapping needs it: the kernel will not make a file
	 * open for writing the process's exe (deny_write_access). */
	close(fd);
	fd = open(path, flags);
	if (fd < 0)
		die("cannot reopen %s: %s", path, strerror(errno));
	return fd;
}

/* img: image_path mapped. */
static void map_image(const char *image_path)
{
	image_fd = open(image_path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (image_fd < 0 || fstat(image_fd, &st) < 0)
		die("cannot open %s: %s", image_path, strerror(errno));
	img_size = (size_t)st.st_size;
	img = mmap(NULL, img_size ? img_size : 1, PROT_READ, MAP_PRIVATE, image_fd, 0);
	if (img == MAP_FAILED)
		die("cannot map %s: %s", image_path, strerror(errno));
}

int main(int argc, char **argv)
{
	int standby = argc == 3 && !strcmp(argv[1], "--standby");
	if (argc != 2 && !standby) {
		dprintf(STDERR_FILENO, "usage: %s IMAGE | --standby MIB\n", argv[0]);
		return 2;
	}
	/* Nothing may interrupt the rebuild; the frame's mask ends this. By
	 * the system call: glibc's sigprocmask never blocks its own signals
	 * 32 and 33, and 32 (SIGCANCEL, and SIGTIMER: its SIGEV_THREAD
	 * helper thread's) would then kill a restorer thread that a restored
	 * timer signals before the thread has the process's handlers and
	 * mask (zdtm's pthread_timers died so). */
	uint64_t all = ~0ull;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof(all));
	if (standby)
		rst_standby(argv[2]); /* returns in the process to restore */
	const char *image_path = standby ? SV_RIMG_GUEST_IMAGE : argv[1];

	/* a standby's image may be in its mailbox (standby.c) */
	if (standby && rst_standby_image(&img, &img_size))
		image_path = "the standby's mailbox";
	else
		map_image(image_path);
	if (img_size < sizeof(struct sv_rimg_header))
		die("%s is too short for a restore image", image_path);
	const struct sv_rimg_header *h = (const void *)img;
	if (memcmp(h->magic, SV_RIMG_MAGIC, 8) || h->version != SV_RIMG_VERSION ||
	    h->header_size != sizeof(*h) || h->file_size != img_size || h->page_size != PAGE)
		die("%s is not a restore image this restorer reads", image_path);
	const struct sv_rimg_vma *vmas = table(h->off_vmas, h->nvmas, sizeof(*vmas), "VMA");
	const struct sv_rimg_file *files = table(h->off_files, h->nfiles, sizeof(*files), "file");
	const struct sv_rimg_run *runs = table(h->off_runs, h->nruns, sizeof(*runs), "page run");
	const struct sv_rimg_sigaction *acts = table(h->off_sigactions, h->nsigactions,
						     sizeof(*acts), "sigaction");
	const struct sv_rimg_sigqueue *sigq = table(h->off_sigqueue, h->nsigqueue, sizeof(*sigq),
						    "signal queue");
	const uint64_t *auxv = table(h->off_auxv, 2ull * h->nauxv, 8, "auxv");
	const struct sv_rimg_named *regs = table(h->off_regs, h->nregs, sizeof(*regs), "register");
	const uint8_t *fpu = table(h->off_fpu, h->fpu_size, 1, "FPU");
	table(h->off_strings, h->strings_len, 1, "string");
	const struct sv_rimg_fd *fd_table = table(h->off_fds, h->nfds, sizeof(*fd_table), "fd");
	const uint32_t *groups = table(h->off_groups, h->ngroups, 4, "group");
	const uint8_t *fd_data = table(h->off_data, h->data_len, 1, "pipe data");
	const struct sv_rimg_fsent *fsents = table(h->off_fsents, h->nfsents, sizeof(*fsents),
						   "filesystem");
	const struct sv_rimg_thread *threads = table(h->off_threads, h->nthreads, sizeof(*threads),
						     "thread");
	const struct sv_rimg_named *tregs = table(h->off_thread_regs, h->nthread_regs,
						  sizeof(*tregs), "thread register");
	const struct sv_rimg_sigqueue *tsigq = table(h->off_thread_sigqueue, h->nthread_sigqueue,
						     sizeof(*tsigq), "thread signal queue");
	const uint8_t *tfpu = table(h->off_thread_fpu, h->thread_fpu_len, 1, "thread FPU");
	const struct sv_rimg_run *lazy_runs = table(h->off_lazy_runs, h->nlazy_runs,
						    sizeof(*lazy_runs), "lazy run");
	for (uint32_t i = 0; i < h->nruns && !(h->flags & SV_RIMG_HOST_PAGES); i++)
		if (runs[i].data_off > img_size || runs[i].npages > img_size / PAGE ||
		    runs[i].npages * PAGE > img_size - runs[i].data_off)
			die("corrupt restore image: page run %u out of bounds", i);

	char msg[512];
	if (rst_arch_check_cpu(h, fpu, msg, sizeof(msg)))
		die("%s", msg);
	size_t threads_need = rst_threads_check(h, threads, tfpu);
	/* The vDSO: the same kernel maps the same one; a different size means
	 * a different kernel, whose vDSO code the process cannot use. */
	static struct range own[1024];
	struct range vdso, vvar;
	int nown = own_maps(own, 1024, &vdso, &vvar);
	uint64_t vdso_size = vdso.end - vdso.start, vvar_size = vvar.end - vvar.start;
	uint64_t vvar_start = 0;
	for (uint32_t i = 0; i < h->nvmas; i++) {
		const struct sv_rimg_vma *v = &vmas[i];
		if (v->start % PAGE || v->end % PAGE || v->end <= v->start ||
		    (i && v->start < vmas[i - 1].end))
			die("corrupt restore image: VMA %u", i);
		if (v->flags & SV_RIMG_VMA_VVAR) {
			if (v->end - v->start != vvar_size)
				die("the snapshot's [vvar] is %llu bytes, this guest's %llu: the "
				    "guest runs another kernel",
				    (unsigned long long)(v->end - v->start),
				    (unsigned long long)vvar_size);
			if (i + 1 >= h->nvmas || !(vmas[i + 1].flags & SV_RIMG_VMA_VDSO) ||
			    vmas[i + 1].start != v->end)
				die("the snapshot's [vvar] is not right below its [vdso]: the vDSO "
				    "cannot be placed as it was");
			vvar_start = v->start;
		}
		if ((v->flags & SV_RIMG_VMA_VDSO) && v->end - v->start != vdso_size)
			die("the snapshot's [vdso] is %llu bytes, this guest's %llu: the guest runs "
			    "another kernel",
			    (unsigned long long)(v->end - v->start), (unsigned long long)vdso_size);
	}

	for (uint32_t i = 1; i < h->nruns; i++)
		if (runs[i].vaddr < runs[i - 1].vaddr + runs[i - 1].npages * PAGE)
			die("corrupt restore image: page run %u is out of order", i);

	/* The staging area first, before the rest of the restorer's work,
	 * which then runs while the host fills it (rst_stage_pages_wait
	 * below, as late as it can be): the host's copy and the restorer's
	 * own work overlap instead of following each other. */
	uint64_t staging = 0, staging_len = 0;
	uint64_t *stage_pos = NULL; /* each run's offset in the staging area */
	/* before the area is faulted in (rst_process_restore sets it again):
	 * a process that turned huge pages off gets small ones, as it had */
	if (prctl(PR_SET_THP_DISABLE, h->thp_disable ? 1 : 0, 0, 0, 0) < 0)
		die("prctl(PR_SET_THP_DISABLE): %s", strerror(errno));
	if (h->flags & SV_RIMG_HOST_PAGES) {
		for (uint32_t i = 0; i < h->nruns; i++) {
			if (runs[i].data_off != staging_len)
				die("corrupt restore image: page run %u is not in staging order",
				    i);
			staging_len += runs[i].npages * PAGE;
		}
		if (staging_len) {
			/* each run where its huge pages survive the blob's
			 * mremap (stage-layout.c), the area 1 GiB-aligned */
			stage_pos = malloc(h->nruns * sizeof(uint64_t));
			if (!stage_pos)
				die("out of memory for %u page runs", h->nruns);
			uint64_t end = rst_stage_layout(runs, h->nruns, rst_arch_huge_page,
							stage_pos);
			staging = find_gap(end, own, nown, vmas, h->nvmas);
			if (!staging)
				die("no free address range for %llu bytes of staged pages",
				    (unsigned long long)end);
			rst_stage_pages(staging, runs, h->nruns, stage_pos, end);
			staging += stage_pos[0];
			staging_len = end - stage_pos[0];
		}
	}
	/* Before the other threads exist: a time namespace can be entered
	 * only by a single-threaded task, and the UTS namespace and
	 * no_new_privs are per task, inherited by the threads clone3 makes. */
	rst_process_restore(h);
	rst_threads_park(h, threads);
	/* now, while this program is small (its memory is copied: a
	 * standby's pool and the staging area are left out, and marked back
	 * at once - the process's memory is made of them, and its own forks
	 * must copy it), and after the threads have their tids */
	int unmapper_go, unmapper_ack, uffd = -1, lazy_report = -1, lazy_ready = -1;
	rst_standby_dontfork(true);
	rst_stage_pages_dontfork(true);
	if (h->flags & SV_RIMG_LAZY) /* the pager first: the unmapper drops the uffd */
		uffd = rst_lazy_start(h, lazy_runs, &lazy_report, &lazy_ready);
	rst_unmapper_start(h, threads, &unmapper_go, &unmapper_ack);
	rst_stage_pages_dontfork(false);
	rst_standby_dontfork(false);

	/* The files the guest wrote, as the process left them; then the
	 * files it maps or holds, at their paths, opened once each. */
	rst_fs_restore(h, fsents, files, img, img_size);
	int *fds = calloc(h->nfiles + 1, sizeof(int));
	uint8_t *shared = calloc(h->nfiles + 1, 1);
	for (uint32_t k = 0; k < h->nvmas; k++)
		if (vmas[k].file >= 0 && (uint32_t)vmas[k].file < h->nfiles &&
		    (vmas[k].flags & SV_RIMG_VMA_SHARED))
			shared[vmas[k].file] = 1;
	for (uint32_t i = 0; i < h->nfiles; i++)
		fds[i] = prepare_file(h, &files[i], shared[i]);
	free(shared);
	rst_standby_drop(); /* a standby's pool the staging area did not take */
	if (lazy_report >= 0) {
		/* the pager's buffer after the staged pages: the host's order */
		rst_stage_pages_wait();
		rst_lazy_announce(lazy_report);
	}
	nown = own_maps(own, 1024, &vdso, &vvar);

	/* The process's fds, at their numbers; ours above them. */
	int **own_fds = calloc(h->nfiles + 5, sizeof(int *));
	own_fds[0] = &image_fd;
	for (uint32_t i = 0; i < h->nfiles; i++)
		own_fds[i + 1] = &fds[i];
	own_fds[h->nfiles + 1] = &unmapper_go;
	own_fds[h->nfiles + 2] = &unmapper_ack;
	own_fds[h->nfiles + 3] = &uffd;
	own_fds[h->nfiles + 4] = &lazy_ready;
	int close_from = rst_files_restore(h, fd_table, fd_data, own_fds, (int)h->nfiles + 5);
	free(own_fds);
	rst_env_restore(h, groups);

	/* The region: blob code, arguments, tables, frame, stack. */
	size_t blob_len = (size_t)(rst_blob_end - rst_blob_start);
	size_t frame_len = rst_arch_sigframe_size(h);
	size_t need = blob_len + 64 + sizeof(struct rst_args) + 64 +
		      h->nvmas * sizeof(struct rst_vma) + h->nruns * sizeof(struct rst_run) +
		      h->nsigactions * sizeof(*acts) + h->nsigqueue * sizeof(*sigq) +
		      AUXV_MAX_BYTES + frame_len + h->nfds * sizeof(struct rst_seek) + 16 * 8 +
		      8 * 64 /* alignment */ + BLOB_STACK + threads_need +
		      rst_nposix_locks * sizeof(struct rst_posix_lock) + 64;
	size_t region_len = (need + PAGE - 1) & ~(PAGE - 1);
	uint64_t region = find_gap(region_len, own, nown, vmas, h->nvmas);
	if (!region)
		die("no free address range for the restorer (%zu bytes)", region_len);
	uint8_t *r = mmap((void *)region, region_len, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r == MAP_FAILED || (uint64_t)(uintptr_t)r != region)
		die("cannot map the restorer at 0x%llx: %s", (unsigned long long)region,
		    strerror(errno));
	memcpy(r, rst_blob_start, blob_len);
	struct rst_region rg = { .base = r, .at = blob_len, .len = region_len - BLOB_STACK };
#define TAKE(type, count) ((type *)rst_take(&rg, (count) * sizeof(type)))
	struct rst_args *a = TAKE(struct rst_args, 1);
	memset(a, 0, sizeof(*a));
	a->region_start = region;
	a->region_end = region + region_len;
	a->image_fd = image_fd;
	a->close_from = (uint32_t)close_from;
	a->unmapper_go = unmapper_go;
	a->unmapper_ack = unmapper_ack;
	a->uffd = uffd;
	a->lazy_ready = lazy_ready;
	a->staging_start = staging;
	a->staging_len = staging_len;
	a->pid = h->pid;
	a->nvmas = h->nvmas;
	a->vmas = TAKE(struct rst_vma, h->nvmas);
	uint32_t first_run = 0; /* runs and VMAs are sorted: one walk over both */
	for (uint32_t i = 0; i < h->nvmas; i++) {
		const struct sv_rimg_vma *v = &vmas[i];
		if (v->file >= (int32_t)h->nfiles || v->file < -1)
			die("corrupt restore image: VMA %u names file %d", i, v->file);
		a->vmas[i] = (struct rst_vma){
			.start = v->start,
			.end = v->end,
			.pgoff = v->pgoff,
			.prot = v->prot & 7,
			.flags = v->flags,
			.fd = v->file < 0		      ? -1
			      : (v->flags & SV_RIMG_VMA_SYSV) ? files[v->file].sysv_id
							      : fds[v->file],
		};
		/* A shared file mapping shows the file, which is already right;
		 * a mapping no stored page falls in is mapped as it ends up
		 * (never writable in between: no copy-on-write, no VM_ACCOUNT). */
		while (first_run < h->nruns &&
		       runs[first_run].vaddr + runs[first_run].npages * PAGE <= v->start)
			first_run++;
		if (!(v->file >= 0 && (v->flags & SV_RIMG_VMA_SHARED)))
			a->vmas[i].fill = first_run < h->nruns && runs[first_run].vaddr < v->end;
	}
	a->nruns = h->nruns;
	a->runs = TAKE(struct rst_run, h->nruns);
	for (uint32_t i = 0; i < h->nruns; i++)
		a->runs[i] = (struct rst_run){ .vaddr = runs[i].vaddr,
					       .len = runs[i].npages * PAGE,
					       /* staged: where the layout put it */
					       .data_off = stage_pos ? stage_pos[i] - stage_pos[0]
								     : runs[i].data_off };
	free(stage_pos);
	if (h->flags & SV_RIMG_CREDS) {
		a->creds.set = 1;
		a->creds.securebits = h->securebits;
		memcpy(a->creds.uids, h->uids, sizeof(h->uids));
		memcpy(a->creds.gids, h->gids, sizeof(h->gids));
		memcpy(a->creds.caps, h->caps, sizeof(h->caps));
	}
	a->nposix_locks = rst_nposix_locks;
	a->posix_locks = TAKE(struct rst_posix_lock, rst_nposix_locks);
	memcpy(a->posix_locks, rst_posix_locks, rst_nposix_locks * sizeof(struct rst_posix_lock));
	a->nsigactions = h->nsigactions;
	a->sigactions = TAKE(struct sv_rimg_sigaction, h->nsigactions);
	memcpy(a->sigactions, acts, h->nsigactions * sizeof(*acts));
	a->nsigqueue = h->nsigqueue;
	a->sigqueue = TAKE(struct sv_rimg_sigqueue, h->nsigqueue);
	memcpy(a->sigqueue, sigq, h->nsigqueue * sizeof(*sigq));
	a->seeks = TAKE(struct rst_seek, h->nfds);
	for (uint32_t i = 0; i < h->nfds; i++)
		if (fd_table[i].kind == SV_RIMG_FD_PATH && fd_table[i].dup_of < 0 &&
		    fd_table[i].pos && rst_path_in_procfs(str(h, fd_table[i].path_off)))
			a->seeks[a->nseeks++] = (struct rst_seek){ .fd = fd_table[i].fd,
								   .pos = fd_table[i].pos };
	a->sigpending = h->sigpending;
	a->sigpending_shared = h->sigpending_shared;
	size_t auxv_bytes = h->nauxv * 16ull;
	if (auxv_bytes > AUXV_MAX_BYTES)
		auxv_bytes = AUXV_MAX_BYTES;
	uint64_t *auxv_copy = TAKE(uint64_t, AUXV_MAX_BYTES / 8);
	memcpy(auxv_copy, auxv, auxv_bytes);
	int exe_fd = -1;
	for (uint32_t i = 0; i < h->nvmas; i++)
		if (vmas[i].file >= 0 && vmas[i].start <= h->start_code &&
		    h->start_code < vmas[i].end)
			exe_fd = fds[vmas[i].file];
	a->mm = (struct rst_prctl_mm_map){
		.start_code = h->start_code,
		.end_code = h->end_code,
		.start_data = h->start_data,
		.end_data = h->end_data,
		.start_brk = h->start_brk,
		.brk = h->brk,
		.start_stack = h->start_stack,
		.arg_start = h->arg_start,
		.arg_end = h->arg_end,
		.env_start = h->env_start,
		.env_end = h->env_end,
		.auxv = (uint64_t)(uintptr_t)auxv_copy,
		.auxv_size = (uint32_t)auxv_bytes,
		.exe_fd = (uint32_t)exe_fd,
	};
	a->vdso_vvar_start = vvar_start;
	a->vdso_now_start = vvar.start;
	a->vdso_now_end = vdso.end;
	a->vvar_len = vvar_size;
	rst_arch_tls(h, regs, a);
	a->clear_child_tid = h->clear_child_tid;
	a->robust_list = h->robust_list;
	a->rseq = h->rseq;
	a->rseq_len = h->rseq_len;
	a->rseq_sig = h->rseq_sig;
	memcpy(a->comm, h->comm, sizeof(a->comm));
	a->comm[15] = '\0';
	uint8_t *frame = TAKE(uint8_t, frame_len);
	if (rst_arch_build_sigframe(frame, frame_len, h, regs, fpu, &a->sigframe_sp, msg,
				    sizeof(msg)))
		die("%s", msg);
	a->sigframe_ip = rst_arch_sigframe_ip_offset()
				 ? a->sigframe_sp + rst_arch_sigframe_ip_offset()
				 : 0;
	rst_threads_fill(h, threads, tregs, tsigq, tfpu, groups, a, &rg);
	uint64_t stack_top = region + region_len - 64;
#undef TAKE
	/* Every page is in the staging area from here on: nothing above
	 * needed them, so all of it ran while the host copied. Before the
	 * timers run and the threads go on. */
	rst_stage_pages_wait();
	if (personality(h->personality) < 0)
		die("personality 0x%x: %s", h->personality, strerror(errno));
	int err = rst_forget_rseq(rst_arch_thread_pointer());
	if (err)
		die("cannot unregister the restorer's own rseq area: %s", strerror(-err));
	rst_itimers_arm(h, fd_data);
	rst_threads_release(a, region);
	rst_arch_jump(region, stack_top, a);
}
