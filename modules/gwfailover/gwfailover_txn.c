/*
 * gwfailover - per-transaction tracking: which gateway each branch went to,
 * so a final 2xx can be credited to the gateway that sent it.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include <stddef.h>
#include <string.h>

#include "core/dprint.h"
#include "core/globals.h"
#include "core/mem/shm_mem.h"
#include "core/ip_addr.h"
#include "core/parser/msg_parser.h"
#include "core/parser/parse_cseq.h"
#include "core/route.h"

#include "gwf_claim.h"
#include "gwfailover.h"
#include "gwfailover_ds.h"
#include "gwfailover_gw.h"
#include "gwfailover_stats.h"
#include "gwfailover_txn.h"

static struct tm_binds *_gwf_txn_tmb = NULL;
/* flight nodes per transaction: the core's max_branches, at most 32 */
static unsigned _gwf_txn_nfl = GWF_TXN_MAX_BRANCHES;
static int _gwf_pending_gw = -1;
static uint32_t _gwf_pending_trial = 0;
static int _gwf_pending_set = 0;

static void gwf_txn_cb(struct cell *t, int type, struct tmcb_params *ps);

void gwf_txn_set_pending(int gw, uint32_t trial)
{
	_gwf_pending_gw = gw;
	_gwf_pending_trial = trial;
	_gwf_pending_set = 1;
}

int gwf_txn_clear_pending(void)
{
	int was_set = _gwf_pending_set;

	_gwf_pending_set = 0;
	_gwf_pending_gw = -1;
	_gwf_pending_trial = 0;
	return was_set;
}

static void gwf_txn_release(void *param)
{
	shm_free(param);
}

/* A new transaction: track INVITEs only (failover applies to them). */
static void gwf_txn_new(struct cell *t, int type, struct tmcb_params *ps)
{
	gwf_txn_t *txn;
	int i, set, types;
	str uri;

	if(ps->req == NULL || ps->req->first_line.type != SIP_REQUEST
			|| ps->req->REQ_METHOD != METHOD_INVITE)
		return;
	txn = shm_malloc(
			offsetof(gwf_txn_t, fl) + _gwf_txn_nfl * sizeof(gwf_flight_node_t));
	if(txn == NULL) {
		SHM_MEM_ERROR_FMT("transaction state\n");
		return;
	}
	/* not the flight nodes: each branch's set-up does its own */
	memset(txn, 0, offsetof(gwf_txn_t, fl));
	txn->call.start_ms = gwf_now_ms();
	txn->last.delay = -1;
	txn->last.gw = -1;
	txn->last.rule = -1;
	for(i = 0; i < GWF_TXN_MAX_BRANCHES; i++)
		txn->br[i].gw = -1;
	/* tm has just moved the script's XAVPs into the transaction, which no
	 * other process can reach yet: the dispatcher's destination, if the
	 * script chose one before tm created the transaction (t_relay()), is
	 * the first forward's gateway (see gwf_txn_t) */
	txn->head_gw = -1;
	types = TMCB_REQUEST_OUT | TMCB_RESPONSE_IN | TMCB_E2ECANCEL_IN
			| TMCB_DESTROY;
	if(gwf_ds_head(&set, &uri) == 0) {
		txn->head_set = set;
		txn->head_gw = gwf_gw_lookup(set, &uri);
		/* the forward that follows, counted now: a failure_route that
		 * overtakes its set-up reads it */
		txn->call.attempts = 1;
		txn->head_counted = 1;
	} else {
		txn->fwded = 1;
		types |= TMCB_REQUEST_FWDED;
	}
	if(_gwf_txn_tmb->register_tmcb(
			   ps->req, t, types, gwf_txn_cb, txn, gwf_txn_release)
			<= 0) {
		LM_ERR("cannot register transaction callbacks\n");
		shm_free(txn);
	}
}

int gwf_txn_init(struct tm_binds *tmb)
{
	_gwf_txn_tmb = tmb;
	/* tm never makes more branches than the core's max_branches */
	_gwf_txn_nfl = sr_dst_max_branches < GWF_TXN_MAX_BRANCHES
						   ? sr_dst_max_branches
						   : GWF_TXN_MAX_BRANCHES;
	if(tmb->register_tmcb(0, 0, TMCB_REQUEST_IN, gwf_txn_new, 0, 0) <= 0) {
		LM_ERR("cannot register the TMCB_REQUEST_IN callback\n");
		return -1;
	}
	return 0;
}

