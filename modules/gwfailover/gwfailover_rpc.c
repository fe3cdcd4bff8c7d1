/*
 * gwfailover - RPC commands: see the gateways, act on them, check the
 * rules and the configuration.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Arguments are read as strings (numbers are converted by the transport)
 * and checked here, so every bad input gets a fault that names it: 400 for
 * bad arguments, 404 for an unknown gateway, 500 for internal errors.
 */

#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/dprint.h"
#include "core/mem/mem.h"
#include "core/rpc.h"

#include "gwf_arg.h"
#include "gwfailover.h"
#include "gwfailover_ds.h"
#include "gwfailover_dsrpc.h"
#include "gwfailover_gw.h"
#include "gwfailover_rpc.h"
#include "gwfailover_state.h"
#include "gwfailover_webhook.h"

#define GWF_RPC_MAX_ARGS 3
#define GWF_RPC_MAX_SETS 8 /* sets named in an "in several sets" fault */

/* ---- arguments ---- */

/* Read the arguments as strings into <a> (at most <max>). One more than
 * <max> is a fault naming <usage>. Returns the count, or -1 (fault sent).
 */
static int gwf_rpc_args(
		rpc_t *rpc, void *ctx, str *a, int max, const char *usage)
{
	str extra;
	int n, rc;

	for(n = 0; n <= max; n++) {
		/* 0: no more arguments; < 0: one that is neither a string nor a
		 * number (a JSON true, object, ...) */
		rc = rpc->scan(ctx, "*.S", n < max ? &a[n] : &extra);
		if(rc == 0)
			return n;
		if(rc < 0) {
			rpc->fault(ctx, 400,
					"argument %d: expected a string or a number; usage: %s",
					n + 1, usage);
			return -1;
		}
		if(n < max && a[n].s == NULL)
			a[n].len = 0;
	}
	rpc->fault(ctx, 400, "too many arguments; usage: %s", usage);
	return -1;
}

/* Strict decimal integer in <lo>..<hi> (gwf_arg_int()). Returns 0, or -1
 * if <s> is not one. */
static int gwf_rpc_int(const str *s, long lo, long hi, long *out)
{
	if(s->len <= 0)
		return -1;
	return gwf_arg_int(s->s, (size_t)s->len, lo, hi, out);
}

/* Printable excerpt of an argument for a fault message. */
#define GWF_ARG_FMT "%.*s%s"
#define GWF_ARG_MAX 64 /* longer arguments are cut, with "..." */
#define GWF_ARG(x)                                          \
	((x).len > GWF_ARG_MAX ? GWF_ARG_MAX : (x).len), (x).s, \
			((x).len > GWF_ARG_MAX ? "..." : "")

static int gwf_rpc_set_arg(rpc_t *rpc, void *ctx, const str *s, int *set)
{
	long v;

	if(gwf_rpc_int(s, 0, INT_MAX, &v) < 0) {
		rpc->fault(ctx, 400,
				"invalid set '" GWF_ARG_FMT "': expected an integer"
				" 0..2147483647",
				GWF_ARG(*s));
		return -1;
	}
	*set = (int)v;
	return 0;
}

static int gwf_rpc_uri_arg(
		rpc_t *rpc, void *ctx, const str *s, const char *usage)
{
	if(s->len <= 0) {
		rpc->fault(ctx, 400, "missing gateway URI; usage: %s", usage);
		return -1;
	}
	if(s->len > GWF_URI_MAX) {
		rpc->fault(ctx, 400, "gateway URI too long (%d bytes, at most %d)",
				s->len, GWF_URI_MAX);
		return -1;
	}
	return 0;
}

/* ---- finding gateways ---- */

typedef struct gwf_rpc_match
{
	const str *uri;
	int want_set; /* -1: any */
	int nsets;
	int sets[GWF_RPC_MAX_SETS];
	char flags[4]; /* dispatcher flags of the last match */
	int found;
} gwf_rpc_match_t;

static void gwf_rpc_note_set(gwf_rpc_match_t *m, int set)
{
	int i;

	for(i = 0; i < m->nsets && i < GWF_RPC_MAX_SETS; i++)
		if(m->sets[i] == set)
			return;
	if(m->nsets < GWF_RPC_MAX_SETS)
		m->sets[m->nsets] = set;
	m->nsets++;
}

