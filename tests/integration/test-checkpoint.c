/* SPDX-License-Identifier: MIT */
/*
 * test-checkpoint.c - snapvm checkpoint against an oracle inside the guest.
 *
 * One guest per arch. Every test workload is checkpointed at several points
 * of its run, from guest memory alone; then the agent's ORACLE (ptrace and
 * /proc, which tests may use and snapvm never does) says what the process
 * looks like, and everything must agree: every register, the FPU/SIMD and
 * TLS state, the memory map, and the contents of every mapping, rebuilt from
 * the snapshot's pages and carried files, hash for hash.
 *
 * To hold a process still between the two views it is stopped with SIGSTOP
 * first (the checkpoint then finds it inside the signal code, the case a
 * freezer gives). One test leaves it running and asleep in nanosleep, one
 * catches a busy process on its vCPU in user mode.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snapvm/le.h"
#include "snapvm/snapshot-task-keys.h"
#include "tests/integration/guest-fixture.h"
#include "tests/lib/test-hooks-client.h"
#include "tests/test-paths.h"
#include "host/checkpoint/checkpoint.h"
#include "base/errors.h"
#include "host/snapshot/snapshot-reader.h"

static const char *arch_name = "x86_64";
static SvTestGuest *guest;
static SvAgentClient *control;
static char *tmpdir;

static const char *const workloads[] = {
	"counter",	 "fpu",	       "tls",	    "memory",	    "sleeper",	  "blockread",
	"fdenv",	 "spin",       "ghost",	    "memfd",	    "shanon",	  "sysvshm",
	"threads",	 "kobj-pipes", "kobj-fifo", "kobj-eventfd", "kobj-epoll", "kobj-timerfd",
	"kobj-signalfd", "kobj-locks", "kobj-unix", "kobj-creds",   "kobj-inet",  "kobj-ptimers",
	"kobj-sockopt",	 NULL
};
/* the oracle runs on these (of the memory-file workloads the ones that
 * differ most: a ghost file and its fd, a sealed memfd, shared anonymous
 * memory, a read-only SysV attachment) */
static const char *const oracle_workloads[] = {
	"counter",    "fpu",	   "tls",	   "memory",	 "sleeper",	 "blockread",
	"fdenv",      "ghost",	   "memfd",	   "shanon",	 "sysvshm",	 "threads",
	"kobj-pipes", "kobj-fifo", "kobj-eventfd", "kobj-epoll", "kobj-timerfd", "kobj-signalfd",
	"kobj-locks", "kobj-unix", "kobj-creds",   "kobj-inet",	 "kobj-ptimers", NULL
};

static void require_guest(void)
{
	if (!guest)
		g_test_skip("no guest (boot failed)");
}

static void test_boot(void)
{
	g_autoptr(GError) error = NULL;
	guest = sv_test_guest_boot(arch_name, workloads, &error);
	g_assert_no_error(error);
	control = sv_agent_client_connect(guest->machine->agent_control_socket, 10000, &error);
	g_assert_no_error(error);
	g_assert_true(sv_agent_client_hello(control, 30000, NULL, &error));
	g_assert_no_error(error);
	tmpdir = g_dir_make_tmp("snapvm-ckpt-XXXXXX", &error);
	g_assert_no_error(error);
}

static guint32 start_workload(const char *name, const char *steps, const char *interval)
{
	g_autofree char *path = g_strdup_printf("/workload/%s-%s", name, arch_name);
	const char *argv[] = { path, steps, interval, NULL };
	g_autoptr(GError) error = NULL;
	guint32 pid;
	g_assert_true(sv_agent_client_run(guest->agent, argv, SV_RUN_BUFFER_WHEN_DETACHED, &pid,
					  &error));
	g_assert_no_error(error);
	return pid;
}

static void signal_workload(guint32 pid, int sig)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(sv_agent_client_kill(control, pid, (guint32)sig, &error));
	g_assert_no_error(error);
}

/* Waits until the agent's /proc view shows pid in state (T: stopped). */
static void wait_state(guint32 pid, char state)
{
	for (int i = 0; i < 200; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GArray) procs = sv_agent_client_ps(control, &error);
		g_assert_no_error(error);
		for (guint k = 0; k < procs->len; k++) {
			const SvGuestProcess *p = &g_array_index(procs, SvGuestProcess, k);
			if (p->pid == pid && p->state == state)
				return;
		}
		g_usleep(20 * 1000);
	}
	g_error("pid %u never reached state %c", pid, state);
}

static GBytes *read_file(const char *path, gpointer data, GError **error)
{
	GBytes *contents = NULL;
	if (!sv_agent_client_read_file(control, path, 1ull << 30, &contents, error))
		return NULL;
	return contents;
}

static char *checkpoint(guint32 pid, SvCheckpointStats *st)
{
	static guint n;
	char *file = g_strdup_printf("%s/%s-%u.svs", tmpdir, arch_name, n++);
	SvCheckpointOptions o = { .pid = pid, .output = file, .read_file = read_file };
	g_autoptr(GError) error = NULL;
	gboolean ok = sv_checkpoint(guest->machine, &o, st, &error);
	g_assert_no_error(error);
	g_assert_true(ok);
	g_test_message("pid %u: paused %.1f ms (%u pauses), %" G_GUINT64_FORMAT
		       " pages, regs from %s, syscall %s",
		       pid, st->pause_ms, st->attempts, st->pages_present, st->regs_source,
		       sv_syscall_fixup_str(st->syscall));
	return file;
}

static SvSnapshotReader *open_snapshot(const char *file)
{
	g_autoptr(GError) error = NULL;
	SvSnapshotReader *r = sv_snapshot_reader_open(file, &error);
	g_assert_no_error(error);
	return r;
}

static guint64 le64(GBytes *b, gsize off)
{
	gsize len;
	const guint8 *p = g_bytes_get_data(b, &len);
	g_assert_cmpuint(off + 8, <=, len);
	return sv_get_le64(p + off);
}

static guint64 dict_u64(GVariant *dict, const char *key)
{
	g_autoptr(GVariant) v = g_variant_lookup_value(dict, key, NULL);
	g_assert_nonnull(v);
	if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32))
		return g_variant_get_uint32(v);
	return g_variant_get_uint64(v);
}

/* ---- registers, FPU, TLS (x86_64 layouts: user_regs_struct, XSAVE) ---- */

static const char *const x86_regs[] = {
	"r15", "r14", "r13", "r12", "bp",      "bx", "r11", "r10",   "r9", "r8", "ax",
	"cx",  "dx",  "si",  "di",  "orig_ax", "ip", "cs",  "flags", "sp", "ss",
};

/* n little-endian bytes as one hex number, most significant first */
static char *hex_le(const guint8 *p, guint n)
{
	GString *s = g_string_new("0x");
	while (n-- > 0)
		g_string_append_printf(s, "%02x", p[n]);
	return g_string_free(s, FALSE);
}

