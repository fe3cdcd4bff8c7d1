/*
 * gwfailover - bounded FIFO of fixed-size records in one caller block.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * Producers that must never wait (SIP workers reporting gateway events)
 * push; one consumer process pops. A full ring refuses the push and counts
 * the drop instead of growing: memory stays bounded whatever happens. No
 * allocation; not thread-safe: the caller locks.
 */

#ifndef GWF_EVRING_H
#define GWF_EVRING_H

#include <stddef.h>
#include <stdint.h>

typedef struct gwf_evring
{
	uint32_t cap;	   /* records the ring holds */
	uint32_t rec_size; /* bytes per record */
	uint32_t head;	   /* index of the oldest record */
	uint32_t len;	   /* records in the ring */
	uint64_t pushed;   /* records accepted, ever */
	uint64_t dropped;  /* pushes refused because the ring was full */
	unsigned char buf[];
} gwf_evring_t;

/* Bytes of a ring of <cap> records of <rec_size> bytes (both >= 1); 0 if
 * that does not fit in size_t. */
size_t gwf_evring_bytes(uint32_t cap, uint32_t rec_size);

/* Initialise a block of gwf_evring_bytes(<cap>, <rec_size>) bytes. */
void gwf_evring_init(gwf_evring_t *r, uint32_t cap, uint32_t rec_size);

/* Copy <rec> (rec_size bytes) in at the tail. Returns 0, or -1 when the
 * ring is full (the record is dropped and counted). */
int gwf_evring_push(gwf_evring_t *r, const void *rec);

/* Copy the oldest record out into <out> and remove it. Returns 0, or -1
 * when the ring is empty. */
int gwf_evring_pop(gwf_evring_t *r, void *out);

#endif
