/* SPDX-License-Identifier: MIT */
/*
 * cli-inspect.c - `snapvm inspect FILE [--json] [--verify]`.
 *
 * A snapshot is input from whoever wrote it (and its strings from the guest
 * it came from): every string from it is printed through
 * sv_text_for_terminal(); JSON is escaped by json-glib, and GVariant's
 * normal form, which the reader returns, has only valid UTF-8 strings.
 */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "snapvm/snapshot-fs-keys.h"
#include "snapvm/snapshot-task-keys.h"
#include "host/cli/cli.h"
#include "base/errors.h"
#include "host/snapshot/snapshot-fds.h"
#include "host/snapshot/snapshot-reader.h"
#include "host/snapshot/snapshot-variant.h"
#include "host/util/text-escape.h"

static char *human_size(guint64 bytes)
{
	return g_format_size_full(bytes, G_FORMAT_SIZE_IEC_UNITS);
}

/* "key=value" for each entry of an a{s*} dictionary, numbers in hex. */
static void print_dict(const char *title, GVariant *dict)
{
	if (!dict)
		return;
	printf("%s:", title);
	GVariantIter it;
	const char *key;
	GVariant *value;
	guint col = 0;
	g_variant_iter_init(&it, dict);
	while (g_variant_iter_next(&it, "{&s@*}", &key, &value)) {
		/* tables of their own (print_fds, print_memfiles, print_threads) */
		if (!strcmp(key, SV_TASK_FDS) || !strcmp(key, SV_TASK_MEMFILES) ||
		    !strcmp(key, SV_TASK_THREADS)) {
			g_variant_unref(value);
			continue;
		}
		g_autoptr(GVariant) inner = g_variant_is_of_type(value, G_VARIANT_TYPE_VARIANT)
						    ? g_variant_get_variant(value)
						    : g_variant_ref(value);
		g_autofree char *text = NULL;
		if (g_variant_is_of_type(inner, G_VARIANT_TYPE_UINT64)) {
			text = g_strdup_printf("0x%" G_GINT64_MODIFIER "x",
					       g_variant_get_uint64(inner));
		} else if (g_variant_is_of_type(inner, G_VARIANT_TYPE_STRING)) {
			gsize len;
			const char *str = g_variant_get_string(inner, &len);
			text = sv_text_for_terminal(str, (gssize)len);
		} else {
			/* GVariant's text form quotes strings in containers but
			 * lets C1 and bidi controls through: escaped again (a
			 * backslash of its own escapes then shows doubled) */
			g_autofree char *printed = g_variant_print(inner, FALSE);
			text = sv_text_for_terminal(printed, -1);
		}
		/* the keys are the file's too */
		g_autofree char *key_shown = sv_text_for_terminal(key, -1);
		printf("%s%s=%s", col++ % 4 == 0 ? "\n    " : "  ", key_shown, text);
		g_variant_unref(value);
	}
	printf("\n");
}

/* The TASK dict's open fds, one a line. */
static void print_fds(GVariant *task)
{
	g_autoptr(GVariant) fds = task ? g_variant_lookup_value(task, SV_TASK_FDS,
								G_VARIANT_TYPE(SV_TASK_FDS_TYPE))
				       : NULL;
	if (!fds)
		return;
	printf("fds (%" G_GSIZE_FORMAT "):\n", g_variant_n_children(fds));
	for (gsize i = 0; i < g_variant_n_children(fds); i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(fds, i);
		g_auto(SvSnapFd) e = { 0 };
		sv_snap_fd_read(d, &e); /* inspect shows an incomplete entry too */
		g_autofree char *what = e.pipe ? g_strdup_printf("pipe 0x%" G_GINT64_MODIFIER "x",
								 e.pipe)
					       : sv_text_for_terminal(e.path, -1);
		g_autofree char *kind = sv_text_for_terminal(e.kind ? e.kind : "?", -1);
		printf("    %4u %-5s flags 0%o pos %" G_GUINT64_FORMAT "%s%s  %s", e.fd, kind,
		       e.flags, e.pos, e.cloexec ? " cloexec" : "",
		       e.stdio ? " stdio (inherited on restore)" : "", what);
		if (e.pipe_data)
			printf(" (%" G_GSIZE_FORMAT " unread bytes)",
			       g_variant_get_size(e.pipe_data));
		printf("\n");
	}
}

