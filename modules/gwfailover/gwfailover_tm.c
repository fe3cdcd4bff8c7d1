/*
 * gwfailover - the failover path: failure_route entry, delayed re-forward
 * through tm suspend/continue, and the resume process.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"
#include "core/globals.h"
#include "core/locking.h"
#include "core/mem/shm_mem.h"
#include "core/pt.h"
#include "core/rand/kam_rand.h"
#include "core/receive.h"
#include "core/route.h"
#include "core/route_struct.h"
#include "core/sr_module.h"
#include "core/timer.h"
#include "core/timer_proc.h"
#include "modules/tm/tm_load.h"

#include "gwf_claim.h"
#include "gwf_sipmsg.h"
#include "gwfailover.h"
#include "gwfailover_announce.h"
#include "gwfailover_ds.h"
#include "gwfailover_event.h"
#include "gwfailover_gw.h"
#include "gwfailover_rescue.h"
#include "gwfailover_stats.h"
#include "gwfailover_state.h"
#include "gwfailover_tm.h"
#include "gwfailover_txn.h"
#include "gwfailover_wake.h"

/* How much longer than the delay the suspended transaction's blind branch
 * may live: its fr_timer must not fire before the resume process runs. */
#define GWF_BLIND_MARGIN_MS 5000

/* One suspended call waiting for its delay. */
typedef struct gwf_qitem
{
	unsigned int tindex; /* (hash index, label): the only safe handle on a */
	unsigned int tlabel; /* transaction across processes and time */
	uint64_t due_ms;
	int fr_idx;			   /* failure route to re-arm */
	unsigned int fr_ticks; /* fr_timer to restore after the blind branch */
	gwf_action_t action;   /* FAILOVER or RETRY */
	int rescue;			   /* a rescue: not held to the time budget */
	int last_code;		   /* for the final reply if nothing is left */
	char last_reason[GWF_REASON_MAX];
	struct gwf_qitem *next; /* sorted by due_ms */
} gwf_qitem_t;

typedef struct gwf_queue
{
	gen_lock_t lock;
	gwf_qitem_t *head;
	unsigned len;
} gwf_queue_t;

static struct tm_binds _gwf_tmb;
static tm_xapi_t _gwf_xtmb;
static gwf_queue_t *_gwf_queue = NULL;
static struct action *_gwf_resume_act = NULL;
/* The item being resumed in this process: t_continue() runs gwf_resume()
 * synchronously, so a process-local pointer hands it over. */
static gwf_qitem_t *_gwf_resuming = NULL;
/* tm's remap_503_500: a locally sent "exhausted" reply follows it too. */
static int _gwf_remap_503 = 1;

/* tm's integer modparam <name> as set, or NULL if it has none by that
 * name. */
static int *gwf_tm_int_param(char *name)
{
	struct sr_module *tm_mod = find_module_by_name("tm");
	modparam_t ptype;

	return tm_mod ? find_param_export(tm_mod, name, PARAM_INT, &ptype) : NULL;
}

