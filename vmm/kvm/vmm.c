/* SPDX-License-Identifier: MIT */
/*
 * vmm.c - the VMM process: builds the VM, then its main loop bridges the
 * agent port to <vm_dir>/agent.sock and answers the control socket while
 * the vCPU threads run the guest.
 *
 * It reports the outcome of the set-up on status_fd ("ok", or the error
 * code and message) so the snapvm that forked it can give a proper error;
 * after that it is on its own, like QEMU: what goes wrong later (a triple
 * fault) is written to the console log and to stderr, and the VM ends.
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

#include "vmm/errors.h"
#include "vmm/io-util.h"
#include "vmm/kvm/kvm-machine.h"
#include "vmm/kvm/vmm.h"

/* Host bytes held for the guest, and guest bytes held for the host, before
 * the side that produces them is made to wait. */
#define TO_GUEST_MAX (64 * 1024)
#define TO_HOST_MAX (1024 * 1024)

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

static char *kernel_cmdline(const SvMachineConfig *config)
{
	const SvQemuBoard *b = config->arch->qemu;
	/* reboot=k: the agent ends a guest by restarting it, and the keyboard
	 * controller's reset is the one this board has (vcpu.c). No PCI bus
	 * at all: the agent channel is on virtio-mmio. */
	return g_strdup_printf("console=%s %s quiet panic=-1 reboot=k pci=off "
			       "virtio_mmio.device=%" G_GUINT64_FORMAT "@0x%" G_GINT64_MODIFIER
			       "x:%d%s%s",
			       b->console, b->cmdline, (guint64)SV_KVM_VIRTIO_MMIO_SIZE,
			       (guint64)SV_KVM_VIRTIO_MMIO_BASE, SV_KVM_VIRTIO_IRQ,
			       config->cmdline_extra ? " " : "",
			       config->cmdline_extra ? config->cmdline_extra : "");
}

static gboolean build(SvVmm *vmm, const SvMachineConfig *config, GError **error)
{
	guint32 entry, start_info;
	g_autofree char *cmdline = kernel_cmdline(config);
	vmm->n_vcpus = MAX(config->vcpus, 1);
	if (!sv_kvm_vm_open(vmm, vmm->n_vcpus, error) || !sv_kvm_cpuid_init(vmm, error) ||
	    !sv_kvm_vm_ram(vmm, config->arch, (guint64)config->memory_mib << 20, error) ||
	    !sv_kvm_boot_load(vmm, config->kernel, config->initrd, cmdline, &entry, &start_info,
			      error) ||
	    !sv_kvm_mptable_write(vmm, error))
		return FALSE;
	vmm->serial = sv_serial_new(vmm);
	vmm->console = sv_virtio_console_new(vmm);
	return sv_kvm_vcpus_create(vmm, entry, start_info, error);
}

static void report(int status_fd, const GError *e)
{
	g_autofree char *msg = e ? g_strdup_printf("%d\n%s", e->code, e->message)
				 : g_strdup("ok");
	sv_write_all_fd(status_fd, msg, strlen(msg));
	close(status_fd);
}

typedef struct Bridge {
	int client; /* the agent socket's one connected client, or -1 */
	GByteArray *to_guest;
	GByteArray *to_host;
} Bridge;

static void bridge_close(SvVmm *vmm, Bridge *b)
{
	close(b->client);
	b->client = -1;
	g_byte_array_set_size(b->to_guest, 0);
	g_byte_array_set_size(b->to_host, 0);
	g_mutex_lock(&vmm->devices);
	sv_virtio_console_host_connected(vmm->console, FALSE);
	g_mutex_unlock(&vmm->devices);
}

static void bridge_io(SvVmm *vmm, Bridge *b, short revents)
{
	gboolean gone = FALSE;
	/* read before believing a hang-up: what the client sent last counts */
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && b->to_guest->len < TO_GUEST_MAX) {
		guint8 chunk[16384];
		ssize_t n = read(b->client, chunk, sizeof(chunk));
		if (n > 0)
			g_byte_array_append(b->to_guest, chunk, (guint)n);
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			gone = TRUE;
	}
	if (!gone && (revents & POLLOUT) && b->to_host->len) {
		ssize_t n = send(b->client, b->to_host->data, b->to_host->len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			g_byte_array_remove_range(b->to_host, 0, (guint)n);
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			gone = TRUE;
	}
	if (gone)
		bridge_close(vmm, b);
}

