/*
 * gwfailover - per-transaction tracking: which gateway each branch went to,
 * so a final 2xx can be credited to the gateway that sent it.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_TXN_H
#define GWFAILOVER_TXN_H

#include <stdint.h>

#include "modules/tm/tm_load.h"

#include "gwf_flight.h"
#include "gwf_plan.h"

/* tm's internal code of a branch whose request could not be sent at all
 * (uac->icode, set in t_fwd.c's send path; 5.6 and 6.0). */
#define GWF_TM_ICODE_UNSENT 908

/* tm's hard limit on branches per transaction (MAX_BRANCHES_LIMIT). */
#define GWF_TXN_MAX_BRANCHES 32

/* States of a branch's <heard> byte. The first reply and a rescue race
 * for the branch (gwf_claim_cas()): whichever moves it from NONE wins. */
#define GWF_HEARD_NONE 0	/* nothing received, not rescued */
#define GWF_HEARD 1			/* a reply (any, 100 included) came first */
#define GWF_HEARD_RESCUED 2 /* rescued first: ended by the module */
#define GWF_HEARD_LATE 3	/* rescued, then a reply came anyway */

/* A branch's flags are one byte each so they can be claimed atomically
 * (gwf_claim.h): see gwf_txn_t. */
typedef struct gwf_txn_branch
{
	int32_t gw;		/* gateway table slot; -1: not a dispatcher gateway */
	uint32_t trial; /* breaker trial token (0: none) */
	uint8_t done;	/* outcome recorded (claimed once) */
	uint8_t rang;	/* a provisional reply other than 100 was received */
	uint8_t heard;	/* GWF_HEARD_*: first reply or rescue (claimed once) */
	uint8_t setup;	/* GWF_SETUP_* bits (gwf_claim.h): when the module sets
					 * the branch up in TMCB_REQUEST_OUT, after tm sent the
					 * INVITE, a reply or the branch's failure_route in
					 * another worker can come first, and is handed over */
} gwf_txn_branch_t;

/* What ended a failed attempt, for $gwf(failure). */
typedef enum gwf_failed_by
{
	GWF_FAILED_BY_REPLY = 0,  /* a failure reply from the gateway */
	GWF_FAILED_BY_TIMEOUT,	  /* no reply (or only 100) before fr_timer */
	GWF_FAILED_BY_NOANSWER,	  /* it rang, nobody answered before fr_inv_timer */
	GWF_FAILED_BY_RESCUE,	  /* moved off its ejected gateway by the module */
	GWF_FAILED_BY_UNREACHABLE /* tm could not send the request at all */
} gwf_failed_by_t;

/* "reply", "timeout", "noanswer", "rescue". */
const char *gwf_failed_by_name(gwf_failed_by_t w);

/* The module's last decision on a call, for $gwf() in later routes. */
typedef struct gwf_txn_decision
{
	int code;		  /* failure classified; 0: none yet */
	int8_t action;	  /* gwf_action_t */
	int8_t health;	  /* gwf_health_t */
	int8_t end;		  /* gwf_end_t */
	int16_t rule;	  /* matched rule index; -1: fallback */
	int32_t delay;	  /* ms before the re-forward; -1: none decided */
	int32_t gw;		  /* slot of the gateway that failed; -1: unknown */
	int8_t failed_by; /* gwf_failed_by_t: what ended the attempt */
} gwf_txn_decision_t;

