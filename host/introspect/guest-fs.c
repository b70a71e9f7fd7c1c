/* SPDX-License-Identifier: MIT */
/*
 * guest-fs.c - the files a process's guest wrote since it booted, read out
 * of guest memory while it is paused: the guest's writable filesystems
 * are the initramfs root (ramfs or tmpfs) and the tmpfs the agent mounts
 * on /tmp, which live only in memory, so the dentry cache holds all of
 * them. Mounts are taken from the task's mount namespace: its root mount
 * and, depth first, each mount's children (mnt_mounts/mnt_child, which
 * every kernel has; the namespace's own list became an rbtree in 6.8);
 * for each tmpfs/ramfs one (not devtmpfs) its dentry tree is walked from
 * the mount's root through each dentry's children (the list d_subdirs/
 * d_child before Linux 6.8, the hlist d_children/d_sib since),
 * skipping negative and unhashed dentries (unlinked files, O_TMPFILE:
 * memfiles.c carries those) and mountpoints (their mount is walked on
 * its own). Each inode gives type, mode, owner, times, size, device
 * number; regular files' contents and long symlinks come from the page
 * cache (page-cache.c), holes included; a second name of an inode is a
 * hard link to its first.
 *
 * "Since boot": the namespace's root filesystem holds the image the guest
 * booted (busybox, modules, the workload), which a fresh guest has again;
 * of it only what changed after the agent mounted /tmp (its inode's ctime
 * is later than the root of the agent's first tmpfs) is carried. The
 * other tmpfs mounts are carried whole. Guest memory is hostile: the walk
 * visits a bounded number of dentries, list walks are bounded, names are
 * checked (no '/', not . or ..).
 *
 * Which layout a kernel has is read from its BTF, member by member (what
 * exists is used), never guessed from its version: the inode times are
 * struct timespec64 i_ctime before 6.6, __i_ctime from 6.6 (and __i_atime,
 * __i_mtime from 6.7), and i_ctime_sec + i_ctime_nsec from 6.11.
 */
#include <string.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define MAX_MOUNTS 1024u
#define MAX_DENTRIES 200000u /* visited, carried or not */
#define MAX_DEPTH 64u
#define MAX_SYMLINK 4096u
#define DCACHE_MOUNTED_ 0x00010000ull /* include/linux/dcache.h */
#define S_IFMT_ 0170000u
#define S_IFLNK_ 0120000u
#define S_IFREG_ 0100000u
#define S_IFDIR_ 0040000u
/* where `snapvm restore` puts its own files (restore-image-format.h) */
#define RESTORE_DIR "/workload/.snapvm-restore"

/* Where an inode keeps one of its times: seconds and nanoseconds, each
 * at an offset in struct inode with its own width. */
typedef struct {
	guint64 sec, nsec, sec_size, nsec_size;
} InodeTime;

typedef struct {
	guint64 nsproxy, mnt_ns, ns_root, mount_mnt, mnt_mounts, mnt_child, mnt_root, mnt_sb,
		s_magic, s_type, fs_name, list_next;
	/* a dentry's children: d_children is the head in the parent, d_sib
	 * the link in each child, first/next where in them the next link's
	 * address is; children_hlist: an hlist (ends in NULL), else a
	 * circular list (ends at its head) */
	guint64 d_children, d_sib, first, next, d_inode, d_flags, d_name, qstr_name, qstr_len,
		d_hash_pprev;
	gboolean children_hlist;
	guint64 i_mode, i_uid, i_gid, i_nlink, i_size, i_rdev, i_link;
	InodeTime atime, mtime, ctime;
} FsLayout;

typedef struct {
	const SvIntrospect *in;
	FsLayout l;
	GPtrArray *out;	    /* SvGuestFsEntry */
	GHashTable *inodes; /* inode -> its first path, for hard links */
	gint64 since_sec;   /* carry only what changed after (root fs); -1: all */
	guint64 since_nsec;
	guint64 bytes, max_bytes;
	guint visited;
} Walk;

