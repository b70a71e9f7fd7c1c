/* SPDX-License-Identifier: MIT */
/*
 * test-restore-image.c - the flat restore image a fixed snapshot gives
 * (host/restore/): the same bytes every time, so a change to how the image
 * is built that was meant to change nothing is proved to change nothing.
 *
 * The snapshot has something for every part of the image: task and signal
 * state, registers, TLS, FPU, mm and auxv, mappings of a carried and of an
 * uncarried file, heap, stack, vDSO, anonymous memory, pages a file mapping
 * holds unchanged (left out of the image) and changed, fds of every kind
 * and the process environment. The image of it is checked field by field
 * where the test says why a value is what it is, and whole by its SHA-256.
 * When the image format changes on purpose, the expected digests change
 * with it (the test prints the new ones). And restore.c, which packs the
 * image with the guest restorer into the restore guest's initrd.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "snapvm/restore-image-format.h"
#include "snapvm/snapshot-format.h"
#include "base/errors.h"
#include "host/restore/restore.h"
#include "host/snapshot/snapshot-reader.h"
#include "host/snapshot/snapshot-writer.h"
#include "tests/test-paths.h"
#include "tests/unit/fd-entry.h"

#define PS 4096u
#define TEXT 0x400000ull	  /* /bin/prog, 4 pages r-x, pgoff 0 */
#define DATA 0x404000ull	  /* /bin/prog, 3 pages rw- private, pgoff 4 */
#define LIB 0x7f0000000000ull	  /* /lib/uncarried.so, 2 pages r-- */
#define HEAP 0x500000ull	  /* 3 pages */
#define ANON 0x7f0000100000ull	  /* 2 pages */
#define STACK 0x7ffffffde000ull	  /* 4 pages */
#define VDSO 0x7ffff7fc1000ull	  /* vvar 4 pages, then vdso 2 */
#define PROG_BYTES (6 * PS + 100) /* not a whole number of pages */

/* The image of the snapshot below, without and with SV_RIMG_HOST_PAGES. */
#define IMAGE_SHA256 "84560ba24b95364425a4f183543369dd2f57b2e7ef2bebe6ba656d21400ba1b7"
#define IMAGE_HOST_PAGES_SHA256 "880fdd0f0716ebc047061416c5282f4aebf2fbc55e8f27aeace07c53c93217be"

static char *tmp_dir;

static void fill(guint8 *p, gsize len, guint seed)
{
	for (gsize i = 0; i < len; i++)
		p[i] = (guint8)(seed * 131 + i * 7 + (i >> 12) + 1);
}

static GVariant *regs_section(void);
static GVariant *fpu_section(void);
static GVariant *tls_section(void);

/* A signal queue of one signal, its siginfo's code 7 (SV_TASK_SIGQUEUE_TYPE). */
static GVariant *one_queued(guint32 signo)
{
	guint8 info[128] = { (guint8)signo, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 7 };
	return g_variant_new_parsed("[(%u, %@ay)]", signo,
				    g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, info,
							      sizeof(info), 1));
}