/*
 * The whole user FPU state of an XSAVE image, field by field so that a
 * difference is named: the x87 control, status and tag words, last
 * instruction and operand, MXCSR and its mask, the x87 stack, XMM0-15,
 * XSTATE_BV's user bits (x87, SSE, AVX) and YMM0-15's upper halves. Bytes
 * 416-511 are reserved or software-defined (ptrace fills them in).
 */
static void compare_xsave(const guint8 *snap, const guint8 *ptrace)
{
	static const struct {
		const char *name;
		guint offset, size, count;
	} fields[] = {
		{ "FCW", 0, 2, 1 },
		{ "FSW", 2, 2, 1 },
		{ "FTW (abridged)", 4, 1, 1 },
		{ "FOP", 6, 2, 1 },
		{ "FIP", 8, 8, 1 },
		{ "FDP", 16, 8, 1 },
		{ "MXCSR", 24, 4, 1 },
		{ "MXCSR_MASK", 28, 4, 1 },
		{ "ST", 32, 16, 8 },
		{ "XMM", 160, 16, 16 },
		{ "YMM_Hi128 of YMM", 576, 16, 16 },
	};
	for (guint f = 0; f < G_N_ELEMENTS(fields); f++)
		for (guint i = 0; i < fields[f].count; i++) {
			guint at = fields[f].offset + i * fields[f].size;
			if (!memcmp(snap + at, ptrace + at, fields[f].size))
				continue;
			g_autofree char *a = hex_le(snap + at, fields[f].size);
			g_autofree char *b = hex_le(ptrace + at, fields[f].size);
			if (fields[f].count > 1)
				g_error("FPU %s%u: snapshot %s, ptrace %s", fields[f].name, i, a,
					b);
			g_error("FPU %s: snapshot %s, ptrace %s", fields[f].name, a, b);
		}
	g_assert_cmphex(sv_get_le64(snap + 512) & 7, ==, sv_get_le64(ptrace + 512) & 7);
}

/* One thread's REGS, TLS and FPU (sections for the leader, its entry of
 * the TASK dict's "threads" for the others) against ptrace's view of it. */
static void compare_x86_cpu(GVariant *regs, GVariant *tls, GVariant *fpu, const SvAgentOracle *o)
{
	g_autoptr(GVariant) named = g_variant_get_child_value(regs, 0);
	guint64 want[G_N_ELEMENTS(x86_regs)];
	for (guint i = 0; i < G_N_ELEMENTS(x86_regs); i++)
		want[i] = le64(o->nt_prstatus, 8 * i);
	/* ptrace shows the raw syscall state; the snapshot holds it rewound so
	 * the call is issued again (x86 signal.c, no handler) */
	gint64 ax = (gint64)want[10], orig_ax = (gint64)want[15];
	if (orig_ax >= 0 && (ax == -38 || ax == -512 || ax == -513 || ax == -514 || ax == -516)) {
		want[10] = want[15];
		want[16] -= 2;
	}
	for (guint i = 0; i < G_N_ELEMENTS(x86_regs); i++) {
		guint64 got;
		g_assert_true(g_variant_lookup(named, x86_regs[i], "t", &got));
		if (got != want[i])
			g_error("register %s: snapshot 0x%" G_GINT64_MODIFIER
				"x, ptrace 0x%" G_GINT64_MODIFIER "x",
				x86_regs[i], got, want[i]);
	}
	g_assert_cmphex(dict_u64(tls, "fs_base"), ==, le64(o->nt_prstatus, 21 * 8));
	g_assert_cmphex(dict_u64(tls, "gs_base"), ==, le64(o->nt_prstatus, 22 * 8));
	g_autoptr(GVariant) raw_v = g_variant_get_child_value(fpu, 3);
	gsize raw_len, xs_len;
	const guint8 *raw = g_variant_get_fixed_array(raw_v, &raw_len, 1);
	const guint8 *xs = g_bytes_get_data(o->nt_x86_xstate, &xs_len);
	g_assert_cmpuint(raw_len, >=, 832);
	g_assert_cmpuint(xs_len, >=, 832);
	compare_xsave(raw, xs);
}

/* aarch64: user_pt_regs (x0-x30, sp, pc, pstate), user_fpsimd_state, and
 * NT_ARM_TLS's tpidr_el0. A stopped or interrupted arm64 task was already
 * rewound onto its svc by the kernel's do_signal before ptrace saw it, as
 * the snapshot rewinds it. */
static void compare_aarch64_cpu(GVariant *regs, GVariant *tls, GVariant *fpu,
				const SvAgentOracle *o)
{
	g_autoptr(GVariant) named = g_variant_get_child_value(regs, 0);
	for (guint i = 0; i < 34; i++) {
		char name[8];
		if (i < 31)
			g_snprintf(name, sizeof(name), "x%u", i);
		else
			g_strlcpy(name, i == 31 ? "sp" : i == 32 ? "pc" : "pstate", sizeof(name));
		guint64 got, want = le64(o->nt_prstatus, 8 * i);
		g_assert_true(g_variant_lookup(named, name, "t", &got));
		/* PSTATE.SSBS is the kernel's: set or cleared in the saved
		 * pstate each time the task is switched in (ssbs_thread_switch) */
		if (i == 33) {
			got &= ~(1ull << 12);
			want &= ~(1ull << 12);
		}
		if (got != want)
			g_error("register %s: snapshot 0x%" G_GINT64_MODIFIER
				"x, ptrace 0x%" G_GINT64_MODIFIER "x",
				name, got, want);
	}
	g_assert_cmphex(dict_u64(tls, "tpidr_el0"), ==, le64(o->nt_arm_tls, 0));
	g_autoptr(GVariant) raw_v = g_variant_get_child_value(fpu, 3);
	gsize raw_len, fp_len;
	const guint8 *raw = g_variant_get_fixed_array(raw_v, &raw_len, 1);
	const guint8 *fp = g_bytes_get_data(o->nt_prfpreg, &fp_len);
	g_assert_cmpuint(raw_len, ==, 528);
	g_assert_cmpuint(fp_len, >=, 520);
	g_assert_cmpmem(raw, 520, fp, 520); /* v0-v31, fpsr, fpcr */
}

/* riscv64: user_regs_struct (pc, x1-x31, tp among them), and
 * __riscv_d_ext_state (f0-f31, fcsr). Like arm64, a stopped or interrupted
 * task was already rewound onto its ecall before ptrace saw it. */
