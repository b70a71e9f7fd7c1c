/* SPDX-License-Identifier: MIT */
/* main.c - snapvm-agent: start-up, the event loop, and request dispatch. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "guest/agent/test-hooks.h"

#define MAX_POLL 160
/* A disconnected port is re-checked on SIGIO (the driver sends one on every
 * host connect and disconnect); this slow timer is only a safety net. */
#define RECHECK_MS 1000

/* Set by a RUN with SV_RUN_POWEROFF_ON_HOST_LOSS: the host process that
 * owns this VM is gone when its connection closes. */
static bool poweroff_on_host_loss;

/* Port 0 carries workload output and the host-loss tie; the control port
 * (NULL if the VM has none) serves the same requests to a second host. */
static struct channel *main_ch, *control_ch;

static void reply_hello(struct channel *ch, uint32_t tag)
{
	struct utsname u;
	uname(&u);
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	uint8_t buf[512];
	struct sv_wbuf w;
	sv_wbuf_init(&w, buf, sizeof(buf));
	sv_wbuf_u32(&w, SV_PROTO_VERSION);
	sv_wbuf_str(&w, AGENT_VERSION);
	sv_wbuf_str(&w, u.machine);
	sv_wbuf_str(&w, u.release);
	sv_wbuf_u64(&w, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	channel_send(ch, SV_MSG_HELLO_REPLY, tag, buf, (uint32_t)w.len);
}

/* A string field of a request, copied and NUL-terminated (NULL if short). */
static char *take_str(struct sv_rbuf *r)
{
	uint32_t n;
	const uint8_t *s = sv_rbuf_bytes(r, &n);
	return s ? strndup((const char *)s, n) : NULL;
}

static void handle_run(struct channel *ch, const struct frame *f)
{
	struct sv_rbuf r;
	sv_rbuf_init(&r, f->payload, f->hdr.length);
	/* Output is always kept until a host reads it, so BUFFER_WHEN_DETACHED
	 * needs nothing more. */
	uint32_t flags = sv_rbuf_u32(&r);
	uint32_t argc = sv_rbuf_u32(&r);
	if (ch != main_ch && (flags & SV_RUN_POWEROFF_ON_HOST_LOSS)) {
		channel_send_error(ch, f->hdr.tag, SV_MSG_RUN, EINVAL,
				   "POWEROFF_ON_HOST_LOSS ties the VM to the host on %s, not the "
				   "control port",
				   SV_AGENT_PORT_NAME);
		return;
	}
	if (r.bad || argc == 0 || argc > SV_PROTO_MAX_ARGS) {
		channel_send_error(ch, f->hdr.tag, SV_MSG_RUN, EINVAL, "RUN needs 1..%u arguments",
				   SV_PROTO_MAX_ARGS);
		return;
	}
	char *argv[SV_PROTO_MAX_ARGS + 1] = { 0 };
	char *envp[SV_PROTO_MAX_ARGS + 1] = { 0 };
	char *cwd = NULL;
	for (uint32_t i = 0; i < argc; i++)
		argv[i] = take_str(&r);
	uint32_t envc = 0;
	if (flags & SV_RUN_ENV_CWD) {
		envc = sv_rbuf_u32(&r);
		if (envc > SV_PROTO_MAX_ARGS)
			r.bad = true;
		for (uint32_t i = 0; i < envc && !r.bad; i++)
			envp[i] = take_str(&r);
		cwd = take_str(&r);
	}
	if (!sv_rbuf_done(&r)) {
		channel_send_error(ch, f->hdr.tag, SV_MSG_RUN, EINVAL, "malformed RUN request");
	} else {
		const char *what = "";
		pid_t pid = workloads_start(argv, (flags & SV_RUN_ENV_CWD) ? envp : NULL, cwd,
					    &what);
		if (pid < 0) {
			channel_send_error(ch, f->hdr.tag, SV_MSG_RUN, (int)-pid,
					   "cannot run %s: %s: %s", argv[0], what,
					   strerror((int)-pid));
		} else {
			if (flags & SV_RUN_POWEROFF_ON_HOST_LOSS)
				poweroff_on_host_loss = true;
			uint8_t buf[4];
			sv_put_le32(buf, (uint32_t)pid);
			channel_send(ch, SV_MSG_RUN_REPLY, f->hdr.tag, buf, sizeof(buf));
		}
	}
	for (uint32_t i = 0; i < argc; i++)
		free(argv[i]);
	for (uint32_t i = 0; i < envc; i++)
		free(envp[i]);
	free(cwd);
}

static void dispatch(struct channel *ch, const struct frame *f)
{
	struct sv_rbuf r;
	sv_rbuf_init(&r, f->payload, f->hdr.length);
	switch (f->hdr.type) {
	case SV_MSG_HELLO:
		/* Any payload is answered: the host checks our version, and a
		 * HELLO must always get through (it is what resyncs). Output
		 * buffered while no host was attached follows the reply. */
		reply_hello(ch, f->hdr.tag);
		channel_mark_attached(ch);
		break;
	case SV_MSG_RUN:
		handle_run(ch, f);
		break;
	case SV_MSG_RUN_AS_PID: {
		/* the pid first, then a RUN request (restore-pid.c) */
		uint32_t pid = sv_rbuf_u32(&r);
		if (r.bad) {
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "malformed RUN_AS_PID request");
			break;
		}
		restore_claim_pid(pid);
		struct frame run = *f;
		run.payload += 4;
		run.hdr.length -= 4;
		handle_run(ch, &run);
		break;
	}
	case SV_MSG_STANDBY_GO: {
		uint32_t standby = sv_rbuf_u32(&r), pid = sv_rbuf_u32(&r), flags = sv_rbuf_u32(&r);
		if (!sv_rbuf_done(&r)) {
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "malformed STANDBY_GO request");
			break;
		}
		if (ch != main_ch && (flags & SV_RUN_POWEROFF_ON_HOST_LOSS)) {
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "POWEROFF_ON_HOST_LOSS ties the VM to the host on %s, "
					   "not the control port",
					   SV_AGENT_PORT_NAME);
			break;
		}
		int e = restore_standby_go(standby, pid, flags & SV_RUN_STANDBY_MAIL);
		if (e) {
			channel_send_error(ch, f->hdr.tag, f->hdr.type, -e,
					   "standby restorer %u cannot restore as pid %u: %s",
					   standby, pid, strerror(-e));
			break;
		}
		if (flags & SV_RUN_POWEROFF_ON_HOST_LOSS)
			poweroff_on_host_loss = true;
		uint8_t buf[4];
		sv_put_le32(buf, pid);
		channel_send(ch, SV_MSG_RUN_REPLY, f->hdr.tag, buf, sizeof(buf));
		break;
	}
	case SV_MSG_PS:
		procfs_reply_ps(ch, f->hdr.tag);
		break;
	case SV_MSG_READFILE: {
		struct sv_readfile_req req;
		if (!sv_readfile_req_decode(f->payload, f->hdr.length, &req))
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "malformed READFILE request (path of 1..%u bytes, at "
					   "most %u bytes a chunk)",
					   SV_READFILE_MAX_PATH, SV_READFILE_MAX_CHUNK);
		else
			readfile_reply(ch, f->hdr.tag, &req);
		break;
	}
	case SV_MSG_WRITEFILE: {
		struct sv_writefile_req req;
		if (!sv_writefile_req_decode(f->payload, f->hdr.length, &req))
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "malformed WRITEFILE request (one name in %s, at most "
					   "%u bytes a chunk)",
					   SV_RIMG_GUEST_DIR, SV_WRITEFILE_MAX_CHUNK);
		else
			writefile_reply(ch, f->hdr.tag, &req);
		break;
	}
	case SV_MSG_KILL: {
		uint32_t pid = sv_rbuf_u32(&r), sig = sv_rbuf_u32(&r);
		if (!sv_rbuf_done(&r) || pid <= 1 || pid > INT32_MAX || sig > 64)
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "malformed KILL request (pid > 1, signal 0..64)");
		else if (kill((pid_t)pid, (int)sig) != 0)
			channel_send_error(ch, f->hdr.tag, f->hdr.type, errno, "kill %u: %s", pid,
					   strerror(errno));
		else
			channel_send(ch, SV_MSG_OK, f->hdr.tag, NULL, 0);
		break;
	}
	case SV_MSG_FREEZE: {
		uint32_t pid = sv_rbuf_u32(&r), timeout_ms = sv_rbuf_u32(&r);
		const char *what;
		int rc;
		if (!sv_rbuf_done(&r) || pid <= 1 || pid > INT32_MAX)
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "malformed FREEZE request (pid > 1, timeout)");
		else if ((rc = hold_freeze(ch, (pid_t)pid, timeout_ms, &what)) < 0)
			channel_send_error(ch, f->hdr.tag, f->hdr.type, -rc,
					   "freezing pid %u: %s: %s", pid, what, strerror(-rc));
		else
			channel_send(ch, SV_MSG_OK, f->hdr.tag, NULL, 0);
		break;
	}
	case SV_MSG_SOFT_DIRTY: {
		struct sv_soft_dirty_req req;
		if (!sv_soft_dirty_req_decode(f->payload, f->hdr.length, &req))
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "malformed SOFT_DIRTY request (pid > 1, arm 0 or 1, a "
					   "mark of at most %u bytes)",
					   SV_SOFT_DIRTY_MAX_MARK);
		else
			soft_dirty_reply(ch, f->hdr.tag, &req);
		break;
	}
	case SV_MSG_THAW: {
		uint32_t pid = sv_rbuf_u32(&r);
		int rc;
		if (!sv_rbuf_done(&r) || pid <= 1 || pid > INT32_MAX)
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "malformed THAW request (pid > 1)");
		else if ((rc = hold_thaw((pid_t)pid)) < 0)
			channel_send_error(ch, f->hdr.tag, f->hdr.type, -rc, "thawing pid %u: %s",
					   pid, rc == -ENOENT ? "it is not held" : strerror(-rc));
		else
			channel_send(ch, SV_MSG_OK, f->hdr.tag, NULL, 0);
		break;
	}
	case SV_MSG_RESUMED: {
		uint64_t wall_ns = sv_rbuf_u64(&r);
		uint32_t len = 0;
		const uint8_t *entropy = sv_rbuf_bytes(&r, &len);
		const char *what = "";
		int rc;
		if (!sv_rbuf_done(&r) || !entropy || len < SV_RESUMED_MIN_ENTROPY ||
		    len > SV_RESUMED_MAX_ENTROPY)
			channel_send_error(ch, f->hdr.tag, f->hdr.type, EINVAL,
					   "malformed RESUMED request (wall time, %u..%u bytes "
					   "of entropy)",
					   SV_RESUMED_MIN_ENTROPY, SV_RESUMED_MAX_ENTROPY);
		else if ((rc = resumed_apply(entropy, len, wall_ns, &what)) < 0)
			channel_send_error(ch, f->hdr.tag, f->hdr.type, -rc, "resuming: %s: %s",
					   what, strerror(-rc));
		else
			channel_send(ch, SV_MSG_OK, f->hdr.tag, NULL, 0);
		break;
	}
	case SV_MSG_POWEROFF:
		channel_send(ch, SV_MSG_OK, f->hdr.tag, NULL, 0);
		channel_flush(ch, 1000);
		agent_log("powering off (host request)");
		agent_poweroff();
	default:
		/* the test-only requests exist in a test build only */
		if (!test_hooks_serve(ch, f))
			channel_send_error(ch, f->hdr.tag, f->hdr.type, ENOSYS,
					   "message type %u is not a request the agent serves",
					   f->hdr.type);
	}
}

