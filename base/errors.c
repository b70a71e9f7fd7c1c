/* SPDX-License-Identifier: MIT */
#include "base/errors.h"

/* The quark's name is the macro's first argument, as written: not an
 * expression clang-format may space. */
/* clang-format off */
G_DEFINE_QUARK(snapvm-error-quark, sv_error)
/* clang-format on */