/* One more thread (the TASK dict's "threads"); without regs if told. */
static GVariant *thread_entry(guint32 tid, gboolean with_regs)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(NULL);
	g_variant_dict_insert(d, "tid", "u", tid);
	g_variant_dict_insert(d, "comm", "s", "worker");
	g_variant_dict_insert(d, "clear_child_tid", "t", (guint64)0x7ffff7000910 + tid);
	g_variant_dict_insert(d, "set_child_tid", "t", (guint64)0);
	g_variant_dict_insert(d, "robust_list", "t", (guint64)0x7ffff7000920 + tid);
	g_variant_dict_insert(d, "rseq", "t", (guint64)0x7ffff70009e0 + tid);
	g_variant_dict_insert(d, "rseq_len", "u", 32u);
	g_variant_dict_insert(d, "rseq_sig", "u", 0x53053053u);
	g_variant_dict_insert(d, "state", "u", 0x2001u);
	g_variant_dict_insert(d, "personality", "u", 0x0040000u);
	g_variant_dict_insert(d, "sigblocked", "t", (guint64)tid);
	g_variant_dict_insert(d, "sigblocked_real", "t", (guint64)0);
	g_variant_dict_insert(d, "sigpending", "t", (guint64)0x20);
	g_variant_dict_insert(d, "sigaltstack_sp", "t", (guint64)0);
	g_variant_dict_insert(d, "sigaltstack_size", "t", (guint64)0);
	g_variant_dict_insert(d, "sigaltstack_flags", "u", 2u);
	g_variant_dict_insert_value(d, "sigqueue", one_queued(12));
	g_variant_dict_insert(d, "regs_source", "s", "memory");
	g_variant_dict_insert(d, "syscall_fixup", "s", "restart");
	g_variant_dict_insert(d, "on_cpu", "b", FALSE);
	if (with_regs)
		g_variant_dict_insert_value(d, "regs", regs_section());
	g_variant_dict_insert_value(d, "fpu", fpu_section());
	g_variant_dict_insert_value(d, "tls", tls_section());
	return g_variant_dict_end(d);
}

/* threads: the TASK dict's "threads", or NULL for a single-threaded
 * process (taken). */
static GVariant *task_section(GVariant *threads)
{
	g_autoptr(GVariantDict) d = g_variant_dict_new(NULL);
	if (threads)
		g_variant_dict_insert_value(d, "threads", threads);
	g_variant_dict_insert(d, "pid", "u", 42u);
	g_variant_dict_insert(d, "tid", "u", 42u);
	g_variant_dict_insert(d, "comm", "s", "golden");
	g_variant_dict_insert(d, "clear_child_tid", "t", (guint64)0x7ffff7d8aa10);
	g_variant_dict_insert(d, "set_child_tid", "t", (guint64)0x7ffff7d8aa10);
	g_variant_dict_insert(d, "robust_list", "t", (guint64)0x7ffff7d8aa20);
	g_variant_dict_insert(d, "rseq", "t", (guint64)0x7ffff7d8b0e0);
	g_variant_dict_insert(d, "state", "u", 1u);
	g_variant_dict_insert(d, "personality", "u", 0x0040000u);
	g_variant_dict_insert(d, "rseq_sig", "u", 0x53053053u);
	g_variant_dict_insert(d, "rseq_len", "u", 32u);
	static const char *const ids[] = { "uid",  "gid",  "suid",  "sgid",
					   "euid", "egid", "fsuid", "fsgid" };
	for (guint i = 0; i < G_N_ELEMENTS(ids); i++)
		g_variant_dict_insert(d, ids[i], "u", 0u);
	g_variant_dict_insert(d, "sigblocked", "t", (guint64)0x10000);
	/* inside sigsuspend: the image gets the mask it returns to */
	g_variant_dict_insert(d, "sigblocked_real", "t", (guint64)0x4002);
	g_variant_dict_insert(d, "sigpending", "t", (guint64)0x400);
	g_variant_dict_insert(d, "sigpending_shared", "t", (guint64)0x800);
	g_variant_dict_insert(d, "sigaltstack_sp", "t", (guint64)0x7f0000101000);
	g_variant_dict_insert(d, "sigaltstack_size", "t", (guint64)8192);
	g_variant_dict_insert(d, "sigaltstack_flags", "u", 0u);
	g_variant_dict_insert_value(
		d, "sigactions",
		g_variant_new_parsed("[(@u 2, @t 0x401230, @t 0x4000000, @t 0x401800, @t 0x2), "
				     "(10, 0x401240, 0x14000000, 0x401800, 0)]"));
	g_variant_dict_insert_value(d, "sigqueue", one_queued(11));
	g_variant_dict_insert_value(d, "sigqueue_shared", one_queued(34));
	g_variant_dict_insert(d, "regs_source", "s", "memory");
	g_variant_dict_insert(d, "syscall_fixup", "s", "none");
	g_variant_dict_insert(d, "on_cpu", "b", FALSE);
	g_variant_dict_insert(d, "cwd", "s", "/work");
	g_variant_dict_insert(d, "umask", "u", 022u);
	g_autoptr(GVariantBuilder) rl = g_variant_builder_new(G_VARIANT_TYPE("a(tt)"));
	for (int i = 0; i < 16; i++)
		g_variant_builder_add(rl, "(tt)", (guint64)(i == 7 ? 1024 : G_MAXUINT64),
				      (guint64)(i == 7 ? 4096 : G_MAXUINT64));
	g_variant_dict_insert(d, "rlimits", "a(tt)", rl);
	static const guint32 groups[] = { 0, 4, 27 };
	g_variant_dict_insert_value(d, "groups",
				    g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, groups, 3, 4));
	g_variant_dict_insert(d, "itimer_real", "(tt)", (guint64)250000000, (guint64)500000000);
	g_variant_dict_insert(d, "itimer_virtual", "(tt)", (guint64)0, (guint64)0);
	g_variant_dict_insert(d, "itimer_prof", "(tt)", (guint64)3000000, (guint64)0);
	GVariant *fds[] = {
		fd_entry(0, "chr", 0100000, 0, 0xa0, "/dev/null", 0, NULL, FALSE, TRUE),
		fd_entry(1, "pipe", 01, 0, 0xa1, NULL, 0x55, NULL, FALSE, TRUE),
		fd_entry(2, "pipe", 01, 0, 0xa1, NULL, 0x55, NULL, FALSE, TRUE),
		fd_entry(3, "file", 0100002, 77, 0xb0, "/bin/prog", 0, NULL, FALSE, FALSE),
		fd_entry(4, "dir", 0200000, 0, 0xb1, "/work", 0, NULL, FALSE, FALSE),
		fd_entry(5, "pipe", 04000, 0, 0xc0, NULL, 0x77, "unread bytes", TRUE, FALSE),
		fd_entry(6, "pipe", 04001, 0, 0xc1, NULL, 0x77, NULL, FALSE, FALSE),
		fd_entry(7, "file", 0100000, 5, 0xb0, "/bin/prog", 0, NULL, FALSE, FALSE),
	};
	g_variant_dict_insert_value(d, "fds",
				    g_variant_new_array(G_VARIANT_TYPE("a{sv}"), fds,
							G_N_ELEMENTS(fds)));
	return g_variant_dict_end(d);
}

