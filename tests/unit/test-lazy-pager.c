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
	P.ctx[0] = (struct ctx){ .fd = uffd, .ops = g_new0(struct op, MAX_OPS) };
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
	g_free(P.ctx[0].ops);
	munmap(a, n * PAGE);
	close(uffd);
}

/* give_up with a message longer than its buffer (a long strerror, a
 * long path in a later message): cut short, the process still named and
 * killed - not written past the buffer's end. */
static void test_give_up_long(void)
{
	int out[2];
	g_assert_cmpint(pipe(out), ==, 0);
	pid_t pager = fork();
	if (pager == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], STDERR_FILENO);
		pid_t victim = fork();
		if (victim == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			pause();
			_exit(0);
		}
		P.pid = victim;
		P.guard = -1;
		char long_text[1000];
		memset(long_text, 'x', sizeof(long_text) - 1);
		long_text[sizeof(long_text) - 1] = '\0';
		give_up("%s", long_text);
	}
	close(out[1]);
	char said[2048];
	ssize_t n, got = 0;
	while ((n = read(out[0], said + got, sizeof(said) - 1 - (size_t)got)) > 0)
		got += n;
	close(out[0]);
	said[got] = '\0';
	int status;
	g_assert_cmpint(waitpid(pager, &status, 0), ==, pager);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 1);
	g_assert_cmpint(got, <, 400);
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

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/lazy-pager/copy/split-mapping", test_split_mapping);
	g_test_add_func("/lazy-pager/give-up/long-message", test_give_up_long);
	g_test_add_func("/lazy-pager/start/restorer-gone", test_restorer_gone);
	g_test_add_func("/lazy-pager/serve/finished", test_finished);
	return g_test_run();
}
