/* SPDX-License-Identifier: MIT */
/*
 * kvm-machine.c - the machine interface for the kvm backend: starting the
 * VMM process, and every other operation through its control socket, so
 * any snapvm process can act on a VM another one started.
 */
#include "host/kvm/kvm-machine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/errors.h"
#include "host/machine/machine-backend.h"
#include "snapvm/kvm-board.h"
#include "host/kvm/kvm-control.h"
#include "host/kvm/kvm-dev.h"

#define BACKEND_NAME "kvm"
#define CONTROL_TIMEOUT_MS 10000
/* loading a 65 MiB vmlinux into a fresh memfd, under nested KVM */
#define START_TIMEOUT_MS 120000

typedef struct SvKvmMachine {
	SvMachine base;
	char *vmm_control_socket; /* SV_KVM_VMM_CONTROL_SOCKET in vm_dir */
} SvKvmMachine;

static SvKvmMachine *km(SvMachine *m)
{
	return (SvKvmMachine *)m;
}

/* Whether this host can run guests of arch under KVM: the VMM has a board
 * for the arch (SvArchOps.kvm), the arch is the host's and /dev/kvm opens. */
static gboolean kvm_available(const SvArchOps *arch, GError **error)
{
	if (!arch->kvm) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "--accel kvm: snapvm's KVM VMM has no board for %s guests; use "
			    "--accel tcg",
			    arch->name);
		return FALSE;
	}
	/* KVM runs guests of the host's own arch. */
	if (sv_arch_host() != arch) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "--accel kvm runs %s guests on an %s host only (this is a %s "
			    "guest on a %s host); use --accel tcg",
			    arch->name, arch->name, arch->name, sv_arch_host()->name);
		return FALSE;
	}
	int fd = sv_kvm_dev_open("--accel kvm", error);
	if (fd < 0)
		return FALSE;
	close(fd);
	return TRUE;
}

/* Can this host's KVM present the whole portable CPU model of arch's board
 * (so that what runs under it restores under TCG and elsewhere)? */
static gboolean kvm_offers_cpu_model(const SvArchOps *arch, GError **error)
{
	int fd = sv_kvm_dev_open("--accel kvm", error);
	if (fd < 0)
		return FALSE;
	gboolean ok = arch->kvm->offers_cpu_model(fd, error);
	close(fd);
	return ok;
}

static gboolean call(SvMachine *m, const char *req, char **ret_payload, GError **error)
{
	return sv_kvm_control_call(km(m)->vmm_control_socket, req, CONTROL_TIMEOUT_MS, ret_payload,
				   error);
}

static gboolean kvm_pause(SvMachine *m, GError **error)
{
	return call(m, "pause", NULL, error);
}

static gboolean kvm_resume(SvMachine *m, GError **error)
{
	return call(m, "resume", NULL, error);
}

static void kill_by_pid_file(SvMachine *m)
{
	g_autofree char *path = g_build_filename(m->vm_dir, "vmm.pid", NULL);
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return;
	gint64 pid = g_ascii_strtoll(text, NULL, 10);
	if (pid > 1)
		kill((pid_t)pid, SIGKILL);
}

