/*
 * gwfailover - gateway state events: queued by whichever process changes a
 * gateway's state, delivered by the resume process to the event routes
 * (event_route[gwfailover:gw-down] / [gwfailover:gw-up]) or to the KEMI
 * event callback.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_EVENT_H
#define GWFAILOVER_EVENT_H

#include <stdint.h>

#include "core/str.h"

#include "gwf_gwtab.h"

#define GWF_EV_REASON_MAX 96
#define GWF_EV_QUEUE_SIZE 1024 /* events waiting for delivery, at most */

typedef enum gwf_ev_kind
{
	GWF_EV_DOWN = 0,	/* closed -> open: ejected */
	GWF_EV_REOPENED,	/* half-open -> open: a trial failed, or manual */
	GWF_EV_HALF_OPEN,	/* open -> half-open: trial calls allowed */
	GWF_EV_UP,			/* -> closed: restored */
	GWF_EV_SET_DOWN,	/* the last healthy gateway of a set left closed */
	GWF_EV_SET_UP,		/* a set without healthy gateway has one again */
	GWF_EV_SET_PANIC,	/* the guard of a set refused an ejection */
	GWF_EV_SET_CALM,	/* a set in panic served a call again */
	GWF_EV_WOULD_EJECT, /* dry-run: an ejection detected, not made */
	GWF_EV_KINDS
} gwf_ev_kind_t;

typedef struct gwf_event
{
	gwf_ev_kind_t kind;
	gwf_why_t why;
	gwf_brk_state_t prev; /* gateway events: the state before */
	int set_id;
	int code; /* SIP code behind the reason, or the last failure */
	uint32_t consec_faults; /* at the transition */
	uint32_t open_ms;		/* DOWN/REOPENED: ejection length */
	uint64_t ejections;		/* of this gateway, this one included */
	uint64_t wall_ms;		/* Unix time of the transition, ms */
	uint32_t set_gateways;	/* set events: gateways known in the set */
	uint32_t set_healthy;	/* set events: of them closed */
	uint32_t refused;		/* SET_CALM: ejections refused in the panic */
	uint32_t eject_mult;	/* gateway events: its ejection multiplier */
	uint32_t next_eject_ms; /* gateway events: its next ejection's length */
	int ncodes;				/* recent failure codes, oldest first */
	int codes[GWF_RECENT_CODES];
	char uri[GWF_URI_MAX + 1]; /* gateway events */
	char reason[GWF_EV_REASON_MAX];
} gwf_event_t;

/* A consumer of events with its own bounded queue. */
typedef struct gwf_evsink gwf_evsink_t;

/* Find the event routes or check the KEMI callback <cbname> (may be empty),
 * and allocate the queue if anything consumes events. mod_init only.
 * Returns 0 or -1 (logged). */
int gwf_event_init(str *cbname);
void gwf_event_destroy(void);

/* Does anything consume events of <kind>? Cheap; any process. */
int gwf_event_wanted(gwf_ev_kind_t kind);

/* Queue a copy of <ev> (its wall_ms is set here). Never waits beyond a
 * short lock; a full queue drops the event and counts it. Any process. */
void gwf_event_emit(const gwf_event_t *ev);

/* Add a consumer of the kinds in <mask> (bit per gwf_ev_kind_t) with a
 * queue of <size> events; each accepted event counts in <queued>, each
 * refused one in <dropped> (GWF_ST_COUNT: none), and signals <wake> (an
 * initialised wake-up of the consuming process, copied). mod_init only,
 * after gwf_event_init(). Returns the sink or NULL (logged). */
struct gwf_wake;
gwf_evsink_t *gwf_event_add_sink(unsigned mask, unsigned size, int queued,
		int dropped, const struct gwf_wake *wake);

/* Take the oldest event of <sink> into <ev>. Returns 0, or -1 if none. */
int gwf_event_pop(gwf_evsink_t *sink, gwf_event_t *ev);

/* Events waiting in <sink>, and its capacity. Any process. */
unsigned gwf_event_depth(gwf_evsink_t *sink);
unsigned gwf_event_capacity(gwf_evsink_t *sink);

/* Deliver the queued events to the event routes, in order. Resume process
 * only. */
void gwf_event_run(void);

/* The event whose route runs now in this process, or NULL. */
const gwf_event_t *gwf_event_current(void);

/* "gw-down", "gw-reopened", "gw-half-open", "gw-up", "set-down", ... */
const char *gwf_event_name(gwf_ev_kind_t kind);

#endif
