/* SPDX-License-Identifier: MIT */
/* pool-standby.c - see pool-standby.h. */
#include "host/pool/pool-standby.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "snapvm/restore-image-format.h"
#include "base/errors.h"
#include "host/restore/restore.h"

static char *record_path(const SvMachine *m)
{
	return g_build_filename(m->vm_dir, SV_POOL_STANDBY_FILE, NULL);
}

SvStandbySaid sv_pool_standby_said(const char *out, const char *err, char **ret_notes)
{
	static const char ready[] = SV_RIMG_STANDBY_READY;
	g_autoptr(GString) notes = g_string_new(NULL);
	for (const char *line = err; *line;) {
		const char *nl = strchr(line, '\n');
		if (!nl)
			break; /* the rest of a line: judged when it is whole */
		if (!g_str_has_prefix(line, SV_POOL_STANDBY_NOTE))
			return SV_STANDBY_FAILED;
		g_string_append_len(notes, line, nl + 1 - line);
		line = nl + 1;
	}
	if (ret_notes)
		*ret_notes = notes->len ? g_strdup(notes->str) : NULL;
	if (!strcmp(out, ready))
		return SV_STANDBY_READY;
	if (g_str_has_prefix(out, SV_RIMG_STANDBY_READY_MAILBOX)) {
		const char *nl = strchr(out, '\n');
		if (!nl) /* a line of at most SV_RIMG_STANDBY_MAILBOX_RUNS runs */
			return strlen(out) < 64 * (SV_RIMG_STANDBY_MAILBOX_RUNS + 1)
				       ? SV_STANDBY_WAITING
				       : SV_STANDBY_FAILED;
		g_autoptr(GArray) box = nl[1] ? NULL : sv_pool_standby_mailbox(out);
		return box ? SV_STANDBY_READY : SV_STANDBY_FAILED;
	}
	return g_str_has_prefix(ready, out) || g_str_has_prefix(SV_RIMG_STANDBY_READY_MAILBOX, out)
		       ? SV_STANDBY_WAITING
		       : SV_STANDBY_FAILED;
}

GArray *sv_pool_standby_mailbox(const char *line)
{
	const char *p = line + strlen(SV_RIMG_STANDBY_READY_MAILBOX);
	if (!g_str_has_prefix(line, SV_RIMG_STANDBY_READY_MAILBOX))
		return NULL;
	g_autoptr(GArray) runs = g_array_new(FALSE, FALSE, sizeof(struct sv_rimg_pfn_run));
	guint64 pages = 0;
	while (*p == ' ') {
		char *end;
		guint64 pfn = g_ascii_strtoull(p + 1, &end, 16);
		if (end == p + 1 || *end != '+')
			return NULL;
		p = end + 1;
		guint64 n = g_ascii_strtoull(p, &end, 10);
		if (end == p || !n || n > SV_RIMG_STANDBY_MAILBOX / 4096 ||
		    pfn > G_MAXUINT64 / 4096 - n || runs->len == SV_RIMG_STANDBY_MAILBOX_RUNS)
			return NULL;
		struct sv_rimg_pfn_run r = { .staging_page = pages, .pfn = pfn, .npages = n };
		g_array_append_val(runs, r);
		pages += n;
		p = end;
	}
	if ((*p && strcmp(p, "\n")) || pages != SV_RIMG_STANDBY_MAILBOX / 4096)
		return NULL;
	return g_steal_pointer(&runs);
}

/* Reads pid's output until the ready line; an exit first, or output that
 * is neither (part of) it nor a note on stderr, is the standby's failure,
 * reported with what it printed. Its notes in *ret_notes. */
static gboolean wait_ready(SvAgentClient *agent, guint32 pid, char **ret_notes, char **ret_line,
			   GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL), err = g_string_new(NULL);
	for (;;) {
		g_auto(SvAgentFrame) f = { 0 };
		SvRestoreProcessEvent ev;
		if (!sv_restore_recv_process(agent, pid, SV_POOL_STANDBY_TIMEOUT_MS, &f, &ev,
					     error)) {
			g_prefix_error(error, "the standby restorer never said it was ready: ");
			return FALSE;
		}
		if (ev.exited) {
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
				    "the standby restorer ended (wait status 0x%x): %s%s",
				    ev.status, err->str,
				    out->len || err->len ? out->str : "it said nothing");
			return FALSE;
		}
		g_string_append_len(ev.stream == 1 ? out : err, (const char *)ev.bytes, ev.len);
		g_autofree char *notes = NULL;
		switch (sv_pool_standby_said(out->str, err->str, &notes)) {
		case SV_STANDBY_READY:
			if (ret_notes)
				*ret_notes = g_steal_pointer(&notes);
			*ret_line = g_string_free(g_steal_pointer(&out), FALSE);
			return TRUE;
		case SV_STANDBY_WAITING:
			continue;
		case SV_STANDBY_FAILED:
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "the standby restorer said, instead of being ready: %s%s",
				    err->str, out->str);
			return FALSE;
		}
	}
}

gboolean sv_pool_standby_end(SvAgentClient *agent, guint32 pid, GError **error)
{
	if (!sv_agent_client_kill(agent, pid, SIGKILL, error))
		return FALSE;
	for (;;) {
		g_auto(SvAgentFrame) f = { 0 };
		SvRestoreProcessEvent ev;
		if (!sv_restore_recv_process(agent, pid, SV_POOL_STANDBY_END_MS, &f, &ev, error)) {
			g_prefix_error(error, "the standby restorer (pid %u) did not end: ", pid);
			return FALSE;
		}
		if (ev.exited)
			return TRUE;
	}
}

gboolean sv_pool_standby_start(SvAgentClient *agent, const SvMachine *m, guint mib,
			       char **ret_notes, GError **error)
{
	guint32 pid;
	if (!sv_restore_run_standby(agent, mib, &pid, error))
		return FALSE;
	g_autofree char *record = record_path(m);
	g_autofree char *line = NULL, *text = NULL;
	/* "PID MIB", then the mailbox's runs as the standby named them */
	if (!wait_ready(agent, pid, ret_notes, &line, error) ||
	    !(text = g_strdup_printf("%u %u%s", pid, mib,
				     g_str_has_prefix(line, SV_RIMG_STANDBY_READY_MAILBOX)
					     ? line + strlen(SV_RIMG_STANDBY_READY_MAILBOX)
					     : "\n")) ||
	    !g_file_set_contents(record, text, -1, error)) {
		/* not left holding memory nobody will use (unrecorded, no
		 * restore would use it or end it) */
		sv_pool_standby_end(agent, pid, NULL);
		return FALSE;
	}
	return TRUE;
}

gboolean sv_pool_standby_read(const SvMachine *m, guint32 *ret_pid, guint *ret_mib,
			      GArray **ret_mailbox)
{
	g_autofree char *record = record_path(m);
	g_autofree char *text = NULL;
	guint pid, mib;
	int tail = 0;
	if (!g_file_get_contents(record, &text, NULL, NULL) ||
	    sscanf(text, "%u %u%n", &pid, &mib, &tail) != 2 || pid < 2 || !mib)
		return FALSE;
	*ret_pid = pid;
	*ret_mib = mib;
	if (ret_mailbox) {
		g_autofree char *line = g_strconcat(SV_RIMG_STANDBY_READY_MAILBOX, text + tail,
						    NULL);
		*ret_mailbox = sv_pool_standby_mailbox(line);
	}
	return TRUE;
}
