/* SPDX-License-Identifier: MIT */
/* memfiles.c - see memfiles.h. */
#include "host/checkpoint/memfiles.h"

#include <string.h>

#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"

/* The largest file carried, as for files carried by path (cli-checkpoint.c) */
#define MAX_MEMFILE (1ull << 30)
#define HUGETLBFS_MAGIC 0x958458f6ull
#define S_IFMT_ 0170000u
#define S_IFREG_ 0100000u

typedef struct {
	SvFileIdentity id;
	const char *kind; /* SV_TASK_MEMFILE_KIND_* */
	char *path;
	char *by_proc;	  /* a /proc path the agent can open the same inode by */
	GBytes *contents; /* NULL until read */
	const char *source;
	guint64 cached_bytes;
	GArray *vmas;	       /* guint64 starts */
	gboolean partial_view; /* a mapping of a SysV segment not all of it */
	gint32 shmid;	       /* SysV: the segment's id and key */
	guint32 key;
	char *sha256;
	SvInodeTimes times; /* ghost, tmpfile, memfd: put back at restore */
} MemFile;

struct SvMemFiles {
	GPtrArray *files;    /* MemFile, in the order found */
	GHashTable *by_file; /* struct file -> MemFile */
	guint64 cache_bytes, agent_bytes;
};

static void memfile_free(MemFile *f)
{
	g_free(f->path);
	g_free(f->by_proc);
	g_clear_pointer(&f->contents, g_bytes_unref);
	g_array_unref(f->vmas);
	g_free(f->sha256);
	g_free(f);
}

void sv_memfiles_free(SvMemFiles *mf)
{
	if (!mf)
		return;
	g_ptr_array_unref(mf->files);
	g_hash_table_unref(mf->by_file);
	g_free(mf);
}

/* Refuses the files of memory that snapvm does not carry, naming them;
 * the kind of a carried one otherwise, NULL for a file with a name. */
static gboolean classify(const SvFileIdentity *id, const char *path, const char *what,
			 const char **ret_kind, GError **error)
{
	*ret_kind = NULL;
	const char *refused = NULL;
	/* a /proc file is no file of memory: checkpoint.c reopens it by path
	 * (proc-paths.c) */
	if (id->fs_magic == SV_PROC_MAGIC)
		return TRUE;
	if (!strcmp(path, "/[aio]"))
		refused = "an AIO ring (io_setup); snapvm does not carry those";
	else if (id->fs_magic == HUGETLBFS_MAGIC)
		refused = "hugetlbfs memory; snapvm does not carry it";
	if (refused) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT, "%s (%s) is %s", what, path,
			    refused);
		return FALSE;
	}
	if (id->nlink != 0 || (id->i_mode & S_IFMT_) != S_IFREG_)
		return TRUE;
	const char *base = strrchr(path, '/');
	g_autofree char *tmpname = g_strdup_printf("#%" G_GUINT64_FORMAT, id->ino);
	if (g_str_has_prefix(path, "/SYSV") && strlen(path) == 13 && id->fs_magic == SV_TMPFS_MAGIC)
		*ret_kind = SV_TASK_MEMFILE_KIND_SYSV; /* "/SYSV%08x" */
	else if (g_str_has_prefix(path, "/memfd:") && id->fs_magic == SV_TMPFS_MAGIC)
		*ret_kind = SV_TASK_MEMFILE_KIND_MEMFD;
	else if (!strcmp(path, "/dev/zero") && id->fs_magic == SV_TMPFS_MAGIC)
		*ret_kind = SV_TASK_MEMFILE_KIND_SHMEM;
	else if (base && !strcmp(base + 1, tmpname))
		*ret_kind = SV_TASK_MEMFILE_KIND_TMPFILE; /* d_tmpfile names it "#ino" */
	else
		*ret_kind = SV_TASK_MEMFILE_KIND_GHOST;
	return TRUE;
}

/* The memory-only file behind the struct file at `file` (added on first
 * sight), or NULL with no error for a file that has a name. */