static void gwf_rpc_match_dest(int set, str *uri, const char *flags, void *arg)
{
	gwf_rpc_match_t *m = (gwf_rpc_match_t *)arg;

	if(uri->len != m->uri->len || memcmp(uri->s, m->uri->s, uri->len) != 0)
		return;
	if(m->want_set >= 0 && set != m->want_set)
		return;
	gwf_rpc_note_set(m, set);
	snprintf(m->flags, sizeof(m->flags), "%s", flags);
	m->found = 1;
}

/* Dispatcher flags of (<set>, <uri>), or "-" when the dispatcher does not
 * have it. */
static void gwf_rpc_ds_flags(int set, const str *uri, char *buf, size_t size)
{
	gwf_rpc_match_t m;

	memset(&m, 0, sizeof(m));
	m.uri = uri;
	m.want_set = set;
	gwf_ds_walk(gwf_rpc_match_dest, &m);
	snprintf(buf, size, "%s", m.found ? m.flags : "-");
}

static int gwf_rpc_int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : (x > y);
}

static void gwf_rpc_learn_dest(int set, str *uri, const char *flags, void *arg)
{
	gwf_gw_lookup(set, uri); /* list every carrier, even before traffic */
}

/* The table slot of <uri> in <set> (<set> -1: whichever single set has
 * it), learning it from the dispatcher if traffic has not yet. Returns the
 * slot, or -1 (fault sent).
 * Every destination of the dispatcher is learnt first, as for
 * gwfailover.list: the resume process learns them only at start and once a
 * second, and a set must count all its gateways before an eject or a
 * restore judges it (an ejection just after a start or a reload that added
 * the set would otherwise report the set down while it has healthy
 * gateways the table does not know yet). */
static int gwf_rpc_resolve(rpc_t *rpc, void *ctx, str *uri, int set)
{
	gwf_rpc_match_t m;
	gwf_gw_t gw;
	char sets[GWF_RPC_MAX_SETS * 12];
	unsigned i;
	int idx, len, k;

	gwf_ds_walk(gwf_rpc_learn_dest, NULL);
	if(set >= 0 && (idx = gwf_gw_find_existing(set, uri)) >= 0)
		return idx;
	memset(&m, 0, sizeof(m));
	m.uri = uri;
	m.want_set = set;
	gwf_ds_walk(gwf_rpc_match_dest, &m);
	/* no set given: the URI may be in several, known or learnt */
	for(i = 0; set < 0 && i < gwf_gw_slots(); i++) {
		if(gwf_gw_snapshot((int)i, &gw) < 0 || gw.uri_len != uri->len
				|| memcmp(gw.uri, uri->s, uri->len) != 0)
			continue;
		gwf_rpc_note_set(&m, gw.set_id);
	}
	if(m.nsets == 0) {
		if(set < 0)
			rpc->fault(ctx, 404, "unknown gateway " GWF_ARG_FMT, GWF_ARG(*uri));
		else
			rpc->fault(ctx, 404, "unknown gateway " GWF_ARG_FMT " in set %d",
					GWF_ARG(*uri), set);
		return -1;
	}
	if(m.nsets > 1) {
		qsort(m.sets, m.nsets < GWF_RPC_MAX_SETS ? m.nsets : GWF_RPC_MAX_SETS,
				sizeof(m.sets[0]), gwf_rpc_int_cmp);
		len = 0;
		for(k = 0; k < m.nsets && k < GWF_RPC_MAX_SETS; k++)
			len += snprintf(sets + len, sizeof(sets) - len, "%s%d",
					k ? ", " : "", m.sets[k]);
		rpc->fault(ctx, 400,
				"gateway " GWF_ARG_FMT " is in several sets (%s%s): give the"
				" set",
				GWF_ARG(*uri), sets, m.nsets > GWF_RPC_MAX_SETS ? ", ..." : "");
		return -1;
	}
	idx = gwf_gw_lookup(m.sets[0], uri);
	if(idx < 0) {
		rpc->fault(ctx, 500,
				"gateway " GWF_ARG_FMT " cannot be tracked (max_gateways)",
				GWF_ARG(*uri));
		return -1;
	}
	return idx;
}

/* ---- output ---- */

static unsigned gwf_rpc_u32(uint64_t v)
{
	return v > UINT_MAX ? UINT_MAX : (unsigned)v;
}

