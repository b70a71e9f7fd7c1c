/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: introspection and checkpoint capture on a hostile
 * guest. The guest's RAM is a real dump (a RAM seed, ram-seed.h, named by
 * SNAPVM_FUZZ_RAM_SEED); each input is a list of patches laid over a copy
 * of it, after which snapvm reads everything a checkpoint reads of the seed's
 * workload (sv_ram_seed_exercise). Every step must return success or a
 * GError: no crash, no hang, no runaway allocation (run with -timeout and
 * -rss_limit_mb). The patches are undone after each input.
 *
 * Random bytes at random places in 128 MiB would almost never touch what
 * introspection reads, so patches are aimed: a first clean run records
 * every guest-physical range the code reads (the guest-mem read hook), and
 * a patch names one of those reads, one of the pages read, or (rarely) any
 * byte of RAM. Besides raw bytes, a patch can write a kernel pointer to
 * another range the code reads (the direct-map address of it, plus a
 * delta), or a copy of the value read elsewhere: the kinds of corruption
 * that make lists loop, trees alias and structures overlap.
 *
 * Input: records of
 *   u32 selector  bits 30-31 mode: 0-1 a read (bits 0-15 pick it, bits 16-29
 *                 the byte in it), 2 a page read (bits 0-15 pick it, 16-27
 *                 the byte), 3 any byte of RAM (bits 0-29, modulo RAM size)
 *   u8 ctl        0x00-0x7f: ctl raw bytes follow
 *                 0x80: u16 read index, i16 delta follow; writes the 8-byte
 *                       direct-map pointer to that read's start + delta
 *                 0x81: u16 read index follows; copies the 8 bytes there
 *   payload
 * A cut-short record ends the list. The empty input is the clean run.
 *
 * BTF and kallsyms come from the image's kernel file, not from guest
 * memory, so they are loaded once; the part of sv_introspect_new that reads
 * guest memory (sv_arch_kernel_space_init) runs for every input. That is
 * why this includes introspect-private.h.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "tests/fuzz/ram-seed.h"
#include "host/introspect/introspect-private.h"

typedef struct {
	guint64 gpa;
	guint32 len;
} Read;

static struct {
	SvRamSeed *seed;
	guint8 *ram; /* writable shared mapping of the memfd the guest-mem maps */
	gsize ram_size;
	SvGuestMem *mem;
	SvIntrospect *tmpl; /* types and syms, shared by every input */
	GMappedFile *kernel;
	GBytes *kernel_bytes;
	GArray *reads;	     /* Read, distinct start addresses, in first-read order */
	GArray *pages;	     /* guint64 page gpa */
	GHashTable *seen;    /* read start -> 1 */
	GHashTable *seen_pg; /* page -> 1 */
	gboolean verbose;
} F;

/* Reads up to a page long are structures and table entries: the targets.
 * Longer ones are bulk copies (user pages) and scans. */
static void track(SvGpa gpa, gsize len, gpointer data)
{
	if (len > 4096)
		return;
	if (g_hash_table_add(F.seen, GSIZE_TO_POINTER(gpa.v + 1))) {
		Read r = { gpa.v, (guint32)len };
		g_array_append_val(F.reads, r);
	}
	for (guint64 p = gpa.v & ~4095ull; p < gpa.v + len; p += 4096)
		if (g_hash_table_add(F.seen_pg, GSIZE_TO_POINTER(p + 1)))
			g_array_append_val(F.pages, p);
}

static gint64 file_offset(guint64 gpa, gsize len)
{
	return sv_ram_seed_offset(F.seed, gpa, len);
}

/* A fresh SvIntrospect over the (patched) RAM, as sv_introspect_new would
 * make it; NULL when the guest's kernel-space facts do not pass. */
static SvIntrospect *introspect_for_input(void)
{
	SvIntrospect *in = g_new0(SvIntrospect, 1);
	*in = *F.tmpl;
	if (!sv_arch_kernel_space_init(in->arch, &in->space, F.mem, in->syms, F.kernel_bytes,
				       NULL)) {
		g_free(in);
		return NULL;
	}
	return in;
}

static void run_once(GString *log)
{
	SvIntrospect *in = introspect_for_input();
	if (in)
		sv_ram_seed_exercise(in, F.mem, F.seed->pid, log);
	else if (log)
		g_string_append(log, "kernel space init failed\n");
	g_free(in); /* types and syms belong to the template */
}

static void abort_on_critical(const char *domain, GLogLevelFlags level, const char *message,
			      gpointer data)
{
	g_log_default_handler(domain, level, message, data);
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
		abort();
}

