/* SPDX-License-Identifier: MIT */
/*
 * cli-checkpoint.c - `snapvm checkpoint VM --pid PID -o FILE
 * [--leave-running|--kill] [--compress LEVEL] [--parent SNAP] [--precopy[=ROUNDS]]
 * [--no-soft-dirty] [--no-files] [--json]`.
 */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <unistd.h>

#include "host/image/rootfs-refs.h"
#include "host/agent/agent-client.h"
#include "host/checkpoint/checkpoint.h"
#include "host/checkpoint/dirty-track.h"
#include "host/checkpoint/precopy.h"
#include "host/cli/cli.h"
#include "base/errors.h"
#include "host/machine/machine.h"
#include "host/util/text-escape.h"

/* Largest file a mapping may carry into a snapshot. */
#define MAX_CARRIED_FILE (1ull << 30)

static void show_progress(const char *phase, guint64 done, guint64 total, gpointer data)
{
	/* only worth a line for a large process, and only on a terminal */
	if (total < (64u << 20) || !isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\rsnapvm checkpoint: %s %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " MiB%s",
		phase, done >> 20, total >> 20, done == total ? "\n" : "");
	fflush(stderr);
}

typedef struct {
	SvMachine *m;
	SvAgentClient *agent;
	/* the connection made ahead (connect_ahead), joined on first use */
	GThread *connecting;
	GError *connect_error;
} AgentLink;

static SvAgentClient *connect_agent(SvMachine *m, GError **error)
{
	g_autoptr(SvAgentClient) a = sv_agent_client_connect(m->agent_control_socket, 2000, error);
	if (!a || !sv_agent_client_hello(a, 5000, NULL, error))
		return NULL;
	return g_steal_pointer(&a);
}

static gpointer connect_thread(gpointer data)
{
	AgentLink *link = data;
	link->agent = connect_agent(link->m, &link->connect_error);
	return NULL;
}

/* Starts connecting to the agent while the checkpoint loads the kernel
 * profile and opens its parent: the guest's answer to the hello is a
 * round trip through a TCG guest, tens of ms under load, and nearly every
 * checkpoint asks the agent something (soft-dirty marks, files). */
static void connect_ahead(AgentLink *link)
{
	link->connecting = g_thread_try_new("sv-agent-connect", connect_thread, link, NULL);
}

static void finish_connecting(AgentLink *link)
{
	if (link->connecting)
		g_thread_join(g_steal_pointer(&link->connecting));
}

static void release_agent(AgentLink *link)
{
	finish_connecting(link);
	g_clear_error(&link->connect_error);
	g_clear_pointer(&link->agent, sv_agent_client_free);
}

/* The agent is reached on demand: a checkpoint whose process maps no file
 * and is left running needs no help from inside the guest at all. */
static SvAgentClient *agent(AgentLink *link, GError **error)
{
	finish_connecting(link);
	if (link->agent)
		return link->agent;
	/* the connection made ahead failed: said once, tried again later */
	if (link->connect_error) {
		g_propagate_error(error, g_steal_pointer(&link->connect_error));
		return NULL;
	}
	link->agent = connect_agent(link->m, error);
	return link->agent;
}

static GBytes *read_guest_file(const char *path, gpointer data, GError **error)
{
	SvAgentClient *a = agent(data, error);
	if (!a)
		return NULL;
	GBytes *contents = NULL;
	if (!sv_agent_client_read_file(a, path, MAX_CARRIED_FILE, &contents, error))
		return NULL;
	return contents;
}

/* The guest's size and mtime of path, for referencing image files. A file
 * the agent cannot read is left to the carrying, which says why. */