void sv_guest_fs_entry_free(SvGuestFsEntry *e)
{
	if (!e)
		return;
	g_free(e->path);
	g_free(e->target);
	g_free(e->link);
	g_clear_pointer(&e->contents, g_bytes_unref);
	g_free(e);
}

/* Whether struct `type` has the member (not an error if not). */
static gboolean has(const SvKernelTypes *kt, const char *type, const char *member)
{
	guint64 off;
	return sv_kernel_types_offset(kt, type, member, &off, NULL);
}

/* The inode time `which` ("atime", "mtime", "ctime") as this kernel's
 * BTF lays it out: i_<which>_sec and i_<which>_nsec, or a timespec64
 * named __i_<which> or i_<which>. */
static gboolean inode_time(const SvKernelTypes *kt, const char *which, InodeTime *t, GError **error)
{
	g_autofree char *sec = g_strdup_printf("i_%s_sec", which);
	g_autofree char *nsec = g_strdup_printf("i_%s_nsec", which);
	if (!has(kt, "inode", sec)) {
		g_autofree char *ts = g_strdup_printf("__i_%s", which);
		if (!has(kt, "inode", ts)) {
			g_free(ts);
			ts = g_strdup_printf("i_%s", which);
		}
		g_free(sec);
		g_free(nsec);
		sec = g_strdup_printf("%s.tv_sec", ts);
		nsec = g_strdup_printf("%s.tv_nsec", ts);
	}
	if (!sv_kernel_types_offset(kt, "inode", sec, &t->sec, error) ||
	    !sv_kernel_types_offset(kt, "inode", nsec, &t->nsec, error) ||
	    !sv_kernel_types_size(kt, "inode", sec, &t->sec_size, error) ||
	    !sv_kernel_types_size(kt, "inode", nsec, &t->nsec_size, error))
		return FALSE;
	if (t->sec_size == 0 || t->sec_size > 8 || t->nsec_size == 0 || t->nsec_size > 8) {
		g_set_error(error, SV_ERROR, SV_ERROR_NOT_SUPPORTED,
			    "inode.%s is %" G_GUINT64_FORMAT
			    " bytes and inode.%s %" G_GUINT64_FORMAT ": not a time snapvm can read",
			    sec, t->sec_size, nsec, t->nsec_size);
		return FALSE;
	}
	return TRUE;
}

static gboolean fs_layout(const SvIntrospect *in, FsLayout *l, GError **error)
{
	/* a dentry's children: an hlist since Linux 6.8, a list before */
	gboolean hl = l->children_hlist = has(in->types, "dentry", "d_children");
	const SvMemberOffset want[] = {
		{ "task_struct", "nsproxy", &l->nsproxy },
		{ "nsproxy", "mnt_ns", &l->mnt_ns },
		{ "mnt_namespace", "root", &l->ns_root },
		{ "mount", "mnt", &l->mount_mnt },
		{ "mount", "mnt_mounts", &l->mnt_mounts },
		{ "mount", "mnt_child", &l->mnt_child },
		{ "list_head", "next", &l->list_next },
		{ "vfsmount", "mnt_root", &l->mnt_root },
		{ "vfsmount", "mnt_sb", &l->mnt_sb },
		{ "super_block", "s_magic", &l->s_magic },
		{ "super_block", "s_type", &l->s_type },
		{ "file_system_type", "name", &l->fs_name },
		{ "dentry", hl ? "d_children" : "d_subdirs", &l->d_children },
		{ "dentry", hl ? "d_sib" : "d_child", &l->d_sib },
		{ hl ? "hlist_head" : "list_head", hl ? "first" : "next", &l->first },
		{ hl ? "hlist_node" : "list_head", "next", &l->next },
		{ "dentry", "d_inode", &l->d_inode },
		{ "dentry", "d_flags", &l->d_flags },
		{ "dentry", "d_name", &l->d_name },
		{ "dentry", "d_hash.pprev", &l->d_hash_pprev },
		{ "qstr", "name", &l->qstr_name },
		{ "qstr", "len", &l->qstr_len },
		{ "inode", "i_mode", &l->i_mode },
		{ "inode", "i_uid", &l->i_uid },
		{ "inode", "i_gid", &l->i_gid },
		{ "inode", "i_nlink", &l->i_nlink },
		{ "inode", "i_size", &l->i_size },
		{ "inode", "i_rdev", &l->i_rdev },
		{ "inode", "i_link", &l->i_link },
	};
	return sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) &&
	       inode_time(in->types, "atime", &l->atime, error) &&
	       inode_time(in->types, "mtime", &l->mtime, error) &&
	       inode_time(in->types, "ctime", &l->ctime, error);
}