static gboolean kvm_stop(SvMachine *m, GError **error)
{
	g_autoptr(GError) local = NULL;
	if (call(m, "stop", NULL, &local))
		return TRUE;
	if (g_error_matches(local, SV_ERROR, SV_ERROR_PEER_GONE))
		return TRUE; /* already gone */
	if (g_error_matches(local, SV_ERROR, SV_ERROR_TIMEOUT)) {
		/* a VMM that no longer answers is ended the hard way */
		kill_by_pid_file(m);
		return TRUE;
	}
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

static SvMachineState kvm_get_state(SvMachine *m, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *state = NULL;
	if (!call(m, "state", &state, &local)) {
		if (g_error_matches(local, SV_ERROR, SV_ERROR_PEER_GONE))
			return SV_MACHINE_STOPPED;
		g_propagate_error(error, g_steal_pointer(&local));
		return SV_MACHINE_OTHER;
	}
	if (!strcmp(state, "running"))
		return SV_MACHINE_RUNNING;
	if (!strcmp(state, "paused"))
		return SV_MACHINE_PAUSED;
	return SV_MACHINE_OTHER;
}

static SvGuestMem *kvm_map_ram(SvMachine *m, GError **error)
{
	g_autofree char *reply = NULL;
	if (!call(m, "ram", &reply, error))
		return NULL;
	/* "/proc/PID/fd/N SIZE": the VMM's memfd, opened through its fd link */
	char *space = strchr(reply, ' ');
	guint64 size = space ? g_ascii_strtoull(space + 1, NULL, 10) : 0;
	if (!space || !size) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "bad RAM reply from the VMM: %s",
			    reply);
		return NULL;
	}
	*space = '\0';
	/* as the VMM laid it out (kvm-vm.c) */
	SvRamRegion regions[SV_RAM_REGIONS_MAX];
	guint n = m->arch->kvm->ram_layout(size, regions);
	return sv_guest_mem_open(reply, regions, n, error);
}

static gboolean kvm_read_vcpu_regs(SvMachine *m, guint cpu, SvVcpuRegs *ret_regs, GError **error)
{
	g_autofree char *req = g_strdup_printf("regs %u", cpu);
	g_autofree char *text = NULL;
	if (!call(m, req, &text, error))
		return FALSE;
	return sv_kvm_regs_decode(text, ret_regs, error);
}

/* "none", or "PREVIOUS_MARK FILE" (host/kvm/dirty-log.c) */
static gboolean kvm_dirty_log(SvMachine *m, const char *mark, char **ret_prev_mark,
			      GBytes **ret_bits, GError **error)
{
	g_autofree char *req = g_strdup_printf("dirty-log %s", mark);
	g_autofree char *reply = NULL;
	if (!call(m, req, &reply, error))
		return FALSE;
	*ret_prev_mark = NULL;
	*ret_bits = NULL;
	if (!strcmp(reply, "none"))
		return TRUE;
	char *space = strchr(reply, ' ');
	if (!space || space == reply) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "bad dirty-log reply from the VMM: %.80s", reply);
		return FALSE;
	}
	*space = '\0';
	g_autoptr(GMappedFile) f = g_mapped_file_new(space + 1, FALSE, NULL);
	if (!f) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "the VMM's dirty log %s: %s",
			    space + 1, g_strerror(errno));
		return FALSE;
	}
	*ret_bits = g_mapped_file_get_bytes(f);
	*ret_prev_mark = g_strdup(reply);
	return TRUE;
}

static void kvm_release_control(SvMachine *m)
{
	/* nothing held between operations */
}

static void kvm_free_backend(SvMachine *m)
{
	g_free(km(m)->vmm_control_socket);
}

static const SvMachineOps kvm_machine_ops = {
	.backend = BACKEND_NAME,
	.pause = kvm_pause,
	.resume = kvm_resume,
	.stop = kvm_stop,
	.get_state = kvm_get_state,
	.map_ram = kvm_map_ram,
	.read_vcpu_regs = kvm_read_vcpu_regs,
	.dirty_log = kvm_dirty_log,
	.release_control = kvm_release_control,
	.free_backend = kvm_free_backend,
};

static void kvm_machine_opened(SvMachine *m)
{
	/* a connect URI is libvirt's: none here */
	g_clear_pointer(&m->connect_uri, g_free);
	km(m)->vmm_control_socket = g_build_filename(m->vm_dir, SV_KVM_VMM_CONTROL_SOCKET, NULL);
}