static const char *const riscv64_regs[32] = {
	"epc", "ra", "sp", "gp", "tp",	"t0",  "t1", "t2", "s0", "s1", "a0",
	"a1",  "a2", "a3", "a4", "a5",	"a6",  "a7", "s2", "s3", "s4", "s5",
	"s6",  "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

static void compare_riscv64_cpu(GVariant *regs, GVariant *tls, GVariant *fpu,
				const SvAgentOracle *o)
{
	(void)tls; /* tp is x4, compared with the registers */
	g_autoptr(GVariant) named = g_variant_get_child_value(regs, 0);
	for (guint i = 0; i < G_N_ELEMENTS(riscv64_regs); i++) {
		guint64 got, want = le64(o->nt_prstatus, 8 * i);
		g_assert_true(g_variant_lookup(named, riscv64_regs[i], "t", &got));
		if (got != want)
			g_error("register %s: snapshot 0x%" G_GINT64_MODIFIER
				"x, ptrace 0x%" G_GINT64_MODIFIER "x",
				riscv64_regs[i], got, want);
	}
	g_autoptr(GVariant) raw_v = g_variant_get_child_value(fpu, 3);
	gsize raw_len, fp_len;
	const guint8 *raw = g_variant_get_fixed_array(raw_v, &raw_len, 1);
	const guint8 *fp = g_bytes_get_data(o->nt_prfpreg, &fp_len);
	g_assert_cmpuint(raw_len, ==, 264);
	g_assert_cmpuint(fp_len, >=, 260);
	g_assert_cmpmem(raw, 260, fp, 260); /* f0-f31, fcsr */
}

/* ppc64le: NT_PRSTATUS is pt_regs' user part (gpr[32], nip, msr,
 * orig_gpr3, ctr, link, xer, ccr, softe, trap, ...); the FP, VMX and VSX
 * regsets are the snapshot's image one after the other. Like x86, the
 * kernel rewinds an interrupted syscall only after a stop, so ptrace shows
 * it raw: the snapshot has it rewound (sc: an error is a positive errno
 * with CR0.SO; scv: a negative one); a stopped task's call has returned. softe is not the task's (ptrace
 * always says 1); MSR's FP/VMX/VSX/FE bits say where that state lives. */
#define PPC_MSR_LAZY ((1ull << 13) | (1ull << 25) | (1ull << 23) | (1ull << 11) | (1ull << 8))

static void compare_ppc64le_cpu(GVariant *regs, GVariant *tls, GVariant *fpu,
				const SvAgentOracle *o)
{
	/* r13 is the thread pointer, compared with the registers; the TLS
	 * variant only says where the registers came from */
	const char *source = NULL;
	g_variant_lookup(tls, "source", "&s", &source);
	static const char *const others[] = { "nip", "msr", "orig_gpr3", "ctr", "link",
					      "xer", "ccr", "softe",	 "trap" };
	g_autoptr(GVariant) named = g_variant_get_child_value(regs, 0);
	guint64 want[32 + G_N_ELEMENTS(others)];
	for (guint i = 0; i < G_N_ELEMENTS(want); i++)
		want[i] = le64(o->nt_prstatus, 8 * i);
	guint64 trap = want[40] & ~0xfull, r3 = want[3], ccr = want[38];
	gboolean syscall = (trap == 0xc00 || trap == 0x3000) && !(want[40] & 0x10);
	gint64 err = trap == 0x3000 ? (gint64)r3 : (ccr & (1ull << 28)) ? -(gint64)r3 : 0;
	if (syscall && err <= -512 && err >= -516 && err != -515) {
		want[3] = want[34];
		want[32] -= 4;
	}
	/* registers read from a vCPU have no kernel entry: no trap, orig_gpr3
	 * to compare (the trap ptrace shows may well be the same decrementer
	 * the snapshot names, so the trap cannot tell) */
	gboolean from_kernel = g_strcmp0(source, "vcpu") != 0;
	for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
		char name[16];
		if (i < 32)
			g_snprintf(name, sizeof(name), "r%u", i);
		else
			g_strlcpy(name, others[i - 32], sizeof(name));
		if (!strcmp(name, "softe") ||
		    (!from_kernel && (!strcmp(name, "trap") || !strcmp(name, "orig_gpr3"))))
			continue;
		guint64 got;
		g_assert_true(g_variant_lookup(named, name, "t", &got));
		if (!strcmp(name, "msr")) {
			got &= ~PPC_MSR_LAZY;
			want[i] &= ~PPC_MSR_LAZY;
		}
		if (got != want[i])
			g_error("register %s: snapshot 0x%" G_GINT64_MODIFIER
				"x, ptrace 0x%" G_GINT64_MODIFIER "x",
				name, got, want[i]);
	}
	g_autoptr(GVariant) raw_v = g_variant_get_child_value(fpu, 3);
	gsize raw_len, fp_len, vmx_len, vsx_len;
	const guint8 *raw = g_variant_get_fixed_array(raw_v, &raw_len, 1);
	const guint8 *fp = g_bytes_get_data(o->nt_prfpreg, &fp_len);
	const guint8 *vmx = g_bytes_get_data(o->nt_x86_xstate, &vmx_len);
	const guint8 *vsx = g_bytes_get_data(o->nt_arm_tls, &vsx_len);
	g_assert_cmpuint(raw_len, ==, 264 + 544 + 256);
	g_assert_cmpuint(fp_len, ==, 264);
	g_assert_cmpuint(vmx_len, ==, 544);
	g_assert_cmpuint(vsx_len, ==, 256);
	g_assert_cmpmem(raw, 264, fp, 264);	   /* f0-f31, fpscr */
	g_assert_cmpmem(raw + 264, 544, vmx, 544); /* vr0-vr31, vscr, vrsave */
	g_assert_cmpmem(raw + 808, 256, vsx, 256); /* vs0-vs31's other halves */
}

/* ---- memory map and contents ---- */

typedef struct {
	guint64 start, end;
	char perms[5];
	guint64 offset;
	char *name;
} MapsLine;

static GArray *parse_maps(const char *text)
{
	GArray *out = g_array_new(FALSE, TRUE, sizeof(MapsLine));
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l && **l; l++) {
		MapsLine m = { 0 };
		char name[4096] = "";
		unsigned long long s, e, off;
		int n = sscanf(*l, "%llx-%llx %4s %llx %*s %*s %4095[^\n]", &s, &e, m.perms, &off,
			       name);
		g_assert_cmpint(n, >=, 4);
		m.start = s;
		m.end = e;
		m.offset = off;
		m.name = g_strdup(g_strstrip(name));
		g_array_append_val(out, m);
	}
	return out;
}

/* Page ranges the snapshot stores (PAGEMAP: vaddr, pages, section, offset). */
static gboolean snapshot_has_page(GVariant *pagemap, guint64 va)
{
	GVariantIter it;
	guint64 vaddr, off;
	guint32 pages, section;
	g_variant_iter_init(&it, pagemap);
	while (g_variant_iter_next(&it, "(tuut)", &vaddr, &pages, &section, &off))
		if (va >= vaddr && va < vaddr + (guint64)pages * 4096)
			return TRUE;
	return FALSE;
}

/* What /proc/PID/mem reads for [start, end) rebuilt from the snapshot: its
 * pages, else the carried file's bytes for a file mapping, else zeros. */
static char *rebuilt_sha256(SvSnapshotReader *r, GVariant *pagemap, guint64 start, guint64 end,
			    guint64 pgoff, const char *file_sha)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autoptr(GBytes) file = NULL;
	g_autoptr(GError) error = NULL;
	if (file_sha && *file_sha) {
		file = sv_snapshot_reader_file(r, file_sha, &error);
		g_assert_no_error(error);
	}
	guint8 page[4096];
	for (guint64 va = start; va < end; va += 4096) {
		memset(page, 0, sizeof(page));
		if (snapshot_has_page(pagemap, va) || !file) {
			g_assert_true(sv_snapshot_reader_read_page(r, va, page, &error));
			g_assert_no_error(error);
		} else {
			gsize len;
			const guint8 *p = g_bytes_get_data(file, &len);
			guint64 at = (pgoff + (va - start) / 4096) * 4096;
			if (at < len)
				memcpy(page, p + at, MIN(4096, len - at));
		}
		g_checksum_update(sum, page, sizeof(page));
	}
	return g_strdup(g_checksum_get_string(sum));
}