static GVariant *regs_section(void)
{
	static const char *const names[] = { "ip", "sp", "ax", "bx", "cx", "flags", "orig_ax" };
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE("a{st}"));
	for (guint i = 0; i < G_N_ELEMENTS(names); i++)
		g_variant_builder_add(&b, "{st}", names[i], (guint64)0x401000 + i * 0x111);
	guint8 raw[168];
	fill(raw, sizeof(raw), 3);
	return g_variant_new("(a{st}@ay)", &b,
			     g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, raw, sizeof(raw), 1));
}

static GVariant *fpu_section(void)
{
	guint8 xsave[832];
	fill(xsave, sizeof(xsave), 5);
	return g_variant_new("(ut@a{sv}@ay)", 832u, (guint64)7,
			     g_variant_new_parsed("@a{sv} {'format': <'xsave'>}"),
			     g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, xsave, sizeof(xsave),
						       1));
}

static GVariant *tls_section(void)
{
	static const guint8 no_descriptors[24] = { 0 };
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "fs_base", g_variant_new_uint64(0x4c6380));
	g_variant_builder_add(&b, "{sv}", "gs_base", g_variant_new_uint64(0));
	g_variant_builder_add(&b, "{sv}", "fs", g_variant_new_uint32(0));
	g_variant_builder_add(&b, "{sv}", "gs", g_variant_new_uint32(0));
	/* descriptor tables: restored only when empty */
	g_variant_builder_add(&b, "{sv}", "tls_array",
			      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, no_descriptors,
							sizeof(no_descriptors), 1));
	g_variant_builder_add(&b, "{sv}", "source", g_variant_new_string("memory"));
	return g_variant_builder_end(&b);
}