int gwf_tm_init(str *failover_cb)
{
	ksr_cmd_export_t *ce;
	int *remap, *fexec;

	if(load_tm_api(&_gwf_tmb) < 0 || tm_load_xapi(&_gwf_xtmb) < 0) {
		LM_ERR("cannot bind the tm API: load tm.so before gwfailover.so\n");
		return -1;
	}
	if(gwf_txn_init(&_gwf_tmb) < 0)
		return -1;
	gwf_rescue_init(&_gwf_tmb);
	if(gwf_announce_init(&_gwf_tmb, failover_cb) < 0)
		return -1;
	remap = gwf_tm_int_param("remap_503_500");
	if(remap != NULL)
		_gwf_remap_503 = *remap;
	/* With TCP or TLS, a gateway that refuses the connection fails the
	 * relay itself: without failure_exec_mode no failure_route runs and
	 * the caller gets tm's 477 or 500 (docs: transports). Not an error:
	 * UDP-only setups rarely see a send fail, and a config that works
	 * must not stop starting after an upgrade. */
	fexec = gwf_tm_int_param("failure_exec_mode");
	if(fexec != NULL && *fexec == 0 && (!tcp_disable || !tls_disable))
		LM_WARN("tm modparam 'failure_exec_mode' is 0 with TCP/TLS enabled:"
				" a call whose gateway refuses the connection (or cannot be"
				" reached at all) fails with tm's 477/500 before any"
				" failure_route runs, so gwfailover cannot move it; set"
				" modparam(\"tm\", \"failure_exec_mode\", 1)\n");
	_gwf_queue = shm_malloc(sizeof(*_gwf_queue));
	if(_gwf_queue == NULL) {
		SHM_MEM_ERROR_FMT("resume queue\n");
		return -1;
	}
	memset(_gwf_queue, 0, sizeof(*_gwf_queue));
	if(lock_init(&_gwf_queue->lock) == NULL) {
		LM_ERR("cannot init the resume queue lock\n");
		return -1;
	}
	if(gwf_wake_resume() == NULL
			|| gwf_stats_gauge("delayed_pending", gwf_tm_pending,
					   "calls waiting for their delay now")
					   < 0)
		return -1;
	/* t_continue() runs an action list: build one that calls our own
	 * internal export. Built before fork, so valid in every process, and
	 * independent of the script engine (native or KEMI). */
	ce = find_export_record("_gwf_resume", 0, 0);
	if(ce == NULL) {
		LM_CRIT("BUG: internal export _gwf_resume not found\n");
		return -1;
	}
	_gwf_resume_act = mk_action(MODULE0_T, 2, MODEXP_ST, ce, NUMBER_ST, 0);
	if(_gwf_resume_act == NULL) {
		LM_ERR("cannot build the resume action\n");
		return -1;
	}
	/* one process, with its cfg framework slot */
	if(register_basic_timers(1) < 0) {
		LM_ERR("cannot register the resume process\n");
		return -1;
	}
	return 0;
}

static void gwf_resume_loop(void);

int gwf_tm_child_init(int rank)
{
	int pid;

	if(rank != PROC_MAIN)
		return 0;
	/* PROC_TIMER: other modules' child_init runs as for a timer process;
	 * make_sock=1: the resume process relays SIP, so it needs its own
	 * send sockets. */
	pid = fork_process(PROC_TIMER, "gwfailover resume", 1);
	if(pid < 0) {
		LM_ERR("cannot fork the resume process\n");
		return -1;
	}
	if(pid == 0) {
		if(cfg_child_init() != 0)
			exit(-1);
		gwf_resume_loop(); /* never returns */
		exit(0);
	}
	return 0;
}

void gwf_tm_destroy(void)
{
	gwf_qitem_t *it;

	if(_gwf_queue == NULL)
		return;
	while((it = _gwf_queue->head) != NULL) {
		_gwf_queue->head = it->next;
		shm_free(it);
	}
	shm_free(_gwf_queue);
	_gwf_queue = NULL;
	gwf_wake_resume_destroy();
}

gwf_txn_t *gwf_tm_current_txn(void)
{
	struct cell *t = _gwf_tmb.t_gett();

	if(t == NULL || t == T_UNDEFINED)
		return NULL;
	return gwf_txn_get(t);
}

unsigned gwf_tm_pending(void)
{
	return _gwf_queue != NULL ? _gwf_queue->len : 0;
}

static void gwf_queue_push(gwf_qitem_t *it)
{
	gwf_qitem_t **pp;
	int first;

	lock_get(&_gwf_queue->lock);
	for(pp = &_gwf_queue->head; *pp != NULL && (*pp)->due_ms <= it->due_ms;
			pp = &(*pp)->next)
		;
	it->next = *pp;
	*pp = it;
	_gwf_queue->len++;
	first = pp == &_gwf_queue->head;
	lock_release(&_gwf_queue->lock);
	/* A new head is due before whatever the resume process sleeps for;
	 * any other item is due after the head, which it already waits for. */
	if(first)
		gwf_wake_signal(gwf_wake_resume());
}

/* When the head of the queue is due; UINT64_MAX if the queue is empty. */
static uint64_t gwf_queue_next_due(void)
{
	uint64_t due = UINT64_MAX;

	lock_get(&_gwf_queue->lock);
	if(_gwf_queue->head != NULL)
		due = _gwf_queue->head->due_ms;
	lock_release(&_gwf_queue->lock);
	return due;
}

