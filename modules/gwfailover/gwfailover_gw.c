/*
 * gwfailover - the gateway table in shared memory and its lock.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include <string.h>
#include <unistd.h>

#include "core/dprint.h"
#include "core/locking.h"
#include "core/mem/shm_mem.h"
#include "core/rand/kam_rand.h"
#include "core/timer.h"
#include "core/timer_ticks.h"

#include "gwf_claim.h"
#include "gwf_guard.h"
#include "gwfailover.h"
#include "gwfailover_ds.h"
#include "gwfailover_dsrpc.h"
#include "gwfailover_event.h"
#include "gwfailover_gw.h"
#include "gwfailover_stats.h"
#include "gwfailover_wake.h"

static gwf_gwtab_t *_gwf_gw_table = NULL;
static gen_lock_t *_gwf_gw_lock = NULL;

/* ---- sets: is any gateway of a set healthy? ---- */

#define GWF_MAX_SETS 256 /* sets tracked for set-down/set-up events */

/* In shm with the table, under the table lock. Removed gateways are in no
 * count (gwf_setcount_t). */
static gwf_setcount_t *_gwf_sets = NULL;
static int *_gwf_nsets = NULL;
/* Sets in panic now, so a success looks its set up only while one is. In
 * shm with the table, under the table lock. */
static uint32_t *_gwf_npanics = NULL;

int gwf_gw_init(unsigned max_gw)
{
	size_t bytes = gwf_gwtab_bytes(max_gw);

	if(bytes == 0) {
		LM_ERR("gateway table for %u gateways is too large\n", max_gw);
		return -1;
	}
	_gwf_gw_table = shm_malloc(bytes);
	if(_gwf_gw_table == NULL) {
		SHM_MEM_ERROR_FMT("gateway table (%zu bytes)\n", bytes);
		return -1;
	}
	memset(_gwf_gw_table, 0, bytes);
	gwf_gwtab_init(_gwf_gw_table, max_gw);
	_gwf_nsets = shm_malloc(
			2 * sizeof(uint64_t) + GWF_MAX_SETS * sizeof(gwf_setcount_t));
	if(_gwf_nsets == NULL) {
		SHM_MEM_ERROR_FMT("set counts\n");
		gwf_gw_destroy();
		return -1;
	}
	*_gwf_nsets = 0;
	_gwf_npanics = (uint32_t *)((uint64_t *)_gwf_nsets + 1);
	*_gwf_npanics = 0;
	_gwf_sets = (gwf_setcount_t *)((uint64_t *)_gwf_nsets + 2);

	_gwf_gw_lock = lock_alloc();
	if(_gwf_gw_lock == NULL || lock_init(_gwf_gw_lock) == NULL) {
		SHM_MEM_ERROR_FMT("gateway table lock\n");
		gwf_gw_destroy();
		return -1;
	}
	return gwf_stats_gauge("gateways_down", gwf_gw_down_count,
			"gateways ejected or half-open now");
}

void gwf_gw_destroy(void)
{
	if(_gwf_gw_lock != NULL) {
		lock_destroy(_gwf_gw_lock);
		lock_dealloc(_gwf_gw_lock);
		_gwf_gw_lock = NULL;
	}
	if(_gwf_gw_table != NULL) {
		shm_free(_gwf_gw_table);
		_gwf_gw_table = NULL;
	}
	if(_gwf_nsets != NULL) {
		shm_free(_gwf_nsets);
		_gwf_nsets = NULL;
		_gwf_sets = NULL;
	}
}

/* ---- health transitions ---- */

/* Orders the dispatcher updates of all processes: without it two processes
 * could compute opposite states and apply them in the wrong order. Never
 * held with the table lock taken first. */
static gen_lock_t *_gwf_ds_sync_lock = NULL;
static int _gwf_gw_full_logged = 0;

int gwf_gw_init_sync(void)
{
	_gwf_ds_sync_lock = lock_alloc();
	if(_gwf_ds_sync_lock == NULL || lock_init(_gwf_ds_sync_lock) == NULL) {
		SHM_MEM_ERROR_FMT("dispatcher sync lock\n");
		return -1;
	}
	return 0;
}

void gwf_gw_destroy_sync(void)
{
	if(_gwf_ds_sync_lock != NULL) {
		lock_destroy(_gwf_ds_sync_lock);
		lock_dealloc(_gwf_ds_sync_lock);
		_gwf_ds_sync_lock = NULL;
	}
}

/* Should the dispatcher offer this gateway to new calls?
 * (expects the table lock to be taken) */
static int gwf_gw_want_active_locked(const gwf_gw_t *gw)
{
	switch(gw->brk.state) {
		case GWF_BRK_CLOSED:
			return 1;
		case GWF_BRK_HALF_OPEN:
			/* selectable while trial slots are free: this is what bounds
			 * the trial calls that ds_select_dst() hands out */
			return gw->brk.trials_inflight < _gwf_cfg.brk.trial_max;
		default:
			return 0;
	}
}

/* Bring the dispatcher state of slot <idx> in line with its breaker; with
 * <force>, set it even if it looks right already (an operator action must
 * win over a state someone else set). */
static void gwf_gw_sync_ds(int idx, int force)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	char uri_buf[GWF_URI_MAX + 1];
	str uri;
	int set, want, change;

	if(gw == NULL)
		return;
	lock_get(_gwf_ds_sync_lock);
	lock_get(_gwf_gw_lock);
	want = gwf_gw_want_active_locked(gw);
	/* the dispatcher does not have a removed gateway: nothing to set */
	change = !gw->removed && (force || (want == gw->ds_down));
	set = gw->set_id;
	memcpy(uri_buf, gw->uri, gw->uri_len);
	uri.s = uri_buf;
	uri.len = gw->uri_len;
	lock_release(_gwf_gw_lock);
	/* ds_down follows what the dispatcher really got, so the timer sweep
	 * never mistakes a failed update for a revival. */
	if(change && gwf_ds_set_state(set, &uri, want) == 0) {
		lock_get(_gwf_gw_lock);
		if(!gw->removed) /* removed meanwhile: ds_down stays clear */
			gw->ds_down = !want;
		lock_release(_gwf_gw_lock);
	}
	lock_release(_gwf_ds_sync_lock);
}

static gwf_setcount_t *gwf_gw_set_locked(int set_id, int add)
{
	int i;

	for(i = 0; i < *_gwf_nsets; i++)
		if(_gwf_sets[i].set_id == set_id)
			return &_gwf_sets[i];
	if(!add || *_gwf_nsets >= GWF_MAX_SETS)
		return NULL;
	gwf_setcount_init(&_gwf_sets[*_gwf_nsets], set_id);
	return &_gwf_sets[(*_gwf_nsets)++];
}

/* Is <s> a set whose ejected gateways are re-tested every
 * GWF_PANIC_RETEST_MS: in panic, or without a healthy gateway?
 * (expects the table lock to be taken) */
static int gwf_gw_set_retests(const gwf_setcount_t *s)
{
	return s->panic || (s->members > 0 && s->healthy == 0);
}

/* The same for the set of id <set_id>. (expects the table lock) */
static int gwf_gw_set_retests_locked(int set_id)
{
	gwf_setcount_t *sc = gwf_gw_set_locked(set_id, 0);

	return sc != NULL && gwf_gw_set_retests(sc);
}

/* Queue the event set <sc> owes now, if any (gwf_setcount_judge()).
 * (expects the table lock to be taken) */
static void gwf_gw_set_judge_locked(gwf_setcount_t *sc)
{
	gwf_set_ev_t e = gwf_setcount_judge(sc);
	gwf_event_t ev;

	if(e == GWF_SET_EV_NONE)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = e == GWF_SET_EV_DOWN ? GWF_EV_SET_DOWN : GWF_EV_SET_UP;
	ev.set_id = sc->set_id;
	ev.set_gateways = sc->members;
	ev.set_healthy = sc->healthy;
	gwf_event_emit(&ev);
}

/* Set <set_id> gains <members> gateways and <healthy> healthy ones (either
 * may be negative); when it has no healthy gateway left, or one again,
 * queue a set event. (expects the table lock to be taken) */
static void gwf_gw_set_change_locked(int set_id, int members, int healthy)
{
	gwf_setcount_t *sc = gwf_gw_set_locked(set_id, 1);

	if(sc == NULL)
		return; /* more than GWF_MAX_SETS sets: not tracked */
	gwf_setcount_add(sc, members, healthy);
	gwf_gw_set_judge_locked(sc);
}

/* A breaker transition, captured under the table lock and acted on after
 * unlocking: counters, log line, dispatcher state. */
