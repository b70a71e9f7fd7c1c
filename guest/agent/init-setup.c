/* SPDX-License-Identifier: MIT */
/* init-setup.c - what the agent does because it is PID 1: mounts, kernel
 * modules for the agent channel, finding the port, powering off. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static void mount_one(const char *src, const char *dir, const char *type, const char *opts)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, MS_NOSUID, opts) < 0 && errno != EBUSY)
		agent_log("mount %s on %s: %s", type, dir, strerror(errno));
}

/* The parameters the kernel command line gives module name ("name.key=v"
 * before any "--"), as "key=v ..." for finit_module: what modprobe does,
 * and the kernel does only for built-in code. (snapvm's own VMM announces
 * its disk in ACPI, which virtio_mmio reads by itself.) */
static void module_params(const char *name, char *out, size_t cap)
{
	char cmdline[4096];
	out[0] = '\0';
	if (!agent_read_file("/proc/cmdline", cmdline, sizeof(cmdline)))
		return;
	size_t n = strlen(name), used = 0;
	for (char *tok = strtok(cmdline, " \n"); tok; tok = strtok(NULL, " \n")) {
		if (!strcmp(tok, "--"))
			break;
		if (strncmp(tok, name, n) != 0 || tok[n] != '.' || !strchr(tok + n + 1, '='))
			continue;
		int k = snprintf(out + used, cap - used, "%s%s", used ? " " : "", tok + n + 1);
		if (k < 0 || (size_t)k >= cap - used) {
			out[used] = '\0';
			return;
		}
		used += (size_t)k;
	}
}

/* The image lists the modules in dependency order (images/build-image.sh),
 * because the initramfs has no modules.dep and no modprobe: in dir/load-order,
 * the modules beside it. */
static void load_modules(const char *dir)
{
	char list[128];
	snprintf(list, sizeof(list), "%s/load-order", dir);
	FILE *f = fopen(list, "r");
	if (!f)
		return; /* everything built in, or no disk */
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		char path[400];
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			agent_log("module %s: %s", path, strerror(errno));
			continue;
		}
		/* "virtio_mmio.ko" -> "virtio_mmio" (modules.builtin's names use '_') */
		char name[256], params[1024];
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(line, "."), line);
		for (char *c = name; *c; c++)
			if (*c == '-')
				*c = '_';
		module_params(name, params, sizeof(params));
		if (syscall(SYS_finit_module, fd, params, 0) < 0 && errno != EEXIST)
			agent_log("loading %s: %s", line, strerror(errno));
		close(fd);
	}
	fclose(f);
}

/* The kernel opens /dev/console as fds 0-2 of init, but only if the
 * initramfs has that node; otherwise they are closed and the first file the
 * agent opens would become its "stdout". Fill the gaps from devtmpfs. */
static void console_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int c = open("/dev/console", O_RDWR | O_NOCTTY);
		if (c < 0)
			return;
		if (c != fd) {
			dup2(c, fd);
			close(c);
		}
	}
}

void agent_init_setup(void)
{
	mount_one("proc", "/proc", "proc", NULL);
	mount_one("sysfs", "/sys", "sysfs", NULL);
	mount_one("devtmpfs", "/dev", "devtmpfs", "mode=0755");
	/* ptys: opening /dev/ptmx looks for the devpts instance at /dev/pts */
	mount_one("devpts", "/dev/pts", "devpts", "mode=0620,ptmxmode=0666");
	/* the freezer that holds a process while its snapshot is written */
	mount_one("cgroup2", "/sys/fs/cgroup", "cgroup2", NULL);
	console_fds();
	mount_one("tmpfs", "/tmp", "tmpfs", "mode=1777");
	mount_one("tmpfs", "/run", "tmpfs", "mode=0755");
	load_modules("/lib/modules");
	/* appended by a run with a root filesystem image (image-root.c) */
	load_modules("/lib/modules/disk");
	agent_loopback_up();
	if (!agent_enter_image_root()) {
		agent_log("cannot enter the image's root filesystem; powering off");
		agent_poweroff();
	}
}

static bool read_small(const char *path, char *buf, size_t cap)
{
	if (!agent_read_file(path, buf, cap))
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/* The port appears in sysfs once virtio_console has probed the device; its
 * name comes from the host (the libvirt <target name=...>). devtmpfs makes
 * the node; if it has not yet, make it from the sysfs dev numbers. */
static bool find_port_once(const char *name, char *path, size_t cap)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[300], val[128];
		snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name", e->d_name);
		if (!read_small(p, val, sizeof(val)) || strcmp(val, name) != 0)
			continue;
		snprintf(path, cap, "/dev/%s", e->d_name);
		if (access(path, F_OK) != 0) {
			unsigned maj, min;
			snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/dev", e->d_name);
			if (read_small(p, val, sizeof(val)) &&
			    sscanf(val, "%u:%u", &maj, &min) == 2)
				mknod(path, S_IFCHR | 0600, makedev(maj, min));
		}
		found = access(path, F_OK) == 0;
	}
	closedir(d);
	return found;
}

bool agent_find_port(const char *name, int timeout_ms, char *path, size_t cap)
{
	for (int waited = 0;; waited += 10) {
		if (find_port_once(name, path, cap))
			return true;
		if (waited >= timeout_ms)
			return false;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
}

/* A crash of PID 1 panics the kernel, which says nothing useful about why
 * and (with panic=-1) looks like a reboot. Say what happened and end the
 * guest the normal way instead. Async-signal-safe: write, sync, reboot. */
static void on_fatal_signal(int sig)
{
	char msg[] = "snapvm-agent: fatal signal 00; powering off\n";
	char *d = strstr(msg, "00");
	d[0] = (char)('0' + sig / 10 % 10);
	d[1] = (char)('0' + sig % 10);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		sync();
	agent_poweroff();
}

void agent_init_guard(void)
{
	static char altstack[64 * 1024]; /* so a stack overflow can still report */
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	sigaltstack(&ss, NULL);
	struct sigaction sa = { .sa_handler = on_fatal_signal, .sa_flags = SA_ONSTACK };
	sigfillset(&sa.sa_mask);
	const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP };
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
}

/*
 * Ends the guest. It restarts rather than powers off: an x86 guest booted
 * through PVH finds no ACPI tables, so a power-off only halts the CPU, while
 * a restart works on every board (triple fault, PSCI). snapvm's machines
 * turn a guest restart into the end of the VM (QEMU -action reboot=shutdown,
 * see host/qemu/domain-xml.c).
 */
void agent_poweroff(void)
{
	sync();
	if (getpid() == 1) {
		reboot(RB_AUTOBOOT);
		/* PID 1 must never exit: the kernel would panic. */
		for (;;)
			pause();
	}
	exit(0);
}
