/*
 * gwfailover - module-wide configuration and clock (gwfailover_cfg.c), the
 * bottom of the glue: every unit may read them, they call no unit.
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
#include "gwf_eject.h"
#include "gwf_plan.h"
#include "gwf_progress.h"
#include "gwf_rtt.h"
#include "gwf_silence.h"
#include "gwf_trigger.h"

#define GWF_VERSION "0.5.0"

/* Limits of the integer parameters; the manual lists the same. */
#define GWF_MAX_ATTEMPTS_LIMIT 16
#define GWF_MAX_GATEWAYS_LIMIT 1000000
#define GWF_DELAY_LIMIT_MS 60000
#define GWF_EJECT_LIMIT_S 86400

/* While a set is in panic (its guard refused an ejection) or has no
 * healthy gateway, its automatically ejected gateways are re-tested this
 * often: the set comes back within about a second of a gateway recovering,
 * not after eject_time_s. */
#define GWF_PANIC_RETEST_MS 1000

/* How often Kamailio's core timer process checks for silent gateways and
 * unanswered trial calls: every tick of that timer (1/16 s), which runs
 * anyway; GWF_SILENCE_TICK_MS is the same in ms, the granularity (G of
 * RFC 6298) of the learnt silence timeout. */
#define GWF_SCAN_TICKS 1
#define GWF_SILENCE_TICK_MS 62

/* silence_floor_ms by default (lowered to silence_ms if that is shorter):
 * a learnt timeout never goes below it, so a gateway that answers in a
 * millisecond is still given a few hundred before it counts as silent. */
#define GWF_SILENCE_FLOOR_MS 300

/* Longest reason phrase the module sends itself (exhausted_reason, a
 * gateway's reason kept for a reply after a delay), NUL included. */
#define GWF_REASON_MAX 64

/* Effective configuration (defined in gwfailover_cfg.c), built from the
 * modparams in mod_init (before the fork, so every process has the same
 * copy) and read-only afterwards. */
typedef struct gwf_config
{
	gwf_cls_t cls;
	gwf_brk_cfg_t brk;
	gwf_silence_cfg_t silence;
	gwf_rtt_cfg_t rtt;			  /* each gateway's learnt silence timeout */
	int rescue;					  /* end calls in flight to an ejected
								   * gateway at once (rescue) */
	gwf_plan_cfg_t plan;		  /* limits and delays of a call's attempts */
	gwf_eject_cfg_t eject;		  /* length of automatic ejections */
	unsigned max_ejected_percent; /* the ejection guard of a set */
	unsigned dry_run; /* triggers that only detect: bit per gwf_trigger_t */
	unsigned max_gateways;
	int exhausted_code; /* 0: relay the gateway's failure */
	const char *exhausted_reason;
	const char *event_callback; /* KEMI event function; "" if none */
	gwf_progress_t progress;	/* progress_reply; code 0: off */
} gwf_config_t;

extern gwf_config_t _gwf_cfg;

/* Lock order. A process holding one of these locks takes only locks later
 * in this list, never an earlier one:
 *   1. tm's reply lock of a transaction (failure_route, t_continue());
 *   2. the dispatcher sync lock (gwfailover_gw.c): orders the dispatcher
 *      state updates of all processes;
 *   3. the gateway table lock (gwfailover_gw.c);
 *   4. an event sink's queue lock (gwfailover_event.c).
 * The resume queue lock (gwfailover_tm.c) and the webhook status lock
 * (gwfailover_webhook.c) are leaves: nothing else is taken under them.
 * tm callbacks that run before the reply lock (TMCB_RESPONSE_IN,
 * TMCB_E2ECANCEL_IN) claim per-branch flags atomically (gwf_claim.h). */

/* Range check of integer modparam <name>: logs and returns -1 when <v> is
 * not in <lo>..<hi>, else 0. */
int gwf_check_int(const char *name, int v, int lo, int hi);

/* Monotonic clock in ms; the only clock the module uses for deadlines. */
uint64_t gwf_now_ms(void);

#endif