static gboolean read_time(const SvIntrospect *in, const InodeTime *t, guint64 inode, gint64 *sec,
			  guint32 *nsec, GError **error)
{
	guint64 s, ns;
	if (!sv_introspect_read_uint(in, inode + t->sec, (guint)t->sec_size, &s, error) ||
	    !sv_introspect_read_uint(in, inode + t->nsec, (guint)t->nsec_size, &ns, error))
		return FALSE;
	/* sign-extended from its width: a time before 1970 */
	guint shift = 64 - 8 * (guint)t->sec_size;
	*sec = (gint64)(s << shift) >> shift;
	*nsec = (guint32)MIN(ns, 999999999u);
	return TRUE;
}

/* A dentry's name in directory dir, checked to be one path component. */
static char *component(const Walk *w, guint64 dentry, const char *dir, GError **error)
{
	guint64 len, name;
	if (!sv_introspect_read_uint(w->in, dentry + w->l.d_name + w->l.qstr_len, 4, &len, error) ||
	    !sv_introspect_read_uint(w->in, dentry + w->l.d_name + w->l.qstr_name, 8, &name, error))
		return NULL;
	if (len == 0 || len > 255) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL, "a guest file name of %u bytes",
			    (guint)len);
		return NULL;
	}
	g_autofree char *s = g_malloc0(len + 1);
	if (!sv_introspect_read(w->in, name, s, len, error))
		return NULL;
	if (strlen(s) != len || strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, "..") ||
	    !g_utf8_validate(s, -1, NULL)) {
		g_autofree char *shown = g_utf8_make_valid(s, -1);
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "a file in the guest's %s is named '%s', which is not one UTF-8 path "
			    "component: snapvm cannot carry it (checkpoint with --no-fs to leave "
			    "the files the guest wrote out)",
			    dir, shown);
		return NULL;
	}
	return g_steal_pointer(&s);
}

/* The symlink's target: inline (i_link, tmpfs's short ones) or in its
 * page cache (long ones, ramfs). */
static char *symlink_target(Walk *w, guint64 inode, GError **error)
{
	guint64 link;
	if (!sv_introspect_read_uint(w->in, inode + w->l.i_link, 8, &link, error))
		return NULL;
	g_autofree char *s = NULL;
	if (link) {
		s = g_malloc0(MAX_SYMLINK + 1);
		for (guint i = 0; i < MAX_SYMLINK; i++) {
			if (!sv_introspect_read(w->in, link + i, s + i, 1, error))
				return NULL;
			if (!s[i])
				break;
		}
	} else {
		SvPageCacheRead r;
		if (!sv_introspect_page_cache(w->in, inode, MAX_SYMLINK, TRUE, &r, error))
			return NULL;
		g_autoptr(GBytes) b = r.contents;
		gsize n = 0;
		const char *p = b ? g_bytes_get_data(b, &n) : NULL;
		s = g_strndup(p ? p : "", n);
	}
	if (!s[0] || !g_utf8_validate(s, -1, NULL)) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "a guest symbolic link's target is empty or not UTF-8");
		return NULL;
	}
	return g_steal_pointer(&s);
}