static gwf_qitem_t *gwf_queue_pop_due(uint64_t now_ms)
{
	gwf_qitem_t *it;

	lock_get(&_gwf_queue->lock);
	it = _gwf_queue->head;
	if(it != NULL && it->due_ms <= now_ms) {
		_gwf_queue->head = it->next;
		_gwf_queue->len--;
	} else {
		it = NULL;
	}
	lock_release(&_gwf_queue->lock);
	return it;
}

/* ---- choosing and forwarding the next attempt ---- */

/* The least fr_timer of the attempt after a rescue: silence_ms (the
 * longest any gateway may take to answer at all), or GWF_RESCUE_FR_MS
 * with silence detection off. */
#define GWF_RESCUE_FR_MS 1000
static uint32_t gwf_rescue_fr_ms(void)
{
	return _gwf_cfg.silence.ms != 0 ? _gwf_cfg.silence.ms : GWF_RESCUE_FR_MS;
}

/* Is some destination after the current head usable now? Checked before
 * suspending, so a call with nowhere to go fails at once. */
static int gwf_candidate_ok(int set, str *uri)
{
	int idx;

	if(!gwf_ds_is_active(set, uri))
		return 0;
	idx = gwf_gw_lookup(set, uri);
	return idx < 0 || gwf_gw_selectable(idx);
}

typedef struct gwf_has_next_arg
{
	gwf_action_t action;
	int set; /* the failed gateway: a retry may go to it again */
	str *uri;
} gwf_has_next_arg_t;

/* Point the call at the next usable destination and relay it.
 * <action> RETRY tries the current head first. Returns 1 relayed, -1
 * nothing usable left, -2 relay error. */
static int gwf_forward_next(
		sip_msg_t *msg, gwf_txn_t *txn, gwf_action_t action, int fr_idx)
{
	struct cell *t = _gwf_tmb.t_gett();
	uint32_t trial = 0, left;
	int set, idx = -1, found = 0, same = 0;
	str uri;

	if(action == GWF_ACT_RETRY && gwf_ds_head(&set, &uri) == 0) {
		idx = gwf_gw_lookup(set, &uri);
		if(gwf_ds_is_active(set, &uri)
				&& (idx < 0 || gwf_gw_acquire(idx, &trial))) {
			found = same = gwf_ds_use_head(msg) == 0;
			if(!found && idx >= 0)
				gwf_gw_neutral(idx, trial);
		}
	}
	while(!found) {
		if(gwf_ds_next(msg) < 0 || gwf_ds_head(&set, &uri) < 0)
			return -1;
		if(!gwf_ds_is_active(set, &uri)) {
			LM_DBG("skipping %.*s: inactive in dispatcher\n", uri.len, uri.s);
			continue;
		}
		idx = gwf_gw_lookup(set, &uri);
		if(idx >= 0 && !gwf_gw_acquire(idx, &trial)) {
			LM_DBG("skipping %.*s: breaker open\n", uri.len, uri.s);
			continue;
		}
		found = 1;
	}

	/* A silent gateway must not outlive the budget: cap the new branch's
	 * fr_timer (not fr_inv_timer: once it rings, the budget is met). */
	left = gwf_plan_budget_left(&_gwf_cfg.plan, &txn->call, gwf_now_ms());
	/* a rescue goes on past the budget: give the new gateway the time a
	 * live one needs to say anything (its first reply stops fr_timer) */
	if(txn->call.rescue && left < gwf_rescue_fr_ms())
		left = gwf_rescue_fr_ms();
	if(left != UINT32_MAX && t != NULL && t != T_UNDEFINED
			&& left < TICKS_TO_MS(t->fr_timeout))
		_gwf_tmb.set_fr(msg, 0, left);

	gwf_txn_set_pending(idx, trial);
	_gwf_xtmb.t_on_failure((unsigned int)fr_idx);
	if(_gwf_tmb.t_relay(msg, 0, 0) < 0) {
		/* If tm built the branch before failing to send it, the branch
		 * holds the trial slot and TMCB_DESTROY returns it. */
		if(gwf_txn_clear_pending() && idx >= 0)
			gwf_gw_neutral(idx, trial);
		LM_ERR("relaying to %.*s failed\n", uri.len, uri.s);
		gwf_stat_inc(GWF_ST_ERRORS);
		return -2;
	}
	gwf_stat_inc(same ? GWF_ST_RETRIES : GWF_ST_FAILOVERS);
	return 1;
}