static gboolean stat_guest_file(const char *path, gpointer data, guint64 *ret_size,
				gint64 *ret_mtime_ns, GError **error)
{
	SvAgentClient *a = agent(data, error);
	if (!a)
		return FALSE;
	SvAgentFileInfo info;
	g_autoptr(GBytes) none = NULL;
	g_autoptr(GError) local = NULL;
	if (!sv_agent_client_read_file_chunk(a, path, 0, 0, &info, &none, &local)) {
		if (g_error_matches(local, SV_ERROR, SV_ERROR_AGENT))
			return FALSE;
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	*ret_size = info.size;
	*ret_mtime_ns = (gint64)info.mtime_ns;
	return TRUE;
}

/* Freezing waits for every thread of the process to stop; one in an
 * uninterruptible sleep (disk I/O) stops only when that ends. */
#define FREEZE_TIMEOUT_MS 10000

static gboolean freeze_guest_process(guint32 pid, gpointer data, GError **error)
{
	SvAgentClient *a = agent(data, error);
	return a && sv_agent_client_freeze(a, pid, FREEZE_TIMEOUT_MS, error);
}

static gboolean thaw_guest_process(guint32 pid, gpointer data, GError **error)
{
	SvAgentClient *a = agent(data, error);
	return a && sv_agent_client_thaw(a, pid, error);
}

static gboolean kill_guest_process(guint32 pid, gpointer data, GError **error)
{
	SvAgentClient *a = agent(data, error);
	return a && sv_agent_client_kill(a, pid, 9, error);
}

static gboolean soft_dirty_mark(guint32 pid, gboolean arm, const char *mark, char **ret_mark,
				gpointer data, GError **error)
{
	SvAgentClient *a = agent(data, error);
	return a && sv_agent_client_soft_dirty(a, pid, arm, mark, ret_mark, error);
}

static void print_json(const char *vm, guint32 pid, const char *output, const SvCheckpointStats *st)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
#define MEMBER(name, kind, value)              \
	json_builder_set_member_name(b, name); \
	json_builder_add_##kind##_value(b, value)
	MEMBER("vm", string, vm);
	MEMBER("pid", int, pid);
	MEMBER("output", string, output);
	MEMBER("profile_ms", double, st->profile_ms);
	MEMBER("track_ms", double, st->track_ms);
	MEMBER("carry_ms", double, st->carry_ms);
	MEMBER("freeze_ms", double, st->freeze_ms);
	MEMBER("held_ms", double, st->held_ms);
	MEMBER("prepare_ms", double, st->prepare_ms);
	MEMBER("pause_ms", double, st->pause_ms);
	MEMBER("copy_ms", double, st->copy_ms);
	MEMBER("pause_files_ms", double, st->pause_files_ms);
	MEMBER("write_ms", double, st->write_ms);
	MEMBER("verify_ms", double, st->verify_ms);
	MEMBER("total_ms", double, st->total_ms);
	MEMBER("parent_ms", double, st->parent_ms);
	MEMBER("parent_wait_ms", double, st->parent_wait_ms);
	MEMBER("writer_ms", double, st->writer_ms);
	MEMBER("capture_ms", double, st->capture_ms);
	MEMBER("hashes_ms", double, st->hashes_ms);
	MEMBER("finish_ms", double, st->finish_ms);
	MEMBER("pauses", int, st->attempts);
	MEMBER("vmas", int, st->vmas);
	MEMBER("files", int, st->files);
	MEMBER("files_referenced", int, st->files_referenced);
	MEMBER("files_agent_bytes", int, (gint64)st->files_agent_bytes);
	MEMBER("files_page_cache_bytes", int, (gint64)st->files_cache_bytes);
	MEMBER("files_from_parent", int, st->files_from_parent);
	MEMBER("files_from_parent_bytes", int, (gint64)st->files_from_parent_bytes);
	MEMBER("memfiles", int, st->memfiles);
	MEMBER("memfiles_page_cache_bytes", int, (gint64)st->memfiles_cache_bytes);
	MEMBER("memfiles_agent_bytes", int, (gint64)st->memfiles_agent_bytes);
	MEMBER("fs_files", int, st->fs_files);
	MEMBER("fs_page_cache_bytes", int, (gint64)st->fs_bytes);
	MEMBER("pages_present", int, (gint64)st->pages_present);
	MEMBER("pages_stored", int, (gint64)st->pages_stored);
	MEMBER("hash_ms", double, st->hash_ms);
	MEMBER("dirty_tracking", string, sv_dirty_method_str(st->dirty_method));
	MEMBER("precopy_rounds", int, st->precopy_rounds);
	MEMBER("precopy_pages", int, (gint64)st->precopy_pages);
	MEMBER("precopy_last_round_pages", int, (gint64)st->precopy_last_pages);
	MEMBER("pages_from_precopy", int, (gint64)st->pages_from_precopy);
	MEMBER("precopy_ms", double, st->precopy_ms);
	MEMBER("precopy_held_ms", double, st->precopy_held_ms);
	MEMBER("precopy_paused_ms", double, st->precopy_paused_ms);
	MEMBER("soft_dirty_armed", boolean, st->dirty_armed);
	if (st->dirty_note) {
		MEMBER("dirty_tracking_note", string, st->dirty_note);
	}
	MEMBER("file_size", int, (gint64)st->file_size);
	MEMBER("regs_source", string, st->regs_source);
	MEMBER("syscall", string, sv_syscall_fixup_str(st->syscall));
	MEMBER("threads", int, st->threads);
	MEMBER("threads_on_vcpu", int, st->threads_on_vcpu);
	MEMBER("resumed", boolean, st->resume_error == NULL);
#undef MEMBER
	json_builder_end_object(b);
	sv_cli_print_json(b, TRUE);
}

