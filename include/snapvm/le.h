/* SPDX-License-Identifier: MIT */
/*
 * le.h - little-endian loads and stores from byte buffers: the agent wire
 * protocol, the snapshot format and the guest kernel's own structures (on
 * every arch snapvm supports) are little-endian whatever the host is. Plain
 * C11, no GLib, so the static guest programs use it too.
 */
#ifndef SNAPVM_LE_H
#define SNAPVM_LE_H

#include <stdint.h>

static inline void sv_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void sv_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void sv_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t sv_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t sv_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t sv_get_le64(const uint8_t *p)
{
	return (uint64_t)sv_get_le32(p) | ((uint64_t)sv_get_le32(p + 4) << 32);
}

/* A field whose width is known only at run time (a kernel struct member
 * as BTF sizes it, a register as a gdbstub sizes it): the low `bytes`
 * bytes of v, bytes <= 8. */
static inline void sv_put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t sv_get_le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

#endif
