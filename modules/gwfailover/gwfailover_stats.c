/*
 * gwfailover - module-wide statistics (Kamailio counters, group
 * "gwfailover").
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include "core/counters.h"
#include "core/dprint.h"

#include "gwfailover_stats.h"

static counter_handle_t _gwf_cnt[GWF_ST_COUNT];

/* clang-format off */
static counter_def_t _gwf_cnt_defs[] = {
	{&_gwf_cnt[GWF_ST_FAILURES_FAILOVER], "failures_failover", 0, 0, 0,
		"failures classified 'failover' (next gateway)"},
	{&_gwf_cnt[GWF_ST_FAILURES_RETRY], "failures_retry", 0, 0, 0,
		"failures classified 'retry' (same gateway)"},
	{&_gwf_cnt[GWF_ST_FAILURES_STOP], "failures_stop", 0, 0, 0,
		"failures classified 'stop' (relayed upstream)"},
	{&_gwf_cnt[GWF_ST_FAILURES_COUNTED], "failures_counted", 0, 0, 0,
		"failures counted against the gateway's health"},
	{&_gwf_cnt[GWF_ST_FAILURES_IGNORED], "failures_ignored", 0, 0, 0,
		"failures not held against the gateway"},
	{&_gwf_cnt[GWF_ST_FAILURES_EJECT], "failures_eject", 0, 0, 0,
		"failures that ejected the gateway at once"},
	{&_gwf_cnt[GWF_ST_LOCAL_TIMEOUTS], "local_timeouts", 0, 0, 0,
		"local timeouts of a silent gateway (no reply, or only 100)"},
	{&_gwf_cnt[GWF_ST_FAILURES_UNREACHABLE], "failures_unreachable", 0, 0, 0,
		"requests tm could not send at all (connection refused, no route)"},
	{&_gwf_cnt[GWF_ST_FAILOVERS], "failovers", 0, 0, 0,
		"calls re-forwarded to another gateway"},
	{&_gwf_cnt[GWF_ST_RETRIES], "retries", 0, 0, 0,
		"calls re-forwarded to the same gateway"},
	{&_gwf_cnt[GWF_ST_DELAYED], "delayed", 0, 0, 0,
		"re-forwards sent after a delay"},
	{&_gwf_cnt[GWF_ST_PROGRESS_SENT], "progress_sent", 0, 0, 0,
		"progress_reply provisionals sent to callers whose call failed over"},
	{&_gwf_cnt[GWF_ST_STATE_RESTORED], "state_restored", 0, 0, 0,
		"gateways whose ejection was restored from state_file at startup"},
	{&_gwf_cnt[GWF_ST_RESCUED], "rescued", 0, 0, 0,
		"calls in flight without reply moved off an ejected gateway at once"},
	{&_gwf_cnt[GWF_ST_RESCUE_KEPT], "rescue_kept", 0, 0, 0,
		"calls in flight left on an ejected gateway: nowhere else to go"},
	{&_gwf_cnt[GWF_ST_EJECTIONS], "ejections", 0, 0, 0,
		"gateways ejected (breaker opened)"},
	{&_gwf_cnt[GWF_ST_HALF_OPENS], "half_opens", 0, 0, 0,
		"ejected gateways that went half-open (trial calls)"},
	{&_gwf_cnt[GWF_ST_RESTORATIONS], "restorations", 0, 0, 0,
		"gateways restored (breaker closed)"},
	{&_gwf_cnt[GWF_ST_EJECTIONS_REFUSED], "ejections_refused", 0, 0, 0,
		"ejections refused by the guard of the set (max_ejected_percent)"},
	{&_gwf_cnt[GWF_ST_EJECTIONS_DRY_RUN], "ejections_dry_run", 0, 0, 0,
		"ejections detected but not made (dry_run)"},
	{&_gwf_cnt[GWF_ST_PANIC_RETESTS], "panic_retests", 0, 0, 0,
		"ejections shortened to re-test a gateway of a set in panic"},
	{&_gwf_cnt[GWF_ST_EXHAUSTED_GATEWAYS], "exhausted_gateways", 0, 0, 0,
		"calls given up: no healthy gateway left"},
	{&_gwf_cnt[GWF_ST_EXHAUSTED_ATTEMPTS], "exhausted_attempts", 0, 0, 0,
		"calls given up: attempt limit"},
	{&_gwf_cnt[GWF_ST_EXHAUSTED_BUDGET], "exhausted_budget", 0, 0, 0,
		"calls given up: time budget"},
	{&_gwf_cnt[GWF_ST_CANCELED], "canceled", 0, 0, 0,
		"CANCELs received while a call waited for its delay"},
	{&_gwf_cnt[GWF_ST_ERRORS], "errors", 0, 0, 0,
		"gwf_failover() errors and re-forwards that could not be sent"},
	{&_gwf_cnt[GWF_ST_EVENTS_DROPPED], "events_dropped", 0, 0, 0,
		"gateway events dropped: event queue full"},
	{&_gwf_cnt[GWF_ST_WEBHOOK_QUEUED], "webhook_queued", 0, 0, 0,
		"events accepted into the webhook queue"},
	{&_gwf_cnt[GWF_ST_WEBHOOK_SENT], "webhook_sent", 0, 0, 0,
		"webhook deliveries answered 2xx (per URL)"},
	{&_gwf_cnt[GWF_ST_WEBHOOK_RETRIED], "webhook_retried", 0, 0, 0,
		"webhook delivery retries"},
	{&_gwf_cnt[GWF_ST_WEBHOOK_DROPPED], "webhook_dropped", 0, 0, 0,
		"events dropped: webhook queue and every URL backlog full"},
	{&_gwf_cnt[GWF_ST_WEBHOOK_FAILED], "webhook_failed", 0, 0, 0,
		"webhook deliveries given up or dropped from a full backlog (per URL)"},
	{&_gwf_cnt[GWF_ST_WEBHOOK_SUPPRESSED], "webhook_suppressed", 0, 0, 0,
		"gateway events held back by the flapping rule"},
	{0, 0, 0, 0, 0, 0}
};
/* clang-format on */

int gwf_stats_init(void)
{
	if(counter_register_array("gwfailover", _gwf_cnt_defs) < 0) {
		LM_ERR("cannot register the gwfailover statistics\n");
		return -1;
	}
	return 0;
}

void gwf_stat_inc(gwf_stat_t s)
{
	if(s < GWF_ST_COUNT)
		counter_inc(_gwf_cnt[s]);
}

void gwf_stat_add(gwf_stat_t s, unsigned n)
{
	if(s < GWF_ST_COUNT)
		counter_add(_gwf_cnt[s], (int)n);
}

/* A gauge's reader: <param> is the owner's function. */
static counter_val_t gwf_stats_gauge_get(counter_handle_t h, void *param)
{
	return (counter_val_t)((unsigned (*)(void))param)();
}

int gwf_stats_gauge(const char *name, unsigned (*get)(void), const char *doc)
{
	counter_handle_t h;

	if(counter_register(&h, "gwfailover", name, CNT_F_NO_RESET,
			   gwf_stats_gauge_get, (void *)get, doc, 0)
			< 0) {
		LM_ERR("cannot register the gwfailover statistic %s\n", name);
		return -1;
	}
	return 0;
}