gwf_txn_t *gwf_txn_get(struct cell *t)
{
	struct tm_callback *cb;

	/* tm only prepends to this list, so a read-only walk is safe. */
	for(cb = (struct tm_callback *)t->tmcb_hl.first; cb != NULL;
			cb = cb->next) {
		if(cb->callback == gwf_txn_cb)
			return (gwf_txn_t *)cb->param;
	}
	return NULL;
}

static void gwf_txn_unsent(gwf_txn_branch_t *br);

/* The node of branch <b>, before its gateway's list: who it is, when it
 * was sent, which of the branch's flags it shares. */
static gwf_flight_node_t *gwf_txn_node_init(
		struct cell *t, gwf_txn_t *txn, int b)
{
	gwf_flight_node_t *fl = &txn->fl[b];

	memset(fl, 0, sizeof(*fl));
	fl->tindex = t->hash_index;
	fl->tlabel = t->label;
	fl->branch = (uint16_t)b;
	fl->outcome = &txn->br[b].done;
	fl->heard = &txn->br[b].heard;
	fl->sample_ms = -1;
	fl->sent_ms = gwf_now_ms();
	return fl;
}

/* If gwf_failover() is relaying (a pending gateway), put <fl> on that
 * gateway's list with the pending trial slot: returns 1 with *gw and
 * *trial set. 0 if nothing is pending. */
static int gwf_txn_take_pending(int *gw, uint32_t *trial, gwf_flight_node_t *fl)
{
	if(!_gwf_pending_set)
		return 0;
	*gw = _gwf_pending_gw;
	*trial = _gwf_pending_trial;
	gwf_txn_clear_pending();
	if(*gw >= 0)
		gwf_gw_sent(*gw, *trial, fl);
	return 1;
}

/* A branch is being forwarded, in a transaction set up before the send
 * (fwded, see gwf_txn_t): remember its gateway and, for a gateway on
 * trial, hold a trial slot for it. */
static void gwf_txn_forwarded(struct cell *t, gwf_txn_t *txn)
{
	unsigned b = t->nr_of_outgoings;
	int gw = -1, set;
	uint32_t trial = 0;
	str uri;
	gwf_txn_branch_t *br;
	gwf_flight_node_t *fl;

	if(b >= _gwf_txn_nfl)
		return;
	br = &txn->br[b];
	fl = &txn->fl[b];
	/* tm runs this callback before it can still fail to build the branch
	 * (DNS, no socket, no memory): then the same index comes here again.
	 * What the first time took goes back: the slot of a trial call, and
	 * the node's place on its gateway's list. */
	if(br->gw >= 0 && br->trial != 0 && gwf_claim(&br->done))
		gwf_gw_neutral(br->gw, br->trial);
	if(br->gw >= 0)
		gwf_gw_flight_drop(br->gw, fl);
	/* no reply can reach a branch before it is sent */
	gwf_claim_store(&br->done, 0);
	gwf_claim_store(&br->rang, 0);
	gwf_claim_store(&br->heard, GWF_HEARD_NONE);
	/* the node goes on the gateway's list in the same lock round as the
	 * rest of the forward's bookkeeping; TMCB_REQUEST_OUT marks it sent */
	fl = gwf_txn_node_init(t, txn, (int)b);
	if(!gwf_txn_take_pending(&gw, &trial, fl) && gwf_ds_head(&set, &uri) == 0) {
		/* First forward, chosen by ds_select_dst() in the script. */
		gw = gwf_gw_lookup_forward(set, &uri, &trial, fl);
	}
	br->gw = gw;
	br->trial = trial;
	/* Every forward is an attempt, tracked gateway or not: a gateway the
	 * table has no room for (max_gateways) still uses up max_attempts. */
	txn->call.attempts++;
	/* before the send: no reply can have come */
	gwf_setup_ready(&br->setup);
}

/* The gateway of branch <b>, just sent from request_route or an async
 * resume of it, of a transaction whose first destination was looked up
 * when tm created it (head_gw): that one, unless the request's $du says
 * the script has moved the call since, to a gateway the module knows. */
