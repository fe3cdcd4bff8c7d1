/*
 * gwfailover - the module's configuration and clock: the bottom of the glue,
 * read by every other unit and calling none of them.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include <time.h>

#include "core/dprint.h"

#include "gwfailover.h"

gwf_config_t _gwf_cfg;

uint64_t gwf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int gwf_check_int(const char *name, int v, int lo, int hi)
{
	if(v < lo || v > hi) {
		LM_ERR("modparam '%s' must be in %d..%d (got %d)\n", name, lo, hi, v);
		return -1;
	}
	return 0;
}
