/*
 * gwfailover - the gateway table in shared memory and its lock.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include "core/dprint.h"
#include "core/locking.h"
#include "core/mem/shm_mem.h"

#include "gwfailover.h"
#include "gwfailover_ds.h"
#include "gwfailover_gw.h"

static gwf_gwtab_t *_gwf_gw_table = NULL;
static gen_lock_t *_gwf_gw_lock = NULL;

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

	_gwf_gw_lock = lock_alloc();
	if(_gwf_gw_lock == NULL || lock_init(_gwf_gw_lock) == NULL) {
		SHM_MEM_ERROR_FMT("gateway table lock\n");
		gwf_gw_destroy();
		return -1;
	}
	return 0;
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

/* Bring the dispatcher state of slot <idx> in line with its breaker. */
static void gwf_gw_sync_ds(int idx)
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
	change = (want == gw->ds_down);
	set = gw->set_id;
	memcpy(uri_buf, gw->uri, gw->uri_len);
	uri.s = uri_buf;
	uri.len = gw->uri_len;
	lock_release(_gwf_gw_lock);
	/* ds_down follows what the dispatcher really got, so the timer sweep
	 * never mistakes a failed update for a revival. */
	if(change && gwf_ds_set_state(set, &uri, want) == 0) {
		lock_get(_gwf_gw_lock);
		gw->ds_down = !want;
		lock_release(_gwf_gw_lock);
	}
	lock_release(_gwf_ds_sync_lock);
}

/* Log a transition of slot <idx> (after unlocking). */
static void gwf_gw_log_trans(
		int idx, gwf_brk_trans_t tr, const char *why, uint32_t ms, int code)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);

	switch(tr) {
		case GWF_BRK_T_OPENED:
			LM_WARN("gateway %s (set %d) ejected for %u ms: %s (last code"
					" %d)\n",
					gw->uri, gw->set_id, ms, why, code);
			break;
		case GWF_BRK_T_HALF_OPENED:
			LM_NOTICE("gateway %s (set %d) half-open: %s\n", gw->uri,
					gw->set_id, why);
			break;
		case GWF_BRK_T_CLOSED:
			LM_NOTICE("gateway %s (set %d) restored: %s\n", gw->uri, gw->set_id,
					why);
			break;
		default:
			break;
	}
}

/* After unlocking: log transition <tr> of slot <idx> and bring the
 * dispatcher in line when the state changed or trial slots moved. */
static void gwf_gw_after(int idx, gwf_brk_trans_t tr, int half, const char *why,
		uint32_t ms, int code)
{
	if(tr != GWF_BRK_T_NONE)
		gwf_gw_log_trans(idx, tr, why, ms, code);
	if(tr != GWF_BRK_T_NONE || half)
		gwf_gw_sync_ds(idx);
}

/* Find or add (<set>, <uri>); when <trial> is not NULL and the gateway is
 * half-open, also take a free trial slot (0 if none) and set *half. One
 * lock round: this runs for every forwarded call. */
static int gwf_gw_find(int set, str *uri, uint32_t *trial, int *half)
{
	gwf_brk_trans_t tr = GWF_BRK_T_NONE;
	gwf_gwtab_rc_t rc;
	gwf_gw_t *gw;
	uint64_t now = gwf_now_ms();
	int idx = -1;

	lock_get(_gwf_gw_lock);
	gw = gwf_gwtab_get(_gwf_gw_table, set, uri->s, (size_t)uri->len, now, &rc);
	if(gw != NULL) {
		idx = (int)(gw - _gwf_gw_table->slots);
		if(trial != NULL && gw->brk.state == GWF_BRK_HALF_OPEN) {
			*half = 1;
			gwf_brk_acquire(&gw->brk, &_gwf_cfg.brk, now, trial, &tr);
		}
	}
	lock_release(_gwf_gw_lock);
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
	return gwf_gw_find(set, uri, NULL, NULL);
}

int gwf_gw_lookup_forward(int set, str *uri, uint32_t *trial)
{
	int half = 0, idx;

	*trial = 0;
	idx = gwf_gw_find(set, uri, trial, &half);
	if(half)
		gwf_gw_sync_ds(idx);
	return idx;
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
	int ok, half;

	*trial = 0;
	if(gw == NULL)
		return 1;
	lock_get(_gwf_gw_lock);
	ok = gwf_brk_acquire(&gw->brk, &_gwf_cfg.brk, gwf_now_ms(), trial, &tr);
	half = (gw->brk.state == GWF_BRK_HALF_OPEN);
	lock_release(_gwf_gw_lock);
	gwf_gw_after(idx, tr, half, "ejection time over", 0, 0);
	return ok;
}

/* Record <out> at <now> (expects the table lock to be taken). */
static gwf_brk_trans_t gwf_gw_record_locked(
		gwf_gw_t *gw, uint32_t trial, gwf_outcome_t out, uint64_t now)
{
	gwf_brk_trans_t tr;

	tr = gwf_brk_record(&gw->brk, &_gwf_cfg.brk, out, trial, now);
	if(out == GWF_OUT_SUCCESS)
		gw->st.successes++;
	if(tr == GWF_BRK_T_OPENED) {
		gw->st.ejections++;
		gwf_gwtab_note_deadline(_gwf_gw_table, gw->brk.open_until_ms);
	}
	return tr;
}

