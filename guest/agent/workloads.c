/* SPDX-License-Identifier: MIT */
/*
 * workloads.c - programs the host asked us to run.
 *
 * Each gets stdin from /dev/null and a pipe for stdout and for stderr. What
 * they write goes into their outbuf; workloads_pump() turns it into OUTPUT
 * frames while a host is attached (connected and said HELLO), and once both
 * pipes are at EOF, the child is reaped and the buffer is empty, sends one
 * EXIT - so the host always sees all output before the exit.
 *
 * Flow control: with a host attached, a workload's pipes are not read while
 * its buffer is full (the host is slow: the workload waits, nothing is
 * lost). With no host attached they are always read and the buffer drops
 * its oldest bytes past OUTBUF_CAP (a detached workload must keep running);
 * the next host gets a note on the workload's stderr stream saying how much.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

#define MAX_WORKLOADS 64
/* Output is moved into the channel only below this much queued, so the
 * channel queue stays short and the buffers do the bounding. */
#define CHANNEL_LOW_WATER (256u * 1024)

struct workload {
	bool used;
	pid_t pid;
	int out_fd[2]; /* stdout, stderr read ends; -1 at EOF */
	bool exited;
	int status;
	struct outbuf out;
	pid_t standby; /* the process pid took over from (workloads_hand_over), or 0 */
};

static struct workload table[MAX_WORKLOADS];

static char *const workload_env[] = { "PATH=/bin:/workload", "HOME=/", "TERM=dumb", NULL };

/* What execvpe does, with the PATH of the environment the program gets
 * (execvpe would search the agent's own). Returns only on failure, with
 * errno from the most telling attempt: ENOENT when no directory has it. */
static void exec_in_path(char *const argv[], char *const envp[])
{
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return;
	}
	const char *path = "/usr/local/bin:/usr/bin:/bin";
	for (char *const *e = envp; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			path = *e + 5;
	int best = ENOENT;
	for (const char *dir = path;; dir++) {
		const char *end = strchrnul(dir, ':');
		char full[4096];
		int n = snprintf(full, sizeof(full), "%.*s%s%s", (int)(end - dir), dir,
				 end == dir ? "" : "/", argv[0]);
		if (n > 0 && (size_t)n < sizeof(full)) {
			execve(full, argv, envp);
			/* a file that is there but cannot run says more than
			 * "not in the next directory either" */
			if (errno != ENOENT && errno != ENOTDIR)
				best = errno;
			else if (best == ENOENT && access(full, F_OK) == 0)
				best = ENOEXEC; /* there, but its interpreter is not */
		}
		if (!*end)
			break;
		dir = end;
	}
	errno = best;
}

pid_t workloads_start(char *const argv[], char *const envp[], const char *cwd, const char **what)
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
		/* Its own session (a signal to the workload's group never
		 * reaches the agent), and the signal state of a fresh process:
		 * the agent blocks SIGCHLD/SIGIO and ignores SIGPIPE, and an
		 * ignored disposition would survive exec. */
		setsid();
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* close-on-exec: the workload gets fds 0-2 and nothing else */
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null == 0)
			fcntl(0, F_SETFD, 0);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0 ||
		    chdir(cwd ? cwd : "/") < 0) {
			int e = errno;
			if (write(exec_err[1], &e, sizeof(e)) < 0)
				_exit(127);
			_exit(127);
		}
		exec_in_path(argv, envp ? envp : workload_env);
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
		/* Reaped here, so no EXIT is sent for a workload that never ran. */
		waitpid(pid, NULL, 0);
		*what = "exec";
		return -e;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	*w = (struct workload){ .used = true, .pid = pid, .out_fd = { out[0], err[0] } };
	return pid;
}

int workloads_poll_fds(const struct channel *ch, struct pollfd *fds, int max)
{
	bool attached = channel_attached(ch);
	int n = 0;
	for (int i = 0; i < MAX_WORKLOADS; i++) {
		struct workload *w = &table[i];
		if (!w->used || (attached && w->out.len >= OUTBUF_CAP))
			continue;
		for (int s = 0; s < 2; s++)
			if (w->out_fd[s] >= 0 && n < max)
				fds[n++] = (struct pollfd){ .fd = w->out_fd[s], .events = POLLIN };
	}
	return n;
}

