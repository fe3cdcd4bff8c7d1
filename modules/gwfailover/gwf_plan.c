/*
 * gwfailover - what a failed attempt leads to: limits, delay, ejection time.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "gwf_plan.h"

const char *gwf_end_name(gwf_end_t e)
{
	switch(e) {
		case GWF_END_STOP:
			return "stop rule";
		case GWF_END_ATTEMPTS:
			return "attempt limit";
		case GWF_END_BUDGET:
			return "time budget";
		case GWF_END_GATEWAYS:
			return "no healthy gateway";
		default:
			return NULL;
	}
}

uint32_t gwf_plan_branches_needed(uint32_t max_attempts)
{
	return max_attempts == 0 ? 0 : 1 + 2 * (max_attempts - 1);
}

uint32_t gwf_plan_budget_left(
		const gwf_plan_cfg_t *cfg, const gwf_call_t *call, uint64_t now_ms)
{
	uint64_t used;

	if(cfg->time_budget_ms == 0)
		return UINT32_MAX;
	/* a clock read before start_ms (another process's) counts as 0 used */
	used = now_ms > call->start_ms ? now_ms - call->start_ms : 0;
	return used >= cfg->time_budget_ms ? 0
									   : (uint32_t)(cfg->time_budget_ms - used);
}

uint32_t gwf_plan_eject_ms(
		const gwf_plan_cfg_t *cfg, int retry_after_s, uint32_t default_ms)
{
	uint32_t s;

	if(retry_after_s < 0)
		return default_ms;
	s = (uint32_t)retry_after_s;
	if(s < cfg->retry_after_min_s)
		s = cfg->retry_after_min_s;
	if(s > cfg->retry_after_max_s)
		s = cfg->retry_after_max_s;
	return s * 1000u;
}

static gwf_plan_t gwf_plan_end(gwf_end_t end)
{
	gwf_plan_t p;

	p.end = end;
	p.delay_ms = 0;
	return p;
}

gwf_plan_t gwf_plan_next(const gwf_plan_cfg_t *cfg, const gwf_call_t *call,
		gwf_action_t action, uint32_t branches, uint64_t now_ms, uint32_t r32,
		int (*has_next)(void *arg), void *arg)
{
	uint32_t left, need;
	gwf_plan_t p;

	if(action == GWF_ACT_STOP)
		return gwf_plan_end(GWF_END_STOP);
	/* Decided before looking for a gateway, so the caller is not kept
	 * waiting for nothing. */
	if(call->attempts >= cfg->max_attempts)
		return gwf_plan_end(GWF_END_ATTEMPTS);
	left = call->rescue ? UINT32_MAX : gwf_plan_budget_left(cfg, call, now_ms);
	if(left < GWF_PLAN_MIN_ATTEMPT_MS)
		return gwf_plan_end(GWF_END_BUDGET);
	if(has_next != NULL && !has_next(arg))
		return gwf_plan_end(GWF_END_GATEWAYS);

	/* attempts is at least 1 after a failed forward; 0 (a call whose
	 * forward was never seen) must not wrap to the longest delay */
	p.end = GWF_END_NONE;
	p.delay_ms = gwf_backoff_ms(&cfg->backoff,
			call->attempts > 0 ? call->attempts - 1u : 0u, call->prev_delay_ms,
			r32);
	if(left != UINT32_MAX
			&& (uint64_t)p.delay_ms + GWF_PLAN_MIN_ATTEMPT_MS > left)
		return gwf_plan_end(GWF_END_BUDGET);
	/* A delay suspends the call, which costs a blind branch. */
	need = p.delay_ms > 0 ? 2 : 1;
	if(branches + need > cfg->max_branches)
		return gwf_plan_end(GWF_END_ATTEMPTS);
	return p;
}
