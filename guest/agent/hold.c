/* SPDX-License-Identifier: MIT */
/*
 * hold.c - holding a process still while the host writes its snapshot
 * (snapvm checkpoint --kill): the cgroup v2 freezer.
 *
 * The process is moved into a cgroup of its own, /sys/fs/cgroup/snapvm-hold-PID,
 * and that cgroup is frozen. Why the freezer and not SIGSTOP: a stop is
 * visible to the process's parent (waitpid WUNTRACED, SIGCHLD) and to the
 * process itself once it runs again, and a SIGCONT sent by anyone ends it;
 * a frozen task sees none of that. Each of its threads parks in the kernel's
 * freezer trap on its way back to user mode, like a signal without a
 * handler: a task that was running in user mode keeps its registers, one
 * asleep in an interruptible syscall leaves it with -ERESTART* (the
 * checkpoint's restart rule re-issues it, as the kernel would on thaw), one
 * in an uninterruptible sleep is frozen when it comes out. So once
 * cgroup.events says "frozen 1", no thread of the process can be on a CPU
 * or run another instruction of its own until it is thawed, whatever
 * happens to the VM meanwhile; and SIGKILL still ends it.
 *
 * A hold belongs to the channel that asked for it: if that host goes away
 * (the checkpoint crashed or was killed) the process is thawed and moved
 * back, so nothing is left frozen without an owner.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define MAX_HOLDS 16
/* The longest a FREEZE may wait for every thread to park. */
#define MAX_FREEZE_WAIT_MS 30000u
/* How long a FREEZE lets the process reap its children, and how long each
 * thaw for that lasts: as long as the host waits for an unheld one. */
#define CHILDREN_WAIT_MS 3000
#define CHILDREN_RETRY_MS 20

struct hold {
	bool used;
	pid_t pid;
	const struct channel *owner;
	char dir[64];	  /* the hold cgroup */
	char origin[256]; /* the cgroup it came from, relative to CGROUP_ROOT */
};

static struct hold holds[MAX_HOLDS];

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int e = n < 0 ? errno : 0;
	close(fd);
	return -e;
}

/* The process's cgroup v2 path ("0::/path" in /proc/PID/cgroup). */
static int cgroup_of(pid_t pid, char *out, size_t cap)
{
	char path[64], text[512];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (!agent_read_file(path, text, sizeof(text)))
		return -ESRCH;
	const char *line = strstr(text, "0::");
	if (!line)
		return -ENOTSUP;
	line += 3;
	size_t n = strcspn(line, "\n");
	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(out, line, n);
	out[n] = '\0';
	return 0;
}

static bool is_frozen(int events_fd)
{
	char text[256];
	ssize_t n = pread(events_fd, text, sizeof(text) - 1, 0);
	if (n <= 0)
		return false;
	text[n] = '\0';
	return strstr(text, "frozen 1") != NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the cgroup in dir is frozen: the kernel notifies a change
 * of cgroup.events as POLLPRI, so this sleeps until then rather than
 * polling on a timer (a guest under nested virtualisation pays dearly for
 * every timer it arms). */
static bool wait_frozen(const char *dir, uint32_t timeout_ms)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	int64_t deadline = now_ms() + timeout_ms;
	bool frozen;
	while (!(frozen = is_frozen(fd))) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLPRI };
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			break;
	}
	close(fd);
	return frozen;
}

/* Whether a process has pid as its parent: the fourth field of
 * /proc/N/stat is its real parent's tgid, whichever thread forked it. */
static bool has_children(pid_t pid)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return false;
	bool found = false;
	struct dirent *e;
	while (!found && (e = readdir(proc))) {
		char path[300], text[512];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (!agent_read_file(path, text, sizeof(text)))
			continue; /* gone meanwhile */
		const char *after_comm = strrchr(text, ')');
		int ppid;
		found = after_comm && sscanf(after_comm + 1, " %*c %d", &ppid) == 1 && ppid == pid;
	}
	closedir(proc);
	return found;
}

static struct hold *find(pid_t pid)
{
	for (int i = 0; i < MAX_HOLDS; i++)
		if (holds[i].used && holds[i].pid == pid)
			return &holds[i];
	return NULL;
}

/* Thaws, moves the process back where it was (if it still lives) and
 * removes the hold cgroup (once empty). Returns 0 or -errno of the thaw. */
