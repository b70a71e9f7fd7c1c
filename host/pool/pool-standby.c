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

/* Reads pid's output until the ready line; an exit or other output first
 * is the standby's failure, reported with what it printed. */
static gboolean wait_ready(SvAgentClient *agent, guint32 pid, GError **error)
{
	static const char ready[] = SV_RIMG_STANDBY_READY;
	g_autoptr(GString) said = g_string_new(NULL);
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
				    "the standby restorer ended (wait status 0x%x): %s", ev.status,
				    said->len ? said->str : "it said nothing");
			return FALSE;
		}
		g_string_append_len(said, (const char *)ev.bytes, ev.len);
		if (ev.stream == 1 && g_str_has_prefix(said->str, ready) &&
		    said->len == sizeof(ready) - 1)
			return TRUE;
		if (said->len >= sizeof(ready) - 1 || strchr(said->str, '\n')) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "the standby restorer said, instead of being ready: %s",
				    said->str);
			return FALSE;
		}
	}
}

gboolean sv_pool_standby_start(SvAgentClient *agent, const SvMachine *m, guint mib, GError **error)
{
	guint32 pid;
	if (!sv_restore_run_standby(agent, mib, &pid, error))
		return FALSE;
	if (!wait_ready(agent, pid, error)) {
		/* not left holding memory nobody will use */
		sv_agent_client_kill(agent, pid, SIGKILL, NULL);
		return FALSE;
	}
	g_autofree char *record = record_path(m);
	g_autofree char *text = g_strdup_printf("%u %u\n", pid, mib);
	if (!g_file_set_contents(record, text, -1, error)) {
		/* unrecorded, no restore would use it or end it */
		sv_agent_client_kill(agent, pid, SIGKILL, NULL);
		return FALSE;
	}
	return TRUE;
}

gboolean sv_pool_standby_read(const SvMachine *m, guint32 *ret_pid, guint *ret_mib)
{
	g_autofree char *record = record_path(m);
	g_autofree char *text = NULL;
	guint pid, mib;
	if (!g_file_get_contents(record, &text, NULL, NULL) ||
	    sscanf(text, "%u %u", &pid, &mib) != 2 || pid < 2 || !mib)
		return FALSE;
	*ret_pid = pid;
	*ret_mib = mib;
	return TRUE;
}
