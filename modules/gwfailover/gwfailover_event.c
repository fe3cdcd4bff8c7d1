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
#include "gwfailover_wake.h"

struct gwf_evsink
{
	unsigned mask;	 /* bit per gwf_ev_kind_t it consumes */
	int queued;		 /* counter of accepted events; GWF_ST_COUNT: none */
	int dropped;	 /* counter of refused events */
	gwf_wake_t wake; /* of the consuming process (fds valid in all) */
	gen_lock_t lock;
	gwf_evring_t ring; /* last member: the records follow */
};

#define GWF_EV_MAX_SINKS 2 /* event routes, webhooks */

static gwf_evsink_t *_gwf_ev_sinks[GWF_EV_MAX_SINKS];
static int _gwf_ev_nsinks = 0;
static gwf_evsink_t *_gwf_ev_route_sink = NULL;
/* event_rt index per kind; -1: no route. DOWN, UP and the panic of a set
 * have routes. */
static int _gwf_ev_rt[GWF_EV_KINDS] = {-1, -1, -1, -1, -1, -1, -1, -1, -1};
static str _gwf_ev_cbname = STR_NULL;
static unsigned _gwf_ev_mask = 0; /* bit per kind that some sink wants */
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
		case GWF_EV_SET_DOWN:
			return "set-down";
		case GWF_EV_SET_UP:
			return "set-up";
		case GWF_EV_SET_PANIC:
			return "set-panic";
		case GWF_EV_SET_CALM:
			return "set-calm";
		case GWF_EV_WOULD_EJECT:
			return "gw-would-eject";
		default:
			return "unknown";
	}
}

/* Full route name of <kind>: "gwfailover:gw-down". */
static const char *gwf_event_route_name(gwf_ev_kind_t kind)
{
	switch(kind) {
		case GWF_EV_DOWN:
			return "gwfailover:gw-down";
		case GWF_EV_SET_PANIC:
			return "gwfailover:set-panic";
		case GWF_EV_SET_CALM:
			return "gwfailover:set-calm";
		default:
			return "gwfailover:gw-up";
	}
}

gwf_evsink_t *gwf_event_add_sink(unsigned mask, unsigned size, int queued,
		int dropped, const gwf_wake_t *wake)
{
	gwf_evsink_t *k;
	size_t bytes;

	if(_gwf_ev_nsinks >= GWF_EV_MAX_SINKS) {
		LM_CRIT("BUG: too many event sinks\n");
		return NULL;
	}
	bytes = offsetof(gwf_evsink_t, ring)
			+ gwf_evring_bytes(size, sizeof(gwf_event_t));
	k = shm_malloc(bytes);
	if(k == NULL) {
		SHM_MEM_ERROR_FMT("event queue (%zu bytes)\n", bytes);
		return NULL;
	}
	memset(k, 0, bytes);
	if(lock_init(&k->lock) == NULL) {
		LM_ERR("cannot init an event queue lock\n");
		shm_free(k);
		return NULL;
	}
	gwf_evring_init(&k->ring, size, sizeof(gwf_event_t));
	k->mask = mask;
	k->queued = queued;
	k->dropped = dropped;
	k->wake = *wake;
	_gwf_ev_sinks[_gwf_ev_nsinks++] = k;
	_gwf_ev_mask |= mask;
	return k;
}

int gwf_event_init(str *cbname)
{
	static const gwf_ev_kind_t routed[] = {
			GWF_EV_DOWN, GWF_EV_UP, GWF_EV_SET_PANIC, GWF_EV_SET_CALM};
	unsigned mask = 0;
	size_t i;
	int rt;

	if(cbname != NULL && cbname->s != NULL && cbname->len > 0) {
		if(sr_kemi_eng_get() == NULL) {
			LM_ERR("modparam 'event_callback' (%.*s) needs a KEMI config"
				   " (cfgengine); native configs use"
				   " event_route[gwfailover:gw-down], [gwfailover:gw-up],"
				   " [gwfailover:set-panic] and [gwfailover:set-calm]\n",
					cbname->len, cbname->s);
			return -1;
		}
		_gwf_ev_cbname = *cbname;
		mask = (1u << GWF_EV_DOWN) | (1u << GWF_EV_UP)
			   | (1u << GWF_EV_SET_PANIC) | (1u << GWF_EV_SET_CALM);
	} else {
		for(i = 0; i < sizeof(routed) / sizeof(routed[0]); i++) {
			rt = route_lookup(
					&event_rt, (char *)gwf_event_route_name(routed[i]));
			if(rt >= 0 && event_rt.rlist[rt] != NULL) {
				_gwf_ev_rt[routed[i]] = rt;
				mask |= 1u << routed[i];
			}
		}
	}
	if(mask == 0)
		return 0; /* nobody listens: no queue */
	/* the event routes run in the resume process */
	if(gwf_wake_resume() == NULL)
		return -1;
	_gwf_ev_route_sink = gwf_event_add_sink(mask, GWF_EV_QUEUE_SIZE,
			GWF_ST_COUNT, GWF_ST_EVENTS_DROPPED, gwf_wake_resume());
	return _gwf_ev_route_sink != NULL ? 0 : -1;
}

void gwf_event_destroy(void)
{
	int i;

	for(i = 0; i < _gwf_ev_nsinks; i++) {
		lock_destroy(&_gwf_ev_sinks[i]->lock);
		shm_free(_gwf_ev_sinks[i]);
		_gwf_ev_sinks[i] = NULL;
	}
	_gwf_ev_nsinks = 0;
	_gwf_ev_route_sink = NULL;
}

int gwf_event_wanted(gwf_ev_kind_t kind)
{
	return (_gwf_ev_mask >> kind) & 1u;
}

void gwf_event_emit(const gwf_event_t *ev)
{
	gwf_event_t copy;
	struct timeval tv;
	gwf_evsink_t *k;
	int i, rc;

	if(!gwf_event_wanted(ev->kind))
		return;
	copy = *ev;
	gettimeofday(&tv, NULL);
	copy.wall_ms = (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
	for(i = 0; i < _gwf_ev_nsinks; i++) {
		k = _gwf_ev_sinks[i];
		if(!((k->mask >> ev->kind) & 1u))
			continue;
		lock_get(&k->lock);
		rc = gwf_evring_push(&k->ring, &copy);
		lock_release(&k->lock);
		if(rc < 0 && k->dropped < GWF_ST_COUNT)
			gwf_stat_inc((gwf_stat_t)k->dropped);
		else if(rc == 0 && k->queued < GWF_ST_COUNT)
			gwf_stat_inc((gwf_stat_t)k->queued);
		/* Often under the gateway table lock (events keep the order of
		 * the transitions): one non-blocking write(), only on state
		 * changes, never on a call's normal path. */
		if(rc == 0)
			gwf_wake_signal(&k->wake);
	}
}

int gwf_event_pop(gwf_evsink_t *sink, gwf_event_t *ev)
{
	int rc;

	lock_get(&sink->lock);
	rc = gwf_evring_pop(&sink->ring, ev);
	lock_release(&sink->lock);
	return rc;
}

unsigned gwf_event_depth(gwf_evsink_t *sink)
{
	return sink != NULL ? sink->ring.len : 0;
}

unsigned gwf_event_capacity(gwf_evsink_t *sink)
{
	return sink != NULL ? sink->ring.cap : 0;
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

	if(_gwf_ev_route_sink == NULL)
		return;
	while(gwf_event_pop(_gwf_ev_route_sink, &ev) == 0)
		gwf_event_deliver(&ev);
}

const gwf_event_t *gwf_event_current(void)
{
	return _gwf_ev_current;
}
