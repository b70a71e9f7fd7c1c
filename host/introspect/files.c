/* SPDX-License-Identifier: MIT */
/*
 * files.c - a process's open file descriptors, from task->files->fdt
 * (include/linux/fdtable.h): the fd array and the open_fds and
 * close_on_exec bitmaps; for each struct file (include/linux/fs.h) its
 * flags, mode, offset, inode type and path; for pipes (include/linux/
 * pipe_fs_i.h) an identity both ends share and the bytes still unread,
 * taken from the pipe_buffer ring's pages (their frames from the vmemmap,
 * found through mem_section).
 *
 * The result is the TASK dict's "fds" entry, an aa{sv}, one dict per fd
 * with the SV_TASK_FD_* keys (include/snapvm/snapshot-task-keys.h): mode
 * is f_mode (FMODE_READ 1, FMODE_WRITE 2), pipe_data a pipe's unread
 * bytes, oldest first.
 * A pipe whose inode is not on pipefs is a named FIFO (kind fifo, with its
 * path); anonymous inodes (eventfd, epoll...) are fd-anon.c's.
 * Kinds restore cannot recreate (sockets, timerfd, signalfd...) are
 * refused here or there, naming the fd: better a checkpoint that fails
 * now than a snapshot that cannot come back.
 */
#include <string.h>
#include <sys/sysmacros.h>

#include "snapvm/le.h" /* sv_get_le* */
#include "snapvm/snapshot-task-keys.h"
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

#define MAX_FDS 65536u
/* pipe_max_size's default is 1 MiB (fs/pipe.c); beyond that a ring is not
 * one a process could have made without privileges. */
#define MAX_PIPE_SLOTS 1024u
#define MAX_PIPE_BYTES (4u << 20)

/* S_IFMT values (include/uapi/linux/stat.h) */
#define S_IFMT_ 0170000u
#define S_IFSOCK_ 0140000u
#define S_IFLNK_ 0120000u
#define S_IFREG_ 0100000u
#define S_IFBLK_ 0060000u
#define S_IFDIR_ 0040000u
#define S_IFCHR_ 0020000u
#define S_IFIFO_ 0010000u
/* pipefs's s_magic (include/uapi/linux/magic.h): an anonymous pipe; a
 * FIFO's inode lives on the filesystem it was made on */
#define PIPEFS_MAGIC_ 0x50495045u
/* open's O_PATH (include/uapi/asm-generic/fcntl.h, every arch snapvm has) */
#define O_PATH_ 010000000u

typedef struct {
	guint64 files, fdt, max_fds, fd, open_fds, cloexec;
	guint64 f_path, f_inode, f_flags, f_mode, f_pos, i_mode, i_pipe, i_sb, i_nlink, s_magic;
	guint64 i_uid, i_gid, i_rdev;
	guint64 p_head, p_tail, p_ring_size, p_max_usage, p_bufs, b_page, b_offset, b_len, buf_size,
		page_size;
} FileLayout;

static gboolean file_layout(const SvIntrospect *in, FileLayout *l, GError **error)
{
	const SvMemberOffset want[] = {
		{ "task_struct", "files", &l->files },
		{ "files_struct", "fdt", &l->fdt },
		{ "fdtable", "max_fds", &l->max_fds },
		{ "fdtable", "fd", &l->fd },
		{ "fdtable", "open_fds", &l->open_fds },
		{ "fdtable", "close_on_exec", &l->cloexec },
		{ "file", "f_path", &l->f_path },
		{ "file", "f_inode", &l->f_inode },
		{ "file", "f_flags", &l->f_flags },
		{ "file", "f_mode", &l->f_mode },
		{ "file", "f_pos", &l->f_pos },
		{ "inode", "i_mode", &l->i_mode },
		{ "inode", "i_pipe", &l->i_pipe },
		{ "inode", "i_sb", &l->i_sb },
		{ "inode", "i_nlink", &l->i_nlink },
		{ "inode", "i_uid", &l->i_uid },
		{ "inode", "i_gid", &l->i_gid },
		{ "inode", "i_rdev", &l->i_rdev },
		{ "super_block", "s_magic", &l->s_magic },
		{ "pipe_inode_info", "head", &l->p_head },
		{ "pipe_inode_info", "tail", &l->p_tail },
		{ "pipe_inode_info", "ring_size", &l->p_ring_size },
		{ "pipe_inode_info", "max_usage", &l->p_max_usage },
		{ "pipe_inode_info", "bufs", &l->p_bufs },
		{ "pipe_buffer", "page", &l->b_page },
		{ "pipe_buffer", "offset", &l->b_offset },
		{ "pipe_buffer", "len", &l->b_len },
	};
	return sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) &&
	       sv_kernel_types_size(in->types, "pipe_buffer", NULL, &l->buf_size, error);
}

