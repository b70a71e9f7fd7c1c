/* SPDX-License-Identifier: MIT */
/*
 * ipc-namespace.c - the process's IPC namespace (nsproxy->ipc_ns, struct
 * ipc_namespace in include/linux/ipc_namespace.h), of which snapvm
 * carries only the SysV shm segments the process has attached. A restored
 * process lives in the restore guest's fresh namespace, so anything else
 * there that the process could reach would be gone or different without
 * a word; refused instead, naming it:
 *
 * - SysV semaphore sets and message queues, and POSIX message queues: a
 *   process reaches them by key, id or name, not through anything it
 *   holds, so any in its namespace may be its (zdtm's sem came back with
 *   its set gone). A semaphore undo list refers to sets of the namespace
 *   only, so it is covered.
 * - the namespace's limits and next ids (kernel.msgmax, sem, the mqueue
 *   sizes... zdtm's ipc_namespace) when they differ from the defaults a
 *   fresh namespace gets (ipc/msg.c msg_init_ns, ipc/sem.c sem_init_ns,
 *   ipc/shm.c shm_init_ns, ipc/mqueue.c mq_init_ns: the same in 6.1 and
 *   6.12). shm_next_id is left out: restore sets it itself to make each
 *   carried segment again with its id.
 */
#include <string.h>

#include "base/errors.h"
#include "host/introspect/introspect-private.h"

/* ids[] of struct ipc_namespace (ipc/util.h: IPC_SEM_IDS...) */
#define IPC_SEM_IDS 0
#define IPC_MSG_IDS 1

typedef struct {
	const char *member; /* in struct ipc_namespace */
	guint size;
	guint64 fresh;
	const char *sysctl; /* as sysctl names it */
} IpcLimit;

static const IpcLimit limits[] = {
	{ "msg_ctlmax", 4, 8192, "kernel.msgmax" },
	{ "msg_ctlmnb", 4, 16384, "kernel.msgmnb" },
	{ "msg_ctlmni", 4, 32000, "kernel.msgmni" },
	{ "sem_ctls[0]", 4, 32000, "kernel.sem (SEMMSL)" },
	{ "sem_ctls[1]", 4, 1024000000, "kernel.sem (SEMMNS)" },
	{ "sem_ctls[2]", 4, 500, "kernel.sem (SEMOPM)" },
	{ "sem_ctls[3]", 4, 32000, "kernel.sem (SEMMNI)" },
	{ "shm_ctlmax", 8, G_MAXUINT64 - (1ull << 24), "kernel.shmmax" },
	{ "shm_ctlall", 8, G_MAXUINT64 - (1ull << 24), "kernel.shmall" },
	{ "shm_ctlmni", 4, 4096, "kernel.shmmni" },
	{ "shm_rmid_forced", 4, 0, "kernel.shm_rmid_forced" },
	{ "mq_queues_max", 4, 256, "fs.mqueue.queues_max" },
	{ "mq_msg_max", 4, 10, "fs.mqueue.msg_max" },
	{ "mq_msgsize_max", 4, 8192, "fs.mqueue.msgsize_max" },
	{ "mq_msg_default", 4, 10, "fs.mqueue.msg_default" },
	{ "mq_msgsize_default", 4, 8192, "fs.mqueue.msgsize_default" },
};

/* what: what the namespace holds; todo: what the user can do so that a
 * checkpoint works */
static gboolean refuse(GError **error, guint32 pid, const char *what, const char *todo)
{
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "guest pid %u: its IPC namespace %s, which restore does not make again (its "
		    "restore guest's is fresh); snapvm cannot checkpoint it: %s",
		    pid, what, todo);
	return FALSE;
}

/* An offset of the member path "name[i]" or "name": BTF paths have no
 * subscripts, so an int array's element is its start plus 4 * i. */
static gboolean member_offset(const SvIntrospect *in, const char *member, guint64 *ret,
			      GError **error)
{
	const char *bracket = strchr(member, '[');
	if (!bracket)
		return sv_kernel_types_offset(in->types, "ipc_namespace", member, ret, error);
	g_autofree char *name = g_strndup(member, (gsize)(bracket - member));
	if (!sv_kernel_types_offset(in->types, "ipc_namespace", name, ret, error))
		return FALSE;
	*ret += 4 * g_ascii_strtoull(bracket + 1, NULL, 10);
	return TRUE;
}

