/* SPDX-License-Identifier: MIT */
/* lab-proc.c - children of the snapvm binary for the lab (lab-proc.h). */
#include "host/lab/lab-proc.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/util/text-escape.h"

/* How often a wait looks at its child. */
#define POLL_US 50000
/* How long a SIGTERMed snapvm gets to stop its VM before SIGKILL. */
#define STOP_GRACE_US (30 * G_USEC_PER_SEC)

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	stop_requested = 1;
}

void sv_lab_proc_stop_on_signals(void)
{
	/* no SA_RESTART: a sleep or wait returns at once to see the flag */
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

gboolean sv_lab_proc_stop_requested(void)
{
	return stop_requested != 0;
}

const char *sv_lab_snapvm_path(void)
{
	static char *path;
	if (g_once_init_enter(&path)) {
		char *p = g_file_read_link("/proc/self/exe", NULL);
		g_once_init_leave(&path, p ? p : g_strdup("snapvm"));
	}
	return path;
}

static int open_out(const char *path, GError **error)
{
	int fd = open(path ? path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot write %s: %s",
			    path ? path : "/dev/null", g_strerror(errno));
	return fd;
}

/* In the child before exec: the lab blocks SIGINT, SIGTERM and SIGHUP
 * into a signalfd, and a blocked mask survives exec - a child must see
 * them, or it could not be stopped. */
static void child_setup(gpointer group)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (group)
		setpgid(0, 0);
}

static gboolean start(const char *const *argv, const char *stdout_path, const char *stderr_path,
		      gboolean group, SvLabProc *ret, GError **error)
{
	*ret = (SvLabProc){ 0 };
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open_out(stdout_path, error);
	int err = out >= 0 ? open_out(stderr_path, error) : -1;
	gboolean ok = FALSE;
	if (in >= 0 && out >= 0 && err >= 0) {
		ret->started_us = g_get_monotonic_time();
		ok = g_spawn_async_with_fds(NULL, (char **)argv, NULL,
					    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
					    child_setup, GINT_TO_POINTER(group), &ret->pid, in, out,
					    err, error);
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	return ok;
}

gboolean sv_lab_proc_start(const char *const *argv, const char *stdout_path,
			   const char *stderr_path, SvLabProc *ret, GError **error)
{
	return start(argv, stdout_path, stderr_path, FALSE, ret, error);
}

gboolean sv_lab_proc_start_group(const char *const *argv, const char *stdout_path,
				 const char *stderr_path, SvLabProc *ret, GError **error)
{
	return start(argv, stdout_path, stderr_path, TRUE, ret, error);
}

gboolean sv_lab_proc_poll(SvLabProc *p)
{
	if (p->exited)
		return TRUE;
	int status;
	pid_t r = waitpid(p->pid, &status, WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR))
		return FALSE;
	p->exited = TRUE;
	p->wait_status = r < 0 ? W_EXITCODE(127, 0) : status;
	p->seconds = (g_get_monotonic_time() - p->started_us) / (double)G_USEC_PER_SEC;
	return TRUE;
}

/* target: p's pid, or minus it for its process group */
static void stop(SvLabProc *p, pid_t target)
{
	if (!p->pid || sv_lab_proc_poll(p))
		return;
	kill(target, SIGTERM);
	gint64 deadline = g_get_monotonic_time() + STOP_GRACE_US;
	while (!sv_lab_proc_poll(p)) {
		if (g_get_monotonic_time() > deadline) {
			kill(target, SIGKILL);
			deadline = G_MAXINT64;
		}
		g_usleep(POLL_US);
	}
}

void sv_lab_proc_stop(SvLabProc *p)
{
	stop(p, p->pid);
}

void sv_lab_proc_stop_group(SvLabProc *p)
{
	stop(p, -p->pid);
	/* the unit's own children (snapvm run, restore) may still be stopping
	 * their VMs when it is gone: wait for the group to empty */
	gint64 deadline = g_get_monotonic_time() + STOP_GRACE_US;
	while (kill(-p->pid, 0) == 0 && g_get_monotonic_time() < deadline)
		g_usleep(POLL_US);
	kill(-p->pid, SIGKILL);
}

gboolean sv_lab_proc_wait(SvLabProc *p, double timeout_s, GError **error)
{
	gint64 deadline = p->started_us + (gint64)(timeout_s * G_USEC_PER_SEC);
	while (!sv_lab_proc_poll(p)) {
		if (stop_requested) {
			sv_lab_proc_stop(p);
			g_set_error(error, SV_ERROR, SV_ERROR_INTERRUPTED,
				    "interrupted (the lab run was cancelled)");
			return FALSE;
		}
		if (g_get_monotonic_time() > deadline) {
			sv_lab_proc_stop(p);
			g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT,
				    "still running after %.0f s; stopped", timeout_s);
			return FALSE;
		}
		g_usleep(POLL_US);
	}
	return TRUE;
}

int sv_lab_proc_exit_code(const SvLabProc *p)
{
	if (WIFSIGNALED(p->wait_status))
		return 128 + WTERMSIG(p->wait_status);
	return WEXITSTATUS(p->wait_status);
}

char *sv_lab_last_line(const char *path)
{
	g_autofree char *text = NULL;
	if (!path || !g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (int i = (int)g_strv_length(lines) - 1; i >= 0; i--) {
		g_strstrip(lines[i]);
		if (*lines[i]) {
			/* a workload's or guest's words may be in it */
			return sv_text_for_terminal(lines[i], MIN(strlen(lines[i]), 500));
		}
	}
	return NULL;
}

char *sv_lab_error_line(const char *path)
{
	g_autofree char *text = NULL;
	if (!path || !g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++)
		if (g_str_has_prefix(lines[i], "snapvm ") && !strstr(lines[i], " log kept at "))
			return sv_text_for_terminal(lines[i], MIN(strlen(lines[i]), 500));
	return sv_lab_last_line(path);
}

gboolean sv_lab_proc_capture(const char *const *argv, double timeout_s, char **ret_stdout,
			     char **ret_stderr, GError **error)
{
	g_autofree char *dir = g_dir_make_tmp("snapvm-lab-XXXXXX", error);
	if (!dir)
		return FALSE;
	g_autofree char *out_path = g_build_filename(dir, "stdout", NULL);
	g_autofree char *err_path = g_build_filename(dir, "stderr", NULL);
	SvLabProc p;
	gboolean ok = sv_lab_proc_start(argv, out_path, err_path, &p, error);
	g_autoptr(GError) wait_error = NULL;
	if (ok && !sv_lab_proc_wait(&p, timeout_s, &wait_error)) {
		g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT, "%s %s: %s", argv[0],
			    argv[1] ? argv[1] : "", wait_error->message);
		ok = FALSE;
	} else if (ok && (!WIFEXITED(p.wait_status) || WEXITSTATUS(p.wait_status))) {
		g_autofree char *last = sv_lab_error_line(err_path);
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "%s %s exited %d: %s", argv[0],
			    argv[1] ? argv[1] : "", sv_lab_proc_exit_code(&p),
			    last ? last : "(no message)");
		ok = FALSE;
	}
	if (ok && ret_stdout)
		ok = g_file_get_contents(out_path, ret_stdout, NULL, error);
	if (ret_stderr)
		g_file_get_contents(err_path, ret_stderr, NULL, NULL);
	g_unlink(out_path);
	g_unlink(err_path);
	g_rmdir(dir);
	return ok;
}