/* Final reply when nothing is left after a delay: tm cannot relay the
 * gateway's reply any more, so generate its code (503 as 500, RFC 3261
 * 16.7, when tm's remap_503_500 is on) unless exhausted_code says
 * otherwise. */
static void gwf_reply_exhausted(sip_msg_t *msg, int code, char *reason)
{
	if(_gwf_cfg.exhausted_code != 0) {
		code = _gwf_cfg.exhausted_code;
		reason = (char *)_gwf_cfg.exhausted_reason;
	} else if((code == 503 && _gwf_remap_503) || code < 300
			  || !gwf_cls_relayable(code)) {
		code = 500;
		reason = (char *)_gwf_cfg.exhausted_reason;
	}
	if(_gwf_tmb.t_reply(msg, (unsigned int)code, reason) < 0)
		LM_ERR("cannot send the final %d reply\n", code);
}

/* Would tm relay a final reply no caller can use (a code beyond 699, see
 * gwf_cls_relayable())? When the failure route ends without a reply or a
 * new branch, tm relays the reply of the branch it picked as the best
 * (t_pick_branch(), whose pick the failure route runs for). It ranks
 * such codes below the other replies, yet the soak saw it pick a 999 over
 * the 487 it faked for a rescued branch: its pick is the one to ask. */
static int gwf_picked_unrelayable(struct cell *t)
{
	int b = _gwf_tmb.t_get_picked_branch();

	return b >= 0 && b < (int)t->nr_of_outgoings
		   && t->uac[b].last_received >= 200
		   && !gwf_cls_relayable((int)t->uac[b].last_received);
}

/* ---- failure_route entry ---- */

/* The branch whose failure runs this failure_route: the newest branch with
 * a final reply that is not a blind (suspend) branch. Not tm's picked
 * branch: that is the best reply of all branches, which after a failover
 * may be an earlier gateway's (a local 408 outranks a 5xx; equal replies go
 * to the lowest index). Returns -1 if there is none. */
static int gwf_failed_branch(struct cell *t)
{
	int b;

	for(b = (int)t->nr_of_outgoings - 1; b >= 0; b--) {
		if(t->uac[b].flags & TM_UAC_FLAG_BLIND)
			continue;
		if(t->uac[b].last_received >= 300)
			return b;
	}
	return -1;
}

/* Counters of a classified failure. */
static void gwf_count_failure(const gwf_failure_t *f, gwf_verdict_t v)
{
	static const gwf_stat_t by_action[] = {GWF_ST_FAILURES_FAILOVER,
			GWF_ST_FAILURES_RETRY, GWF_ST_FAILURES_STOP};
	static const gwf_stat_t by_health[] = {GWF_ST_FAILURES_COUNTED,
			GWF_ST_FAILURES_IGNORED, GWF_ST_FAILURES_EJECT};

	gwf_stat_inc(by_action[v.action]);
	gwf_stat_inc(by_health[v.health]);
	if(f->local_timeout && !f->rang) /* not a ring-no-answer */
		gwf_stat_inc(GWF_ST_LOCAL_TIMEOUTS);
}

/* The call gets no further attempt because of <end>: remember and count. */
static void gwf_end_call(gwf_txn_t *txn, gwf_end_t end)
{
	txn->last.end = (int8_t)end;
	switch(end) {
		case GWF_END_ATTEMPTS:
			gwf_stat_inc(GWF_ST_EXHAUSTED_ATTEMPTS);
			break;
		case GWF_END_BUDGET:
			gwf_stat_inc(GWF_ST_EXHAUSTED_BUDGET);
			break;
		case GWF_END_GATEWAYS:
			gwf_stat_inc(GWF_ST_EXHAUSTED_GATEWAYS);
			break;
		default:
			break;
	}
}

