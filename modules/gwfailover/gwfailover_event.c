/*
 * gwfailover - gateway state events, delivered to event routes or the KEMI
 * callback by the resume process.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include <sys/time.h>

#include "core/dprint.h"
#include "core/fmsg.h"
#include "core/kemi.h"
#include "core/locking.h"
#include "core/mem/shm_mem.h"
#include "core/receive.h"
#include "core/route.h"

#include "gwf_evring.h"
#include "gwfailover_event.h"
#include "gwfailover_stats.h"

typedef struct gwf_evq
{
	gen_lock_t lock;
	gwf_evring_t ring; /* last member: the records follow */
} gwf_evq_t;

static gwf_evq_t *_gwf_evq = NULL;
/* event_rt index per kind; -1: no route. Only DOWN and UP have routes. */
static int _gwf_ev_rt[GWF_EV_KINDS] = {-1, -1, -1, -1};
static str _gwf_ev_cbname = STR_NULL;
static unsigned _gwf_ev_mask = 0; /* bit per kind that has a consumer */
static const gwf_event_t *_gwf_ev_current = NULL;

const char *gwf_event_name(gwf_ev_kind_t kind)
{
	switch(kind) {
		case GWF_EV_DOWN:
			return "gw-down";
		case GWF_EV_REOPENED:
			return "gw-reopened";
		case GWF_EV_HALF_OPEN:
			return "gw-half-open";
		case GWF_EV_UP:
			return "gw-up";
		default:
			return "unknown";
	}
}

/* Full route name of <kind>: "gwfailover:gw-down". */
static const char *gwf_event_route_name(gwf_ev_kind_t kind)
{
	return kind == GWF_EV_DOWN ? "gwfailover:gw-down" : "gwfailover:gw-up";
}

int gwf_event_init(str *cbname)
{
	static const gwf_ev_kind_t routed[] = {GWF_EV_DOWN, GWF_EV_UP};
	size_t bytes, i;
	int rt;

	if(cbname != NULL && cbname->s != NULL && cbname->len > 0) {
		if(sr_kemi_eng_get() == NULL) {
			LM_ERR("modparam 'event_callback' (%.*s) needs a KEMI config"
				   " (cfgengine); native configs use"
				   " event_route[gwfailover:gw-down] and [gwfailover:gw-up]"
				   "\n",
					cbname->len, cbname->s);
			return -1;
		}
		_gwf_ev_cbname = *cbname;
		_gwf_ev_mask |= (1u << GWF_EV_DOWN) | (1u << GWF_EV_UP);
	} else {
		for(i = 0; i < sizeof(routed) / sizeof(routed[0]); i++) {
			rt = route_lookup(
					&event_rt, (char *)gwf_event_route_name(routed[i]));
			if(rt >= 0 && event_rt.rlist[rt] != NULL) {
				_gwf_ev_rt[routed[i]] = rt;
				_gwf_ev_mask |= 1u << routed[i];
			}
		}
	}
	if(_gwf_ev_mask == 0)
		return 0; /* nobody listens: no queue, emit() is a no-op */

	bytes = offsetof(gwf_evq_t, ring)
			+ gwf_evring_bytes(GWF_EV_QUEUE_SIZE, sizeof(gwf_event_t));
	_gwf_evq = shm_malloc(bytes);
	if(_gwf_evq == NULL) {
		SHM_MEM_ERROR_FMT("event queue (%zu bytes)\n", bytes);
		return -1;
	}
	memset(_gwf_evq, 0, bytes);
	if(lock_init(&_gwf_evq->lock) == NULL) {
		LM_ERR("cannot init the event queue lock\n");
		shm_free(_gwf_evq);
		_gwf_evq = NULL;
		return -1;
	}
	gwf_evring_init(&_gwf_evq->ring, GWF_EV_QUEUE_SIZE, sizeof(gwf_event_t));
	return 0;
}

void gwf_event_destroy(void)
{
	if(_gwf_evq != NULL) {
		lock_destroy(&_gwf_evq->lock);
		shm_free(_gwf_evq);
		_gwf_evq = NULL;
	}
}

int gwf_event_wanted(gwf_ev_kind_t kind)
{
	return (_gwf_ev_mask >> kind) & 1u;
}

void gwf_event_emit(const gwf_event_t *ev)
{
	gwf_event_t copy;
	struct timeval tv;
	int rc;

	if(_gwf_evq == NULL || !gwf_event_wanted(ev->kind))
		return;
	copy = *ev;
	gettimeofday(&tv, NULL);
	copy.wall_ms = (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
	lock_get(&_gwf_evq->lock);
	rc = gwf_evring_push(&_gwf_evq->ring, &copy);
	lock_release(&_gwf_evq->lock);
	if(rc < 0)
		gwf_stat_inc(GWF_ST_EVENTS_DROPPED);
}

/* Run the route or KEMI callback of <ev> with a faked message, as htable
 * does for its expired items. */
static void gwf_event_deliver(const gwf_event_t *ev)
{
	sr_kemi_eng_t *keng = NULL;
	sip_msg_t *fmsg;
	int backup_rt;
	str evname;

	if(_gwf_ev_cbname.len > 0) {
		keng = sr_kemi_eng_get();
		if(keng == NULL)
			return;
	} else if(_gwf_ev_rt[ev->kind] < 0) {
		return;
	}
	if(faked_msg_init() < 0) {
		LM_ERR("cannot build the faked message for the event route\n");
		return;
	}
	fmsg = faked_msg_next();
	fmsg->parsed_orig_ruri_ok = 0;
	evname.s = (char *)gwf_event_route_name(ev->kind);
	evname.len = strlen(evname.s);

	_gwf_ev_current = ev;
	backup_rt = get_route_type();
	set_route_type(EVENT_ROUTE);
	if(keng != NULL) {
		if(sr_kemi_route(keng, fmsg, EVENT_ROUTE, &_gwf_ev_cbname, &evname) < 0)
			LM_ERR("error running the event callback %.*s for %.*s\n",
					_gwf_ev_cbname.len, _gwf_ev_cbname.s, evname.len, evname.s);
	} else {
		run_top_route(event_rt.rlist[_gwf_ev_rt[ev->kind]], fmsg, 0);
	}
	set_route_type(backup_rt);
	_gwf_ev_current = NULL;
	ksr_msg_env_reset();
}

void gwf_event_run(void)
{
	gwf_event_t ev;
	int rc;

	if(_gwf_evq == NULL)
		return;
	for(;;) {
		lock_get(&_gwf_evq->lock);
		rc = gwf_evring_pop(&_gwf_evq->ring, &ev);
		lock_release(&_gwf_evq->lock);
		if(rc < 0)
			break;
		gwf_event_deliver(&ev);
	}
}

const gwf_event_t *gwf_event_current(void)
{
	return _gwf_ev_current;
}
