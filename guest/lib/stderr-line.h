/* SPDX-License-Identifier: MIT */
/* stderr-line.h - one message line on stderr, as the guest programs print
 * theirs: the agent's log (its stderr is the console) and the restorer's
 * refusal (its stderr goes to the host). */
#ifndef SNAPVM_GUEST_STDERR_LINE_H
#define SNAPVM_GUEST_STDERR_LINE_H

#include <stdarg.h>

/* Prints "PREFIX: MESSAGE\n", the message formatted from fmt and ap and cut
 * at 1 KiB. */
void stderr_line(const char *prefix, const char *fmt, va_list ap);

#endif
