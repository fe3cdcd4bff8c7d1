/*
 * gwfailover - what a failed attempt leads to: another attempt (after which
 * delay) or the end of the call, given the call's history and the limits.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#ifndef GWF_PLAN_H
#define GWF_PLAN_H

#include "gwf_backoff.h"
#include "gwf_types.h"

/* Below this much time left in the budget, a new attempt is pointless. */
#define GWF_PLAN_MIN_ATTEMPT_MS 100

/* Why a call gets no further attempt (for $gwf(reason) and statistics). */
typedef enum gwf_end
{
	GWF_END_NONE = 0,
	GWF_END_STOP,	  /* a 'stop' rule */
	GWF_END_ATTEMPTS, /* max_attempts or core max_branches */
	GWF_END_BUDGET,	  /* time_budget_ms */
	GWF_END_GATEWAYS  /* no healthy gateway left */
} gwf_end_t;

typedef struct gwf_plan_cfg
{
	gwf_backoff_cfg_t backoff;
	uint32_t max_attempts;		/* forwards per call, the first included */
	uint32_t time_budget_ms;	/* from the first INVITE; 0: unlimited */
	uint32_t retry_after_min_s; /* clamp of Retry-After ejections */
	uint32_t retry_after_max_s;
	uint32_t max_branches; /* tm branches a transaction may have */
} gwf_plan_cfg_t;

/* One call so far. */
typedef struct gwf_call
{
	uint64_t start_ms;		/* its first INVITE (monotonic ms) */
	uint32_t attempts;		/* forwards to gateways so far */
	uint32_t prev_delay_ms; /* delay before the last re-forward */
	uint8_t rescue;			/* the failure being decided is a rescue from
							 * an ejected gateway (see gwf_plan_next) */
} gwf_call_t;

/* The decision on a failed attempt. */
typedef struct gwf_plan
{
	gwf_end_t end;	   /* NONE: forward again after delay_ms */
	uint32_t delay_ms; /* valid when end is NONE */
} gwf_plan_t;

/* Name of <e> for $gwf(reason): "attempt limit", ...; NULL for NONE. */
const char *gwf_end_name(gwf_end_t e);

/* Branches a call may need with <max_attempts>: the first forward, then a
 * blind branch (the suspension of a delay) and a forward per later
 * attempt. */
uint32_t gwf_plan_branches_needed(uint32_t max_attempts);

/* Budget left for <call> at <now_ms>; UINT32_MAX when there is no budget. */
uint32_t gwf_plan_budget_left(
		const gwf_plan_cfg_t *cfg, const gwf_call_t *call, uint64_t now_ms);

/* How long a gateway is ejected by a failure whose Retry-After is
 * <retry_after_s> (clamped to retry_after_min_s..max_s), or <default_ms>
 * when it has none (<retry_after_s> < 0). */
uint32_t gwf_plan_eject_ms(
		const gwf_plan_cfg_t *cfg, int retry_after_s, uint32_t default_ms);

/* What to do after a failure classified <action> of <call>, which has used
 * <branches> tm branches, at <now_ms>. In order: a 'stop' rule ends it;
 * then the attempt limit and the time budget; then <has_next>(<arg>) (is a
 * usable gateway left? asked only when needed); then the delay, drawn
 * from <r32>, must fit in the budget and the branches. The caller stores
 * the delay as the call's prev_delay_ms when it forwards.
 * A rescue (call->rescue) is not held to the time budget: the call was
 * taken off an ejected gateway that would otherwise have kept it for its
 * whole fr_timer, and it must still get its failover. The attempt limit
 * and the branches still apply. */
gwf_plan_t gwf_plan_next(const gwf_plan_cfg_t *cfg, const gwf_call_t *call,
		gwf_action_t action, uint32_t branches, uint64_t now_ms, uint32_t r32,
		int (*has_next)(void *arg), void *arg);

#endif
