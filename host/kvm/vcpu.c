/* SPDX-License-Identifier: MIT */
/*
 * vcpu.c - one thread per vCPU: KVM_RUN, port exits to the device models,
 * pausing, and reading registers (through the board).
 *
 * Pausing: the main thread sets pause_requested, sets immediate_exit in
 * every vCPU's kvm_run and sends each thread SIGUSR1, so a thread inside
 * KVM_RUN returns at once with EINTR and one about to enter it does not
 * enter (immediate_exit closes that race). Each thread then parks on a
 * condition until resumed. Registers are read while parked.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "base/errors.h"
#include "host/kvm/vmm-process.h"

static void kick_handler(int sig)
{
}

gboolean sv_kvm_vcpus_create(SvVmm *vmm, GError **error)
{
	int run_size = ioctl(vmm->vm.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "KVM_GET_VCPU_MMAP_SIZE: %s",
			    g_strerror(errno));
		return FALSE;
	}
	vmm->vcpus = g_new0(SvVcpu, vmm->vm.n_vcpus);
	for (guint i = 0; i < vmm->vm.n_vcpus; i++) {
		SvVcpu *v = &vmm->vcpus[i];
		v->vmm = vmm;
		v->index = i;
		v->fd = ioctl(vmm->vm.vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "KVM_CREATE_VCPU %u: %s", i,
				    g_strerror(errno));
			return FALSE;
		}
		v->run_size = (gsize)run_size;
		v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "mmap of vCPU %u: %s", i,
				    g_strerror(errno));
			return FALSE;
		}
		if (!vmm->board->setup_vcpu(&vmm->vm, v->fd, i, error))
			return FALSE;
	}
	return TRUE;
}

static void park_if_paused(SvVcpu *v)
{
	SvVmm *vmm = v->vmm;
	g_mutex_lock(&vmm->pause_lock);
	if (vmm->pause_requested) {
		vmm->n_parked++;
		g_cond_broadcast(&vmm->pause_cond);
		while (vmm->pause_requested && !atomic_load(&vmm->end))
			g_cond_wait(&vmm->pause_cond, &vmm->pause_lock);
		vmm->n_parked--;
	}
	v->run->immediate_exit = 0;
	g_mutex_unlock(&vmm->pause_lock);
}

SvSerial *sv_kvm_uart_at(SvVmm *vmm, guint16 port)
{
	if (sv_serial_owns(vmm->console, port))
		return vmm->console;
	if (sv_serial_owns(vmm->agent.uart, port))
		return vmm->agent.uart;
	if (sv_serial_owns(vmm->agent_control.uart, port))
		return vmm->agent_control.uart;
	return NULL;
}

static void handle_io(SvVcpu *v)
{
	SvVmm *vmm = v->vmm;
	struct kvm_run *run = v->run;
	guint8 *data = (guint8 *)run + run->io.data_offset;
	gboolean is_write = run->io.direction == KVM_EXIT_IO_OUT;
	guint16 port = run->io.port;
	for (guint i = 0; i < run->io.count; i++, data += run->io.size) {
		SvSerial *uart = sv_kvm_uart_at(vmm, port);
		if (uart && run->io.size == 1) {
			g_mutex_lock(&vmm->devices);
			sv_serial_io(uart, port, is_write, data);
			g_mutex_unlock(&vmm->devices);
			continue;
		}
		if (is_write) {
			/* a reset ends the VM, as QEMU's -action reboot=shutdown
			 * does for the qemu backend (the agent ends guests with a
			 * restart) */
			if (vmm->board->port_write_resets(port, data[0]))
				sv_vmm_end(vmm, SV_VMM_POWEROFF, NULL);
			continue;
		}
		/* no device: what the board's bus gives */
		memset(data, vmm->board->port_read_idle(port), run->io.size);
	}
}

/* The disk's registers (disk.c); elsewhere no MMIO device beyond the
 * board's in-kernel ones: reads float high. */
static void handle_mmio(SvVcpu *v)
{
	struct kvm_run *run = v->run;
	guint32 len = MIN(run->mmio.len, (guint32)sizeof(run->mmio.data));
	if (sv_kvm_disk_mmio(v->vmm, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write))
		return;
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
}

/* The named registers, four to a line, for the console log. */
static char *regs_for_people(const SvVcpuRegs *regs)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < regs->count; i++)
		g_string_append_printf(s, "%s=%016" G_GINT64_MODIFIER "x%s", regs->regs[i].name,
				       regs->regs[i].value,
				       i % 4 == 3 || i + 1 == regs->count ? "\n" : " ");
	return g_string_free(s, FALSE);
}