/* Is some destination after the current head usable now? */
static int gwf_has_next(void *arg)
{
	gwf_has_next_arg_t *a = (gwf_has_next_arg_t *)arg;

	if(a->action == GWF_ACT_RETRY && gwf_candidate_ok(a->set, a->uri))
		return 1;
	return gwf_ds_any_after_head(gwf_candidate_ok);
}

/* What failed on branch <b> of <t>, read from tm's branch and ours. */
static void gwf_read_failure(
		struct cell *t, gwf_txn_t *txn, int b, gwf_failure_t *f, str *reason)
{
	struct ua_client *uac = &t->uac[b];

	f->code = (int)uac->last_received;
	f->local_timeout = (uac->reply == FAKED_REPLY && f->code == 408);
	f->rang = (b < GWF_TXN_MAX_BRANCHES && gwf_claimed(&txn->br[b].rang));
	/* tm's mark of a request it could not send at all (t_fwd.c: with
	 * failure_exec_mode 1 it keeps the branch until its fr_timer, or until
	 * the rescue that its ejection (gwf_txn_unsent()) started ends it) */
	f->unsent = uac->icode == GWF_TM_ICODE_UNSENT && uac->reply == FAKED_REPLY;
	f->retry_after_s = -1;
	reason->s = NULL;
	reason->len = 0;
	if(uac->reply != NULL && uac->reply != FAKED_REPLY) {
		f->retry_after_s =
				gwf_sip_retry_after(uac->reply->buf, uac->reply->len);
		*reason = uac->reply->first_line.u.reply.reason;
	}
}

/* Suspend the call for <delay> ms; the resume process re-forwards it.
 * Returns GWF_RC_SUSPENDED, GWF_RC_CANCELED or GWF_RC_ERROR. */
static int gwf_suspend(sip_msg_t *msg, struct cell *t, gwf_txn_t *txn,
		const gwf_failure_t *f, gwf_action_t action, const str *reason,
		uint32_t delay, int fr_idx)
{
	unsigned int ti, tl, fr_ticks;
	gwf_qitem_t *it;
	int rc;

	it = shm_malloc(sizeof(*it));
	if(it == NULL) {
		SHM_MEM_ERROR_FMT("resume item\n");
		return GWF_RC_ERROR;
	}
	memset(it, 0, sizeof(*it));
	it->due_ms = gwf_now_ms() + delay;
	it->fr_idx = fr_idx;
	it->action = action;
	it->rescue = txn->call.rescue;
	it->last_code = f->code;
	if(txn->call.rescue) {
		/* not the 487 that ended the rescued branch: what its fr_timer
		 * would have given, should nothing be left after the delay */
		it->last_code = 408;
		snprintf(it->last_reason, sizeof(it->last_reason), "Request Timeout");
	} else if(reason->len > 0)
		snprintf(it->last_reason, sizeof(it->last_reason), "%.*s",
				reason->len < GWF_REASON_MAX ? reason->len : GWF_REASON_MAX - 1,
				reason->s);
	else
		snprintf(it->last_reason, sizeof(it->last_reason), "%s",
				f->local_timeout ? "Request Timeout" : "Gateway Failure");
	/* The blind branch t_suspend() adds times out after fr_timer: make it
	 * outlive the delay, and restore fr_timer on resume. */
	fr_ticks = t->fr_timeout;
	it->fr_ticks = fr_ticks;
	_gwf_tmb.set_fr(msg, 0, delay + GWF_BLIND_MARGIN_MS);
	/* before suspending: a CANCEL may come in the moment after */
	gwf_claim_store(&txn->suspended, 1);
	rc = _gwf_tmb.t_suspend(msg, &ti, &tl);
	if(rc != 0) {
		/* 1: cancelled meanwhile; <0: already replied or error */
		gwf_claim_store(&txn->suspended, 0);
		t->fr_timeout = fr_ticks;
		shm_free(it);
		if(rc == 1)
			return GWF_RC_CANCELED;
		LM_ERR("[%u:%u] cannot suspend the transaction (%d)\n", t->hash_index,
				t->label, rc);
		return GWF_RC_ERROR;
	}
	it->tindex = ti;
	it->tlabel = tl;
	gwf_queue_push(it);
	LM_DBG("[%u:%u] re-forward in %u ms\n", ti, tl, delay);
	return GWF_RC_SUSPENDED;
}

