/* SPDX-License-Identifier: MIT */
/*
 * sha256.h - SHA-256 (FIPS 180-4) for the guest programs, which link no
 * library but libc: the oracle hashes a process's memory with it (test
 * hooks), the restorer checks the files a snapshot maps.
 */
#ifndef SNAPVM_GUEST_SHA256_H
#define SNAPVM_GUEST_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t buf_len;
};
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
/* 64 lowercase hex digits and a NUL */
void sha256_final_hex(struct sha256 *s, char hex[65]);

#endif
