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

static gboolean rd(const SvIntrospect *in, guint64 va, guint size, guint64 *v, GError **error)
{
	guint8 b[8] = { 0 };
	if (!sv_introspect_read(in, va, b, size, error))
		return FALSE;
	*v = sv_get_le64(b);
	return TRUE;
}

gboolean sv_introspect_file_identity(const SvIntrospect *in, guint64 file, SvFileIdentity *ret,
				     GError **error)
{
	guint64 f_inode, i_nlink, i_ino, i_sb, i_mode, s_magic, vfs_inode, seals;
	const SvMemberOffset want[] = {
		{ "file", "f_inode", &f_inode },
		{ "inode", "i_nlink", &i_nlink },
		{ "inode", "i_ino", &i_ino },
		{ "inode", "i_sb", &i_sb },
		{ "inode", "i_mode", &i_mode },
		{ "super_block", "s_magic", &s_magic },
		{ "shmem_inode_info", "vfs_inode", &vfs_inode },
		{ "shmem_inode_info", "seals", &seals },
	};
	*ret = (SvFileIdentity){ 0 };
	guint64 inode, nlink, sb, magic, mode;
	if (!sv_kernel_types_offsets(in->types, want, G_N_ELEMENTS(want), error) ||
	    !rd(in, file + f_inode, 8, &inode, error) ||
	    !rd(in, inode + i_nlink, 4, &nlink, error) ||
	    !rd(in, inode + i_ino, 8, &ret->ino, error) || !rd(in, inode + i_sb, 8, &sb, error) ||
	    !rd(in, inode + i_mode, 2, &mode, error) || !rd(in, sb + s_magic, 8, &magic, error))
		return FALSE;
	ret->inode = inode;
	ret->nlink = (guint32)nlink;
	ret->i_mode = (guint32)mode;
	ret->fs_magic = magic;
	if (magic == SV_TMPFS_MAGIC) {
		guint64 s;
		if (!rd(in, inode - vfs_inode + seals, 4, &s, error))
			return FALSE;
		ret->seals = (guint32)s;
	}
	return TRUE;
}