/* Before failing: which pages differ, as the guest reads them now. */
static void report_page_mismatch(SvSnapshotReader *r, GVariant *pagemap, guint64 start, guint64 end,
				 guint64 pgoff, const char *sha, guint32 pid)
{
	for (guint64 va = start; va < end; va += 4096) {
		g_autofree char *mine = rebuilt_sha256(r, pagemap, va, va + 4096,
						       pgoff + (va - start) / 4096, sha);
		g_autofree char *cmd =
			g_strdup_printf("dd if=/proc/%u/mem bs=4096 skip=%" G_GUINT64_FORMAT
					" count=1 2>/dev/null "
					"| sha256sum",
					pid, va / 4096);
		const char *argv[] = { "/bin/busybox", "sh", "-c", cmd, NULL };
		int status;
		g_autofree char *theirs = sv_test_guest_run(guest, argv, &status, NULL);
		if (theirs && strncmp(mine, theirs, 64))
			g_test_message("page 0x%" G_GINT64_MODIFIER
				       "x differs (%s in the snapshot)",
				       va, snapshot_has_page(pagemap, va) ? "stored" : "absent");
	}
}

/* Whether the mapping at start maps a file that exists only in memory
 * (the TASK's memfiles): /proc then shows its name with " (deleted)". */
static gboolean maps_memfile(GVariant *task, guint64 start)
{
	g_autoptr(GVariant)
		list = g_variant_lookup_value(task, "memfiles", G_VARIANT_TYPE("aa{sv}"));
	for (gsize i = 0; list && i < g_variant_n_children(list); i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(list, i);
		g_autoptr(GVariant) vmas = g_variant_lookup_value(d, "vmas", G_VARIANT_TYPE("at"));
		gsize n = 0;
		const guint64 *v = vmas ? g_variant_get_fixed_array(vmas, &n, 8) : NULL;
		for (gsize k = 0; k < n; k++)
			if (v[k] == start)
				return TRUE;
	}
	return FALSE;
}

static void compare_memory(SvSnapshotReader *r, const SvAgentOracle *o, guint32 pid,
			   const char *skip)
{
	g_autoptr(GVariant) task = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TASK);
	g_autoptr(GVariant) vmas = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_VMAS);
	g_autoptr(GVariant) pagemap = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_PAGEMAP);
	g_autoptr(GArray) maps = parse_maps(o->maps_text);
	g_assert_cmpuint(g_variant_n_children(vmas), ==, maps->len);
	g_assert_cmpuint(o->vmas->len, ==, maps->len);
	guint hashed = 0;
	for (guint i = 0; i < maps->len; i++) {
		const MapsLine *m = &g_array_index(maps, MapsLine, i);
		guint64 start, end, flags, pgoff;
		guint32 prot;
		const char *name, *sha;
		g_variant_get_child(vmas, i, "(ttutt&s&s)", &start, &end, &prot, &flags, &pgoff,
				    &name, &sha);
		g_assert_cmphex(start, ==, m->start);
		g_assert_cmphex(end, ==, m->end);
		char perms[5] = { prot & 1 ? 'r' : '-', prot & 2 ? 'w' : '-', prot & 4 ? 'x' : '-',
				  /* /proc says 's' for VM_MAYSHARE: a read-only
				   * shared mapping has no VM_SHARED */
				  flags & 0x88 ? 's' : 'p', 0 };
		g_assert_cmpstr(perms, ==, m->perms);
		g_autofree char *shown = maps_memfile(task, start)
						 ? g_strdup_printf("%s (deleted)", name)
						 : g_strdup(name);
		g_assert_cmpstr(shown, ==, m->name);
		if (name[0] == '/') {
			g_assert_cmphex(pgoff * 4096, ==, m->offset);
			g_assert_cmpuint(strlen(sha), ==, 64); /* the file was carried */
		}
		const SvAgentOracleVma *ov = &g_array_index(o->vmas, SvAgentOracleVma, i);
		if (!ov->sha256[0] || !strcmp(name, "[vdso]") || !strcmp(name, "[vvar]") ||
		    !g_strcmp0(name, skip))
			continue;
		g_autofree char *got = rebuilt_sha256(r, pagemap, start, end, pgoff, sha);
		if (strcmp(got, ov->sha256))
			report_page_mismatch(r, pagemap, start, end, pgoff, sha, pid);
		if (strcmp(got, ov->sha256))
			g_error("VMA %s [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
				"x): contents rebuilt from the snapshot differ from /proc/PID/mem",
				*name ? name : "(anon)", start, end);
		hashed++;
	}
	g_assert_cmpuint(hashed, >=, 3);
	for (guint i = 0; i < maps->len; i++)
		g_free(g_array_index(maps, MapsLine, i).name);
}

/* The snapshot's fd table against /proc/PID/fdinfo and the fd links: the
 * same fds, offsets, flags (fdinfo adds O_CLOEXEC for close-on-exec), the
 * same path for files, and pipes grouped alike (snapshot identity <-> pipe
 * inode, one to one). */
