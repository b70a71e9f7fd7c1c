/* SPDX-License-Identifier: MIT */
/*
 * pool-standby.h - a pool guest's standby restorer (`restore --standby MIB`,
 * see SV_RIMG_STANDBY_SIGNAL in include/snapvm/restore-image-format.h):
 * started by `snapvm pool start` once the guest is up, it faults in and
 * locks MIB of memory while the guest idles, so that a restore into the
 * guest takes those pages for its staging area instead of waiting for the
 * guest kernel to zero fresh ones (seconds per GiB under TCG). The memory
 * it costs is that much of the guest's RAM, held while the guest waits.
 */
#ifndef SNAPVM_POOL_STANDBY_H
#define SNAPVM_POOL_STANDBY_H

#include <glib.h>

#include "host/agent/agent-client.h"
#include "host/machine/machine.h"

/* The standby's record in the pool guest's VM dir: "PID MIB". */
#define SV_POOL_STANDBY_FILE "pool-standby"

/* How long a standby may take to fault in its pool: TCG zeroes about
 * 400 MiB/s under load, and the guest may be one of several booting. */
#define SV_POOL_STANDBY_TIMEOUT_MS 600000

/* Starts the standby restorer (the one in the guest's initrd) with mib MiB
 * and waits until it is ready; records it in m's VM dir. */
gboolean sv_pool_standby_start(SvAgentClient *agent, const SvMachine *m, guint mib, GError **error);

/* The standby of pool guest m, if it has one: its pid and pool size. */
gboolean sv_pool_standby_read(const SvMachine *m, guint32 *ret_pid, guint *ret_mib);

#endif