typedef struct gwf_trans
{
	gwf_brk_trans_t tr;
	gwf_brk_state_t prev; /* state before the transition */
	int half;			  /* HALF_OPEN after: trial slots may have moved */
	uint32_t open_ms;	  /* OPENED: how long */
	/* an automatic ejection that was not made (tr is NONE then) */
	uint8_t dry_run;	 /* its trigger only detects */
	uint8_t refused;	 /* the guard of the set refused it */
	uint8_t panic_start; /* ... and the set entered panic with it */
	uint8_t panic_end;	 /* a success ended the panic of the set */
	uint32_t refused_n;	 /* panic_end: ejections refused in the panic */
	char why[GWF_EV_REASON_MAX];
} gwf_trans_t;

#define GWF_TRANS_NONE                                       \
	{                                                        \
		GWF_BRK_T_NONE, GWF_BRK_CLOSED, 0, 0, 0, 0, 0, 0, 0, \
		{                                                    \
			0                                                \
		}                                                    \
	}

/* ---- calls in flight: silence, trial calls, rescue ---- */

/* Are INVITEs in flight tracked (gwf_flight)? For the rescue, and for
 * the silence of trial calls. Fixed after mod_init. */
static int gwf_gw_tracking(void)
{
	return _gwf_cfg.rescue || _gwf_cfg.silence.ms != 0;
}

/* <gw> was ejected: if calls are in flight to it, the resume process
 * rescues them (gwf_gw_rescue_take()). (expects the table lock) */
static void gwf_gw_rescue_due_locked(gwf_gw_t *gw)
{
	if(!_gwf_cfg.rescue || gw->fl.n == 0 || gw->rescue_due)
		return;
	gw->rescue_due = 1;
	_gwf_gw_table->rescues_due++;
}

/* Put <node> (an INVITE forwarded to <gw> now) on its flight list.
 * Returns 1 if the resume process should be woken: a call routed a moment
 * before the ejection of its gateway (chosen before the dispatcher was
 * told) is rescued as the others, at once. (expects the table lock) */
static int gwf_gw_flight_push_locked(gwf_gw_t *gw, gwf_flight_node_t *node)
{
	if(!gwf_gw_tracking())
		return 0;
	gwf_flight_push(&gw->fl, node);
	_gwf_gw_table->in_flight++;
	if(gw->brk.state != GWF_BRK_OPEN || !_gwf_cfg.rescue)
		return 0;
	gwf_gw_rescue_due_locked(gw);
	return 1;
}

/* Take <node> off the flight list of <gw>. (expects the table lock) */
static void gwf_gw_flight_unlink_locked(gwf_gw_t *gw, gwf_flight_node_t *node)
{
	if(gwf_flight_unlink(&gw->fl, node) && _gwf_gw_table->in_flight > 0)
		_gwf_gw_table->in_flight--;
}

/* The silence timeout of <gw> now: learnt from its replies. */
static uint32_t gwf_gw_silence_timeout_locked(const gwf_gw_t *gw)
{
	return gwf_rtt_timeout(&gw->rtt, &_gwf_cfg.rtt);
}

static gwf_ev_kind_t gwf_gw_ev_kind(const gwf_trans_t *t)
{
	switch(t->tr) {
		case GWF_BRK_T_OPENED:
			return t->prev == GWF_BRK_CLOSED ? GWF_EV_DOWN : GWF_EV_REOPENED;
		case GWF_BRK_T_HALF_OPENED:
			return GWF_EV_HALF_OPEN;
		default:
			return GWF_EV_UP;
	}
}

/* Fill <ev> of <kind> about <gw>, whose state was <prev>, caused by <why>
 * (<code>, 0: its last failure), with the reason of <t>.
 * (expects the table lock to be taken) */
static void gwf_gw_event_fill_locked(gwf_event_t *ev, gwf_gw_t *gw,
		gwf_ev_kind_t kind, gwf_brk_state_t prev, const gwf_trans_t *t,
		gwf_why_t why, int code)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->why = why;
	ev->prev = prev;
	ev->set_id = gw->set_id;
	ev->ncodes = (int)gwf_gwstats_recent(&gw->st, ev->codes);
	ev->code = code ? code : gw->st.last_code;
	ev->consec_faults = gw->brk.consec_faults;
	ev->ejections = gw->st.ejections;
	ev->eject_mult = gw->ej.mult;
	ev->next_eject_ms = gwf_eject_next_ms(&_gwf_cfg.eject, gw->ej.mult);
	memcpy(ev->uri, gw->uri, (size_t)gw->uri_len + 1);
	memcpy(ev->reason, t->why, sizeof(ev->reason));
}

static void gwf_gw_emit_locked(
		gwf_gw_t *gw, const gwf_trans_t *t, gwf_why_t why, int code);

/* Book transition <tr> of <gw>, which was in state <prev>, caused by <why>
 * (<code>, <arg>), and queue its event. Queued under the table lock so the
 * events of one gateway keep the order of its transitions.
 * (expects the table lock to be taken) */
static void gwf_gw_trans_locked(gwf_gw_t *gw, gwf_trans_t *t,
		gwf_brk_trans_t tr, gwf_brk_state_t prev, gwf_why_t why, int code,
		uint32_t arg)
{
	memset(t, 0, offsetof(gwf_trans_t, why));
	t->tr = tr;
	t->prev = prev;
	t->half = (gw->brk.state == GWF_BRK_HALF_OPEN);
	t->why[0] = '\0';
	if(tr == GWF_BRK_T_NONE)
		return;
	if(tr == GWF_BRK_T_HALF_OPENED && why == GWF_WHY_NONE)
		why = GWF_WHY_TIME_OVER;
	/* INVITEs sent in the old state say nothing about silence in the new
	 * one (a restored gateway must not inherit an old count) */
	gwf_silence_heard(&gw->sil);
	gw->restored = 0;
	gw->why = why;
	gw->why_code = code;
	gw->why_arg = arg;
	if(tr == GWF_BRK_T_OPENED) {
		gw->st.ejections++;
		gwf_gwtab_note_open(_gwf_gw_table, gw);
		gwf_gw_rescue_due_locked(gw);
		t->open_ms = (uint32_t)(gw->brk.open_until_ms - gw->brk.since_ms);
		if(prev == GWF_BRK_CLOSED)
			_gwf_gw_table->down++;
	} else if(tr == GWF_BRK_T_CLOSED && prev != GWF_BRK_CLOSED) {
		if(_gwf_gw_table->down > 0)
			_gwf_gw_table->down--;
	}
	gwf_why_format(why, code, arg, t->why, sizeof(t->why));

	if(gwf_event_wanted(gwf_gw_ev_kind(t)))
		gwf_gw_emit_locked(gw, t, why, code);
	/* healthy = closed: only leaving or entering CLOSED changes a set;
	 * after the gateway's own event, so receivers see the cause first */
	if(tr == GWF_BRK_T_OPENED && prev == GWF_BRK_CLOSED)
		gwf_gw_set_change_locked(gw->set_id, 0, -1);
	else if(tr == GWF_BRK_T_CLOSED && prev != GWF_BRK_CLOSED)
		gwf_gw_set_change_locked(gw->set_id, 0, +1);
}

/* Queue the event of transition <t> of <gw>. (expects the table lock to
 * be taken) */
static void gwf_gw_emit_locked(
		gwf_gw_t *gw, const gwf_trans_t *t, gwf_why_t why, int code)
{
	gwf_event_t ev;

	gwf_gw_event_fill_locked(&ev, gw, gwf_gw_ev_kind(t), t->prev, t, why, code);
	ev.open_ms = t->open_ms;
	gwf_event_emit(&ev);
}

/* Log and count an automatic ejection of <gw> that <t> says was not made,
 * and the panic of its set (after unlocking). */
static void gwf_gw_report_kept(gwf_gw_t *gw, const gwf_trans_t *t)
{
	if(t->dry_run) {
		gwf_stat_inc(GWF_ST_EJECTIONS_DRY_RUN);
		LM_NOTICE("dry-run: would eject gateway %s (set %d): %s\n", gw->uri,
				gw->set_id, t->why);
	}
	if(t->refused) {
		gwf_stat_inc(GWF_ST_EJECTIONS_REFUSED);
		if(t->panic_start) {
			/* its ejected gateways are due for a re-test now */
			gwf_wake_signal(gwf_wake_resume());
			LM_WARN("set %d in panic: gateway %s not ejected (%s): the"
					" set may lose no more gateways (max_ejected_percent"
					" %u); its ejected gateways are re-tested every %d ms"
					"\n",
					gw->set_id, gw->uri, t->why, _gwf_cfg.max_ejected_percent,
					GWF_PANIC_RETEST_MS);
		} else
			LM_DBG("set %d in panic: gateway %s not ejected (%s)\n", gw->set_id,
					gw->uri, t->why);
	}
	if(t->panic_end)
		LM_NOTICE("set %d out of panic: gateway %s answered a call; %u"
				  " ejection%s refused meanwhile\n",
				gw->set_id, gw->uri, t->refused_n,
				t->refused_n == 1 ? "" : "s");
}

