/* SPDX-License-Identifier: MIT */
/* libvirt-worker.c - see libvirt-worker.h. */
#include "host/qemu/libvirt-worker.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snapvm/le.h" /* sv_put_le32 / sv_get_le32 */
#include "base/errors.h"
#include "host/qemu/libvirt-dl.h"
#include "host/qemu/ram-dir.h"
#include "host/util/io-util.h"
#include "host/util/state-paths.h"

#define LOCK_WAIT_SECONDS 60
/* Starting a domain under a loaded TCG host can take a while; a worker that
 * says nothing for this long is stuck. */
#define CALL_TIMEOUT_MS 180000
#define MAX_MESSAGE (4u << 20)

struct SvLibvirtWorker {
	GPid pid;
	int fd;
};

/* Settings the embedded driver needs to run QEMU as whoever runs snapvm,
 * with no daemons: no privilege drop (QEMU runs as our own uid and gid,
 * "+N" being libvirt's numeric form; libvirt also chowns its state dirs to
 * them, which an ordinary user can only do to itself), no SELinux/AppArmor
 * labelling, no relabelling of the files we hand QEMU, logs to files
 * instead of virtlogd, and guest RAM files in our own directory. */
static const char qemu_conf_fmt[] = "# written by snapvm; rewritten when it differs\n"
				    "user = \"+%u\"\n"
				    "group = \"+%u\"\n"
				    "security_driver = \"none\"\n"
				    "dynamic_ownership = 0\n"
				    "remember_owner = 0\n"
				    "stdio_handler = \"file\"\n"
				    "memory_backing_dir = \"%s\"\n";

/* ---- messages over the socketpair: u32 fields and length-prefixed text ---- */

/* Reads exactly n bytes; timeout_ms < 0 waits for ever (the worker side). */
static gboolean read_all(int fd, void *buf, gsize n, gint timeout_ms)
{
	guint8 *p = buf;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while (n) {
		if (timeout_ms >= 0) {
			gint64 left = (deadline - g_get_monotonic_time()) / 1000;
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			int r = left > 0 ? poll(&pfd, 1, (int)left) : 0;
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return FALSE;
		}
		ssize_t got = recv(fd, p, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return FALSE;
		p += got;
		n -= got;
	}
	return TRUE;
}

static gboolean send_message(int fd, guint32 a, guint32 b, const char *s1, const char *s2)
{
	const char *strs[2] = { s1 ? s1 : "", s2 ? s2 : "" };
	guint8 hdr[8];
	sv_put_le32(hdr, a);
	sv_put_le32(hdr + 4, b);
	if (!sv_write_all_fd(fd, hdr, 8))
		return FALSE;
	for (int i = 0; i < 2; i++) {
		guint8 len[4];
		sv_put_le32(len, (guint32)strlen(strs[i]));
		if (!sv_write_all_fd(fd, len, 4) || !sv_write_all_fd(fd, strs[i], strlen(strs[i])))
			return FALSE;
	}
	return TRUE;
}

static gboolean recv_message(int fd, gint timeout_ms, guint32 *a, guint32 *b, char **s1, char **s2)
{
	guint8 hdr[8];
	if (!read_all(fd, hdr, 8, timeout_ms))
		return FALSE;
	*a = sv_get_le32(hdr);
	*b = sv_get_le32(hdr + 4);
	char **outs[2] = { s1, s2 };
	for (int i = 0; i < 2; i++) {
		guint8 lenb[4];
		if (!read_all(fd, lenb, 4, timeout_ms))
			return FALSE;
		guint32 len = sv_get_le32(lenb);
		if (len > MAX_MESSAGE)
			return FALSE;
		g_autofree char *s = g_malloc(len + 1);
		if (!read_all(fd, s, len, timeout_ms))
			return FALSE;
		s[len] = '\0';
		*outs[i] = g_steal_pointer(&s);
	}
	return TRUE;
}

/* ---- the worker process ---- */

static void silence_libvirt_errors(void *data, virErrorPtr err)
{
	/* Errors travel back to the parent as text; libvirt must not print. */
}

static gpointer event_loop_thread(gpointer data)
{
	for (;;)
		virEventRunDefaultImpl();
	return NULL;
}

static void set_libvirt_error(GError **error, const char *what)
{
	virErrorPtr e = virGetLastError();
	const char *msg = e && e->message ? e->message : "unknown libvirt error";
	const char *hint = "";
	if (e && e->code == VIR_ERR_NO_CONNECT)
		hint = " (is the QEMU driver installed? apt-get install libvirt-daemon-driver-qemu)";
	else if (strstr(msg, "Failed to parse user"))
		hint = " (apt-get install libvirt-daemon-system creates the users libvirt expects)";
	g_set_error(error, SV_ERROR,
		    e && e->code == VIR_ERR_NO_DOMAIN ? SV_ERROR_NOT_FOUND : SV_ERROR_FAILED,
		    "%s: %s%s", what, msg, hint);
}

static gboolean ensure_embed_root(const char *root, GError **error)
{
	g_autofree char *etc = g_build_filename(root, "etc", NULL);
	if (!sv_mkdir_p(etc, error))
		return FALSE;
	g_autofree char *ram = sv_ram_dir_prepare(root, error);
	if (!ram)
		return FALSE;
	/* Say where the RAM files are, for whoever cleans up the state dir. */
	g_autofree char *link = g_build_filename(root, "ram-dir", NULL);
	if (!g_file_test(link, G_FILE_TEST_IS_SYMLINK) && symlink(ram, link) < 0 &&
	    errno != EEXIST) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot create %s: %s", link,
			    g_strerror(errno));
		return FALSE;
	}
	g_autofree char *conf = g_build_filename(etc, "qemu.conf", NULL);
	g_autofree char *want = g_strdup_printf(qemu_conf_fmt, (guint)geteuid(), (guint)getegid(),
						ram);
	g_autofree char *have = NULL;
	if (g_file_get_contents(conf, &have, NULL, NULL) && g_strcmp0(have, want) == 0)
		return TRUE;
	return g_file_set_contents(conf, want, -1, error);
}