static int gwf_failover_run(sip_msg_t *msg)
{
	struct cell *t;
	gwf_txn_t *txn;
	gwf_failure_t f;
	gwf_verdict_t v;
	gwf_plan_t plan;
	gwf_has_next_arg_t hn;
	uint32_t trial;
	int b, set, idx, bgw, rc, rescued;
	str uri, reason;

	if(!is_route_type(FAILURE_ROUTE)) {
		LM_ERR("gwf_failover() must be called from failure_route\n");
		return GWF_RC_ERROR;
	}
	t = _gwf_tmb.t_gett();
	if(t == NULL || t == T_UNDEFINED) {
		LM_ERR("gwf_failover(): no transaction\n");
		return GWF_RC_ERROR;
	}
	if(t->flags & T_CANCELED)
		return GWF_RC_CANCELED;
	b = gwf_failed_branch(t);
	if(b < 0) {
		LM_ERR("[%u:%u] gwf_failover(): no failed branch\n", t->hash_index,
				t->label);
		return GWF_RC_ERROR;
	}
	txn = gwf_txn_get(t);
	if(txn == NULL) {
		LM_ERR("[%u:%u] gwf_failover(): not an INVITE transaction\n",
				t->hash_index, t->label);
		return GWF_RC_ERROR;
	}
	if(gwf_ds_head(&set, &uri) < 0) {
		LM_ERR("[%u:%u] gwf_failover(): no dispatcher destination: the"
			   " request did not go through ds_select_dst()\n",
				t->hash_index, t->label);
		return GWF_RC_ERROR;
	}

	/* What failed, how, and what the rules make of it. A branch the
	 * module rescued from an ejected gateway is failed over whatever its
	 * (locally made) reply says, and is no new fault of the gateway. */
	gwf_read_failure(t, txn, b, &f, &reason);
	/* (a rescue ends the branch with 487, tm's own or the gateway's
	 * answer to a CANCEL; any other reply that won the race is judged by
	 * the rules) */
	rescued = b < GWF_TXN_MAX_BRANCHES && gwf_txn_rescued(txn, b)
			  && f.code == 487;
	if(rescued) {
		v.action = GWF_ACT_FAILOVER;
		v.health = GWF_HEALTH_IGNORE;
		v.rule = -1;
	} else {
		v = gwf_cls_classify(&_gwf_cfg.cls, &f);
		gwf_count_failure(&f, v);
	}

	/* The branch map names the gateway exactly; the xavp head is the same
	 * gateway unless the script moved it. */
	bgw = (b < GWF_TXN_MAX_BRANCHES) ? gwf_txn_branch_gw(txn, b, &trial) : -1;
	idx = bgw >= 0 ? bgw : gwf_gw_lookup(set, &uri);
	/* The branch is over: no longer in flight to its gateway (else it
	 * would leave the list only when tm frees the transaction; a heard
	 * one leaves with the next sweep) */
	if(bgw >= 0 && !gwf_txn_heard(txn, b))
		gwf_gw_flight_drop(bgw, &txn->fl[b]);
	/* No reply at all before fr_timer: the gateway's learnt silence
	 * timeout backs off (a rescue backed it off when it ejected). */
	if(idx >= 0 && !rescued && f.local_timeout
			&& !gwf_txn_heard(txn, b < GWF_TXN_MAX_BRANCHES ? b : 0))
		gwf_gw_rtt_backoff(idx);
	/* a rescue ends on tm's 487: what it stands for is the 408 that
	 * fr_timer would have given */
	txn->last.code = rescued ? 408 : f.code;
	txn->last.action = (int8_t)v.action;
	txn->last.health = (int8_t)v.health;
	txn->last.rule = (int16_t)v.rule;
	txn->last.gw = idx;
	txn->last.delay = -1;
	txn->last.end = GWF_END_NONE;
	txn->last.failed_by = (int8_t)(rescued	  ? GWF_FAILED_BY_RESCUE
								   : f.unsent ? GWF_FAILED_BY_UNREACHABLE
								   : !f.local_timeout ? GWF_FAILED_BY_REPLY
								   : f.rang			  ? GWF_FAILED_BY_NOANSWER
													  : GWF_FAILED_BY_TIMEOUT);
	/* A 2xx of the same branch may be credited at this very moment (its
	 * callback runs before the reply lock): the outcome goes to whichever
	 * claims the branch first. */
	if(rescued) {
		/* only a trial slot to give back */
		if(idx >= 0 && trial != 0 && gwf_claim(&txn->br[b].done))
			gwf_gw_neutral(idx, trial);
	} else if(idx >= 0
			  && (b >= GWF_TXN_MAX_BRANCHES || gwf_claim(&txn->br[b].done)))
		gwf_gw_failure(idx, trial, &f, v.health,
				gwf_plan_eject_ms(
						&_gwf_cfg.plan, f.retry_after_s, _gwf_cfg.brk.open_ms));
	LM_DBG("[%u:%u] %.*s failed with %d%s: %s, %s (attempt %u)\n",
			t->hash_index, t->label, uri.len, uri.s, f.code,
			f.local_timeout ? " (local timeout)" : "",
			gwf_action_name(v.action), gwf_health_name(v.health),
			txn->call.attempts);

	hn.action = v.action;
	hn.set = set;
	hn.uri = &uri;
	txn->call.rescue = (uint8_t)rescued;
	plan = gwf_plan_next(&_gwf_cfg.plan, &txn->call, v.action,
			t->nr_of_outgoings, gwf_now_ms(),
			(uint32_t)kam_rand() ^ ((uint32_t)kam_rand() << 16), gwf_has_next,
			&hn);
	if(plan.end == GWF_END_STOP) {
		gwf_end_call(txn, GWF_END_STOP);
		/* (a stop rule for the code an invalid one is classified as) */
		if(gwf_picked_unrelayable(t))
			gwf_reply_exhausted(msg, 500, "Server Internal Error");
		return GWF_RC_STOP;
	}
	if(plan.end != GWF_END_NONE) {
		LM_INFO("[%u:%u] no further attempt: %s\n", t->hash_index, t->label,
				gwf_end_name(plan.end));
		goto exhausted;
	}
	txn->call.prev_delay_ms = plan.delay_ms;
	txn->last.delay = (int32_t)plan.delay_ms;
	/* the caller is told before the wait or the next gateway's setup */
	if(gwf_announce(msg, t, txn) < 0) {
		txn->call.rescue = 0;
		gwf_end_call(txn, GWF_END_STOP);
		return GWF_RC_STOP;
	}

	if(plan.delay_ms > 0) {
		rc = gwf_suspend(msg, t, txn, &f, v.action, &reason, plan.delay_ms,
				(int)t->uac[b].on_failure);
		txn->call.rescue = 0;
		return rc;
	}
	rc = gwf_forward_next(msg, txn, v.action, (int)t->uac[b].on_failure);
	txn->call.rescue = 0;
	if(rc > 0)
		return GWF_RC_FORWARDED;
	/* -2, a send error, is counted where it happened */
	plan.end = rc == -1 ? GWF_END_GATEWAYS : GWF_END_NONE;

exhausted:
	txn->call.rescue = 0;
	gwf_end_call(txn, plan.end);
	/* Returning lets tm relay the gateway's failure upstream, unless
	 * exhausted_code says what to send. A rescued branch's failure is
	 * tm's 487, which would tell the caller it cancelled: the caller gets
	 * the 408 that fr_timer would have given instead. */
	if(_gwf_cfg.exhausted_code != 0 || rescued)
		gwf_reply_exhausted(msg, 408, "Request Timeout");
	else if(gwf_picked_unrelayable(t))
		gwf_reply_exhausted(msg, 500, "Server Internal Error");
	return GWF_RC_EXHAUSTED;
}