/* Log and count transition <t> of slot <idx> (after unlocking). */
static void gwf_gw_report(int idx, const gwf_trans_t *t)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);

	/* set and URI of a slot never change: no lock needed */
	if(t->dry_run || t->refused || t->panic_end)
		gwf_gw_report_kept(gw, t);
	switch(t->tr) {
		case GWF_BRK_T_OPENED:
			/* a new deadline, maybe before the resume process wakes */
			gwf_wake_signal(gwf_wake_resume());
			gwf_stat_inc(GWF_ST_EJECTIONS);
			LM_WARN("gateway %s (set %d) ejected for %u ms: %s\n", gw->uri,
					gw->set_id, t->open_ms, t->why);
			break;
		case GWF_BRK_T_HALF_OPENED:
			gwf_stat_inc(GWF_ST_HALF_OPENS);
			LM_NOTICE("gateway %s (set %d) half-open: %s, trial calls"
					  " allowed\n",
					gw->uri, gw->set_id, t->why);
			break;
		case GWF_BRK_T_CLOSED:
			gwf_stat_inc(GWF_ST_RESTORATIONS);
			LM_NOTICE("gateway %s (set %d) restored: %s\n", gw->uri, gw->set_id,
					t->why);
			break;
		default:
			break;
	}
}

/* After unlocking: report transition <t> of slot <idx> and bring the
 * dispatcher in line when the state changed or trial slots moved. */
static void gwf_gw_after(int idx, const gwf_trans_t *t)
{
	if(t->tr != GWF_BRK_T_NONE || t->dry_run || t->refused || t->panic_end)
		gwf_gw_report(idx, t);
	if(t->tr != GWF_BRK_T_NONE || t->half)
		gwf_gw_sync_ds(idx, 0);
}

/* <gw> stays in although an ejection was due: its count of faults and of
 * unanswered INVITEs starts over, so a fault that goes on is judged again
 * after the same evidence. (expects the table lock to be taken) */
static void gwf_gw_keep_locked(gwf_gw_t *gw)
{
	gw->brk.consec_faults = 0;
	gwf_silence_heard(&gw->sil);
}

/* Queue a gateway event of <kind> about <gw> that changes no state (a
 * dry-run detection, the panic of its set): the ejection that was due,
 * for <why> (<code>), with reason <t>->why; before the gateway's counts
 * start over, so the event shows the faults that led to it.
 * (expects the table lock to be taken) */
static void gwf_gw_emit_kept_locked(gwf_gw_t *gw, gwf_ev_kind_t kind,
		const gwf_trans_t *t, gwf_why_t why, int code)
{
	gwf_setcount_t *sc;
	gwf_event_t ev;

	if(!gwf_event_wanted(kind))
		return;
	gwf_gw_event_fill_locked(&ev, gw, kind, gw->brk.state, t, why, code);
	sc = gwf_gw_set_locked(gw->set_id, 0);
	if(sc != NULL) {
		ev.set_gateways = sc->members;
		ev.set_healthy = sc->healthy;
	}
	gwf_event_emit(&ev);
}

/* The set of <gw> served a call: if it was in panic, that is over.
 * (expects the table lock to be taken) */
static void gwf_gw_calm_locked(gwf_gw_t *gw, gwf_trans_t *t)
{
	gwf_setcount_t *sc;
	gwf_event_t ev;

	if(*_gwf_npanics == 0)
		return; /* the common case: one read */
	sc = gwf_gw_set_locked(gw->set_id, 0);
	if(sc == NULL || !sc->panic)
		return;
	sc->panic = 0;
	(*_gwf_npanics)--;
	t->panic_end = 1;
	t->refused_n = sc->refused;
	if(gwf_event_wanted(GWF_EV_SET_CALM)) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = GWF_EV_SET_CALM;
		ev.set_id = sc->set_id;
		ev.set_gateways = sc->members;
		ev.set_healthy = sc->healthy;
		ev.refused = sc->refused;
		gwf_event_emit(&ev);
	}
	sc->refused = 0;
}

/* May the closed <gw> be ejected automatically: does its set keep enough
 * gateways (max_ejected_percent)? Out are the gateways not closed, and the
 * closed ones the dispatcher itself does not offer (its OPTIONS probing or
 * an operator made them inactive): the set must keep one that takes calls.
 * A set beyond GWF_MAX_SETS is not counted, and is never ejected from
 * automatically below 100 percent (as without the module). Sets <*scp>.
 * (expects the table lock to be taken) */
static int gwf_gw_guard_allows_locked(gwf_gw_t *gw, gwf_setcount_t **scp)
{
	gwf_setcount_t *sc = gwf_gw_set_locked(gw->set_id, 0);
	uint32_t out, i;
	gwf_gw_t *g;

	*scp = sc;
	if(_gwf_cfg.max_ejected_percent >= 100)
		return 1;
	if(sc == NULL)
		return 0;
	out = sc->members - sc->healthy;
	/* only when an ejection is due: a walk of the table, not per call */
	for(i = 0; i < _gwf_gw_table->count; i++) {
		g = &_gwf_gw_table->entries[i];
		if(g->set_id == gw->set_id && !g->removed && g->ds_inactive
				&& g->brk.state == GWF_BRK_CLOSED && g != gw)
			out++;
	}
	return gwf_guard_may_eject(sc->members, out, _gwf_cfg.max_ejected_percent);
}

/* An automatic ejection of <gw>, caused by <trig> (<why>, <code>, <arg>
 * for its reason), is due at <now>. Decide it and carry it out, filling
 * <t>:
 *   - a trigger listed in dry_run only detects: counted, logged and posted
 *     as a webhook with "enforced": false; the gateway keeps its state;
 *   - a closed gateway whose set may lose no more gateways (the guard,
 *     max_ejected_percent) stays in: refused, and the set is in panic
 *     until one of its gateways answers a call;
 *   - otherwise it is ejected: by Retry-After for <ms>, the carrier's
 *     time as it is; by any other trigger for its next grown and
 *     jittered length (gwf_eject; <ms> unused).
 * A gateway kept in starts over its count of faults and silence. An OPEN
 * gateway (a late failure of a call sent before) only has a Retry-After
 * deadline moved out. (expects the table lock to be taken) */
static void gwf_gw_auto_eject_locked(gwf_gw_t *gw, gwf_trigger_t trig,
		uint32_t ms, uint64_t now, gwf_why_t why, int code, uint32_t arg,
		gwf_trans_t *t)
{
	gwf_brk_state_t prev = gw->brk.state;
	gwf_setcount_t *sc;
	gwf_brk_trans_t tr;
	uint64_t before;

	gwf_gw_trans_locked(gw, t, GWF_BRK_T_NONE, prev, why, code, arg);
	if(_gwf_cfg.dry_run & (1u << trig)) {
		if(prev == GWF_BRK_OPEN)
			return; /* out already: nothing to detect */
		t->dry_run = 1;
		gwf_why_format(why, code, arg, t->why, sizeof(t->why));
		gwf_gw_emit_kept_locked(gw, GWF_EV_WOULD_EJECT, t, why, code);
		gwf_gw_keep_locked(gw);
		return;
	}
	if(prev == GWF_BRK_OPEN) {
		/* a late failure of a call sent before the ejection: only the
		 * carrier's Retry-After moves the deadline out (never in), and
		 * an operator's ejection stays the operator's */
		before = gw->brk.open_until_ms;
		if(trig == GWF_TRIG_RETRY_AFTER
				&& gwf_brk_eject(&gw->brk, ms, now) == GWF_BRK_T_NONE
				&& gw->brk.open_until_ms != before) {
			if(gw->why != GWF_WHY_MANUAL_EJECT) {
				gw->why = why;
				gw->why_code = code;
				gw->why_arg = arg;
			}
			gwf_gwtab_note_open(_gwf_gw_table, gw);
		}
		return;
	}
	if(prev == GWF_BRK_CLOSED && !gwf_gw_guard_allows_locked(gw, &sc)) {
		t->refused = 1;
		gwf_why_format(why, code, arg, t->why, sizeof(t->why));
		if(sc == NULL) { /* a set beyond GWF_MAX_SETS: no panic state */
			gwf_gw_keep_locked(gw);
			return;
		}
		sc->refused++;
		if(!sc->panic) {
			sc->panic = 1;
			(*_gwf_npanics)++;
			t->panic_start = 1;
			gwf_gw_emit_kept_locked(gw, GWF_EV_SET_PANIC, t, why, code);
		}
		gwf_gw_keep_locked(gw);
		return;
	}
	/* Retry-After: the carrier's time as it is (0 too). A failed re-test
	 * of a set in panic is no new ejection in a row: it does not grow the
	 * record (a long outage would otherwise leave it at its maximum). */
	if(trig == GWF_TRIG_TRIAL && gwf_gw_set_retests_locked(gw->set_id))
		ms = GWF_PANIC_RETEST_MS;
	else if(trig != GWF_TRIG_RETRY_AFTER)
		ms = gwf_eject_start(&_gwf_cfg.eject, &gw->ej,
				(uint32_t)kam_rand() ^ ((uint32_t)kam_rand() << 16));
	tr = gwf_brk_eject(&gw->brk, ms, now);
	gwf_gw_trans_locked(gw, t, tr, prev, why, code, arg);
}

