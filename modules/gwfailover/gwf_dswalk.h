/*
 * gwfailover - was the dispatcher's list of destinations read completely?
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * The module reads the destinations by calling the dispatcher's own
 * dispatcher.list RPC command with a context that picks the fields it
 * needs (set ID, URI, FLAGS) by name. If a dispatcher version renamed or
 * retyped them, that reader would silently read nothing. The reader
 * therefore also counts what the command reported, by means that do not
 * depend on those fields, and this judges the tally.
 */

#ifndef GWF_DSWALK_H
#define GWF_DSWALK_H

#include <stdint.h>

typedef struct gwf_dswalk_tally
{
	int fault;		   /* fault code the command raised; 0: none */
	int nrsets;		   /* the NRSETS it reported; -1: not seen */
	uint32_t nested;   /* named structs and arrays it opened, any name */
	uint32_t dests;	   /* DEST records it opened */
	uint32_t captured; /* destinations read (set, URI and flags) */
} gwf_dswalk_tally_t;

typedef enum gwf_dswalk_verdict
{
	GWF_DSWALK_COMPLETE = 0, /* every destination reported was read */
	GWF_DSWALK_EMPTY,		 /* the dispatcher has none (or failed before
							  * reporting any): nothing to go by */
	GWF_DSWALK_BLIND,		 /* it reported destinations, none was read */
	GWF_DSWALK_PARTIAL		 /* some were read, not all */
} gwf_dswalk_verdict_t;

/* Start <t> for a walk: nothing seen. */
void gwf_dswalk_tally_init(gwf_dswalk_tally_t *t);

/* Judge a finished walk:
 *   COMPLETE  some destination read, no fault, and at least as many read
 *             as DEST records reported;
 *   PARTIAL   some read, but fewer than reported, or a fault after them;
 *   BLIND     none read, though the command reported sets (NRSETS > 0),
 *             DEST records, or more than one named struct or array (its
 *             reply has RECORDS, SET, TARGETS, DEST... even if renamed);
 *   EMPTY     none read and none reported (dispatcher.list faults with
 *             "No Destination Sets" when it has no destination). */
gwf_dswalk_verdict_t gwf_dswalk_judge(const gwf_dswalk_tally_t *t);

/* "complete", "empty", "blind", "partial". */
const char *gwf_dswalk_verdict_name(gwf_dswalk_verdict_t v);

#endif
