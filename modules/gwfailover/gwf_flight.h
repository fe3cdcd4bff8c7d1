/*
 * gwfailover - the INVITEs in flight to a gateway that have had no reply
 * yet: what an ejection rescues, and what a half-open trial waits for.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * An intrusive list: the node lives in the call's own state (one per tm
 * branch, in shared memory) and is put on its gateway's list when the
 * branch is forwarded, at the tail, so the list runs oldest first. Its
 * <sent> flag is set once tm has sent the INVITE (one atomic store, no
 * lock): only a sent node is taken by a rescue or judged as a trial. Its
 * first reply only sets the owner's <heard> flag, also without a lock;
 * heard nodes are skipped by every walk and swept off in batches
 * (gwf_flight_sweep()). A node also leaves the list when it is rescued,
 * when its failure is handled, or when the transaction is freed. The list holds only the transaction's identity (hash
 * index, label, branch), never a reference: whoever acts on an entry
 * looks the transaction up by its identity. Not thread-safe: the caller
 * holds the lock of the gateway that owns the list.
 */

#ifndef GWF_FLIGHT_H
#define GWF_FLIGHT_H

#include <stdint.h>

typedef struct gwf_flight_node
{
	struct gwf_flight_node *prev, *next;
	uint64_t sent_ms;	  /* when the INVITE was sent (monotonic ms) */
	uint32_t tindex;	  /* transaction hash index */
	uint32_t tlabel;	  /* transaction label */
	uint32_t trial;		  /* breaker trial token of the call; 0: none */
	uint8_t *outcome;	  /* the owner's one-shot "outcome recorded" flag,
					   * claimed by whoever judges the call (atomic) */
	const uint8_t *heard; /* the owner's "a reply came" flag (atomic; not
						   * 0: heard); NULL: never heard */
	int32_t sample_ms;	  /* first-reply latency to learn from, stored
						   * before <heard> is set; -1: none */
	uint16_t branch;	  /* tm branch */
	uint8_t linked;		  /* on a list now (written under the list's lock) */
	uint8_t judged;		  /* its trial was judged unanswered already */
	uint8_t sent;		  /* tm sent its INVITE (stored atomically) */
} gwf_flight_node_t;

typedef struct gwf_flight
{
	gwf_flight_node_t *head; /* oldest */
	gwf_flight_node_t *tail; /* newest */
	uint32_t n;
} gwf_flight_t;

/* What a walk copies out of a node, to act on after the lock is given
 * back. */
typedef struct gwf_flight_ref
{
	uint32_t tindex;
	uint32_t tlabel;
	uint16_t branch;
} gwf_flight_ref_t;

/* Put <node> (not linked) at the tail of <l>. */
void gwf_flight_push(gwf_flight_t *l, gwf_flight_node_t *node);

/* Take <node> off <l> if it is on it. Returns 1 if it was. */
int gwf_flight_unlink(gwf_flight_t *l, gwf_flight_node_t *node);

/* Copy up to <max> of the oldest sent nodes that were not heard into
 * <out> and take them off <l>, oldest first; nodes not sent yet stay.
 * Returns how many. */
unsigned gwf_flight_take(gwf_flight_t *l, gwf_flight_ref_t *out, unsigned max);

/* Take every heard node off <l> (a reply only sets its owner's flag, no
 * lock: the list is swept in batches), passing each sample_ms that is
 * not -1 to <learn>(<arg>, ms). Returns how many nodes left. */
unsigned gwf_flight_sweep(
		gwf_flight_t *l, void (*learn)(void *arg, uint32_t ms), void *arg);

/* Nodes of <l> not heard yet: what is in flight without a reply now
 * (heard ones wait for the next sweep). */
uint32_t gwf_flight_unheard(const gwf_flight_t *l);

/* The oldest sent node, not heard, of a trial call holding token <trial>
 * (the breaker's current one: a token of an earlier half-open period is
 * stale) whose silence was not judged yet, or NULL. */
gwf_flight_node_t *gwf_flight_oldest_trial(
		const gwf_flight_t *l, uint32_t trial);

#endif
