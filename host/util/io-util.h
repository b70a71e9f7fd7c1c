/* SPDX-License-Identifier: MIT */
/* io-util.h - the few fd helpers the host side shares. */
#ifndef SNAPVM_IO_UTIL_H
#define SNAPVM_IO_UTIL_H

#include <glib.h>

/* Writes all n bytes, retrying on EINTR and short writes; never raises
 * SIGPIPE (sockets use MSG_NOSIGNAL). FALSE with errno set on failure. */
gboolean sv_write_all_fd(int fd, const void *buf, gsize n);

#endif