/* Rounds of --precopy when it is given without a number. */
#define PRECOPY_DEFAULT_ROUNDS 4

static gboolean parse_precopy(const char *name, const char *value, gpointer data, GError **error)
{
	guint *rounds = data;
	guint64 n = PRECOPY_DEFAULT_ROUNDS;
	if (value && (!g_ascii_string_to_unsigned(value, 10, 1, SV_PRECOPY_MAX_ROUNDS, &n, NULL))) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--precopy takes a number of rounds, 1 to %u", SV_PRECOPY_MAX_ROUNDS);
		return FALSE;
	}
	*rounds = (guint)n;
	return TRUE;
}

int sv_cmd_checkpoint(int argc, char **argv)
{
	gint pid = 0, level = 0;
	guint precopy = 0;
	g_autofree char *output = NULL, *parent = NULL;
	gboolean leave_running = FALSE, kill_after = FALSE, json = FALSE, no_files = FALSE,
		 no_fs = FALSE, self_contained = FALSE, no_soft_dirty = FALSE;
	GOptionEntry entries[] = {
		{ "pid", 'p', 0, G_OPTION_ARG_INT, &pid, "Guest pid of the process (required)",
		  "PID" },
		{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
		  "Snapshot file to write (required; written atomically)", "FILE" },
		{ "leave-running", 0, 0, G_OPTION_ARG_NONE, &leave_running,
		  "Let the process carry on afterwards (the default)", NULL },
		{ "kill", 0, 0, G_OPTION_ARG_NONE, &kill_after,
		  "End the process once its snapshot is written and read back valid; it is held "
		  "frozen until then, and runs on if anything fails",
		  NULL },
		{ "compress", 0, 0, G_OPTION_ARG_INT, &level,
		  "zstd level for page data, 1-19 (default 0: raw, mmap-able)", "LEVEL" },
		{ "parent", 0, 0, G_OPTION_ARG_FILENAME, &parent,
		  "Store only the pages changed since this earlier snapshot of the process "
		  "(incremental; restoring needs it, at the same place or beside the new one). "
		  "Changed pages are found from KVM's dirty log on the kvm backend, from the guest "
		  "kernel's soft-dirty bits where it keeps them (x86_64; --json says which way), "
		  "else by hashing every page",
		  "SNAP" },
		{ "precopy", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, parse_precopy,
		  "Copy the pages while the VM runs, again and again while fewer get written "
		  "between rounds (at most ROUNDS, default 4), then pause and copy only what was "
		  "written since: a short pause for a large process (x86_64: needs the guest "
		  "kernel's soft-dirty bits)",
		  "ROUNDS" },
		{ "no-soft-dirty", 0, 0, G_OPTION_ARG_NONE, &no_soft_dirty,
		  "Neither use nor clear the guest kernel's soft-dirty bits: --parent hashes every "
		  "page (for a process that clears its own, as Boehm GC can); KVM's dirty log, "
		  "which the guest cannot clear, is still used on the kvm backend",
		  NULL },
		{ "no-files", 0, 0, G_OPTION_ARG_NONE, &no_files,
		  "Do not carry the files the process maps (restore then needs them in place)",
		  NULL },
		{ "self-contained", 0, 0, G_OPTION_ARG_NONE, &self_contained,
		  "Carry every file, also those of the root filesystem image the guest booted "
		  "(by default they are referenced by image sha256, path and file sha256, and "
		  "restore boots the same image)",
		  NULL },
		{ "no-fs", 0, 0, G_OPTION_ARG_NONE, &no_fs,
		  "Do not carry the files the guest wrote since it booted (in /tmp and the root "
		  "filesystem; at most 256 MiB): restore then starts the process without them",
		  NULL },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("VM");
	g_option_context_set_summary(
		ctx,
		"Writes one process's complete state into a snapshot file, read from the guest's\n"
		"memory from outside: registers, FPU/SIMD, TLS, signals, memory map and pages,\n"
		"the contents of the files it maps or holds open (through the guest agent, or from\n"
		"the page cache for files that exist only in memory), and the files the guest\n"
		"wrote since it booted (in /tmp and the root filesystem, which restore puts back\n"
		"before the process resumes; --no-fs leaves them out). The process is\n"
		"neither traced nor told. The VM is paused only while memory is read; the pause\n"
		"time is printed.");
	g_autoptr(GOptionGroup) group = g_option_group_new("checkpoint", "checkpoint",
							   "checkpoint options", &precopy, NULL);
	g_option_group_add_entries(group, entries);
	g_option_context_set_main_group(ctx, g_steal_pointer(&group));
	if (!sv_cli_parse(ctx, "checkpoint", &argc, &argv))
		return SV_EXIT_USAGE;
	if (argc != 2 || pid <= 0 || !output) {
		fprintf(stderr, "snapvm checkpoint: name one VM, --pid PID and -o FILE "
				"(snapvm ps VM lists pids)\n");
		return SV_EXIT_USAGE;
	}
	if (leave_running && kill_after) {
		fprintf(stderr,
			"snapvm checkpoint: --leave-running and --kill exclude each other\n");
		return SV_EXIT_USAGE;
	}
	if (level < 0 || level > 19) {
		fprintf(stderr, "snapvm checkpoint: --compress takes a zstd level, 1 to 19\n");
		return SV_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(SvMachine) m = sv_machine_open(argv[1], &error);
	if (!m) {
		sv_cli_error("checkpoint", error);
		return SV_EXIT_FAILURE;
	}
	AgentLink link = { .m = m };
	/* only a running guest answers the hello: ahead of a paused one's
	 * checkpoint, which may never need the agent, the thread would wait
	 * out the hello's 5 s and the exit (release_agent) with it */
	if ((!no_soft_dirty || !no_files) && sv_machine_get_state(m, NULL) == SV_MACHINE_RUNNING)
		connect_ahead(&link);
	g_autoptr(SvRootfsRefs) refs = NULL;
	if (m->disk && !self_contained && !no_files) {
		g_autoptr(SvRootfs) rootfs = sv_rootfs_of_disk(m->disk, &error);
		refs = rootfs ? sv_rootfs_refs_new(rootfs, stat_guest_file, &link, &error) : NULL;
		if (!refs) {
			g_prefix_error(&error, "the VM's root filesystem image: ");
			sv_cli_error("checkpoint", error);
			fprintf(stderr, "snapvm checkpoint: (--self-contained carries every file "
					"instead)\n");
			release_agent(&link);
			return SV_EXIT_FAILURE;
		}
	}
	SvCheckpointOptions o = {
		.pid = (guint32)pid,
		.output = output,
		.kill_after = kill_after,
		.zstd_level = level,
		.parent = parent,
		.precopy_rounds = precopy,
		.read_file = no_files ? NULL : read_guest_file,
		.carry_fs = !no_fs,
		.read_file_data = &link,
		.progress = show_progress,
		.freeze = freeze_guest_process,
		.thaw = thaw_guest_process,
		.kill = kill_guest_process,
		.soft_dirty = no_soft_dirty ? NULL : soft_dirty_mark,
		.control_data = &link,
		.image_refs = refs,
	};
	SvCheckpointStats st = { 0 };
	gboolean ok = sv_checkpoint(m, &o, &st, &error);
	if (st.resume_error) {
		/* the reason is an error message like sv_cli_error's */
		g_autofree char *why = sv_text_for_terminal(st.resume_error, -1);
		fprintf(stderr,
			"snapvm checkpoint: warning: VM '%s' could not be resumed (%s); the "
			"snapshot holds the process as it was\n",
			m->name, why);
	}
	release_agent(&link);
	sv_machine_release_control(m);
	if (!ok) {
		sv_checkpoint_stats_clear(&st);
		sv_cli_error("checkpoint", error);
		return SV_EXIT_FAILURE;
	}
	if (json) {
		print_json(m->name, (guint32)pid, output, &st);
		sv_checkpoint_stats_clear(&st);
		return 0;
	}
	fprintf(stderr,
		"snapvm checkpoint: VM '%s' paused %.1f ms (%u pause%s; pages copied in %.1f ms)\n",
		m->name, st.pause_ms, st.attempts, st.attempts == 1 ? "" : "s", st.copy_ms);
	if (st.precopy_rounds)
		fprintf(stderr,
			"snapvm checkpoint: pre-copy: %u round%s copied %" G_GUINT64_FORMAT
			" pages with the VM running (%" G_GUINT64_FORMAT
			" in the last), the process held %.1f ms for re-arming; the pause took %" G_GUINT64_FORMAT
			" of %" G_GUINT64_FORMAT " pages from them\n",
			st.precopy_rounds, st.precopy_rounds == 1 ? "" : "s", st.precopy_pages,
			st.precopy_last_pages, st.precopy_held_ms, st.pages_from_precopy,
			st.pages_present);
	if (kill_after)
		fprintf(stderr,
			"snapvm checkpoint: guest pid %d held frozen %.0f ms (frozen in %.1f ms, "
			"snapshot read back in %.1f ms), then killed\n",
			pid, st.held_ms, st.freeze_ms, st.verify_ms);
	g_autofree char *referenced = st.files_referenced
					      ? g_strdup_printf(" (%u referenced in the image)",
								st.files_referenced)
					      : g_strdup("");
	printf("%s: pid %u, %u thread%s, %u VMAs, %" G_GUINT64_FORMAT " pages (%" G_GUINT64_FORMAT
	       " non-zero), %u file%s carried%s, registers from %s, syscall %s; %.1f MiB in %.0f "
	       "ms\n",
	       output, pid, st.threads, st.threads == 1 ? "" : "s", st.vmas, st.pages_present,
	       st.pages_stored, st.files, st.files == 1 ? "" : "s", referenced, st.regs_source,
	       sv_syscall_fixup_str(st.syscall), st.file_size / 1048576.0, st.total_ms);
	if (st.memfiles)
		printf("%s: %u file%s only in guest memory (unlinked, O_TMPFILE, memfd, shared "
		       "anonymous, SysV shm) carried: %" G_GUINT64_FORMAT
		       " bytes read from the page cache, %" G_GUINT64_FORMAT
		       " through the guest agent\n",
		       output, st.memfiles, st.memfiles == 1 ? "" : "s", st.memfiles_cache_bytes,
		       st.memfiles_agent_bytes);
	if (st.fs_files)
		printf("%s: %u file%s the guest wrote since boot carried (%" G_GUINT64_FORMAT
		       " bytes of contents, from the page cache)\n",
		       output, st.fs_files, st.fs_files == 1 ? "" : "s", st.fs_bytes);
	sv_checkpoint_stats_clear(&st);
	return 0;
}
