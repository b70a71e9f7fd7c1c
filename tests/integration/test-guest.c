/* SPDX-License-Identifier: MIT */
/*
 * test-guest --arch ARCH: one real guest of ARCH booted under TCG through
 * libvirt, shared by the tests below, which run in order:
 * handshake, workloads, agent /proc view, guest-physical reads, the
 * guest's clock against the host's on a loaded host, pause and vCPU
 * registers, a second snapvm process, garbage on the channel, and a
 * guest that dies under a waiting client.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "tests/integration/guest-fixture.h"
#include "tests/lib/test-hooks-client.h"
#include "tests/test-paths.h"
#include "base/errors.h"
#include "host/image/image.h"
#include "host/introspect/introspect.h"
#include "base/kallsyms.h"
#include "host/introspect/page-walk.h"

static const char *arch_name = "x86_64";
static SvTestGuest *guest;
/* A second host connection, on the agent's control port (agent/control-port). */
static SvAgentClient *control;

static const char *const workloads[] = { "counter", "fpu",	 "tls", "memory",
					 "sleeper", "blockread", NULL };

static void require_guest(void)
{
	if (!guest)
		g_test_fail_printf("the %s guest did not boot (see the first test)", arch_name);
}

static void test_boot(void)
{
	g_autoptr(GError) error = NULL;
	guest = sv_test_guest_boot(arch_name, workloads, &error);
	g_assert_no_error(error);
	g_assert_nonnull(guest);
	g_test_message("%s: machine start to agent handshake: %.0f ms", arch_name, guest->boot_ms);
	g_assert_cmpstr(guest->info.machine, ==, arch_name);
	g_autoptr(SvImage) image = sv_image_open(guest->arch, NULL, &error);
	g_assert_cmpstr(guest->info.kernel_release, ==, image->kernel_release);
}

static char *guest_path(const char *workload)
{
	return g_strdup_printf("/workload/%s-%s", workload, arch_name);
}

/* The counter's output depends on nothing arch-specific, so the host's own
 * x86_64 build of it is the oracle for every guest arch. */
static void test_counter_matches_native(void)
{
	require_guest();
	g_autofree char *native = sv_test_workload("counter", "x86_64");
	const char *host_argv[] = { native, "20", "0", NULL };
	g_autofree char *expected = sv_test_host_output(host_argv);
	g_autofree char *path = guest_path("counter");
	const char *argv[] = { path, "20", "0", NULL };
	int status = -1;
	g_autoptr(GError) error = NULL;
	g_autofree char *got = sv_test_guest_run(guest, argv, &status, &error);
	g_assert_no_error(error);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_assert_cmpstr(got, ==, expected);
	g_assert_cmpuint(strlen(got), >, 0);
}

/* Every workload runs to a clean exit with exactly the output of the host's
 * native x86_64 build: the workloads print nothing arch-specific (the fpu
 * one does the same IEEE operations in AVX and in NEON), so this holds for
 * every guest arch. */
static void test_all_workloads(void)
{
	require_guest();
	for (const char *const *w = workloads; *w; w++) {
		g_autofree char *path = guest_path(*w);
		const char *argv[] = { path, NULL };
		int status = -1;
		g_autoptr(GError) error = NULL;
		g_autofree char *got = sv_test_guest_run(guest, argv, &status, &error);
		g_assert_no_error(error);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			g_error("%s exited with wait status 0x%x, output:\n%s", *w, status, got);
		g_assert_cmpuint(strlen(got), >, 0);
		g_autofree char *native = sv_test_workload(*w, "x86_64");
		const char *host_argv[] = { native, NULL };
		g_autofree char *expected = sv_test_host_output(host_argv);
		g_assert_cmpstr(got, ==, expected);
	}
}

static void test_exit_status_and_signal(void)
{
	require_guest();
	g_autoptr(GError) error = NULL;
	int status = -1;
	const char *exit7[] = { "/bin/busybox", "sh", "-c", "echo bye; exit 7", NULL };
	g_autofree char *out = sv_test_guest_run(guest, exit7, &status, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(out, ==, "bye\n");
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 7);
	const char *killed[] = { "/bin/busybox", "sh", "-c", "kill -9 $$", NULL };
	g_autofree char *out2 = sv_test_guest_run(guest, killed, &status, &error);
	g_assert_no_error(error);
	g_assert_true(WIFSIGNALED(status));
	g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);
}

static void test_run_missing_program(void)
{
	require_guest();
	const char *argv[] = { "/workload/does-not-exist", NULL };
	guint32 pid;
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_agent_client_run(guest->agent, argv, 0, &pid, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_AGENT);
	g_assert_nonnull(strstr(error->message, "/workload/does-not-exist"));
}

static void test_ps_sees_init_and_workload(void)
{
	require_guest();
	g_autofree char *path = guest_path("sleeper");
	const char *argv[] = { path, "1000", "50", NULL };
	guint32 pid;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_agent_client_run(guest->agent, argv, 0, &pid, &error));
	g_autoptr(GArray) procs = sv_agent_client_ps(guest->agent, &error);
	g_assert_no_error(error);
	gboolean saw_init = FALSE, saw_sleeper = FALSE;
	for (guint i = 0; i < procs->len; i++) {
		SvGuestProcess *p = &g_array_index(procs, SvGuestProcess, i);
		saw_init |= p->pid == 1;
		if (p->pid == pid) {
			saw_sleeper = TRUE;
			g_assert_cmpuint(p->ppid, ==, 1);
			g_assert_true(g_str_has_prefix(p->comm, "sleeper"));
			g_assert_cmpuint(p->rss_kib, >, 0);
		}
	}
	g_assert_true(saw_init);
	g_assert_true(saw_sleeper);
	/* stop it through the guest's own kill; its EXIT may come before or
	 * after the kill command's own */
	g_autofree char *kill_cmd = g_strdup_printf("kill %u", pid);
	const char *kill_argv[] = { "/bin/busybox", "sh", "-c", kill_cmd, NULL };
	guint32 kill_pid;
	g_assert_true(sv_agent_client_run(guest->agent, kill_argv, 0, &kill_pid, &error));
	for (;;) {
		g_auto(SvAgentFrame) f = { 0 };
		g_assert_true(sv_agent_client_recv(guest->agent, 60000, &f, &error));
		gsize len;
		const guint8 *p = g_bytes_get_data(f.payload, &len);
		if (f.type == SV_MSG_EXIT && len >= 8 && sv_get_le32(p) == pid) {
			g_assert_true(WIFSIGNALED(sv_get_le32(p + 4)));
			g_assert_cmpint(WTERMSIG(sv_get_le32(p + 4)), ==, SIGTERM);
			break;
		}
	}
}

/* The agent writes a known pattern into its own memory and reports the
 * guest-physical address of each page; the host reads the same bytes
 * through the guest-physical accessor. */