static int gwf_txn_head_forward(
		gwf_txn_t *txn, sip_msg_t *req, uint32_t *trial, gwf_flight_node_t *fl)
{
	int gw = txn->head_gw;

	*trial = 0;
	if(gw < 0)
		return -1;
	if(req != NULL && req->dst_uri.len > 0 && !gwf_gw_uri_is(gw, &req->dst_uri))
		gw = gwf_gw_find_existing(txn->head_set, &req->dst_uri);
	return gw >= 0 ? gwf_gw_forward_at(gw, trial, fl) : -1;
}

/* Branch <b> of <t> (request <req>) was sent, in a transaction set up
 * after the send (see gwf_txn_t): remember its gateway and trial slot, put
 * its node on the gateway's flight list, then take over what a reply that
 * came meanwhile left (GWF_SETUP_*). */
static void gwf_txn_sent(struct cell *t, gwf_txn_t *txn, int b, sip_msg_t *req)
{
	gwf_txn_branch_t *br = &txn->br[b];
	gwf_flight_node_t *fl;
	uint32_t trial = 0;
	uint8_t early;
	int gw = -1, set;
	str uri;

	/* tm sends a branch once (a DNS fallback is a branch of its own) */
	if(__atomic_load_n(&br->setup, __ATOMIC_ACQUIRE) & GWF_SETUP_READY)
		return;
	fl = gwf_txn_node_init(t, txn, b);
	if(gwf_txn_take_pending(&gw, &trial, fl)) {
		/* gwf_failover()'s own forward */
	} else if(is_route_type(FAILURE_ROUTE)) {
		/* the script's own forward; tm's reply lock is held */
		if(gwf_ds_head(&set, &uri) == 0)
			gw = gwf_gw_lookup_forward(set, &uri, &trial, fl);
	} else {
		gw = gwf_txn_head_forward(txn, req, &trial, fl);
	}
	/* Every forward is an attempt, tracked gateway or not (a gateway the
	 * table has no room for still uses up max_attempts). The head forward
	 * was counted when tm created the transaction; the others run under
	 * tm's reply lock, which every reader of the count holds too. */
	if(txn->head_counted)
		txn->head_counted = 0;
	else
		txn->call.attempts++;
	br->trial = trial;
	__atomic_store_n(&br->gw, gw, __ATOMIC_RELEASE);
	early = gwf_setup_ready(&br->setup);
	if(gw >= 0 && (early & GWF_SETUP_EARLY_FINAL)) {
		/* its failure_route ran already and charged the gateway without
		 * this trial slot (gwf_txn_branch_gw()): give the slot back, once
		 * (TMCB_DESTROY must not again) */
		if(trial != 0)
			gwf_gw_neutral(gw, trial);
		br->trial = 0;
		gwf_gw_flight_drop(gw, fl);
	}
	/* a reply came first: the gateway is alive (no latency sample: the
	 * reply was faster than this set-up, which is all it says) */
	if(gw >= 0 && (early & GWF_SETUP_EARLY_REPLY)
			&& gwf_claim_cas(&br->heard, GWF_HEARD_NONE, GWF_HEARD))
		gwf_gw_heard(gw);
	if(gw >= 0 && (early & GWF_SETUP_EARLY_2XX) && gwf_claim(&br->done))
		gwf_gw_success(gw, trial);
	/* now a rescue or the trial judge may act on the node */
	gwf_claim_store(&fl->sent, 1);
	if(t->uac[b].icode == GWF_TM_ICODE_UNSENT && gw >= 0)
		gwf_txn_unsent(br);
}

int gwf_txn_branch_gw(gwf_txn_t *txn, int b, uint32_t *trial)
{
	gwf_txn_branch_t *br = &txn->br[b];

	*trial = 0;
	if(!gwf_setup_final(&br->setup))
		return -1; /* its set-up will give back what it takes */
	*trial = br->trial;
	return __atomic_load_n(&br->gw, __ATOMIC_ACQUIRE);
}

const char *gwf_failed_by_name(gwf_failed_by_t w)
{
	switch(w) {
		case GWF_FAILED_BY_TIMEOUT:
			return "timeout";
		case GWF_FAILED_BY_NOANSWER:
			return "noanswer";
		case GWF_FAILED_BY_RESCUE:
			return "rescue";
		case GWF_FAILED_BY_UNREACHABLE:
			return "unreachable";
		default:
			return "reply";
	}
}

