/* SPDX-License-Identifier: MIT */
/*
 * restore --lazy's pager (guest/restorer/lazy-pager.c, compiled here for
 * the host and run against the host kernel's userfaultfd): placing a
 * slot's pages into a mapping the process has split since it was
 * registered (mprotect of a part makes no userfaultfd event). One
 * UFFDIO_COPY over both parts fails with ENOENT; every page must still
 * be placed - a page skipped is taken as placed, and a thread waiting
 * there gets a zero page once the pager has gone. Skipped where the
 * kernel gives no userfaultfd (UFFD_USER_MODE_ONLY: Linux 5.11).
 */
#include <glib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

/* (glib's sched.h has it; the pager defines its own) */
#undef CLONE_PARENT
#include "guest/restorer/lazy-pager.c"

void rst_die(const char *fmt, ...)
{
	g_error("rst_die: %s", fmt);
}

void rst_pin_frames_setup(void)
{
}

#define USER_MODE_ONLY 1 /* UFFD_USER_MODE_ONLY: no privilege needed */

/* Is page p there (UFFDIO_ZEROPAGE refuses an existing one)? A missing
 * one becomes a zero page. */
static gboolean present(int uffd, const char *p)
{
	struct uffdio_zeropage z = { .range = { (uint64_t)(uintptr_t)p, PAGE } };
	return ioctl(uffd, UFFDIO_ZEROPAGE, &z) < 0 && errno == EEXIST;
}

static void test_split_mapping(void)
{
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | USER_MODE_ONLY);
	struct uffdio_api api = { .api = UFFD_API };
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0) {
		g_test_skip("no userfaultfd here");
		if (uffd >= 0)
			close(uffd);
		return;
	}
	const uint64_t n = 8;
	char *a = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g_assert_true(a != MAP_FAILED);
	struct uffdio_register r = { .range = { (uint64_t)(uintptr_t)a, n * PAGE },
				     .mode = UFFDIO_REGISTER_MODE_MISSING };
	g_assert_cmpint(ioctl(uffd, UFFDIO_REGISTER, &r), ==, 0);
	/* the process splits its mapping: no event */
	g_assert_cmpint(mprotect(a + 3 * PAGE, (n - 3) * PAGE, PROT_READ), ==, 0);
	/* give_up would kill P.pid: a child of ours, not us */
	pid_t child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* not left behind by a failed assertion */
		pause();
		_exit(0);
	}
	P.pid = child;
	P.guard = -1;
	P.ctx[0] = (struct ctx){ .fd = uffd };
	P.nctx = 1;
	static uint8_t src[8 * PAGE];
	for (uint64_t k = 0; k < n; k++)
		memset(src + k * PAGE, (int)(k + 1), PAGE);
	g_assert_cmpint(copy_into(0, (uint64_t)(uintptr_t)a, src, n), ==, 0);
	for (uint64_t k = 0; k < n; k++) {
		g_assert_true(present(uffd, a + k * PAGE));
		g_assert_cmpint(a[k * PAGE], ==, (int)(k + 1));
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	free(P.ctx[0].ops);
	P.ctx[0] = (struct ctx){ 0 };
	munmap(a, n * PAGE);
	close(uffd);
}

/* Runs fn in a child (give_up _exits and kills P.pid: a grandchild
 * here); its exit status, its stderr in *said. */
static int in_child(void (*fn)(void), char **said)
{
	int out[2];
	g_assert_cmpint(pipe(out), ==, 0);
	pid_t pager = fork();
	if (pager == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], STDERR_FILENO);
		close(out[0]);
		close(out[1]);
		pid_t self = getpid(), victim = fork();
		if (victim == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == self) /* not gone before the prctl */
				pause();
			_exit(0);
		}
		P.pid = victim;
		P.guard = -1;
		fn();
		kill(victim, SIGKILL);
		_exit(0);
	}
	close(out[1]);
	g_autoptr(GString) text = g_string_new(NULL);
	char buf[512];
	ssize_t n;
	while ((n = read(out[0], buf, sizeof(buf))) > 0)
		g_string_append_len(text, buf, n);
	close(out[0]);
	int status;
	g_assert_cmpint(waitpid(pager, &status, 0), ==, pager);
	g_assert_true(WIFEXITED(status));
	if (said)
		*said = g_strdup(text->str);
	return WEXITSTATUS(status);
}

