/*
 * gwfailover - first-reply latency and the learnt silence timeout (RFC
 * 6298).
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "gwf_rtt.h"

/* Samples above this are clamped: a latency of over a day is no latency,
 * and 1/8 ms of it still fits 32 bits with room for the sums below. */
#define GWF_RTT_SAMPLE_MAX_MS 86400000u

static uint32_t gwf_rtt_clamp(uint64_t v, const gwf_rtt_cfg_t *cfg)
{
	if(v < cfg->floor_ms)
		return cfg->floor_ms;
	if(v > cfg->max_ms)
		return cfg->max_ms;
	return (uint32_t)v;
}

void gwf_rtt_sample(gwf_rtt_t *e, const gwf_rtt_cfg_t *cfg, uint32_t r_ms)
{
	uint64_t r8, diff8, var4;

	if(r_ms > GWF_RTT_SAMPLE_MAX_MS)
		r_ms = GWF_RTT_SAMPLE_MAX_MS;
	r8 = (uint64_t)r_ms * 8u;
	if(e->samples == 0) {
		/* 2.2: SRTT = R, RTTVAR = R/2 */
		e->srtt8 = (uint32_t)r8;
		e->rttvar8 = (uint32_t)(r8 / 2u);
	} else {
		/* 2.3: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, then
		 * SRTT = 7/8 SRTT + 1/8 R */
		diff8 = r8 > e->srtt8 ? r8 - e->srtt8 : e->srtt8 - r8;
		e->rttvar8 = (uint32_t)((3u * (uint64_t)e->rttvar8 + diff8 + 2u) / 4u);
		e->srtt8 = (uint32_t)((7u * (uint64_t)e->srtt8 + r8 + 4u) / 8u);
	}
	if(e->samples < UINT32_MAX)
		e->samples++;
	/* RTO = SRTT + max(G, K * RTTVAR), K = 4, rounded up */
	var4 = 4u * (uint64_t)e->rttvar8;
	if(var4 < 8u * (uint64_t)(cfg->gran_ms ? cfg->gran_ms : 1u))
		var4 = 8u * (uint64_t)(cfg->gran_ms ? cfg->gran_ms : 1u);
	e->rto_ms = gwf_rtt_clamp((e->srtt8 + var4 + 7u) / 8u, cfg);
}

void gwf_rtt_backoff(gwf_rtt_t *e, const gwf_rtt_cfg_t *cfg)
{
	if(e->rto_ms == 0)
		return; /* nothing learnt: max_ms already */
	e->rto_ms = gwf_rtt_clamp(2u * (uint64_t)e->rto_ms, cfg);
}

uint32_t gwf_rtt_timeout(const gwf_rtt_t *e, const gwf_rtt_cfg_t *cfg)
{
	return e->rto_ms == 0 ? cfg->max_ms : gwf_rtt_clamp(e->rto_ms, cfg);
}

int gwf_rtt_unambiguous(uint32_t r_ms, int retransmits, uint32_t t1_ms)
{
	return !retransmits || r_ms < t1_ms;
}

uint32_t gwf_rtt_srtt_ms(const gwf_rtt_t *e)
{
	return (e->srtt8 + 4u) / 8u;
}

uint32_t gwf_rtt_rttvar_ms(const gwf_rtt_t *e)
{
	return (e->rttvar8 + 4u) / 8u;
}
