/*
 * gwfailover - module-wide configuration shared by the glue files.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_H
#define GWFAILOVER_H

#include "gwf_backoff.h"
#include "gwf_breaker.h"
#include "gwf_classify.h"
#include "gwf_silence.h"

#define GWF_VERSION "0.5.0"

/* Limits of the integer parameters; the manual lists the same. */
#define GWF_MAX_ATTEMPTS_LIMIT 16
#define GWF_MAX_GATEWAYS_LIMIT 1000000
#define GWF_DELAY_LIMIT_MS 60000
#define GWF_EJECT_LIMIT_S 86400

/* Effective configuration, built from the modparams in mod_init (before the
 * fork, so every process has the same copy) and read-only afterwards. */
typedef struct gwf_config
{
	gwf_cls_t cls;
	gwf_brk_cfg_t brk;
	gwf_silence_cfg_t silence;
	gwf_backoff_cfg_t backoff;
	unsigned max_attempts;		/* forwards per call, the first included */
	unsigned time_budget_ms;	/* 0: unlimited */
	unsigned retry_after_min_s; /* clamp of Retry-After ejections */
	unsigned retry_after_max_s;
	unsigned max_gateways;
	int exhausted_code; /* 0: relay the gateway's failure */
	const char *exhausted_reason;
	const char *event_callback; /* KEMI event function; "" if none */
} gwf_config_t;

extern gwf_config_t _gwf_cfg;

/* Range check of integer modparam <name>: logs and returns -1 when <v> is
 * not in <lo>..<hi>, else 0. */
int gwf_check_int(const char *name, int v, int lo, int hi);

/* Monotonic clock in ms; the only clock the module uses for deadlines. */
uint64_t gwf_now_ms(void);

#endif