static MemFile *note(SvMemFiles *mf, const SvIntrospect *in, guint64 file, const char *path,
		     const char *what, const char *by_proc, GError **error)
{
	MemFile *f = g_hash_table_lookup(mf->by_file, &file);
	if (f)
		return f;
	SvFileIdentity id;
	const char *kind;
	SvShmSegment seg = { .id = -1 };
	if (!sv_introspect_file_identity(in, file, &id, error) ||
	    !classify(&id, path, what, &kind, error) || !kind)
		return NULL;
	if (!strcmp(kind, SV_TASK_MEMFILE_KIND_SYSV) &&
	    !sv_introspect_shm_attachment(in, file, id.inode, &seg, error)) {
		g_prefix_error(error, "%s (%s): ", what, path);
		return NULL;
	}
	if (seg.removed) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "%s is SysV shm segment %d, removed (IPC_RMID) while still attached; "
			    "snapvm does not restore those yet",
			    what, seg.id);
		return NULL;
	}
	if (seg.id >= 0) /* the segment's permissions, not its shmem inode's */
		id.i_mode = (id.i_mode & ~0777u) | seg.mode;
	for (guint i = 0; i < mf->files->len && !f; i++)
		if (((MemFile *)mf->files->pdata[i])->id.inode == id.inode)
			f = mf->files->pdata[i];
	if (!f) {
		f = g_new0(MemFile, 1);
		f->id = id;
		f->kind = kind;
		f->path = g_strdup(path);
		f->by_proc = g_strdup(by_proc);
		f->vmas = g_array_new(FALSE, FALSE, sizeof(guint64));
		f->shmid = seg.id;
		f->key = seg.key;
		g_ptr_array_add(mf->files, f);
		/* read at the pause, before the agent may read the file (atime) */
		if (!sv_introspect_inode_times(in, id.inode, &f->times, error))
			return NULL;
	}
	g_hash_table_insert(mf->by_file, g_memdup2(&file, sizeof(file)), f);
	return f;
}

SvMemFiles *sv_memfiles_capture(const SvIntrospect *in, guint32 pid, GVariant *fds,
				const GArray *vmas, gsize elem_size, GError **error)
{
	g_autoptr(SvMemFiles) mf = g_new0(SvMemFiles, 1);
	mf->files = g_ptr_array_new_with_free_func((GDestroyNotify)memfile_free);
	mf->by_file = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	GVariantIter it;
	GVariant *d;
	g_variant_iter_init(&it, fds);
	while ((d = g_variant_iter_next_value(&it))) {
		g_autoptr(GVariant) entry = d;
		const char *kind = "", *path = NULL;
		guint32 fd = 0;
		guint64 file = 0;
		g_variant_lookup(entry, SV_TASK_FD_KIND, "&s", &kind);
		g_variant_lookup(entry, SV_TASK_FD_PATH, "&s", &path);
		g_variant_lookup(entry, SV_TASK_FD_FD, "u", &fd);
		g_variant_lookup(entry, SV_TASK_FD_FILE, "t", &file);
		if (!file || !path ||
		    (strcmp(kind, SV_TASK_FD_KIND_FILE) && strcmp(kind, SV_TASK_FD_KIND_DIR)))
			continue;
		g_autofree char *what = g_strdup_printf("fd %u of guest pid %u", fd, pid);
		g_autofree char *by_proc = g_strdup_printf("/proc/%u/fd/%u", pid, fd);
		g_autoptr(GError) local = NULL;
		if (!note(mf, in, file, path, what, by_proc, &local) && local) {
			g_propagate_error(error, g_steal_pointer(&local));
			return NULL;
		}
	}
	for (guint i = 0; i < vmas->len; i++) {
		const SvGuestVma *v = (const SvGuestVma *)(vmas->data + i * elem_size);
		if (!v->file || !v->name)
			continue;
		g_autofree char *what = g_strdup_printf("the mapping at 0x%" G_GINT64_MODIFIER
							"x of guest pid %u",
							v->start, pid);
		g_autofree char *by_proc = g_strdup_printf("/proc/%u/map_files/%" G_GINT64_MODIFIER
							   "x-%" G_GINT64_MODIFIER "x",
							   pid, v->start, v->end);
		g_autoptr(GError) local = NULL;
		MemFile *f = note(mf, in, v->file, v->name, what, by_proc, &local);
		if (!f && local) {
			g_propagate_error(error, g_steal_pointer(&local));
			return NULL;
		}
		if (f)
			g_array_append_val(f->vmas, v->start);
		/* shmat maps a segment whole: restore can make nothing else */
		if (f && f->shmid >= 0 && v->pgoff != 0)
			f->partial_view = TRUE;
	}
	/* the contents the page cache holds, while the VM is still paused */
	for (guint i = 0; i < mf->files->len; i++) {
		MemFile *f = mf->files->pdata[i];
		/* F_SEAL_WRITE, F_SEAL_FUTURE_WRITE: the restorer fills the file
		 * through a writable fd its mappings are then made from */
		if (f->vmas->len && (f->id.seals & 0x18) &&
		    !strcmp(f->kind, SV_TASK_MEMFILE_KIND_MEMFD)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "guest pid %u maps memfd %s, sealed against writing (seals "
				    "0x%x); snapvm does not restore that yet",
				    pid, f->path, f->id.seals);
			return NULL;
		}
		gboolean holes = f->id.fs_magic == SV_TMPFS_MAGIC ||
				 f->id.fs_magic == SV_RAMFS_MAGIC;
		SvPageCacheRead r;
		if (!sv_introspect_page_cache(in, f->id.inode, MAX_MEMFILE, holes, &r, error)) {
			g_prefix_error(error,
				       "reading %s (%s, held by guest pid %u) from the page "
				       "cache: ",
				       f->path, f->kind, pid);
			return NULL;
		}
		f->contents = r.contents;
		f->cached_bytes = r.cached_bytes;
		guint64 whole = (r.size + 4095) & ~4095ull;
		for (guint k = 0; f->shmid >= 0 && k < vmas->len; k++) {
			const SvGuestVma *v = (const SvGuestVma *)(vmas->data + k * elem_size);
			if (sv_memfiles_inode_of(mf, v->file) == f->id.inode &&
			    v->end - v->start != whole)
				f->partial_view = TRUE;
		}
		if (f->partial_view) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "guest pid %u maps part of SysV shm segment %d (%s) only; "
				    "snapvm restores whole attachments (shmat) only",
				    pid, f->shmid, f->path);
			return NULL;
		}
		if (f->contents) {
			f->source = "page-cache";
			mf->cache_bytes += r.cached_bytes;
		}
	}
	return g_steal_pointer(&mf);
}

