/* SPDX-License-Identifier: MIT */
/* kvm-control.h - a kvm-backend VM's control socket (protocol in
 * control.c): a client's end, and the register payload both ends use. */
#ifndef SNAPVM_KVM_CONTROL_H
#define SNAPVM_KVM_CONTROL_H

#include <glib.h>

#include "snapvm/arch.h"

/* Sends one request and reads the whole answer. A VM that is not there
 * (no socket, nobody listening) fails with SV_ERROR_PEER_GONE. */
gboolean sv_kvm_control_call(const char *socket_path, const char *request, int timeout_ms,
			     char **ret_payload, GError **error);

/* The payload of "regs N" (format in control.c): registers as text, and
 * back. Decoding fails with SV_ERROR_PROTOCOL on anything malformed. */
char *sv_kvm_regs_encode(const SvVcpuRegs *regs);
gboolean sv_kvm_regs_decode(const char *text, SvVcpuRegs *out, GError **error);

#endif
