/* SPDX-License-Identifier: MIT */
/*
 * vmm-process.c - the VMM process: builds the VM, then its main loop
 * bridges the agent's two UARTs to <vm_dir>/agent.sock and
 * agent-control.sock (the sockets the qemu backend's virtio-serial ports
 * use) and answers the VMM's control socket, while the vCPU threads run
 * the guest.
 *
 * It reports the outcome of the set-up on status_fd ("ok", or the error
 * code and message) so the snapvm that forked it can give a proper error;
 * after that it is on its own, like QEMU: what goes wrong later (a guest
 * that faults beyond repair) is written to the console log and to stderr, and the VM ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/util/io-util.h"
#include "host/kvm/kvm-machine.h"
#include "host/kvm/vmm-process.h"

/* Host bytes held for the guest, and guest bytes held for the host, before
 * the side that produces them is made to wait. */
#define TO_GUEST_MAX (64 * 1024)
#define TO_HOST_MAX (1024 * 1024)
/*
 * Guest bytes go to the host in batches: every wake-up of the main loop
 * and of the snapvm reading the socket costs context switches, which a
 * slow machine (nested KVM under TCG: a few KB/s through the UART) pays
 * for every 16-byte FIFO load otherwise. A batch leaves when it reaches
 * TO_HOST_BATCH bytes or its first byte has waited TO_HOST_LINGER_MS.
 */
#define TO_HOST_BATCH 4096
#define TO_HOST_LINGER_MS 2

static GMutex end_lock;

