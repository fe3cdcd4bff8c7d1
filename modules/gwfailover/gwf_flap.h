/*
 * gwfailover - flapping protection for gateway notifications.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * The rule, per gateway: a window of window_ms starts with the first event
 * posted in it; at most <max> events are posted in a window, later ones
 * are held back. When a window ends with events held back, the newest of
 * them is posted (the receiver ends with the gateway's current state),
 * carrying how many were never posted, and a new window starts with it.
 * So a gateway produces at most max + 1 notifications per window, however
 * fast it flaps. Pure: the caller keeps one gwf_flap_t per gateway and the
 * newest held event.
 */

#ifndef GWF_FLAP_H
#define GWF_FLAP_H

#include <stdint.h>

typedef struct gwf_flap_cfg
{
	uint64_t window_ms; /* >= 1 */
	uint32_t max;		/* events posted per window, >= 1 */
} gwf_flap_cfg_t;

typedef struct gwf_flap
{
	uint64_t start_ms; /* start of the current window */
	uint32_t posted;   /* posted in the current window; 0: no window */
	uint32_t held;	   /* held back since the last posted event */
} gwf_flap_t;

typedef enum gwf_flap_verdict
{
	GWF_FLAP_POST = 0, /* post this event now */
	GWF_FLAP_HOLD	   /* keep it as the newest held event; do not post */
} gwf_flap_verdict_t;

/* Is the window of <f> over at <now_ms> with events held back? Then the
 * caller posts the newest held event with suppressed = <*suppressed> and
 * calls gwf_flap_released(). Returns 1 or 0. */
int gwf_flap_due(const gwf_flap_t *f, const gwf_flap_cfg_t *cfg,
		uint64_t now_ms, uint32_t *suppressed);

/* The newest held event was posted at <now_ms>: a window starts with it. */
void gwf_flap_released(gwf_flap_t *f, uint64_t now_ms);

/* A new event of the gateway at <now_ms> (gwf_flap_due() handled first).
 * POST counts it in the window; HOLD counts it as held back. */
gwf_flap_verdict_t gwf_flap_offer(
		gwf_flap_t *f, const gwf_flap_cfg_t *cfg, uint64_t now_ms);

/* When gwf_flap_due() turns 1 (the end of the window with events held
 * back); UINT64_MAX if nothing is held. Lets the caller sleep until then. */
uint64_t gwf_flap_next_due(const gwf_flap_t *f, const gwf_flap_cfg_t *cfg);

/* Nothing held and the window over: the state may be forgotten. */
int gwf_flap_idle(
		const gwf_flap_t *f, const gwf_flap_cfg_t *cfg, uint64_t now_ms);

#endif
