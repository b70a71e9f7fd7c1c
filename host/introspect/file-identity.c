/* SPDX-License-Identifier: MIT */
/*
 * file-identity.c - what an open struct file is underneath its path: its
 * inode, how many names that inode still has (0: unlinked, or never had
 * one, as a memfd), the filesystem it lives on and, for shmem inodes,
 * their memfd seals. A file is carried by this identity, never by a path
 * that may now name another file.
 */
#include "snapvm/le.h" /* sv_get_le* */
#include "base/errors.h"
#include "host/introspect/introspect-private.h"

gboolean sv_introspect_file_identity(const SvIntrospect *in, guint64 file, SvFileIdentity *ret,
				     GError **error)
{
	guint64 f_inode, i_nlink, i_ino, i_sb, i_mode, i_uid, i_gid, s_magic, vfs_inode, seals,
		priv;
	const SvMemberOffset want[] = {
		{ "file", "f_inode", &f_inode },
		{ "inode", "i_nlink", &i_nlink },
		{ "inode", "i_ino", &i_ino },
		{ "inode", "i_sb", &i_sb },
		{ "inode", "i_mode", &i_mode },
		{ "inode", "i_uid", &i_uid },
		{ "inode", "i_gid", &i_gid },
		{ "super_block", "s_magic", &s_magic },
		{ "shmem_inode_info", "vfs_inode", &vfs_inode },
		{ "shmem_inode_info", "seals", &seals },
		{ "file", "private_data", &priv },
	};
	*ret = (SvFileIdentity){ 0 };
	guint64 inode, nlink, sb, magic, mode, uid, gid;
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) ||
	    !sv_introspect_read_uint(in, file + f_inode, 8, &inode, error) ||
	    !sv_introspect_read_uint(in, inode + i_nlink, 4, &nlink, error) ||
	    !sv_introspect_read_uint(in, inode + i_ino, 8, &ret->ino, error) ||
	    !sv_introspect_read_uint(in, inode + i_sb, 8, &sb, error) ||
	    !sv_introspect_read_uint(in, inode + i_mode, 2, &mode, error) ||
	    !sv_introspect_read_uint(in, inode + i_uid, 4, &uid, error) ||
	    !sv_introspect_read_uint(in, inode + i_gid, 4, &gid, error) ||
	    !sv_introspect_read_uint(in, sb + s_magic, 8, &magic, error))
		return FALSE;
	ret->inode = inode;
	ret->nlink = (guint32)nlink;
	ret->i_mode = (guint32)mode;
	ret->uid = (guint32)uid;
	ret->gid = (guint32)gid;
	ret->fs_magic = magic;
	if (magic == SV_TMPFS_MAGIC) {
		guint64 s;
		if (!sv_introspect_read_uint(in, inode - vfs_inode + seals, 4, &s, error))
			return FALSE;
		ret->seals = (guint32)s;
	}
	return TRUE;
}

/* The segment's kern_ipc_perm: its ipc namespace's shm idr at the id's
 * index (ipc/util.c, ipcid_to_idx: the low 15 bits), checked to carry
 * that id. */
static gboolean shm_perm(const SvIntrospect *in, guint64 ns, gint32 shmid, SvShmSegment *ret,
			 GError **error)
{
	guint64 ids, ids_size, idr, idr_rt, p_key, p_mode, p_id, perm, key, mode, id;
	const SvMemberOffset want[] = {
		{ "ipc_namespace", "ids", &ids },     { "ipc_ids", "ipcs_idr", &idr },
		{ "idr", "idr_rt", &idr_rt },	      { "kern_ipc_perm", "key", &p_key },
		{ "kern_ipc_perm", "mode", &p_mode }, { "kern_ipc_perm", "id", &p_id },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) ||
	    !sv_kernel_types_size(in->types, "ipc_ids", NULL, &ids_size, error))
		return FALSE;
	guint64 xa = ns + ids + 2 * ids_size + idr + idr_rt; /* ids[IPC_SHM_IDS] */
	if (!sv_introspect_xa_load(in, xa, (guint64)shmid & 0x7fff, &perm, error))
		return FALSE;
	if (!perm || !sv_introspect_read_uint(in, perm + p_key, 4, &key, error) ||
	    !sv_introspect_read_uint(in, perm + p_mode, 2, &mode, error) ||
	    !sv_introspect_read_uint(in, perm + p_id, 4, &id, error) || (gint32)id != shmid) {
		if (error && !*error)
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "SysV shm segment %d is not in its namespace's table", shmid);
		return FALSE;
	}
	ret->id = shmid;
	ret->key = (guint32)key;
	ret->mode = (guint32)mode & 0777;
	ret->removed = (mode & 01000) != 0; /* SHM_DEST: IPC_RMID while attached */
	return TRUE;
}

gboolean sv_introspect_shm_attachment(const SvIntrospect *in, guint64 file, guint64 inode,
				      SvShmSegment *ret, GError **error)
{
	/* A SysV attachment (do_shmat, ipc/shm.c) is a file whose
	 * private_data is a struct shm_file_data, which points to the
	 * segment's own shmem file: that file's inode must be this one (arm64
	 * kallsyms has no data symbols to compare f_op with). */
	guint64 priv, id_off, file_off, ns_off, f_inode, data, id, base, base_inode, ns;
	const SvMemberOffset want[] = {
		{ "file", "private_data", &priv },  { "file", "f_inode", &f_inode },
		{ "shm_file_data", "id", &id_off }, { "shm_file_data", "file", &file_off },
		{ "shm_file_data", "ns", &ns_off },
	};
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) ||
	    !sv_introspect_read_uint(in, file + priv, 8, &data, error))
		return FALSE;
	if (!data || !sv_introspect_read_uint(in, data + id_off, 4, &id, error) ||
	    !sv_introspect_read_uint(in, data + file_off, 8, &base, error) ||
	    !sv_introspect_read_uint(in, data + ns_off, 8, &ns, error) ||
	    !sv_introspect_read_uint(in, base + f_inode, 8, &base_inode, error) ||
	    base_inode != inode) {
		if (error && !*error)
			g_set_error(error, SV_ERROR, SV_ERROR_PROTOCOL,
				    "a SysV shm mapping's file has no segment behind it");
		return FALSE;
	}
	return shm_perm(in, ns, (gint32)id, ret, error);
}