/* Moves bytes both ways between the device and the bridge's buffers. */
static void bridge_pump(SvVmm *vmm, Bridge *b)
{
	g_mutex_lock(&vmm->devices);
	if (b->to_guest->len) {
		gsize n = sv_virtio_console_to_guest(vmm->console, b->to_guest->data,
						     b->to_guest->len);
		g_byte_array_remove_range(b->to_guest, 0, (guint)n);
	}
	sv_virtio_console_from_guest(vmm->console, b->to_host, TO_HOST_MAX);
	if (b->client < 0)
		g_byte_array_set_size(b->to_host, 0);
	g_mutex_unlock(&vmm->devices);
}

static void main_loop(SvVmm *vmm, int agent_listen, int control_listen)
{
	Bridge b = { .client = -1, .to_guest = g_byte_array_new(), .to_host = g_byte_array_new() };
	while (atomic_load(&vmm->end) == SV_VMM_RUNNING) {
		struct pollfd fds[4] = {
			{ .fd = vmm->wake_fd, .events = POLLIN },
			{ .fd = control_listen, .events = POLLIN },
			{ .fd = b.client < 0 ? agent_listen : -1, .events = POLLIN },
			{ .fd = b.client, .events = 0 },
		};
		if (b.client >= 0) {
			if (b.to_guest->len < TO_GUEST_MAX)
				fds[3].events |= POLLIN;
			if (b.to_host->len)
				fds[3].events |= POLLOUT;
		}
		if (poll(fds, G_N_ELEMENTS(fds), -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN) {
			guint64 v;
			if (read(vmm->wake_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: someone else drained it */
			}
		}
		if (fds[1].revents & POLLIN)
			sv_kvm_control_serve(vmm, control_listen);
		if (fds[2].revents & POLLIN) {
			b.client = accept4(agent_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (b.client >= 0) {
				g_mutex_lock(&vmm->devices);
				sv_virtio_console_host_connected(vmm->console, TRUE);
				g_mutex_unlock(&vmm->devices);
			}
		}
		if (b.client >= 0 && fds[3].revents)
			bridge_io(vmm, &b, fds[3].revents);
		bridge_pump(vmm, &b);
	}
	/* What the guest said last (its panic, the agent's last words) */
	if (b.client >= 0 && b.to_host->len)
		sv_write_all_fd(b.client, b.to_host->data, b.to_host->len);
}

G_NORETURN void sv_kvm_vmm_main(const SvMachine *m, const SvMachineConfig *config,
				int status_fd)
{
	SvVmm *vmm = g_new0(SvVmm, 1);
	g_autoptr(GError) error = NULL;
	g_mutex_init(&vmm->devices);
	g_mutex_init(&vmm->pause_lock);
	g_cond_init(&vmm->pause_cond);
	vmm->ram_fd = vmm->kvm_fd = vmm->vm_fd = -1;
	vmm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vmm->console_log_fd = open(m->console_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
				   0600);
	g_autofree char *control_path = g_build_filename(m->vm_dir, "control.sock", NULL);
	int agent_listen = -1, control_listen = -1;
	if (!build(vmm, config, &error) ||
	    (agent_listen = listen_unix(m->agent_socket, &error)) < 0 ||
	    (control_listen = listen_unix(control_path, &error)) < 0 ||
	    !sv_kvm_vcpus_start(vmm, &error)) {
		report(status_fd, error);
		_exit(1);
	}
	/* for a last-resort kill when the control socket does not answer */
	g_autofree char *pid_path = g_build_filename(m->vm_dir, "vmm.pid", NULL);
	g_autofree char *pid_text = g_strdup_printf("%d\n", (int)getpid());
	g_file_set_contents(pid_path, pid_text, -1, NULL);
	report(status_fd, NULL);
	main_loop(vmm, agent_listen, control_listen);

	g_mutex_lock(&vmm->devices);
	sv_serial_free(vmm->serial); /* flushes the last console line */
	vmm->serial = NULL;
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
	unlink(control_path);
	unlink(m->agent_socket);
	_exit(code);
}