static const char *kind_of(guint32 i_mode)
{
	switch (i_mode & S_IFMT_) {
	case S_IFREG_:
		return SV_TASK_FD_KIND_FILE;
	case S_IFDIR_:
		return SV_TASK_FD_KIND_DIR;
	case S_IFCHR_:
		return SV_TASK_FD_KIND_CHR;
	case S_IFBLK_:
		return SV_TASK_FD_KIND_BLK;
	case S_IFIFO_:
		return SV_TASK_FD_KIND_PIPE;
	case S_IFSOCK_:
		return SV_TASK_FD_KIND_SOCKET;
	case S_IFLNK_:
		return SV_TASK_FD_KIND_LINK;
	default:
		return SV_TASK_FD_KIND_ANON; /* anon_inode: epoll, eventfd, signalfd, timerfd... */
	}
}

/* The unread bytes of a pipe: slots tail..head-1 of its ring, each a
 * (page, offset, len); a page's frame is its index in the vmemmap. */
static GVariant *pipe_data(const SvIntrospect *in, const FileLayout *l, guint64 pipe, guint fd,
			   GError **error)
{
	guint64 head, tail, ring, bufs;
	if (!sv_introspect_read_uint(in, pipe + l->p_head, 4, &head, error) ||
	    !sv_introspect_read_uint(in, pipe + l->p_tail, 4, &tail, error) ||
	    !sv_introspect_read_uint(in, pipe + l->p_ring_size, 4, &ring, error) ||
	    !sv_introspect_read_uint(in, pipe + l->p_bufs, 8, &bufs, error))
		return NULL;
	guint32 used = (guint32)head - (guint32)tail;
	if (ring == 0 || ring > MAX_PIPE_SLOTS || (ring & (ring - 1)) || used > ring) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "fd %u: the guest pipe's ring is broken (%" G_GUINT64_FORMAT
			    " slots, %u in use)",
			    fd, ring, used);
		return NULL;
	}
	g_autoptr(GByteArray) data = g_byte_array_new();
	SvStructPages sp = { 0 };
	for (guint32 i = 0; i < used; i++) {
		guint64 b = bufs + (((guint32)tail + i) & (ring - 1)) * l->buf_size;
		guint64 page, off, len, pfn;
		if (!sv_introspect_read_uint(in, b + l->b_page, 8, &page, error) ||
		    !sv_introspect_read_uint(in, b + l->b_offset, 4, &off, error) ||
		    !sv_introspect_read_uint(in, b + l->b_len, 4, &len, error))
			return NULL;
		if (len == 0)
			continue;
		if (!sp.page_size && !sv_struct_pages_init(in, &sp, error)) {
			g_prefix_error(error, "fd %u: a pipe holds unread data, and ", fd);
			return NULL;
		}
		if (off > 4096 || len > 4096 - off || data->len + len > MAX_PIPE_BYTES ||
		    !sv_struct_page_frame(&sp, page, &pfn, NULL)) {
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "fd %u: a guest pipe buffer is out of bounds", fd);
			return NULL;
		}
		guint8 bytes[4096];
		if (!sv_guest_mem_read(in->mem, sv_gpa(pfn * 4096 + off), bytes, len, error))
			return NULL;
		g_byte_array_append(data, bytes, (guint)len);
	}
	return g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, data->data, data->len, 1);
}

