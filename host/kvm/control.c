/* SPDX-License-Identifier: MIT */
/*
 * control.c - the control socket (<vm_dir>/control.sock), both ends.
 *
 * One request per connection, one text line:
 *   state | pause | resume | regs N | ram | stop
 * answered with "ok\n" and a payload, or "err CODE MESSAGE\n"; the VMM
 * closes the connection after answering, except after "stop", where the
 * connection closes when the VMM process has exited - so a client that
 * reads to the end knows the VM is gone.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/util/io-util.h"
#include "host/kvm/kvm-control.h"
#include "host/kvm/vmm-process.h"

#define REQUEST_MAX 256
#define REPLY_MAX (64 * 1024)

/* ---- the VMM's end ---- */

static char *reply_ok(const char *payload)
{
	return g_strdup_printf("ok\n%s", payload ? payload : "");
}

static char *reply_err(const GError *e)
{
	return g_strdup_printf("err %d %s\n", e->code, e->message);
}

static char *handle(SvVmm *vmm, const char *req, gboolean *ret_stop)
{
	g_autoptr(GError) e = NULL;
	if (!strcmp(req, "state"))
		return reply_ok(sv_kvm_vcpus_paused(vmm) ? "paused" : "running");
	if (!strcmp(req, "pause")) {
		sv_kvm_vcpus_pause(vmm);
		return reply_ok(NULL);
	}
	if (!strcmp(req, "resume")) {
		sv_kvm_vcpus_resume(vmm);
		return reply_ok(NULL);
	}
	if (!strcmp(req, "ram")) {
		g_autofree char *p = g_strdup_printf("/proc/%d/fd/%d %" G_GUINT64_FORMAT,
						     (int)getpid(), vmm->ram_fd, vmm->vm.ram_size);
		return reply_ok(p);
	}
	if (!strcmp(req, "stop")) {
		*ret_stop = TRUE;
		return reply_ok(NULL);
	}
	if (g_str_has_prefix(req, "regs ")) {
		guint64 cpu;
		if (!g_ascii_string_to_unsigned(req + 5, 10, 0, G_MAXUINT, &cpu, &e))
			return reply_err(e);
		/* registers are only stable with the vCPU parked */
		gboolean was_paused = sv_kvm_vcpus_paused(vmm);
		if (!was_paused)
			sv_kvm_vcpus_pause(vmm);
		g_autofree char *text = sv_kvm_vcpu_dump(vmm, (guint)cpu, &e);
		if (!was_paused)
			sv_kvm_vcpus_resume(vmm);
		return text ? reply_ok(text) : reply_err(e);
	}
	g_set_error(&e, SV_ERROR, SV_ERROR_PROTOCOL, "unknown control request '%s'", req);
	return reply_err(e);
}

gboolean sv_kvm_control_serve(SvVmm *vmm, int listen_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return FALSE;
	/* A client that connects and says nothing must not stall the VM's
	 * main loop for long. */
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char req[REQUEST_MAX];
	gsize len = 0;
	while (len < sizeof(req) - 1) {
		ssize_t n = read(fd, req + len, sizeof(req) - 1 - len);
		if (n <= 0)
			break;
		len += (gsize)n;
		if (memchr(req, '\n', len))
			break;
	}
	req[len] = '\0';
	req[strcspn(req, "\n")] = '\0';
	gboolean stop = FALSE;
	g_autofree char *reply = handle(vmm, req, &stop);
	sv_write_all_fd(fd, reply, strlen(reply));
	if (stop) {
		/* left open on purpose: it closes when this process exits */
		sv_vmm_end(vmm, SV_VMM_STOP, NULL);
		return TRUE;
	}
	close(fd);
	return FALSE;
}

/* ---- a client's end ---- */

gboolean sv_kvm_control_call(const char *socket_path, const char *request, int timeout_ms,
			     char **ret_payload, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "control socket path too long: %s", socket_path);
		return FALSE;
	}
	strcpy(sa.sun_path, socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, SV_ERROR,
			    err == ENOENT || err == ECONNREFUSED ? SV_ERROR_PEER_GONE
								 : SV_ERROR_FAILED,
			    "the VM's control socket %s: %s", socket_path, g_strerror(err));
		return FALSE;
	}
	g_autofree char *line = g_strdup_printf("%s\n", request);
	GByteArray *buf = g_byte_array_new();
	gboolean ok = sv_write_all_fd(fd, line, strlen(line));
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while (ok) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_TIMEOUT,
				    "the VM's control socket did not answer '%s' within %d ms",
				    request, timeout_ms);
			ok = FALSE;
			break;
		}
		guint8 chunk[4096];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf->len + (gsize)n > REPLY_MAX) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "control reply too long");
			ok = FALSE;
			break;
		}
		g_byte_array_append(buf, chunk, (guint)n);
	}
	close(fd);
	g_byte_array_append(buf, (const guint8 *)"", 1);
	g_autofree char *reply = (char *)g_byte_array_free(buf, FALSE);
	if (!ok)
		return FALSE;
	if (g_str_has_prefix(reply, "ok\n")) {
		if (ret_payload)
			*ret_payload = g_strdup(reply + 3);
		return TRUE;
	}
	int code = SV_ERROR_FAILED;
	char *msg = reply;
	if (g_str_has_prefix(reply, "err ")) {
		code = (int)g_ascii_strtoll(reply + 4, &msg, 10);
		if (*msg == ' ')
			msg++;
		msg[strcspn(msg, "\n")] = '\0';
	}
	g_set_error(error, SV_ERROR, code, "%s", *msg ? msg : "the VM closed its control socket");
	return FALSE;
}
