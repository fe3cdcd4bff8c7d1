/*
 * gwfailover - rescue of the calls in flight to an ejected gateway.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * How a call is ended. Its branch to the ejected gateway has received
 * nothing (not even 100 Trying), so tm has nothing to CANCEL (RFC 3261
 * 9.1): tm's own cancel_uacs() with F_CANCEL_B_FAKE_REPLY stops the
 * branch's retransmissions and timers and relays a locally generated 487
 * on it, as for a CANCEL of an unanswered branch. That runs the call's
 * failure_route here, in the resume process, where gwf_failover() sees
 * the branch claimed as rescued (GWF_HEARD_RESCUED) and fails the call
 * over: not the caller's CANCEL (t_is_canceled() stays false), no fault
 * of the gateway counted again. tm marks the branch cancelled, so a late
 * provisional reply from the gateway makes tm send it a CANCEL then.
 *
 * Safety. The flight list gives only (hash index, label, branch): the
 * transaction is looked up and referenced (t_lookup_ident()) before it is
 * touched, and released after. The branch is claimed with one atomic
 * step against its first reply (gwf_txn_claim_rescue()) and against a
 * CANCEL of the caller (tm's prepare_cancel_branch(): whoever marks the
 * branch's CANCEL buffer first); a branch that lost either race is left
 * alone. cancel_uacs() takes the reply lock itself, so nothing is held
 * here when it runs.
 */

#include "core/dprint.h"
#include "core/receive.h"
#include "modules/tm/h_table.h"
#include "modules/tm/t_cancel.h"
#include "modules/tm/t_lookup.h"

#include "gwfailover.h"
#include "gwfailover_gw.h"
#include "gwfailover_rescue.h"
#include "gwfailover_stats.h"
#include "gwfailover_txn.h"

/* Calls taken off a gateway's list per hold of the table lock. */
#define GWF_RESCUE_BATCH 64

static struct tm_binds *_gwf_rescue_tmb = NULL;

void gwf_rescue_init(struct tm_binds *tmb)
{
	_gwf_rescue_tmb = tmb;
}

/* May branch <b> of <t> (tracking state <txn>), sent to gateway slot
 * <idx>, be ended now? Sent (its timers run), nothing received, a
 * failure_route armed to fail it over, the caller not gone. */
static int gwf_rescue_fits(struct cell *t, gwf_txn_t *txn, int b, int idx)
{
	struct ua_client *uac;

	if(txn == NULL || b >= (int)t->nr_of_outgoings || b >= GWF_TXN_MAX_BRANCHES
			|| txn->br[b].gw != idx)
		return 0;
	uac = &t->uac[b];
	return !(t->flags & T_CANCELED) && uac->on_failure != 0
		   && uac->last_received < 100 && uac->request.t_active
		   && !(uac->flags & TM_UAC_FLAG_BLIND);
}

/* End the branch <r> to gateway slot <idx> if it still fits. Returns 1 if
 * it was ended (its failure_route has run). */
static int gwf_rescue_one(const gwf_flight_ref_t *r, int idx)
{
	struct tm_binds *tmb = _gwf_rescue_tmb;
	struct cancel_info ci;
	struct cell *t = NULL;
	gwf_txn_t *txn;
	int b = r->branch, done = 0;

	/* a reference, or nothing: answered and freed meanwhile */
	if(tmb->t_lookup_ident(&t, r->tindex, r->tlabel) < 0 || t == NULL) {
		tmb->t_sett(T_UNDEFINED, T_BR_UNDEFINED);
		return 0;
	}
	txn = gwf_txn_get(t);
	if(gwf_rescue_fits(t, txn, b, idx) && gwf_txn_claim_rescue(txn, b)) {
		if(prepare_cancel_branch(t, b, 1)) {
			init_cancel_info(&ci);
			ci.cancel_bitmap = (branch_bm_t)1 << b;
			tmb->cancel_uacs(t, &ci, F_CANCEL_B_FAKE_REPLY);
			done = 1;
		} else {
			/* the caller's CANCEL (or tm) took the branch first: not a
			 * rescue; whatever ends it is judged as usual */
			gwf_txn_unclaim_rescue(txn, b);
			LM_DBG("[%u:%u] branch %d: cancelled by someone else\n", r->tindex,
					r->tlabel, b);
		}
	}
	tmb->t_sett(T_UNDEFINED, T_BR_UNDEFINED);
	tmb->unref_cell(t);
	ksr_msg_env_reset();
	return done;
}

/* Say what the rescue of one ejection did, once. */
static void gwf_rescue_report(int idx, unsigned rescued, int kept)
{
	gwf_gw_t gw;

	if((rescued == 0 && kept == 0) || gwf_gw_snapshot(idx, &gw) < 0)
		return;
	if(rescued > 0)
		LM_NOTICE("gateway %s (set %d) ejected: %u call%s in flight rescued"
				  " (moved to another gateway at once)\n",
				gw.uri, gw.set_id, rescued, rescued == 1 ? "" : "s");
	if(kept > 0)
		LM_NOTICE("gateway %s (set %d) ejected with %d call%s in flight:"
				  " not rescued, no other gateway of the set takes calls\n",
				gw.uri, gw.set_id, kept, kept == 1 ? "" : "s");
}

void gwf_rescue_run(void)
{
	static gwf_flight_ref_t refs[GWF_RESCUE_BATCH];
	unsigned n, i, rescued;
	uint32_t from = 0;
	int idx, kept, last;

	if(_gwf_rescue_tmb == NULL)
		return;
	for(;;) {
		n = gwf_gw_rescue_take(
				from, &idx, refs, GWF_RESCUE_BATCH, &kept, &last);
		if(idx < 0)
			break;
		if(kept > 0)
			gwf_stat_add(GWF_ST_RESCUE_KEPT, (unsigned)kept);
		rescued = 0;
		for(i = 0; i < n; i++) {
			if(gwf_rescue_one(&refs[i], idx)) {
				rescued++;
				gwf_stat_inc(GWF_ST_RESCUED);
			}
		}
		gwf_rescue_report(idx, gwf_gw_rescued(idx, rescued, last), kept);
		/* a full batch may leave more of the same gateway */
		from = n == GWF_RESCUE_BATCH ? (uint32_t)idx : (uint32_t)idx + 1;
	}
}