/* give_up with a message longer than its buffer (a long strerror, a
 * long path in a later message): cut short, the process still named and
 * killed - not written past the buffer's end. */
static void give_up_long_child(void)
{
	char long_text[1000];
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	give_up("%s", long_text);
}

static void test_give_up_long(void)
{
	g_autofree char *said = NULL;
	g_assert_cmpint(in_child(give_up_long_child, &said), ==, 1);
	g_assert_cmpint(strlen(said), <, 400);
	g_assert_true(g_str_has_prefix(said, "snapvm restore --lazy: xxx"));
	g_assert_true(g_str_has_suffix(said, "killed (restore without --lazy)\n"));
}

/* The restorer dies before the blob registers the lazy mappings: the
 * pager ends and says so in the control page (FAILED), so that the host,
 * serving until the pager's last word, stops at once. */
static void test_restorer_gone(void)
{
	struct sv_rimg_lazy_ctl *ctl = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	g_assert_true(ctl != MAP_FAILED);
	int ready[2];
	g_assert_cmpint(pipe(ready), ==, 0);
	pid_t pager = fork();
	if (pager == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[1]); /* the restorer's end, gone with it */
		P.ctl = ctl;
		P.guard = -1;
		wait_registered(ready[0]);
		_exit(3); /* not reached */
	}
	close(ready[0]);
	close(ready[1]);
	int status;
	g_assert_cmpint(waitpid(pager, &status, 0), ==, pager);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	g_assert_cmpuint(ctl->pager_state, ==, SV_RIMG_LAZY_FAILED);
	munmap(ctl, PAGE);
}

/* When the pager may stop: not while a forked child still waits for
 * pages after the process itself has gone (its mm's userfaultfd dropped
 * at the first copy that found it gone) - a daemon's parent exits. */
static void test_finished(void)
{
	P.total = 10;
	P.placed = 3;
	P.nctx = 1;
	P.ctx[0] = (struct ctx){ .fd = -1, .main = 1 };
	g_assert_false(finished(0));
	g_assert_true(finished(1)); /* the process gone, no child */
	P.ctx[0].main = 0;	    /* only a child's mm left */
	g_assert_false(finished(1));
	P.placed = 10;
	g_assert_true(finished(1));
	P.placed = 3;
	P.nctx = 0;
	g_assert_true(finished(0));
	P.ctx[0] = (struct ctx){ 0 };
}

static ino_t ino_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* The restorer started with stdin and stdout closed (its pipe ends are
 * 0 and 1 then) and an fd above 1023: the pager keeps exactly its fds
 * (as 3, 4, 5), the process's stderr, /dev/null on 0 and 1, nothing
 * else. Before: 0 and 1 were closed (a pipe end lost), 2000 kept. */