/* Is the closed <gw> silent at <now>: silence_invites INVITEs without a
 * reply since it was last heard, the oldest older than its learnt
 * timeout? Then the timeout backs off (RFC 6298 5.5: were it a slow
 * gateway, not a dead one, the next judgement waits longer) and the
 * gateway is ejected, filling <t>. Returns 1 if it was silent.
 * (expects the table lock to be taken) */
static int gwf_gw_silent_locked(gwf_gw_t *gw, uint64_t now, gwf_trans_t *t)
{
	gwf_silence_cfg_t cfg = _gwf_cfg.silence;
	uint32_t n;

	cfg.ms = gwf_gw_silence_timeout_locked(gw);
	if(!gwf_silence_check(&gw->sil, &cfg, now))
		return 0;
	n = gw->sil.unheard;
	gwf_rtt_backoff(&gw->rtt, &_gwf_cfg.rtt);
	gwf_gw_auto_eject_locked(
			gw, GWF_TRIG_SILENCE, 0, now, GWF_WHY_SILENT, 408, n, t);
	return 1;
}

/* An INVITE goes to <gw> at <now>: feed its silence detector and eject a
 * gateway that has not replied to silence_invites INVITEs, the oldest
 * older than its learnt timeout, filling <t>. Only CLOSED gateways: in
 * HALF_OPEN the trial calls decide. (expects the table lock to be taken) */
static void gwf_gw_sent_locked(gwf_gw_t *gw, uint64_t now, gwf_trans_t *t)
{
	if(_gwf_cfg.silence.ms == 0 || gw->brk.state != GWF_BRK_CLOSED
			|| gw->removed)
		return;
	gwf_silence_sent(&gw->sil, now);
	gwf_gw_silent_locked(gw, now, t);
}

/* A call is forwarded to <gw>: if the gateway is on trial the call takes
 * a trial slot when one is free (*trial, 0: none), else it counts for
 * silence detection; <node>, if not NULL, goes on the gateway's flight
 * list. Returns 1 if the resume process is to be woken. (expects the
 * table lock) */
static int gwf_gw_forward_locked(gwf_gw_t *gw, uint64_t now, uint32_t *trial,
		gwf_trans_t *t, gwf_flight_node_t *node)
{
	gwf_brk_trans_t tr = GWF_BRK_T_NONE;

	*trial = 0;
	if(gw->brk.state == GWF_BRK_HALF_OPEN) {
		gwf_brk_acquire(&gw->brk, &_gwf_cfg.brk, now, trial, &tr);
		gwf_gw_trans_locked(gw, t, tr, GWF_BRK_HALF_OPEN, GWF_WHY_NONE, 0, 0);
	} else {
		gwf_gw_sent_locked(gw, now, t);
	}
	if(node == NULL)
		return 0;
	node->trial = *trial;
	return gwf_gw_flight_push_locked(gw, node);
}

/* Find or add (<set>, <uri>); when <trial> is not NULL (an INVITE is being
 * forwarded to it), take a free trial slot (0 if none) of a half-open
 * gateway, or feed the silence detector of a closed one, filling <t>; with
 * <ds_flags> (the resume process's sweep found it in the dispatcher's
 * list, with these flags), note that the dispatcher has it and whether it
 * offers it to calls. One lock round: this runs for every forwarded call.
 *
 * A gateway marked removed (the dispatcher dropped it) is found as it is
 * and stays removed: a late lookup, e.g. from the destination xavp of a
 * call that was routed before the dispatcher.reload, changes nothing;
 * only a sweep that finds it in the dispatcher again brings it back. */
static int gwf_gw_find(int set, str *uri, uint32_t *trial, gwf_trans_t *t,
		const char *ds_flags, gwf_flight_node_t *node)
{
	gwf_gwtab_rc_t rc;
	gwf_gw_t *gw;
	uint64_t now = gwf_now_ms();
	uint32_t before;
	int idx = -1, wake = 0;

	lock_get(_gwf_gw_lock);
	before = _gwf_gw_table->count;
	gw = gwf_gwtab_get(_gwf_gw_table, set, uri->s, (size_t)uri->len, now, &rc);
	if(gw != NULL && _gwf_gw_table->count != before)
		gwf_gw_set_change_locked(set, 1, 1); /* new: closed */
	if(gw != NULL && ds_flags != NULL) {
		gwf_gwtab_seen(_gwf_gw_table, gw);
		gw->ds_inactive = ds_flags[0] == 'I' || ds_flags[0] == 'D';
	}
	if(gw != NULL) {
		idx = (int)(gw - _gwf_gw_table->entries);
		if(trial != NULL)
			wake = gwf_gw_forward_locked(gw, now, trial, t, node);
	}
	lock_release(_gwf_gw_lock);
	if(wake)
		gwf_wake_signal(gwf_wake_resume());
	if(gw == NULL && !_gwf_gw_full_logged) {
		/* process-local flag: at most one line per process */
		_gwf_gw_full_logged = 1;
		LM_ERR("gateway %.*s (set %d) not tracked: %s (max_gateways %u)\n",
				uri->len, uri->s, set, gwf_gwtab_rc_name(rc),
				_gwf_gw_table->max_gw);
	}
	return idx;
}

int gwf_gw_lookup(int set, str *uri)
{
	return gwf_gw_find(set, uri, NULL, NULL, NULL, NULL);
}

int gwf_gw_lookup_forward(
		int set, str *uri, uint32_t *trial, gwf_flight_node_t *node)
{
	gwf_trans_t t = GWF_TRANS_NONE;
	int idx;

	*trial = 0;
	idx = gwf_gw_find(set, uri, trial, &t, NULL, node);
	if(idx >= 0)
		gwf_gw_after(idx, &t);
	return idx;
}

int gwf_gw_forward_at(int idx, uint32_t *trial, gwf_flight_node_t *node)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	gwf_trans_t t = GWF_TRANS_NONE;
	uint64_t now = gwf_now_ms(); /* not under the table lock */
	int wake;

	*trial = 0;
	if(gw == NULL)
		return -1;
	lock_get(_gwf_gw_lock);
	wake = gwf_gw_forward_locked(gw, now, trial, &t, node);
	lock_release(_gwf_gw_lock);
	if(wake)
		gwf_wake_signal(gwf_wake_resume());
	gwf_gw_after(idx, &t);
	return idx;
}

int gwf_gw_uri_is(int idx, const str *uri)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);

	/* a slot's key never changes once taken: no lock needed */
	return gw != NULL && uri->len == (int)gw->uri_len
		   && memcmp(gw->uri, uri->s, (size_t)uri->len) == 0;
}

void gwf_gw_sent(int idx, uint32_t trial, gwf_flight_node_t *node)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	gwf_trans_t t = GWF_TRANS_NONE;
	int wake = 0;

	if(gw == NULL || !gwf_gw_tracking())
		return;
	lock_get(_gwf_gw_lock);
	/* a trial call is judged on its own (gwf_gw_flight_scan()) */
	if(trial == 0)
		gwf_gw_sent_locked(gw, gwf_now_ms(), &t);
	node->trial = trial;
	wake = gwf_gw_flight_push_locked(gw, node);
	lock_release(_gwf_gw_lock);
	if(wake)
		gwf_wake_signal(gwf_wake_resume());
	gwf_gw_after(idx, &t);
}

void gwf_gw_heard(int idx)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);

	/* Unlocked pre-check: under load another call's reply has often
	 * cleared the count already. A stale read only delays the reset to
	 * the next reply. */
	if(gw == NULL || _gwf_cfg.silence.ms == 0
			|| *(volatile uint32_t *)&gw->sil.unheard == 0)
		return;
	lock_get(_gwf_gw_lock);
	gwf_silence_heard(&gw->sil);
	lock_release(_gwf_gw_lock);
}

void gwf_gw_heard_late(int idx, int64_t sample_ms)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);

	if(gw == NULL)
		return;
	lock_get(_gwf_gw_lock);
	if(_gwf_cfg.silence.ms != 0)
		gwf_silence_heard(&gw->sil);
	if(sample_ms >= 0)
		gwf_rtt_sample(&gw->rtt, &_gwf_cfg.rtt,
				sample_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)sample_ms);
	lock_release(_gwf_gw_lock);
}

void gwf_gw_flight_drop(int idx, gwf_flight_node_t *node)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);

	/* Only the lock holder clears <linked>, and a node never goes back
	 * on a list: one that reads clear is off for good. */
	if(gw == NULL || !gwf_claimed(&node->linked))
		return;
	lock_get(_gwf_gw_lock);
	gwf_gw_flight_unlink_locked(gw, node);
	lock_release(_gwf_gw_lock);
}

