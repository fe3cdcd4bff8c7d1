/*
 * gwfailover - silent-gateway detection.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * A gateway that has stopped answering is only found out by tm's fr_timer,
 * once per call: failure_threshold calls must time out before the breaker
 * opens, and every call sent meanwhile waits out its own timer. But a live
 * gateway answers an INVITE at once (100 Trying, RFC 3261 8.2.6.1 and
 * 16.2), so silence shows much earlier than fr_timer: <invites> INVITEs
 * sent since the gateway last said anything, the oldest of them <ms> ago.
 * The caller keeps one gwf_silence_t per gateway and calls these under the
 * lock that guards it.
 */

#ifndef GWF_SILENCE_H
#define GWF_SILENCE_H

#include <stdint.h>

typedef struct gwf_silence_cfg
{
	uint32_t ms;	  /* 0: detection off */
	uint32_t invites; /* >= 1 */
} gwf_silence_cfg_t;

typedef struct gwf_silence
{
	uint64_t first_ms; /* send time of the oldest INVITE not followed by
						* any reply; meaningful when unheard > 0 */
	uint32_t unheard;  /* INVITEs sent since the gateway was last heard */
} gwf_silence_t;

/* An INVITE was sent to the gateway at <now_ms>. */
void gwf_silence_sent(gwf_silence_t *s, uint64_t now_ms);

/* A reply (any, 100 included) came from the gateway. */
void gwf_silence_heard(gwf_silence_t *s);

/* Is the gateway silent at <now_ms>: at least cfg->invites INVITEs sent
 * since it was last heard, the oldest at least cfg->ms ago? 1 or 0; always
 * 0 with detection off. */
int gwf_silence_check(
		const gwf_silence_t *s, const gwf_silence_cfg_t *cfg, uint64_t now_ms);

#endif