/* The state an operator sees: the breaker's, or "removed" for a gateway
 * the dispatcher no longer has (its breaker is stopped). */
static const char *gwf_rpc_state_name(const gwf_gw_t *gw)
{
	return gw->removed ? "removed" : gwf_brk_state_name(gw->brk.state);
}

/* Add the fields of slot <idx> to struct handle <h>. */
static int gwf_rpc_gw_fields(
		rpc_t *rpc, void *ctx, void *h, int idx, const char *flags)
{
	char why[96], dsflags[4];
	uint64_t now = gwf_now_ms();
	gwf_gw_t gw;
	str uri;
	int ago = -1, half_in = 0;

	if(gwf_gw_snapshot(idx, &gw) < 0) {
		rpc->fault(ctx, 500, "gateway slot %d vanished", idx);
		return -1;
	}
	if(flags == NULL) {
		uri.s = gw.uri;
		uri.len = gw.uri_len;
		gwf_rpc_ds_flags(gw.set_id, &uri, dsflags, sizeof(dsflags));
		flags = dsflags;
	}
	gwf_why_format(gw.why, gw.why_code, gw.why_arg, why, sizeof(why));
	if(gw.st.last_fail_ms != 0)
		ago = (int)((now - gw.st.last_fail_ms) / 1000u);
	if(gw.brk.state == GWF_BRK_OPEN && gw.brk.open_until_ms > now)
		half_in = (int)((gw.brk.open_until_ms - now + 999u) / 1000u);

	if(rpc->struct_add(h, "dsssdsd", "set", gw.set_id, "uri", gw.uri, "state",
			   gwf_rpc_state_name(&gw), "reason", why, "state_for_s",
			   (int)((now - gw.brk.since_ms) / 1000u), "dispatcher", flags,
			   "consecutive_faults", (int)gwf_rpc_u32(gw.brk.consec_faults))
					< 0
			|| rpc->struct_add(h, "uuuuuuu", "successes",
					   gwf_rpc_u32(gw.st.successes), "local_timeouts",
					   gwf_rpc_u32(gw.st.local_timeouts), "received_5xx",
					   gwf_rpc_u32(gw.st.received_5xx), "retry_after",
					   gwf_rpc_u32(gw.st.retry_after), "counted",
					   gwf_rpc_u32(gw.st.counted), "not_counted",
					   gwf_rpc_u32(gw.st.not_counted), "ejections",
					   gwf_rpc_u32(gw.st.ejections))
					   < 0
			|| rpc->struct_add(h, "dddd", "last_code", gw.st.last_code,
					   "last_failure_ago_s", ago, "half_open_in_s", half_in,
					   "trials_in_flight",
					   gw.brk.state == GWF_BRK_HALF_OPEN
							   ? (int)gw.brk.trials_inflight
							   : 0)
					   < 0
			|| rpc->struct_add(h, "dd", "eject_multiplier", (int)gw.ej.mult,
					   "next_eject_s",
					   (int)((gwf_eject_next_ms(&_gwf_cfg.eject, gw.ej.mult)
									 + 999u)
							   / 1000u))
					   < 0
			|| rpc->struct_add(h, "ddddud", "srtt_ms",
					   (int)gwf_rtt_srtt_ms(&gw.rtt), "rttvar_ms",
					   (int)gwf_rtt_rttvar_ms(&gw.rtt), "silence_timeout_ms",
					   _gwf_cfg.silence.ms == 0
							   ? 0
							   : (int)gwf_rtt_timeout(&gw.rtt, &_gwf_cfg.rtt),
					   "rtt_samples", (int)gwf_rpc_u32(gw.rtt.samples),
					   "rescued", gwf_rpc_u32(gw.st.rescued), "in_flight",
					   (int)gw.fl.n)
					   < 0
			|| rpc->struct_add(h, "d", "restored", (int)gw.restored) < 0) {
		rpc->fault(ctx, 500, "internal error building the reply");
		return -1;
	}
	return 0;
}

static int gwf_rpc_gw(rpc_t *rpc, void *ctx, int idx)
{
	void *h;

	if(rpc->add(ctx, "{", &h) < 0) {
		rpc->fault(ctx, 500, "internal error building the reply");
		return -1;
	}
	return gwf_rpc_gw_fields(rpc, ctx, h, idx, NULL);
}

/* ---- gwfailover.list ---- */