void gwf_gw_rtt_backoff(int idx)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);

	if(gw == NULL || _gwf_cfg.silence.ms == 0)
		return;
	lock_get(_gwf_gw_lock);
	gwf_rtt_backoff(&gw->rtt, &_gwf_cfg.rtt);
	lock_release(_gwf_gw_lock);
}

/* Does the set of <gw> have another gateway that takes calls now: in the
 * dispatcher and offered by it, and closed, or half-open with a trial
 * slot free? Only then are calls rescued from <gw>: moving a call that
 * has nowhere to go would only end it early. (expects the table lock) */
static int gwf_gw_set_has_other_locked(const gwf_gw_t *gw)
{
	const gwf_gw_t *g;
	uint32_t i;

	for(i = 0; i < _gwf_gw_table->count; i++) {
		g = &_gwf_gw_table->entries[i];
		if(g == gw || g->set_id != gw->set_id || g->removed || g->ds_inactive)
			continue;
		if(g->brk.state == GWF_BRK_CLOSED
				|| (g->brk.state == GWF_BRK_HALF_OPEN
						&& g->brk.trials_inflight < _gwf_cfg.brk.trial_max))
			return 1;
	}
	return 0;
}

unsigned gwf_gw_rescue_take(uint32_t from, int *idx, gwf_flight_ref_t *out,
		unsigned max, int *kept, int *last)
{
	gwf_gw_t *gw = NULL;
	unsigned n = 0;
	uint32_t i;

	*idx = -1;
	*kept = 0;
	*last = 0;
	if(*(volatile uint32_t *)&_gwf_gw_table->rescues_due == 0)
		return 0;
	lock_get(_gwf_gw_lock);
	for(i = from; i < _gwf_gw_table->count; i++) {
		gw = &_gwf_gw_table->entries[i];
		if(gw->rescue_due)
			break;
		gw = NULL;
	}
	if(gw == NULL) {
		lock_release(_gwf_gw_lock);
		return 0;
	}
	*idx = (int)i;
	/* still ejected, and somewhere else to go: else the calls wait for
	 * their gateway as they would without the module */
	if(gw->brk.state == GWF_BRK_OPEN && gwf_gw_set_has_other_locked(gw)) {
		n = gwf_flight_take(&gw->fl, out, max);
		_gwf_gw_table->in_flight -=
				n < _gwf_gw_table->in_flight ? n : _gwf_gw_table->in_flight;
	} else if(gw->brk.state == GWF_BRK_OPEN) {
		*kept = (int)gw->fl.n;
	}
	/* still due while calls are left (a full batch, or calls not sent
	 * yet): the next round, or the next tick */
	if(*kept > 0 || gw->brk.state != GWF_BRK_OPEN || gw->fl.n == 0) {
		gw->rescue_due = 0;
		_gwf_gw_table->rescues_due--;
		*last = 1;
	}
	lock_release(_gwf_gw_lock);
	return n;
}

unsigned gwf_gw_rescued(int idx, unsigned n, int last)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	unsigned total = 0;

	if(gw == NULL)
		return 0;
	lock_get(_gwf_gw_lock);
	gw->st.rescued += n;
	gw->rescue_n += n;
	if(last) {
		total = gw->rescue_n;
		gw->rescue_n = 0;
	}
	lock_release(_gwf_gw_lock);
	return total;
}

/* A trial call to the half-open <gw> that has had no reply for the
 * gateway's silence timeout failed: the gateway is ejected again at once
 * (and the call rescued), instead of the call waiting its whole fr_timer
 * for a gateway that may still be dead. Each trial call is judged once.
 * (expects the table lock to be taken) */
static void gwf_gw_trial_silent_locked(
		gwf_gw_t *gw, uint64_t now, gwf_trans_t *t)
{
	gwf_flight_node_t *node;
	uint32_t timeout;

	node = gwf_flight_oldest_trial(&gw->fl, gw->brk.epoch);
	if(node == NULL)
		return;
	timeout = gwf_gw_silence_timeout_locked(gw);
	if(now < node->sent_ms || now - node->sent_ms < timeout)
		return;
	node->judged = 1;
	/* the call's outcome is this judgement: its own later end (a late
	 * answer, its fr_timer, the transaction freed) must not give the
	 * trial slot back a second time; the node's memory is valid here,
	 * it leaves the list under this lock before it is freed */
	if(node->outcome != NULL && !gwf_claim(node->outcome))
		return;
	gwf_rtt_backoff(&gw->rtt, &_gwf_cfg.rtt);
	gwf_eject_fault(&gw->ej);
	if(gwf_brk_would_open(
			   &gw->brk, &_gwf_cfg.brk, GWF_OUT_FAULT, node->trial)) {
		gwf_brk_record(
				&gw->brk, &_gwf_cfg.brk, GWF_OUT_NEUTRAL, node->trial, now);
		gwf_gw_auto_eject_locked(gw, GWF_TRIG_TRIAL, 0, now,
				GWF_WHY_TRIAL_SILENT, 408, timeout, t);
	}
}

/* gwf_flight_sweep() learner: a first-reply latency of gateway <arg>.
 * (expects the table lock) */
static void gwf_gw_learn_locked(void *arg, uint32_t ms)
{
	gwf_rtt_sample(&((gwf_gw_t *)arg)->rtt, &_gwf_cfg.rtt, ms);
}

/* Kamailio's core timer process, every tick (GWF_SILENCE_TICK_MS): closed
 * gateways silent for their timeout are ejected without waiting for the
 * next INVITE to them (a quiet trunk, the last calls before an outage),
 * unanswered trial calls are judged, and the answered calls leave their
 * lists. That process wakes on every tick anyway, so the check costs no
 * context switch of its own (a tick of the resume process cost about
 * 60 us of CPU, 20 times a second, loaded or idle); what it finds goes
 * on as from a worker: an ejection wakes the resume process, which
 * rescues the calls. */
static void gwf_gw_flight_scan(uint64_t now)
{
	gwf_trans_t t;
	gwf_gw_t *gw;
	uint32_t i, swept;
	int walked = 0;

	for(i = 0; i < _gwf_gw_table->count; i++) {
		gw = &_gwf_gw_table->entries[i];
		/* unlocked pre-check; a stale read only delays to the next tick */
		if(*(volatile uint32_t *)&gw->fl.n == 0
				&& (_gwf_cfg.silence.ms == 0
						|| *(volatile uint32_t *)&gw->sil.unheard
								   < _gwf_cfg.silence.invites))
			continue;
		/* It may be judged silent now: its set must count every gateway
		 * first (see gwf_gw_may_eject()); one walk per tick at most. A
		 * stale unlocked read only walks once too often, or leaves it to
		 * the sweep. */
		if(!walked && _gwf_cfg.silence.ms != 0
				&& *(volatile uint32_t *)&gw->sil.unheard
						   >= _gwf_cfg.silence.invites
				&& now >= *(volatile uint64_t *)&gw->sil.first_ms
								   + _gwf_cfg.rtt.floor_ms) {
			gwf_gw_learn_all();
			walked = 1;
		}
		t = (gwf_trans_t)GWF_TRANS_NONE;
		lock_get(_gwf_gw_lock);
		/* the answered calls leave, their latencies learnt: one lock
		 * hold for all of them instead of one per reply */
		swept = gwf_flight_sweep(&gw->fl, gwf_gw_learn_locked, gw);
		_gwf_gw_table->in_flight -= swept < _gwf_gw_table->in_flight
											? swept
											: _gwf_gw_table->in_flight;
		if(_gwf_cfg.silence.ms != 0 && !gw->removed
				&& gw->brk.state == GWF_BRK_CLOSED)
			gwf_gw_silent_locked(gw, now, &t);
		else if(_gwf_cfg.silence.ms != 0 && !gw->removed
				&& gw->brk.state == GWF_BRK_HALF_OPEN)
			gwf_gw_trial_silent_locked(gw, now, &t);
		lock_release(_gwf_gw_lock);
		gwf_gw_after((int)i, &t);
	}
}

#if GWF_SCAN_TICKS * 1000 / TIMER_TICKS_HZ != GWF_SILENCE_TICK_MS
#error "GWF_SILENCE_TICK_MS must be GWF_SCAN_TICKS core timer ticks"
#endif

static ticks_t gwf_gw_scan_timer(ticks_t ticks, struct timer_ln *tl, void *p)
{
	gwf_gw_flight_scan(gwf_now_ms());
	return (ticks_t)-1; /* periodic */
}

int gwf_gw_init_scan(void)
{
	struct timer_ln *tl;

	/* always: tracking may be switched on at run time (gwfailover.config);
	 * with nothing in flight a tick costs a read per gateway */
	tl = timer_alloc();
	if(tl == NULL) {
		SHM_MEM_ERROR_FMT("silence check timer\n");
		return -1;
	}
	timer_init(tl, gwf_gw_scan_timer, NULL, F_TIMER_FAST);
	if(timer_add(tl, GWF_SCAN_TICKS) != 0) {
		LM_ERR("cannot start the silence check timer\n");
		timer_free(tl);
		return -1;
	}
	return 0;
}