static GVariant *mm_section(void)
{
	return g_variant_new_parsed(
		"@(a{st}a(tt)) ({'start_code': 0x400000, 'end_code': 0x403a00, "
		"'start_data': 0x404000, 'end_data': 0x406100, 'start_brk': 0x500000, "
		"'brk': 0x502800, 'start_stack': 0x7ffffffe1f00, 'arg_start': 0x7ffffffe1f40, "
		"'arg_end': 0x7ffffffe1f50, 'env_start': 0x7ffffffe1f50, 'env_end': 0x7ffffffe1fe0, "
		"'mmap_base': 0x7ffff7fff000}, "
		"[(33, 0x7ffff7fc5000), (6, 4096), (25, 0x7ffffffe1e10), (0, 0), (0, 0)])");
}

static GVariant *vmas_section(const char *prog_sha)
{
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE(SV_SNAP_VMAS_TYPE));
	g_variant_builder_add(&b, "(ttuttss)", TEXT, TEXT + 4 * PS, 5u, (guint64)0x875, (guint64)0,
			      "/bin/prog", prog_sha);
	g_variant_builder_add(&b, "(ttuttss)", DATA, DATA + 3 * PS, 3u, (guint64)0x100073,
			      (guint64)4, "/bin/prog", prog_sha);
	g_variant_builder_add(&b, "(ttuttss)", HEAP, HEAP + 3 * PS, 3u, (guint64)0x100073,
			      (guint64)0, "[heap]", "");
	g_variant_builder_add(&b, "(ttuttss)", LIB, LIB + 2 * PS, 1u, (guint64)0x8000071,
			      (guint64)0, "/lib/uncarried.so", "");
	g_variant_builder_add(&b, "(ttuttss)", ANON, ANON + 2 * PS, 3u, (guint64)0x200073,
			      (guint64)0, "", "");
	g_variant_builder_add(&b, "(ttuttss)", VDSO, VDSO + 4 * PS, 1u, (guint64)0x4044411,
			      (guint64)0, "[vvar]", "");
	g_variant_builder_add(&b, "(ttuttss)", VDSO + 4 * PS, VDSO + 6 * PS, 5u, (guint64)0x4000075,
			      (guint64)0, "[vdso]", "");
	g_variant_builder_add(&b, "(ttuttss)", STACK, STACK + 4 * PS, 3u, (guint64)0x100173,
			      (guint64)0, "[stack]", "");
	return g_variant_builder_end(&b);
}

/* Writes the snapshot; the pages of the program's mappings hold the
 * file's bytes except one page of its data. */
static char *write_snapshot(GVariant *threads)
{
	g_autofree char *path = g_build_filename(tmp_dir, "golden.snapvm", NULL);
	SvSnapshotWriterOptions o = { .arch = SV_SNAP_ARCH_X86_64,
				      .byte_order = SV_SNAP_LITTLE_ENDIAN,
				      .page_size = PS,
				      .chunk_bytes = 8 * PS };
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotWriter) w = sv_snapshot_writer_new(path, &o, &error);
	g_assert_no_error(error);
	g_autofree guint8 *prog = g_malloc0(7 * PS);
	fill(prog, PROG_BYTES, 1);
	g_autoptr(GBytes) prog_bytes = g_bytes_new(prog, PROG_BYTES);
	g_autofree char *sha = sv_snapshot_writer_add_file(w, prog_bytes, &error);
	g_assert_no_error(error);
	const struct {
		guint32 kind;
		GVariant *value;
	} meta[] = {
		{ SV_SNAP_SECTION_TASK, task_section(threads) },
		{ SV_SNAP_SECTION_REGS, regs_section() },
		{ SV_SNAP_SECTION_FPU, fpu_section() },
		{ SV_SNAP_SECTION_TLS, tls_section() },
		{ SV_SNAP_SECTION_MM, mm_section() },
		{ SV_SNAP_SECTION_VMAS, vmas_section(sha) },
	};
	for (guint i = 0; i < G_N_ELEMENTS(meta); i++) {
		sv_snapshot_writer_add_metadata(w, meta[i].kind, meta[i].value, &error);
		g_assert_no_error(error);
	}
	/* text: the file's first 4 pages as they are */
	g_assert_true(sv_snapshot_writer_add_pages_all(w, TEXT, prog, 4, &error));
	/* data (pgoff 4): page 0 the file's, page 1 written to, page 2 the
	 * file's last 100 bytes and zeros after them */
	g_autofree guint8 *data = g_memdup2(prog + 4 * PS, 3 * PS);
	data[PS + 10] ^= 0xff;
	g_assert_true(sv_snapshot_writer_add_pages_all(w, DATA, data, 3, &error));
	g_autofree guint8 *buf = g_malloc(4 * PS);
	fill(buf, 4 * PS, 9);
	g_assert_true(sv_snapshot_writer_add_pages(w, LIB, buf, 1, &error));
	fill(buf, 3 * PS, 11);
	memset(buf + PS, 0, PS); /* a zero page: not stored */
	g_assert_true(sv_snapshot_writer_add_pages(w, HEAP, buf, 3, &error));
	fill(buf, 2 * PS, 13);
	g_assert_true(sv_snapshot_writer_add_pages(w, ANON, buf, 2, &error));
	fill(buf, 4 * PS, 17);
	g_assert_true(sv_snapshot_writer_add_pages(w, STACK + PS, buf, 3, &error));
	g_assert_true(sv_snapshot_writer_finish(w, &error));
	g_assert_no_error(error);
	return g_steal_pointer(&path);
}