static void keep_fds_child(void)
{
	int err_ino = (int)ino_of(STDERR_FILENO);
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	int p[2];
	if (pipe(p) < 0 || p[0] != 0 || p[1] != 1)
		_exit(10);
	int ev = eventfd(0, 0);
	int high = fcntl(ev, F_DUPFD, 2000), stray = fcntl(ev, F_DUPFD, 1500);
	if (high != 2000 || stray != 1500)
		_exit(11);
	ino_t ev_ino = ino_of(ev);
	int keep[3] = { p[0], p[1], high };
	keep_only(keep, 3);
	if (keep[0] != 3 || keep[1] != 4 || keep[2] != 5)
		_exit(12);
	if (write(4, "x", 1) != 1 || read(3, (char[1]){ 0 }, 1) != 1)
		_exit(13); /* the pipe, both ends */
	if (ino_of(5) != ev_ino || (int)ino_of(STDERR_FILENO) != err_ino)
		_exit(14);
	struct stat st;
	for (int fd = 0; fd < 2; fd++)
		if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
			_exit(15); /* /dev/null */
	for (int fd = 6; fd < 2048; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			_exit(16);
	_exit(0);
}

static void test_keep_fds(void)
{
	g_assert_cmpint(in_child(keep_fds_child, NULL), ==, 0);
}

/* The restorer started with stderr closed too: the uffd is fd 2, and
 * must not stay where give_up writes its message. */
static void keep_fds_no_stderr_child(void)
{
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	int p[2];
	if (pipe(p) < 0 || p[0] != 0 || p[1] != 1)
		_exit(10);
	int ev = eventfd(0, 0);
	if (ev != 2)
		_exit(10);
	ino_t ev_ino = ino_of(ev);
	int keep[3] = { ev, p[0], p[1] };
	keep_only(keep, 3);
	struct stat st;
	if (ino_of(3) != ev_ino || fstat(STDERR_FILENO, &st) < 0 || st.st_rdev != makedev(1, 3))
		_exit(11);
	_exit(0);
}

static void test_keep_fds_no_stderr(void)
{
	g_assert_cmpint(in_child(keep_fds_no_stderr_child, NULL), ==, 0);
}

/* More unmaps, discards and moves than the old fixed 4096 (the process
 * was killed at the 4097th): the list grows and still maps addresses;
 * a discard next to the one before is merged into it. */
static void many_ops_child(void)
{
	struct ctx c = { 0 };
	const uint64_t base = 0x10000000, n = 10000;
	for (uint64_t k = 0; k < n; k++) /* page k moves up by one page, one by one */
		add_op(&c, OP_REMAP, base + k * PAGE, base + (k + 1) * PAGE + n * PAGE, PAGE);
	if (c.nops != n || forward(&c, base + 5 * PAGE) != base + 6 * PAGE + n * PAGE ||
	    inverse(&c, base + 6 * PAGE + n * PAGE) != base + 5 * PAGE)
		_exit(10);
	for (uint64_t k = 0; k < 5000; k++) /* a heap trimmed, again and again */
		add_op(&c, OP_DISCARD, base + 2 * n * PAGE + (k % 7) * PAGE, 0, 3 * PAGE);
	if (c.nops != n + 1 || forward(&c, base + 2 * n * PAGE + 8 * PAGE) != NONE ||
	    forward(&c, base + 2 * n * PAGE + 9 * PAGE) == NONE)
		_exit(11);
	struct ctx child = { 0 }; /* a fork copies the list */
	if (ops_reserve(&child, c.nops) < 0 || child.cap < c.nops)
		_exit(12);
	free(c.ops);
	free(child.ops);
	_exit(0);
}

static void test_many_ops(void)
{
	g_autofree char *said = NULL;
	g_assert_cmpint(in_child(many_ops_child, &said), ==, 0);
	g_assert_cmpstr(said, ==, "");
}

/* The slot checksum: one byte changed (a torn write), two pages swapped
 * (a frame that moved), another seq or address - each differs. */
static void test_sum(void)
{
	static uint64_t pages[2 * PAGE / 8];
	for (size_t k = 0; k < G_N_ELEMENTS(pages); k++)
		pages[k] = k * 0x9e3779b97f4a7c15ull;
	uint64_t sum = sv_rimg_lazy_sum(pages, 2, 0x1000, 7);
	g_assert_cmpuint(sum, ==, sv_rimg_lazy_sum(pages, 2, 0x1000, 7));
	g_assert_cmpuint(sum, !=, sv_rimg_lazy_sum(pages, 2, 0x1000, 8));
	g_assert_cmpuint(sum, !=, sv_rimg_lazy_sum(pages, 2, 0x2000, 7));
	g_assert_cmpuint(sum, !=, sv_rimg_lazy_sum(pages, 1, 0x1000, 7));
	((uint8_t *)pages)[5000] ^= 1;
	g_assert_cmpuint(sum, !=, sv_rimg_lazy_sum(pages, 2, 0x1000, 7));
	((uint8_t *)pages)[5000] ^= 1;
	static uint64_t swapped[2 * PAGE / 8];
	memcpy(swapped, pages + PAGE / 8, PAGE);
	memcpy(swapped + PAGE / 8, pages, PAGE);
	g_assert_cmpuint(sum, !=, sv_rimg_lazy_sum(swapped, 2, 0x1000, 7));
}

/* A slot whose bytes do not match its checksum (a buffer frame moved
 * under the host's write) is not placed: the pager kills the process,
 * saying so. The same slot, intact, is placed. */
static void bad_slot_child(void)
{
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | USER_MODE_ONLY);
	struct uffdio_api api = { .api = UFFD_API };
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0)
		_exit(77);
	const uint64_t n = 4;
	uint8_t *a = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			  0);
	struct uffdio_register r = { .range = { (uint64_t)(uintptr_t)a, n * PAGE },
				     .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (a == MAP_FAILED || ioctl(uffd, UFFDIO_REGISTER, &r) < 0)
		_exit(10);
	static struct sv_rimg_run run;
	run = (struct sv_rimg_run){ .vaddr = (uint64_t)(uintptr_t)a, .npages = n };
	static uint64_t first[2] = { 0, 4 };
	static uint8_t done[1];
	P.runs = &run;
	P.nruns = 1;
	P.first = first;
	P.total = n;
	P.placed = 0;
	P.done = done;
	P.ctx[0] = (struct ctx){ .fd = uffd, .main = 1 };
	P.nctx = 1;
	P.ctl = calloc(1, sizeof(*P.ctl));
	P.slots = calloc(SV_RIMG_LAZY_SLOTS * SV_RIMG_LAZY_SLOT_PAGES, PAGE);
	/* slot 0: pages 0-1, intact */
	memset(P.slots, 0x5a, 2 * PAGE);
	P.ctl->slot[0] = (struct sv_rimg_lazy_slot){ .seq = 1,
						     .vaddr = run.vaddr,
						     .npages = 2,
						     .sum = sv_rimg_lazy_sum(P.slots, 2, run.vaddr,
									     1) };
	place_slot(0, 1);
	if (a[0] != 0x5a || a[2 * PAGE - 1] != 0x5a || P.placed != 2 || P.ctl->consumed[0] != 1)
		_exit(11);
	/* slot 1: pages 2-3, a byte changed after the sum */
	uint8_t *s1 = P.slots + SV_RIMG_LAZY_SLOT_PAGES * PAGE;
	memset(s1, 0x33, 2 * PAGE);
	uint64_t va = run.vaddr + 2 * PAGE;
	P.ctl->slot[1] = (struct sv_rimg_lazy_slot){
		.seq = 1, .vaddr = va, .npages = 2, .sum = sv_rimg_lazy_sum(s1, 2, va, 1)
	};
	s1[PAGE + 17] = 0;
	place_slot(1, 1); /* gives up */
	_exit(12);
}