void sv_vmm_wake(SvVmm *vmm)
{
	guint64 one = 1;
	if (write(vmm->wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: the main loop is awake anyway */
	}
}

void sv_vmm_end(SvVmm *vmm, SvVmmEnd why, const char *text)
{
	g_mutex_lock(&end_lock);
	if (atomic_load(&vmm->end) == SV_VMM_RUNNING) {
		vmm->failure = g_strdup(text);
		atomic_store(&vmm->end, why);
	}
	g_mutex_unlock(&end_lock);
	sv_vmm_wake(vmm);
}

void sv_vmm_console_write(SvVmm *vmm, const void *buf, gsize len)
{
	if (vmm->console_log_fd >= 0 && !sv_write_all_fd(vmm->console_log_fd, buf, len)) {
		/* a full disk loses console text, never the guest */
	}
}

static int listen_unix(const char *path, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT, "socket path too long: %s",
			    path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "socket %s: %s", path,
			    g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static char *kernel_cmdline(const SvVmm *vmm, const SvMachineConfig *config)
{
	const SvKvmBoard *b = vmm->board;
	/* The board's parameters, then after "--" the agent's own arguments:
	 * its channels are the board's UARTs. (The disk needs none: the board
	 * describes it in its firmware tables.) */
	return g_strdup_printf("console=%s %s quiet panic=-1 %s%s%s -- "
			       "--port /dev/%s --control-port /dev/%s%s",
			       b->console.tty, b->cmdline, b->board_cmdline,
			       config->cmdline_extra ? " " : "",
			       config->cmdline_extra ? config->cmdline_extra : "", b->agent.tty,
			       b->agent_control.tty,
			       vmm->agent.mode == SV_BRIDGE_AWAIT_RING ? " " SV_AGENT_RING_ARG
								       : "");
}

static gboolean console_sink(gpointer user, const guint8 *buf, gsize len)
{
	sv_vmm_console_write(user, buf, len);
	return TRUE;
}

/* Never drops what a connected host is to get: past TO_HOST_MAX the UART
 * is told to hold its transmitter (serial.c) until the main loop drains. */
static gboolean bridge_sink(gpointer user, const guint8 *buf, gsize len)
{
	SvBridge *b = user;
	g_autoptr(GByteArray) held = NULL;
	if (b->mode != SV_BRIDGE_SERIAL) {
		if (sv_agent_ring_from_uart(b, buf, len, &held)) {
			sv_agent_ring_drain(b, TO_HOST_MAX);
			return TRUE;
		}
		buf = held->data;
		len = held->len;
	}
	/* no host end: dropped, as QEMU drops a disconnected chardev's input */
	if (b->client < 0)
		return TRUE;
	gsize before = b->to_host->len;
	g_byte_array_append(b->to_host, buf, (guint)len);
	/* the first byte starts the linger clock; a full batch goes at once */
	if (before == 0 || (before < TO_HOST_BATCH && b->to_host->len >= TO_HOST_BATCH))
		sv_vmm_wake(b->vmm);
	return b->to_host->len < TO_HOST_MAX;
}

/* Each UART's bit among the devices that share its interrupt line. */
enum { SOURCE_CONSOLE = 1u << 0, SOURCE_AGENT = 1u << 1, SOURCE_AGENT_CONTROL = 1u << 2 };

static gboolean build(SvVmm *vmm, const SvMachineConfig *config, GError **error)
{
	const SvKvmBoard *b = vmm->board;
	vmm->disk_fd = -1;
	if (config->disk && !sv_kvm_disk_open(vmm, config->disk, error))
		return FALSE;
	vmm->agent.vmm = vmm->agent_control.vmm = vmm;
	vmm->agent.tie_to_host = TRUE;
	vmm->agent.name = "agent";
	vmm->agent_control.name = "agent-control";
	/* The agent is told to offer its rings (agent-ring.c): until it has,
	 * host bytes wait. SNAPVM_KVM_AGENT_CHANNEL=serial keeps the byte-per-
	 * exit path (for comparison, and to test that fallback). */
	if (g_strcmp0(g_getenv("SNAPVM_KVM_AGENT_CHANNEL"), "serial") != 0)
		vmm->agent.mode = vmm->agent_control.mode = SV_BRIDGE_AWAIT_RING;
	else
		for (guint i = 0; i < 2; i++)
			sv_agent_ring_note(
				i ? &vmm->agent_control : &vmm->agent,
				"serial, a byte an exit (SNAPVM_KVM_AGENT_CHANNEL=serial)");
	g_autofree char *cmdline = kernel_cmdline(vmm, config);
	vmm->vm.n_vcpus = MAX(config->vcpus, 1);
	if (!sv_kvm_vm_open(vmm, vmm->vm.n_vcpus, error) ||
	    !sv_kvm_vm_ram(vmm, (guint64)config->memory_mib << 20, error) ||
	    !b->load(&vmm->vm, config->kernel, config->initrd, cmdline, error))
		return FALSE;
	vmm->console = sv_serial_new(vmm, &b->console, SOURCE_CONSOLE, console_sink, vmm);
	vmm->agent.uart = sv_serial_new(vmm, &b->agent, SOURCE_AGENT, bridge_sink, &vmm->agent);
	vmm->agent_control.uart = sv_serial_new(vmm, &b->agent_control, SOURCE_AGENT_CONTROL,
						bridge_sink, &vmm->agent_control);
	return sv_kvm_vcpus_create(vmm, error);
}

static void report(int status_fd, const GError *e)
{
	g_autofree char *msg = e ? g_strdup_printf("%d\n%s", e->code, e->message) : g_strdup("ok");
	sv_write_all_fd(status_fd, msg, strlen(msg));
	close(status_fd);
}

static gboolean bridge_listen(SvBridge *b, const char *path, GError **error)
{
	b->client = -1;
	b->to_guest = g_byte_array_new();
	b->to_host = g_byte_array_new();
	b->listen_fd = listen_unix(path, error);
	return b->listen_fd >= 0;
}

static void bridge_close(SvVmm *vmm, SvBridge *b)
{
	g_mutex_lock(&vmm->devices);
	close(b->client);
	b->client = -1;
	g_byte_array_set_size(b->to_guest, 0);
	g_byte_array_set_size(b->to_host, 0);
	b->to_host_since = 0;
	sv_serial_tx_resume(b->uart);
	g_mutex_unlock(&vmm->devices);
}

/* poll events for a bridge's two fds (listening, or the client); lowers
 * *timeout_ms to when a lingering batch for the host is due */
static void bridge_poll(SvVmm *vmm, SvBridge *b, struct pollfd *p, int *timeout_ms)
{
	if (b->client < 0) {
		*p = (struct pollfd){ .fd = b->listen_fd, .events = POLLIN };
		return;
	}
	*p = (struct pollfd){ .fd = b->client };
	if (b->to_guest->len < TO_GUEST_MAX)
		p->events |= POLLIN;
	g_mutex_lock(&vmm->devices);
	gsize pending = b->to_host->len;
	g_mutex_unlock(&vmm->devices);
	if (!pending) {
		b->to_host_since = 0;
		return;
	}
	gint64 now = g_get_monotonic_time();
	if (!b->to_host_since)
		b->to_host_since = now;
	gint64 due = b->to_host_since + TO_HOST_LINGER_MS * 1000;
	if (pending >= TO_HOST_BATCH || now >= due)
		p->events |= POLLOUT;
	else
		*timeout_ms = MIN(*timeout_ms, (int)((due - now + 999) / 1000));
}

static void bridge_io(SvVmm *vmm, SvBridge *b, short revents)
{
	if (b->client < 0) {
		if (revents & POLLIN) {
			int fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			sv_host_tie_reset(&b->tie);
			g_mutex_lock(&vmm->devices);
			b->client = fd;
			g_mutex_unlock(&vmm->devices);
		}
		return;
	}
	gboolean gone = FALSE;
	/* read before believing a hang-up: what the client sent last counts */
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && b->to_guest->len < TO_GUEST_MAX) {
		guint8 chunk[16384];
		ssize_t n = read(b->client, chunk, sizeof(chunk));
		if (n > 0) {
			g_byte_array_append(b->to_guest, chunk, (guint)n);
			if (b->tie_to_host)
				sv_host_tie_feed(&b->tie, chunk, (gsize)n);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			gone = TRUE;
	}
	g_mutex_lock(&vmm->devices);
	if (!gone && (revents & POLLOUT) && b->to_host->len) {
		ssize_t n = send(b->client, b->to_host->data, b->to_host->len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			g_byte_array_remove_range(b->to_host, 0, (guint)n);
			b->to_host_since = 0; /* what is left goes on the next round */
			if (b->to_host->len < TO_HOST_MAX / 2)
				sv_serial_tx_resume(b->uart);
			sv_agent_ring_drain(b, TO_HOST_MAX);
		} else if (n < 0 && errno != EAGAIN && errno != EINTR)
			gone = TRUE;
	}
	g_mutex_unlock(&vmm->devices);
	if (!gone)
		return;
	bridge_close(vmm, b);
	if (b->tie_to_host && b->tie.owned) {
		/* the process that owns the VM is gone (host-tie.c) */
		static const char text[] = "\nsnapvm kvm: the host process that owned this VM "
					   "closed its agent connection; VM stopped\n";
		sv_vmm_console_write(vmm, text, strlen(text));
		sv_vmm_end(vmm, SV_VMM_STOP, NULL);
	}
}

/* Host bytes into the UART's receive FIFO or the agent's ring, as far as
 * they fit; none until the agent has offered its ring or not. */
static void bridge_pump(SvVmm *vmm, SvBridge *b)
{
	if (!b->to_guest->len)
		return;
	g_mutex_lock(&vmm->devices);
	if (b->mode == SV_BRIDGE_RING) {
		sv_agent_ring_fill(b);
	} else if (b->mode == SV_BRIDGE_SERIAL) {
		gsize n = sv_serial_receive(b->uart, b->to_guest->data, b->to_guest->len);
		g_byte_array_remove_range(b->to_guest, 0, (guint)n);
	}
	g_mutex_unlock(&vmm->devices);
}

static void main_loop(SvVmm *vmm, int vmm_control_listen)
{
	SvBridge *bridges[2] = { &vmm->agent, &vmm->agent_control };
	while (atomic_load(&vmm->end) == SV_VMM_RUNNING) {
		struct pollfd fds[4] = {
			{ .fd = vmm->wake_fd, .events = POLLIN },
			{ .fd = vmm_control_listen, .events = POLLIN },
		};
		/* the guest's FIFO drains without telling us: look again soon */
		gboolean backlog = vmm->agent.to_guest->len || vmm->agent_control.to_guest->len;
		int timeout_ms = backlog ? 5 : 100;
		for (guint i = 0; i < 2; i++)
			bridge_poll(vmm, bridges[i], &fds[2 + i], &timeout_ms);
		if (poll(fds, G_N_ELEMENTS(fds), timeout_ms) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN) {
			guint64 v;
			if (read(vmm->wake_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: someone else drained it */
			}
		}
		if (fds[1].revents & POLLIN)
			sv_kvm_control_serve(vmm, vmm_control_listen);
		for (guint i = 0; i < 2; i++) {
			if (fds[2 + i].revents)
				bridge_io(vmm, bridges[i], fds[2 + i].revents);
			bridge_pump(vmm, bridges[i]);
		}
	}
	/* What the guest said last (its panic, the agent's last words) */
	g_mutex_lock(&vmm->devices);
	if (vmm->agent.client >= 0 && vmm->agent.to_host->len)
		sv_write_all_fd(vmm->agent.client, vmm->agent.to_host->data,
				vmm->agent.to_host->len);
	g_mutex_unlock(&vmm->devices);
}

G_NORETURN void sv_kvm_vmm_main(const SvMachine *m, const SvMachineConfig *config, int status_fd)
{
	SvVmm *vmm = g_new0(SvVmm, 1);
	g_autoptr(GError) error = NULL;
	g_mutex_init(&vmm->devices);
	g_mutex_init(&vmm->pause_lock);
	g_mutex_init(&vmm->dirty.lock);
	g_cond_init(&vmm->pause_cond);
	vmm->board = config->arch->kvm;
	vmm->vm_dir = m->vm_dir;
	vmm->ram_fd = vmm->vm.kvm_fd = vmm->vm.vm_fd = -1;
	vmm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vmm->console_log_fd = open(m->console_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	g_autofree char *vmm_control_path = g_build_filename(m->vm_dir, SV_KVM_VMM_CONTROL_SOCKET,
							     NULL);
	int vmm_control_listen = -1;
	if (!build(vmm, config, &error) || !bridge_listen(&vmm->agent, m->agent_socket, &error) ||
	    !bridge_listen(&vmm->agent_control, m->agent_control_socket, &error) ||
	    (vmm_control_listen = listen_unix(vmm_control_path, &error)) < 0 ||
	    !sv_kvm_vcpus_start(vmm, &error)) {
		report(status_fd, error);
		_exit(1);
	}
	/* for a last-resort kill when the control socket does not answer */
	g_autofree char *pid_path = g_build_filename(m->vm_dir, "vmm.pid", NULL);
	g_autofree char *pid_text = g_strdup_printf("%d\n", (int)getpid());
	g_file_set_contents(pid_path, pid_text, -1, NULL);
	report(status_fd, NULL);
	main_loop(vmm, vmm_control_listen);

	g_mutex_lock(&vmm->devices);
	sv_serial_free(vmm->console); /* flushes the last console line */
	vmm->console = NULL;
	g_mutex_unlock(&vmm->devices);
	int code = 0;
	if (atomic_load(&vmm->end) == SV_VMM_FAILED) {
		g_autofree char *text =
			g_strdup_printf("\nsnapvm kvm: VM %s stopped: %s\n", m->name,
					vmm->failure ? vmm->failure : "unknown failure");
		sv_vmm_console_write(vmm, text, strlen(text));
		sv_write_all_fd(STDERR_FILENO, text, strlen(text));
		code = 1;
	}
	/* a VM that is gone has no sockets: snapvm list shows it stopped */
	unlink(vmm_control_path);
	unlink(m->agent_socket);
	unlink(m->agent_control_socket);
	_exit(code);
}
