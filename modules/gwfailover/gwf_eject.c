/*
 * gwfailover - growing, decaying, jittered ejection times.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "gwf_eject.h"

int gwf_eject_cfg_check(const gwf_eject_cfg_t *cfg, gwf_err_t *err)
{
	if(cfg->max_ms < cfg->base_ms)
		return gwf_err_plain(
				err, "the longest ejection must not be shorter than the first");
	if(cfg->jitter_pct > 100)
		return gwf_err_plain(err, "the ejection jitter is at most 100 percent");
	if(cfg->decay_successes == 0)
		return gwf_err_plain(err, "the decay needs at least one success");
	return 0;
}

uint32_t gwf_eject_next_ms(const gwf_eject_cfg_t *cfg, uint32_t mult)
{
	uint64_t ms = (uint64_t)cfg->base_ms * ((uint64_t)mult + 1u);

	return ms > cfg->max_ms ? cfg->max_ms : (uint32_t)ms;
}

uint32_t gwf_eject_start(
		const gwf_eject_cfg_t *cfg, gwf_eject_t *e, uint32_t r32)
{
	uint64_t ms = gwf_eject_next_ms(cfg, e->mult);
	uint64_t spread = ms * cfg->jitter_pct / 100u;

	if(e->mult < GWF_EJECT_MULT_MAX)
		e->mult++;
	e->ok_run = 0;
	/* uniform in [0, spread] from the high bits of r32 */
	ms += (spread * (uint64_t)r32) / UINT32_MAX;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

int gwf_eject_success(const gwf_eject_cfg_t *cfg, gwf_eject_t *e)
{
	if(e->mult == 0)
		return 0;
	if(++e->ok_run < cfg->decay_successes)
		return 0;
	e->ok_run = 0;
	e->mult--;
	return 1;
}

void gwf_eject_fault(gwf_eject_t *e)
{
	e->ok_run = 0;
}

void gwf_eject_clear(gwf_eject_t *e)
{
	e->mult = 0;
	e->ok_run = 0;
}