static void test_guest_physical_read(void)
{
	require_guest();
	const guint64 seed = g_test_rand_int();
	const guint32 npages = 64;
	guint64 vaddr;
	guint32 page_size;
	g_autoptr(GArray) phys = NULL;
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_agent_client_mempattern(guest->agent, seed, npages, &vaddr, &page_size,
						 &phys, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(page_size, ==, guest->arch->page_size);
	g_autoptr(SvGuestMem) mem = sv_machine_map_ram(guest->machine, &error);
	g_assert_no_error(error);
	sv_machine_release_control(guest->machine);
	g_assert_cmpuint(sv_guest_mem_size(mem), ==, 512ull << 20);
	g_autofree guint8 *page = g_malloc(page_size);
	for (guint32 i = 0; i < npages; i++) {
		guint64 pa = g_array_index(phys, guint64, i);
		g_assert_cmphex(pa, !=, 0);
		g_assert_true(sv_guest_mem_read(mem, sv_gpa(pa), page, page_size, &error));
		for (guint32 b = 0; b < page_size; b++) {
			guint8 want = sv_pattern_byte(seed, (guint64)i * page_size + b);
			if (page[b] != want)
				g_error("page %u (gpa 0x%" G_GINT64_MODIFIER
					"x) byte %u: host read "
					"0x%02x, agent wrote 0x%02x",
					i, pa, b, page[b], want);
		}
	}
	g_test_message("%u pages at guest va 0x%" G_GINT64_MODIFIER
		       "x read back through guest-physical "
		       "memory",
		       npages, vaddr);
}

static void test_pause_resume_registers(void)
{
	require_guest();
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_machine_pause(guest->machine, &error));
	g_assert_cmpint(sv_machine_get_state(guest->machine, &error), ==, SV_MACHINE_PAUSED);
	SvVcpuRegs regs;
	/* a few reads, timed; each leaves the VM paused and nothing of the
	 * means (qemu: a gdbstub socket) behind */
	for (guint i = 0; i < 5; i++) {
		gint64 t0 = g_get_monotonic_time();
		g_assert_true(sv_machine_read_vcpu_regs(guest->machine, 0, &regs, &error));
		g_assert_no_error(error);
		g_test_message("vCPU 0 registers read in %.1f ms",
			       (g_get_monotonic_time() - t0) / 1000.0);
		g_assert_cmpint(sv_machine_get_state(guest->machine, &error), ==,
				SV_MACHINE_PAUSED);
		g_autofree char *stub = g_build_filename(guest->machine->vm_dir, "gdb.sock", NULL);
		g_assert_false(g_file_test(stub, G_FILE_TEST_EXISTS));
	}
	g_assert_cmphex(regs.pc, !=, 0);
	g_assert_cmpuint(regs.count, >=, 17);
	/* an idle guest sits in the kernel: PC is a kernel address */
	g_test_message("vCPU 0: pc 0x%" G_GINT64_MODIFIER "x sp 0x%" G_GINT64_MODIFIER
		       "x user=%d, %u registers",
		       regs.pc, regs.sp, regs.user_mode, regs.count);
	/* paused means paused: the agent cannot answer */
	guint32 tag;
	g_assert_true(sv_agent_client_send(guest->agent, SV_MSG_PS, NULL, 0, &tag, &error));
	SvAgentFrame f = { 0 };
	g_assert_false(sv_agent_client_wait_reply(guest->agent, tag, SV_MSG_PS_REPLY, 1500, &f,
						  &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_TIMEOUT);
	g_clear_error(&error);
	g_assert_true(sv_machine_resume(guest->machine, &error));
	g_assert_cmpint(sv_machine_get_state(guest->machine, &error), ==, SV_MACHINE_RUNNING);
	sv_machine_release_control(guest->machine);
	/* the reply to the request made while paused arrives now */
	g_assert_true(sv_agent_client_wait_reply(guest->agent, tag, SV_MSG_PS_REPLY, 30000, &f,
						 &error));
	g_assert_no_error(error);
	sv_agent_frame_clear(&f);
}

/* A second snapvm process controls the VM while this one holds the agent
 * channel: `snapvm list` sees it, and pauses do not disturb the stream. */
static void test_second_process(void)
{
	require_guest();
	g_autofree char *snapvm = sv_test_build_path("host/snapvm");
	const char *argv[] = { snapvm, "list", "--json", NULL };
	g_autofree char *out = sv_test_host_output(argv);
	g_autofree char *want = g_strdup_printf("\"name\" : \"%s\"", guest->machine->name);
	g_assert_nonnull(strstr(out, want));
	g_assert_nonnull(strstr(out, "\"state\" : \"running\""));
}

/* Waits on the main channel for pid's next output (or its exit, if want_exit);
 * output of pid is appended to out if given. */
static void wait_for_pid_frame(guint32 pid, gboolean want_exit, GString *out)
{
	for (;;) {
		g_auto(SvAgentFrame) f = { 0 };
		g_autoptr(GError) error = NULL;
		g_assert_true(sv_agent_client_recv(guest->agent, 120000, &f, &error));
		g_assert_no_error(error);
		guint32 from, stream, n;
		const guint8 *bytes;
		int status;
		if (f.type == SV_MSG_OUTPUT &&
		    sv_agent_frame_parse_output(&f, &from, &stream, &bytes, &n, NULL) &&
		    from == pid) {
			if (out && stream == 1)
				g_string_append_len(out, (const char *)bytes, n);
			if (!want_exit)
				return;
		}
		if (f.type == SV_MSG_EXIT && sv_agent_frame_parse_exit(&f, &from, &status, NULL) &&
		    from == pid) {
			g_assert_true(want_exit);
			g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			return;
		}
	}
}

/* While a workload streams its output on the main port, a second client on
 * the control port is served (HELLO, PS), and so is `snapvm ps --source
 * agent`; the stream loses nothing. */
static void test_control_port_while_streaming(void)
{
	require_guest();
	g_autoptr(GError) error = NULL;
	g_autofree char *path = guest_path("counter");
	const char *argv[] = { path, "30", "100", NULL };
	guint32 pid;
	g_assert_true(sv_agent_client_run(guest->agent, argv, 0, &pid, &error));
	g_autoptr(GString) out = g_string_new(NULL);
	wait_for_pid_frame(pid, FALSE, out); /* it is streaming */
	control = sv_agent_client_connect(guest->machine->agent_control_socket, 10000, &error);
	g_assert_no_error(error);
	SvAgentInfo info;
	g_assert_true(sv_agent_client_hello(control, 30000, &info, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(info.machine, ==, arch_name);
	g_autoptr(GArray) procs = sv_agent_client_ps(control, &error);
	g_assert_no_error(error);
	gboolean seen = FALSE;
	for (guint i = 0; i < procs->len; i++)
		seen |= g_array_index(procs, SvGuestProcess, i).pid == pid;
	g_assert_true(seen);
	/* the CLI, a separate process, while this one holds the main port and
	 * the test's own control client is closed for it */
	g_clear_pointer(&control, sv_agent_client_free);
	g_autofree char *snapvm = sv_test_build_path("host/snapvm");
	const char *ps_argv[] = { snapvm,   "ps", guest->machine->name, "--source", "agent",
				  "--json", NULL };
	g_autofree char *ps = sv_test_host_output(ps_argv);
	g_autofree char *want = g_strdup_printf("\"pid\" : %u,", pid);
	if (!strstr(ps, want))
		g_error("snapvm ps --source agent does not list pid %u:\n%s", pid, ps);
	control = sv_agent_client_connect(guest->machine->agent_control_socket, 10000, &error);
	g_assert_no_error(error);
	g_assert_true(sv_agent_client_hello(control, 30000, NULL, &error));
	g_assert_no_error(error);
	/* the stream went on meanwhile, whole */
	wait_for_pid_frame(pid, TRUE, out);
	g_autofree char *native = sv_test_workload("counter", "x86_64");
	const char *host_argv[] = { native, "30", "0", NULL };
	g_autofree char *expected = sv_test_host_output(host_argv);
	g_assert_cmpstr(out->str, ==, expected);
}

static void require_control(void)
{
	require_guest();
	if (!control)
		g_test_fail_printf("no control client (see agent/control-port-while-streaming)");
}

/* READFILE of a workload binary equals the host's file; a file of several
 * chunks equals what the guest's own sha256sum says; errors are clear. */
static void test_readfile(void)
{
	require_control();
	g_autoptr(GError) error = NULL;
	g_autofree char *path = guest_path("counter");
	g_autoptr(GBytes) got = NULL;
	g_assert_true(sv_agent_client_read_file(control, path, 64 << 20, &got, &error));
	g_assert_no_error(error);
	g_autofree char *host_path = sv_test_workload("counter", arch_name);
	g_autofree char *host = NULL;
	gsize host_len;
	g_assert_true(g_file_get_contents(host_path, &host, &host_len, NULL));
	g_assert_cmpmem(g_bytes_get_data(got, NULL), g_bytes_get_size(got), host, host_len);
	/* a chunk from the middle, and the file's identity */
	SvAgentFileInfo info;
	g_autoptr(GBytes) chunk = NULL;
	g_assert_true(sv_agent_client_read_file_chunk(control, path, 1000, 100, &info, &chunk,
						      &error));
	g_assert_cmpuint(info.size, ==, host_len);
	g_assert_cmpuint(info.ino, !=, 0);
	g_assert_cmpmem(g_bytes_get_data(chunk, NULL), g_bytes_get_size(chunk), host + 1000, 100);
	/* busybox is several chunks long: check it against the guest's sha256sum */
	g_autoptr(GBytes) busybox = NULL;
	g_assert_true(sv_agent_client_read_file(control, "/bin/busybox", 64 << 20, &busybox,
						&error));
	g_assert_no_error(error);
	g_assert_cmpuint(g_bytes_get_size(busybox), >, SV_READFILE_MAX_CHUNK);
	const char *sum_argv[] = { "/bin/busybox", "sha256sum", "/bin/busybox", NULL };
	int status;
	g_autofree char *sum = sv_test_guest_run(guest, sum_argv, &status, &error);
	g_assert_no_error(error);
	g_autofree char *mine = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, busybox);
	g_assert_true(g_str_has_prefix(sum, mine));
	g_test_message("READFILE: %s (%" G_GSIZE_FORMAT " bytes) and /bin/busybox (%" G_GSIZE_FORMAT
		       " bytes) read whole",
		       path, host_len, g_bytes_get_size(busybox));
	/* over the limit: refused */
	g_autoptr(GBytes) none = NULL;
	g_assert_false(sv_agent_client_read_file(control, path, host_len - 1, &none, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_assert_null(none);
	g_clear_error(&error);
	/* missing, and not a regular file */
	g_assert_false(sv_agent_client_read_file(control, "/workload/nope", 100, &none, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_AGENT);
	g_assert_nonnull(strstr(error->message, "/workload/nope"));
	g_clear_error(&error);
	g_assert_false(sv_agent_client_read_file(control, "/workload", 100, &none, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_AGENT);
	g_assert_nonnull(strstr(error->message, "not a regular file"));
}

static guint64 regset_u64(GBytes *regs, gsize off)
{
	gsize len;
	const guint8 *p = g_bytes_get_data(regs, &len);
	g_assert_cmpuint(off + 8, <=, len);
	return sv_get_le64(p + off);
}

/* Where NT_PRSTATUS has what test_oracle checks, per arch: its size, pc
 * and sp; how far the kernel moved pc back onto the syscall instruction of
 * an interrupted sleep before a ptrace stop (arm64 and riscv do it first,
 * x86 only after the stop; see guest/test-hooks/oracle.c); NT_PRFPREG's
 * size; tp where the thread pointer is a general register. */
typedef struct {
	const char *arch;
	gsize prstatus_len, pc_off, sp_off;
	guint64 pc_rewind;
	gsize fpreg_len, tp_off;
	/* the two extra regsets' sizes where tp is a general register (the
	 * oracle's third and fourth slots) */
	gsize extra_len[2];
} OracleLayout;

static const OracleLayout oracle_layouts[] = {
	/* user_regs_struct: rip at 16, rsp at 19, 27 x 8 */
	{ "x86_64", 27 * 8, 16 * 8, 19 * 8, 0, 512, 0, { 0, 0 } },
	/* user_pt_regs: regs[31], sp, pc, pstate */
	{ "aarch64", 34 * 8, 32 * 8, 31 * 8, 4, 528, 0, { 0, 0 } },
	/* user_regs_struct: pc, x1-x31; __riscv_d_ext_state */
	{ "riscv64", 32 * 8, 0, 2 * 8, 4, 264, 4 * 8, { 0, 0 } },
	/* pt_regs' user part in 48 slots: gpr[32], nip, ...; r13 the thread
	 * pointer; f0-f31 and fpscr; NT_PPC_VMX and NT_PPC_VSX besides */
	{ "ppc64le", 48 * 8, 32 * 8, 1 * 8, 0, 33 * 8, 13 * 8, { 34 * 16, 32 * 8 } },
};

static const OracleLayout *oracle_layout(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(oracle_layouts); i++)
		if (!strcmp(oracle_layouts[i].arch, arch_name))
			return &oracle_layouts[i];
	g_error("no oracle layout for %s", arch_name);
}

/* The ORACLE of a sleeping workload: its registers say what
 * /proc/PID/syscall says, its maps are /proc/PID/maps, its heap and its
 * read-only file mappings are hashed (the latter equal to the host file's
 * bytes), [vvar] is not; and it runs on afterwards, untraced. */
static void test_oracle(void)
{
	require_control();
	g_autoptr(GError) error = NULL;
	const OracleLayout *lay = oracle_layout();
	gboolean x86 = !strcmp(arch_name, "x86_64");
	gsize prstatus_len = lay->prstatus_len, pc_off = lay->pc_off, sp_off = lay->sp_off;
	guint64 pc_rewind = lay->pc_rewind;
	g_autofree char *path = guest_path("sleeper");
	const char *argv[] = { path, "100000", "300", NULL };
	guint32 pid;
	g_assert_true(sv_agent_client_run(guest->agent, argv, 0, &pid, &error));
	wait_for_pid_frame(pid, FALSE, NULL);
	g_autofree char *cmd = g_strdup_printf("cat /proc/%u/syscall /proc/%u/maps", pid, pid);
	const char *cat_argv[] = { "/bin/busybox", "sh", "-c", cmd, NULL };
	g_autoptr(SvAgentOracle) o = NULL;
	guint64 sc_sp = 0, sc_pc = 0;
	g_autofree char *proc_maps = NULL;
	/* the sleeper is asleep nearly always; should it be printing just then,
	 * look again */
	for (int attempt = 0; attempt < 3; attempt++) {
		int status;
		g_autofree char *text = sv_test_guest_run(guest, cat_argv, &status, &error);
		g_assert_no_error(error);
		g_auto(GStrv) f = g_strsplit(text, " ", 10);
		g_assert_cmpuint(g_strv_length(f), >=, 9);
		sc_sp = g_ascii_strtoull(f[7], NULL, 16);
		sc_pc = g_ascii_strtoull(f[8], NULL, 16);
		g_clear_pointer(&proc_maps, g_free);
		proc_maps = g_strdup(strchr(text, '\n') + 1);
		g_clear_pointer(&o, sv_agent_oracle_free);
		o = sv_agent_client_oracle(control, pid, 0, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(g_bytes_get_size(o->nt_prstatus), ==, prstatus_len);
		if (regset_u64(o->nt_prstatus, pc_off) + pc_rewind == sc_pc)
			break;
		g_test_message("attempt %d: pc 0x%" G_GINT64_MODIFIER
			       "x, /proc says 0x%" G_GINT64_MODIFIER "x; again",
			       attempt, regset_u64(o->nt_prstatus, pc_off), sc_pc);
	}
	g_assert_cmphex(regset_u64(o->nt_prstatus, pc_off) + pc_rewind, ==, sc_pc);
	g_assert_cmphex(regset_u64(o->nt_prstatus, sp_off), ==, sc_sp);
	/* FPU: fxregs_state / user_fpsimd_state / __riscv_d_ext_state; XSAVE
	 * on x86, TLS on arm64 */
	g_assert_cmpuint(g_bytes_get_size(o->nt_prfpreg), ==, lay->fpreg_len);
	if (x86) {
		g_assert_cmpuint(g_bytes_get_size(o->nt_x86_xstate), >, 512);
		g_assert_cmpuint(g_bytes_get_size(o->nt_arm_tls), ==, 0);
		g_assert_cmphex(regset_u64(o->nt_prstatus, 21 * 8), !=, 0); /* fs_base: TLS */
	} else if (lay->tp_off) { /* TLS in the general registers */
		g_assert_cmpuint(g_bytes_get_size(o->nt_x86_xstate), ==, lay->extra_len[0]);
		g_assert_cmpuint(g_bytes_get_size(o->nt_arm_tls), ==, lay->extra_len[1]);
		g_assert_cmphex(regset_u64(o->nt_prstatus, lay->tp_off), !=, 0);
	} else {
		g_assert_cmpuint(g_bytes_get_size(o->nt_x86_xstate), ==, 0);
		g_assert_cmpuint(g_bytes_get_size(o->nt_arm_tls), >=, 8);
		g_assert_cmphex(regset_u64(o->nt_arm_tls, 0), !=, 0); /* tpidr_el0 */
	}
	g_assert_cmpstr(o->maps_text, ==, proc_maps);
	/* every region: heap and stack hashed, [vvar] not, read-only mappings
	 * of the executable equal to the host file's bytes */
	g_autofree char *host_path = sv_test_workload("sleeper", arch_name);
	g_autofree char *host = NULL;
	gsize host_len;
	g_assert_true(g_file_get_contents(host_path, &host, &host_len, NULL));
	g_auto(GStrv) lines = g_strsplit(o->maps_text, "\n", -1);
	g_assert_cmpuint(o->vmas->len, ==, g_strv_length(lines) - 1);
	guint hashed = 0, file_checked = 0;
	gboolean saw_heap = FALSE, saw_vvar = FALSE;
	for (guint i = 0; i < o->vmas->len; i++) {
		const SvAgentOracleVma *v = &g_array_index(o->vmas, SvAgentOracleVma, i);
		char perms[8] = "", name[256] = "";
		unsigned long long start, end, offset;
		g_assert_cmpint(sscanf(lines[i], "%llx-%llx %7s %llx %*s %*s %255s", &start, &end,
				       perms, &offset, name),
				>=, 4);
		g_assert_cmphex(v->start, ==, start);
		g_assert_cmphex(v->end, ==, end);
		hashed += v->sha256[0] != 0;
		if (!strcmp(name, "[heap]") || !strcmp(name, "[stack]")) {
			g_assert_cmpuint(strlen(v->sha256), ==, 64);
			saw_heap |= name[1] == 'h';
		}
		if (!strcmp(name, "[vvar]")) {
			g_assert_cmpstr(v->sha256, ==, "");
			saw_vvar = TRUE;
		}
		if (perms[0] != 'r')
			g_assert_cmpstr(v->sha256, ==, "");
		/* a read-only mapping right before a writable one of the same file
		 * is RELRO: relocated at start-up, then made read-only */
		char next_perms[8] = "", next_name[256] = "";
		if (lines[i + 1])
			sscanf(lines[i + 1], "%*s %7s %*s %*s %*s %255s", next_perms, next_name);
		gboolean relro = next_perms[1] == 'w' && !strcmp(next_name, name);
		if (!strcmp(name, path) && perms[1] != 'w' && !relro) {
			/* the file's bytes, zero past its end */
			g_autofree guint8 *want = g_malloc0(end - start);
			if (offset < host_len)
				memcpy(want, host + offset, MIN(end - start, host_len - offset));
			g_autofree char *sha = g_compute_checksum_for_data(G_CHECKSUM_SHA256, want,
									   end - start);
			if (strcmp(v->sha256, sha) != 0)
				g_error("%s: agent %s, host file %s\n%s", lines[i], v->sha256, sha,
					o->maps_text);
			file_checked++;
		}
	}
	g_assert_true(saw_heap);
	g_assert_true(saw_vvar);
	g_assert_cmpuint(file_checked, >=, 1); /* the text at least */
	g_test_message("ORACLE of pid %u: pc 0x%" G_GINT64_MODIFIER "x, %u regions (%u hashed, %u "
		       "against the host file)",
		       pid, sc_pc, o->vmas->len, hashed, file_checked);
	/* it runs on, untraced */
	wait_for_pid_frame(pid, FALSE, NULL);
	g_autofree char *st_cmd = g_strdup_printf("grep -E '^(State|TracerPid):' /proc/%u/status",
						  pid);
	const char *st_argv[] = { "/bin/busybox", "sh", "-c", st_cmd, NULL };
	int status;
	g_autofree char *st = sv_test_guest_run(guest, st_argv, &status, &error);
	g_assert_no_error(error);
	g_assert_nonnull(strstr(st, "TracerPid:\t0\n"));
	g_assert_null(strstr(st, "tracing stop"));
	/* without hashes; and a pid that does not exist */
	g_autoptr(SvAgentOracle)
		quick = sv_agent_client_oracle(control, pid, SV_ORACLE_NO_HASHES, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < quick->vmas->len; i++)
		g_assert_cmpstr(g_array_index(quick->vmas, SvAgentOracleVma, i).sha256, ==, "");
	g_assert_null(sv_agent_client_oracle(control, 0x3ffffff0, 0, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_AGENT);
	g_clear_error(&error);
	g_autofree char *kill_cmd = g_strdup_printf("kill -9 %u", pid);
	const char *kill_argv[] = { "/bin/busybox", "sh", "-c", kill_cmd, NULL };
	guint32 kill_pid;
	g_assert_true(sv_agent_client_run(guest->agent, kill_argv, 0, &kill_pid, &error));
}

/* Garbage sent to the agent must not kill it: it resyncs at the next HELLO. */
static void test_agent_survives_garbage(void)
{
	require_guest();
	g_autoptr(GError) error = NULL;
	guint8 junk[4096];
	for (guint i = 0; i < sizeof(junk); i++)
		junk[i] = (guint8)g_test_rand_int();
	/* a header announcing a huge frame, then random bytes */
	sv_frame_header_encode(junk, SV_MSG_RUN, 0x7fffffff, 99);
	g_assert_true(sv_agent_client_write_raw(guest->agent, junk, sizeof(junk), &error));
	SvAgentInfo info;
	g_assert_true(sv_agent_client_hello(guest->agent, 30000, &info, &error));
	g_assert_no_error(error);
	g_autoptr(GArray) procs = sv_agent_client_ps(guest->agent, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(procs->len, >, 0);
}

/* Symbols recovered on the host from the image's kernel file must be the
 * ones the running guest reports in /proc/kallsyms (nokaslr: same addresses). */
static void test_kallsyms_match_guest(void)
{
	require_guest();
	g_autoptr(GError) error = NULL;
	g_autoptr(SvImage) image = sv_image_open(guest->arch, NULL, &error);
	g_assert_no_error(error);
	g_autofree char *config_path = g_build_filename(image->dir, "config", NULL);
	g_autofree char *config = NULL;
	g_assert_true(g_file_get_contents(config_path, &config, NULL, NULL));
	gboolean abs_percpu = strstr(config, "\nCONFIG_KALLSYMS_ABSOLUTE_PERCPU=y") != NULL;
	g_autoptr(SvKallsyms) ks = sv_kallsyms_load(image->kernel, abs_percpu,
						    guest->arch->kernel_link_base, &error);
	g_assert_no_error(error);
	const char *argv[] = { "/bin/busybox", "cat", "/proc/kallsyms", NULL };
	int status;
	g_autofree char *text = sv_test_guest_run(guest, argv, &status, &error);
	g_assert_no_error(error);
	/* compare every name the guest lists once */
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) f = g_strsplit(*l, " ", 4);
		if (g_strv_length(f) != 3) /* module symbols carry a 4th field */
			continue;
		if (g_hash_table_contains(seen, f[2]))
			g_hash_table_replace(seen, g_strdup(f[2]), g_strdup("dup"));
		else
			g_hash_table_insert(seen, g_strdup(f[2]), g_strdup(f[0]));
	}
	guint matched = 0, mismatched = 0;
	GHashTableIter it;
	gpointer name, addr;
	g_hash_table_iter_init(&it, seen);
	while (g_hash_table_iter_next(&it, &name, &addr)) {
		guint64 ours;
		if (!strcmp(addr, "dup") || !sv_kallsyms_lookup(ks, name, &ours, NULL))
			continue;
		if (g_ascii_strtoull(addr, NULL, 16) == ours)
			matched++;
		else if (mismatched++ < 5)
			g_printerr("# %s: guest %s, host 0x%" G_GINT64_MODIFIER "x\n", (char *)name,
				   (char *)addr, ours);
	}
	g_test_message("%s: %u of %u symbols recovered on the host match /proc/kallsyms, %u differ",
		       arch_name, matched, sv_kallsyms_count(ks), mismatched);
	g_assert_cmpuint(mismatched, ==, 0);
	g_assert_cmpuint(matched, >, sv_kallsyms_count(ks) * 9 / 10);
}

/* The process list read from guest memory alone (the VM paused) agrees with
 * the agent's /proc view taken right after. */
/* One look at the process list from guest memory (paused) and one from
 * the agent's /proc right after; comm, ppid and the workload's RSS must
 * agree. A state may really change in between (the agent's own reading
 * wakes kworkers; slow arches are caught mid-step more often): those
 * differences are counted in *ret_state_diffs for the caller to look
 * again. Returns the processes compared, or -1 when this arch's kernel
 * address translation is not written yet (the test is then skipped). */
static gint compare_ps_views(guint32 pid, guint *ret_state_diffs)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SvImage) image = sv_image_open(guest->arch, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(sv_machine_pause(guest->machine, &error));
	g_autoptr(SvGuestMem) mem = sv_machine_map_ram(guest->machine, &error);
	g_assert_no_error(error);
	g_autoptr(SvIntrospect) in = sv_introspect_new(guest->arch, image->dir, mem, &error);
	g_autoptr(GArray) mine = in ? sv_introspect_processes(in, &error) : NULL;
	g_autoptr(GError) resume_error = NULL;
	g_assert_true(sv_machine_resume(guest->machine, &resume_error));
	sv_machine_release_control(guest->machine);
	if (!mine && g_error_matches(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED)) {
		g_test_skip(error->message);
		return -1;
	}
	g_assert_no_error(error);
	g_autoptr(GArray) theirs = sv_agent_client_ps(guest->agent, &error);
	g_assert_no_error(error);
	guint compared = 0;
	*ret_state_diffs = 0;
	for (guint i = 0; i < theirs->len; i++) {
		const SvGuestProcess *a = &g_array_index(theirs, SvGuestProcess, i);
		const SvGuestProcess *m = NULL;
		for (guint k = 0; k < mine->len && !m; k++)
			if (g_array_index(mine, SvGuestProcess, k).pid == a->pid)
				m = &g_array_index(mine, SvGuestProcess, k);
		if (!m) {
			g_printerr("# pid %u (%s) only in the agent's list\n", a->pid, a->comm);
			continue;
		}
		/* /proc adds a kworker's workqueue to its name ("kworker/0:0-rcu_gp") */
		if (!g_str_has_prefix(a->comm, m->comm))
			g_error("pid %u: comm \"%s\" in memory, \"%s\" in /proc", a->pid, m->comm,
				a->comm);
		g_assert_cmpuint(m->ppid, ==, a->ppid);
		/* the agent (pid 1) runs while it reads /proc */
		if (a->pid != 1 && m->state != a->state) {
			g_test_message("pid %u (%s): state %c in memory, %c in /proc", a->pid,
				       a->comm, m->state, a->state);
			(*ret_state_diffs)++;
		}
		if (a->pid == pid)
			g_assert_cmpuint(m->rss_kib, ==, a->rss_kib);
		compared++;
	}
	g_test_message("%u processes from guest memory, %u from the agent, %u compared", mine->len,
		       theirs->len, compared);
	g_assert_cmpuint(compared, >=, theirs->len - 2); /* a kworker may come or go */
	return (gint)compared;
}

static void test_introspect_ps_matches_agent(void)
{
	require_guest();
	g_autoptr(GError) error = NULL;
	/* a workload to find: the sleeper, sleeping */
	g_autofree char *path = guest_path("sleeper");
	const char *argv[] = { path, "1000", "100", NULL };
	guint32 pid;
	g_assert_true(sv_agent_client_run(guest->agent, argv, 0, &pid, &error));
	/* past its start-up page faults (slow arches under TCG are not yet),
	 * so that its RSS holds still between the two views */
	wait_for_pid_frame(pid, FALSE, NULL);
	g_usleep(50 * 1000);
	/* states that differ in one look must agree in one of three: a state
	 * read wrongly from memory differs every time */
	guint state_diffs = 0;
	for (guint attempt = 0; attempt < 3; attempt++) {
		if (compare_ps_views(pid, &state_diffs) < 0)
			return;
		if (state_diffs == 0)
			break;
		g_usleep(200 * 1000);
	}
	g_assert_cmpuint(state_diffs, ==, 0);
	g_autofree char *kill_cmd = g_strdup_printf("kill %u", pid);
	const char *kill_argv[] = { "/bin/busybox", "sh", "-c", kill_cmd, NULL };
	guint32 kill_pid;
	g_assert_true(sv_agent_client_run(guest->agent, kill_argv, 0, &kill_pid, &error));
}

/* The agent's own pages, translated through its page tables as found in
 * guest memory, land where /proc/self/pagemap says they are. */
static void test_page_walk_matches_pagemap(void)
{
	require_guest();
	g_autoptr(GError) error = NULL;
	g_autoptr(SvImage) image = sv_image_open(guest->arch, NULL, &error);
	guint64 vaddr;
	guint32 page_size;
	g_autoptr(GArray) phys = NULL;
	g_assert_true(sv_agent_client_mempattern(guest->agent, 7, 32, &vaddr, &page_size, &phys,
						 &error));
	g_assert_true(sv_machine_pause(guest->machine, &error));
	g_autoptr(SvGuestMem) mem = sv_machine_map_ram(guest->machine, &error);
	g_autoptr(SvIntrospect) in = sv_introspect_new(guest->arch, image->dir, mem, &error);
	g_assert_no_error(error);
	SvGpa root;
	g_assert_true(sv_introspect_page_table_root(in, 1, &root, &error));
	g_assert_no_error(error);
	for (guint i = 0; i < phys->len; i++) {
		SvWalkResult res;
		SvGpa pa;
		guint64 size;
		g_assert_true(sv_page_walk(guest->arch, sv_introspect_kernel_space(in), mem, root,
					   vaddr + (guint64)i * page_size, &res, &pa, &size,
					   &error));
		g_assert_no_error(error);
		g_assert_cmpint(res, ==, SV_WALK_MAPPED);
		g_assert_cmphex(pa.v, ==, g_array_index(phys, guint64, i));
	}
	/* page 0 is never mapped in a user process */
	SvWalkResult res;
	SvGpa pa;
	guint64 size;
	g_assert_true(sv_page_walk(guest->arch, sv_introspect_kernel_space(in), mem, root, 0, &res,
				   &pa, &size, &error));
	g_assert_cmpint(res, ==, SV_WALK_NOT_MAPPED);
	g_assert_true(sv_machine_resume(guest->machine, &error));
	sv_machine_release_control(guest->machine);
	g_test_message("%u agent pages translated through pid 1's page tables", phys->len);
}

/* A process's memory map read from its maple tree equals /proc/PID/maps:
 * ranges, permissions, offsets and names (files on / and on a tmpfs mount,
 * heap, stack, vdso, vvar, the PROT_NONE guard). */
static void test_vmas_match_proc_maps(void)
{
	require_guest();
	g_autoptr(GError) error = NULL;
	g_autoptr(SvImage) image = sv_image_open(guest->arch, NULL, &error);
	g_autofree char *path = guest_path("memory");
	const char *argv[] = { path, "100000", "200", NULL };
	guint32 pid;
	g_assert_true(sv_agent_client_run(guest->agent, argv, 0, &pid, &error));
	/* let it map everything: its first output line comes after that */
	for (gboolean seen = FALSE; !seen;) {
		g_auto(SvAgentFrame) f = { 0 };
		g_assert_true(sv_agent_client_recv(guest->agent, 60000, &f, &error));
		guint32 from, stream, n;
		const guint8 *bytes;
		seen = f.type == SV_MSG_OUTPUT &&
		       sv_agent_frame_parse_output(&f, &from, &stream, &bytes, &n, NULL) &&
		       from == pid;
	}
	/* stopped, so its heap cannot grow between the two readings */
	g_autofree char *stop_cmd = g_strdup_printf("kill -STOP %u", pid);
	const char *stop_argv[] = { "/bin/busybox", "sh", "-c", stop_cmd, NULL };
	int stop_status;
	g_autofree char *stop_out = sv_test_guest_run(guest, stop_argv, &stop_status, &error);
	g_assert_no_error(error);
	g_assert_true(sv_machine_pause(guest->machine, &error));
	g_autoptr(SvGuestMem) mem = sv_machine_map_ram(guest->machine, &error);
	g_autoptr(SvIntrospect) in = sv_introspect_new(guest->arch, image->dir, mem, &error);
	g_assert_no_error(error);
	g_autoptr(GArray) vmas = sv_introspect_vmas(in, pid, &error);
	g_assert_true(sv_machine_resume(guest->machine, NULL));
	sv_machine_release_control(guest->machine);
	g_assert_no_error(error);
	g_autofree char *maps_cmd = g_strdup_printf("cat /proc/%u/maps", pid);
	const char *cat_argv[] = { "/bin/busybox", "sh", "-c", maps_cmd, NULL };
	int status;
	g_autofree char *maps = sv_test_guest_run(guest, cat_argv, &status, &error);
	g_assert_no_error(error);
	GString *mine = g_string_new(NULL);
	for (guint i = 0; i < vmas->len; i++) {
		const SvGuestVma *v = &g_array_index(vmas, SvGuestVma, i);
		g_string_append_printf(mine,
				       "%08" G_GINT64_MODIFIER "x-%08" G_GINT64_MODIFIER
				       "x %c%c%c%c %08" G_GINT64_MODIFIER "x %s\n",
				       v->start, v->end, v->flags & 1 ? 'r' : '-',
				       v->flags & 2 ? 'w' : '-', v->flags & 4 ? 'x' : '-',
				       v->flags & 8 ? 's' : 'p',
				       /* /proc shows no offset for anonymous memory */
				       v->name && v->name[0] == '/'
					       ? v->pgoff * guest->arch->page_size
					       : 0,
				       v->name ? v->name : "");
	}
	/* /proc/PID/maps without the device and inode columns */
	GString *theirs = g_string_new(NULL);
	g_auto(GStrv) lines = g_strsplit(maps, "\n", -1);
	for (char **line = lines; *line && **line; line++) {
		g_auto(GStrv) f = g_strsplit_set(*line, " ", -1);
		guint nf = g_strv_length(f), k = 0;
		const char *fields[6] = { 0 };
		for (guint j = 0; j < nf && k < 6; j++)
			if (*f[j])
				fields[k++] = f[j];
		g_string_append_printf(theirs, "%s %s %s %s\n", fields[0], fields[1], fields[2],
				       fields[5] ? fields[5] : "");
	}
	g_autofree char *a = g_string_free(mine, FALSE);
	g_autofree char *b = g_string_free(theirs, FALSE);
	if (g_strcmp0(a, b) != 0)
		g_error("VMAs from guest memory:\n%s\n/proc/%u/maps:\n%s", a, pid, b);
	g_test_message("%u VMAs of pid %u match /proc/%u/maps", vmas->len, pid, pid);
	g_autofree char *kill_cmd = g_strdup_printf("kill -9 %u", pid);
	const char *kill_argv[] = { "/bin/busybox", "sh", "-c", kill_cmd, NULL };
	guint32 kill_pid;
	g_assert_true(sv_agent_client_run(guest->agent, kill_argv, 0, &kill_pid, &error));
}

/* The syscall ABI in the snapshot's register names (the arch's
 * named_regs): number, six arguments, user stack pointer, program counter,
 * as asm/syscall.h's syscall_get_nr and syscall_get_arguments read them. */
static const struct {
	const char *arch;
	const char *regs[9];
} syscall_abi[] = {
	{ "x86_64", { "orig_ax", "di", "si", "dx", "r10", "r8", "r9", "sp", "ip" } },
	{ "aarch64", { "syscallno", "orig_x0", "x1", "x2", "x3", "x4", "x5", "sp", "pc" } },
	{ "riscv64", { "a7", "orig_a0", "a1", "a2", "a3", "a4", "a5", "sp", "epc" } },
	{ "ppc64le", { "r0", "orig_gpr3", "r4", "r5", "r6", "r7", "r8", "r1", "nip" } },
};

/* The user registers saved on a sleeping task's kernel stack, read through
 * the kernel's page tables and named as a snapshot names them, say what
 * /proc/PID/syscall says: syscall number, arguments, user stack pointer and
 * program counter. */
static void test_pt_regs_match_proc_syscall(void)
{
	require_guest();
	g_autoptr(GError) error = NULL;
	g_autoptr(SvImage) image = sv_image_open(guest->arch, NULL, &error);
	g_autofree char *path = guest_path("sleeper");
	const char *argv[] = { path, "100000", "300", NULL };
	guint32 pid;
	g_assert_true(sv_agent_client_run(guest->agent, argv, 0, &pid, &error));
	g_usleep(500 * 1000); /* into its first sleep */
	g_assert_true(sv_machine_pause(guest->machine, &error));
	g_autoptr(SvGuestMem) mem = sv_machine_map_ram(guest->machine, &error);
	g_autoptr(SvIntrospect) in = sv_introspect_new(guest->arch, image->dir, mem, &error);
	g_assert_no_error(error);
	g_autoptr(GBytes) regs = sv_introspect_task_pt_regs(in, pid, &error);
	g_assert_true(sv_machine_resume(guest->machine, NULL));
	sv_machine_release_control(guest->machine);
	g_assert_no_error(error);
	g_autoptr(GVariant)
		named = sv_arch_named_regs(guest->arch, sv_introspect_types(in), regs, &error);
	g_assert_no_error(error);
	const char *const *abi = NULL;
	for (guint i = 0; i < G_N_ELEMENTS(syscall_abi); i++)
		if (!strcmp(syscall_abi[i].arch, guest->arch->name))
			abi = syscall_abi[i].regs;
	g_assert_nonnull(abi);
	guint64 mine[9];
	for (guint i = 0; i < 9; i++)
		g_assert_true(g_variant_lookup(named, abi[i], "t", &mine[i]));
	/* every sleep is the same call from the same place, so a later one
	 * reads the same */
	g_autofree char *cmd = g_strdup_printf("cat /proc/%u/syscall", pid);
	const char *cat_argv[] = { "/bin/busybox", "sh", "-c", cmd, NULL };
	int status;
	g_autofree char *text = sv_test_guest_run(guest, cat_argv, &status, &error);
	g_assert_no_error(error);
	g_autofree char *expected =
		g_strdup_printf("%" G_GINT64_FORMAT " 0x%" G_GINT64_MODIFIER
				"x 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER
				"x 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER
				"x 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER
				"x 0x%" G_GINT64_MODIFIER "x\n",
				(gint64)mine[0], mine[1], mine[2], mine[3], mine[4], mine[5],
				mine[6], mine[7], mine[8]);
	g_assert_cmpstr(text, ==, expected);
	g_test_message("pid %u in syscall %" G_GINT64_FORMAT ", pc 0x%" G_GINT64_MODIFIER "x: "
		       "pt_regs from guest memory equal /proc/%u/syscall",
		       pid, (gint64)mine[0], mine[8], pid);
	g_autofree char *kill_cmd = g_strdup_printf("kill -9 %u", pid);
	const char *kill_argv[] = { "/bin/busybox", "sh", "-c", kill_cmd, NULL };
	guint32 kill_pid;
	g_assert_true(sv_agent_client_run(guest->agent, kill_argv, 0, &kill_pid, &error));
}

/* The guest's CLOCK_BOOTTIME (the agent's HELLO reply) and the host's
 * monotonic time around the request: of a few tries, the one with the
 * shortest round trip, within which the guest read its clock. */
typedef struct {
	gint64 host_before_us, host_after_us;
	guint64 guest_ns;
} ClockReading;

static ClockReading read_guest_clock(void)
{
	ClockReading best = { .host_before_us = 0, .host_after_us = G_MAXINT64 };
	for (guint i = 0; i < 5; i++) {
		SvAgentInfo info;
		g_autoptr(GError) error = NULL;
		gint64 before = g_get_monotonic_time();
		g_assert_true(sv_agent_client_hello(guest->agent, 60000, &info, &error));
		gint64 after = g_get_monotonic_time();
		if (after - before < best.host_after_us - best.host_before_us)
			best = (ClockReading){ before, after, info.uptime_ns };
	}
	return best;
}

/* The guest's CLOCK_REALTIME in whole seconds (busybox date), and the
 * host's around it, in ms since the epoch. */
static gint64 read_guest_realtime_s(gint64 *ret_host_before_ms, gint64 *ret_host_after_ms)
{
	const char *argv[] = { "/bin/busybox", "date", "-u", "+%s", NULL };
	int status = -1;
	g_autoptr(GError) error = NULL;
	*ret_host_before_ms = g_get_real_time() / 1000;
	g_autofree char *out = sv_test_guest_run(guest, argv, &status, &error);
	*ret_host_after_ms = g_get_real_time() / 1000;
	g_assert_no_error(error);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return g_ascii_strtoll(out, NULL, 10);
}

/* The guest keeps the host's time while the host is loaded (here, by the
 * test): over CLOCK_SPAN_S its clock must move as far as the host's, to
 * within CLOCK_MAX_DRIFT of the span beyond the readings' round trips, and
 * its wall clock must read the host's to within 3 s (the RTC it starts
 * from counts whole seconds, and so does date: up to 2 s behind). Nor may
 * it keep time with jiffies. An x86_64 guest that
 * calibrated its TSC on a loaded host ran 22 times too fast here
 * (arch/x86_64/tcg-clock.c); the other arches' timers tick at a frequency
 * QEMU states. */
#define CLOCK_SPAN_S 6
#define CLOCK_MAX_DRIFT 0.005
static void test_clock_follows_host(void)
{
	require_guest();
	/* a count of timer ticks, the kernel's last resort, loses them (or
	 * gets them late) on a loaded host, whatever the drift over the span */
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) source = NULL;
	SvAgentFileInfo info;
	/* one chunk: sysfs says 4096 bytes whatever it holds */
	sv_agent_client_read_file_chunk(
		guest->agent, "/sys/devices/system/clocksource/clocksource0/current_clocksource", 0,
		64, &info, &source, &error);
	g_assert_no_error(error);
	g_autofree char *name = g_strchomp(g_strndup(g_bytes_get_data(source, NULL),
						     g_bytes_get_size(source)));
	g_test_message("%s: the guest keeps time with clocksource %s", arch_name, name);
	if (g_str_has_suffix(name, "jiffies"))
		g_test_fail_printf("the %s guest keeps time by counting timer ticks (clocksource "
				   "%s)",
				   arch_name, name);
	g_autoptr(GArray) load = sv_test_host_load_start(3);
	ClockReading a = read_guest_clock();
	gint64 real_before_ms, real_after_ms;
	gint64 guest_real_s = read_guest_realtime_s(&real_before_ms, &real_after_ms);
	g_usleep(MAX(0,
		     CLOCK_SPAN_S * G_USEC_PER_SEC - (g_get_monotonic_time() - a.host_after_us)));
	ClockReading b = read_guest_clock();
	gchar load_avg[64] = "";
	g_autofree char *loadavg = NULL;
	if (g_file_get_contents("/proc/loadavg", &loadavg, NULL, NULL))
		sscanf(loadavg, "%63[^\n]", load_avg);
	sv_test_host_load_stop(g_steal_pointer(&load));

	double guest_s = (double)(b.guest_ns - a.guest_ns) / 1e9;
	double host_min_s = (double)(b.host_before_us - a.host_after_us) / 1e6;
	double host_max_s = (double)(b.host_after_us - a.host_before_us) / 1e6;
	g_test_message("%s: over %.3f..%.3f s of the host's time (load %s) the guest's clock moved "
		       "%.3f s; its wall clock read %" G_GINT64_FORMAT " s while the host's read "
		       "%.3f..%.3f s",
		       arch_name, host_min_s, host_max_s, load_avg, guest_s, guest_real_s,
		       real_before_ms / 1e3, real_after_ms / 1e3);
	if (guest_s < host_min_s * (1 - CLOCK_MAX_DRIFT) ||
	    guest_s > host_max_s * (1 + CLOCK_MAX_DRIFT))
		g_test_fail_printf("the %s guest's clock moved %.3f s while the host's moved "
				   "%.3f..%.3f s: more than %.1f%% apart",
				   arch_name, guest_s, host_min_s, host_max_s,
				   CLOCK_MAX_DRIFT * 100);
	if (guest_real_s * 1000 < real_before_ms - 2000 ||
	    guest_real_s * 1000 > real_after_ms + 2000)
		g_test_fail_printf("the %s guest's wall clock read %" G_GINT64_FORMAT
				   " s, the host's %.3f..%.3f s",
				   arch_name, guest_real_s, real_before_ms / 1e3,
				   real_after_ms / 1e3);
}

/* The VM dies while a client waits: the wait ends at once with PEER_GONE. */
static void test_dead_guest(void)
{
	require_guest();
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_machine_stop(guest->machine, FALSE, NULL, &error));
	gint64 t0 = g_get_monotonic_time();
	/* frames already on their way (late output) may come first */
	for (;;) {
		g_auto(SvAgentFrame) f = { 0 };
		if (!sv_agent_client_recv(guest->agent, 60000, &f, &error))
			break;
	}
	g_assert_error(error, SV_ERROR, SV_ERROR_PEER_GONE);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 10 * G_USEC_PER_SEC);
	g_assert_cmpint(sv_machine_get_state(guest->machine, NULL), ==, SV_MACHINE_STOPPED);
}

int main(int argc, char **argv)
{
	/* --arch ARCH is ours; the rest is GTest's */
	arch_name = sv_test_take_arch(&argc, argv, arch_name);
	sv_test_take_paths(&argc, argv);
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	sv_test_state_dir();
#define ADD(path, fn)                                                               \
	do {                                                                        \
		g_autofree char *p = g_strdup_printf("/guest/%s/" path, arch_name); \
		if (sv_test_wanted(p))                                              \
			g_test_add_func(p, fn);                                     \
	} while (0)
	ADD("boot", test_boot);
	ADD("run/counter-matches-native", test_counter_matches_native);
	ADD("run/all-workloads", test_all_workloads);
	ADD("run/exit-status-and-signal", test_exit_status_and_signal);
	ADD("run/missing-program", test_run_missing_program);
	ADD("agent/ps", test_ps_sees_init_and_workload);
	ADD("agent/control-port-while-streaming", test_control_port_while_streaming);
	ADD("agent/readfile", test_readfile);
	ADD("agent/oracle", test_oracle);
	ADD("memory/guest-physical-read", test_guest_physical_read);
	ADD("clock/follows-host-under-load", test_clock_follows_host);
	/* GTest runs suites in the order they were first named: machine/ goes
	 * last, because it ends with the guest's death. */
	ADD("introspect/kallsyms-match-guest", test_kallsyms_match_guest);
	ADD("introspect/ps-matches-agent", test_introspect_ps_matches_agent);
	ADD("introspect/page-walk-matches-pagemap", test_page_walk_matches_pagemap);
	ADD("introspect/vmas-match-proc-maps", test_vmas_match_proc_maps);
	ADD("introspect/pt-regs-match-proc-syscall", test_pt_regs_match_proc_syscall);
	ADD("machine/pause-resume-registers", test_pause_resume_registers);
	ADD("machine/second-process", test_second_process);
	ADD("agent/survives-garbage", test_agent_survives_garbage);
	ADD("machine/dead-guest", test_dead_guest);
	int rc = g_test_run();
	g_clear_pointer(&control, sv_agent_client_free);
	sv_test_guest_free(guest);
	sv_test_state_dir_cleanup();
	return rc;
}