/* One line of the list: collected first, then sorted by set. */
typedef struct gwf_rpc_row
{
	int set;
	int idx;
	unsigned order; /* dispatcher order; table order after it */
	char flags[4];	/* dispatcher flags, "-" if it does not have it */
} gwf_rpc_row_t;

typedef struct gwf_rpc_list
{
	gwf_rpc_row_t *rows;
	unsigned n, max;
	unsigned nslots;	 /* slots <seen> has a bit for */
	unsigned char *seen; /* bit per table slot already collected */
} gwf_rpc_list_t;

static void gwf_rpc_collect(
		gwf_rpc_list_t *l, int set, int idx, const char *flags)
{
	gwf_rpc_row_t *r;

	/* A slot past <nslots> was learnt after the list was sized (traffic,
	 * the resume process): it shows in the next list. */
	if(idx < 0 || (unsigned)idx >= l->nslots || l->n >= l->max
			|| (l->seen[idx / 8] & (1u << (idx % 8))))
		return;
	l->seen[idx / 8] |= (unsigned char)(1u << (idx % 8));
	r = &l->rows[l->n];
	r->set = set;
	r->idx = idx;
	r->order = l->n++;
	snprintf(r->flags, sizeof(r->flags), "%s", flags);
}

static void gwf_rpc_collect_dest(
		int set, str *uri, const char *flags, void *arg)
{
	gwf_rpc_collect(
			(gwf_rpc_list_t *)arg, set, gwf_gw_find_existing(set, uri), flags);
}

static int gwf_rpc_row_cmp(const void *a, const void *b)
{
	const gwf_rpc_row_t *x = a, *y = b;

	if(x->set != y->set)
		return x->set < y->set ? -1 : 1;
	return x->order < y->order ? -1 : (x->order > y->order);
}

static const char *gwf_rpc_list_doc[2] = {
		"List every gateway: dispatcher destinations and gateways seen in"
		" traffic, by set, with breaker state (\"removed\" once the"
		" dispatcher no longer has it), reason, dispatcher flags and"
		" totals.",
		0};

static void gwf_rpc_list(rpc_t *rpc, void *ctx)
{
	gwf_rpc_list_t l;
	gwf_gw_t gw;
	str a[1];
	void *th, *arr, *h;
	unsigned i, slots;

	if(gwf_rpc_args(rpc, ctx, a, 0, "gwfailover.list") < 0)
		return;
	gwf_ds_walk(gwf_rpc_learn_dest, NULL);
	/* Sized after the walk, which may have learnt gateways (after a
	 * dispatcher.reload, or before any traffic): each row is a distinct
	 * slot below <slots>. */
	slots = gwf_gw_slots();
	memset(&l, 0, sizeof(l));
	l.max = slots;
	l.nslots = slots;
	l.rows = pkg_malloc(l.max * sizeof(*l.rows) + slots / 8 + 1);
	if(l.rows == NULL) {
		PKG_MEM_ERROR;
		rpc->fault(ctx, 500, "out of private memory");
		return;
	}
	l.seen = (unsigned char *)(l.rows + l.max);
	memset(l.seen, 0, slots / 8 + 1);
	/* dispatcher destinations, then gateways it no longer has */
	gwf_ds_walk(gwf_rpc_collect_dest, &l);
	for(i = 0; i < slots; i++) {
		if(gwf_gw_snapshot((int)i, &gw) == 0)
			gwf_rpc_collect(&l, gw.set_id, (int)i, "-");
	}
	qsort(l.rows, l.n, sizeof(*l.rows), gwf_rpc_row_cmp);

	if(rpc->add(ctx, "{", &th) < 0
			|| rpc->struct_add(th, "d[", "count", (int)l.n, "gateways", &arr)
					   < 0) {
		rpc->fault(ctx, 500, "internal error building the reply");
		goto done;
	}
	for(i = 0; i < l.n; i++) {
		if(rpc->array_add(arr, "{", &h) < 0
				|| gwf_rpc_gw_fields(
						   rpc, ctx, h, l.rows[i].idx, l.rows[i].flags)
						   < 0)
			break;
	}
done:
	pkg_free(l.rows);
}

/* ---- gwfailover.get / eject / restore ---- */