static void compare_fds(GVariant *task, const SvAgentOracle *o)
{
	if (!o->fds_text) {
		g_test_message("the agent sent no fd table: not compared");
		return;
	}
	g_autoptr(GVariant) fds = g_variant_lookup_value(task, "fds", G_VARIANT_TYPE("aa{sv}"));
	g_assert_nonnull(fds);
	guint32 task_pid = 0;
	g_assert_true(g_variant_lookup(task, "pid", "u", &task_pid));
	g_auto(GStrv) lines = g_strsplit(o->fds_text, "\n", -1);
	g_autoptr(GHashTable)
		pipe_to_ino = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	g_autoptr(GHashTable)
		ino_to_pipe = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	guint seen = 0;
	for (char **l = lines; *l && **l; l++, seen++) {
		guint32 fd, flags;
		guint64 pos;
		char target[4096];
		g_assert_cmpint(sscanf(*l, "%u %" G_GUINT64_FORMAT " %o %4095[^\n]", &fd, &pos,
				       &flags, target),
				==, 4);
		g_autoptr(GVariant) entry = NULL;
		for (gsize i = 0; i < g_variant_n_children(fds) && !entry; i++) {
			g_autoptr(GVariant) d = g_variant_get_child_value(fds, i);
			guint32 n;
			if (g_variant_lookup(d, "fd", "u", &n) && n == fd)
				entry = g_steal_pointer(&d);
		}
		if (!entry)
			g_error("fd %u (%s) is open in the guest but not in the snapshot", fd,
				target);
		guint32 sflags = 0;
		guint64 spos = 0, pipe = 0;
		gboolean cloexec = FALSE;
		const char *path = NULL, *kind = "";
		g_variant_lookup(entry, "kind", "&s", &kind);
		g_variant_lookup(entry, "flags", "u", &sflags);
		g_variant_lookup(entry, "pos", "t", &spos);
		g_variant_lookup(entry, "cloexec", "b", &cloexec);
		g_variant_lookup(entry, "path", "&s", &path);
		g_variant_lookup(entry, "pipe", "t", &pipe);
		guint64 inode = 0, rdev = 0;
		g_variant_lookup(entry, "inode", "t", &inode);
		/* a removed directory or unlinked device node (kobj-fifo) */
		gboolean gone = g_variant_lookup(entry, SV_TASK_FD_GONE_RDEV, "t", &rdev);
		g_assert_cmpuint(spos, ==, pos);
		g_assert_cmpuint(sflags | (cloexec ? 02000000u : 0), ==, flags);
		/* what /proc/pid/fd links to, by kind: the kernel's names for
		 * anonymous inodes and sockets, a FIFO's path */
		static const char *const anon[][2] = {
			{ "eventfd", "anon_inode:[eventfd]" },
			{ "epoll", "anon_inode:[eventpoll]" },
			{ "timerfd", "anon_inode:[timerfd]" },
			{ "signalfd", "anon_inode:[signalfd]" },
			{ "unix", "socket:[" },
			{ "inet", "socket:[" },
		};
		gboolean named = FALSE;
		for (guint k = 0; k < G_N_ELEMENTS(anon); k++)
			if (!strcmp(kind, anon[k][0])) {
				g_assert_true(g_str_has_prefix(target, anon[k][1]));
				named = TRUE;
			}
		if (named)
			continue;
		if (!strcmp(kind, "fifo")) {
			g_assert_cmpstr(path, ==, target);
		} else if (pipe) {
			g_assert_true(g_str_has_prefix(target, "pipe:["));
			const char *ino = g_hash_table_lookup(pipe_to_ino, &pipe);
			const guint64 *back = g_hash_table_lookup(ino_to_pipe, target);
			g_assert_true((ino == NULL) == (back == NULL));
			if (ino) {
				g_assert_cmpstr(ino, ==, target);
				g_assert_cmpuint(*back, ==, pipe);
			} else {
				g_hash_table_insert(pipe_to_ino, g_memdup2(&pipe, 8),
						    g_strdup(target));
				g_hash_table_insert(ino_to_pipe, g_strdup(target),
						    g_memdup2(&pipe, 8));
			}
		} else if (inode || gone) {
			/* a file only memory holds, a node without a name: /proc
			 * says it is deleted */
			g_autofree char *deleted = g_strdup_printf("%s (deleted)", path);
			g_assert_cmpstr(deleted, ==, target);
		} else {
			/* snapvm keeps the process's own /proc/PID as /proc/self, which
			 * restore reopens in the new process */
			g_autofree char *own = g_strdup_printf("/proc/%u/", task_pid);
			g_autofree char *want = g_str_has_prefix(target, own)
							? g_strconcat("/proc/self/",
								      target + strlen(own), NULL)
							: g_strdup(target);
			g_assert_cmpstr(path, ==, want);
		}
	}
	g_assert_cmpuint(seen, ==, g_variant_n_children(fds));
}

static void compare_cpu(GVariant *regs, GVariant *tls, GVariant *fpu, const SvAgentOracle *o)
{
	if (!strcmp(arch_name, "x86_64"))
		compare_x86_cpu(regs, tls, fpu, o);
	else if (!strcmp(arch_name, "riscv64"))
		compare_riscv64_cpu(regs, tls, fpu, o);
	else if (!strcmp(arch_name, "ppc64le"))
		compare_ppc64le_cpu(regs, tls, fpu, o);
	else
		compare_aarch64_cpu(regs, tls, fpu, o);
}

/* Every other thread: its registers, TLS and FPU against ptrace's view of
 * that thread; and the snapshot has exactly the threads /proc lists. */
static void compare_threads(GVariant *task, guint32 pid)
{
	g_autoptr(GVariant) threads = g_variant_lookup_value(task, "threads", NULL);
	gsize n = threads ? g_variant_n_children(threads) : 0;
	g_autofree char *cmd = g_strdup_printf("ls /proc/%u/task | wc -l", pid);
	const char *argv[] = { "/bin/busybox", "sh", "-c", cmd, NULL };
	int status;
	g_autofree char *listed = sv_test_guest_run(guest, argv, &status, NULL);
	g_assert_nonnull(listed);
	g_assert_cmpuint(g_ascii_strtoull(listed, NULL, 10), ==, n + 1);
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(threads, i);
		guint32 tid = (guint32)dict_u64(d, "tid");
		g_autoptr(GVariant) regs = g_variant_lookup_value(d, "regs", NULL);
		g_autoptr(GVariant) tls = g_variant_lookup_value(d, "tls", NULL);
		g_autoptr(GVariant) fpu = g_variant_lookup_value(d, "fpu", NULL);
		g_assert_nonnull(regs);
		g_assert_nonnull(tls);
		g_assert_nonnull(fpu);
		g_autoptr(GError) error = NULL;
		g_autoptr(SvAgentOracle)
			o = sv_agent_client_oracle(control, tid, SV_ORACLE_NO_HASHES, &error);
		g_assert_no_error(error);
		compare_cpu(regs, tls, fpu, o);
	}
	if (n)
		g_test_message("pid %u: %" G_GSIZE_FORMAT " more threads compared", pid, n);
}

/* skip: a mapping whose contents the oracle itself changes */
static void compare_with_oracle(const char *file, guint32 pid, gboolean stopped, const char *skip)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) r = open_snapshot(file);
	g_assert_true(sv_snapshot_reader_verify(r, &error));
	g_assert_no_error(error);
	g_autoptr(SvAgentOracle) o = sv_agent_client_oracle(control, pid, 0, &error);
	g_assert_no_error(error);
	g_autoptr(GVariant) task = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TASK);
	g_assert_cmpuint(dict_u64(task, "pid"), ==, pid);
	g_autoptr(GVariant) regs = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_REGS);
	g_autoptr(GVariant) tls = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TLS);
	g_autoptr(GVariant) fpu = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_FPU);
	compare_cpu(regs, tls, fpu, o);
	compare_memory(r, o, pid, skip);
	compare_fds(task, o);
	compare_threads(task, pid);
	(void)stopped;
}

/* A checkpoint of a process that /proc already shows stopped, taken again
 * should the snapshot still find it on its way into the stop (seen rarely
 * under load: its task state is the judge, not /proc's letter). */
