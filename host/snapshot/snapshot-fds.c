/* SPDX-License-Identifier: MIT */
#include "host/snapshot/snapshot-fds.h"

gboolean sv_snap_fd_read(GVariant *entry, SvSnapFd *e)
{
	*e = (SvSnapFd){ .sha256 = "" };
	gboolean whole = g_variant_lookup(entry, "fd", "u", &e->fd);
	whole &= g_variant_lookup(entry, "kind", "&s", &e->kind);
	whole &= g_variant_lookup(entry, "flags", "u", &e->flags);
	g_variant_lookup(entry, "path", "&s", &e->path);
	g_variant_lookup(entry, "sha256", "&s", &e->sha256);
	g_variant_lookup(entry, "pos", "t", &e->pos);
	g_variant_lookup(entry, "pipe", "t", &e->pipe);
	g_variant_lookup(entry, "file", "t", &e->file);
	g_variant_lookup(entry, "cloexec", "b", &e->cloexec);
	g_variant_lookup(entry, "stdio", "b", &e->stdio);
	e->pipe_data = g_variant_lookup_value(entry, "pipe_data", G_VARIANT_TYPE_BYTESTRING);
	return whole;
}

void sv_snap_fd_clear(SvSnapFd *e)
{
	g_clear_pointer(&e->pipe_data, g_variant_unref);
}