/* Reads the VMM's set-up report until it closes the pipe. */
static gboolean read_report(int fd, GError **error)
{
	GString *s = g_string_new(NULL);
	gint64 deadline = g_get_monotonic_time() + (gint64)START_TIMEOUT_MS * 1000;
	char buf[1024];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			g_string_append_len(s, buf, n);
			continue;
		}
		if (n < 0 && errno == EINTR && g_get_monotonic_time() < deadline)
			continue;
		break;
	}
	g_autofree char *text = g_string_free(s, FALSE);
	if (!strcmp(text, "ok"))
		return TRUE;
	char *nl = strchr(text, '\n');
	if (!nl) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
			    "the kvm VMM process died while building the VM");
		return FALSE;
	}
	*nl = '\0';
	g_set_error_literal(error, SV_ERROR, (gint)g_ascii_strtoll(text, NULL, 10), nl + 1);
	return FALSE;
}

/* Forks the VMM process and waits until it has built the VM (or says why
 * it could not). */
static gboolean kvm_machine_create(SvMachine *m, const SvMachineConfig *config, GError **error)
{
	if (!kvm_available(config->arch, error))
		return FALSE;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "pipe: %s", g_strerror(errno));
		return FALSE;
	}
	pid_t pid = fork();
	if (pid < 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_FAILED, "fork: %s", g_strerror(errno));
		close(p[0]);
		close(p[1]);
		return FALSE;
	}
	if (pid == 0) {
		/* Twice, so the VMM is nobody's child to wait for: it outlives a
		 * `run --detach` and leaves no zombie in any caller. Only stdio
		 * and the report pipe stay open: an inherited agent socket would
		 * keep a dead channel looking alive. */
		setsid();
		if (fork() != 0)
			_exit(0);
		if (dup2(p[1], 3) < 0)
			_exit(1);
		close_range(4, ~0u, 0);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			close(null);
		}
		signal(SIGCHLD, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		sigset_t unblock;
		sigemptyset(&unblock);
		sigaddset(&unblock, SIGTERM);
		sigprocmask(SIG_UNBLOCK, &unblock, NULL);
		sv_kvm_vmm_main(m, config, 3);
	}
	close(p[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	gboolean ok = read_report(p[0], error);
	close(p[0]);
	return ok;
}

/* The portable CPU model, named or not, is what the VMM presents (the
 * board's, cut to what the host's KVM offers). */
static gboolean portable_cpu(const SvMachineConfig *config)
{
	return !config->cpu_model || !strcmp(config->cpu_model, config->arch->qemu->default_cpu);
}

/* The VMM's disk is a virtio-mmio device the board describes to the guest
 * (x86_64: in its ACPI DSDT), at the board's place for one. */
static gboolean disk_possible(const SvMachineConfig *config, GError **error)
{
	if (!config->arch->kvm->virtio_mmio_base) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "--accel kvm cannot give this guest its root filesystem image "
			    "(--image NAME): the KVM VMM's %s board has no place for a disk; use "
			    "--accel tcg",
			    config->arch->name);
		return FALSE;
	}
	return TRUE;
}

static gboolean kvm_backend_available(const SvMachineConfig *config, GError **error)
{
	if (!kvm_available(config->arch, error))
		return FALSE;
	if (config->disk && !disk_possible(config, error))
		return FALSE;
	if (!portable_cpu(config)) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "--accel kvm presents only the portable CPU model (%s, as far "
			    "as the host's KVM offers it); --cpu %s needs --accel tcg",
			    config->arch->qemu->default_cpu, config->cpu_model);
		return FALSE;
	}
	return TRUE;
}

/* A nested or old KVM that offers less than the whole portable model runs
 * slower than it should and makes snapshots of a lesser CPU: --accel auto
 * takes QEMU then. */
static gboolean kvm_backend_preferred(const SvMachineConfig *config)
{
	return kvm_offers_cpu_model(config->arch, NULL);
}

const SvMachineBackend sv_kvm_backend = {
	.name = BACKEND_NAME,
	.accel = "kvm",
	.portable_cpu_only = TRUE,
	.available = kvm_backend_available,
	.preferred = kvm_backend_preferred,
	.instance_size = sizeof(SvKvmMachine),
	.ops = &kvm_machine_ops,
	.opened = kvm_machine_opened,
	.create = kvm_machine_create,
};