/* One positive, hashed dentry at path: its entry, if it is to be carried. */
static gboolean visit(Walk *w, guint64 dentry, guint64 inode, const char *path, GError **error)
{
	guint64 mode, uid, gid, size, rdev, nlink;
	SvGuestFsEntry e = { 0 };
	gint64 ctime_sec;
	guint32 ctime_nsec;
	if (!sv_introspect_read_uint(w->in, inode + w->l.i_mode, 2, &mode, error) ||
	    !sv_introspect_read_uint(w->in, inode + w->l.i_uid, 4, &uid, error) ||
	    !sv_introspect_read_uint(w->in, inode + w->l.i_gid, 4, &gid, error) ||
	    !sv_introspect_read_uint(w->in, inode + w->l.i_nlink, 4, &nlink, error) ||
	    !sv_introspect_read_uint(w->in, inode + w->l.i_size, 8, &size, error) ||
	    !sv_introspect_read_uint(w->in, inode + w->l.i_rdev, 4, &rdev, error) ||
	    !read_time(w->in, &w->l.atime, inode, &e.atime_sec, &e.atime_nsec, error) ||
	    !read_time(w->in, &w->l.mtime, inode, &e.mtime_sec, &e.mtime_nsec, error) ||
	    !read_time(w->in, &w->l.ctime, inode, &ctime_sec, &ctime_nsec, error))
		return FALSE;
	if (nlink == 0)
		return TRUE;
	if (w->since_sec >= 0 && (ctime_sec < w->since_sec ||
				  (ctime_sec == w->since_sec && ctime_nsec <= w->since_nsec)))
		return TRUE; /* as the guest booted it */
	e.path = g_strdup(path);
	e.i_mode = (guint32)mode;
	e.uid = (guint32)uid;
	e.gid = (guint32)gid;
	e.rdev = (guint32)rdev;
	e.inode = inode;
	const char *first = g_hash_table_lookup(w->inodes, &inode);
	if (first && (mode & S_IFMT_) != S_IFDIR_) {
		e.link = g_strdup(first);
	} else if ((mode & S_IFMT_) == S_IFREG_) {
		SvPageCacheRead r;
		guint64 left = w->max_bytes - w->bytes;
		if (!sv_introspect_page_cache(w->in, inode, left, TRUE, &r, NULL)) {
			g_free(e.path);
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "the guest's files written since boot exceed %" G_GUINT64_FORMAT
				    " MiB (at %s, %" G_GUINT64_FORMAT
				    " bytes); checkpoint with --no-fs to leave them out",
				    w->max_bytes >> 20, path, size);
			return FALSE;
		}
		if (!r.complete) {
			g_free(e.path);
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "guest file %s is not all in memory", path);
			return FALSE;
		}
		e.contents = r.contents;
		e.size = r.size;
		w->bytes += r.size;
	} else if ((mode & S_IFMT_) == S_IFLNK_) {
		e.target = symlink_target(w, inode, error);
		if (!e.target) {
			g_free(e.path);
			return FALSE;
		}
	}
	if (!first)
		g_hash_table_insert(w->inodes, g_memdup2(&inode, sizeof(inode)), g_strdup(path));
	g_ptr_array_add(w->out, g_memdup2(&e, sizeof(e)));
	return TRUE;
}