static char *checkpoint_stopped(guint32 pid, SvCheckpointStats *st)
{
	for (int attempt = 0;; attempt++) {
		char *file = checkpoint(pid, st);
		g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(file, NULL);
		g_autoptr(GVariant) task = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TASK);
		guint64 state = dict_u64(task, "state");
		g_autoptr(GVariant) threads = g_variant_lookup_value(task, "threads", NULL);
		for (gsize i = 0; threads && i < g_variant_n_children(threads); i++) {
			g_autoptr(GVariant) d = g_variant_get_child_value(threads, i);
			if (!(dict_u64(d, "state") & 4))
				state = dict_u64(d, "state");
		}
		if (state & 4) /* __TASK_STOPPED, every thread */
			return file;
		g_test_message("pid %u: task state 0x%" G_GINT64_MODIFIER "x, not stopped yet", pid,
			       state);
		g_assert_cmpint(attempt, <, 20);
		g_assert_true(g_remove(file) == 0);
		g_free(file);
		g_usleep(50 * 1000);
	}
}

/* kobj-inet's sockets as the snapshot has them (fd-socket.c): which were
 * bound to an address the guest lacks (IP_FREEBIND kept: 94; cleared
 * since: 95, NONLOCAL) and which to one it has (the wildcard, 127.0.0.2 of
 * loopback's prefix, [::1]: bound plainly at restore, so that a guest
 * lacking one stops the restore); IP_TRANSPARENT (93) and IPV6_TRANSPARENT
 * (97, the same flag); and the buffer locks kobj set. */
static void check_inet_flags(const char *file)
{
	g_autoptr(SvSnapshotReader) r = open_snapshot(file);
	g_autoptr(GVariant) task = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TASK);
	g_autoptr(GVariant) fds = g_variant_lookup_value(task, SV_TASK_FDS, NULL);
	g_assert_nonnull(fds);
	static const struct {
		guint32 fd, flags, locks;
	} want[] = {
		{ 90, SV_TASK_INET_REUSEADDR | SV_TASK_INET_LISTEN, 3 },
		{ 91, SV_TASK_INET_V6ONLY, 0 },
		{ 93, SV_TASK_INET_REUSEPORT | SV_TASK_INET_TRANSPARENT, 2 },
		/* (a bind to a specific IPv6 address sets IPV6_V6ONLY) */
		{ 94, SV_TASK_INET_FREEBIND | SV_TASK_INET_V6ONLY, 0 },
		{ 95, SV_TASK_INET_NONLOCAL, 0 },
		{ 96, 0, 0 },
		{ 97, SV_TASK_INET_V6ONLY | SV_TASK_INET_TRANSPARENT, 0 },
	};
	for (guint k = 0; k < G_N_ELEMENTS(want); k++) {
		gboolean found = FALSE;
		for (gsize i = 0; i < g_variant_n_children(fds) && !found; i++) {
			g_autoptr(GVariant) d = g_variant_get_child_value(fds, i);
			guint32 fd, flags, locks;
			if (!g_variant_lookup(d, SV_TASK_FD_FD, "u", &fd) || fd != want[k].fd)
				continue;
			found = TRUE;
			g_assert_true(g_variant_lookup(d, SV_TASK_FD_INET, "(uu@ayuuu)", NULL, NULL,
						       NULL, NULL, NULL, &flags));
			g_assert_true(g_variant_lookup(d, SV_TASK_FD_SOCKET_BUFS,
						       SV_TASK_FD_SOCKET_BUFS_TYPE, NULL, NULL,
						       &locks));
			g_test_message("fd %u: inet flags %u, buffer locks %u", fd, flags, locks);
			g_assert_cmpuint(flags, ==, want[k].flags);
			g_assert_cmpuint(locks, ==, want[k].locks);
		}
		g_assert_true(found);
	}
}

/* Each workload at three points of its run, stopped so that the two views
 * see the same moment. */
static void test_workload(gconstpointer data)
{
	require_guest();
	const char *name = data;
	guint32 pid = start_workload(name, "100000", "40");
	/* the kernel-object workloads hold still between steps: one point
	 * says what three would, in a third of the time */
	guint points = g_str_has_prefix(name, "kobj-") ? 1 : 3;
	for (guint point = 0; point < points; point++) {
		g_usleep((300 + 400 * point) * 1000);
		signal_workload(pid, SIGSTOP);
		wait_state(pid, 'T');
		SvCheckpointStats st;
		g_autofree char *file = checkpoint_stopped(pid, &st);
		g_assert_cmpstr(st.regs_source, ==, "memory");
		g_assert_cmpint(st.syscall, !=, SV_SYSCALL_REEXECUTE);
		compare_with_oracle(file, pid, TRUE, NULL);
		if (!strcmp(name, "kobj-inet"))
			check_inet_flags(file);
		signal_workload(pid, SIGCONT);
		g_assert_true(g_remove(file) == 0);
	}
	signal_workload(pid, SIGKILL);
}

/* Left running, asleep in nanosleep: the registers are rewound to issue the
 * sleep again. (It sleeps 30 s at a time, so the oracle sees the same sleep.)
 * The oracle's ptrace interrupt ends that sleep, and the kernel then writes
 * the time left into the program's timespec on its stack: the stack is the
 * one mapping not compared. */
static void test_running_sleeper(void)
{
	require_guest();
	guint32 pid = start_workload("sleeper", "1000", "30000");
	g_usleep(500 * 1000);
	/* asleep: a checkpoint reaches its pause in tens of ms, and a loaded
	 * guest may still be starting the program 500 ms in (a run at load 17 saw bp 0 in
	 * the snapshot, 1 in the oracle's view moments later) */
	wait_state(pid, 'S');
	SvCheckpointStats st;
	g_autofree char *file = checkpoint(pid, &st);
	g_assert_cmpstr(st.regs_source, ==, "memory");
	g_assert_cmpint(st.syscall, ==, SV_SYSCALL_REEXECUTE);
	compare_with_oracle(file, pid, FALSE, "[stack]");
	signal_workload(pid, SIGKILL);
}

/* Reads the main channel (workload output) until told to stop, so that a
 * chatty workload never blocks on a full channel. */
static gint draining;

static gpointer drain_output(gpointer data)
{
	while (g_atomic_int_get(&draining)) {
		g_auto(SvAgentFrame) f = { 0 };
		g_autoptr(GError) error = NULL;
		if (!sv_agent_client_recv(guest->agent, 200, &f, &error) &&
		    !g_error_matches(error, SV_ERROR, SV_ERROR_TIMEOUT))
			break;
	}
	return NULL;
}

/* A process that computes without sleeping is usually on its vCPU in user
 * mode when the VM is paused: then its registers come from the vCPU. They
 * must describe the same process: pc in its text, sp in its stack, the same
 * thread pointer as its saved state, a sane MXCSR. */
