/* SPDX-License-Identifier: MIT */
/*
 * image-root.c - switching PID 1 into an image's root filesystem, and
 * bringing up the loopback interface.
 *
 * `snapvm run --image NAME` gives the guest a disk (virtio-blk: /dev/vda)
 * holding a read-only ext4 made from Debian packages (images/build-rootfs.sh),
 * says so with `snapvm.root=vda` on the kernel command line, and appends the
 * modules that mount it (/lib/modules/disk/). The agent mounts it read-only
 * under a writable overlay in RAM (the image never changes, so any number of
 * guests share one file and a snapshot can reference its files), binds the
 * initramfs's /workload and /work into it, moves /proc, /sys, /dev, /tmp and
 * /run over, and makes it the root as switch_root does (the initramfs cannot
 * be unmounted or pivoted away; it stays below, unreachable). Everything
 * the agent starts afterwards - workloads and restored processes - sees the
 * image's userland.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define ROOT_PARAM "snapvm.root="
/* The block device appears when virtio_blk probes it, right after loading;
 * this bounds a wait that should never be needed. */
#define DISK_WAIT_MS 10000

/* The device named by snapvm.root= on the kernel command line, if any. */
static bool root_device(char *dev, size_t cap)
{
	char cmdline[4096];
	if (!agent_read_file("/proc/cmdline", cmdline, sizeof(cmdline)))
		return false;
	for (char *tok = strtok(cmdline, " \n"); tok; tok = strtok(NULL, " \n")) {
		if (strncmp(tok, ROOT_PARAM, strlen(ROOT_PARAM)) != 0)
			continue;
		const char *name = tok + strlen(ROOT_PARAM);
		if (!name[0] || strchr(name, '/') || strlen(name) > 32)
			return false;
		snprintf(dev, cap, "/dev/%s", name);
		return true;
	}
	return false;
}

static bool wait_for(const char *path)
{
	for (int waited = 0; access(path, F_OK) != 0; waited += 10) {
		if (waited >= DISK_WAIT_MS)
			return false;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	return true;
}

static bool do_mount(const char *src, const char *dir, const char *type, unsigned long flags,
		     const char *opts)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, flags, opts) == 0)
		return true;
	agent_log("image root: mount %s on %s (%s): %s", src, dir, type ? type : "bind/move",
		  strerror(errno));
	return false;
}

/* Moves (or binds) what the image root needs from the initramfs. */
static bool carry_over(void)
{
	static const char *const moved[] = { "/proc", "/sys", "/dev", "/tmp", "/run" };
	static const char *const bound[] = { "/workload", "/work" };
	char target[64];
	for (size_t i = 0; i < sizeof(bound) / sizeof(bound[0]); i++) {
		mkdir(bound[i], 0755); /* a run without copy-ins has no /work */
		snprintf(target, sizeof(target), "/newroot%s", bound[i]);
		if (!do_mount(bound[i], target, NULL, MS_BIND | MS_REC, NULL))
			return false;
	}
	for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
		snprintf(target, sizeof(target), "/newroot%s", moved[i]);
		if (!do_mount(moved[i], target, NULL, MS_MOVE, NULL))
			return false;
	}
	return true;
}

bool agent_enter_image_root(void)
{
	char dev[48];
	if (!root_device(dev, sizeof(dev)))
		return true; /* the minimal image: stay in the initramfs */
	if (!wait_for(dev)) {
		agent_log("image root: %s did not appear (is virtio_blk in "
			  "/lib/modules/disk/load-order?)",
			  dev);
		return false;
	}
	if (!do_mount(dev, "/image", "ext4", MS_RDONLY | MS_NOATIME, "noload") ||
	    !do_mount("tmpfs", "/image-rw", "tmpfs", 0, "mode=0755"))
		return false;
	mkdir("/image-rw/upper", 0755);
	mkdir("/image-rw/work", 0755);
	if (!do_mount("overlay", "/newroot", "overlay", 0,
		      "lowerdir=/image,upperdir=/image-rw/upper,workdir=/image-rw/work") ||
	    !carry_over())
		return false;
	if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0) {
		agent_log("image root: switching into it: %s", strerror(errno));
		return false;
	}
	return true;
}

/* The kernel creates lo down; programs that talk to 127.0.0.1 (local
 * servers, multiprocessing managers, test suites) need it up. The address
 * comes with it: the kernel gives lo 127.0.0.1/8 when it goes up. */
void agent_loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		agent_log("loopback: socket: %s", strerror(errno));
		return;
	}
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		agent_log("loopback: SIOCGIFFLAGS: %s", strerror(errno));
	} else {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			agent_log("loopback: SIOCSIFFLAGS: %s", strerror(errno));
	}
	close(s);
}
