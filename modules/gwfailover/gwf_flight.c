/*
 * gwfailover - the INVITEs in flight to a gateway that have had no reply
 * yet.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <stddef.h>

#include "gwf_flight.h"

void gwf_flight_push(gwf_flight_t *l, gwf_flight_node_t *node)
{
	node->next = NULL;
	node->prev = l->tail;
	if(l->tail != NULL)
		l->tail->next = node;
	else
		l->head = node;
	l->tail = node;
	l->n++;
	/* an atomic store: TMCB_DESTROY reads it without the lock to skip
	 * the lock when the node left the list long ago */
	__atomic_store_n(&node->linked, (uint8_t)1, __ATOMIC_RELEASE);
}

int gwf_flight_unlink(gwf_flight_t *l, gwf_flight_node_t *node)
{
	if(!node->linked)
		return 0;
	if(node->prev != NULL)
		node->prev->next = node->next;
	else
		l->head = node->next;
	if(node->next != NULL)
		node->next->prev = node->prev;
	else
		l->tail = node->prev;
	node->prev = node->next = NULL;
	if(l->n > 0)
		l->n--;
	__atomic_store_n(&node->linked, (uint8_t)0, __ATOMIC_RELEASE);
	return 1;
}

/* Has tm sent the INVITE of <node>? Set without the list's lock. */
static int gwf_flight_sent(const gwf_flight_node_t *node)
{
	return __atomic_load_n(&node->sent, __ATOMIC_ACQUIRE) != 0;
}

/* Did a reply come for <node>? Set without the list's lock. */
static int gwf_flight_heard(const gwf_flight_node_t *node)
{
	return node->heard != NULL
		   && __atomic_load_n(node->heard, __ATOMIC_ACQUIRE) != 0;
}

/* May a walk act on <node>: sent, and no reply yet? */
static int gwf_flight_live(const gwf_flight_node_t *node)
{
	return gwf_flight_sent(node) && !gwf_flight_heard(node);
}

unsigned gwf_flight_take(gwf_flight_t *l, gwf_flight_ref_t *out, unsigned max)
{
	gwf_flight_node_t *node, *next;
	unsigned k = 0;

	for(node = l->head; k < max && node != NULL; node = next) {
		next = node->next;
		if(!gwf_flight_live(node))
			continue;
		out[k].tindex = node->tindex;
		out[k].tlabel = node->tlabel;
		out[k].branch = node->branch;
		k++;
		gwf_flight_unlink(l, node);
	}
	return k;
}

gwf_flight_node_t *gwf_flight_oldest_trial(
		const gwf_flight_t *l, uint32_t trial)
{
	gwf_flight_node_t *node;

	if(trial == 0)
		return NULL;
	for(node = l->head; node != NULL; node = node->next)
		if(node->trial == trial && !node->judged && gwf_flight_live(node))
			return node;
	return NULL;
}

unsigned gwf_flight_sweep(
		gwf_flight_t *l, void (*learn)(void *arg, uint32_t ms), void *arg)
{
	gwf_flight_node_t *node, *next;
	unsigned k = 0;
	int32_t ms;

	for(node = l->head; node != NULL; node = next) {
		next = node->next;
		if(!gwf_flight_heard(node))
			continue;
		/* acquire above: the sample was stored before the flag */
		ms = __atomic_load_n(&node->sample_ms, __ATOMIC_RELAXED);
		if(ms >= 0 && learn != NULL)
			learn(arg, (uint32_t)ms);
		gwf_flight_unlink(l, node);
		k++;
	}
	return k;
}

uint32_t gwf_flight_unheard(const gwf_flight_t *l)
{
	const gwf_flight_node_t *node;
	uint32_t n = 0;

	for(node = l->head; node != NULL; node = node->next)
		n += !gwf_flight_heard(node);
	return n;
}