/* Reaps children: workloads, and orphans (PID 1 inherits them). waitpid
 * also reports the ptrace stops of a tracee the oracle (test hooks) gave up
 * waiting for. */
static void reap_children(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (WIFSTOPPED(status))
			test_hooks_child_stopped(pid, status);
		else
			workloads_note_status(pid, status);
	}
}

/*
 * A serial line (the kvm backend's UARTs, a pty by hand) opens cooked:
 * line editing, echo, XON/XOFF. Frames are binary, so it is made raw at
 * once, and what arrived before that - mangled by the line discipline,
 * which can garble a frame header so that it swallows the next frame - is
 * dropped.
 * Nothing is lost by that: until a HELLO is answered a host sends only
 * HELLOs, again every second. (A virtio port is not a tty.)
 */
static void make_raw(int fd)
{
	struct termios t;
	if (fd < 0 || !isatty(fd) || tcgetattr(fd, &t) != 0)
		return;
	cfmakeraw(&t);
	tcsetattr(fd, TCSANOW, &t);
	tcflush(fd, TCIFLUSH);
}

/* Wake on host connect/disconnect: the port sends SIGIO to its O_ASYNC
 * owner, which signalfd turns into a readable fd. Best effort - when the
 * port is something else (--port on a pty), the slow timer still works. */
