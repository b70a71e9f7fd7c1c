/* SPDX-License-Identifier: MIT */
/* kvm-control.h - a client's end of a kvm-backend VM's control socket
 * (protocol in control.c). */
#ifndef SNAPVM_KVM_CONTROL_H
#define SNAPVM_KVM_CONTROL_H

#include <glib.h>

/* Sends one request and reads the whole answer. A VM that is not there
 * (no socket, nobody listening) fails with SV_ERROR_PEER_GONE. */
gboolean sv_kvm_control_call(const char *socket_path, const char *request, int timeout_ms,
			     char **ret_payload, GError **error);

#endif
