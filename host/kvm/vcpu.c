/* SPDX-License-Identifier: MIT */
/*
 * vcpu.c - one thread per vCPU: KVM_RUN, port exits to the device models,
 * pausing, and register dumps.
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

/* No MMIO devices beyond the board's in-kernel ones: reads float high. */
static void handle_mmio(SvVcpu *v)
{
	struct kvm_run *run = v->run;
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
}

static void fail(SvVcpu *v, const char *what)
{
	g_autoptr(GError) e = NULL;
	g_autofree char *regs = sv_kvm_vcpu_dump(v->vmm, v->index, &e);
	g_autofree char *text = g_strdup_printf("guest %s on vCPU %u; its registers:\n%s", what,
						v->index, regs ? regs : e->message);
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
			g_autofree char *msg = g_strdup_printf(
				"entry failure (hardware reason 0x%llx)",
				(unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
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
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "vCPU thread: %s", g_strerror(e));
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

/* QEMU's segment "flags": the descriptor's high dword bits 8-23. */
static guint32 seg_flags(const struct kvm_segment *s)
{
	return (guint32)s->type << 8 | (guint32)s->s << 12 | (guint32)s->dpl << 13 |
	       (guint32)s->present << 15 | (guint32)s->avl << 20 | (guint32)s->l << 21 |
	       (guint32)s->db << 22 | (guint32)s->g << 23;
}

static void dump_seg(GString *out, const char *name, const struct kvm_segment *s)
{
	g_string_append_printf(out, "%-3s=%04x %016llx %08x %08x DPL=%u\n", name, s->selector,
			       (unsigned long long)s->base, s->limit, seg_flags(s), s->dpl);
}

/*
 * The register dump in the layout of QEMU's "info registers"
 * (target/i386/cpu-dump.c), so the arch's monitor parser gives the same
 * names for both backends. General registers from KVM_GET_REGS, system
 * registers from KVM_GET_SREGS, x87/SSE/AVX from KVM_GET_XSAVE.
 */
char *sv_kvm_vcpu_dump(SvVmm *vmm, guint index, GError **error)
{
	if (index >= vmm->vm.n_vcpus) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_FOUND, "no vCPU %u (the VM has %u)", index,
			    vmm->vm.n_vcpus);
		return NULL;
	}
	int fd = vmm->vcpus[index].fd;
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_debugregs d = { 0 };
	struct kvm_mp_state mp = { 0 };
	g_autofree struct kvm_xsave *x = g_new0(struct kvm_xsave, 1);
	if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS, &s) < 0 ||
	    ioctl(fd, KVM_GET_XSAVE, x) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "reading vCPU %u's registers: %s",
			    index, g_strerror(errno));
		return NULL;
	}
	ioctl(fd, KVM_GET_DEBUGREGS, &d);
	ioctl(fd, KVM_GET_MP_STATE, &mp);
	/* XCR0: which XSAVE components the guest enabled (KVM_CAP_XCRS,
	 * checked with the other capabilities) */
	struct kvm_xcrs xcrs = { 0 };
	guint64 xcr0 = 0;
	if (ioctl(fd, KVM_GET_XCRS, &xcrs) == 0) {
		for (guint i = 0; i < xcrs.nr_xcrs && i < G_N_ELEMENTS(xcrs.xcrs); i++)
			if (xcrs.xcrs[i].xcr == 0)
				xcr0 = xcrs.xcrs[i].value;
	}
	GString *o = g_string_new(NULL);
	g_string_append_printf(o,
			       "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
			       "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
			       "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
			       "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n",
			       r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9,
			       r.r10, r.r11, r.r12, r.r13, r.r14, r.r15);
	g_string_append_printf(o, "RIP=%016llx RFL=%08llx CPL=%u II=0 A20=1 SMM=0 HLT=%d\n",
			       r.rip, r.rflags, s.cs.dpl, mp.mp_state == KVM_MP_STATE_HALTED);
	dump_seg(o, "ES", &s.es);
	dump_seg(o, "CS", &s.cs);
	dump_seg(o, "SS", &s.ss);
	dump_seg(o, "DS", &s.ds);
	dump_seg(o, "FS", &s.fs);
	dump_seg(o, "GS", &s.gs);
	dump_seg(o, "LDT", &s.ldt);
	dump_seg(o, "TR", &s.tr);
	g_string_append_printf(o, "GDT=     %016llx %08x\nIDT=     %016llx %08x\n",
			       s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
	g_string_append_printf(o, "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx\n", s.cr0,
			       s.cr2, s.cr3, s.cr4);
	g_string_append_printf(o,
			       "DR0=%016llx DR1=%016llx DR2=%016llx DR3=%016llx\n"
			       "DR6=%016llx DR7=%016llx\nEFER=%016llx\n",
			       d.db[0], d.db[1], d.db[2], d.db[3], d.dr6, d.dr7, s.efer);
	/* FXSAVE legacy area: FCW 0, FSW 2, abridged FTW 4, MXCSR 24,
	 * ST0-7 at 32 (16 bytes apart), XMM0-15 at 160; YMM_Hi128 at 576
	 * (standard format: KVM_GET_XSAVE never compacts) */
	const guint8 *fx = (const guint8 *)x->region;
	guint16 fcw, fsw;
	guint32 mxcsr;
	memcpy(&fcw, fx, 2);
	memcpy(&fsw, fx + 2, 2);
	memcpy(&mxcsr, fx + 24, 4);
	guint top = (fsw >> 11) & 7;
	g_string_append_printf(o, "FCW=%04x FSW=%04x [ST=%u] FTW=%02x MXCSR=%08x\n", fcw, fsw,
			       top, fx[4], mxcsr);
	/* QEMU numbers the x87 registers physically (FPRn is ST((n-TOP)&7)),
	 * the XSAVE image by stack position */
	for (guint i = 0; i < 8; i++) {
		const guint8 *st = fx + 32 + 16 * ((i - top) & 7);
		guint64 mant;
		guint16 exp;
		memcpy(&mant, st, 8);
		memcpy(&exp, st + 8, 2);
		g_string_append_printf(o, "FPR%u=%016" G_GINT64_MODIFIER "x %04x%s", i, mant, exp,
				       i % 2 ? "\n" : " ");
	}
	/* As QEMU: YMM (four quadwords, high first) once the guest enabled
	 * AVX in XCR0, so the upper halves reach the snapshot; XMM before. */
	gboolean avx = (xcr0 & 0x4) != 0;
	for (guint i = 0; i < 16; i++) {
		guint64 q[4];
		memcpy(q, fx + 160 + 16 * i, 16);
		memcpy(q + 2, fx + 576 + 16 * i, 16);
		if (avx)
			g_string_append_printf(o,
					       "YMM%02u=%016" G_GINT64_MODIFIER "x %016" G_GINT64_MODIFIER
					       "x %016" G_GINT64_MODIFIER "x %016" G_GINT64_MODIFIER
					       "x\n",
					       i, q[3], q[2], q[1], q[0]);
		else
			g_string_append_printf(o,
					       "XMM%02u=%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER
					       "x%s",
					       i, q[1], q[0], i % 2 ? "\n" : " ");
	}
	return g_string_free(o, FALSE);
}