static void test_bad_slot(void)
{
	g_autofree char *said = NULL;
	int rc = in_child(bad_slot_child, &said);
	if (rc == 77) {
		g_test_skip("no userfaultfd here");
		return;
	}
	g_assert_cmpint(rc, ==, 1);
	g_assert_nonnull(strstr(said, "do not match their checksum"));
	g_assert_true(g_str_has_suffix(said, "killed (restore without --lazy)\n"));
}

/* The pager's copy of the lazy runs is its own, and the restore image
 * (mapped, in the guest's RAM) is gone from it. */
static void test_own_runs(void)
{
	uint8_t *img = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			    0);
	g_assert_true(img != MAP_FAILED);
	struct sv_rimg_header *h = (struct sv_rimg_header *)img;
	h->file_size = 2 * PAGE + 100;
	h->nlazy_runs = 2;
	struct sv_rimg_run *runs = (struct sv_rimg_run *)(img + 512);
	runs[0] = (struct sv_rimg_run){ .vaddr = 0x1000, .npages = 3 };
	runs[1] = (struct sv_rimg_run){ .vaddr = 0x9000, .npages = 1 };
	const struct sv_rimg_run *own = own_runs(h, runs);
	g_assert_cmpuint(own[0].vaddr, ==, 0x1000);
	g_assert_cmpuint(own[0].npages, ==, 3);
	g_assert_cmpuint(own[1].vaddr, ==, 0x9000);
	for (int k = 0; k < 3; k++) /* every page of it, the partial last one too */
		g_assert_true(msync(img + k * PAGE, PAGE, MS_ASYNC) < 0 && errno == ENOMEM);
	free((void *)own);
}

/* Reaps every child of this (subreaper) test until none is left; the
 * status of pid `want` into *ret_status. */
static void reap_all(pid_t want, int *ret_status)
{
	int status;
	pid_t p;
	while ((p = waitpid(-1, &status, 0)) > 0 || (p < 0 && errno == EINTR))
		if (p == want)
			*ret_status = status;
}

/* What fd carried to EOF. */
static char *read_all(int fd)
{
	g_autoptr(GString) text = g_string_new(NULL);
	char buf[512];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		g_string_append_len(text, buf, n > 0 ? (gsize)n : 0);
	close(fd);
	return g_strdup(text->str);
}

/* The pager dies in the instant after it read a fork of the process -
 * the child's userfaultfd is in its fd table, nowhere else - and before
 * anything more: the guard, sharing that table, still holds the child's
 * registration, kills the process and then the child as it faults on a
 * page that will not come. Before, the guard was told of a child's fd
 * only after the read, so the child's fd went with the pager and its
 * page read zero. */