/* The dentry tree under dir (at path), depth first. */
static gboolean walk_dir(Walk *w, guint64 dir, const char *path, guint depth, GError **error)
{
	if (depth > MAX_DEPTH) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "guest directories nest deeper than %u at %s", MAX_DEPTH, path);
		return FALSE;
	}
	guint64 head = dir + w->l.d_children, next;
	if (!sv_introspect_read_uint(w->in, head + w->l.first, 8, &next, error))
		return FALSE;
	while (w->l.children_hlist ? next != 0 : next != head) {
		if (++w->visited > MAX_DENTRIES) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "the guest's filesystems hold over %u dentries (or a loop)",
				    MAX_DENTRIES);
			return FALSE;
		}
		guint64 dentry = next - w->l.d_sib, inode, flags, pprev;
		if (!sv_introspect_read_uint(w->in, next + w->l.next, 8, &next, error) ||
		    !sv_introspect_read_uint(w->in, dentry + w->l.d_inode, 8, &inode, error) ||
		    !sv_introspect_read_uint(w->in, dentry + w->l.d_flags, 4, &flags, error) ||
		    !sv_introspect_read_uint(w->in, dentry + w->l.d_hash_pprev, 8, &pprev, error))
			return FALSE;
		/* negative (or a readdir cursor), unhashed (unlinked) */
		if (!inode || !pprev)
			continue;
		g_autofree char *name = component(w, dentry, path, error);
		if (!name)
			return FALSE;
		g_autofree char *child = g_strdup_printf("%s/%s", strcmp(path, "/") ? path : "",
							 name);
		if ((flags & DCACHE_MOUNTED_) || !strcmp(child, RESTORE_DIR))
			continue;
		if (!visit(w, dentry, inode, child, error))
			return FALSE;
		guint64 mode;
		if (!sv_introspect_read_uint(w->in, inode + w->l.i_mode, 2, &mode, error))
			return FALSE;
		if ((mode & S_IFMT_) == S_IFDIR_ && !walk_dir(w, dentry, child, depth + 1, error))
			return FALSE;
	}
	return TRUE;
}

typedef struct {
	guint64 mnt; /* struct vfsmount */
	guint64 root;
	gboolean ns_root;
} Mount;

/* The mount and, depth first, the mounts under it: each tmpfs or ramfs
 * one (not devtmpfs) is appended to out; *n counts those visited. */
static gboolean collect_mounts(Walk *w, guint64 mount, guint64 ns_root, guint depth, guint *n,
			       GArray *out, GError **error)
{
	const FsLayout *l = &w->l;
	if (++*n > MAX_MOUNTS || depth > MAX_DEPTH) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "the guest's mount namespace has over %u mounts or nests them deeper "
			    "than %u (or a loop)",
			    MAX_MOUNTS, MAX_DEPTH);
		return FALSE;
	}
	guint64 mnt = mount + l->mount_mnt, sb, magic, type, name, root;
	char fs[16] = { 0 };
	if (!sv_introspect_read_uint(w->in, mnt + l->mnt_sb, 8, &sb, error) ||
	    !sv_introspect_read_uint(w->in, mnt + l->mnt_root, 8, &root, error) ||
	    !sv_introspect_read_uint(w->in, sb + l->s_magic, 8, &magic, error))
		return FALSE;
	/* the type's name only for tmpfs and ramfs, built into the kernel:
	 * another filesystem's type may live in a module (ext4 of a root
	 * filesystem image), outside what can be read */
	gboolean writable = magic == SV_TMPFS_MAGIC || magic == SV_RAMFS_MAGIC;
	if (writable && (!sv_introspect_read_uint(w->in, sb + l->s_type, 8, &type, error) ||
			 !sv_introspect_read_uint(w->in, type + l->fs_name, 8, &name, error) ||
			 !sv_introspect_read(w->in, name, fs, sizeof(fs) - 1, error)))
		return FALSE;
	if (writable && strcmp(fs, "devtmpfs")) {
		Mount m = { .mnt = mnt, .root = root, .ns_root = mount == ns_root };
		g_array_append_val(out, m);
	}
	guint64 head = mount + l->mnt_mounts, next;
	if (!sv_introspect_read_uint(w->in, head + l->list_next, 8, &next, error))
		return FALSE;
	while (next != head) {
		guint64 child = next - l->mnt_child;
		if (!sv_introspect_read_uint(w->in, next + l->list_next, 8, &next, error) ||
		    !collect_mounts(w, child, ns_root, depth + 1, n, out, error))
			return FALSE;
	}
	return TRUE;
}

