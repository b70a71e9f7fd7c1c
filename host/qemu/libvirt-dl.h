/* SPDX-License-Identifier: MIT */
/*
 * libvirt-dl.h - libvirt, loaded when a command first needs it.
 *
 * libvirt.so and libvirt-qemu.so bring in some forty libraries (gnutls,
 * libxml2, ICU, curl, ssh, krb5, ...). Linked into snapvm, the loader maps
 * and relocates them at every start, and the exit unmaps them: 17 ms of
 * every command on this machine (20 ms against 3 ms for a program linked
 * with the same libraries but libvirt), also of the ones that never talk
 * to libvirt - a checkpoint of a running VM, ps, inspect. So snapvm does
 * not link them: sv_libvirt_load() opens both with dlopen, and this file
 * defines each libvirt function snapvm calls as a jump through the pointer
 * it resolved. Callers include libvirt's own headers and call libvirt as
 * usual once sv_libvirt_load() has succeeded; calling one before is a bug,
 * and aborts saying so.
 */
#ifndef SNAPVM_LIBVIRT_DL_H
#define SNAPVM_LIBVIRT_DL_H

#include <glib.h>

/* Opens libvirt.so.0 and libvirt-qemu.so.0 and resolves every function
 * snapvm uses, once per process; later calls return at once. FALSE with
 * an error that says which package to install when a library or one of
 * the functions is missing. */
gboolean sv_libvirt_load(GError **error);

#endif