static void test_busy_process_on_vcpu(void)
{
	require_guest();
	guint32 pid = start_workload("counter", "100000000", "0");
	g_atomic_int_set(&draining, 1);
	GThread *drainer = g_thread_new("drain", drain_output, NULL);
	g_usleep(300 * 1000);
	gboolean seen_vcpu = FALSE;
	for (guint i = 0; i < 20 && !seen_vcpu; i++) {
		SvCheckpointStats st;
		g_autofree char *file = checkpoint(pid, &st);
		g_autoptr(SvSnapshotReader) r = open_snapshot(file);
		g_autoptr(GVariant) task = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TASK);
		g_autoptr(GVariant) regs = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_REGS);
		g_autoptr(GVariant) named = g_variant_get_child_value(regs, 0);
		g_autoptr(GVariant) mm = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_MM);
		g_autoptr(GVariant) mm_fields = g_variant_get_child_value(mm, 0);
		g_autoptr(GVariant) tls = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TLS);
		guint64 pc, sp, start_code, end_code, start_stack, brk;
		gboolean x86 = !strcmp(arch_name, "x86_64");
		gboolean riscv = !strcmp(arch_name, "riscv64");
		gboolean ppc = !strcmp(arch_name, "ppc64le");
		g_assert_true(g_variant_lookup(named,
					       x86     ? "ip"
					       : riscv ? "epc"
					       : ppc   ? "nip"
						       : "pc",
					       "t", &pc));
		g_assert_true(g_variant_lookup(named, ppc ? "r1" : "sp", "t", &sp));
		g_assert_true(g_variant_lookup(mm_fields, "start_code", "t", &start_code));
		g_assert_true(g_variant_lookup(mm_fields, "end_code", "t", &end_code));
		g_assert_true(g_variant_lookup(mm_fields, "start_stack", "t", &start_stack));
		g_assert_true(g_variant_lookup(mm_fields, "start_brk", "t", &brk));
		g_assert_cmphex(pc, >=, start_code);
		g_assert_cmphex(pc, <, end_code);
		g_assert_cmphex(sp, <=, start_stack);
		g_assert_cmphex(sp, >, start_stack - (8u << 20));
		/* static glibc's TLS block is carved from the heap's start */
		guint64 tp = 0;
		if (riscv || ppc) /* tp is x4 / r13, a general register */
			g_assert_true(g_variant_lookup(named, riscv ? "tp" : "r13", "t", &tp));
		else
			tp = dict_u64(tls, x86 ? "fs_base" : "tpidr_el0");
		g_assert_cmphex(tp, >=, brk);
		g_assert_cmphex(tp, <, brk + (1u << 20));
		g_autoptr(GVariant) fpu = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_FPU);
		g_autoptr(GVariant) raw_v = g_variant_get_child_value(fpu, 3);
		gsize raw_len;
		const guint8 *raw = g_variant_get_fixed_array(raw_v, &raw_len, 1);
		g_assert_cmpuint(raw_len, >=, riscv || ppc ? 264 : 512);
		if (x86) /* MXCSR: every exception masked, as glibc leaves it */
			g_assert_cmphex(sv_get_le32(raw + 24) & 0xffc0, ==, 0x1f80);
		else if (riscv) /* fcsr: default rounding (frm 0) */
			g_assert_cmphex(sv_get_le32(raw + 256) & 0xe0, ==, 0);
		else if (ppc) /* fpscr: round to nearest (RN 0), no traps (VE-XE) */
			g_assert_cmphex(sv_get_le32(raw + 256) & 0xfb, ==, 0);
		else /* FPCR: default rounding, no traps */
			g_assert_cmphex(sv_get_le32(raw + 516), ==, 0);
		seen_vcpu = !strcmp(st.regs_source, "vcpu");
		g_autoptr(GVariant) src = g_variant_lookup_value(task, "regs_source", NULL);
		g_assert_cmpstr(g_variant_get_string(src, NULL), ==, st.regs_source);
		g_assert_true(g_remove(file) == 0);
	}
	signal_workload(pid, SIGKILL);
	g_atomic_int_set(&draining, 0);
	g_thread_join(drainer);
	if (!seen_vcpu)
		g_test_incomplete("the busy counter was never caught in user mode in 20 pauses");
}

/*
 * The oracle for registers read live from a vCPU (through QEMU's gdbstub on
 * the qemu backend): spin holds the same registers at every instant of its
 * loop, so what a checkpoint read from its vCPU in user mode must equal
 * what ptrace sees once the VM runs again - every GPR, the TLS registers,
 * and the FPU/SIMD state (x87 stack, MXCSR and YMM upper halves on x86_64;
 * v0-v31, FPSR and FPCR on aarch64).
 */
static void test_spinning_process_oracle(void)
{
	require_guest();
	guint32 pid = start_workload("spin", "1000000", "1");
	g_usleep(500 * 1000);
	for (guint i = 0; i < 20; i++) {
		SvCheckpointStats st;
		g_autofree char *file = checkpoint(pid, &st);
		if (!strcmp(st.regs_source, "vcpu")) {
			compare_with_oracle(file, pid, FALSE, NULL);
			g_assert_true(g_remove(file) == 0);
			signal_workload(pid, SIGKILL);
			return;
		}
		g_assert_true(g_remove(file) == 0);
	}
	g_error("spin was never on its vCPU in user mode in 20 pauses");
}

/* A blocked signal sent to the process stays pending, with its siginfo;
 * the handler and mask that blockread installs are recorded. */
static void test_pending_signal(void)
{
	require_guest();
	guint32 pid = start_workload("blockread", "100000", "200");
	g_usleep(500 * 1000);
	signal_workload(pid, SIGUSR1); /* blockread keeps it blocked */
	g_usleep(100 * 1000);
	SvCheckpointStats st;
	g_autofree char *file = checkpoint(pid, &st);
	g_autoptr(SvSnapshotReader) r = open_snapshot(file);
	g_autoptr(GVariant) task = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TASK);
	guint64 usr1 = 1ull << (SIGUSR1 - 1);
	g_assert_cmphex(dict_u64(task, "sigblocked") & usr1, ==, usr1);
	g_assert_cmphex(dict_u64(task, "sigpending_shared") & usr1, ==, usr1);
	g_autoptr(GVariant) queue = g_variant_lookup_value(task, "sigqueue_shared", NULL);
	g_assert_nonnull(queue);
	gboolean queued = FALSE;
	for (gsize i = 0; i < g_variant_n_children(queue); i++) {
		guint32 signo;
		g_autoptr(GVariant) info = NULL;
		g_variant_get_child(queue, i, "(u@ay)", &signo, &info);
		queued |= signo == SIGUSR1;
	}
	g_assert_true(queued);
	/* SIGALRM has a handler with SA_RESTART (0x10000000) */
	g_autoptr(GVariant) acts = g_variant_lookup_value(task, "sigactions", NULL);
	gboolean handler = FALSE;
	for (gsize i = 0; i < g_variant_n_children(acts); i++) {
		guint32 signo;
		guint64 h, flags, restorer, mask;
		g_variant_get_child(acts, i, "(utttt)", &signo, &h, &flags, &restorer, &mask);
		if (signo == SIGALRM)
			handler = h > 1 && (flags & 0x10000000);
	}
	g_assert_true(handler);
	signal_workload(pid, SIGKILL);
	g_assert_true(g_remove(file) == 0);
}