/* Whether a pipe inode is a named FIFO (not on pipefs); an unlinked one
 * is refused: its name is gone, and what it was is no longer there to
 * make again (carrying unlinked files is for later). */
static gboolean is_fifo(const SvIntrospect *in, const FileLayout *l, guint64 inode, guint32 pid,
			guint fd, gboolean *ret_fifo, GError **error)
{
	guint64 sb, magic, nlink;
	if (!sv_introspect_read_uint(in, inode + l->i_sb, 8, &sb, error) ||
	    !sv_introspect_read_uint(in, sb + l->s_magic, 8, &magic, error) ||
	    !sv_introspect_read_uint(in, inode + l->i_nlink, 4, &nlink, error))
		return FALSE;
	*ret_fifo = (magic & 0xffffffffu) != PIPEFS_MAGIC_;
	if (*ret_fifo && (nlink & 0xffffffffu) == 0) {
		g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
			    "guest pid %u: fd %u is a named FIFO that has been unlinked; snapvm "
			    "restores FIFOs that still have their name",
			    pid, fd);
		return FALSE;
	}
	return TRUE;
}

/* A directory or device node the process holds open after its last name
 * went (rmdir, unlink): nothing is at its path any more, so it is
 * recorded for restore to make it again without a name (a removed
 * directory is empty and stays so; a device node is its mode, number and
 * owner). (Regular files are carried without a name: memfiles.c.) */
static gboolean note_removed(const SvIntrospect *in, const FileLayout *l, guint64 inode,
			     const char *kind, GVariantDict *d, GError **error)
{
	gboolean dir = !strcmp(kind, SV_TASK_FD_KIND_DIR);
	if (!dir && strcmp(kind, SV_TASK_FD_KIND_CHR))
		return TRUE;
	guint64 nlink, rdev, uid, gid;
	if (!sv_introspect_read_uint(in, inode + l->i_nlink, 4, &nlink, error) ||
	    !sv_introspect_read_uint(in, inode + l->i_rdev, 4, &rdev, error) ||
	    !sv_introspect_read_uint(in, inode + l->i_uid, 4, &uid, error) ||
	    !sv_introspect_read_uint(in, inode + l->i_gid, 4, &gid, error))
		return FALSE;
	if ((nlink & 0xffffffffu) != 0)
		return TRUE;
	/* the kernel's dev_t is major << 20 | minor */
	guint64 dev = dir ? 0 : makedev((guint)(rdev >> 20 & 0xfff), (guint)(rdev & 0xfffff));
	g_variant_dict_insert(d, SV_TASK_FD_GONE_RDEV, "t", dev);
	g_variant_dict_insert(d, SV_TASK_FD_OWNER, "(uu)", (guint32)uid, (guint32)gid);
	return TRUE;
}

/* A pseudo-terminal's end that is not the stdio snapvm gave the process:
 * restore opens a character device by its path, and /dev/ptmx opened
 * again makes a new pty (/dev/pts/N, another pty's), not this one with its
 * other end, its settings and unread input: refused. (devices.txt: ptmx is
 * 5:2, the UNIX98 slaves majors 136-143.) */