static void watch_port(int fd)
{
	if (fcntl(fd, F_SETOWN, getpid()) < 0)
		return;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_ASYNC);
}

int main(int argc, char **argv)
{
	const char *port_arg = NULL, *control_arg = NULL;
	bool fast_channel = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fast-channel")) {
			/* snapvm's KVM VMM: offer it rings (ring.c) */
			fast_channel = true;
		} else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			port_arg = argv[++i];
		} else if (!strcmp(argv[i], "--control-port") && i + 1 < argc) {
			control_arg = argv[++i];
		} else if (getpid() != 1) {
			/* As PID 1 the kernel passes unknown boot arguments here:
			 * ignore them. By hand, say what is accepted. */
			dprintf(STDERR_FILENO,
				"usage: %s [--port PATH [--control-port PATH]] [--fast-channel]\n",
				argv[0]);
			return 2;
		}
	}
	bool is_init = getpid() == 1;
	if (is_init) {
		agent_init_guard();
		agent_init_setup();
	}
	char port[300];
	if (port_arg)
		snprintf(port, sizeof(port), "%s", port_arg);
	else if (!agent_find_port(SV_AGENT_PORT_NAME, 5000, port, sizeof(port))) {
		agent_log("no virtio port named %s after 5 s (is virtio_console loaded? is the VM "
			  "started with the agent channel?)",
			  SV_AGENT_PORT_NAME);
		agent_poweroff();
	}
	int fd = open(port, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		agent_log("cannot open %s: %s", port, strerror(errno));
		agent_poweroff();
	}
	make_raw(fd);
	/* The control port is optional: the agent still serves port 0 without
	 * it. Both ports of the device are probed together, so it is there
	 * by now or never. */
	char control[300];
	int control_fd = -1;
	if (control_arg)
		snprintf(control, sizeof(control), "%s", control_arg);
	if (control_arg || (!port_arg && agent_find_port(SV_AGENT_CONTROL_PORT_NAME, 1000, control,
							 sizeof(control)))) {
		control_fd = open(control, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (control_fd < 0)
			agent_log("cannot open the control port %s: %s", control, strerror(errno));
		make_raw(control_fd);
	} else if (!port_arg) {
		agent_log("no virtio port named %s: serving %s only", SV_AGENT_CONTROL_PORT_NAME,
			  SV_AGENT_PORT_NAME);
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGIO);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		agent_log("signalfd: %s", strerror(errno));
		agent_poweroff();
	}
	int port_fds[2] = { fd, control_fd };
	for (int i = 0; i < 2; i++)
		if (port_fds[i] >= 0)
			watch_port(port_fds[i]);
	struct channel *ch = main_ch = channel_open(fd);
	if (control_fd >= 0)
		control_ch = channel_open(control_fd);
	struct channel *chans[2] = { ch, control_ch };
	int nchans = control_ch ? 2 : 1;
	for (int c = 0; c < nchans && fast_channel; c++) {
		struct ring *r = ring_offer(channel_fd(chans[c]));
		if (r)
			channel_use_ring(chans[c], r);
	}
	/* Benchmarks time the boot to this line; the port is open, so a host
	 * may talk from now on (and what it sent earlier is waiting in QEMU). */
	dprintf(STDOUT_FILENO, "snapvm-agent: ready\n");

	for (;;) {
		struct pollfd fds[MAX_POLL];
		int n = 0;
		fds[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		int port_idx[2] = { -1, -1 };
		bool all_connected = true;
		for (int c = 0; c < nchans; c++) {
			short ev = channel_poll_events(chans[c]);
			if (ev) {
				port_idx[c] = n;
				fds[n++] = (struct pollfd){ .fd = channel_fd(chans[c]),
							    .events = ev };
			}
			all_connected &= channel_host_connected(chans[c]);
		}
		int first_workload = n;
		n += workloads_poll_fds(ch, fds + n, MAX_POLL - n);
		int r = poll(fds, n, all_connected ? -1 : RECHECK_MS);
		if (r < 0 && errno != EINTR) {
			agent_log("poll: %s", strerror(errno));
			agent_poweroff();
		}
		if (r > 0 && (fds[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
		}
		/* SIGIO, the timer, or anything else: a cheap look at the ports. */
		for (int c = 0; c < nchans; c++)
			channel_recheck(chans[c]);
		if (r > 0) {
			workloads_handle_events(ch, fds + first_workload, n - first_workload);
			for (int c = 0; c < nchans; c++)
				if (port_idx[c] >= 0 && fds[port_idx[c]].revents)
					channel_handle_events(chans[c], fds[port_idx[c]].revents);
		}
		struct frame f;
		for (int c = 0; c < nchans; c++)
			while (channel_next_frame(chans[c], &f))
				dispatch(chans[c], &f);
		reap_children();
		hold_tidy();
		/* Output before exits (workloads_pump keeps that order). */
		workloads_pump(ch);
		if (poweroff_on_host_loss && !channel_host_connected(ch)) {
			agent_log("the host that owns this VM went away; powering off");
			agent_poweroff();
		}
	}
}