static void test_guard_fork_read_then_dies(void)
{
	int probe = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | USER_MODE_ONLY);
	if (probe < 0) {
		g_test_skip("no userfaultfd here");
		return;
	}
	close(probe);
	/* the guard and the child outlive their parents: reaped here */
	g_assert_cmpint(prctl(PR_SET_CHILD_SUBREAPER, 1), ==, 0);
	int err[2], kid_says[2], go[2];
	g_assert_cmpint(pipe(err), ==, 0);
	g_assert_cmpint(pipe(kid_says), ==, 0);
	g_assert_cmpint(pipe(go), ==, 0);
	pid_t process = fork();
	if (process == 0) {
		close(err[0]);
		close(kid_says[0]);
		close(go[1]);
		int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | USER_MODE_ONLY);
		struct uffdio_api api = { .api = UFFD_API,
					  .features = UFFD_FEATURE_EVENT_FORK |
						      UFFD_FEATURE_THREAD_ID };
		volatile char *a = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct uffdio_register r = { .range = { (uint64_t)(uintptr_t)a, PAGE },
					     .mode = UFFDIO_REGISTER_MODE_MISSING };
		int forked[2];
		if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0 || pipe(forked) < 0)
			_exit(10);
		P.pid = getpid();
		/* the pager before the registration, as in a restore: a fork
		 * after it would wait for a reader of its own event */
		pid_t pager = fork();
		if (pager == 0) {
			dup2(err[1], STDERR_FILENO);
			close(kid_says[1]);
			P.pidfd = (int)syscall(SYS_pidfd_open, P.pid, 0);
			start_guard();
			char byte;
			if (read(go[0], &byte, 1) != 1) /* the process forks next */
				_exit(11);
			struct pollfd pf = { uffd, POLLIN, 0 };
			struct uffd_msg m;
			while (poll(&pf, 1, -1) != 1 || read(uffd, &m, sizeof(m)) != sizeof(m))
				;
			/* the fork read, nothing more; dead once the child
			 * exists (killed before, the process forks none) */
			if (read(forked[0], &byte, 1) != 1)
				_exit(14);
			raise(SIGKILL);
		}
		if (ioctl(uffd, UFFDIO_REGISTER, &r) < 0)
			_exit(13);
		close(uffd); /* the pager's alone, as the blob leaves it */
		close(err[1]);
		pid_t kid = fork(); /* waits until the pager reads the event */
		if (kid > 0 && write(forked[1], "f", 1) != 1)
			_exit(15);
		if (kid == 0) {
			char c = a[0]; /* a page never placed */
			(void)!write(kid_says[1], c == 0 ? "zero" : "data", 4);
			_exit(0);
		}
		close(kid_says[1]);
		pause(); /* killed by the guard */
		_exit(12);
	}
	close(err[1]);
	close(kid_says[1]);
	close(go[0]);
	g_assert_cmpint(write(go[1], "g", 1), ==, 1);
	close(go[1]);
	g_autofree char *kid_said = read_all(kid_says[0]); /* EOF: the child ended */
	g_autofree char *said = read_all(err[0]);	   /* EOF: the guard ended */
	int status = 0;
	reap_all(process, &status);
	g_assert_cmpint(prctl(PR_SET_CHILD_SUBREAPER, 0), ==, 0);
	g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	g_test_message("guard said: %s", said);
	g_assert_cmpstr(kid_said, ==, ""); /* killed at its fault: read nothing */
	g_assert_nonnull(strstr(said, "the pager died before the last page was placed"));
	g_assert_nonnull(strstr(said, "waits for a page that will not come: killed"));
}

/* The pager dies after the process has ended (its forked children still
 * paged) and the process's pid has gone to another process: the guard
 * kills by the pidfd it opened while the process lived, so the other
 * process lives on. Before, it killed the pid. */