static int release(struct hold *h)
{
	char path[sizeof(CGROUP_ROOT) + sizeof(h->origin) + 16], pid_text[16];
	snprintf(path, sizeof(path), "%s/cgroup.freeze", h->dir);
	int rc = write_text(path, "0");
	snprintf(path, sizeof(path), "%s%s/cgroup.procs", CGROUP_ROOT,
		 strcmp(h->origin, "/") ? h->origin : "");
	snprintf(pid_text, sizeof(pid_text), "%d", (int)h->pid);
	write_text(path, pid_text); /* ESRCH once it has exited: nothing to move */
	if (rmdir(h->dir) == 0 || errno == ENOENT) {
		h->used = false;
	} else {
		/* a killed process is still leaving: hold_tidy retries */
		h->pid = -1;
	}
	return rc == -ENOENT ? 0 : rc;
}

int hold_freeze(const struct channel *owner, pid_t pid, uint32_t timeout_ms, const char **what)
{
	*what = "";
	if (timeout_ms > MAX_FREEZE_WAIT_MS)
		timeout_ms = MAX_FREEZE_WAIT_MS;
	if (find(pid)) {
		*what = "it is held already";
		return -EBUSY;
	}
	if (pid <= 1 || kill(pid, 0) != 0) {
		*what = "no such process";
		return -ESRCH;
	}
	struct hold *h = NULL;
	for (int i = 0; i < MAX_HOLDS && !h; i++)
		if (!holds[i].used)
			h = &holds[i];
	if (!h) {
		*what = "too many processes held";
		return -EAGAIN;
	}
	*h = (struct hold){ .used = true, .pid = pid, .owner = owner };
	snprintf(h->dir, sizeof(h->dir), CGROUP_ROOT "/snapvm-hold-%d", (int)pid);
	int rc = cgroup_of(pid, h->origin, sizeof(h->origin));
	if (rc < 0) {
		*what = "reading its cgroup (is cgroup2 mounted on " CGROUP_ROOT "?)";
		h->used = false;
		return rc;
	}
	if (mkdir(h->dir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		*what = "making the hold cgroup";
		h->used = false;
		return rc;
	}
	char path[96], pid_text[16];
	snprintf(pid_text, sizeof(pid_text), "%d", (int)pid);
	snprintf(path, sizeof(path), "%s/cgroup.procs", h->dir);
	rc = write_text(path, pid_text);
	if (rc < 0) {
		*what = "moving it into the hold cgroup";
		rmdir(h->dir);
		h->used = false;
		return rc;
	}
	snprintf(path, sizeof(path), "%s/cgroup.freeze", h->dir);
	rc = write_text(path, "1");
	if (rc < 0) {
		*what = "writing cgroup.freeze";
		release(h);
		return rc;
	}
	if (!wait_frozen(h->dir, timeout_ms)) {
		*what = "its threads did not all stop in time (one in an uninterruptible sleep?); "
			"it was let go";
		release(h);
		return -ETIMEDOUT;
	}
	/* Frozen, it forks no more, but it cannot reap the children it has
	 * either: thawed for a moment at a time until they are gone. Any left
	 * after CHILDREN_WAIT_MS stay, and the host's pause refuses them. */
	for (int64_t until = now_ms() + CHILDREN_WAIT_MS; has_children(pid) && now_ms() < until;) {
		if (write_text(path, "0") < 0)
			break;
		usleep(CHILDREN_RETRY_MS * 1000);
		rc = write_text(path, "1");
		if (rc < 0 || !wait_frozen(h->dir, timeout_ms)) {
			*what = rc < 0 ? "writing cgroup.freeze"
				       : "its threads did not all stop in time after letting its "
					 "children end; it was let go";
			release(h);
			return rc < 0 ? rc : -ETIMEDOUT;
		}
	}
	return 0;
}

int hold_thaw(pid_t pid)
{
	struct hold *h = find(pid);
	return h ? release(h) : -ENOENT;
}

void hold_tidy(void)
{
	for (int i = 0; i < MAX_HOLDS; i++) {
		struct hold *h = &holds[i];
		if (!h->used)
			continue;
		if (h->pid < 0) {
			if (rmdir(h->dir) == 0 || errno == ENOENT)
				h->used = false;
		} else if (!channel_host_connected(h->owner)) {
			agent_log("the host holding pid %d went away; letting it run", (int)h->pid);
			release(h);
		}
	}
}
