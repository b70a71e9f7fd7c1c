/* SPDX-License-Identifier: MIT */
/* pool.c - see pool.h. */
#include "host/pool/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"

#define CLAIM_FILE "pool-claimed"

static const char *cpu_tag(const char *cpu)
{
	return cpu && *cpu ? cpu : "default";
}

char *sv_pool_vm_name(const char *arch, const char *cpu, guint memory_mib)
{
	return g_strdup_printf(SV_POOL_PREFIX "%s-%s-%um-%08x", arch, cpu_tag(cpu), memory_mib,
			       g_random_int());
}

static void pool_guest_clear(gpointer p)
{
	SvPoolGuest *g = p;
	g_free(g->name);
	g_free(g->arch);
	g_free(g->cpu);
}

/* pool-ARCH-CPU-MEMm-SUFFIX: ARCH has no '-', CPU may (Haswell-noTSX-IBRS),
 * so it is read from both ends. */
static gboolean parse_name(const char *name, SvPoolGuest *g)
{
	if (!g_str_has_prefix(name, SV_POOL_PREFIX))
		return FALSE;
	const char *a = name + strlen(SV_POOL_PREFIX), *a_end = strchr(a, '-');
	const char *suffix = strrchr(name, '-');
	if (!a_end || !suffix || suffix <= a_end)
		return FALSE;
	const char *mem = suffix - 1;
	while (mem > a_end && *mem != '-')
		mem--;
	guint mib = 0;
	char m = 0;
	if (mem <= a_end || sscanf(mem, "-%u%c-", &mib, &m) != 2 || m != 'm' || mem - a_end < 2)
		return FALSE;
	g->arch = g_strndup(a, a_end - a);
	g->cpu = g_strndup(a_end + 1, mem - a_end - 1);
	g->memory_mib = mib;
	g->name = g_strdup(name);
	return TRUE;
}

/* Is m's VM running? Asked of the backend's own monitor (QEMU's QMP
 * socket, the kvm VMM's control socket): a few ms, where libvirt's domain
 * state costs 0.5-1 s under load, on a restore's critical path. Not by
 * connecting to the agent's socket: the agent would take that for a host
 * attaching, and whatever it wrote meanwhile (a standby's exit) would be
 * lost with that connection. */
static gboolean vm_running(SvMachine *m)
{
	return sv_machine_get_state(m, NULL) == SV_MACHINE_RUNNING;
}

static char *vm_file(const SvMachine *m, const char *name)
{
	return g_build_filename(m->vm_dir, name, NULL);
}

gboolean sv_pool_mark_ready(const SvMachine *m, GError **error)
{
	g_autofree char *path = vm_file(m, SV_POOL_READY_FILE);
	return g_file_set_contents(path, "", 0, error); /* atomic: temp file, rename */
}

static char *claim_path(const SvMachine *m)
{
	return vm_file(m, CLAIM_FILE);
}

GArray *sv_pool_list(GError **error)
{
	g_autoptr(GPtrArray) names = sv_machine_list_names(error);
	if (!names)
		return NULL;
	GArray *out = g_array_new(FALSE, TRUE, sizeof(SvPoolGuest));
	g_array_set_clear_func(out, pool_guest_clear);
	for (guint i = 0; i < names->len; i++) {
		SvPoolGuest g = { 0 };
		if (!parse_name(names->pdata[i], &g))
			continue;
		g_autoptr(SvMachine) m = sv_machine_open(g.name, NULL);
		if (m) {
			g_autofree char *claim = claim_path(m);
			g_autofree char *ready = vm_file(m, SV_POOL_READY_FILE);
			g.claimed = g_file_test(claim, G_FILE_TEST_EXISTS);
			g.ready = g_file_test(ready, G_FILE_TEST_EXISTS);
			sv_machine_release_control(m);
		}
		g_array_append_val(out, g);
	}
	return out;
}

SvMachine *sv_pool_claim(const char *arch, const char *cpu, guint min_memory_mib, GError **error)
{
	g_autoptr(GArray) all = sv_pool_list(error);
	if (!all)
		return NULL;
	/* the smallest that fits first */
	for (;;) {
		SvPoolGuest *best = NULL;
		for (guint i = 0; i < all->len; i++) {
			SvPoolGuest *g = &g_array_index(all, SvPoolGuest, i);
			if (!g->claimed && g->ready && !strcmp(g->arch, arch) &&
			    !strcmp(g->cpu, cpu_tag(cpu)) && g->memory_mib >= min_memory_mib &&
			    (!best || g->memory_mib < best->memory_mib))
				best = g;
		}
		if (!best)
			return NULL;
		best->claimed = TRUE; /* whatever happens below: not tried again */
		g_autoptr(SvMachine) m = sv_machine_open(best->name, NULL);
		if (!m || !vm_running(m))
			continue;
		g_autofree char *claim = claim_path(m);
		int fd = open(claim, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				continue; /* another restore was quicker */
			g_set_error(error, SV_ERROR, SV_ERROR_FAILED,
				    "cannot claim pool guest %s: %s", best->name,
				    g_strerror(errno));
			return NULL;
		}
		close(fd);
		return g_steal_pointer(&m);
	}
}
