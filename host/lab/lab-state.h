/* SPDX-License-Identifier: MIT */
/*
 * lab-state.h - each lab unit runs its snapvm commands with a state dir of
 * its own. snapvm's libvirt root is locked by whichever snapvm process is
 * starting a VM, which on a loaded machine takes seconds; units sharing one
 * would make a cell's checkpoint wait for another cell's boot and miss its
 * point. A private dir also keeps a unit's VMs out of everyone's
 * `snapvm list`, and lets the unit remove all it left behind.
 */
#ifndef SNAPVM_LAB_STATE_H
#define SNAPVM_LAB_STATE_H

#include <glib.h>

/* Makes a fresh state dir (short: libvirt's sockets live under it) and
 * points SNAPVM_STATE_DIR of this process and its children at it. */
char *sv_lab_state_begin(GError **error);
/* Stops whatever VM is still there, moves the console logs snapvm kept
 * into keep_logs_dir, and removes the dir and its guest RAM files. */
void sv_lab_state_end(const char *dir, const char *keep_logs_dir);

#endif