int gwf_txn_claim_rescue(gwf_txn_t *txn, int b)
{
	return gwf_claim_cas(&txn->br[b].heard, GWF_HEARD_NONE, GWF_HEARD_RESCUED);
}

void gwf_txn_unclaim_rescue(gwf_txn_t *txn, int b)
{
	/* a reply that came meanwhile moved it to LATE: it was heard */
	if(!gwf_claim_cas(&txn->br[b].heard, GWF_HEARD_RESCUED, GWF_HEARD_NONE))
		gwf_claim_cas(&txn->br[b].heard, GWF_HEARD_LATE, GWF_HEARD);
}

int gwf_txn_rescued(gwf_txn_t *txn, int b)
{
	return __atomic_load_n(&txn->br[b].heard, __ATOMIC_ACQUIRE)
		   >= GWF_HEARD_RESCUED;
}

int gwf_txn_heard(gwf_txn_t *txn, int b)
{
	uint8_t h = __atomic_load_n(&txn->br[b].heard, __ATOMIC_ACQUIRE);

	return h == GWF_HEARD || h == GWF_HEARD_LATE;
}

/* tm could not send branch <b> at all (connection refused or reset, no
 * route, TLS handshake) and, with failure_exec_mode 1, keeps it on hold
 * until its fr_timer and calls it sent: this is the moment to know. The
 * gateway's share is recorded now (by default: ejected at once, which
 * rescues this call and any other in flight to it); the branch's own
 * failure_route later only moves the call on. May run under the reply
 * lock (a re-forward from the failure route): lock order as documented
 * in gwfailover.h. */
static void gwf_txn_unsent(gwf_txn_branch_t *br)
{
	gwf_failure_t f;
	gwf_verdict_t v;

	memset(&f, 0, sizeof(f));
	/* tm's local code for it (503 at a UDP retransmission, 408 at
	 * fr_timer over TCP): not the gateway's, and no rule looks at it */
	f.code = 503;
	f.retry_after_s = -1;
	f.unsent = 1;
	v = gwf_cls_classify(&_gwf_cfg.cls, &f);
	gwf_stat_inc(GWF_ST_FAILURES_UNREACHABLE);
	if(gwf_claim(&br->done))
		gwf_gw_failure(br->gw, br->trial, &f, v.health, 0);
}

/* The first-reply latency of branch <b> of <t> now, if it is an
 * unambiguous sample (Karn's rule: over UDP, not once tm may have sent
 * the INVITE again); -1 otherwise. */
static int64_t gwf_txn_sample(struct cell *t, gwf_txn_t *txn, int b)
{
	uint64_t now = gwf_now_ms(), sent = txn->fl[b].sent_ms;
	uint64_t r = now > sent ? now - sent : 0;

	if(r > UINT32_MAX
			|| !gwf_rtt_unambiguous((uint32_t)r,
					t->uac[b].request.dst.proto == PROTO_UDP,
					(uint32_t)t->rt_t1_timeout_ms))
		return -1;
	return (int64_t)r;
}

/* A reply on branch <b>, to a tracked gateway: if it is the branch's
 * first, the gateway is heard (its silence count, its flight list) and
 * the latency is a sample; the first reply after a rescue gives only the
 * sample (a slow gateway teaches its timeout even when it was ejected). */
static void gwf_txn_first_reply(struct cell *t, gwf_txn_t *txn, int b)
{
	gwf_txn_branch_t *br = &txn->br[b];
	uint8_t h = __atomic_load_n(&br->heard, __ATOMIC_ACQUIRE);
	int64_t sample;

	if(h == GWF_HEARD || h == GWF_HEARD_LATE)
		return; /* the common case after the first reply: one read */
	/* a copy of a reply whose first copy overtook the set-up: measured
	 * from a send time taken after it, it would teach a latency of 0 */
	sample = (__atomic_load_n(&br->setup, __ATOMIC_ACQUIRE)
					 & GWF_SETUP_EARLY_REPLY)
					 ? -1
					 : gwf_txn_sample(t, txn, b);
	/* before the claim that publishes it: the sweep reads it after */
	__atomic_store_n(&txn->fl[b].sample_ms, (int32_t)sample, __ATOMIC_RELAXED);
	if(gwf_claim_cas(&br->heard, GWF_HEARD_NONE, GWF_HEARD))
		gwf_gw_heard(br->gw);
	else if(gwf_claim_cas(&br->heard, GWF_HEARD_RESCUED, GWF_HEARD_LATE))
		gwf_gw_heard_late(br->gw, sample);
}

