/* SPDX-License-Identifier: MIT */
/*
 * types.h - address types that must never mix.
 *
 * A guest-physical address and a host pointer or guest-virtual address
 * are all 64-bit numbers; wrapping the guest-physical one in a
 * single-member struct makes the compiler refuse to pass one where the
 * other is expected.
 */
#ifndef SNAPVM_TYPES_H
#define SNAPVM_TYPES_H

#include <stdint.h>

typedef struct SvGpa {
	uint64_t v;
} SvGpa;

static inline SvGpa sv_gpa(uint64_t v)
{
	return (SvGpa){ v };
}

#endif