int gwf_failover(sip_msg_t *msg)
{
	int rc = gwf_failover_run(msg);

	if(rc == GWF_RC_ERROR)
		gwf_stat_inc(GWF_ST_ERRORS);
	return rc;
}

/* ---- resume process ---- */

int gwf_resume(sip_msg_t *msg)
{
	gwf_qitem_t *it = _gwf_resuming;
	struct cell *t;
	gwf_txn_t *txn;
	int rc;

	if(it == NULL) {
		LM_ERR("_gwf_resume() is internal to gwfailover\n");
		return -1;
	}
	t = _gwf_tmb.t_gett();
	if(t == NULL || t == T_UNDEFINED) {
		LM_CRIT("BUG: resumed without a transaction\n");
		return -1;
	}
	t->fr_timeout = it->fr_ticks;
	txn = gwf_txn_get(t);
	if(txn == NULL) {
		LM_CRIT("BUG: [%u:%u] resumed transaction is not tracked\n",
				t->hash_index, t->label);
		gwf_stat_inc(GWF_ST_ERRORS);
		gwf_reply_exhausted(msg, 500, "Server Internal Error");
		return 0;
	}
	/* A CANCEL's callback may have claimed the call a moment before tm
	 * marks the transaction cancelled (t_continue() checked that mark
	 * already): then the caller is answered 487 and nothing more goes to a
	 * gateway, which could ring a callee nobody can hang up on. */
	if(!gwf_unclaim(&txn->suspended)) {
		LM_DBG("[%u:%u] cancelled during its delay\n", t->hash_index, t->label);
		if(_gwf_tmb.t_reply(msg, 487, "Request Terminated") < 0)
			LM_DBG("[%u:%u] 487 not sent: replied already\n", t->hash_index,
					t->label);
		return 0;
	}
	if(!it->rescue
			&& gwf_plan_budget_left(&_gwf_cfg.plan, &txn->call, gwf_now_ms())
					   < GWF_PLAN_MIN_ATTEMPT_MS) {
		LM_INFO("[%u:%u] no further attempt: time budget\n", t->hash_index,
				t->label);
		gwf_end_call(txn, GWF_END_BUDGET);
		gwf_reply_exhausted(msg, it->last_code, it->last_reason);
		return 0;
	}
	txn->call.rescue = (uint8_t)it->rescue;
	rc = gwf_forward_next(msg, txn, it->action, it->fr_idx);
	txn->call.rescue = 0;
	if(rc > 0)
		gwf_stat_inc(GWF_ST_DELAYED);
	if(rc < 0) {
		if(rc == -1) {
			LM_INFO("[%u:%u] no healthy gateway left after the delay\n",
					t->hash_index, t->label);
			gwf_end_call(txn, GWF_END_GATEWAYS);
		}
		gwf_reply_exhausted(msg, rc == -1 ? it->last_code : 500,
				rc == -1 ? it->last_reason : "Server Internal Error");
	}
	return 0;
}

/* One round of the resume process: the due calls, the gateway deadlines,
 * the queued events. Returns when the next call or gateway deadline is
 * due; new work due earlier wakes the process. */
static uint64_t gwf_resume_round(uint64_t now, void *arg)
{
	gwf_qitem_t *it;
	uint64_t next, t;
	int rc;

	while((it = gwf_queue_pop_due(now)) != NULL) {
		_gwf_resuming = it;
		rc = _gwf_tmb.t_continue(it->tindex, it->tlabel, _gwf_resume_act);
		_gwf_resuming = NULL;
		ksr_msg_env_reset();
		if(rc < 0 || rc == 1)
			LM_DBG("[%u:%u] not resumed (%d): cancelled or timed out\n",
					it->tindex, it->tlabel, rc);
		shm_free(it);
	}
	gwf_gw_timer(now);
	gwf_state_tick(now);
	/* after the timer: its silence checks may have ejected a gateway */
	gwf_rescue_run();
	gwf_event_run();
	next = gwf_queue_next_due();
	t = gwf_gw_next_due();
	return t < next ? t : next;
}

static void gwf_resume_loop(void)
{
	gwf_wake_loop(gwf_wake_resume(), gwf_resume_round, NULL, NULL);
}
