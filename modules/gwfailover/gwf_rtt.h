/*
 * gwfailover - a gateway's first-reply latency (INVITE sent to its first
 * reply of any kind) and the silence timeout learnt from it, with the
 * estimator of RFC 6298 (SRTT, RTTVAR, RTO).
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * The caller feeds only unambiguous samples (Karn's rule: not from an
 * INVITE that was retransmitted before its first reply), in ms. Times are
 * kept in 1/8 ms so the gains (1/8 and 1/4) lose nothing to rounding.
 */

#ifndef GWF_RTT_H
#define GWF_RTT_H

#include "gwf_types.h"

typedef struct gwf_rtt_cfg
{
	uint32_t floor_ms; /* the timeout is never shorter (>= 1) */
	uint32_t max_ms;   /* nor longer (>= floor_ms): silence_ms */
	uint32_t gran_ms;  /* G of RFC 6298: the least margin over SRTT, the
						* granularity of whoever checks the timeout (0: 1) */
} gwf_rtt_cfg_t;

typedef struct gwf_rtt
{
	uint32_t srtt8;	  /* smoothed latency, 1/8 ms; 0: no sample yet */
	uint32_t rttvar8; /* its variation, 1/8 ms */
	uint32_t rto_ms;  /* the timeout now; 0: none learnt (use max_ms) */
	uint32_t samples; /* taken so far (saturating) */
} gwf_rtt_t;

/* Take sample <r_ms> (RFC 6298 2.2 and 2.3, K = 4, G = gran_ms): the
 * timeout becomes SRTT + max(G, 4 * RTTVAR), clamped to the config, and
 * any backoff is over. */
void gwf_rtt_sample(gwf_rtt_t *e, const gwf_rtt_cfg_t *cfg, uint32_t r_ms);

/* A local timeout: back off (RFC 6298 5.5), doubling the timeout up to
 * max_ms. SRTT and RTTVAR stay until the next sample. */
void gwf_rtt_backoff(gwf_rtt_t *e, const gwf_rtt_cfg_t *cfg);

/* The silence timeout of the gateway now: max_ms until the first
 * sample. */
uint32_t gwf_rtt_timeout(const gwf_rtt_t *e, const gwf_rtt_cfg_t *cfg);

/* Karn's rule: is a first reply after <r_ms> an unambiguous sample of an
 * INVITE sent over a transport that <retransmits> (UDP) with
 * retransmission interval <t1_ms>? Not once the INVITE may have been
 * sent again (r_ms >= t1_ms): the reply may answer either copy. 1 or 0. */
int gwf_rtt_unambiguous(uint32_t r_ms, int retransmits, uint32_t t1_ms);

/* SRTT and RTTVAR in whole ms (rounded), for operators. */
uint32_t gwf_rtt_srtt_ms(const gwf_rtt_t *e);
uint32_t gwf_rtt_rttvar_ms(const gwf_rtt_t *e);

#endif
