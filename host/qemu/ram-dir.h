/* SPDX-License-Identifier: MIT */
/*
 * ram-dir.h - where QEMU's guest RAM files live for one libvirt root.
 *
 * Guest RAM files go to tmpfs (/dev/shm) when there is one: a disk-backed
 * file would have the host write guest memory back to disk for nothing. The
 * directory sits outside the state dir, so deleting a state dir (tests and
 * benches make one each) left its RAM directory behind; each one now
 * records its state root, and one whose root is gone is swept.
 */
#ifndef SNAPVM_RAM_DIR_H
#define SNAPVM_RAM_DIR_H

#include <glib.h>

/* The RAM directory for the libvirt root (created, with its owner record),
 * after sweeping this user's RAM directories whose root no longer exists. */
char *sv_ram_dir_prepare(const char *root, GError **error);

#endif