/* The lock is held until the worker exits (the fd is never closed). */
static gboolean take_root_lock(const char *root, GError **error)
{
	g_autofree char *path = g_build_filename(root, "snapvm.lock", NULL);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "cannot open %s: %s", path,
			    g_strerror(errno));
		return FALSE;
	}
	gint64 deadline = g_get_monotonic_time() + LOCK_WAIT_SECONDS * G_USEC_PER_SEC;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK || g_get_monotonic_time() > deadline) {
			g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT,
				    "another snapvm process has held the libvirt root %s for over "
				    "%d s; is one stuck?",
				    root, LOCK_WAIT_SECONDS);
			return FALSE;
		}
		g_usleep(5 * 1000);
	}
	return TRUE;
}

/* libvirt binds each QEMU's monitor at ROOT/lib/qemu/domain-ID-NAME/
 * monitor.sock, NAME cut to 20 characters; a UNIX socket path holds at
 * most 107. With IDs up to 4 digits that leaves ROOT 52 - a deep home
 * directory (a non-root user's default state dir is ~/.local/state/snapvm)
 * can pass it, and libvirt's own message comes only at the first start. */
#define EMBED_ROOT_MAX \
	(107 - (int)sizeof("/lib/qemu/domain-9999-") + 1 - 20 - (int)sizeof("/monitor.sock") + 1)

static gboolean embed_root_short_enough(const char *root, GError **error)
{
	if (strlen(root) <= EMBED_ROOT_MAX)
		return TRUE;
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "the libvirt root %s is %zu characters long: the QEMU monitor sockets libvirt "
		    "makes under it would be longer than a UNIX socket path may be; set "
		    "SNAPVM_STATE_DIR to a directory of at most %d characters",
		    root, strlen(root), EMBED_ROOT_MAX - (int)strlen("/libvirt"));
	return FALSE;
}

