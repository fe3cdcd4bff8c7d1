/*
 * gwfailover - the ejection guard of a set.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "gwf_guard.h"

uint32_t gwf_guard_allowed(uint32_t members, uint32_t pct)
{
	if(pct >= 100)
		return members;
	return (uint32_t)(((uint64_t)members * pct) / 100u);
}

int gwf_guard_may_eject(uint32_t members, uint32_t out, uint32_t pct)
{
	return (uint64_t)out + 1u <= gwf_guard_allowed(members, pct);
}