#define GWF_USAGE_GET "gwfailover.get <uri> [set]"
#define GWF_USAGE_EJECT "gwfailover.eject <uri> [seconds] [set]"
#define GWF_USAGE_RESTORE "gwfailover.restore <uri> [set]"
#define GWF_USAGE_RESET "gwfailover.reset [<uri>|all] [set]"
#define GWF_USAGE_CLASSIFY \
	"gwfailover.classify <code> [timeout|noanswer|unreachable|retry_after]"

/* Eject or restore refused: slot <idx> is a gateway the dispatcher no
 * longer has, so there is nothing to mark there and no breaker to move. */
static void gwf_rpc_removed_fault(rpc_t *rpc, void *ctx, int idx)
{
	gwf_gw_t gw;

	if(gwf_gw_snapshot(idx, &gw) < 0) {
		rpc->fault(ctx, 500, "gateway slot %d vanished", idx);
		return;
	}
	rpc->fault(ctx, 404, "gateway %s in set %d was removed from the dispatcher",
			gw.uri, gw.set_id);
}

/* <uri> [set] from a[0], a[<set_at>]; the resolved slot or -1 (fault). */
static int gwf_rpc_target(
		rpc_t *rpc, void *ctx, str *a, int n, int set_at, const char *usage)
{
	int set = -1;

	if(n < 1) {
		rpc->fault(ctx, 400, "missing gateway URI; usage: %s", usage);
		return -1;
	}
	if(gwf_rpc_uri_arg(rpc, ctx, &a[0], usage) < 0)
		return -1;
	if(n > set_at && gwf_rpc_set_arg(rpc, ctx, &a[set_at], &set) < 0)
		return -1;
	return gwf_rpc_resolve(rpc, ctx, &a[0], set);
}

static const char *gwf_rpc_get_doc[2] = {
		"Show one gateway: <uri> [set] (the set is needed only when the URI"
		" is in several sets).",
		0};

static void gwf_rpc_get(rpc_t *rpc, void *ctx)
{
	str a[2];
	int n, idx;

	n = gwf_rpc_args(rpc, ctx, a, 2, GWF_USAGE_GET);
	if(n < 0 || (idx = gwf_rpc_target(rpc, ctx, a, n, 1, GWF_USAGE_GET)) < 0)
		return;
	gwf_rpc_gw(rpc, ctx, idx);
}

static const char *gwf_rpc_eject_doc[2] = {
		"Eject a gateway now: <uri> [seconds] [set]; default seconds:"
		" eject_time_s. Marks it inactive in the dispatcher.",
		0};

static void gwf_rpc_eject(rpc_t *rpc, void *ctx)
{
	str a[3];
	long secs = (long)(_gwf_cfg.brk.open_ms / 1000u);
	int n, idx;

	n = gwf_rpc_args(rpc, ctx, a, 3, GWF_USAGE_EJECT);
	if(n < 0)
		return;
	if(n >= 2 && gwf_rpc_int(&a[1], 1, GWF_EJECT_LIMIT_S, &secs) < 0) {
		rpc->fault(ctx, 400,
				"invalid seconds '" GWF_ARG_FMT "': expected 1..%d",
				GWF_ARG(a[1]), GWF_EJECT_LIMIT_S);
		return;
	}
	if((idx = gwf_rpc_target(rpc, ctx, a, n, 2, GWF_USAGE_EJECT)) < 0)
		return;
	if(gwf_gw_eject(idx, (uint32_t)secs) < 0) {
		gwf_rpc_removed_fault(rpc, ctx, idx);
		return;
	}
	gwf_rpc_gw(rpc, ctx, idx);
}

static const char *gwf_rpc_restore_doc[2] = {
		"Restore a gateway now: <uri> [set]. Closes its breaker and marks"
		" it active in the dispatcher.",
		0};

static void gwf_rpc_restore(rpc_t *rpc, void *ctx)
{
	str a[2];
	int n, idx;

	n = gwf_rpc_args(rpc, ctx, a, 2, GWF_USAGE_RESTORE);
	if(n < 0
			|| (idx = gwf_rpc_target(rpc, ctx, a, n, 1, GWF_USAGE_RESTORE)) < 0)
		return;
	if(gwf_gw_restore(idx) < 0) {
		gwf_rpc_removed_fault(rpc, ctx, idx);
		return;
	}
	gwf_rpc_gw(rpc, ctx, idx);
}

/* ---- gwfailover.reset ---- */

