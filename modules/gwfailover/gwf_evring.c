/*
 * gwfailover - bounded FIFO of fixed-size records in one caller block.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <string.h>

#include "gwf_evring.h"

size_t gwf_evring_bytes(uint32_t cap, uint32_t rec_size)
{
	if(cap == 0 || rec_size == 0)
		return 0;
	if((size_t)cap > (SIZE_MAX - sizeof(gwf_evring_t)) / rec_size)
		return 0;
	return sizeof(gwf_evring_t) + (size_t)cap * rec_size;
}

void gwf_evring_init(gwf_evring_t *r, uint32_t cap, uint32_t rec_size)
{
	r->cap = cap;
	r->rec_size = rec_size;
	r->head = 0;
	r->len = 0;
	r->pushed = 0;
	r->dropped = 0;
}

int gwf_evring_push(gwf_evring_t *r, const void *rec)
{
	uint32_t tail;

	if(r->len >= r->cap) {
		r->dropped++;
		return -1;
	}
	/* head < cap and len < cap, so the sum cannot wrap a uint32_t twice */
	tail = (uint32_t)(((uint64_t)r->head + r->len) % r->cap);
	memcpy(r->buf + (size_t)tail * r->rec_size, rec, r->rec_size);
	r->len++;
	r->pushed++;
	return 0;
}

int gwf_evring_pop(gwf_evring_t *r, void *out)
{
	if(r->len == 0)
		return -1;
	memcpy(out, r->buf + (size_t)r->head * r->rec_size, r->rec_size);
	r->head = (r->head + 1 == r->cap) ? 0 : r->head + 1;
	r->len--;
	return 0;
}
