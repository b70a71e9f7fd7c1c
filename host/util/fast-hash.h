/* SPDX-License-Identifier: MIT */
/*
 * fast-hash.h - xxHash, with XXH3 (one-shot and streamed, 64 and 128 bit)
 * chosen at run time for the CPU where the library offers that (its x86
 * dispatch: AVX2 or AVX-512 instead of the SSE2 it is built for). The
 * values are the same; page data hashes about twice as fast. Include it
 * instead of <xxhash.h> where whole pages are hashed.
 */
#ifndef SNAPVM_FAST_HASH_H
#define SNAPVM_FAST_HASH_H

#include <xxhash.h>

/* host/meson.build defines it where the library has the dispatch */
#ifdef SV_HAVE_XXH_DISPATCH
#include <xxh_x86dispatch.h>
#endif

#endif