static void gwf_gw_record(
		int idx, uint32_t trial, gwf_outcome_t out, const char *why, int code)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	gwf_brk_trans_t tr;
	int half;

	if(gw == NULL)
		return;
	lock_get(_gwf_gw_lock);
	tr = gwf_gw_record_locked(gw, trial, out, gwf_now_ms());
	half = (gw->brk.state == GWF_BRK_HALF_OPEN);
	lock_release(_gwf_gw_lock);
	gwf_gw_after(idx, tr, half, why, _gwf_cfg.brk.open_ms, code);
}

void gwf_gw_success(int idx, uint32_t trial)
{
	gwf_gw_record(idx, trial, GWF_OUT_SUCCESS, "call answered", 200);
}

void gwf_gw_neutral(int idx, uint32_t trial)
{
	gwf_gw_record(idx, trial, GWF_OUT_NEUTRAL, "", 0);
}

void gwf_gw_failure(int idx, uint32_t trial, const gwf_failure_t *f,
		gwf_health_t health, uint32_t eject_ms)
{
	gwf_gw_t *gw = gwf_gwtab_at(_gwf_gw_table, (uint32_t)idx);
	gwf_brk_trans_t tr;
	uint64_t now = gwf_now_ms();
	const char *why;
	uint32_t ms = _gwf_cfg.brk.open_ms;
	int half;

	if(gw == NULL)
		return;
	lock_get(_gwf_gw_lock);
	gw->st.last_code = f->code;
	gw->st.last_fail_ms = now;
	gw->st.local_timeouts += f->local_timeout ? 1 : 0;
	gw->st.received_5xx += (!f->local_timeout && f->code >= 500) ? 1 : 0;
	gw->st.retry_after += f->retry_after_s >= 0 ? 1 : 0;
	if(health == GWF_HEALTH_IGNORE)
		gw->st.not_counted++;
	else
		gw->st.counted++;
	if(health == GWF_HEALTH_EJECT) {
		/* release the trial slot first so the ejection starts clean */
		gwf_brk_record(&gw->brk, &_gwf_cfg.brk, GWF_OUT_NEUTRAL, trial, now);
		tr = gwf_brk_eject(&gw->brk, eject_ms, now);
		if(tr == GWF_BRK_T_OPENED)
			gw->st.ejections++;
		gwf_gwtab_note_deadline(_gwf_gw_table, gw->brk.open_until_ms);
		why = f->retry_after_s >= 0 ? "Retry-After" : "eject rule";
		ms = eject_ms;
	} else {
		tr = gwf_gw_record_locked(gw, trial,
				health == GWF_HEALTH_COUNT ? GWF_OUT_FAULT : GWF_OUT_NEUTRAL,
				now);
		why = f->local_timeout ? "consecutive faults, last a local timeout"
							   : "consecutive faults";
	}
	half = (gw->brk.state == GWF_BRK_HALF_OPEN);
	lock_release(_gwf_gw_lock);
	gwf_gw_after(idx, tr, half, why, ms, f->code);
}

#define GWF_EXPIRE_BATCH 64
#define GWF_DS_SWEEP_MS 1000

void gwf_gw_timer(uint64_t now_ms)
{
	static uint64_t next_sweep_ms = 0;
	uint32_t due[GWF_EXPIRE_BATCH];
	unsigned n, i;
	uint32_t s;
	gwf_gw_t *gw;
	str uri;
	int revived, active;

	lock_get(_gwf_gw_lock);
	n = gwf_gwtab_expire(_gwf_gw_table, now_ms, due, GWF_EXPIRE_BATCH);
	lock_release(_gwf_gw_lock);
	for(i = 0; i < n; i++) {
		gwf_gw_log_trans((int)due[i], GWF_BRK_T_HALF_OPENED,
				"ejection time over, trial calls allowed", 0, 0);
		gwf_gw_sync_ds((int)due[i]);
	}

	/* Dispatcher probing (or an operator) may re-activate a gateway we
	 * ejected. Treat that as early evidence of life: go half-open, so
	 * trial calls decide, rather than fighting over the state. */
	if(now_ms < next_sweep_ms)
		return;
	next_sweep_ms = now_ms + GWF_DS_SWEEP_MS;
	for(s = 0; s < _gwf_gw_table->nslots; s++) {
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
			gwf_brk_tick(&gw->brk, now_ms);
			/* the dispatcher has it active already */
			gw->ds_down = 0;
		}
		lock_release(_gwf_gw_lock);
		lock_release(_gwf_ds_sync_lock);
		if(revived) {
			gwf_gw_log_trans((int)s, GWF_BRK_T_HALF_OPENED,
					"dispatcher marked it active", 0, 0);
			gwf_gw_sync_ds((int)s);
		}
	}
}
