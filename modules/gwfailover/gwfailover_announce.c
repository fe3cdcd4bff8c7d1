/*
 * gwfailover - what a caller is given while its call fails over.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Both run in the call's failure_route, under tm's reply lock, in the
 * process that handles the failure: a SIP worker, the timer process (a
 * local timeout) or the resume process (a rescue). The hook runs with the
 * route type left as it is (FAILURE_ROUTE), so what a script may do
 * there (t_reply() a 183 with SDP for an announcement, rtpengine, xlog) it
 * may do in the hook.
 *
 * The provisional reply goes out through tm's locking t_reply (its reply
 * lock is re-entrant), not the script's t_reply(): that one also marks the
 * transaction as answered by the script (T_ADMIN_REPLY), which changes
 * how tm ends unanswered branches on a CANCEL when cancel_b_method is 0.
 * A provisional of the module's own leaves the transaction as it was.
 */

#include "core/dprint.h"
#include "core/kemi.h"
#include "core/route.h"
#include "modules/tm/h_table.h"

#include "gwfailover.h"
#include "gwfailover_announce.h"
#include "gwfailover_stats.h"

#define GWF_ANNOUNCE_ROUTE "gwfailover:failover"

static struct tm_binds *_gwf_an_tmb = NULL;
static int _gwf_an_rt = -1; /* event_rt index; -1: none */
static str _gwf_an_cb = STR_NULL;

int gwf_announce_init(struct tm_binds *tmb, str *cbname)
{
	int rt;

	_gwf_an_tmb = tmb;
	if(cbname != NULL && cbname->s != NULL && cbname->len > 0) {
		if(sr_kemi_eng_get() == NULL) {
			LM_ERR("modparam 'failover_callback' (%.*s) needs a KEMI config"
				   " (cfgengine); native configs use"
				   " event_route[" GWF_ANNOUNCE_ROUTE "]\n",
					cbname->len, cbname->s);
			return -1;
		}
		_gwf_an_cb = *cbname;
		return 0;
	}
	rt = route_lookup(&event_rt, GWF_ANNOUNCE_ROUTE);
	if(rt >= 0 && event_rt.rlist[rt] != NULL)
		_gwf_an_rt = rt;
	return 0;
}

/* Run the hook for <msg>. */
static void gwf_announce_hook(sip_msg_t *msg)
{
	str evname = str_init(GWF_ANNOUNCE_ROUTE);
	sr_kemi_eng_t *keng;

	if(_gwf_an_cb.len > 0) {
		keng = sr_kemi_eng_get();
		if(keng != NULL
				&& sr_kemi_route(keng, msg, EVENT_ROUTE, &_gwf_an_cb, &evname)
						   < 0)
			LM_ERR("error running the failover callback %.*s\n", _gwf_an_cb.len,
					_gwf_an_cb.s);
	} else {
		run_top_route(event_rt.rlist[_gwf_an_rt], msg, 0);
	}
}

int gwf_announce(sip_msg_t *msg, struct cell *t, gwf_txn_t *txn)
{
	if(_gwf_an_rt >= 0 || _gwf_an_cb.len > 0) {
		gwf_announce_hook(msg);
		if(t->uas.status >= 200) {
			LM_INFO("[%u:%u] answered %u by the failover hook: no further"
					" attempt\n",
					t->hash_index, t->label, t->uas.status);
			return -1;
		}
	}
	/* once per call, and only where the caller has heard nothing yet: a
	 * gateway's 180/183 (or the hook's) already told it more */
	if(_gwf_cfg.progress.code == 0 || txn->progressed || t->uas.status > 100)
		return 0;
	txn->progressed = 1;
	if(_gwf_an_tmb->t_reply_trans(t, msg, (unsigned)_gwf_cfg.progress.code,
			   (char *)_gwf_cfg.progress.reason)
			< 0) {
		LM_ERR("[%u:%u] cannot send the progress reply %d\n", t->hash_index,
				t->label, _gwf_cfg.progress.code);
		return 0;
	}
	gwf_stat_inc(GWF_ST_PROGRESS_SENT);
	return 0;
}