/* The files only memory held (TASK's memfiles), one a line. */
static void print_memfiles(GVariant *task)
{
	g_autoptr(GVariant)
		list = task ? g_variant_lookup_value(task, SV_TASK_MEMFILES,
						     G_VARIANT_TYPE(SV_TASK_MEMFILES_TYPE))
			    : NULL;
	if (!list)
		return;
	printf("files only in memory (%" G_GSIZE_FORMAT "):\n", g_variant_n_children(list));
	for (gsize i = 0; i < g_variant_n_children(list); i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(list, i);
		const char *kind = "?", *path = "", *source = "";
		guint32 seals = 0;
		g_variant_lookup(d, SV_TASK_MEMFILE_KIND, "&s", &kind);
		g_variant_lookup(d, SV_TASK_MEMFILE_PATH, "&s", &path);
		g_variant_lookup(d, SV_TASK_MEMFILE_SOURCE, "&s", &source);
		g_variant_lookup(d, SV_TASK_MEMFILE_SEALS, "u", &seals);
		g_autoptr(GVariant) vmas = g_variant_lookup_value(d, SV_TASK_MEMFILE_VMAS,
								  G_VARIANT_TYPE("at"));
		g_autofree char *kind_shown = sv_text_for_terminal(kind, -1);
		g_autofree char *path_shown = sv_text_for_terminal(path, -1);
		g_autofree char *source_shown = sv_text_for_terminal(source, -1);
		printf("    %-7s %s  seals 0x%x, %" G_GSIZE_FORMAT " mapping%s, read from %s\n",
		       kind_shown, path_shown, seals, vmas ? g_variant_n_children(vmas) : 0,
		       vmas && g_variant_n_children(vmas) == 1 ? "" : "s", source_shown);
	}
}

/* The files the guest wrote (the FS section), one a line. */
static void print_fs(GVariant *fs)
{
	if (!fs)
		return;
	printf("files the guest wrote since boot (%" G_GSIZE_FORMAT "):\n",
	       g_variant_n_children(fs));
	for (gsize i = 0; i < g_variant_n_children(fs); i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(fs, i);
		const char *path = "", *target = NULL, *link = NULL;
		guint32 mode = 0, uid = 0, gid = 0;
		guint64 size = 0;
		g_variant_lookup(d, SV_FS_PATH, "&s", &path);
		g_variant_lookup(d, SV_FS_MODE, "u", &mode);
		g_variant_lookup(d, SV_FS_UID, "u", &uid);
		g_variant_lookup(d, SV_FS_GID, "u", &gid);
		g_variant_lookup(d, SV_FS_SIZE, "t", &size);
		g_variant_lookup(d, SV_FS_TARGET, "&s", &target);
		g_variant_lookup(d, SV_FS_LINK, "&s", &link);
		g_autofree char *shown = sv_text_for_terminal(path, -1);
		g_autofree char *to = sv_text_for_terminal(link ? link : target ? target : "", -1);
		printf("    %07o %u:%u %10" G_GUINT64_FORMAT "  %s%s%s\n", mode, uid, gid, size,
		       shown,
		       link	? " = "
		       : target ? " -> "
				: "",
		       to);
	}
}

/* The TASK dict's other threads, one a line: tid, name, where their
 * registers came from, the syscall fixup, pc and sp. */