/* The tmpfs and ramfs mounts of the task's mount namespace, parents
 * before the mounts under them. */
static GArray *writable_mounts(Walk *w, guint64 task, GError **error)
{
	const FsLayout *l = &w->l;
	guint64 nsproxy, ns, ns_root;
	guint n = 0;
	if (!sv_introspect_read_uint(w->in, task + l->nsproxy, 8, &nsproxy, error) ||
	    !sv_introspect_read_uint(w->in, nsproxy + l->mnt_ns, 8, &ns, error) ||
	    !sv_introspect_read_uint(w->in, ns + l->ns_root, 8, &ns_root, error))
		return NULL;
	g_autoptr(GArray) out = g_array_new(FALSE, FALSE, sizeof(Mount));
	if (!collect_mounts(w, ns_root, ns_root, 0, &n, out, error))
		return NULL;
	return g_steal_pointer(&out);
}

GPtrArray *sv_introspect_guest_fs(const SvIntrospect *in, const SvTaskRef *ref, guint64 max_bytes,
				  guint64 *ret_bytes, GError **error)
{
	Walk w = { .in = in, .max_bytes = max_bytes };
	if (!fs_layout(in, &w.l, error)) {
		g_prefix_error(error, "cannot walk the guest's files on this kernel (checkpoint "
				      "with --no-fs to leave them out): ");
		return NULL;
	}
	g_autoptr(GArray) mounts = writable_mounts(&w, ref->task, error);
	if (!mounts)
		return NULL;
	/* what the root filesystem had at boot: before the first other
	 * tmpfs was made (the agent's /tmp) */
	gint64 since_sec = -1;
	guint32 since_nsec = 0;
	for (guint i = 0; i < mounts->len; i++) {
		const Mount *m = &g_array_index(mounts, Mount, i);
		guint64 inode;
		gint64 s;
		guint32 ns;
		if (m->ns_root)
			continue;
		if (!sv_introspect_read_uint(in, m->root + w.l.d_inode, 8, &inode, error) ||
		    !read_time(in, &w.l.ctime, inode, &s, &ns, error))
			return NULL;
		if (since_sec < 0 || s < since_sec || (s == since_sec && ns < since_nsec)) {
			since_sec = s;
			since_nsec = ns;
		}
	}
	g_autoptr(GPtrArray)
		out = g_ptr_array_new_with_free_func((GDestroyNotify)sv_guest_fs_entry_free);
	g_autoptr(GHashTable)
		inodes = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	w.out = out;
	w.inodes = inodes;
	for (guint i = 0; i < mounts->len; i++) {
		const Mount *m = &g_array_index(mounts, Mount, i);
		g_autofree char *path = sv_introspect_path_at(in, m->mnt, m->root, error);
		if (!path)
			return NULL;
		if (g_str_has_prefix(path, "/dev/") || g_str_has_prefix(path, "/proc/") ||
		    g_str_has_prefix(path, "/sys/"))
			continue;
		w.since_sec = m->ns_root ? since_sec : -1;
		w.since_nsec = since_nsec;
		if (!walk_dir(&w, m->root, path, 0, error))
			return NULL;
	}
	*ret_bytes = w.bytes;
	return g_steal_pointer(&out);
}

gboolean sv_introspect_inode_times(const SvIntrospect *in, guint64 inode, SvInodeTimes *ret,
				   GError **error)
{
	InodeTime atime, mtime;
	return inode_time(in->types, "atime", &atime, error) &&
	       inode_time(in->types, "mtime", &mtime, error) &&
	       read_time(in, &atime, inode, &ret->atime_sec, &ret->atime_nsec, error) &&
	       read_time(in, &mtime, inode, &ret->mtime_sec, &ret->mtime_nsec, error);
}
