/* SPDX-License-Identifier: MIT */
#include "vmm/errors.h"

G_DEFINE_QUARK(snapvm-error-quark, sv_error)
