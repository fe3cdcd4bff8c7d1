/*
 * gwfailover - silent-gateway detection.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "gwf_silence.h"

void gwf_silence_sent(gwf_silence_t *s, uint64_t now_ms)
{
	if(s->unheard == 0)
		s->first_ms = now_ms;
	if(s->unheard < UINT32_MAX)
		s->unheard++;
}

void gwf_silence_heard(gwf_silence_t *s)
{
	s->unheard = 0;
}

int gwf_silence_check(
		const gwf_silence_t *s, const gwf_silence_cfg_t *cfg, uint64_t now_ms)
{
	if(cfg->ms == 0 || s->unheard < cfg->invites)
		return 0;
	return now_ms >= s->first_ms && now_ms - s->first_ms >= cfg->ms;
}