static void gwf_txn_cb(struct cell *t, int type, struct tmcb_params *ps)
{
	gwf_txn_t *txn = (gwf_txn_t *)*ps->param;
	int b, i;

	if(txn == NULL)
		return;
	switch(type) {
		case TMCB_REQUEST_FWDED:
			if(txn->fwded)
				gwf_txn_forwarded(t, txn);
			break;
		case TMCB_REQUEST_OUT:
			/* the INVITE of a branch was sent (not a CANCEL of ours), or
			 * could not be and is held for its failure_route */
			b = (int)ps->branch;
			if((ps->flags & TMCB_LOCAL_F) || b < 0 || b >= (int)_gwf_txn_nfl
					|| b >= (int)t->nr_of_outgoings
					|| ps->t_rbuf != &t->uac[b].request)
				break;
			if(!txn->fwded) {
				gwf_txn_sent(t, txn, b, ps->req);
				break;
			}
			/* set up before the send: now a rescue may end it */
			gwf_claim_store(&txn->fl[b].sent, 1);
			if(t->uac[b].icode == GWF_TM_ICODE_UNSENT && txn->br[b].gw >= 0)
				gwf_txn_unsent(&txn->br[b]);
			break;
		case TMCB_RESPONSE_IN:
			b = _gwf_txn_tmb->t_gett_branch();
			if(b < 0 || b >= GWF_TXN_MAX_BRANCHES)
				break;
			/* tm matches the replies to its own CANCELs to the INVITE
			 * transaction too: the 200 to a CANCEL is no answer */
			if(ps->rpl != NULL && ps->rpl != FAKED_REPLY
					&& ps->rpl->cseq != NULL && ps->rpl->cseq->parsed != NULL
					&& get_cseq(ps->rpl)->method_id != METHOD_INVITE)
				break;
			/* Runs before tm's reply lock, in any worker, possibly for
			 * two copies of one reply at once: every flag is claimed. */
			/* 18x (not 100, which is hop-by-hop): the callee was reached,
			 * so a later local timeout means nobody answered. */
			if(ps->code > 100 && ps->code < 200)
				gwf_claim_store(&txn->br[b].rang, 1);
			/* faster than the sender's set-up: it takes the reply over */
			if(!gwf_setup_reply(
					   &txn->br[b].setup, ps->code >= 200 && ps->code < 300))
				break;
			/* any reply, 100 included: the gateway is alive */
			if(txn->br[b].gw >= 0)
				gwf_txn_first_reply(t, txn, b);
			/* A 2xx the gateway sent (received replies only: tm's own
			 * are never RESPONSE_IN) is its success, once per branch:
			 * UDP retransmissions come again, and a local timeout of the
			 * branch may be classified at the same moment. Taken here
			 * rather than when relayed: one callback type per reply is
			 * cheaper. */
			if(ps->code >= 200 && ps->code < 300 && txn->br[b].gw >= 0
					&& gwf_claim(&txn->br[b].done))
				gwf_gw_success(txn->br[b].gw, txn->br[b].trial);
			break;
		case TMCB_E2ECANCEL_IN:
			/* tm answers 487 itself and the resume finds the call gone;
			 * only here can a CANCEL during the delay be counted. The
			 * resume process clears the flag too: one of them wins. */
			if(gwf_unclaim(&txn->suspended))
				gwf_stat_inc(GWF_ST_CANCELED);
			break;
		case TMCB_DESTROY:
			/* Trial slots of branches whose outcome never reached us
			 * (CANCEL, script not calling gwf_failover()) go back; a
			 * branch still on a flight list leaves it (tm frees the
			 * transaction, and our state with it, right after). */
			for(i = 0; i < GWF_TXN_MAX_BRANCHES; i++) {
				if(txn->br[i].gw >= 0)
					gwf_gw_flight_drop(txn->br[i].gw, &txn->fl[i]);
				if(txn->br[i].gw >= 0 && txn->br[i].trial != 0
						&& gwf_claim(&txn->br[i].done))
					gwf_gw_neutral(txn->br[i].gw, txn->br[i].trial);
			}
			break;
	}
}