static void die(const char *what, GError *error)
{
	fprintf(stderr, "fuzz-introspect: %s: %s\n", what, error ? error->message : "failed");
	exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = g_getenv("SNAPVM_FUZZ_RAM_SEED");
	if (!dir)
		die("SNAPVM_FUZZ_RAM_SEED names no RAM seed directory (make-ram-seed.sh makes one)",
		    NULL);
	F.verbose = g_getenv("SNAPVM_FUZZ_VERBOSE") != NULL;
	/* a GLib critical is a bug here (bad input reached an API unchecked):
	 * make it a crash the fuzzer reports (an abort, which it catches; a
	 * fatal log would trap) */
	g_log_set_default_handler(abort_on_critical, NULL);
	GError *error = NULL;
	F.seed = sv_ram_seed_load(dir, &error);
	if (!F.seed)
		die(dir, error);
	F.mem = sv_ram_seed_open_writable(F.seed, &F.ram, &F.ram_size, &error);
	if (!F.mem)
		die("guest memory", error);
	gchar *boot_name;
	g_autofree char *boot_file = g_build_filename(F.seed->image_dir, "boot-kernel", NULL);
	if (!g_file_get_contents(boot_file, &boot_name, NULL, &error))
		die("boot-kernel", error);
	g_strstrip(boot_name);
	g_autofree char *kernel = g_build_filename(F.seed->image_dir, boot_name, NULL);
	/* The image's symbol cache (a GVariant searched by bisection) costs
	 * more per lookup than a hash table, which matters at thousands of
	 * runs a second: load the image from a scratch directory of links,
	 * where there is no cache and symbols are decoded into a hash table. */
	g_autofree char *scratch = g_dir_make_tmp("snapvm-fuzz-image-XXXXXX", &error);
	if (!scratch)
		die("scratch dir", error);
	const char *const links[] = { "boot-kernel", "config", boot_name };
	for (guint i = 0; i < G_N_ELEMENTS(links); i++) {
		g_autofree char *from = g_build_filename(F.seed->image_dir, links[i], NULL);
		g_autofree char *to = g_build_filename(scratch, links[i], NULL);
		if (symlink(from, to) < 0)
			die("symlink", NULL);
	}
	F.tmpl = sv_introspect_new(F.seed->arch, scratch, F.mem, &error);
	if (!F.tmpl)
		die("introspection of the clean seed", error);
	g_autofree char *rm = g_strdup_printf("rm -rf '%s'", scratch);
	if (system(rm) != 0)
		die("removing the scratch dir", NULL);
	g_free(boot_name);
	F.kernel = g_mapped_file_new(kernel, FALSE, &error);
	if (!F.kernel)
		die(kernel, error);
	F.kernel_bytes = g_mapped_file_get_bytes(F.kernel);
	/* the clean run: where introspection reads, and that it all works */
	F.reads = g_array_new(FALSE, FALSE, sizeof(Read));
	F.pages = g_array_new(FALSE, FALSE, sizeof(guint64));
	F.seen = g_hash_table_new(NULL, NULL);
	F.seen_pg = g_hash_table_new(NULL, NULL);
	sv_guest_mem_set_read_hook(F.mem, track, NULL);
	GString *log = g_string_new(NULL);
	run_once(log);
	sv_guest_mem_set_read_hook(F.mem, NULL, NULL);
	if (log->len) {
		fprintf(stderr, "fuzz-introspect: the clean seed fails:\n%s", log->str);
		exit(1);
	}
	g_string_free(log, TRUE);
	fprintf(stderr,
		"fuzz-introspect: seed %s, %" G_GSIZE_FORMAT
		" MiB, pid %u: %u reads on %u pages to aim at\n",
		dir, F.ram_size >> 20, F.seed->pid, F.reads->len, F.pages->len);
	return 0;
}

typedef struct {
	gint64 off;
	guint8 old[128];
	guint len;
} Undo;

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
	g_autoptr(GArray) undo = g_array_new(FALSE, FALSE, sizeof(Undo));
	const guint8 *p = data, *end = data + size;
	while (end - p >= 5) {
		guint32 sel = sv_get_le32(p);
		guint8 ctl = p[4];
		p += 5;
		guint8 bytes[128];
		guint len;
		if (ctl < 0x80) {
			len = ctl;
			if ((gsize)(end - p) < len)
				break;
			memcpy(bytes, p, len);
			p += len;
		} else if (ctl == 0x80 && end - p >= 4) {
			const Read *t = &g_array_index(F.reads, Read,
						       sv_get_le16(p) % F.reads->len);
			gint16 delta = (gint16)sv_get_le16(p + 2);
			guint64 va = F.tmpl->space.direct_map_base + t->gpa + delta;
			for (guint i = 0; i < 8; i++)
				bytes[i] = (guint8)(va >> (8 * i));
			len = 8;
			p += 4;
		} else if (ctl == 0x81 && end - p >= 2) {
			const Read *t = &g_array_index(F.reads, Read,
						       sv_get_le16(p) % F.reads->len);
			gint64 from = file_offset(t->gpa, 8);
			p += 2;
			if (from < 0)
				continue;
			memcpy(bytes, F.ram + from, 8);
			len = 8;
		} else {
			break;
		}
		guint64 gpa;
		switch (sel >> 30) {
		case 0:
		case 1: {
			const Read *r = &g_array_index(F.reads, Read,
						       (sel & 0xffff) % F.reads->len);
			gpa = r->gpa + ((sel >> 16) & 0x3fff) % MAX(r->len, 1);
			break;
		}
		case 2:
			gpa = g_array_index(F.pages, guint64, (sel & 0xffff) % F.pages->len) +
			      ((sel >> 16) & 0xfff);
			break;
		default:
			gpa = (sel & 0x3fffffff) % F.ram_size; /* a file offset, really */
			gpa = F.seed->regions[0].gpa.v + MIN(gpa, F.seed->regions[0].size - 1);
			break;
		}
		gint64 off = file_offset(gpa, 1);
		if (off < 0 || len == 0)
			continue;
		len = (guint)MIN((guint64)len, F.ram_size - (guint64)off);
		Undo u = { .off = off, .len = len };
		memcpy(u.old, F.ram + off, len);
		g_array_append_val(undo, u);
		memcpy(F.ram + off, bytes, len);
	}
	g_autoptr(GString) log = F.verbose ? g_string_new(NULL) : NULL;
	run_once(log);
	if (log)
		fprintf(stderr, "%u patches:\n%s", undo->len, log->str);
	for (guint i = undo->len; i > 0; i--) {
		const Undo *u = &g_array_index(undo, Undo, i - 1);
		memcpy(F.ram + u->off, u->old, u->len);
	}
	return 0;
}