static void print_threads(GVariant *task)
{
	g_autoptr(GVariant)
		threads = task ? g_variant_lookup_value(task, SV_TASK_THREADS,
							G_VARIANT_TYPE(SV_TASK_THREADS_TYPE))
			       : NULL;
	if (!threads)
		return;
	printf("other threads (%" G_GSIZE_FORMAT "):\n", g_variant_n_children(threads));
	for (gsize i = 0; i < g_variant_n_children(threads); i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(threads, i);
		guint32 tid = 0;
		const char *comm = "", *source = "?", *fixup = "?";
		guint64 pc = 0, sp = 0;
		g_variant_lookup(d, SV_TASK_TID, "u", &tid);
		g_variant_lookup(d, SV_TASK_COMM, "&s", &comm);
		g_variant_lookup(d, SV_TASK_REGS_SOURCE, "&s", &source);
		g_variant_lookup(d, SV_TASK_SYSCALL_FIXUP, "&s", &fixup);
		g_autoptr(GVariant)
			regs = g_variant_lookup_value(d, SV_TASK_THREAD_REGS,
						      G_VARIANT_TYPE(SV_SNAP_REGS_TYPE));
		if (regs) {
			g_autoptr(GVariant) named = g_variant_get_child_value(regs, 0);
			if (!g_variant_lookup(named, "ip", "t", &pc))
				g_variant_lookup(named, "pc", "t", &pc);
			g_variant_lookup(named, "sp", "t", &sp);
		}
		g_autofree char *name = sv_text_for_terminal(comm, -1);
		g_autofree char *src = sv_text_for_terminal(source, -1);
		g_autofree char *fix = sv_text_for_terminal(fixup, -1);
		printf("    tid %u %s: registers from %s, syscall %s, pc 0x%" G_GINT64_MODIFIER
		       "x sp 0x%" G_GINT64_MODIFIER "x\n",
		       tid, name, src, fix, pc, sp);
	}
}

static void print_vmas(GVariant *vmas)
{
	if (!vmas)
		return;
	printf("VMAs (%" G_GSIZE_FORMAT "):\n    %-18s %-18s %10s %-4s %10s %8s  %s\n",
	       g_variant_n_children(vmas), "start", "end", "size", "prot", "vm_flags", "pgoff",
	       "file");
	GVariantIter it;
	guint64 start, end, flags, pgoff;
	guint32 prot;
	const char *path, *sha;
	g_variant_iter_init(&it, vmas);
	while (g_variant_iter_next(&it, "(ttutt&s&s)", &start, &end, &prot, &flags, &pgoff, &path,
				   &sha)) {
		g_autofree char *size = human_size(end - start);
		g_autofree char *file = sv_text_for_terminal(path, -1);
		printf("    0x%016" G_GINT64_MODIFIER "x 0x%016" G_GINT64_MODIFIER "x %10s %c%c%c  "
		       "%10" G_GINT64_MODIFIER "x %8" G_GUINT64_FORMAT "  %s%s\n",
		       start, end, size, prot & 1 ? 'r' : '-', prot & 2 ? 'w' : '-',
		       prot & 4 ? 'x' : '-', flags, pgoff, file, *sha ? " (contents carried)" : "");
	}
}

/* The files referenced in the root filesystem image (not carried). */
static void print_image_files(SvSnapshotReader *r)
{
	g_autoptr(GVariant) refs = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_IMAGE_FILES);
	if (!refs)
		return;
	printf("files referenced in the root filesystem image (not carried): %" G_GSIZE_FORMAT "\n",
	       g_variant_n_children(refs));
	GVariantIter it;
	const char *path, *sha;
	guint64 size;
	g_variant_iter_init(&it, refs);
	while (g_variant_iter_next(&it, "(&s&st)", &path, &sha, &size)) {
		g_autofree char *file = sv_text_for_terminal(path, -1);
		g_autofree char *sz = human_size(size);
		printf("    %.16s  %10s  %s\n", sha, sz, file);
	}
}

