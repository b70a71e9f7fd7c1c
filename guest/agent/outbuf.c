/* SPDX-License-Identifier: MIT */
/*
 * outbuf.c - a workload's output waiting for a host.
 *
 * While no host is attached the agent keeps reading workload pipes (a
 * workload must not stall because nobody watches, or a checkpoint would find
 * it blocked in write()), so what it reads has to go somewhere bounded: a
 * FIFO of chunks, at most OUTBUF_CAP bytes per workload, oldest bytes dropped
 * first and counted so the host is told. Chunks grow geometrically (4 KiB to
 * 64 KiB) so a line-at-a-time workload neither makes thousands of tiny
 * allocations nor thousands of tiny frames on the next flush.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define FIRST_CHUNK 4096u

struct outchunk {
	struct outchunk *next;
	uint32_t stream;
	size_t off; /* first byte not yet sent or dropped */
	size_t len; /* bytes filled */
	size_t cap;
	uint8_t data[];
};

static void drop_oldest(struct outbuf *b, size_t excess)
{
	while (excess && b->head) {
		struct outchunk *c = b->head;
		size_t k = c->len - c->off;
		if (k > excess)
			k = excess;
		c->off += k;
		b->len -= k;
		b->dropped += k;
		excess -= k;
		if (c->off == c->len)
			outbuf_pop(b);
	}
}

bool outbuf_append(struct outbuf *b, uint32_t stream, const uint8_t *data, size_t n)
{
	while (n) {
		struct outchunk *t = b->tail;
		if (!t || t->stream != stream || t->len == t->cap) {
			size_t cap = FIRST_CHUNK;
			if (t && t->stream == stream)
				cap = t->cap * 2;
			while (cap < n && cap < OUTBUF_CHUNK)
				cap *= 2;
			if (cap > OUTBUF_CHUNK)
				cap = OUTBUF_CHUNK;
			t = malloc(sizeof(*t) + cap);
			if (!t) {
				b->dropped += n;
				return false;
			}
			*t = (struct outchunk){ .stream = stream, .cap = cap };
			if (b->tail)
				b->tail->next = t;
			else
				b->head = t;
			b->tail = t;
		}
		size_t k = t->cap - t->len;
		if (k > n)
			k = n;
		memcpy(t->data + t->len, data, k);
		t->len += k;
		b->len += k;
		data += k;
		n -= k;
	}
	if (b->len > OUTBUF_CAP)
		drop_oldest(b, b->len - OUTBUF_CAP);
	return true;
}

bool outbuf_peek(const struct outbuf *b, uint32_t *stream, const uint8_t **data, size_t *n)
{
	const struct outchunk *c = b->head;
	if (!c)
		return false;
	*stream = c->stream;
	*data = c->data + c->off;
	*n = c->len - c->off;
	return true;
}

void outbuf_pop(struct outbuf *b)
{
	struct outchunk *c = b->head;
	if (!c)
		return;
	b->len -= c->len - c->off;
	b->head = c->next;
	if (!b->head)
		b->tail = NULL;
	free(c);
}

void outbuf_clear(struct outbuf *b)
{
	while (b->head)
		outbuf_pop(b);
	b->dropped = 0;
}
