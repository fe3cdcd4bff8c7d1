/*
 * gwfailover - the ejection guard of a set: automatic ejections never take
 * out more than max_ejected_percent of a set's gateways, so an outage of
 * every carrier at once is never made worse than no protection at all.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * Of <members> gateways, floor(members * pct / 100) may be out (ejected or
 * half-open) at once. Below 100 percent that leaves at least one gateway in
 * every set: a set of one gateway is never ejected automatically, a set of
 * two loses at most one, and the last one keeps its calls, so the first
 * call after it recovers succeeds.
 */

#ifndef GWF_GUARD_H
#define GWF_GUARD_H

#include <stdint.h>

/* Gateways of a set of <members> that may be out at once with <pct>. */
uint32_t gwf_guard_allowed(uint32_t members, uint32_t pct);

/* May one more gateway of a set of <members>, <out> of which are out now,
 * be ejected automatically? Returns 1 or 0. */
int gwf_guard_may_eject(uint32_t members, uint32_t out, uint32_t pct);

#endif