guint64 sv_memfiles_inode_of(const SvMemFiles *mf, guint64 file)
{
	const MemFile *f = mf ? g_hash_table_lookup(mf->by_file, &file) : NULL;
	return f ? f->id.inode : 0;
}

gboolean sv_memfiles_carry(SvMemFiles *mf, SvSnapshotWriter *w, SvGuestFileFn read_file,
			   gpointer read_file_data, GError **error)
{
	for (guint i = 0; i < mf->files->len; i++) {
		MemFile *f = mf->files->pdata[i];
		if (!f->contents) {
			if (!read_file) {
				g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
					    "%s (%s) is not all in the guest's page cache, and the "
					    "rest cannot be read without the guest agent",
					    f->path, f->kind);
				return FALSE;
			}
			f->contents = read_file(f->by_proc, read_file_data, error);
			if (!f->contents) {
				g_prefix_error(error, "carrying %s (%s) by %s: ", f->path, f->kind,
					       f->by_proc);
				return FALSE;
			}
			f->source = "agent";
			mf->agent_bytes += g_bytes_get_size(f->contents);
		}
		g_free(f->sha256);
		f->sha256 = sv_snapshot_writer_add_file(w, f->contents, error);
		if (!f->sha256)
			return FALSE;
	}
	return TRUE;
}

const char *sv_memfiles_sha256(const SvMemFiles *mf, guint64 inode)
{
	for (guint i = 0; mf && i < mf->files->len; i++) {
		const MemFile *f = mf->files->pdata[i];
		if (f->id.inode == inode)
			return f->sha256;
	}
	return NULL;
}

GVariant *sv_memfiles_variant(const SvMemFiles *mf)
{
	if (!mf || !mf->files->len)
		return NULL;
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_MEMFILES_TYPE));
	for (guint i = 0; i < mf->files->len; i++) {
		const MemFile *f = mf->files->pdata[i];
		g_auto(GVariantDict) d;
		g_variant_dict_init(&d, NULL);
		g_variant_dict_insert(&d, SV_TASK_MEMFILE_INODE, "t", f->id.inode);
		g_variant_dict_insert(&d, SV_TASK_MEMFILE_KIND, "s", f->kind);
		g_variant_dict_insert(&d, SV_TASK_MEMFILE_PATH, "s", f->path);
		g_variant_dict_insert(&d, SV_TASK_MEMFILE_I_MODE, "u", f->id.i_mode);
		g_variant_dict_insert(&d, SV_TASK_MEMFILE_OWNER, "(uu)", f->id.uid, f->id.gid);
		g_variant_dict_insert(&d, SV_TASK_MEMFILE_SEALS, "u", f->id.seals);
		g_variant_dict_insert(&d, SV_TASK_MEMFILE_TIMES, SV_TASK_MEMFILE_TIMES_TYPE,
				      f->times.atime_sec, f->times.atime_nsec, f->times.mtime_sec,
				      f->times.mtime_nsec);
		g_variant_dict_insert(&d, SV_TASK_MEMFILE_SHA256, "s", f->sha256 ? f->sha256 : "");
		g_variant_dict_insert(&d, SV_TASK_MEMFILE_SOURCE, "s", f->source ? f->source : "");
		if (f->shmid >= 0) {
			g_variant_dict_insert(&d, SV_TASK_MEMFILE_SYSV_KEY, "u", f->key);
			g_variant_dict_insert(&d, SV_TASK_MEMFILE_SYSV_ID, "i", f->shmid);
		}
		g_variant_dict_insert_value(&d, SV_TASK_MEMFILE_VMAS,
					    g_variant_new_fixed_array(G_VARIANT_TYPE_UINT64,
								      f->vmas->data, f->vmas->len,
								      sizeof(guint64)));
		g_variant_builder_add_value(&b, g_variant_dict_end(&d));
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

void sv_memfiles_counts(const SvMemFiles *mf, guint *ret_files, guint64 *ret_cache_bytes,
			guint64 *ret_agent_bytes)
{
	*ret_files = mf ? mf->files->len : 0;
	*ret_cache_bytes = mf ? mf->cache_bytes : 0;
	*ret_agent_bytes = mf ? mf->agent_bytes : 0;
}
