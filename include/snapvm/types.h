/* SPDX-License-Identifier: MIT */
/*
 * types.h - address types that must never mix.
 *
 * A guest-physical address, a guest-virtual address and a host pointer are
 * all 64-bit numbers; wrapping the guest ones in single-member structs makes
 * the compiler refuse to pass one where another is expected.
 */
#ifndef SNAPVM_TYPES_H
#define SNAPVM_TYPES_H

#include <stdint.h>

typedef struct SvGpa {
	uint64_t v;
} SvGpa;

typedef struct SvGva {
	uint64_t v;
} SvGva;

static inline SvGpa sv_gpa(uint64_t v)
{
	return (SvGpa){ v };
}

static inline SvGva sv_gva(uint64_t v)
{
	return (SvGva){ v };
}

#endif