static char *file_sha256(const char *path)
{
	g_autofree char *contents = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guint8 *)contents, len);
}

static void check_image(gboolean host_pages, const char *want_sha256)
{
	g_autofree char *snap = write_snapshot(NULL);
	g_autofree char *image = g_build_filename(tmp_dir, "image", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(snap, &error);
	g_assert_no_error(error);
	g_auto(SvRestoreImageInfo) info = { 0 };
	g_assert_true(sv_restore_image_write(r, image, host_pages, &info, &error));
	g_assert_no_error(error);

	g_assert_cmpuint(info.pid, ==, 42);
	g_assert_cmpstr(info.comm, ==, "golden");
	g_assert_cmpuint(info.nvmas, ==, 8);
	g_assert_cmpuint(info.nfiles_carried, ==, 1);
	g_assert_true(info.no_files); /* /lib/uncarried.so */
	/* stored: 1 data page that differs from the file, lib 1, heap 2,
	 * anon 2, stack 3; the file's own pages are left out */
	g_assert_cmpuint(info.pages, ==, 9);
	g_assert_cmpuint(info.runs->len, >=, 5);
	g_assert_cmpuint(g_array_index(info.runs, SvRestorePageRun, 0).vaddr, ==, DATA + PS);

	g_autofree char *contents = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(image, &contents, &len, NULL));
	g_assert_cmpuint(len, ==, info.image_bytes);
	struct sv_rimg_header h;
	memcpy(&h, contents, sizeof(h));
	g_assert_cmpmem(h.magic, 8, SV_RIMG_MAGIC, 8);
	g_assert_cmpuint(h.flags, ==,
			 SV_RIMG_NO_FILES | SV_RIMG_FDS | (host_pages ? SV_RIMG_HOST_PAGES : 0));
	g_assert_cmpuint(h.sigblocked, ==, 0x4002);
	g_assert_cmpuint(h.nfiles, ==, 2); /* /bin/prog once, mapped twice and open twice */
	g_assert_cmpuint(h.nfds, ==, 8);
	g_assert_cmpuint(h.nsigactions, ==, 2);
	g_assert_cmpuint(h.nsigqueue, ==, 2);
	g_assert_cmpuint(h.nauxv, ==, 4);     /* up to and with the first AT_NULL */
	g_assert_cmpuint(h.nregs, ==, 7 + 4); /* REGS, and TLS's integers */

	g_autofree char *got = file_sha256(image);
	if (g_strcmp0(got, want_sha256))
		g_error("the restore image (host_pages %d) has SHA-256 %s, not %s: if the image "
			"format changed on purpose, this is the new digest",
			host_pages, got, want_sha256);
	g_unlink(image);
	g_unlink(snap);
}