static const char *gwf_rpc_reset_doc[2] = {
		"Clear the counters of one gateway (<uri> [set]) or of all (no"
		" argument, or 'all' [set]); breaker states stay.",
		0};

static void gwf_rpc_reset(rpc_t *rpc, void *ctx)
{
	str a[2];
	gwf_gw_t gw;
	unsigned i;
	int n, idx, set = -1, count = 0;
	void *h;

	n = gwf_rpc_args(rpc, ctx, a, 2, GWF_USAGE_RESET);
	if(n < 0)
		return;
	if(n == 0 || (a[0].len == 3 && strncasecmp(a[0].s, "all", 3) == 0)) {
		if(n == 2 && gwf_rpc_set_arg(rpc, ctx, &a[1], &set) < 0)
			return;
		for(i = 0; i < gwf_gw_slots(); i++) {
			if(gwf_gw_snapshot((int)i, &gw) < 0
					|| (set >= 0 && gw.set_id != set))
				continue;
			gwf_gw_reset((int)i);
			count++;
		}
	} else {
		if((idx = gwf_rpc_target(rpc, ctx, a, n, 1, GWF_USAGE_RESET)) < 0)
			return;
		gwf_gw_reset(idx);
		count = 1;
	}
	if(rpc->add(ctx, "{", &h) < 0
			|| rpc->struct_add(h, "d", "reset", count) < 0)
		rpc->fault(ctx, 500, "internal error building the reply");
}

/* ---- gwfailover.classify ---- */

static const char *gwf_rpc_classify_doc[2] = {
		"What the rules do with a failure: <code> [timeout|noanswer|"
		"unreachable|retry_after].",
		0};

static void gwf_rpc_classify(rpc_t *rpc, void *ctx)
{
	str a[2];
	gwf_failure_t f;
	gwf_verdict_t v;
	const char *kind = "reply", *source = "fallback";
	char rule[64] = "";
	long code;
	int n;
	void *h;

	n = gwf_rpc_args(rpc, ctx, a, 2, GWF_USAGE_CLASSIFY);
	if(n < 0)
		return;
	if(n < 1) {
		rpc->fault(ctx, 400, "missing code; usage: %s", GWF_USAGE_CLASSIFY);
		return;
	}
	if(gwf_rpc_int(&a[0], GWF_CODE_MIN, GWF_CODE_MAX, &code) < 0) {
		rpc->fault(ctx, 400,
				"invalid code '" GWF_ARG_FMT "': expected a SIP code 300..699",
				GWF_ARG(a[0]));
		return;
	}
	memset(&f, 0, sizeof(f));
	f.code = (int)code;
	f.retry_after_s = -1;
	if(n == 2) {
		if(a[1].len == 7 && strncasecmp(a[1].s, "timeout", 7) == 0) {
			kind = "timeout";
			f.local_timeout = 1;
		} else if(a[1].len == 8 && strncasecmp(a[1].s, "noanswer", 8) == 0) {
			kind = "noanswer";
			f.local_timeout = 1;
			f.rang = 1;
		} else if(a[1].len == 11
				  && strncasecmp(a[1].s, "unreachable", 11) == 0) {
			/* the code is tm's local one (503): any is accepted */
			kind = "unreachable";
			f.unsent = 1;
		} else if(a[1].len == 11
				  && strncasecmp(a[1].s, "retry_after", 11) == 0) {
			f.retry_after_s = 60;
		} else {
			rpc->fault(ctx, 400,
					"unknown kind '" GWF_ARG_FMT "': expected timeout,"
					" noanswer, unreachable or retry_after",
					GWF_ARG(a[1]));
			return;
		}
		if(f.local_timeout && f.code != 408) {
			rpc->fault(ctx, 400, "a local %s is always code 408 (got %d)", kind,
					f.code);
			return;
		}
	}
	v = gwf_cls_classify(&_gwf_cfg.cls, &f);
	if(v.rule >= 0 && (unsigned)v.rule < _gwf_cfg.cls.n) {
		gwf_cls_rule_format(&_gwf_cfg.cls.rules[v.rule], rule, sizeof(rule));
		source = _gwf_cfg.cls.rules[v.rule].is_default ? "default" : "modparam";
	}
	if(rpc->add(ctx, "{", &h) < 0
			|| rpc->struct_add(h, "dsdssss", "code", f.code, "kind", kind,
					   "retry_after", f.retry_after_s >= 0 ? 1 : 0, "action",
					   gwf_action_name(v.action), "health",
					   gwf_health_name(v.health), "rule", rule, "source",
					   source)
					   < 0)
		rpc->fault(ctx, 500, "internal error building the reply");
}