static virConnectPtr worker_connect(const char *uri, GError **error)
{
	g_autofree char *real_uri = NULL;
	if (!uri) {
		g_autofree char *state = sv_state_dir();
		g_autofree char *root = g_build_filename(state, "libvirt", NULL);
		if (!embed_root_short_enough(root, error) || !ensure_embed_root(root, error) ||
		    !take_root_lock(root, error))
			return NULL;
		/* The embedded driver logs to stderr by default; the terminal
		 * belongs to the workload. */
		g_autofree char *log = g_strdup_printf("3:file:%s/libvirt.log", root);
		g_setenv("LIBVIRT_LOG_OUTPUTS", log, TRUE);
		real_uri = g_strdup_printf("qemu:///embed?root=%s", root);
		uri = real_uri;
	}
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
		set_libvirt_error(error, "libvirt initialisation");
		return NULL;
	}
	virSetErrorFunc(NULL, silence_libvirt_errors);
	/* The embedded driver talks to QEMU's monitor through libvirt's event
	 * loop, which the application must run. */
	g_thread_unref(g_thread_new("libvirt-events", event_loop_thread, NULL));
	virConnectPtr conn = virConnectOpen(uri);
	if (!conn) {
		g_autofree char *what = g_strdup_printf("cannot open libvirt connection %s", uri);
		set_libvirt_error(error, what);
	}
	return conn;
}

static const char *state_name(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
		return "running";
	case VIR_DOMAIN_PAUSED:
		return "paused";
	case VIR_DOMAIN_SHUTOFF:
	case VIR_DOMAIN_CRASHED:
		return "stopped";
	default:
		return "other";
	}
}

/* Performs one request; returns the result text or NULL with error. */
static char *worker_perform(virConnectPtr conn, guint32 op, const char *name, const char *arg,
			    GError **error)
{
	if (op == SV_LV_CREATE) {
		virDomainPtr dom = virDomainCreateXML(conn, arg, 0);
		if (!dom) {
			g_autofree char *what = g_strdup_printf("cannot start VM '%s'", name);
			set_libvirt_error(error, what);
			return NULL;
		}
		virDomainFree(dom);
		return g_strdup("");
	}
	if (op == SV_LV_RESTORE) {
		const char *nl = strchr(arg, '\n');
		g_autofree char *path = nl ? g_strndup(arg, nl - arg) : NULL;
		if (!path ||
		    virDomainRestoreFlags(conn, path, nl + 1, VIR_DOMAIN_SAVE_RUNNING) < 0) {
			g_autofree char *what =
				g_strdup_printf("cannot start VM '%s' from a saved state", name);
			set_libvirt_error(error, what);
			return NULL;
		}
		return g_strdup("");
	}
	virDomainPtr dom = virDomainLookupByName(conn, name);
	if (!dom) {
		if (op == SV_LV_DESTROY)
			return g_strdup(""); /* already gone: stopping is idempotent */
		if (op == SV_LV_STATE)
			return g_strdup("stopped");
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND,
			    "VM '%s' is not running (it stopped or was destroyed)", name);
		return NULL;
	}
	char *result = NULL;
	virDomainInfo info;
	int st = virDomainGetInfo(dom, &info) == 0 ? (int)info.state : VIR_DOMAIN_NOSTATE;
	switch (op) {
	case SV_LV_PAUSE:
		if (st == VIR_DOMAIN_PAUSED || virDomainSuspend(dom) == 0)
			result = g_strdup("");
		else
			set_libvirt_error(error, "cannot pause the VM");
		break;
	case SV_LV_RESUME:
		if (st == VIR_DOMAIN_RUNNING || virDomainResume(dom) == 0)
			result = g_strdup("");
		else
			set_libvirt_error(error, "cannot resume the VM");
		break;
	case SV_LV_DESTROY:
		if (virDomainDestroy(dom) == 0)
			result = g_strdup("");
		else {
			virErrorPtr e = virGetLastError();
			if (e &&
			    (e->code == VIR_ERR_OPERATION_INVALID || e->code == VIR_ERR_NO_DOMAIN))
				result = g_strdup(""); /* it stopped by itself meanwhile */
			else
				set_libvirt_error(error, "cannot stop the VM");
		}
		break;
	case SV_LV_STATE:
		/* A worker reconnects to running QEMUs in the background; until it
		 * has, libvirt reports the last state it saved. A monitor command
		 * waits for the reconnection, and fails if QEMU is gone. */
		if (st == VIR_DOMAIN_RUNNING || st == VIR_DOMAIN_PAUSED) {
			char *reply = NULL;
			if (virDomainQemuMonitorCommand(dom, "{\"execute\":\"query-status\"}",
							&reply, 0) < 0)
				st = VIR_DOMAIN_SHUTOFF;
			else if (virDomainGetInfo(dom, &info) == 0)
				st = (int)info.state;
			free(reply);
		}
		result = g_strdup(state_name(st));
		break;
	case SV_LV_QMP: {
		char *reply = NULL;
		if (virDomainQemuMonitorCommand(dom, arg, &reply, 0) == 0) {
			result = g_strdup(reply);
			free(reply);
		} else {
			set_libvirt_error(error, "QEMU monitor command failed");
		}
		break;
	}
	case SV_LV_SAVE:
		/* VIR_DOMAIN_SAVE_RUNNING: a restore starts it running */
		if (virDomainSaveFlags(dom, arg, NULL, VIR_DOMAIN_SAVE_RUNNING) == 0)
			result = g_strdup("");
		else
			set_libvirt_error(error, "cannot save the VM's state");
		break;
	default:
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "libvirt worker: unknown op %u", op);
	}
	virDomainFree(dom);
	return result;
}