static void test_image_bytes(void)
{
	check_image(FALSE, IMAGE_SHA256);
}

static void test_image_bytes_host_pages(void)
{
	check_image(TRUE, IMAGE_HOST_PAGES_SHA256);
}

/* --lazy (SV_RIMG_LAZY, host/restore/lazy-image.c): the pages of the
 * private anonymous mappings (heap 2, anon 2, stack 3) become lazy runs,
 * their mappings SV_RIMG_VMA_LAZY; the file mappings' changed pages stay
 * staged (data 1, lib 1). */
static void test_lazy_split(void)
{
	g_autofree char *snap = write_snapshot(NULL);
	g_autofree char *image = g_build_filename(tmp_dir, "image-lazy", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(snap, &error);
	g_assert_no_error(error);
	g_auto(SvRestoreImageInfo) info = { 0 };
	g_assert_true(sv_restore_image_write(r, image, SV_RESTORE_PAGES_LAZY, &info, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(info.pages, ==, 2);
	g_assert_cmpuint(info.lazy_pages, ==, 7);
	g_autofree char *contents = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(image, &contents, &len, NULL));
	struct sv_rimg_header h;
	memcpy(&h, contents, sizeof(h));
	g_assert_cmpuint(h.flags & (SV_RIMG_LAZY | SV_RIMG_HOST_PAGES), ==,
			 SV_RIMG_LAZY | SV_RIMG_HOST_PAGES);
	guint64 lazy = 0, staged = 0;
	for (guint i = 0; i < h.nlazy_runs; i++) {
		struct sv_rimg_run run;
		memcpy(&run, contents + h.off_lazy_runs + i * sizeof(run), sizeof(run));
		lazy += run.npages;
		gboolean in_lazy_vma = FALSE;
		for (guint k = 0; k < h.nvmas; k++) {
			struct sv_rimg_vma v;
			memcpy(&v, contents + h.off_vmas + k * sizeof(v), sizeof(v));
			if (v.start <= run.vaddr && run.vaddr + run.npages * PS <= v.end)
				in_lazy_vma = (v.flags & SV_RIMG_VMA_LAZY) && v.file < 0;
		}
		g_assert_true(in_lazy_vma);
	}
	for (guint i = 0; i < h.nruns; i++) {
		struct sv_rimg_run run;
		memcpy(&run, contents + h.off_runs + i * sizeof(run), sizeof(run));
		staged += run.npages;
	}
	g_assert_cmpuint(lazy, ==, 7);
	g_assert_cmpuint(staged, ==, 2);
	g_unlink(image);
	g_unlink(snap);
}

/* A process with two more threads: their records and their slices of the
 * thread tables, each as the snapshot had it. */
static void test_threads(void)
{
	GVariant *entries[] = { thread_entry(43, TRUE), thread_entry(45, TRUE) };
	g_autofree char *snap = write_snapshot(g_variant_new_array(NULL, entries, 2));
	g_autofree char *image = g_build_filename(tmp_dir, "image-threads", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(snap, &error);
	g_assert_no_error(error);
	g_assert_true(sv_restore_image_write(r, image, FALSE, NULL, &error));
	g_assert_no_error(error);
	g_autofree char *contents = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(image, &contents, &len, NULL));
	struct sv_rimg_header h;
	memcpy(&h, contents, sizeof(h));
	g_assert_cmpuint(h.pid, ==, 42);
	g_assert_cmpuint(h.nthreads, ==, 2);
	g_assert_cmpuint(h.nthread_regs, ==, 2 * (7 + 4));
	g_assert_cmpuint(h.nthread_sigqueue, ==, 2);
	g_assert_cmpuint(h.nsigqueue, ==, 2); /* the leader's own and the shared one */
	g_assert_cmpuint(h.off_threads + 2 * sizeof(struct sv_rimg_thread), <=, len);
	guint8 xsave[832];
	fill(xsave, sizeof(xsave), 5);
	for (guint i = 0; i < 2; i++) {
		struct sv_rimg_thread t;
		memcpy(&t, contents + h.off_threads + i * sizeof(t), sizeof(t));
		g_assert_cmpuint(t.tid, ==, i ? 45 : 43);
		g_assert_cmpstr(t.comm, ==, "worker");
		g_assert_cmpuint(t.first_reg, ==, i * 11);
		g_assert_cmpuint(t.nregs, ==, 11);
		g_assert_cmpuint(t.first_sigqueue, ==, i);
		g_assert_cmpuint(t.nsigqueue, ==, 1);
		g_assert_cmphex(t.sigblocked, ==, t.tid);
		g_assert_cmphex(t.sigpending, ==, 0x20);
		g_assert_cmphex(t.clear_child_tid, ==, 0x7ffff7000910 + t.tid);
		g_assert_cmphex(t.robust_list, ==, 0x7ffff7000920 + t.tid);
		g_assert_cmphex(t.rseq, ==, 0x7ffff70009e0 + t.tid);
		g_assert_cmpuint(t.fpu_size, ==, 832);
		g_assert_cmpuint(t.fpu_off % 64, ==, 0);
		g_assert_cmpuint(h.off_thread_fpu + t.fpu_off + t.fpu_size, <=, len);
		g_assert_cmpmem(contents + h.off_thread_fpu + t.fpu_off, 832, xsave, 832);
		struct sv_rimg_named reg;
		memcpy(&reg, contents + h.off_thread_regs + t.first_reg * sizeof(reg), sizeof(reg));
		g_assert_cmpstr(reg.name, !=, "");
		struct sv_rimg_sigqueue q;
		memcpy(&q, contents + h.off_thread_sigqueue + t.first_sigqueue * sizeof(q),
		       sizeof(q));
		g_assert_cmpuint(q.signo, ==, 12);
		g_assert_cmpuint(q.shared, ==, 0);
	}
	g_unlink(image);
	g_unlink(snap);
}

/* Threads restore cannot recreate are refused, naming them. */
static void expect_thread_refusal(GVariant *threads, const char *want)
{
	g_autofree char *snap = write_snapshot(threads);
	g_autofree char *image = g_build_filename(tmp_dir, "image-refused", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(snap, &error);
	g_assert_no_error(error);
	g_assert_false(sv_restore_image_write(r, image, FALSE, NULL, &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	if (!strstr(error->message, want))
		g_error("'%s' lacks '%s'", error->message, want);
	g_assert_false(g_file_test(image, G_FILE_TEST_EXISTS));
	g_unlink(snap);
}

static void test_threads_refused(void)
{
	GVariant *twice[] = { thread_entry(43, TRUE), thread_entry(43, TRUE) };
	expect_thread_refusal(g_variant_new_array(NULL, twice, 2), "thread id 43 appears twice");
	GVariant *leader[] = { thread_entry(42, TRUE) };
	expect_thread_refusal(g_variant_new_array(NULL, leader, 1), "thread id 42 appears twice");
	GVariant *no_regs[] = { thread_entry(44, FALSE) };
	expect_thread_refusal(g_variant_new_array(NULL, no_regs, 1),
			      "thread 44 in the snapshot has no 'regs'");
}

/* One entry of a newc cpio archive at *off (moved past it); FALSE at its
 * end (TRAILER!!!). */
static gboolean cpio_next(const guint8 *a, gsize len, gsize *off, char **ret_name,
			  GBytes **ret_data)
{
	g_assert_cmpuint(*off + 110, <=, len);
	g_assert_cmpmem(a + *off, 6, "070701", 6);
	char field[9] = { 0 };
	memcpy(field, a + *off + 6 + 6 * 8, 8); /* c_filesize */
	gsize size = g_ascii_strtoull(field, NULL, 16);
	memcpy(field, a + *off + 6 + 11 * 8, 8); /* c_namesize */
	gsize namesize = g_ascii_strtoull(field, NULL, 16);
	gsize name_at = *off + 110, data_at = (name_at + namesize + 3) & ~(gsize)3;
	g_assert_cmpuint(data_at + size, <=, len);
	*ret_name = g_strndup((const char *)a + name_at, namesize);
	*ret_data = g_bytes_new(a + data_at, size);
	*off = (data_at + size + 3) & ~(gsize)3;
	return strcmp(*ret_name, "TRAILER!!!") != 0;
}

/* restore.c: the snapshot's arch and its refusal of another, and the
 * initrd that carries the guest restorer (the build's own) and the image
 * (the bytes test_image_bytes pins) after the image's base initramfs. */
static void test_initrd(void)
{
	g_autofree char *restorer_path = sv_test_build_path("guest/restorer/snapvm-restore-x86_64");
	if (!g_file_test(restorer_path, G_FILE_TEST_EXISTS)) {
		g_test_skip("this build has no x86_64 restorer (no x86_64-linux-gnu-gcc)");
		return;
	}
	g_autofree char *snap = write_snapshot(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(snap, &error);
	g_assert_no_error(error);
	g_assert_null(sv_restore_arch(r, "aarch64", &error));
	g_assert_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "cannot be restored in an aarch64 guest"));
	g_clear_error(&error);
	const SvArchOps *arch = sv_restore_arch(r, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(arch->name, ==, "x86_64");

	g_autofree char *dir = g_build_filename(tmp_dir, "initrd", NULL);
	g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
	g_autofree char *base = g_build_filename(tmp_dir, "base.cpio", NULL);
	g_assert_true(g_file_set_contents(base, "base\n", 5, NULL)); /* padded to 8 */
	g_autofree char *initrd = NULL;
	g_auto(SvRestoreImageInfo) info = { 0 };
	g_assert_true(sv_restore_build_initrd(r, arch, base, dir, FALSE, &initrd, &info, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(info.pid, ==, 42);

	g_autofree guint8 *a = NULL;
	gsize len, off = 8;
	g_assert_true(g_file_get_contents(initrd, (char **)&a, &len, NULL));
	g_assert_cmpmem(a, 8, "base\n\0\0\0", 8);
	g_autofree char *want_restorer = NULL;
	gsize want_len;
	g_assert_true(g_file_get_contents(restorer_path, &want_restorer, &want_len, NULL));
	guint found = 0;
	char *name;
	GBytes *data;
	while (cpio_next(a, len, &off, &name, &data)) {
		gsize n;
		const guint8 *d = g_bytes_get_data(data, &n);
		if (!strcmp(name, SV_RIMG_GUEST_RESTORER + 1)) {
			g_assert_cmpmem(d, n, want_restorer, want_len);
			found |= 1;
		} else if (!strcmp(name, SV_RIMG_GUEST_IMAGE + 1)) {
			g_autofree char *sha = g_compute_checksum_for_data(G_CHECKSUM_SHA256, d, n);
			g_assert_cmpstr(sha, ==, IMAGE_SHA256);
			found |= 2;
		}
		g_free(name);
		g_bytes_unref(data);
	}
	g_free(name);
	g_bytes_unref(data);
	g_assert_cmpuint(found, ==, 3);
	/* the image and restorer files went into the initrd: only it is left */
	g_unlink(initrd);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
	g_unlink(base);
	g_unlink(snap);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_autoptr(GError) error = NULL;
	tmp_dir = g_dir_make_tmp("test-restore-image-XXXXXX", &error);
	g_assert_no_error(error);
	g_test_add_func("/restore-image/bytes", test_image_bytes);
	g_test_add_func("/restore-image/bytes-host-pages", test_image_bytes_host_pages);
	g_test_add_func("/restore-image/lazy-split", test_lazy_split);
	g_test_add_func("/restore-image/initrd", test_initrd);
	g_test_add_func("/restore-image/threads", test_threads);
	g_test_add_func("/restore-image/threads-refused", test_threads_refused);
	int rc = g_test_run();
	g_rmdir(tmp_dir);
	g_free(tmp_dir);
	return rc;
}
