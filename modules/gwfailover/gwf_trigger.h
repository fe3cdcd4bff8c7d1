/*
 * gwfailover - what can eject a gateway automatically, and which of those
 * triggers only detect (dry-run, for rolling the module out on live
 * traffic).
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#ifndef GWF_TRIGGER_H
#define GWF_TRIGGER_H

#include "gwf_types.h"

typedef enum gwf_trigger
{
	GWF_TRIG_THRESHOLD = 0, /* failure_threshold consecutive faults */
	GWF_TRIG_SILENCE,		/* no reply to silence_invites INVITEs */
	GWF_TRIG_RETRY_AFTER,	/* a failure carrying Retry-After */
	GWF_TRIG_EJECT_RULE,	/* a rule with health 'eject' */
	GWF_TRIG_TRIAL,			/* a half-open trial call failed */
	GWF_TRIG_COUNT
} gwf_trigger_t;

#define GWF_TRIG_ALL ((1u << GWF_TRIG_COUNT) - 1u)

/* "threshold", "silence", "retry_after", "eject_rule", "trial". */
const char *gwf_trigger_name(gwf_trigger_t t);

/* Parse a list of trigger names separated by commas (blanks around names
 * allowed, any case), or "all", or "" / "none" for none, into a bit mask
 * (bit per gwf_trigger_t). Returns 0, or -1 with <err> naming the
 * offending token. */
int gwf_trigger_parse(
		const char *s, size_t len, unsigned *mask, gwf_err_t *err);

/* Write the names in <mask> separated by commas ("none" when empty) into
 * <buf> of <size>, NUL-terminated. Returns the length written (whole
 * names only, cut to fit: "" if not even the first fits). */
int gwf_trigger_format(unsigned mask, char *buf, size_t size);

#endif
