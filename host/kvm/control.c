/* SPDX-License-Identifier: MIT */
/*
 * control.c - the control socket (<vm_dir>/control.sock), both ends.
 *
 * One request per connection, one text line:
 *   state | pause | resume | regs N | ram | dirty-log MARK | stop
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
	if (g_str_has_prefix(req, "dirty-log ")) {
		g_autofree char *reply = sv_kvm_dirty_log_take(vmm, req + strlen("dirty-log "), &e);
		return reply ? reply_ok(reply) : reply_err(e);
	}
	if (g_str_has_prefix(req, "regs ")) {
		guint64 cpu;
		if (!g_ascii_string_to_unsigned(req + 5, 10, 0, G_MAXUINT, &cpu, &e))
			return reply_err(e);
		/* registers are only stable with the vCPU parked */
		gboolean was_paused = sv_kvm_vcpus_paused(vmm);
		if (!was_paused)
			sv_kvm_vcpus_pause(vmm);
		g_autofree SvVcpuRegs *regs = g_new0(SvVcpuRegs, 1);
		gboolean ok = sv_kvm_vcpu_regs(vmm, (guint)cpu, regs, &e);
		if (!was_paused)
			sv_kvm_vcpus_resume(vmm);
		if (!ok)
			return reply_err(e);
		g_autofree char *text = sv_kvm_regs_encode(regs);
		return reply_ok(text);
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

/* ---- registers as text (the payload of "regs N") ----
 *
 * One item a line, in this order: "pc HEX", "sp HEX", "user_mode 0|1",
 * "fpu_features HEX", "fpu HEXBYTES" (absent when the board gave no FPU
 * image), then "reg NAME HEX" for each named register in the board's
 * order. Text, not the struct's bytes: a VM outlives the snapvm that
 * started it, and another build may ask it. */

char *sv_kvm_regs_encode(const SvVcpuRegs *regs)
{
	GString *s = g_string_new(NULL);
	g_string_append_printf(s,
			       "pc %" G_GINT64_MODIFIER "x\nsp %" G_GINT64_MODIFIER
			       "x\nuser_mode %d\nfpu_features %" G_GINT64_MODIFIER "x\n",
			       regs->pc, regs->sp, regs->user_mode ? 1 : 0, regs->fpu_features);
	if (regs->fpu_size) {
		g_string_append(s, "fpu ");
		for (guint32 i = 0; i < regs->fpu_size; i++)
			g_string_append_printf(s, "%02x", regs->fpu[i]);
		g_string_append_c(s, '\n');
	}
	for (guint i = 0; i < regs->count; i++)
		g_string_append_printf(s, "reg %s %" G_GINT64_MODIFIER "x\n", regs->regs[i].name,
				       regs->regs[i].value);
	return g_string_free(s, FALSE);
}

static gboolean parse_hex(const char *text, guint64 *ret)
{
	return g_ascii_string_to_unsigned(text, 16, 0, G_MAXUINT64, ret, NULL);
}

static gboolean decode_fpu(const char *hex, SvVcpuRegs *out)
{
	gsize len = strlen(hex);
	if (len == 0 || len % 2 || len / 2 > SV_VCPU_FPU_MAX)
		return FALSE;
	for (gsize i = 0; i < len / 2; i++) {
		int hi = g_ascii_xdigit_value(hex[2 * i]),
		    lo = g_ascii_xdigit_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return FALSE;
		out->fpu[i] = (guint8)(hi << 4 | lo);
	}
	out->fpu_size = (guint32)(len / 2);
	return TRUE;
}

/* One line; FALSE if it is not one of the items above. */
static gboolean decode_line(char *line, SvVcpuRegs *out)
{
	char *arg = strchr(line, ' ');
	if (!arg)
		return FALSE;
	*arg++ = '\0';
	guint64 v;
	if (!strcmp(line, "pc"))
		return parse_hex(arg, &out->pc);
	if (!strcmp(line, "sp"))
		return parse_hex(arg, &out->sp);
	if (!strcmp(line, "fpu_features"))
		return parse_hex(arg, &out->fpu_features);
	if (!strcmp(line, "user_mode")) {
		if (strcmp(arg, "0") && strcmp(arg, "1"))
			return FALSE;
		out->user_mode = arg[0] == '1';
		return TRUE;
	}
	if (!strcmp(line, "fpu"))
		return decode_fpu(arg, out);
	if (!strcmp(line, "reg")) {
		char *value = strchr(arg, ' ');
		if (!value || value == arg || value - arg >= (gssize)sizeof(out->regs[0].name) ||
		    out->count >= SV_VCPU_REGS_MAX)
			return FALSE;
		*value++ = '\0';
		if (!parse_hex(value, &v))
			return FALSE;
		sv_vcpu_regs_add(out, arg, v);
		return TRUE;
	}
	return FALSE;
}

gboolean sv_kvm_regs_decode(const char *text, SvVcpuRegs *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		if (!lines[i][0] && !lines[i + 1])
			break; /* after the last newline */
		g_autofree char *copy = g_strdup(lines[i]);
		if (!decode_line(lines[i], out)) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "bad register line from the VMM: '%s'", copy);
			return FALSE;
		}
	}
	return TRUE;
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