/* ---- gwfailover.config ---- */

/* The webhook part of gwfailover.config (the secret is never shown). */
static int gwf_rpc_config_webhooks(rpc_t *rpc, void *ctx, void *h)
{
	const gwf_wh_params_t *p = &gwf_wh_params;
	void *arr;
	int i;

	if(rpc->struct_add(
			   h, "s[", "node_name", gwf_wh_node(), "webhook_urls", &arr)
			< 0)
		goto error;
	for(i = 0; gwf_wh_url(i) != NULL; i++)
		if(rpc->array_add(arr, "s", gwf_wh_url(i)) < 0)
			goto error;
	if(rpc->struct_add(h, "ddds", "webhook_timeout_ms", p->timeout_ms,
			   "webhook_connect_timeout_ms", p->connect_timeout_ms,
			   "webhook_verify_tls", p->verify_tls, "webhook_ca_file",
			   p->ca_file ? p->ca_file : "")
					< 0
			|| rpc->struct_add(h, "sdddd", "webhook_secret",
					   (p->secret && *p->secret) ? "(set)" : "",
					   "webhook_queue_size", p->queue_size, "webhook_retries",
					   p->retries, "webhook_retry_base_ms", p->retry_base_ms,
					   "webhook_retry_max_ms", p->retry_max_ms)
					   < 0
			|| rpc->struct_add(h, "dd", "webhook_flap_window_s",
					   p->flap_window_s, "webhook_flap_max", p->flap_max)
					   < 0)
		goto error;
	return 0;
error:
	rpc->fault(ctx, 500, "internal error building the reply");
	return -1;
}

static const char *gwf_rpc_config_doc[2] = {
		"The effective configuration, classification rules included.", 0};

/* progress_reply as set: "180 Ringing", or "" when off. */
static const char *gwf_rpc_progress(const gwf_config_t *c)
{
	static char buf[GWF_PROGRESS_REASON_MAX + 8];

	if(c->progress.code == 0)
		return "";
	snprintf(buf, sizeof(buf), "%d %s", c->progress.code, c->progress.reason);
	return buf;
}

static void gwf_rpc_config(rpc_t *rpc, void *ctx)
{
	const gwf_config_t *c = &_gwf_cfg;
	char rule[64], dry_run[96];
	void *h, *arr, *rh;
	unsigned i;
	str a[1];

	if(gwf_rpc_args(rpc, ctx, a, 0, "gwfailover.config") < 0)
		return;
	gwf_trigger_format(c->dry_run, dry_run, sizeof(dry_run));
	if(rpc->add(ctx, "{", &h) < 0
			|| rpc->struct_add(h, "dddd", "failure_threshold",
					   (int)c->brk.fail_threshold, "eject_time_s",
					   (int)(c->brk.open_ms / 1000u), "trial_calls",
					   (int)c->brk.trial_max, "trial_successes",
					   (int)c->brk.trial_successes)
					   < 0
			|| rpc->struct_add(h, "dddd", "silence_ms", (int)c->silence.ms,
					   "silence_floor_ms", (int)c->rtt.floor_ms,
					   "silence_invites", (int)c->silence.invites, "rescue",
					   c->rescue)
					   < 0
			|| rpc->struct_add(h, "dddds", "eject_time_max_s",
					   (int)(c->eject.max_ms / 1000u), "eject_jitter_percent",
					   (int)c->eject.jitter_pct, "eject_decay_successes",
					   (int)c->eject.decay_successes, "max_ejected_percent",
					   (int)c->max_ejected_percent, "dry_run", dry_run)
					   < 0
			|| rpc->struct_add(h, "ddds", "delay_base_ms",
					   (int)c->plan.backoff.base_ms, "delay_min_ms",
					   (int)c->plan.backoff.min_ms, "delay_max_ms",
					   (int)c->plan.backoff.max_ms, "jitter",
					   gwf_jitter_name(c->plan.backoff.jitter))
					   < 0
			|| rpc->struct_add(h, "dddddd", "max_attempts",
					   (int)c->plan.max_attempts, "time_budget_ms",
					   (int)c->plan.time_budget_ms, "retry_after_min_s",
					   (int)c->plan.retry_after_min_s, "retry_after_max_s",
					   (int)c->plan.retry_after_max_s, "max_gateways",
					   (int)c->max_gateways, "gateways_known",
					   (int)gwf_gw_count())
					   < 0
			|| rpc->struct_add(h, "dssss", "exhausted_code", c->exhausted_code,
					   "exhausted_reason", c->exhausted_reason,
					   "event_callback", c->event_callback, "progress_reply",
					   gwf_rpc_progress(c), "state_file", gwf_state_path())
					   < 0
			|| rpc->struct_add(h, "[", "rules", &arr) < 0) {
		rpc->fault(ctx, 500, "internal error building the reply");
		return;
	}
	if(gwf_rpc_config_webhooks(rpc, ctx, h) < 0)
		return;
	for(i = 0; i < c->cls.n; i++) {
		gwf_cls_rule_format(&c->cls.rules[i], rule, sizeof(rule));
		if(rpc->array_add(arr, "{", &rh) < 0
				|| rpc->struct_add(rh, "ss", "rule", rule, "source",
						   c->cls.rules[i].is_default ? "default" : "modparam")
						   < 0) {
			rpc->fault(ctx, 500, "internal error building the reply");
			return;
		}
	}
}

