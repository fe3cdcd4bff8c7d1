/*
 * gwfailover - the $gwf(key) pseudo-variable.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include <strings.h>

#include "core/dprint.h"

#include "gwfailover.h"
#include "gwfailover_event.h"
#include "gwfailover_gw.h"
#include "gwfailover_pv.h"
#include "gwfailover_tm.h"
#include "gwfailover_txn.h"

typedef enum gwf_pv_key
{
	GWF_PV_ATTEMPT = 0,
	GWF_PV_CODE,
	GWF_PV_ACTION,
	GWF_PV_HEALTH,
	GWF_PV_RULE,
	GWF_PV_DELAY,
	GWF_PV_GW,
	GWF_PV_SET,
	GWF_PV_REASON,
	GWF_PV_EVENT,
	GWF_PV_EJECT_MULT,
	GWF_PV_FAILURE
} gwf_pv_key_t;

static const char *_gwf_pv_keys[] = {"attempt", "code", "action", "health",
		"rule", "delay", "gw", "set", "reason", "event", "eject_multiplier",
		"failure"};

int gwf_pv_parse_name(pv_spec_t *sp, str *in)
{
	unsigned i;

	if(sp == NULL || in == NULL || in->len <= 0)
		return -1;
	for(i = 0; i < sizeof(_gwf_pv_keys) / sizeof(_gwf_pv_keys[0]); i++) {
		if(strlen(_gwf_pv_keys[i]) == (size_t)in->len
				&& strncasecmp(_gwf_pv_keys[i], in->s, in->len) == 0) {
			sp->pvp.pvn.type = PV_NAME_INTSTR;
			sp->pvp.pvn.u.isname.type = 0;
			sp->pvp.pvn.u.isname.name.n = (int)i;
			return 0;
		}
	}
	LM_ERR("unknown $gwf key '%.*s' (expected attempt, code, action, health,"
		   " rule, delay, gw, set, reason, event, eject_multiplier or "
		   "failure)\n",
			in->len, in->s);
	return -1;
}

/* $gwf(key) inside event_route[gwfailover:...]. */
static int gwf_pv_get_event(sip_msg_t *msg, pv_param_t *param, pv_value_t *res,
		const gwf_event_t *ev)
{
	switch(param->pvn.u.isname.name.n) {
		case GWF_PV_GW:
			return pv_get_strzval(msg, param, res, (char *)ev->uri);
		case GWF_PV_SET:
			return pv_get_sintval(msg, param, res, ev->set_id);
		case GWF_PV_REASON:
			return pv_get_strzval(msg, param, res, (char *)ev->reason);
		case GWF_PV_EVENT:
			return pv_get_strzval(
					msg, param, res, (char *)gwf_event_name(ev->kind));
		case GWF_PV_CODE:
			if(ev->code == 0)
				return pv_get_null(msg, param, res);
			return pv_get_sintval(msg, param, res, ev->code);
		case GWF_PV_EJECT_MULT:
			if(ev->uri[0] == '\0') /* a set event */
				return pv_get_null(msg, param, res);
			return pv_get_sintval(msg, param, res, (int)ev->eject_mult);
		default:
			return pv_get_null(msg, param, res);
	}
}

int gwf_pv_get(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	/* process-local buffers: the value is used before the next $gwf read */
	static char uri[GWF_URI_MAX + 1];
	static char rule[64];
	const gwf_event_t *ev;
	gwf_txn_t *txn;
	const char *s;
	gwf_gw_t gw;

	if(param == NULL)
		return -1;
	ev = gwf_event_current();
	if(ev != NULL)
		return gwf_pv_get_event(msg, param, res, ev);
	txn = gwf_tm_current_txn();
	if(txn == NULL)
		return pv_get_null(msg, param, res);
	if(param->pvn.u.isname.name.n == GWF_PV_ATTEMPT)
		return pv_get_sintval(msg, param, res, (int)txn->call.attempts);
	if(txn->last.code == 0) /* nothing decided yet */
		return pv_get_null(msg, param, res);

	switch(param->pvn.u.isname.name.n) {
		case GWF_PV_CODE:
			return pv_get_sintval(msg, param, res, txn->last.code);
		case GWF_PV_ACTION:
			return pv_get_strzval(msg, param, res,
					(char *)gwf_action_name((gwf_action_t)txn->last.action));
		case GWF_PV_HEALTH:
			return pv_get_strzval(msg, param, res,
					(char *)gwf_health_name((gwf_health_t)txn->last.health));
		case GWF_PV_RULE:
			rule[0] = '\0';
			if(txn->last.rule >= 0 && (unsigned)txn->last.rule < _gwf_cfg.cls.n)
				gwf_cls_rule_format(&_gwf_cfg.cls.rules[txn->last.rule], rule,
						sizeof(rule));
			return pv_get_strzval(msg, param, res, rule);
		case GWF_PV_DELAY:
			if(txn->last.delay < 0)
				return pv_get_null(msg, param, res);
			return pv_get_sintval(msg, param, res, txn->last.delay);
		case GWF_PV_GW:
		case GWF_PV_SET:
		case GWF_PV_EJECT_MULT:
			if(txn->last.gw < 0 || gwf_gw_snapshot(txn->last.gw, &gw) < 0)
				return pv_get_null(msg, param, res);
			if(param->pvn.u.isname.name.n == GWF_PV_SET)
				return pv_get_sintval(msg, param, res, gw.set_id);
			if(param->pvn.u.isname.name.n == GWF_PV_EJECT_MULT)
				return pv_get_sintval(msg, param, res, (int)gw.ej.mult);
			memcpy(uri, gw.uri, (size_t)gw.uri_len + 1);
			return pv_get_strzval(msg, param, res, uri);
		case GWF_PV_FAILURE:
			return pv_get_strzval(msg, param, res,
					(char *)gwf_failed_by_name(
							(gwf_failed_by_t)txn->last.failed_by));
		case GWF_PV_REASON:
			s = gwf_end_name((gwf_end_t)txn->last.end);
			if(s == NULL)
				return pv_get_null(msg, param, res);
			return pv_get_strzval(msg, param, res, (char *)s);
		default: /* event: only in event routes */
			return pv_get_null(msg, param, res);
	}
}