static void read_pipe(struct workload *w, int s)
{
	static uint8_t data[OUTBUF_CHUNK];
	ssize_t n;
	do
		n = read(w->out_fd[s], data, sizeof(data));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		close(w->out_fd[s]);
		w->out_fd[s] = -1;
		return;
	}
	if (!outbuf_append(&w->out, (uint32_t)s + 1, data, (size_t)n))
		agent_log("out of memory buffering output of pid %d", (int)w->pid);
}

void workloads_handle_events(const struct channel *ch, const struct pollfd *fds, int n)
{
	for (int k = 0; k < n; k++) {
		if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (int i = 0; i < MAX_WORKLOADS; i++)
			for (int s = 0; s < 2; s++)
				if (table[i].used && table[i].out_fd[s] == fds[k].fd)
					read_pipe(&table[i], s);
	}
}

int workloads_hand_over(pid_t standby, pid_t to)
{
	for (int i = 0; i < MAX_WORKLOADS; i++) {
		struct workload *w = &table[i];
		if (w->used && w->pid == standby && !w->exited && !w->standby) {
			w->pid = to;
			w->standby = standby;
			return 0;
		}
	}
	return -ESRCH;
}

void workloads_hand_back(pid_t to, pid_t standby)
{
	for (int i = 0; i < MAX_WORKLOADS; i++)
		if (table[i].used && table[i].pid == to && table[i].standby == standby) {
			table[i].pid = standby;
			table[i].standby = 0;
		}
}

void workloads_note_status(pid_t pid, int status)
{
	if (!WIFEXITED(status) && !WIFSIGNALED(status))
		return;
	for (int i = 0; i < MAX_WORKLOADS; i++) {
		struct workload *w = &table[i];
		if (!w->used || w->exited)
			continue;
		/* The standby that handed over ends once it has made the new
		 * process (our child too, alive or not yet reaped): its own
		 * status says nothing then. Without one, it failed to make it,
		 * and its status (and what it printed) is the workload's end. */
		bool failed_standby = w->standby == pid && kill(w->pid, 0) < 0 && errno == ESRCH;
		if (w->pid == pid || failed_standby) {
			w->exited = true;
			w->status = status;
		}
	}
	/* anything else was an orphan re-parented to us: reaping is all */
}

static void send_output(struct channel *ch, pid_t pid, uint32_t stream, const uint8_t *data,
			size_t n)
{
	static uint8_t frame[OUTBUF_CHUNK + 16];
	struct sv_wbuf b;
	sv_wbuf_init(&b, frame, sizeof(frame));
	sv_wbuf_u32(&b, (uint32_t)pid);
	sv_wbuf_u32(&b, stream);
	sv_wbuf_bytes(&b, data, (uint32_t)n);
	channel_send(ch, SV_MSG_OUTPUT, 0, frame, (uint32_t)b.len);
}

/* Moves one chunk (or the drop note, or the EXIT) of w into the channel;
 * false when w has nothing to send now. */
static bool pump_one(struct channel *ch, struct workload *w)
{
	if (w->out.dropped) {
		char note[160];
		int k = snprintf(note, sizeof(note),
				 "\n[snapvm-agent: %llu bytes of output dropped while no host "
				 "was attached]\n",
				 (unsigned long long)w->out.dropped);
		send_output(ch, w->pid, 2, (const uint8_t *)note, (size_t)k);
		w->out.dropped = 0;
		return true;
	}
	uint32_t stream;
	const uint8_t *data;
	size_t n;
	if (outbuf_peek(&w->out, &stream, &data, &n)) {
		send_output(ch, w->pid, stream, data, n);
		outbuf_pop(&w->out);
		return true;
	}
	if (w->exited && w->out_fd[0] < 0 && w->out_fd[1] < 0) {
		uint8_t buf[8];
		sv_put_le32(buf, (uint32_t)w->pid);
		sv_put_le32(buf + 4, (uint32_t)w->status);
		channel_send(ch, SV_MSG_EXIT, 0, buf, sizeof(buf));
		outbuf_clear(&w->out);
		w->used = false;
	}
	return false;
}

void workloads_pump(struct channel *ch)
{
	/* Round robin, a chunk per workload per pass: one chatty workload
	 * does not starve the others. */
	bool progress = true;
	while (progress) {
		progress = false;
		for (int i = 0; i < MAX_WORKLOADS; i++) {
			if (!channel_attached(ch) || channel_queued(ch) >= CHANNEL_LOW_WATER)
				return;
			if (table[i].used)
				progress |= pump_one(ch, &table[i]);
		}
	}
}
