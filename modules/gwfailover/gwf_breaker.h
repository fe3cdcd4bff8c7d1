/*
 * gwfailover - per-gateway circuit breaker state machine.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 *            fail_threshold consecutive faults, or eject
 *   CLOSED ----------------------------------------------> OPEN
 *     ^                                                  |    ^
 *     | trial_successes successes          open_until_ms |    | any fault
 *     |                                    passed (tick) v    |
 *     +------------------------------------------------ HALF_OPEN
 *
 * Pure: no allocation, no logging, no clock reads. The caller holds whatever
 * lock protects the gwf_brk_t and passes monotonic time in <now_ms>. Every
 * mutating function returns the transition it caused so the caller can act on
 * it (dispatcher state, counters, events) after unlocking.
 */

#ifndef GWF_BREAKER_H
#define GWF_BREAKER_H

#include "gwf_types.h"

typedef enum gwf_brk_state
{
	GWF_BRK_CLOSED = 0, /* healthy: calls flow, faults are counted */
	GWF_BRK_OPEN,		/* ejected: no calls until open_until_ms */
	GWF_BRK_HALF_OPEN	/* probing: at most trial_max trial calls in flight */
} gwf_brk_state_t;

typedef enum gwf_brk_trans
{
	GWF_BRK_T_NONE = 0,
	GWF_BRK_T_OPENED,	   /* -> OPEN (from CLOSED, or again from HALF_OPEN) */
	GWF_BRK_T_HALF_OPENED, /* OPEN -> HALF_OPEN */
	GWF_BRK_T_CLOSED	   /* -> CLOSED */
} gwf_brk_trans_t;

typedef enum gwf_outcome
{
	GWF_OUT_SUCCESS = 0, /* a final 2xx from the gateway */
	GWF_OUT_FAULT,		 /* a failure counted against the gateway */
	GWF_OUT_NEUTRAL		 /* ended without saying anything on health */
} gwf_outcome_t;

typedef struct gwf_brk_cfg
{
	uint32_t fail_threshold;  /* consecutive faults that open, >= 1 */
	uint32_t open_ms;		  /* how long a threshold ejection lasts */
	uint32_t trial_max;		  /* trial calls in flight in HALF_OPEN, >= 1 */
	uint32_t trial_successes; /* trial successes that close, >= 1 */
} gwf_brk_cfg_t;

typedef struct gwf_brk
{
	gwf_brk_state_t state;
	uint32_t consec_faults;	  /* counted faults since the last success */
	uint32_t trials_inflight; /* HALF_OPEN: trial slots taken */
	uint32_t trial_ok;		  /* HALF_OPEN: successes in this period */
	uint32_t epoch;			  /* bumped on every entry to HALF_OPEN */
	uint32_t open_count;	  /* times the breaker opened */
	uint64_t open_until_ms;	  /* OPEN: when it becomes HALF_OPEN */
	uint64_t since_ms;		  /* time of the last state change */
} gwf_brk_t;

/* Start CLOSED with no faults at <now_ms>. */
void gwf_brk_init(gwf_brk_t *b, uint64_t now_ms);

/* Check a configuration (every field >= 1, open_ms may be 0).
 * Returns 0, or -1 with <err> set. */
int gwf_brk_cfg_check(const gwf_brk_cfg_t *cfg, gwf_err_t *err);

/* Let time pass: OPEN whose open_until_ms <= <now_ms> becomes HALF_OPEN
 * (epoch++, no trials in flight, trial_ok 0). */
gwf_brk_trans_t gwf_brk_tick(gwf_brk_t *b, uint64_t now_ms);

/* May one more call be sent to the gateway now? Ticks first (reporting that
 * transition in <*tr>). CLOSED: yes, *trial = 0. OPEN: no. HALF_OPEN: yes if
 * trials_inflight < trial_max; the slot is taken and *trial = epoch (never 0)
 * must be passed back to gwf_brk_record(); otherwise no.
 * Returns 1 (yes) or 0 (no). */
int gwf_brk_acquire(gwf_brk_t *b, const gwf_brk_cfg_t *cfg, uint64_t now_ms,
		uint32_t *trial, gwf_brk_trans_t *tr);

/* Record the outcome of one call. <trial> is the value gwf_brk_acquire()
 * gave (0 for calls not holding a trial slot); the slot is released only if
 * it belongs to the current HALF_OPEN period.
 *   CLOSED:    FAULT counts, reaching fail_threshold opens for open_ms;
 *              SUCCESS resets the count; NEUTRAL nothing.
 *   OPEN:      outcomes of calls sent before the ejection change nothing.
 *   HALF_OPEN: only calls holding a slot of this period count (others were
 *              sent before the ejection: nothing). FAULT reopens for
 *              open_ms; SUCCESS counts towards trial_successes and closes
 *              when reached; NEUTRAL only releases the slot. */
gwf_brk_trans_t gwf_brk_record(gwf_brk_t *b, const gwf_brk_cfg_t *cfg,
		gwf_outcome_t out, uint32_t trial, uint64_t now_ms);

/* Would recording <out> with <trial> now open the breaker (CLOSED reaching
 * fail_threshold, or a HALF_OPEN trial of this period failing)? Lets the
 * caller decide an ejection (guard, dry-run, its length) before it
 * happens. Pure read. */
int gwf_brk_would_open(const gwf_brk_t *b, const gwf_brk_cfg_t *cfg,
		gwf_outcome_t out, uint32_t trial);

/* Open now for <ms> (Retry-After, manual eject) from any state. Already OPEN:
 * the deadline becomes max(current, now + ms) and NONE is returned. */
gwf_brk_trans_t gwf_brk_eject(gwf_brk_t *b, uint32_t ms, uint64_t now_ms);

/* Close now (manual restore); resets the fault count. NONE if already
 * CLOSED. */
gwf_brk_trans_t gwf_brk_restore(gwf_brk_t *b, uint64_t now_ms);

const char *gwf_brk_state_name(gwf_brk_state_t s);
const char *gwf_brk_trans_name(gwf_brk_trans_t t);

#endif
