/* SPDX-License-Identifier: MIT */
/*
 * snapshot-fs-keys.h - the FS section (SV_SNAP_SECTION_FS): the files the
 * guest wrote since it booted, as the process left them, for restore to
 * put back before it resumes (written by host/checkpoint/fs-carry.c from
 * host/introspect/guest-fs.c). One a{sv} per file, parents before
 * children, with these keys.
 */
#ifndef SNAPVM_SNAPSHOT_FS_KEYS_H
#define SNAPVM_SNAPSHOT_FS_KEYS_H

#define SV_SNAP_FS_TYPE "aa{sv}"

#define SV_FS_PATH "path"     /* s: absolute, no . or .. components */
#define SV_FS_MODE "mode"     /* u: st_mode (type and permissions) */
#define SV_FS_UID "uid"	      /* u */
#define SV_FS_GID "gid"	      /* u */
#define SV_FS_ATIME "atime"   /* (xu): seconds, nanoseconds */
#define SV_FS_MTIME "mtime"   /* (xu) */
#define SV_FS_SIZE "size"     /* t: a regular file's */
#define SV_FS_SHA256 "sha256" /* s: a regular file's contents (FILES); holes are zeros */
#define SV_FS_TARGET "target" /* s: a symbolic link's */
#define SV_FS_RDEV "rdev"     /* u: a device node's (the kernel's dev_t encoding) */
#define SV_FS_LINK "link"     /* s: another name of the file at this earlier path */
#define SV_FS_TIME_TYPE "(xu)"

#endif
