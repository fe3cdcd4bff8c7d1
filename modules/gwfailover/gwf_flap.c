/*
 * gwfailover - flapping protection for gateway notifications.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "gwf_flap.h"

static int gwf_flap_over(
		const gwf_flap_t *f, const gwf_flap_cfg_t *cfg, uint64_t now_ms)
{
	return f->posted == 0 || now_ms - f->start_ms >= cfg->window_ms;
}

int gwf_flap_due(const gwf_flap_t *f, const gwf_flap_cfg_t *cfg,
		uint64_t now_ms, uint32_t *suppressed)
{
	if(f->held == 0 || !gwf_flap_over(f, cfg, now_ms))
		return 0;
	*suppressed = f->held - 1; /* the one posted now is not suppressed */
	return 1;
}

void gwf_flap_released(gwf_flap_t *f, uint64_t now_ms)
{
	f->start_ms = now_ms;
	f->posted = 1;
	f->held = 0;
}

gwf_flap_verdict_t gwf_flap_offer(
		gwf_flap_t *f, const gwf_flap_cfg_t *cfg, uint64_t now_ms)
{
	if(gwf_flap_over(f, cfg, now_ms)) {
		f->start_ms = now_ms;
		f->posted = 0;
	}
	if(f->posted < cfg->max && f->held == 0) {
		f->posted++;
		return GWF_FLAP_POST;
	}
	f->held++;
	return GWF_FLAP_HOLD;
}

uint64_t gwf_flap_next_due(const gwf_flap_t *f, const gwf_flap_cfg_t *cfg)
{
	if(f->held == 0)
		return UINT64_MAX;
	if(f->posted == 0)
		return 0; /* no window: due at once */
	return f->start_ms + cfg->window_ms;
}

int gwf_flap_idle(
		const gwf_flap_t *f, const gwf_flap_cfg_t *cfg, uint64_t now_ms)
{
	return f->held == 0 && gwf_flap_over(f, cfg, now_ms);
}
