/*
 * gwfailover - how long an automatic ejection lasts: it grows with repeated
 * ejections of the same gateway, decays only while the gateway serves calls
 * successfully, and is jittered per ejection so that several proxies do not
 * re-test a gateway in lockstep.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * The n-th ejection in a row lasts base_ms * n, capped at max_ms, plus a
 * jitter of up to jitter_pct percent drawn for that ejection. Every
 * decay_successes successes in a row (no counted fault between them) take
 * one step off n. Time alone never does: a gateway that gets no traffic
 * keeps its record (unlike Envoy, whose multiplier decays with time).
 */

#ifndef GWF_EJECT_H
#define GWF_EJECT_H

#include "gwf_types.h"

#define GWF_EJECT_MULT_MAX 1000 /* the multiplier stops growing here */

typedef struct gwf_eject_cfg
{
	uint32_t base_ms;		  /* first ejection (eject_time_s) */
	uint32_t max_ms;		  /* cap of base_ms * n, before jitter (>= base) */
	uint32_t jitter_pct;	  /* 0..100: up to this much longer */
	uint32_t decay_successes; /* >= 1: successes in a row per step down */
} gwf_eject_cfg_t;

typedef struct gwf_eject
{
	uint32_t mult;	 /* ejections in a row counted into the length */
	uint32_t ok_run; /* successes in a row towards the next step down */
} gwf_eject_t;

/* Check <cfg>. Returns 0, or -1 with <err> set. */
int gwf_eject_cfg_check(const gwf_eject_cfg_t *cfg, gwf_err_t *err);

/* Length of the next ejection before jitter with multiplier <mult>:
 * base_ms * (mult + 1), capped at max_ms. What operators see as "the next
 * ejection". */
uint32_t gwf_eject_next_ms(const gwf_eject_cfg_t *cfg, uint32_t mult);

/* An automatic ejection happens now: grow the multiplier and return how
 * long it lasts, jitter drawn from <r32> included. */
uint32_t gwf_eject_start(
		const gwf_eject_cfg_t *cfg, gwf_eject_t *e, uint32_t r32);

/* A success (final 2xx) of the gateway: one more towards a step down.
 * Returns 1 when the multiplier went down. */
int gwf_eject_success(const gwf_eject_cfg_t *cfg, gwf_eject_t *e);

/* A counted fault: the run of successes starts over. */
void gwf_eject_fault(gwf_eject_t *e);

/* Forget the record (operator restore or reset). */
void gwf_eject_clear(gwf_eject_t *e);

#endif