int gwf_gw_selectable(int idx)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	uint64_t now = gwf_now_ms();
	int ok;

	if(gw == NULL)
		return 1;
	lock_get(_gwf_gw_lock);
	switch(gw->brk.state) {
		case GWF_BRK_OPEN:
			ok = gw->brk.open_until_ms <= now;
			break;
		case GWF_BRK_HALF_OPEN:
			ok = gw->brk.trials_inflight < _gwf_cfg.brk.trial_max;
			break;
		default:
			ok = 1;
	}
	lock_release(_gwf_gw_lock);
	return ok;
}

int gwf_gw_acquire(int idx, uint32_t *trial)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	gwf_brk_trans_t tr = GWF_BRK_T_NONE;
	gwf_brk_state_t prev;
	gwf_trans_t t;
	int ok;

	*trial = 0;
	if(gw == NULL)
		return 1;
	lock_get(_gwf_gw_lock);
	prev = gw->brk.state;
	ok = gwf_brk_acquire(&gw->brk, &_gwf_cfg.brk, gwf_now_ms(), trial, &tr);
	gwf_gw_trans_locked(gw, &t, tr, prev, GWF_WHY_TIME_OVER, 0, 0);
	lock_release(_gwf_gw_lock);
	gwf_gw_after(idx, &t);
	return ok;
}

/* Record <out> at <now>; a failure carries its <code>. A fault that would
 * open the breaker is an automatic ejection (threshold, or a failed
 * trial), decided by gwf_gw_auto_eject_locked(). (expects the table lock
 * to be taken) */
static void gwf_gw_record_locked(gwf_gw_t *gw, uint32_t trial,
		gwf_outcome_t out, int code, uint64_t now, gwf_trans_t *t)
{
	gwf_brk_state_t prev = gw->brk.state;
	gwf_brk_trans_t tr;

	if(out == GWF_OUT_SUCCESS)
		gw->st.successes++;
	if(gw->removed) {
		/* a call sent before the dispatcher dropped the gateway: it
		 * counts in the totals, its breaker stays stopped */
		gwf_gw_trans_locked(gw, t, GWF_BRK_T_NONE, prev, GWF_WHY_NONE, code, 0);
		return;
	}
	if(out == GWF_OUT_FAULT) {
		gwf_eject_fault(&gw->ej);
		if(gwf_brk_would_open(&gw->brk, &_gwf_cfg.brk, out, trial)) {
			if(prev == GWF_BRK_HALF_OPEN) {
				/* the trial slot goes back whatever is decided */
				gwf_brk_record(
						&gw->brk, &_gwf_cfg.brk, GWF_OUT_NEUTRAL, trial, now);
				gwf_gw_auto_eject_locked(gw, GWF_TRIG_TRIAL, 0, now,
						GWF_WHY_TRIAL_FAILED, code, 0, t);
			} else {
				/* counted as the breaker would, for the reason shown */
				gw->brk.consec_faults++;
				gwf_gw_auto_eject_locked(gw, GWF_TRIG_THRESHOLD, 0, now,
						GWF_WHY_FAULTS, code, _gwf_cfg.brk.fail_threshold, t);
			}
			return;
		}
	}
	tr = gwf_brk_record(&gw->brk, &_gwf_cfg.brk, out, trial, now);
	if(tr == GWF_BRK_T_CLOSED)
		gwf_gw_trans_locked(gw, t, tr, prev, GWF_WHY_TRIAL_OK, 0,
				_gwf_cfg.brk.trial_successes);
	else
		gwf_gw_trans_locked(gw, t, tr, prev, GWF_WHY_NONE, code, 0);
	if(out == GWF_OUT_SUCCESS) {
		gwf_eject_success(&_gwf_cfg.eject, &gw->ej);
		gwf_gw_calm_locked(gw, t);
	}
}

static void gwf_gw_record(int idx, uint32_t trial, gwf_outcome_t out)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	gwf_trans_t t;

	if(gw == NULL)
		return;
	lock_get(_gwf_gw_lock);
	gwf_gw_record_locked(gw, trial, out, 0, gwf_now_ms(), &t);
	lock_release(_gwf_gw_lock);
	gwf_gw_after(idx, &t);
}

void gwf_gw_success(int idx, uint32_t trial)
{
	gwf_gw_record(idx, trial, GWF_OUT_SUCCESS);
}

void gwf_gw_neutral(int idx, uint32_t trial)
{
	gwf_gw_record(idx, trial, GWF_OUT_NEUTRAL);
}

/* Could a failure of <gw> judged <health> eject it now? Then its set must
 * count every gateway the dispatcher has (the guard, the set's events):
 * the resume process learns them at start and once a second, which is too
 * late for a set a dispatcher.reload has just added. The caller walks the
 * dispatcher first, holding no lock; ejections are rare, so the walk is
 * too. (takes the table lock) */
static int gwf_gw_may_eject(gwf_gw_t *gw, uint32_t trial, gwf_health_t health)
{
	int may;

	if(health == GWF_HEALTH_IGNORE)
		return 0;
	if(health == GWF_HEALTH_EJECT)
		return 1;
	lock_get(_gwf_gw_lock);
	may = !gw->removed
		  && gwf_brk_would_open(&gw->brk, &_gwf_cfg.brk, GWF_OUT_FAULT, trial);
	lock_release(_gwf_gw_lock);
	return may;
}

void gwf_gw_failure(int idx, uint32_t trial, const gwf_failure_t *f,
		gwf_health_t health, uint32_t eject_ms)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	gwf_trans_t t;
	uint64_t now;

	if(gw == NULL)
		return;
	if(gwf_gw_may_eject(gw, trial, health))
		gwf_gw_learn_all();
	now = gwf_now_ms();
	lock_get(_gwf_gw_lock);
	gw->st.last_code = f->code;
	gw->st.last_fail_ms = now;
	gwf_gwstats_note_code(&gw->st, f->code);
	/* after ringing, a timeout is the callee's no-answer, not the gateway
	 * keeping silent */
	gw->st.local_timeouts += (f->local_timeout && !f->rang) ? 1 : 0;
	gw->st.received_5xx +=
			(!f->local_timeout && !f->unsent && f->code >= 500) ? 1 : 0;
	gw->st.retry_after += f->retry_after_s >= 0 ? 1 : 0;
	if(health == GWF_HEALTH_IGNORE)
		gw->st.not_counted++;
	else
		gw->st.counted++;
	if(health == GWF_HEALTH_EJECT && !gw->removed) {
		/* release the trial slot first so the ejection starts clean */
		gwf_brk_record(&gw->brk, &_gwf_cfg.brk, GWF_OUT_NEUTRAL, trial, now);
		gwf_eject_fault(&gw->ej);
		/* Retry-After: the carrier's own time, which does not grow */
		if(f->retry_after_s >= 0)
			gwf_gw_auto_eject_locked(gw, GWF_TRIG_RETRY_AFTER, eject_ms, now,
					GWF_WHY_RETRY_AFTER, f->code, eject_ms / 1000u, &t);
		else
			gwf_gw_auto_eject_locked(gw, GWF_TRIG_EJECT_RULE, 0, now,
					f->unsent ? GWF_WHY_UNREACHABLE : GWF_WHY_EJECT_RULE,
					f->unsent ? 0 : f->code, 0, &t);
	} else {
		gwf_gw_record_locked(gw, trial,
				health == GWF_HEALTH_COUNT ? GWF_OUT_FAULT : GWF_OUT_NEUTRAL,
				f->code, now, &t);
	}
	lock_release(_gwf_gw_lock);
	gwf_gw_after(idx, &t);
}

/* ---- operator actions (RPC) ---- */

int gwf_gw_find_existing(int set, str *uri)
{
	gwf_gw_t *gw;
	int idx = -1;

	lock_get(_gwf_gw_lock);
	gw = gwf_gwtab_find(_gwf_gw_table, set, uri->s, (size_t)uri->len);
	if(gw != NULL)
		idx = (int)(gw - _gwf_gw_table->entries);
	lock_release(_gwf_gw_lock);
	return idx;
}

int gwf_gw_used(int idx)
{
	return gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx) != NULL;
}

unsigned gwf_gw_slots(void)
{
	/* entries are dense and never removed: 0..count-1 */
	return _gwf_gw_table->count;
}

unsigned gwf_gw_count(void)
{
	return _gwf_gw_table->count;
}

unsigned gwf_gw_down_count(void)
{
	return _gwf_gw_table != NULL ? _gwf_gw_table->down : 0;
}

int gwf_gw_snapshot(int idx, gwf_gw_t *out)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);

	if(gw == NULL)
		return -1;
	lock_get(_gwf_gw_lock);
	*out = *gw;
	/* for operators: the INVITEs without a reply, not the answered ones
	 * still waiting for the next sweep (the copy's list is not walked) */
	out->fl.n = gwf_flight_unheard(&gw->fl);
	lock_release(_gwf_gw_lock);
	return 0;
}

