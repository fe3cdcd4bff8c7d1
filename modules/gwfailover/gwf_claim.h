/*
 * gwfailover - one-shot flags that several processes may race for.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * tm runs TMCB_RESPONSE_IN and TMCB_E2ECANCEL_IN before it takes a
 * transaction's reply lock, in whichever worker received the message, so
 * two workers can handle two copies of one reply at the same moment, or a
 * reply while failure_route runs. A flag such as "this branch's outcome
 * was recorded" is therefore claimed with one atomic exchange, never with
 * a read followed by a write: exactly one caller sees it change.
 */

#ifndef GWF_CLAIM_H
#define GWF_CLAIM_H

#include <stdint.h>

/* Set <flag>; returns 1 for the one caller that found it clear. */
static inline int gwf_claim(uint8_t *flag)
{
	return __atomic_exchange_n(flag, (uint8_t)1, __ATOMIC_ACQ_REL) == 0;
}

/* Clear <flag>; returns 1 for the one caller that found it set. */
static inline int gwf_unclaim(uint8_t *flag)
{
	return __atomic_exchange_n(flag, (uint8_t)0, __ATOMIC_ACQ_REL) != 0;
}

/* Move <flag> from <from> to <to>; returns 1 for the one caller that
 * found it at <from>. For a flag of several states that processes race
 * to move (a branch heard, or rescued, first). */
static inline int gwf_claim_cas(uint8_t *flag, uint8_t from, uint8_t to)
{
	return __atomic_compare_exchange_n(
			flag, &from, to, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* Is <flag> set now? */
static inline int gwf_claimed(const uint8_t *flag)
{
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE) != 0;
}

/* Set or clear <flag> where no race decides anything (a branch being
 * created, before any reply can reach it). */
static inline void gwf_claim_store(uint8_t *flag, int v)
{
	__atomic_store_n(flag, (uint8_t)(v != 0), __ATOMIC_RELEASE);
}

/* Set <bits> in <flags> and return the bits set before: a hand-over
 * between parties that each set a bit of their own, then look at the
 * others': whichever comes second sees the first's bit, so exactly one of
 * them acts. */
static inline uint8_t gwf_claim_or(uint8_t *flags, uint8_t bits)
{
	return __atomic_fetch_or(flags, bits, __ATOMIC_ACQ_REL);
}

/* The hand-over of a branch that is set up after it was sent (the glue's
 * gwfailover_txn.c): its <setup> byte. The sender sets READY once the
 * branch's gateway is recorded; a reply, or the branch's failure handling,
 * that comes before leaves its EARLY bit for the sender to act on. */
#define GWF_SETUP_READY 1		/* the branch's gateway is recorded */
#define GWF_SETUP_EARLY_REPLY 2 /* a reply came before that */
#define GWF_SETUP_EARLY_2XX 4	/* ... and it was a 2xx */
#define GWF_SETUP_EARLY_FINAL 8 /* its failure was handled before that */

/* The sender has recorded the branch: returns the EARLY bits it is to act
 * on (0: nothing came first). */
static inline uint8_t gwf_setup_ready(uint8_t *setup)
{
	return gwf_claim_or(setup, GWF_SETUP_READY)
		   & (GWF_SETUP_EARLY_REPLY | GWF_SETUP_EARLY_2XX
				   | GWF_SETUP_EARLY_FINAL);
}

/* A reply (a 2xx if <is_2xx>) came: 1 if the branch is recorded and the
 * caller acts on the reply, 0 if the sender will. */
static inline int gwf_setup_reply(uint8_t *setup, int is_2xx)
{
	uint8_t bits = GWF_SETUP_EARLY_REPLY;

	if(__atomic_load_n(setup, __ATOMIC_ACQUIRE) & GWF_SETUP_READY)
		return 1;
	if(is_2xx)
		bits |= GWF_SETUP_EARLY_2XX;
	return (gwf_claim_or(setup, bits) & GWF_SETUP_READY) != 0;
}

/* The branch's failure is being handled: 1 if the branch is recorded (use
 * what the sender recorded), 0 if not yet (the sender gives back what it
 * took for the branch). */
static inline int gwf_setup_final(uint8_t *setup)
{
	if(__atomic_load_n(setup, __ATOMIC_ACQUIRE) & GWF_SETUP_READY)
		return 1;
	return (gwf_claim_or(setup, GWF_SETUP_EARLY_FINAL) & GWF_SETUP_READY) != 0;
}

#endif
