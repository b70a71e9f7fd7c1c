/* SPDX-License-Identifier: MIT */
/* libvirt-conn.c - see libvirt-conn.h. */
#include "vmm/qemu/libvirt-conn.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <libvirt/virterror.h>

#include "vmm/errors.h"
#include "vmm/paths.h"

#define LOCK_WAIT_SECONDS 60

/* Settings the embedded driver needs to run QEMU as root with no daemons:
 * no privilege drop, no SELinux/AppArmor labelling, logs to files instead of
 * virtlogd, no relabelling of the files we hand QEMU (it runs as root
 * already), and guest RAM files in our own directory. */
static const char qemu_conf_fmt[] = "# written by snapvm; rewritten when it differs\n"
				    "user = \"root\"\n"
				    "group = \"root\"\n"
				    "security_driver = \"none\"\n"
				    "stdio_handler = \"file\"\n"
				    "dynamic_ownership = 0\n"
				    "remember_owner = 0\n"
				    "memory_backing_dir = \"%s\"\n";

static void silence_libvirt_errors(void *data, virErrorPtr err)
{
	/* Errors reach the user through GError; libvirt must not print them. */
}

static gpointer event_loop_thread(gpointer data)
{
	for (;;)
		virEventRunDefaultImpl();
	return NULL;
}

/* The embedded driver talks to QEMU's monitor through libvirt's event loop,
 * which the application must run. */
static gboolean libvirt_init_once(GError **error)
{
	static gsize done;
	static gboolean ok;
	if (g_once_init_enter(&done)) {
		ok = virInitialize() == 0 && virEventRegisterDefaultImpl() == 0;
		if (ok) {
			virSetErrorFunc(NULL, silence_libvirt_errors);
			g_thread_unref(g_thread_new("libvirt-events", event_loop_thread, NULL));
		}
		g_once_init_leave(&done, 1);
	}
	if (!ok)
		sv_libvirt_set_error(error, "libvirt initialisation");
	return ok;
}

void sv_libvirt_set_error(GError **error, const char *what)
{
	virErrorPtr e = virGetLastError();
	const char *msg = e && e->message ? e->message : "unknown libvirt error";
	const char *hint = "";
	if (e && e->code == VIR_ERR_NO_CONNECT)
		hint = " (is the QEMU driver installed? apt-get install libvirt-daemon-driver-qemu)";
	else if (e && strstr(msg, "Failed to parse user"))
		hint = " (apt-get install libvirt-daemon-system creates the users libvirt expects)";
	else if (e && strstr(msg, "Cannot find") && strstr(msg, "qemu"))
		hint = " (install QEMU: apt-get install qemu-system-x86 qemu-system-arm)";
	g_set_error(error, SV_ERROR,
		    e && e->code == VIR_ERR_NO_DOMAIN ? SV_ERROR_NOT_FOUND : SV_ERROR_FAILED,
		    "%s: %s%s", what, msg, hint);
}

/* Guest RAM files go to tmpfs when there is one: a disk-backed file would
 * have the host write guest memory back to disk for nothing. One directory
 * per libvirt root, so two state dirs never share RAM files. */
static char *ram_dir_for(const char *root)
{
	if (!g_file_test("/dev/shm", G_FILE_TEST_IS_DIR))
		return g_build_filename(root, "ram", NULL);
	g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, root, -1);
	hash[16] = '\0';
	return g_strdup_printf("/dev/shm/snapvm-%u-%s", (guint)geteuid(), hash);
}

static gboolean ensure_embed_root(const char *root, GError **error)
{
	g_autofree char *etc = g_build_filename(root, "etc", NULL);
	g_autofree char *ram = ram_dir_for(root);
	if (!sv_mkdir_p(etc, error) || !sv_mkdir_p(ram, error))
		return FALSE;
	g_autofree char *conf = g_build_filename(etc, "qemu.conf", NULL);
	g_autofree char *want = g_strdup_printf(qemu_conf_fmt, ram);
	g_autofree char *have = NULL;
	if (g_file_get_contents(conf, &have, NULL, NULL) && g_strcmp0(have, want) == 0)
		return TRUE;
	return g_file_set_contents(conf, want, -1, error);
}

static int take_lock(const char *root, GError **error)
{
	g_autofree char *path = g_build_filename(root, "snapvm.lock", NULL);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot open %s: %s", path,
			    g_strerror(errno));
		return -1;
	}
	gint64 deadline = g_get_monotonic_time() + LOCK_WAIT_SECONDS * G_USEC_PER_SEC;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK || g_get_monotonic_time() > deadline) {
			g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT,
				    "another snapvm process has held the libvirt root %s for over "
				    "%d s; is one stuck?",
				    root, LOCK_WAIT_SECONDS);
			close(fd);
			return -1;
		}
		g_usleep(10 * 1000);
	}
	return fd;
}

SvLibvirtConn *sv_libvirt_open(const char *uri, GError **error)
{
	g_autoptr(SvLibvirtConn) c = g_new0(SvLibvirtConn, 1);
	c->lock_fd = -1;
	if (!uri) {
		g_autofree char *state = sv_state_dir();
		c->embed_root = g_build_filename(state, "libvirt", NULL);
		if (!ensure_embed_root(c->embed_root, error))
			return NULL;
		c->uri = g_strdup_printf("qemu:///embed?root=%s", c->embed_root);
		c->lock_fd = take_lock(c->embed_root, error);
		if (c->lock_fd < 0)
			return NULL;
		/* The embedded driver logs to stderr by default; keep the
		 * terminal for the workload and send its log to a file. */
		if (!g_getenv("LIBVIRT_LOG_OUTPUTS")) {
			g_autofree char *log = g_strdup_printf("3:file:%s/libvirt.log", c->embed_root);
			g_setenv("LIBVIRT_LOG_OUTPUTS", log, TRUE);
		}
	} else {
		c->uri = g_strdup(uri);
	}
	if (!libvirt_init_once(error))
		return NULL;
	c->conn = virConnectOpen(c->uri);
	if (!c->conn) {
		g_autofree char *what = g_strdup_printf("cannot open libvirt connection %s", c->uri);
		sv_libvirt_set_error(error, what);
		return NULL;
	}
	return g_steal_pointer(&c);
}

void sv_libvirt_close(SvLibvirtConn *c)
{
	if (!c)
		return;
	if (c->conn)
		virConnectClose(c->conn);
	if (c->lock_fd >= 0)
		close(c->lock_fd); /* releases the flock */
	g_free(c->uri);
	g_free(c->embed_root);
	g_free(c);
}
