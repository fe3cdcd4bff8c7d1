/*
 * gwfailover - was the dispatcher's list of destinations read completely?
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <string.h>

#include "gwf_dswalk.h"

void gwf_dswalk_tally_init(gwf_dswalk_tally_t *t)
{
	memset(t, 0, sizeof(*t));
	t->nrsets = -1;
}

gwf_dswalk_verdict_t gwf_dswalk_judge(const gwf_dswalk_tally_t *t)
{
	if(t->captured > 0)
		return (t->fault == 0 && t->captured >= t->dests) ? GWF_DSWALK_COMPLETE
														  : GWF_DSWALK_PARTIAL;
	/* The root struct is not named; RECORDS alone is a list without
	 * sets, anything more a list the reader could not follow. */
	if(t->nrsets > 0 || t->dests > 0 || t->nested > 1)
		return GWF_DSWALK_BLIND;
	return GWF_DSWALK_EMPTY;
}

const char *gwf_dswalk_verdict_name(gwf_dswalk_verdict_t v)
{
	switch(v) {
		case GWF_DSWALK_COMPLETE:
			return "complete";
		case GWF_DSWALK_EMPTY:
			return "empty";
		case GWF_DSWALK_BLIND:
			return "blind";
		case GWF_DSWALK_PARTIAL:
			return "partial";
	}
	return "unknown";
}
