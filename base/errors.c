/* SPDX-License-Identifier: MIT */
#include "base/errors.h"

G_DEFINE_QUARK(snapvm-error-quark, sv_error)