/* State of one INVITE transaction, in shm, freed with the transaction.
 *
 * Where a branch is set up. A transaction with a TMCB_REQUEST_FWDED
 * callback makes tm copy each branch's request URI, destination URI, path,
 * ruid, user agent and instance into pkg memory (t_fwd.c,
 * prepare_new_uac()): about 3,000 instructions and two allocations per
 * call (callgrind, docs/benchmarks-ab.md). So a branch is set up in
 * TMCB_REQUEST_OUT, right after tm sent it, and the gateway comes from:
 *   - the pending gateway of gwf_failover()'s own forward;
 *   - in failure_route (tm's reply lock held, so no other process touches
 *     the call), the dispatcher's current destination;
 *   - otherwise (the first forward, from request_route, where a reply can
 *     run failure_route in another worker before this callback and move
 *     the dispatcher's destination list), the destination the call had
 *     when tm created the transaction (head_gw, looked up in
 *     TMCB_REQUEST_IN, when the transaction was the worker's alone),
 *     checked against the request's own $du.
 * A transaction created before the script chose a destination (t_newtran()
 * before ds_select_dst()) has no head_gw: it registers TMCB_REQUEST_FWDED
 * too (fwded) and is set up there, before the send, as tm allows.
 * What setting up after the send costs: a reply faster than the sender's
 * return from sendto() is handed over (GWF_SETUP_*, without a latency
 * sample); a failure_route run that fast charges the gateway it finds as
 * the dispatcher's destination, without the branch's trial slot, which
 * the set-up then gives back. The first forward is counted as an attempt
 * in TMCB_REQUEST_IN (head_counted), before anything can overtake it.
 *
 * Who touches it: the set-up, failure_route and the resume process run in
 * the relaying process under the transaction's reply lock (t_continue()
 * takes it), or in request_route before any reply can be handled, so they
 * are serialised, except in the case above. TMCB_RESPONSE_IN and
 * TMCB_E2ECANCEL_IN are not: tm runs them before it takes the reply lock,
 * in whichever worker received the message, at the same time as each
 * other (two copies of one 2xx) and as failure_route. Everything those two
 * callbacks write is a one-byte flag claimed or stored atomically
 * (gwf_claim.h): a branch's outcome (done) is recorded by exactly one of a
 * 2xx, its failure and TMCB_DESTROY, a reply that comes before its branch
 * is set up is handed over (setup), and a suspended call is resumed or
 * counted as cancelled exactly once. */
typedef struct gwf_txn
{
	gwf_call_t call;	  /* start, attempts, previous delay */
	uint8_t suspended;	  /* waiting for its delay (cleared once) */
	uint8_t progressed;	  /* progress_reply sent (failure_route only, under
						 * tm's reply lock) */
	uint8_t fwded;		  /* set up in TMCB_REQUEST_FWDED (see above) */
	uint8_t head_counted; /* the head forward is in call.attempts already */
	int32_t head_set;	  /* dispatcher set of head_gw */
	int32_t head_gw;	  /* gateway slot of the first forward; -1: none */
	gwf_txn_decision_t last;
	gwf_txn_branch_t br[GWF_TXN_MAX_BRANCHES];
	/* Branch b's node on its gateway's flight list (until its first
	 * reply, its rescue or the end of the transaction). Apart from br[]
	 * and last in the struct: only the branches forwarded to a gateway
	 * set theirs up, so a new call clears the small br[] alone, not 32
	 * nodes of cache lines it will mostly never use. Valid only while
	 * br[b].gw >= 0. As many as the core's max_branches (12 by default),
	 * not 32: a smaller allocation per call (gwf_txn_init()). */
	gwf_flight_node_t fl[];
} gwf_txn_t;

/* Bind tm and register the global TMCB_REQUEST_IN hook. mod_init only.
 * Returns 0 or -1 (logged). */
int gwf_txn_init(struct tm_binds *tmb);

/* The tracking state of <t>, or NULL if <t> is not an INVITE transaction
 * created after the module loaded. */
gwf_txn_t *gwf_txn_get(struct cell *t);

/* The next branch this process sends goes to gateway slot <gw> holding
 * trial token <trial>: the branch's set-up records that instead of looking
 * the gateway up again. Process-local, consumed by the next branch. */
void gwf_txn_set_pending(int gw, uint32_t trial);

/* The gateway slot of branch <b> of <txn> (-1: none) and its trial token
 * (*trial, 0: none), for its failure_route. -1 also when the branch is
 * not set up yet (a failure faster than the sender's set-up): the set-up
 * then gives back what it takes, and the caller finds the gateway
 * another way. */
int gwf_txn_branch_gw(gwf_txn_t *txn, int b, uint32_t *trial);

/* Claim branch <b> of <txn> for a rescue: 1 if nothing was received on it
 * and no other process claimed it, 0 otherwise. */
int gwf_txn_claim_rescue(gwf_txn_t *txn, int b);

/* Give up the rescue claimed on branch <b> of <txn> (tm would not let it
 * be ended): back to nothing received, or to heard. */
void gwf_txn_unclaim_rescue(gwf_txn_t *txn, int b);

/* Was branch <b> of <txn> claimed for a rescue? */
int gwf_txn_rescued(gwf_txn_t *txn, int b);

/* Did branch <b> of <txn> receive any reply (before or after a rescue)? */
int gwf_txn_heard(gwf_txn_t *txn, int b);

/* Drop the pending gateway. Returns 1 if it was still pending (no branch
 * took it), 0 if a branch's set-up already recorded it. */
int gwf_txn_clear_pending(void);

#endif