static void print_human(SvSnapshotReader *r, const char *path)
{
	g_autofree char *size = human_size(sv_snapshot_reader_file_size(r));
	/* a file someone sent may be named to fool a terminal, too */
	g_autofree char *shown = sv_text_for_terminal(path, -1);
	printf("snapshot %s\n    format %u.%u, arch %s, page size %u, %s\n", shown, SV_SNAP_MAJOR,
	       sv_snapshot_reader_minor(r), sv_snap_arch_name(sv_snapshot_reader_arch(r)),
	       sv_snapshot_reader_page_size(r), size);
	g_autoptr(GVariant) task = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TASK);
	print_dict("process", task);
	print_fds(task);
	print_threads(task);
	print_memfiles(task);
	g_autoptr(GVariant) fs = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_FS);
	print_fs(fs);

	g_autoptr(GVariant) regs = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_REGS);
	if (regs) {
		g_autoptr(GVariant) named = g_variant_get_child_value(regs, 0);
		print_dict("registers", named);
	}
	g_autoptr(GVariant) fpu = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_FPU);
	if (fpu) {
		guint32 fsize;
		guint64 xfeatures;
		g_variant_get(fpu, "(ut@a{sv}@ay)", &fsize, &xfeatures, NULL, NULL);
		printf("fpu: %u bytes of state, features 0x%" G_GINT64_MODIFIER "x\n", fsize,
		       xfeatures);
	}
	g_autoptr(GVariant) tls = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_TLS);
	print_dict("tls", tls);
	g_autoptr(GVariant) mm = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_MM);
	if (mm) {
		g_autoptr(GVariant) fields = g_variant_get_child_value(mm, 0);
		print_dict("mm", fields);
	}
	g_autoptr(GVariant) vmas = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_VMAS);
	print_vmas(vmas);
	guint n;
	const SvSnapshotSection *s = sv_snapshot_reader_sections(r, &n);
	guint64 stored = 0, raw = 0, files = 0, chunks = 0, compressed = 0;
	for (guint i = 0; i < n; i++) {
		if (s[i].kind == SV_SNAP_SECTION_PAGES) {
			chunks++;
			stored += s[i].stored;
			raw += s[i].raw;
			compressed += (s[i].flags & SV_SNAP_SECTION_ZSTD) != 0;
		}
		files += s[i].kind == SV_SNAP_SECTION_FILE;
	}
	g_autofree char *raw_s = human_size(raw);
	g_autofree char *stored_s = human_size(stored);
	printf("pages: %" G_GUINT64_FORMAT " stored (%s) in %" G_GUINT64_FORMAT " chunks, %s",
	       sv_snapshot_reader_pages_stored(r), raw_s, chunks,
	       compressed ? "zstd" : "uncompressed");
	if (compressed && raw)
		printf(" to %s (%.2fx)", stored_s, (double)raw / (double)MAX(stored, 1));
	printf("; zero pages are not stored\nfiles carried: %" G_GUINT64_FORMAT "\n", files);
	/* an incremental snapshot: the rest of its pages are its parents' */
	for (SvSnapshotReader *p = sv_snapshot_reader_parent(r); p;
	     p = sv_snapshot_reader_parent(p)) {
		g_autofree char *path = sv_text_for_terminal(sv_snapshot_reader_path(p), -1);
		g_autofree char *digest = sv_snapshot_reader_digest(p);
		printf("adds to: %s (digest %s, %" G_GUINT64_FORMAT " pages stored)\n", path,
		       digest, sv_snapshot_reader_pages_stored(p));
	}
	print_image_files(r);
	g_autoptr(GVariant) prov = sv_snapshot_reader_metadata(r, SV_SNAP_SECTION_PROVENANCE);
	print_dict("provenance", prov);
	printf("sections (%u):\n", n);
	for (guint i = 0; i < n; i++)
		printf("    %-10s at %10" G_GUINT64_FORMAT "  %10" G_GUINT64_FORMAT " bytes%s\n",
		       sv_snap_section_name(s[i].kind), s[i].offset, s[i].stored,
		       s[i].flags & SV_SNAP_SECTION_ZSTD ? " zstd" : "");
}