static void fail(SvVcpu *v, const char *what)
{
	g_autoptr(GError) e = NULL;
	g_autofree SvVcpuRegs *regs = g_new0(SvVcpuRegs, 1);
	g_autofree char *regs_text = sv_kvm_vcpu_regs(v->vmm, v->index, regs, &e)
					     ? regs_for_people(regs)
					     : NULL;
	g_autofree char *text = g_strdup_printf("guest %s on vCPU %u; its registers:\n%s", what,
						v->index, regs_text ? regs_text : e->message);
	sv_vmm_end(v->vmm, SV_VMM_FAILED, text);
}

static void *vcpu_thread(void *data)
{
	SvVcpu *v = data;
	SvVmm *vmm = v->vmm;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!atomic_load(&vmm->end)) {
		/* Parked only after a KVM_RUN that returned EINTR: KVM finishes
		 * the port or MMIO access of the last exit when it is entered
		 * again (immediate_exit lets it do that and nothing more), so a
		 * parked vCPU's registers are never halfway through an
		 * instruction. */
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				park_if_paused(v);
				continue;
			}
			g_autofree char *msg = g_strdup_printf("KVM_RUN failed: %s",
							       g_strerror(errno));
			fail(v, msg);
			break;
		}
		switch (v->run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(v);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(v);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			fail(v, "triple fault (KVM_EXIT_SHUTDOWN)");
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			sv_vmm_end(vmm, SV_VMM_POWEROFF, NULL);
			break;
		case KVM_EXIT_FAIL_ENTRY: {
			g_autofree char *msg =
				g_strdup_printf("entry failure (hardware reason 0x%llx)",
						(unsigned long long)v->run->fail_entry
							.hardware_entry_failure_reason);
			fail(v, msg);
			break;
		}
		case KVM_EXIT_INTERNAL_ERROR: {
			g_autofree char *msg = g_strdup_printf("KVM internal error %u",
							       v->run->internal.suberror);
			fail(v, msg);
			break;
		}
		default: {
			g_autofree char *msg = g_strdup_printf("unexpected KVM exit %u",
							       v->run->exit_reason);
			fail(v, msg);
			break;
		}
		}
	}
	return NULL;
}

gboolean sv_kvm_vcpus_start(SvVmm *vmm, GError **error)
{
	struct sigaction sa = { .sa_handler = kick_handler }; /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	for (guint i = 0; i < vmm->vm.n_vcpus; i++) {
		int e = pthread_create(&vmm->vcpus[i].thread, NULL, vcpu_thread, &vmm->vcpus[i]);
		if (e) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "vCPU thread: %s",
				    g_strerror(e));
			return FALSE;
		}
		vmm->vcpus[i].started = TRUE;
	}
	return TRUE;
}

void sv_kvm_vcpus_pause(SvVmm *vmm)
{
	g_mutex_lock(&vmm->pause_lock);
	vmm->pause_requested = TRUE;
	for (guint i = 0; i < vmm->vm.n_vcpus; i++) {
		vmm->vcpus[i].run->immediate_exit = 1;
		if (vmm->vcpus[i].started)
			pthread_kill(vmm->vcpus[i].thread, SIGUSR1);
	}
	while (vmm->n_parked < vmm->vm.n_vcpus && !atomic_load(&vmm->end)) {
		gint64 deadline = g_get_monotonic_time() + 50 * G_TIME_SPAN_MILLISECOND;
		/* re-kick: a signal can land before a thread blocks it in */
		if (!g_cond_wait_until(&vmm->pause_cond, &vmm->pause_lock, deadline)) {
			for (guint i = 0; i < vmm->vm.n_vcpus; i++)
				pthread_kill(vmm->vcpus[i].thread, SIGUSR1);
		}
	}
	g_mutex_unlock(&vmm->pause_lock);
}

void sv_kvm_vcpus_resume(SvVmm *vmm)
{
	g_mutex_lock(&vmm->pause_lock);
	vmm->pause_requested = FALSE;
	g_cond_broadcast(&vmm->pause_cond);
	g_mutex_unlock(&vmm->pause_lock);
}

gboolean sv_kvm_vcpus_paused(SvVmm *vmm)
{
	g_mutex_lock(&vmm->pause_lock);
	gboolean p = vmm->pause_requested;
	g_mutex_unlock(&vmm->pause_lock);
	return p;
}

gboolean sv_kvm_vcpu_regs(SvVmm *vmm, guint index, SvVcpuRegs *out, GError **error)
{
	if (index >= vmm->vm.n_vcpus) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "no vCPU %u (the VM has %u)",
			    index, vmm->vm.n_vcpus);
		return FALSE;
	}
	return vmm->board->read_vcpu_regs(vmm->vcpus[index].fd, index, out, error);
}