static G_NORETURN void worker_main(int fd, const char *uri)
{
	g_autoptr(GError) error = NULL;
	virConnectPtr conn = worker_connect(uri, &error);
	if (!conn) {
		send_message(fd, 0, error->code, error->message, NULL);
		_exit(0);
	}
	send_message(fd, 1, 0, NULL, NULL);
	for (;;) {
		guint32 op, unused;
		g_autofree char *name = NULL, *arg = NULL;
		if (!recv_message(fd, -1, &op, &unused, &name, &arg))
			break; /* parent released us or died */
		g_autoptr(GError) e = NULL;
		g_autofree char *result = worker_perform(conn, op, name, arg, &e);
		if (!send_message(fd, result != NULL, e ? e->code : 0, result ? result : e->message,
				  NULL))
			break;
	}
	virConnectClose(conn);
	_exit(0);
}

/* ---- the parent side ---- */

SvLibvirtWorker *sv_libvirt_worker_start(const char *uri, GError **error)
{
	/* in the parent, before the fork: the child then only calls */
	if (!sv_libvirt_load(error))
		return NULL;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "socketpair: %s", g_strerror(errno));
		return NULL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "fork: %s", g_strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		/* Keep only stdio and our end: an inherited agent socket would
		 * keep a dead channel looking alive to the parent. */
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		close_range(4, ~0u, 0);
		/* If the parent dies, the worker reads EOF and exits, so a killed
		 * snapvm never leaves the root locked. */
		signal(SIGPIPE, SIG_IGN);
		/* libvirt waits for its own children: a reaping SIGCHLD handler
		 * inherited from the CLI would steal their exit statuses. */
		signal(SIGCHLD, SIG_DFL);
		worker_main(3, uri);
	}
	close(sv[1]);
	g_autofree SvLibvirtWorker *w = g_new0(SvLibvirtWorker, 1);
	w->pid = pid;
	w->fd = sv[0];
	guint32 ok = 0, code = 0;
	g_autofree char *msg = NULL, *unused = NULL;
	if (!recv_message(w->fd, (LOCK_WAIT_SECONDS + 60) * 1000, &ok, &code, &msg, &unused) ||
	    !ok) {
		if (msg)
			g_set_error_literal(error, SV_ERROR, (gint)code, msg);
		else
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
				    "the libvirt worker process died while connecting");
		sv_libvirt_worker_stop(g_steal_pointer(&w));
		return NULL;
	}
	return g_steal_pointer(&w);
}

gboolean sv_libvirt_worker_call(SvLibvirtWorker *w, SvLibvirtOp op, const char *domain,
				const char *arg, char **ret_result, GError **error)
{
	guint32 ok = 0, code = 0;
	g_autofree char *text = NULL, *unused = NULL;
	if (!send_message(w->fd, op, 0, domain, arg) ||
	    !recv_message(w->fd, CALL_TIMEOUT_MS, &ok, &code, &text, &unused)) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "the libvirt worker process died or hung (op %u on '%s')", op, domain);
		return FALSE;
	}
	if (!ok) {
		g_set_error_literal(error, SV_ERROR, (gint)code, text);
		return FALSE;
	}
	if (ret_result)
		*ret_result = g_steal_pointer(&text);
	return TRUE;
}

void sv_libvirt_worker_stop(SvLibvirtWorker *w)
{
	if (!w)
		return;
	close(w->fd); /* the worker sees EOF, closes its connection and exits */
	int status;
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	g_free(w);
}
