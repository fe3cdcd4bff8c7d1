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

#ifndef GWF_BACKOFF_H
#define GWF_BACKOFF_H

#include "gwf_types.h"

/* Jitter modes, after "Exponential Backoff And Jitter" (AWS architecture
 * blog, 2015): jitter spreads the retries of many calls that failed at the
 * same moment, so a recovering gateway does not get them all at once. */
typedef enum gwf_jitter
{
	GWF_JITTER_NONE = 0,	/* exp */
	GWF_JITTER_FULL,		/* uniform in [0, exp] */
	GWF_JITTER_EQUAL,		/* exp/2 + uniform in [0, exp - exp/2] */
	GWF_JITTER_DECORRELATED /* uniform in [base, max(base, 3 * prev)] */
} gwf_jitter_t;

typedef struct gwf_backoff_cfg
{
	uint32_t base_ms; /* delay before attempt 0, before jitter */
	uint32_t max_ms;  /* cap, after jitter */
	uint32_t min_ms;  /* floor, after jitter (<= max_ms) */
	gwf_jitter_t jitter;
} gwf_backoff_cfg_t;

/* Parse a jitter mode name ("none", "full", "equal", "decorrelated";
 * case-insensitive) of <len> bytes. Returns 0 and sets <out>, or -1. */
int gwf_jitter_parse(const char *s, size_t len, gwf_jitter_t *out);

const char *gwf_jitter_name(gwf_jitter_t j);

/* Check a configuration: min_ms <= max_ms, known jitter mode.
 * Returns 0, or -1 with <err> set (offset 0, token empty). */
int gwf_backoff_cfg_check(const gwf_backoff_cfg_t *cfg, gwf_err_t *err);

/* Delay in ms before attempt <attempt> (0-based).
 *
 * exp = min(max_ms, base_ms * 2^attempt), saturating: no overflow for any
 * attempt. The jitter mode turns exp into a delay using the random value
 * <r32> (uniform over uint32_t; the caller draws it, so tests are exact);
 * <prev_ms> is the previous delay of the same call (0 for the first), used
 * only by DECORRELATED. The result is clamped to [min_ms, max_ms]. */
uint32_t gwf_backoff_ms(const gwf_backoff_cfg_t *cfg, unsigned attempt,
		uint32_t prev_ms, uint32_t r32);

#endif