static gboolean sets_left(const SvIntrospect *in, guint64 ns, guint32 pid, GError **error)
{
	guint64 ids_off, ids_size, in_use_off, next_off, mq_off;
	if (!sv_kernel_types_offset(in->types, "ipc_namespace", "ids", &ids_off, error) ||
	    !sv_kernel_types_size(in->types, "ipc_ids", NULL, &ids_size, error) ||
	    !sv_kernel_types_offset(in->types, "ipc_ids", "in_use", &in_use_off, error) ||
	    !sv_kernel_types_offset(in->types, "ipc_namespace", "mq_queues_count", &mq_off, error))
		return FALSE;
	static const struct {
		guint index;
		const char *what, *next, *ipcrm;
	} kinds[] = {
		{ IPC_SEM_IDS, "SysV semaphore set", "kernel.sem_next_id", "-s" },
		{ IPC_MSG_IDS, "SysV message queue", "kernel.msg_next_id", "-q" },
	};
	/* next_id exists with CONFIG_CHECKPOINT_RESTORE only: without it no
	 * process can have set it */
	gboolean has_next = sv_kernel_types_offset(in->types, "ipc_ids", "next_id", &next_off,
						   NULL);
	for (guint k = 0; k < G_N_ELEMENTS(kinds); k++) {
		guint64 ids = ns + ids_off + kinds[k].index * ids_size, in_use, next = G_MAXUINT32;
		if (!sv_introspect_read_uint(in, ids + in_use_off, 4, &in_use, error) ||
		    (has_next && !sv_introspect_read_uint(in, ids + next_off, 4, &next, error)))
			return FALSE;
		g_autofree char *what = NULL, *todo = NULL;
		if (in_use) {
			what = g_strdup_printf("holds %u %s%s (snapvm carries SysV shm segments "
					       "only)",
					       (guint)in_use, kinds[k].what,
					       in_use == 1 ? "" : "s");
			todo = g_strdup_printf("checkpoint it once it no longer needs %s, after "
					       "removing %s in its IPC namespace (ipcs lists "
					       "them, ipcrm %s ID removes one)",
					       in_use == 1 ? "it" : "them",
					       in_use == 1 ? "it" : "them", kinds[k].ipcrm);
		} else if ((gint32)next != -1) {
			what = g_strdup_printf("has %s set to %d", kinds[k].next, (gint32)next);
			todo = g_strdup_printf("set it back to -1 in the process's IPC namespace "
					       "(sysctl -w %s=-1) before checkpointing",
					       kinds[k].next);
		}
		if (what)
			return refuse(error, pid, what, todo);
	}
	guint64 mq;
	if (!sv_introspect_read_uint(in, ns + mq_off, 4, &mq, error))
		return FALSE;
	if (mq) {
		g_autofree char *what = g_strdup_printf("holds %u POSIX message queue%s", (guint)mq,
							mq == 1 ? "" : "s");
		return refuse(error, pid, what,
			      "checkpoint it once it no longer needs them, after removing them "
			      "in its IPC namespace (mq_unlink, or rm in a mounted /dev/mqueue)");
	}
	return TRUE;
}

gboolean sv_introspect_ipc_namespace(const SvIntrospect *in, const SvTaskRef *ref, guint64 nsproxy,
				     GError **error)
{
	guint64 ipc_off, ns;
	if (!sv_kernel_types_offset(in->types, "nsproxy", "ipc_ns", &ipc_off, error) ||
	    !sv_introspect_read_uint(in, nsproxy + ipc_off, 8, &ns, error))
		return FALSE;
	if (!ns) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "guest pid %u has no IPC namespace (exiting?)", ref->pid);
		return FALSE;
	}
	if (!sets_left(in, ns, ref->pid, error))
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(limits); i++) {
		guint64 off, value;
		if (!member_offset(in, limits[i].member, &off, error) ||
		    !sv_introspect_read_uint(in, ns + off, limits[i].size, &value, error))
			return FALSE;
		if (value == limits[i].fresh)
			continue;
		g_autofree char *what = g_strdup_printf("has %s set to %" G_GUINT64_FORMAT
							", not %" G_GUINT64_FORMAT,
							limits[i].sysctl, value, limits[i].fresh);
		/* "kernel.sem (SEMMSL)" is one of sysctl kernel.sem's four */
		const char *field = strchr(limits[i].sysctl, '(');
		g_autofree char *todo =
			field ? g_strdup_printf("set it back to %" G_GUINT64_FORMAT
						" in the process's IPC namespace (the %.*s field of "
						"sysctl kernel.sem) before checkpointing, if the "
						"process does not rely on it",
						limits[i].fresh, (int)strcspn(field + 1, ")"),
						field + 1)
			      : g_strdup_printf("set it back in the process's IPC namespace "
						"(sysctl -w %s=%" G_GUINT64_FORMAT
						") before checkpointing, if the process does not "
						"rely on it",
						limits[i].sysctl, limits[i].fresh);
		return refuse(error, ref->pid, what, todo);
	}
	return TRUE;
}
