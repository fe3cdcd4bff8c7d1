/*
 * gwfailover - per-gateway circuit breaker state machine.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <string.h>

#include "gwf_breaker.h"

/* Deadlines saturate: a caller-chosen clock origin near UINT64_MAX must not
 * wrap a deadline into the past and reopen the gateway at once. */
static uint64_t gwf_deadline(uint64_t now_ms, uint32_t ms)
{
	return (now_ms > UINT64_MAX - ms) ? UINT64_MAX : now_ms + ms;
}

static void gwf_brk_to_open(gwf_brk_t *b, uint64_t until_ms, uint64_t now_ms)
{
	b->state = GWF_BRK_OPEN;
	b->open_until_ms = until_ms;
	b->trials_inflight = 0;
	b->trial_ok = 0;
	b->open_count++;
	b->since_ms = now_ms;
}

static void gwf_brk_to_closed(gwf_brk_t *b, uint64_t now_ms)
{
	b->state = GWF_BRK_CLOSED;
	b->consec_faults = 0;
	b->trials_inflight = 0;
	b->trial_ok = 0;
	b->open_until_ms = 0;
	b->since_ms = now_ms;
}

void gwf_brk_init(gwf_brk_t *b, uint64_t now_ms)
{
	memset(b, 0, sizeof(*b));
	b->state = GWF_BRK_CLOSED;
	b->since_ms = now_ms;
}

int gwf_brk_cfg_check(const gwf_brk_cfg_t *cfg, gwf_err_t *err)
{
	/* The messages name the field: the glue prints them alone. */
	if(cfg->fail_threshold < 1)
		return gwf_err_plain(err, "fail_threshold must be >= 1");
	if(cfg->trial_max < 1)
		return gwf_err_plain(err, "trial_max must be >= 1");
	if(cfg->trial_successes < 1)
		return gwf_err_plain(err, "trial_successes must be >= 1");
	return 0;
}

gwf_brk_trans_t gwf_brk_tick(gwf_brk_t *b, uint64_t now_ms)
{
	if(b->state != GWF_BRK_OPEN || b->open_until_ms > now_ms)
		return GWF_BRK_T_NONE;
	b->state = GWF_BRK_HALF_OPEN;
	/* Trial ids are epochs and 0 means "no trial": skip it on wrap. */
	b->epoch++;
	if(b->epoch == 0)
		b->epoch = 1;
	b->trials_inflight = 0;
	b->trial_ok = 0;
	b->since_ms = now_ms;
	return GWF_BRK_T_HALF_OPENED;
}

int gwf_brk_acquire(gwf_brk_t *b, const gwf_brk_cfg_t *cfg, uint64_t now_ms,
		uint32_t *trial, gwf_brk_trans_t *tr)
{
	gwf_brk_trans_t t = gwf_brk_tick(b, now_ms);
	int ok = 0;
	uint32_t id = 0;

	switch(b->state) {
		case GWF_BRK_CLOSED:
			ok = 1;
			break;
		case GWF_BRK_HALF_OPEN:
			if(b->trials_inflight < cfg->trial_max) {
				b->trials_inflight++;
				id = b->epoch;
				ok = 1;
			}
			break;
		default:
			break;
	}
	if(trial != NULL)
		*trial = id;
	if(tr != NULL)
		*tr = t;
	return ok;
}

gwf_brk_trans_t gwf_brk_record(gwf_brk_t *b, const gwf_brk_cfg_t *cfg,
		gwf_outcome_t out, uint32_t trial, uint64_t now_ms)
{
	switch(b->state) {
		case GWF_BRK_CLOSED:
			if(out == GWF_OUT_SUCCESS) {
				b->consec_faults = 0;
			} else if(out == GWF_OUT_FAULT) {
				if(b->consec_faults < UINT32_MAX)
					b->consec_faults++;
				if(b->consec_faults >= cfg->fail_threshold) {
					gwf_brk_to_open(
							b, gwf_deadline(now_ms, cfg->open_ms), now_ms);
					return GWF_BRK_T_OPENED;
				}
			}
			return GWF_BRK_T_NONE;
		case GWF_BRK_HALF_OPEN:
			/* Only trial calls of this period tell how the gateway is
			 * now; a call sent before the ejection (trial 0, or a trial
			 * of an earlier period) would close or reopen on stale
			 * news, and holds no slot of this period to release. */
			if(trial == 0 || trial != b->epoch)
				return GWF_BRK_T_NONE;
			if(b->trials_inflight > 0)
				b->trials_inflight--;
			if(out == GWF_OUT_FAULT) {
				gwf_brk_to_open(b, gwf_deadline(now_ms, cfg->open_ms), now_ms);
				return GWF_BRK_T_OPENED;
			}
			if(out == GWF_OUT_SUCCESS) {
				b->consec_faults = 0;
				b->trial_ok++;
				if(b->trial_ok >= cfg->trial_successes) {
					gwf_brk_to_closed(b, now_ms);
					return GWF_BRK_T_CLOSED;
				}
			}
			return GWF_BRK_T_NONE;
		default:
			return GWF_BRK_T_NONE;
	}
}

int gwf_brk_would_open(const gwf_brk_t *b, const gwf_brk_cfg_t *cfg,
		gwf_outcome_t out, uint32_t trial)
{
	if(out != GWF_OUT_FAULT)
		return 0;
	switch(b->state) {
		case GWF_BRK_CLOSED:
			return b->consec_faults >= cfg->fail_threshold - 1u;
		case GWF_BRK_HALF_OPEN:
			return trial != 0 && trial == b->epoch;
		default:
			return 0;
	}
}

gwf_brk_trans_t gwf_brk_eject(gwf_brk_t *b, uint32_t ms, uint64_t now_ms)
{
	uint64_t until = gwf_deadline(now_ms, ms);

	/* Never shorten an ejection: a short Retry-After must not undo a
	 * longer one or a manual eject. */
	if(b->state == GWF_BRK_OPEN) {
		if(until > b->open_until_ms)
			b->open_until_ms = until;
		return GWF_BRK_T_NONE;
	}
	gwf_brk_to_open(b, until, now_ms);
	return GWF_BRK_T_OPENED;
}

gwf_brk_trans_t gwf_brk_restore(gwf_brk_t *b, uint64_t now_ms)
{
	if(b->state == GWF_BRK_CLOSED) {
		/* Still a reset: an operator restoring a gateway expects a clean
		 * count; no state change, so since_ms stays. */
		b->consec_faults = 0;
		return GWF_BRK_T_NONE;
	}
	gwf_brk_to_closed(b, now_ms);
	return GWF_BRK_T_CLOSED;
}

const char *gwf_brk_state_name(gwf_brk_state_t s)
{
	switch(s) {
		case GWF_BRK_CLOSED:
			return "closed";
		case GWF_BRK_OPEN:
			return "open";
		case GWF_BRK_HALF_OPEN:
			return "half-open";
	}
	return "unknown";
}

const char *gwf_brk_trans_name(gwf_brk_trans_t t)
{
	switch(t) {
		case GWF_BRK_T_NONE:
			return "none";
		case GWF_BRK_T_OPENED:
			return "opened";
		case GWF_BRK_T_HALF_OPENED:
			return "half-opened";
		case GWF_BRK_T_CLOSED:
			return "closed";
	}
	return "unknown";
}
