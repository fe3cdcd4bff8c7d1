/*
 * gwfailover - module-wide statistics (Kamailio counters, group
 * "gwfailover"). Per-gateway figures are in the gateway table (RPC).
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_STATS_H
#define GWFAILOVER_STATS_H

/* One per counter; the order is the order of the table in the .c file. */
typedef enum gwf_stat
{
	GWF_ST_FAILURES_FAILOVER = 0,
	GWF_ST_FAILURES_RETRY,
	GWF_ST_FAILURES_STOP,
	GWF_ST_FAILURES_COUNTED,
	GWF_ST_FAILURES_IGNORED,
	GWF_ST_FAILURES_EJECT,
	GWF_ST_LOCAL_TIMEOUTS,
	GWF_ST_FAILURES_UNREACHABLE,
	GWF_ST_FAILOVERS,
	GWF_ST_RETRIES,
	GWF_ST_DELAYED,
	GWF_ST_PROGRESS_SENT,
	GWF_ST_STATE_RESTORED,
	GWF_ST_RESCUED,
	GWF_ST_RESCUE_KEPT,
	GWF_ST_EJECTIONS,
	GWF_ST_HALF_OPENS,
	GWF_ST_RESTORATIONS,
	GWF_ST_EJECTIONS_REFUSED,
	GWF_ST_EJECTIONS_DRY_RUN,
	GWF_ST_PANIC_RETESTS,
	GWF_ST_EXHAUSTED_GATEWAYS,
	GWF_ST_EXHAUSTED_ATTEMPTS,
	GWF_ST_EXHAUSTED_BUDGET,
	GWF_ST_CANCELED,
	GWF_ST_ERRORS,
	GWF_ST_EVENTS_DROPPED,
	GWF_ST_WEBHOOK_QUEUED,
	GWF_ST_WEBHOOK_SENT,
	GWF_ST_WEBHOOK_RETRIED,
	GWF_ST_WEBHOOK_DROPPED,
	GWF_ST_WEBHOOK_FAILED,
	GWF_ST_WEBHOOK_SUPPRESSED,
	GWF_ST_COUNT
} gwf_stat_t;

/* Register the counters. mod_init only, before any gwf_stats_gauge().
 * Returns 0 or -1 (logged). */
int gwf_stats_init(void);

/* Register gauge <name> (a statistic of group "gwfailover" that cannot be
 * reset), read through <get> in whatever process asks; <doc> describes it.
 * The unit that owns the figure registers it, in mod_init. Returns 0 or
 * -1 (logged). */
int gwf_stats_gauge(const char *name, unsigned (*get)(void), const char *doc);

/* Add one to counter <s>: a write to this process's own slot, no lock. */
void gwf_stat_inc(gwf_stat_t s);

/* Add <n> to counter <s>, likewise. */
void gwf_stat_add(gwf_stat_t s, unsigned n);

#endif