/* ---- gwfailover.webhook_status ---- */

static const char *gwf_rpc_webhook_status_doc[2] = {
		"Webhook delivery: queue depth and size, and per URL the deliveries"
		" sent, failed and retried, the last HTTP code and error, and how"
		" long ago the last error and the last success were.",
		0};

static int gwf_rpc_ago(uint64_t now, uint64_t then)
{
	return then == 0 ? -1 : (int)((now - then) / 1000u);
}

static void gwf_rpc_webhook_status(rpc_t *rpc, void *ctx)
{
	gwf_wh_status_t st;
	uint64_t now = gwf_now_ms();
	void *h, *arr, *uh;
	str a[1];
	int i;

	if(gwf_rpc_args(rpc, ctx, a, 0, "gwfailover.webhook_status") < 0)
		return;
	if(rpc->add(ctx, "{", &h) < 0
			|| rpc->struct_add(h, "dd[", "queue_depth",
					   (int)gwf_wh_queue_depth(), "queue_size",
					   (int)gwf_wh_queue_size(), "urls", &arr)
					   < 0) {
		rpc->fault(ctx, 500, "internal error building the reply");
		return;
	}
	for(i = 0; i < gwf_wh_url_count(); i++) {
		if(gwf_wh_status_get(i, &st) < 0)
			continue;
		if(rpc->array_add(arr, "{", &uh) < 0
				|| rpc->struct_add(uh, "suuudsdd", "url", st.url, "sent",
						   gwf_rpc_u32(st.sent), "failed",
						   gwf_rpc_u32(st.failed), "retried",
						   gwf_rpc_u32(st.retried), "last_http_code",
						   st.last_http_code, "last_error", st.last_error,
						   "last_error_ago_s",
						   gwf_rpc_ago(now, st.last_error_ms),
						   "last_success_ago_s",
						   gwf_rpc_ago(now, st.last_success_ms))
						   < 0) {
			rpc->fault(ctx, 500, "internal error building the reply");
			return;
		}
	}
}

/* clang-format off */
rpc_export_t gwf_rpc_cmds[] = {
	{"gwfailover.list",     gwf_rpc_list,     gwf_rpc_list_doc,     0},
	{"gwfailover.get",      gwf_rpc_get,      gwf_rpc_get_doc,      0},
	{"gwfailover.eject",    gwf_rpc_eject,    gwf_rpc_eject_doc,    0},
	{"gwfailover.restore",  gwf_rpc_restore,  gwf_rpc_restore_doc,  0},
	{"gwfailover.reset",    gwf_rpc_reset,    gwf_rpc_reset_doc,    0},
	{"gwfailover.classify", gwf_rpc_classify, gwf_rpc_classify_doc, 0},
	{"gwfailover.config",   gwf_rpc_config,   gwf_rpc_config_doc,   0},
	{"gwfailover.webhook_status", gwf_rpc_webhook_status,
		gwf_rpc_webhook_status_doc, 0},
	{0, 0, 0, 0}
};
/* clang-format on */