static void test_guard_kills_no_stranger(void)
{
	g_assert_cmpint(prctl(PR_SET_CHILD_SUBREAPER, 1), ==, 0);
	pid_t process = fork();
	if (process == 0) {
		pause();
		_exit(0);
	}
	int pidfd = (int)syscall(SYS_pidfd_open, process, 0);
	g_assert_cmpint(pidfd, >=, 0);
	kill(process, SIGKILL);
	g_assert_cmpint(waitpid(process, NULL, 0), ==, process);
	pid_t stranger = fork(); /* the pid's new holder, as far as P says */
	if (stranger == 0) {
		pause();
		_exit(0);
	}
	int err[2];
	g_assert_cmpint(pipe(err), ==, 0);
	pid_t pager = fork();
	if (pager == 0) {
		dup2(err[1], STDERR_FILENO);
		P.pid = stranger;
		P.pidfd = pidfd;
		start_guard();
		raise(SIGKILL);
	}
	close(err[1]);
	close(pidfd);
	g_autofree char *said = read_all(err[0]); /* EOF: the guard ended */
	g_assert_nonnull(strstr(said, "the pager died before the last page was placed"));
	g_assert_cmpint(waitpid(stranger, NULL, WNOHANG), ==, 0); /* alive */
	kill(stranger, SIGKILL);
	int status;
	reap_all(-1, &status);
	g_assert_cmpint(prctl(PR_SET_CHILD_SUBREAPER, 0), ==, 0);
}

/* mm_gone: a live mm with a missing registered page at the probe's very
 * address is not gone, and the probe places nothing there; once the
 * process has exited, it is. */
static void test_mm_gone(void)
{
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | USER_MODE_ONLY);
	struct uffdio_api api = { .api = UFFD_API };
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0) {
		g_test_skip("no userfaultfd here");
		return;
	}
	close(uffd);
	int sp[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), ==, 0);
	pid_t owner = fork();
	if (owner == 0) { /* registers 1 MiB (the probe's address), sends its uffd */
		close(sp[0]);
		int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | USER_MODE_ONLY);
		struct uffdio_api a = { .api = UFFD_API };
		void *m = mmap((void *)(1ul << 20), PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		struct uffdio_register r = { .range = { 1ul << 20, PAGE },
					     .mode = UFFDIO_REGISTER_MODE_MISSING };
		if (fd < 0 || ioctl(fd, UFFDIO_API, &a) < 0 || m != (void *)(1ul << 20) ||
		    ioctl(fd, UFFDIO_REGISTER, &r) < 0)
			_exit(10);
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u = { 0 };
		struct iovec io = { "u", 1 };
		struct msghdr mh = { .msg_iov = &io,
				     .msg_iovlen = 1,
				     .msg_control = u.buf,
				     .msg_controllen = sizeof(u.buf) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		if (sendmsg(sp[1], &mh, 0) != 1)
			_exit(11);
		char byte;
		(void)!read(sp[1], &byte, 1); /* until told to end */
		_exit(0);
	}
	close(sp[1]);
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	char byte;
	struct iovec io = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &io,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	g_assert_cmpint(recvmsg(sp[0], &mh, 0), ==, 1);
	int fd = -1;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	g_assert_cmpint(fd, >=, 0);
	void *unreadable = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g_assert_false(mm_gone(fd, unreadable));
	struct uffdio_zeropage z = { .range = { 1ul << 20, PAGE } };
	g_assert_cmpint(ioctl(fd, UFFDIO_ZEROPAGE, &z), ==, 0); /* was still missing */
	close(sp[0]);						/* the owner ends */
	g_assert_cmpint(waitpid(owner, NULL, 0), ==, owner);
	g_assert_true(mm_gone(fd, unreadable));
	close(fd);
	munmap(unreadable, PAGE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/lazy-pager/copy/split-mapping", test_split_mapping);
	g_test_add_func("/lazy-pager/give-up/long-message", test_give_up_long);
	g_test_add_func("/lazy-pager/start/restorer-gone", test_restorer_gone);
	g_test_add_func("/lazy-pager/serve/finished", test_finished);
	g_test_add_func("/lazy-pager/start/keep-fds", test_keep_fds);
	g_test_add_func("/lazy-pager/start/keep-fds-no-stderr", test_keep_fds_no_stderr);
	g_test_add_func("/lazy-pager/start/own-runs", test_own_runs);
	g_test_add_func("/lazy-pager/events/many-ops", test_many_ops);
	g_test_add_func("/lazy-pager/slot/sum", test_sum);
	g_test_add_func("/lazy-pager/slot/bad-checksum", test_bad_slot);
	g_test_add_func("/lazy-pager/guard/fork-read-then-dies", test_guard_fork_read_then_dies);
	g_test_add_func("/lazy-pager/guard/kills-no-stranger", test_guard_kills_no_stranger);
	g_test_add_func("/lazy-pager/guard/mm-gone", test_mm_gone);
	return g_test_run();
}
