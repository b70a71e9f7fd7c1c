/* SPDX-License-Identifier: MIT */
/*
 * workloads.c - programs the host asked us to run.
 *
 * Each gets stdin from /dev/null and a pipe for stdout and for stderr; the
 * agent forwards what they write as OUTPUT frames and, once both pipes are
 * at EOF and the child is reaped, one EXIT frame - so the host always sees
 * all output before the exit. Nothing is dropped: while the channel queue is
 * long (no host attached, or a slow one), the pipes are not read, and a
 * chatty workload blocks on its own write until the host catches up.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

#define MAX_WORKLOADS 64
#define CHUNK (64 * 1024)
/* Past this much queued output, stop reading workload pipes. */
#define QUEUE_HIGH_WATER (1u << 20)

struct workload {
	bool used;
	pid_t pid;
	int out_fd[2]; /* stdout, stderr read ends; -1 at EOF */
	bool exited;
	int status;
};

static struct workload table[MAX_WORKLOADS];
static struct channel *output_channel; /* set by the first handle_events call */

static char *const workload_env[] = { "PATH=/bin:/workload", "HOME=/", "TERM=dumb", NULL };

pid_t workloads_start(char *const argv[], const char **what)
{
	struct workload *w = NULL;
	for (int i = 0; i < MAX_WORKLOADS && !w; i++)
		if (!table[i].used)
			w = &table[i];
	if (!w) {
		*what = "too many workloads";
		return -EAGAIN;
	}
	int out[2], err[2], exec_err[2];
	if (pipe2(out, O_CLOEXEC) < 0) {
		*what = "pipe";
		return -errno;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		int e = errno;
		close(out[0]);
		close(out[1]);
		*what = "pipe";
		return -e;
	}
	/* Tells the parent whether exec worked: closed by a successful exec,
	 * or carrying errno if it failed. */
	if (pipe2(exec_err, O_CLOEXEC) < 0) {
		int e = errno;
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		*what = "pipe";
		return -e;
	}
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (chdir("/") < 0)
			_exit(127);
		execve(argv[0], argv, workload_env);
		int e = errno;
		if (write(exec_err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	int fork_errno = errno;
	close(out[1]);
	close(err[1]);
	close(exec_err[1]);
	if (pid < 0) {
		close(out[0]);
		close(err[0]);
		close(exec_err[0]);
		*what = "fork";
		return -fork_errno;
	}
	int e = 0;
	ssize_t n;
	do
		n = read(exec_err[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(exec_err[0]);
	if (n == sizeof(e)) {
		close(out[0]);
		close(err[0]);
		waitpid(pid, NULL, 0);
		*what = "exec";
		return -e;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	*w = (struct workload){ .used = true, .pid = pid, .out_fd = { out[0], err[0] } };
	return pid;
}

int workloads_poll_fds(struct pollfd *fds, int max)
{
	if (output_channel && channel_queued(output_channel) > QUEUE_HIGH_WATER)
		return 0;
	int n = 0;
	for (int i = 0; i < MAX_WORKLOADS; i++) {
		for (int s = 0; s < 2 && table[i].used; s++) {
			if (table[i].out_fd[s] >= 0 && n < max)
				fds[n++] = (struct pollfd){ .fd = table[i].out_fd[s], .events = POLLIN };
		}
	}
	return n;
}

static void send_exit_if_done(struct channel *ch, struct workload *w)
{
	if (!w->used || !w->exited || w->out_fd[0] >= 0 || w->out_fd[1] >= 0)
		return;
	uint8_t buf[8];
	sv_put_le32(buf, (uint32_t)w->pid);
	sv_put_le32(buf + 4, (uint32_t)w->status);
	channel_send(ch, SV_MSG_EXIT, 0, buf, sizeof(buf));
	w->used = false;
}

static void forward(struct channel *ch, struct workload *w, int s)
{
	static uint8_t data[CHUNK];
	ssize_t n;
	do
		n = read(w->out_fd[s], data, sizeof(data));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		close(w->out_fd[s]);
		w->out_fd[s] = -1;
		send_exit_if_done(ch, w);
		return;
	}
	static uint8_t frame[CHUNK + 16];
	struct sv_wbuf b;
	sv_wbuf_init(&b, frame, sizeof(frame));
	sv_wbuf_u32(&b, (uint32_t)w->pid);
	sv_wbuf_u32(&b, (uint32_t)s + 1);
	sv_wbuf_bytes(&b, data, (uint32_t)n);
	channel_send(ch, SV_MSG_OUTPUT, 0, frame, (uint32_t)b.len);
}

void workloads_handle_events(struct channel *ch, const struct pollfd *fds, int n)
{
	output_channel = ch;
	for (int k = 0; k < n; k++) {
		if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (int i = 0; i < MAX_WORKLOADS; i++)
			for (int s = 0; s < 2; s++)
				if (table[i].used && table[i].out_fd[s] == fds[k].fd)
					forward(ch, &table[i], s);
	}
}

void workloads_reap(struct channel *ch)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < MAX_WORKLOADS; i++) {
			if (table[i].used && table[i].pid == pid) {
				table[i].exited = true;
				table[i].status = status;
				send_exit_if_done(ch, &table[i]);
			}
		}
		/* anything else was an orphan re-parented to us: reaping is all */
	}
}