int gwf_gw_eject(int idx, uint32_t seconds)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	gwf_brk_state_t prev;
	gwf_brk_trans_t tr;
	gwf_trans_t t;

	if(gw == NULL)
		return -1;
	lock_get(_gwf_gw_lock);
	if(gw->removed) {
		lock_release(_gwf_gw_lock);
		return -1;
	}
	prev = gw->brk.state;
	tr = gwf_brk_eject(&gw->brk, seconds * 1000u, gwf_now_ms());
	gwf_gw_trans_locked(gw, &t, tr, prev, GWF_WHY_MANUAL_EJECT, 0, seconds);
	if(tr == GWF_BRK_T_NONE) {
		/* already ejected: the deadline may have moved out; the ejection
		 * is the operator's now (a panic re-test never cuts it) */
		gw->why = GWF_WHY_MANUAL_EJECT;
		gw->why_code = 0;
		gw->why_arg = seconds;
		gwf_gwtab_note_open(_gwf_gw_table, gw);
	}
	lock_release(_gwf_gw_lock);
	if(t.tr != GWF_BRK_T_NONE)
		gwf_gw_report(idx, &t);
	/* forced: an operator may have re-activated it in the dispatcher */
	gwf_gw_sync_ds(idx, 1);
	return 0;
}

int gwf_gw_restore(int idx)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	gwf_brk_state_t prev;
	gwf_brk_trans_t tr;
	gwf_trans_t t;

	if(gw == NULL)
		return -1;
	lock_get(_gwf_gw_lock);
	if(gw->removed) {
		lock_release(_gwf_gw_lock);
		return -1;
	}
	prev = gw->brk.state;
	tr = gwf_brk_restore(&gw->brk, gwf_now_ms());
	gwf_eject_clear(&gw->ej); /* the operator vouches for it */
	gwf_gw_trans_locked(gw, &t, tr, prev, GWF_WHY_MANUAL_RESTORE, 0, 0);
	lock_release(_gwf_gw_lock);
	if(t.tr != GWF_BRK_T_NONE)
		gwf_gw_report(idx, &t);
	gwf_gw_sync_ds(idx, 1); /* forced, as for an eject */
	return 0;
}

void gwf_gw_reset(int idx)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);

	if(gw == NULL)
		return;
	lock_get(_gwf_gw_lock);
	memset(&gw->st, 0, sizeof(gw->st));
	gw->brk.consec_faults = 0;
	gwf_eject_clear(&gw->ej);
	gwf_silence_heard(&gw->sil);
	lock_release(_gwf_gw_lock);
}

/* ---- presence in the dispatcher (resume process) ---- */

#define GWF_EXPIRE_BATCH 64
#define GWF_DS_SWEEP_MS 1000
#define GWF_SWEEP_CHUNK 256 /* entries judged per hold of the table lock */

static uint64_t _gwf_next_sweep_ms = 0;	 /* resume process only */
static uint64_t _gwf_next_rescue_ms = 0; /* resume process only */
static int _gwf_dswalk_warned = 0;		 /* resume process only */

/* A destination of the dispatcher's list: learn it (if new) and note that
 * the dispatcher has it. */
static void gwf_gw_learn_dest(int set, str *uri, const char *flags, void *arg)
{
	gwf_gw_find(set, uri, NULL, NULL, flags, NULL);
}

void gwf_gw_learn_all(void)
{
	gwf_ds_walk(gwf_gw_learn_dest, NULL);
}

/* Say once what a walk that could not read the dispatcher's list means. */
static void gwf_gw_walk_warn(
		gwf_dswalk_verdict_t v, const gwf_dswalk_tally_t *tally)
{
	if(_gwf_dswalk_warned || (v != GWF_DSWALK_BLIND && v != GWF_DSWALK_PARTIAL))
		return;
	_gwf_dswalk_warned = 1;
	LM_WARN("read %u of the destinations dispatcher.list reported (NRSETS"
			" %d, %u DEST records, fault %d): has the dispatcher's output"
			" changed? gateways are learnt from traffic only, and none is"
			" marked removed after a dispatcher.reload\n",
			tally->captured, tally->nrsets, tally->dests, tally->fault);
}

/* After a complete walk (every gateway the dispatcher has was noted seen):
 * mark the others removed and bring back those it has again, fixing set
 * counts and the down gauge (in gwf_gwtab_sweep_one()), then queue the
 * set events this caused. Gateways learnt meanwhile count as seen. */
static void gwf_gw_sweep_presence(uint64_t now_ms)
{
	/* static: too big for the stack, resume process only */
	static uint32_t changed[GWF_SWEEP_CHUNK];
	static gwf_gwtab_presence_t what[GWF_SWEEP_CHUNK];
	gwf_gwtab_presence_t p;
	gwf_brk_state_t prev;
	gwf_setcount_t *sc;
	uint32_t s, end, count;
	unsigned n, i;
	gwf_gw_t *gw;
	int k, any = 0;

	/* entries are dense and never removed: count only grows */
	count = _gwf_gw_table->count;
	for(s = 0; s < count; s = end) {
		end = count - s > GWF_SWEEP_CHUNK ? s + GWF_SWEEP_CHUNK : count;
		n = 0;
		lock_get(_gwf_gw_lock);
		for(; s < end; s++) {
			gw = gwf_gwtab_at(_gwf_gw_table, s);
			p = gwf_gwtab_sweep_one(_gwf_gw_table, gw, now_ms, &prev);
			if(p == GWF_GWTAB_STILL)
				continue;
			/* judged once at the end, so a set that loses several
			 * gateways at once gets one event */
			sc = gwf_gw_set_locked(gw->set_id, 1);
			if(sc != NULL && p == GWF_GWTAB_GONE)
				gwf_setcount_add(sc, -1, prev == GWF_BRK_CLOSED ? -1 : 0);
			else if(sc != NULL)
				gwf_setcount_add(sc, 1, 1);
			changed[n] = s;
			what[n++] = p;
		}
		lock_release(_gwf_gw_lock);
		any |= n > 0;
		/* set and URI of a slot never change: no lock needed */
		for(i = 0; i < n; i++) {
			gw = gwf_gwtab_at(_gwf_gw_table, changed[i]);
			if(what[i] == GWF_GWTAB_GONE)
				LM_NOTICE("gateway %s (set %d) removed from the dispatcher:"
						  " out of its set, breaker stopped\n",
						gw->uri, gw->set_id);
			else
				LM_NOTICE("gateway %s (set %d) back in the dispatcher:"
						  " closed\n",
						gw->uri, gw->set_id);
		}
	}
	if(!any)
		return; /* every other change of a set count judged it at once */
	lock_get(_gwf_gw_lock);
	for(k = 0; k < *_gwf_nsets; k++)
		gwf_gw_set_judge_locked(&_gwf_sets[k]);
	lock_release(_gwf_gw_lock);
}

/* Learn every dispatcher destination and note which table entries the
 * dispatcher still has; if its list was read completely, mark the others
 * removed (and those it has again present). */
static void gwf_gw_sweep(uint64_t now_ms)
{
	gwf_dswalk_tally_t tally;
	gwf_dswalk_verdict_t v;

	lock_get(_gwf_gw_lock);
	gwf_gwtab_sweep_begin(_gwf_gw_table);
	lock_release(_gwf_gw_lock);
	gwf_ds_walk_tally(gwf_gw_learn_dest, NULL, &tally);
	v = gwf_dswalk_judge(&tally);
	gwf_gw_walk_warn(v, &tally);
	/* Only a complete list tells what the dispatcher no longer has; an
	 * empty one (no destination sets at all) or one read in part leaves
	 * every gateway as it was. */
	if(v == GWF_DSWALK_COMPLETE)
		gwf_gw_sweep_presence(now_ms);
}

uint64_t gwf_gw_next_due(void)
{
	uint64_t due;

	lock_get(_gwf_gw_lock);
	due = _gwf_gw_table->next_deadline_ms;
	/* Silence is judged by the core timer (gwf_gw_flight_scan()); a
	 * rescue that has calls left comes back on a tick of its own. */
	if(_gwf_gw_table->rescues_due > 0 && _gwf_next_rescue_ms < due)
		due = _gwf_next_rescue_ms;
	lock_release(_gwf_gw_lock);
	return due < _gwf_next_sweep_ms ? due : _gwf_next_sweep_ms;
}

/* gwf_gwtab_cap_open() pick: an automatic ejection (an operator's is
 * kept) of a gateway whose set re-tests. (expects the table lock) */
static int gwf_gw_retest_pick(const gwf_gw_t *g, void *arg)
{
	return g->why != GWF_WHY_MANUAL_EJECT && !g->removed
		   && gwf_gw_set_retests_locked(g->set_id);
}

