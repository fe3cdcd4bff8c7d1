/*
 * gwfailover - exponential backoff with jitter.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <string.h>

#include "gwf_backoff.h"

static const char *const gwf_jitter_names[] = {
		"none", "full", "equal", "decorrelated"};

#define GWF_JITTER_N (sizeof(gwf_jitter_names) / sizeof(gwf_jitter_names[0]))

int gwf_jitter_parse(const char *s, size_t len, gwf_jitter_t *out)
{
	size_t i;

	if(s == NULL)
		return -1;
	for(i = 0; i < GWF_JITTER_N; i++) {
		if(gwf_eq_nocase(s, len, gwf_jitter_names[i])) {
			*out = (gwf_jitter_t)i;
			return 0;
		}
	}
	return -1;
}

const char *gwf_jitter_name(gwf_jitter_t j)
{
	if((unsigned)j >= GWF_JITTER_N)
		return "unknown";
	return gwf_jitter_names[j];
}

int gwf_backoff_cfg_check(const gwf_backoff_cfg_t *cfg, gwf_err_t *err)
{
	if(cfg->min_ms > cfg->max_ms)
		return gwf_err_plain(err, "min_ms above max_ms");
	if((unsigned)cfg->jitter >= GWF_JITTER_N)
		return gwf_err_plain(err, "unknown jitter mode");
	return 0;
}

/* Uniform in [lo, hi] from <r32>. Modulo bias is accepted: with spans far
 * below 2^32 it is negligible for spreading retries, and it keeps the
 * mapping from r32 exact and easy to test. Spans wider than 2^32 (only
 * DECORRELATED with a huge prev) reach just the first 2^32 values. */
static uint64_t gwf_uniform(uint64_t lo, uint64_t hi, uint32_t r32)
{
	return lo + (uint64_t)r32 % (hi - lo + 1);
}

uint32_t gwf_backoff_ms(const gwf_backoff_cfg_t *cfg, unsigned attempt,
		uint32_t prev_ms, uint32_t r32)
{
	uint64_t base = cfg->base_ms;
	uint64_t exp, d, prev;

	/* Saturate before shifting: a shift by 64 or more is undefined, and
	 * any base >= 1 shifted by 32 already exceeds every uint32_t cap. */
	if(base == 0)
		exp = 0;
	else if(attempt >= 32)
		exp = cfg->max_ms;
	else
		exp = base << attempt;
	if(exp > cfg->max_ms)
		exp = cfg->max_ms;

	switch(cfg->jitter) {
		case GWF_JITTER_FULL:
			d = gwf_uniform(0, exp, r32);
			break;
		case GWF_JITTER_EQUAL:
			d = gwf_uniform(exp / 2, exp, r32);
			break;
		case GWF_JITTER_DECORRELATED:
			/* Grows from the previous delay, not from <attempt>; the
			 * first call has no previous delay, so start from base. */
			prev = prev_ms ? prev_ms : base;
			d = gwf_uniform(base, base > 3 * prev ? base : 3 * prev, r32);
			break;
		default:
			d = exp;
			break;
	}

	/* The floor first, then the cap, so a bad configuration (min above
	 * max, rejected by gwf_backoff_cfg_check()) still never exceeds the
	 * cap. */
	if(d < cfg->min_ms)
		d = cfg->min_ms;
	if(d > cfg->max_ms)
		d = cfg->max_ms;
	return (uint32_t)d;
}