/* Clear errors, the VM left running, no file left behind. */
static void expect_error(guint32 pid, const char *want)
{
	g_autofree char *file = g_build_filename(tmpdir, "error.svs", NULL);
	SvCheckpointOptions o = { .pid = pid, .output = file, .read_file = read_file };
	SvCheckpointStats st;
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_checkpoint(guest->machine, &o, &st, &error));
	g_assert_nonnull(error);
	if (!strstr(error->message, want))
		g_error("checkpoint of pid %u: '%s' lacks '%s'", pid, error->message, want);
	g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
	g_assert_cmpint(sv_machine_get_state(guest->machine, NULL), ==, SV_MACHINE_RUNNING);
}

static void test_errors(void)
{
	require_guest();
	expect_error(999999, "no guest process with pid 999999");
	expect_error(2, "kernel thread"); /* kthreadd */
	/* a directory that does not exist: the writer fails, nothing is left */
	guint32 pid = start_workload("sleeper", "1000", "30000");
	g_usleep(300 * 1000);
	SvCheckpointOptions o = { .pid = pid, .output = "/nonexistent-dir/x.svs" };
	SvCheckpointStats st;
	g_autoptr(GError) error = NULL;
	g_assert_false(sv_checkpoint(guest->machine, &o, &st, &error));
	g_assert_nonnull(error);
	g_assert_cmpint(sv_machine_get_state(guest->machine, NULL), ==, SV_MACHINE_RUNNING);
	/* a full disk: a 64 KiB tmpfs takes the metadata but not the pages */
	g_autofree char *small = g_build_filename(tmpdir, "small", NULL);
	g_assert_cmpint(g_mkdir(small, 0700), ==, 0);
	g_autofree char *mount = g_strdup_printf("mount -t tmpfs -o size=64k tmpfs '%s'", small);
	if (system(mount) != 0) {
		g_test_message(
			"cannot mount a small tmpfs here (not root?): disk-full case not run");
	} else {
		g_autofree char *out = g_build_filename(small, "x.svs", NULL);
		SvCheckpointOptions full = { .pid = pid, .output = out };
		g_clear_error(&error);
		g_assert_false(sv_checkpoint(guest->machine, &full, &st, &error));
		g_assert_nonnull(error);
		g_test_message("disk full: %s", error->message);
		GDir *d = g_dir_open(small, 0, NULL);
		g_assert_null(g_dir_read_name(d)); /* not even a temp file */
		g_dir_close(d);
		g_assert_cmpint(sv_machine_get_state(guest->machine, NULL), ==, SV_MACHINE_RUNNING);
		g_autofree char *umount = g_strdup_printf("umount '%s'", small);
		g_assert_cmpint(system(umount), ==, 0);
	}
	signal_workload(pid, SIGKILL);
	/* an fd snapvm cannot carry (a UNIX socket bound to a name: busybox
	 * syslogd's /dev/log) is refused by number and kind */
	const char *syslogd[] = { "/bin/busybox", "syslogd", "-n", "-O", "/tmp/syslog.out", NULL };
	guint32 syslogd_pid;
	g_clear_error(&error);
	g_assert_true(sv_agent_client_run(guest->agent, syslogd, SV_RUN_BUFFER_WHEN_DETACHED,
					  &syslogd_pid, &error));
	g_assert_no_error(error);
	g_usleep(500 * 1000);
	expect_error(syslogd_pid, "is a UNIX datagram socket bound to a name");
	signal_workload(syslogd_pid, SIGKILL);
	/* a socket option restore does not set again is refused by name */
	guint32 sockopt = start_workload("kobj-sockopt", "100000", "50");
	g_usleep(300 * 1000);
	expect_error(sockopt, "fd 70 is a socket with SO_LINGER set");
	signal_workload(sockopt, SIGKILL);
}

/* The command line: --json figures, a file inspect --verify accepts, --kill. */
static void test_cli(void)
{
	require_guest();
	guint32 pid = start_workload("counter", "100000", "50");
	g_usleep(300 * 1000);
	g_autofree char *snapvm = sv_test_build_path("host/snapvm");
	g_autofree char *file = g_build_filename(tmpdir, "cli.svs", NULL);
	g_autofree char *pid_s = g_strdup_printf("%u", pid);
	/* this process lets go of the agent's control port and of libvirt for
	 * the CLI's own */
	g_clear_pointer(&control, sv_agent_client_free);
	sv_machine_release_control(guest->machine);
	const char *argv[] = { snapvm,	"checkpoint", guest->machine->name,
			       "--pid", pid_s,	      "-o",
			       file,	"--kill",     "--json",
			       NULL };
	g_autofree char *out = sv_test_host_output(argv);
	g_assert_nonnull(strstr(out, "\"pause_ms\""));
	g_assert_nonnull(strstr(out, "\"files\" : 1"));
	const char *inspect[] = { snapvm, "inspect", "--verify", file, NULL };
	g_autofree char *shown = sv_test_host_output(inspect);
	g_assert_nonnull(strstr(shown, "counter-"));
	g_autoptr(GError) error = NULL;
	control = sv_agent_client_connect(guest->machine->agent_control_socket, 10000, &error);
	g_assert_no_error(error);
	g_assert_true(sv_agent_client_hello(control, 30000, NULL, &error));
	g_assert_no_error(error);
	/* --kill: the process is gone */
	for (int i = 0; i < 50; i++) {
		g_autoptr(GArray) procs = sv_agent_client_ps(control, &error);
		g_assert_no_error(error);
		gboolean alive = FALSE;
		for (guint k = 0; k < procs->len; k++) {
			const SvGuestProcess *p = &g_array_index(procs, SvGuestProcess, k);
			alive |= p->pid == pid && p->state != 'Z';
		}
		if (!alive)
			return;
		g_usleep(100 * 1000);
	}
	g_error("pid %u still alive after checkpoint --kill", pid);
}

int main(int argc, char **argv)
{
	arch_name = sv_test_take_arch(&argc, argv, arch_name);
	/* -p selects here: GLib's own would print a TAP plan per path */
	sv_test_take_paths(&argc, argv);
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	sv_test_state_dir();
	g_autofree char *boot = g_strdup_printf("/checkpoint/%s/boot", arch_name);
	g_test_add_func(boot, test_boot);
	for (const char *const *w = oracle_workloads; *w; w++) {
		g_autofree char *p = g_strdup_printf("/checkpoint/%s/oracle/%s", arch_name, *w);
		if (sv_test_wanted(p))
			g_test_add_data_func(p, *w, test_workload);
	}
#define ADD(path, fn)                                                                    \
	do {                                                                             \
		g_autofree char *p = g_strdup_printf("/checkpoint/%s/" path, arch_name); \
		if (sv_test_wanted(p))                                                   \
			g_test_add_func(p, fn);                                          \
	} while (0)
	ADD("running-sleeper", test_running_sleeper);
	ADD("busy-process-on-vcpu", test_busy_process_on_vcpu);
	ADD("oracle/spin-on-vcpu", test_spinning_process_oracle);
	ADD("pending-signal", test_pending_signal);
	ADD("errors", test_errors);
	ADD("cli", test_cli);
	int rc = g_test_run();
	g_clear_pointer(&control, sv_agent_client_free);
	sv_test_guest_free(guest);
	sv_test_state_dir_cleanup();
	if (tmpdir) {
		g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
		(void)!system(cmd);
	}
	return rc;
}