/* Bring the ejected gateways of sets in panic or without healthy gateway
 * back to a trial within GWF_PANIC_RETEST_MS: when every carrier of a set
 * failed, the first to recover takes calls again within about a second,
 * whatever its ejection time. Returns how many deadlines moved.
 * (expects the table lock to be taken) */
static unsigned gwf_gw_panic_retest_locked(uint64_t now_ms)
{
	int i;

	for(i = 0; i < *_gwf_nsets; i++)
		if(gwf_gw_set_retests(&_gwf_sets[i]))
			return gwf_gwtab_cap_open(_gwf_gw_table,
					now_ms + GWF_PANIC_RETEST_MS, gwf_gw_retest_pick, NULL);
	return 0;
}

void gwf_gw_timer(uint64_t now_ms)
{
	uint32_t due[GWF_EXPIRE_BATCH];
	/* static: GWF_EXPIRE_BATCH reasons are too big for the stack */
	static gwf_trans_t t_due[GWF_EXPIRE_BATCH];
	unsigned n, i, retests;
	uint32_t s;
	gwf_gw_t *gw;
	str uri;
	int revived, active;
	gwf_trans_t t;

	lock_get(_gwf_gw_lock);
	retests = gwf_gw_panic_retest_locked(now_ms);
	n = gwf_gwtab_expire(_gwf_gw_table, now_ms, due, GWF_EXPIRE_BATCH);
	for(i = 0; i < n; i++) {
		gw = gwf_gwtab_at(_gwf_gw_table, due[i]);
		gwf_gw_trans_locked(gw, &t_due[i], GWF_BRK_T_HALF_OPENED, GWF_BRK_OPEN,
				GWF_WHY_TIME_OVER, 0, 0);
	}
	lock_release(_gwf_gw_lock);
	if(now_ms >= _gwf_next_rescue_ms)
		_gwf_next_rescue_ms = now_ms + GWF_SILENCE_TICK_MS;
	for(i = 0; i < retests; i++)
		gwf_stat_inc(GWF_ST_PANIC_RETESTS);
	for(i = 0; i < n; i++)
		gwf_gw_after((int)due[i], &t_due[i]);

	/* Dispatcher probing (or an operator) may re-activate a gateway we
	 * ejected. Treat that as early evidence of life: go half-open, so
	 * trial calls decide, rather than fighting over the state. */
	if(now_ms < _gwf_next_sweep_ms)
		return;
	_gwf_next_sweep_ms = now_ms + GWF_DS_SWEEP_MS;
	/* Know every dispatcher destination (at start, and after a reload),
	 * not only those traffic reached: a set is down only when all its
	 * gateways are, and gwfailover.list shows every carrier. Gateways a
	 * reload took away leave their sets. */
	gwf_gw_sweep(now_ms);
	for(s = 0; s < _gwf_gw_table->count; s++) {
		gw = gwf_gwtab_at(_gwf_gw_table, s);
		if(gw == NULL || gw->brk.state != GWF_BRK_OPEN || !gw->ds_down)
			continue;
		uri.s = gw->uri; /* set and URI of a slot never change */
		uri.len = gw->uri_len;
		/* Under the sync lock no process is between deciding a dispatcher
		 * update and making it, so an active gateway we marked down was
		 * re-activated by someone else. */
		lock_get(_gwf_ds_sync_lock);
		active = gwf_ds_is_active(gw->set_id, &uri);
		lock_get(_gwf_gw_lock);
		revived = active && gw->brk.state == GWF_BRK_OPEN && gw->ds_down;
		if(revived) {
			gw->brk.open_until_ms = now_ms;
			gwf_gw_trans_locked(gw, &t, gwf_brk_tick(&gw->brk, now_ms),
					GWF_BRK_OPEN, GWF_WHY_DS_ACTIVE, 0, 0);
			/* the dispatcher has it active already */
			gw->ds_down = 0;
		}
		lock_release(_gwf_gw_lock);
		lock_release(_gwf_ds_sync_lock);
		if(revived)
			gwf_gw_after((int)s, &t);
	}
}

/* ---- the state file (gwfailover_state.c) ---- */

gwf_restore_rc_t gwf_gw_state_restore(
		const gwf_state_ent_t *e, uint64_t now_wall)
{
	str uri;
	gwf_gw_t *gw;
	gwf_setcount_t *sc;
	gwf_brk_state_t prev;
	gwf_brk_trans_t tr;
	gwf_trans_t t;
	uint64_t left;
	int idx;

	uri.s = (char *)e->uri;
	uri.len = e->uri_len;
	idx = gwf_gw_find_existing(e->set_id, &uri);
	gw = idx >= 0 ? gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx) : NULL;
	if(gw == NULL)
		return GWF_RESTORE_UNKNOWN;
	if(!e->half_open && e->until_ms <= now_wall)
		return GWF_RESTORE_EXPIRED;
	/* half-open: ejected with no time left, trial calls at the next tick */
	left = e->half_open ? 0 : e->until_ms - now_wall;
	if(left > (uint64_t)GWF_EJECT_LIMIT_S * 1000u)
		left = (uint64_t)GWF_EJECT_LIMIT_S * 1000u;
	lock_get(_gwf_gw_lock);
	if(gw->removed) {
		lock_release(_gwf_gw_lock);
		return GWF_RESTORE_UNKNOWN;
	}
	/* an automatic ejection still passes the guard of its set, which may
	 * have fewer gateways now; an operator's is restored as it was */
	if(e->why != GWF_WHY_MANUAL_EJECT && !e->manual
			&& gw->brk.state == GWF_BRK_CLOSED
			&& !gwf_gw_guard_allows_locked(gw, &sc)) {
		lock_release(_gwf_gw_lock);
		return GWF_RESTORE_REFUSED;
	}
	prev = gw->brk.state;
	tr = gwf_brk_eject(&gw->brk, (uint32_t)left, gwf_now_ms());
	gw->ej.mult = e->mult;
	gwf_gw_trans_locked(gw, &t, tr, prev,
			e->manual ? GWF_WHY_MANUAL_EJECT : e->why, e->code, e->arg);
	gw->restored = 1;
	lock_release(_gwf_gw_lock);
	if(t.tr != GWF_BRK_T_NONE)
		gwf_gw_report(idx, &t);
	gwf_gw_sync_ds(idx, 1); /* as for a live decision */
	return GWF_RESTORE_OK;
}

int gwf_gw_state_dump(char *buf, size_t size, uint64_t now_wall, uint64_t *hash,
		unsigned *count, int wait_ms)
{
	uint64_t now = gwf_now_ms(), h = 1469598103934665603ULL;
	gwf_state_ent_t e;
	size_t len = 0;
	unsigned n = 0;
	gwf_gw_t *gw;
	uint32_t i;
	int w;

	if(wait_ms < 0) {
		lock_get(_gwf_gw_lock);
	} else {
		/* at shutdown: a process killed while it held the lock must not
		 * hang Kamailio's exit */
		while(lock_try(_gwf_gw_lock) != 0) {
			if(wait_ms <= 0)
				return -2;
			usleep(10000);
			wait_ms -= 10;
		}
	}
	for(i = 0; i < _gwf_gw_table->count; i++) {
		gw = &_gwf_gw_table->entries[i];
		if(gw->removed || gw->brk.state == GWF_BRK_CLOSED)
			continue;
		memset(&e, 0, sizeof(e));
		e.set_id = gw->set_id;
		memcpy(e.uri, gw->uri, (size_t)gw->uri_len + 1);
		e.uri_len = gw->uri_len;
		e.half_open = gw->brk.state == GWF_BRK_HALF_OPEN;
		e.manual = gw->why == GWF_WHY_MANUAL_EJECT;
		e.until_ms = e.half_open ? 0
					 : gw->brk.open_until_ms > now
							 ? now_wall + (gw->brk.open_until_ms - now)
							 : now_wall + 1;
		e.mult = gw->ej.mult;
		e.why = gw->why;
		e.code = gw->why_code;
		e.arg = gw->why_arg;
		w = gwf_state_format_ent(&e, buf + len, size - len);
		if(w < 0 || (size_t)w >= size - len) {
			lock_release(_gwf_gw_lock);
			return -1;
		}
		len += (size_t)w;
		n++;
		/* what changes the file, not the clock: FNV-1a over the state */
		h = (h ^ i) * 1099511628211ULL;
		h = (h ^ gw->brk.state) * 1099511628211ULL;
		h = (h ^ gw->brk.open_until_ms) * 1099511628211ULL;
		h = (h ^ gw->ej.mult) * 1099511628211ULL;
		h = (h ^ ((uint64_t)gw->why << 32 ^ (uint32_t)gw->why_code))
			* 1099511628211ULL;
		h = (h ^ gw->why_arg) * 1099511628211ULL;
	}
	lock_release(_gwf_gw_lock);
	*hash = h ^ n;
	*count = n;
	return (int)len;
}