static gboolean refuse_pty(const SvIntrospect *in, const FileLayout *l, guint64 file,
			   const char *path, guint32 pid, guint fd, GError **error)
{
	guint64 inode, rdev;
	if (!sv_introspect_read_uint(in, file + l->f_inode, 8, &inode, error) ||
	    !sv_introspect_read_uint(in, inode + l->i_rdev, 4, &rdev, error))
		return FALSE;
	guint major = (guint)(rdev >> 20 & 0xfff), minor = (guint)(rdev & 0xfffff);
	gboolean master = major == 5 && minor == 2, slave = major >= 136 && major <= 143;
	if (!master && !slave)
		return TRUE;
	g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
		    "guest pid %u: fd %u is a pseudo-terminal's %s end (%s); restore would open "
		    "a new pty there, not this one with its other end, settings and unread "
		    "input; snapvm cannot checkpoint it: close it before checkpointing, or give "
		    "the program pipes instead of a terminal",
		    pid, fd, master ? "master" : "slave", path ? path : "?");
	return FALSE;
}

static gboolean bit(const guint8 *map, guint i)
{
	return (map[i / 8] >> (i % 8)) & 1;
}

GVariant *sv_introspect_fds(const SvIntrospect *in, const SvTaskRef *ref, GError **error)
{
	FileLayout l;
	if (!file_layout(in, &l, error))
		return NULL;
	guint64 files, fdt, max_fds, fd_array, open_va, cloexec_va;
	if (!sv_introspect_read_uint(in, ref->task + l.files, 8, &files, error))
		return NULL;
	g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE(SV_TASK_FDS_TYPE));
	if (!files) /* exiting, or made without one */
		return g_variant_ref_sink(g_variant_builder_end(&b));
	if (!sv_introspect_read_uint(in, files + l.fdt, 8, &fdt, error) ||
	    !sv_introspect_read_uint(in, fdt + l.max_fds, 4, &max_fds, error) ||
	    !sv_introspect_read_uint(in, fdt + l.fd, 8, &fd_array, error) ||
	    !sv_introspect_read_uint(in, fdt + l.open_fds, 8, &open_va, error) ||
	    !sv_introspect_read_uint(in, fdt + l.cloexec, 8, &cloexec_va, error))
		return NULL;
	if (max_fds == 0 || max_fds > MAX_FDS || max_fds % 64) {
		g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
			    "guest pid %u: an fd table of %" G_GUINT64_FORMAT " entries", ref->pid,
			    max_fds);
		return NULL;
	}
	g_autofree guint8 *open = g_malloc(max_fds / 8);
	g_autofree guint8 *cloexec = g_malloc(max_fds / 8);
	if (!sv_introspect_read(in, open_va, open, max_fds / 8, error) ||
	    !sv_introspect_read(in, cloexec_va, cloexec, max_fds / 8, error))
		return NULL;
	/* The stdio snapvm run gave the process: a pipe at fd 0-2 of which
	 * the process holds one end only (the agent has the other), or a
	 * character device (a terminal, /dev/null) there; and every other fd
	 * of that pipe or open file, as after `2>&1` or `exec 3>&1`. Restore
	 * gives those the restorer's own, so their output reaches the host
	 * again instead of a new pipe nobody reads. pipe_ends: pipe -> the
	 * FMODE_READ/WRITE bits of its fds here, and 4 if one is at fd 0-2. */
	g_autoptr(GHashTable)
		pipe_ends = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	g_autoptr(GHashTable)
		stdio_files = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	g_autoptr(GPtrArray)
		entries = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_dict_unref);
	g_autoptr(GHashTable)
		posix_locks = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	for (guint fd = 0; fd < max_fds; fd++) {
		guint64 file, inode, flags, mode, pos, i_mode;
		if (!bit(open, fd))
			continue;
		if (!sv_introspect_read_uint(in, fd_array + 8ull * fd, 8, &file, error))
			return NULL;
		if (!file)
			continue; /* reserved by a racing open: not an fd yet */
		if (!sv_introspect_read_uint(in, file + l.f_inode, 8, &inode, error) ||
		    !sv_introspect_read_uint(in, file + l.f_flags, 4, &flags, error) ||
		    !sv_introspect_read_uint(in, file + l.f_mode, 4, &mode, error) ||
		    !sv_introspect_read_uint(in, file + l.f_pos, 8, &pos, error) ||
		    !sv_introspect_read_uint(in, inode + l.i_mode, 2, &i_mode, error))
			return NULL;
		const char *kind = kind_of((guint32)i_mode);
		if (flags & O_PATH_) {
			/* an O_PATH fd has no file operations: restore would
			 * open it as a file, with its contents and offset */
			g_autofree char *path = sv_introspect_path(in, file + l.f_path, NULL);
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "guest pid %u: fd %u is an O_PATH descriptor%s%s, which "
				    "restore does not open again; snapvm cannot checkpoint it",
				    ref->pid, fd, path ? " of " : "", path ? path : "");
			return NULL;
		}
		if (!strcmp(kind, SV_TASK_FD_KIND_BLK) || !strcmp(kind, SV_TASK_FD_KIND_LINK)) {
			g_set_error(error, SV_ERROR, SV_ERROR_INVALID_ARGUMENT,
				    "guest pid %u: fd %u is a %s; snapvm cannot checkpoint it",
				    ref->pid, fd,
				    !strcmp(kind, SV_TASK_FD_KIND_BLK) ? "block device"
								       : "symbolic link (O_PATH)");
			return NULL;
		}
		GVariantDict *d = g_variant_dict_new(NULL);
		g_ptr_array_add(entries, d);
		g_variant_dict_insert(d, SV_TASK_FD_FD, "u", fd);
		g_variant_dict_insert(d, SV_TASK_FD_KIND, "s", kind);
		g_variant_dict_insert(d, SV_TASK_FD_FLAGS, "u", (guint32)flags);
		g_variant_dict_insert(d, SV_TASK_FD_MODE, "u", (guint32)mode);
		g_variant_dict_insert(d, SV_TASK_FD_CLOEXEC, "b", bit(cloexec, fd));
		g_variant_dict_insert(d, SV_TASK_FD_POS, "t", pos);
		g_variant_dict_insert(d, SV_TASK_FD_I_MODE, "u", (guint32)i_mode);
		g_variant_dict_insert(d, SV_TASK_FD_FILE, "t", file);
		guint64 pipe = 0;
		gboolean fifo = FALSE;
		if (!strcmp(kind, SV_TASK_FD_KIND_PIPE)) {
			if (!sv_introspect_read_uint(in, inode + l.i_pipe, 8, &pipe, error) ||
			    !is_fifo(in, &l, inode, ref->pid, fd, &fifo, error))
				return NULL;
			g_variant_dict_insert(d, SV_TASK_FD_PIPE, "t", pipe);
		}
		if (!strcmp(kind, SV_TASK_FD_KIND_ANON)) {
			if (!sv_introspect_fd_anon(in, ref->pid, fd, file, d, error))
				return NULL;
		} else if (!strcmp(kind, SV_TASK_FD_KIND_SOCKET)) {
			g_variant_dict_insert(d, SV_TASK_FD_KIND, "s", SV_TASK_FD_KIND_UNIX);
			if (!sv_introspect_fd_socket(in, ref->pid, fd, file, d, error))
				return NULL;
		} else if (fifo) {
			g_variant_dict_insert(d, SV_TASK_FD_KIND, "s", SV_TASK_FD_KIND_FIFO);
			g_autofree char *path = sv_introspect_path(in, file + l.f_path, error);
			guint64 uid, gid; /* kuid_t/kgid_t: the guest has one user namespace */
			if (!path ||
			    !sv_introspect_read_uint(in, inode + l.i_uid, 4, &uid, error) ||
			    !sv_introspect_read_uint(in, inode + l.i_gid, 4, &gid, error))
				return NULL;
			g_variant_dict_insert(d, SV_TASK_FD_OWNER, "(uu)", (guint32)uid,
					      (guint32)gid);
			g_variant_dict_insert(d, SV_TASK_FD_PATH, "s", path);
		} else if (pipe) {
			guint ends = GPOINTER_TO_UINT(g_hash_table_lookup(pipe_ends, &pipe));
			ends |= (guint)(mode & 3) | (fd <= 2 ? 4u : 0u);
			g_hash_table_replace(pipe_ends, g_memdup2(&pipe, sizeof(pipe)),
					     GUINT_TO_POINTER(ends));
		} else {
			g_autofree char *path = sv_introspect_path(in, file + l.f_path, error);
			if (!path || !note_removed(in, &l, inode, kind, d, error))
				return NULL;
			g_variant_dict_insert(d, SV_TASK_FD_PATH, "s", path);
			if ((!strcmp(kind, SV_TASK_FD_KIND_FILE) ||
			     !strcmp(kind, SV_TASK_FD_KIND_DIR)) &&
			    !sv_introspect_fd_locks(in, ref->pid, fd, file, inode, (guint32)mode,
						    files, posix_locks, d, error))
				return NULL;
		}
	}
	/* stdio, and each pipe's bytes once (on its first fd) */
	g_autoptr(GHashTable)
		done = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	for (guint i = 0; i < entries->len; i++) {
		GVariantDict *d = entries->pdata[i];
		guint32 fd;
		const char *kind;
		guint64 pipe = 0, file = 0;
		g_variant_dict_lookup(d, SV_TASK_FD_FD, "u", &fd);
		g_variant_dict_lookup(d, SV_TASK_FD_KIND, "&s", &kind);
		g_variant_dict_lookup(d, SV_TASK_FD_PIPE, "t", &pipe);
		g_variant_dict_lookup(d, SV_TASK_FD_FILE, "t", &file);
		gboolean stdio = FALSE;
		if (pipe && !strcmp(kind, SV_TASK_FD_KIND_FIFO)) {
			stdio = FALSE; /* snapvm wires stdio with anonymous pipes only */
		} else if (pipe) {
			guint ends = GPOINTER_TO_UINT(g_hash_table_lookup(pipe_ends, &pipe));
			stdio = (ends & 4) && (ends & 3) != 3;
		} else if (fd <= 2 && !strcmp(kind, SV_TASK_FD_KIND_CHR)) {
			stdio = TRUE;
			g_hash_table_add(stdio_files, g_memdup2(&file, sizeof(file)));
		} else {
			stdio = g_hash_table_contains(stdio_files, &file);
		}
		const char *path = NULL;
		g_variant_dict_lookup(d, SV_TASK_FD_PATH, "&s", &path);
		if (!stdio && !strcmp(kind, SV_TASK_FD_KIND_CHR) &&
		    !refuse_pty(in, &l, file, path, ref->pid, fd, error))
			return NULL;
		g_variant_dict_insert(d, SV_TASK_FD_STDIO, "b", stdio);
		if (pipe && !stdio && !g_hash_table_contains(done, &pipe)) {
			GVariant *bytes = pipe_data(in, &l, pipe, fd, error);
			guint64 slots; /* F_GETPIPE_SZ: max_usage pages */
			if (!bytes ||
			    !sv_introspect_read_uint(in, pipe + l.p_max_usage, 4, &slots, error)) {
				if (bytes)
					g_variant_unref(g_variant_ref_sink(bytes));
				return NULL;
			}
			g_variant_dict_insert_value(d, SV_TASK_FD_PIPE_DATA, bytes);
			g_variant_dict_insert(d, SV_TASK_FD_PIPE_SIZE, "u",
					      (guint32)MIN(slots, MAX_PIPE_SLOTS) * 4096u);
			g_hash_table_add(done, g_memdup2(&pipe, sizeof(pipe)));
		}
		g_variant_builder_add_value(&b, g_variant_dict_end(d));
	}
	g_autoptr(GVariant) result = g_variant_ref_sink(g_variant_builder_end(&b));
	if (!sv_introspect_fd_relations(result, ref->pid, error))
		return NULL;
	return g_steal_pointer(&result);
}
