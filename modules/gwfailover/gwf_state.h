/*
 * gwfailover - the state file: what the module learnt about its gateways
 * (ejections, half-open trials), kept across a restart of Kamailio.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * The format, text, one record per line, '\n' after each:
 *
 *   gwfailover-state 1
 *   gw set=1 uri=sip:10.0.0.1:5060 state=open until=1764860000123 mult=2
 *      manual=0 why=faults code=503 arg=5          (one line)
 *   gw set=1 uri=sip:10.0.0.2:5060 state=half-open until=0 mult=1 ...
 *   end count=2
 *
 * The first line names the format and its version; "end" with the number
 * of gw lines closes it, so a truncated file is told from a short one.
 * until is the wall-clock time (ms since the epoch) when an ejection ends:
 * time spent while Kamailio was down counts. A gw line is key=value pairs
 * separated by one space; keys it does not know are skipped (a newer
 * version may add some), a missing set, uri or state is an error. Anything
 * wrong anywhere rejects the whole file: a state half applied would be
 * worse than a clean start.
 */

#ifndef GWF_STATE_H
#define GWF_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "gwf_gwtab.h"
#include "gwf_types.h"

#define GWF_STATE_MAGIC "gwfailover-state"
#define GWF_STATE_VERSION 1
/* Longest gw line written (a URI of GWF_URI_MAX and every field at its
 * largest fits), '\n' included. */
#define GWF_STATE_LINE_MAX (GWF_URI_MAX + 192)

typedef struct gwf_state_ent
{
	int set_id;
	char uri[GWF_URI_MAX + 1]; /* NUL-terminated */
	uint16_t uri_len;
	uint8_t half_open; /* 0: open (ejected), 1: half-open (trials) */
	uint8_t manual;	   /* ejected by an operator */
	uint64_t until_ms; /* open: end of the ejection, wall clock ms since
						 * the epoch; 0 for half-open */
	uint32_t mult;	   /* ejection multiplier */
	gwf_why_t why;	   /* GWF_WHY_NONE if the name was not known */
	int code;		   /* with why */
	uint32_t arg;	   /* with why */
} gwf_state_ent_t;

/* The first line, '\n' included, into <buf>. Returns its length
 * (snprintf semantics). */
int gwf_state_format_header(char *buf, size_t size);

/* The line of <e>, '\n' included. Returns its length (snprintf
 * semantics); at most GWF_STATE_LINE_MAX - 1 for any entry. */
int gwf_state_format_ent(const gwf_state_ent_t *e, char *buf, size_t size);

/* The last line, for <count> gw lines. */
int gwf_state_format_end(unsigned count, char *buf, size_t size);

/* Read a whole file's <len> bytes: with <cb> NULL only check it; else
 * check it, then call <cb>(<arg>, entry) for each gw line in order (so a
 * file with an error anywhere calls nothing). <version> gets the
 * version of the header (also on some errors, 0 if unknown). Returns the
 * number of gw lines, or -1 with <err> saying what and where (offset:
 * the byte where the bad line starts; token: its start). */
int gwf_state_parse(const char *data, size_t len,
		void (*cb)(void *arg, const gwf_state_ent_t *e), void *arg,
		unsigned *version, gwf_err_t *err);

/* Name of <why> in the file ("faults", "silent", ...). */
const char *gwf_state_why_name(gwf_why_t why);

#endif