static void print_json(SvSnapshotReader *r)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "format");
	g_autofree char *fmt = g_strdup_printf("%u.%u", SV_SNAP_MAJOR, sv_snapshot_reader_minor(r));
	json_builder_add_string_value(b, fmt);
	json_builder_set_member_name(b, "arch");
	json_builder_add_string_value(b, sv_snap_arch_name(sv_snapshot_reader_arch(r)));
	json_builder_set_member_name(b, "page_size");
	json_builder_add_int_value(b, sv_snapshot_reader_page_size(r));
	json_builder_set_member_name(b, "file_size");
	json_builder_add_int_value(b, (gint64)sv_snapshot_reader_file_size(r));
	json_builder_set_member_name(b, "pages_stored");
	json_builder_add_int_value(b, (gint64)sv_snapshot_reader_pages_stored(r));
	json_builder_set_member_name(b, "sections");
	json_builder_begin_array(b);
	guint n;
	const SvSnapshotSection *s = sv_snapshot_reader_sections(r, &n);
	for (guint i = 0; i < n; i++) {
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "kind");
		json_builder_add_string_value(b, sv_snap_section_name(s[i].kind));
		json_builder_set_member_name(b, "offset");
		json_builder_add_int_value(b, (gint64)s[i].offset);
		json_builder_set_member_name(b, "stored");
		json_builder_add_int_value(b, (gint64)s[i].stored);
		json_builder_set_member_name(b, "raw");
		json_builder_add_int_value(b, (gint64)s[i].raw);
		json_builder_set_member_name(b, "zstd");
		json_builder_add_boolean_value(b, (s[i].flags & SV_SNAP_SECTION_ZSTD) != 0);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "metadata");
	json_builder_begin_object(b);
	for (guint32 kind = 1; kind < SV_SNAP_SECTION_KIND_MAX_; kind++) {
		g_autoptr(GVariant) v = sv_snapshot_reader_metadata(r, kind);
		if (!v || kind == SV_SNAP_SECTION_INDEX)
			continue;
		json_builder_set_member_name(b, sv_snap_section_name(kind));
		json_builder_add_value(b, json_gvariant_serialize(v));
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
	sv_cli_print_json(b, TRUE);
}

int sv_cmd_inspect(int argc, char **argv)
{
	gboolean json = FALSE, verify = FALSE;
	GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the whole metadata as JSON",
		  NULL },
		{ "verify", 0, 0, G_OPTION_ARG_NONE, &verify,
		  "Check every checksum and the file digest; exit 1 at the first mismatch", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("FILE");
	g_option_context_set_summary(
		ctx,
		"Shows what a snapshot holds: arch, process, registers, VMAs, pages, provenance.\n"
		"The file is validated before anything is shown; a damaged or foreign file exits 1\n"
		"with one message naming the section and offset.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!sv_cli_parse(ctx, "inspect", &argc, &argv))
		return SV_EXIT_USAGE;
	if (argc != 2) {
		fprintf(stderr, "snapvm inspect: name one snapshot FILE\n");
		return SV_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(SvSnapshotReader) r = sv_snapshot_reader_open(argv[1], &error);
	if (!r) {
		sv_cli_error("inspect", error);
		return g_error_matches(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT)
			       ? 1
			       : SV_EXIT_FAILURE;
	}
	if (verify && !sv_snapshot_reader_verify(r, &error)) {
		sv_cli_error("inspect", error);
		return 1;
	}
	if (json)
		print_json(r);
	else
		print_human(r, argv[1]);
	if (verify && !json)
		printf("verified: every section checksum and the file digest match%s\n",
		       sv_snapshot_reader_parent(r) ? ", in every snapshot of the chain" : "");
	return 0;
}
