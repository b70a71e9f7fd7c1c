/* SPDX-License-Identifier: MIT */
/* errors.h - snapvm's GError domain. Library code reports through GError and
 * never prints or exits; only the CLI decides what the user sees. */
#ifndef SNAPVM_ERRORS_H
#define SNAPVM_ERRORS_H

#include <glib.h>

#define SV_ERROR (sv_error_quark())
GQuark sv_error_quark(void);

typedef enum {
	SV_ERROR_FAILED,
	SV_ERROR_INVALID_ARGUMENT,   /* the user asked for something that cannot be */
	SV_ERROR_NOT_FOUND,	     /* no such VM, file, image, pid */
	SV_ERROR_MISSING_DEPENDENCY, /* a package is not installed */
	SV_ERROR_PROTOCOL,	     /* the agent sent something malformed */
	SV_ERROR_PEER_GONE,	     /* the agent channel closed: guest or VM died */
	SV_ERROR_TIMEOUT,
	SV_ERROR_INTERRUPTED,	/* a signal asked us to stop */
	SV_ERROR_AGENT,		/* the agent refused a request (carries its errno text) */
	SV_ERROR_INVALID_DATA,	/* guest memory, a kernel structure or a snapshot is malformed */
	SV_ERROR_NOT_SUPPORTED, /* this arch, kernel or CPU lacks what the request needs */
} SvErrorCode;

#endif
