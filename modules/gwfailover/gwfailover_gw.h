/*
 * gwfailover - the gateway table in shared memory and its lock.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_GW_H
#define GWFAILOVER_GW_H

#include "core/str.h"

#include "gwf_flight.h"
#include "gwf_gwtab.h"
#include "gwf_state.h"

/* Allocate and initialise the table for <max_gw> gateways in shm.
 * mod_init only. Returns 0 or -1 (logged). */
int gwf_gw_init(unsigned max_gw);

/* Allocate the lock that orders dispatcher updates; mod_init only. */
int gwf_gw_init_sync(void);

/* Learn every dispatcher destination into the table (no lock held): at
 * start, before any worker exists, and before an automatic ejection. */
void gwf_gw_learn_all(void);

/* Start the check of silent gateways and unanswered trial calls on
 * Kamailio's core timer (mod_init). */
int gwf_gw_init_scan(void);
void gwf_gw_destroy_sync(void);

/* Free the table; destroy only. */
void gwf_gw_destroy(void);

/* Slot of gateway (<set>, <uri>), added if new. Returns the slot index, or
 * -1 (logged once) when the table is full or the URI is unusable. A
 * gateway removed from the dispatcher is returned as it is, and stays
 * removed (see gwf_gw_timer()). */
int gwf_gw_lookup(int set, str *uri);

/* Is the gateway in slot <idx> worth choosing now (breaker not OPEN, and in
 * HALF_OPEN a trial slot free)? Read-only. Returns 1 or 0. */
int gwf_gw_selectable(int idx);

/* Take the right to send one call to slot <idx>: 1 (with *trial set, 0 if
 * not a trial call) or 0 when the breaker refuses. */
int gwf_gw_acquire(int idx, uint32_t *trial);

/* An INVITE the module re-forwards goes to slot <idx> holding trial token
 * <trial> (the first forward of a call counts in gwf_gw_lookup_forward()):
 * silence detection (not for a trial call), and <node> (its identity,
 * send time and outcome flag filled in; its <sent> flag set once tm sent
 * it) goes on the gateway's flight list with <trial>. */
void gwf_gw_sent(int idx, uint32_t trial, gwf_flight_node_t *node);

/* The first reply (any code, 100 included) of a branch came from slot
 * <idx>: the gateway is not silent. The branch's node stays on the
 * flight list, marked heard by its owner, until the resume process's
 * next sweep, which also learns its latency. */
void gwf_gw_heard(int idx);

/* The first reply of a branch rescued from slot <idx> came after all:
 * the gateway is alive, and <sample_ms> (>= 0; -1: none) is its latency
 * to learn from (a slow gateway teaches its timeout even when it was
 * ejected). */
void gwf_gw_heard_late(int idx, int64_t sample_ms);

/* The transaction of <node> is freed: it leaves the flight list of slot
 * <idx> if it is still on it. Cheap when it is not. */
void gwf_gw_flight_drop(int idx, gwf_flight_node_t *node);

/* A branch to slot <idx> timed out without any reply: its learnt silence
 * timeout backs off (RFC 6298 5.5). */
void gwf_gw_rtt_backoff(int idx);

/* Resume process: the calls in flight to the first ejected gateway from
 * slot <from> on that owes a rescue. Up to <max> of them are taken off its
 * list into <out> (oldest first; the gateway stays due while any are
 * left) and *idx is its slot.
 * A gateway that is no longer ejected, or whose set has no other gateway
 * that takes calls, gives none: its calls wait as they would without the
 * module, and *kept says how many. *last is 1 when the gateway owes no
 * more. Returns how many were taken; *idx is -1 when no gateway from
 * <from> on owes one. */
unsigned gwf_gw_rescue_take(uint32_t from, int *idx, gwf_flight_ref_t *out,
		unsigned max, int *kept, int *last);

/* <n> calls were rescued from slot <idx>: its totals. With <last> (the
 * rescue of this ejection is over), returns how many this ejection
 * rescued in all, for one log line; else 0. */
unsigned gwf_gw_rescued(int idx, unsigned n, int last);

/* A call the script routed is being forwarded to the gateway in slot
 * <idx>, looked up before (gwf_gw_lookup()): as gwf_gw_lookup_forward()
 * from there on. Returns <idx>, or -1 if there is no such slot. */
int gwf_gw_forward_at(int idx, uint32_t *trial, gwf_flight_node_t *node);

/* Is <uri> the URI of the gateway in slot <idx>? */
int gwf_gw_uri_is(int idx, const str *uri);

/* A call the script routed (ds_select_dst) is being forwarded to
 * (<set>, <uri>): like gwf_gw_lookup(), and if the gateway is on trial the
 * call takes a trial slot when one is free (*trial, 0: none); <node> as
 * for gwf_gw_sent(). One lock round: this runs for every call. */
int gwf_gw_lookup_forward(
		int set, str *uri, uint32_t *trial, gwf_flight_node_t *node);

/* Outcomes of one call sent to slot <idx> holding trial token <trial>. */
void gwf_gw_success(int idx, uint32_t trial);
void gwf_gw_neutral(int idx, uint32_t trial);
/* A failure classified with health effect <health> (COUNT, IGNORE or
 * EJECT); <eject_ms> is how long an EJECT lasts. */
void gwf_gw_failure(int idx, uint32_t trial, const gwf_failure_t *f,
		gwf_health_t health, uint32_t eject_ms);

/* ---- for operators (RPC, statistics) ---- */

/* Slot of the known gateway (<set>, <uri>), or -1; never adds. */
int gwf_gw_find_existing(int set, str *uri);

/* Gateway ids run 0..slots-1 (iterate with gwf_gw_snapshot(); a gateway
 * learnt meanwhile may appear), and gateways known. */
unsigned gwf_gw_slots(void);
int gwf_gw_used(int idx);
unsigned gwf_gw_count(void);

/* Gateways not CLOSED now (open or half-open); removed ones are CLOSED.
 * Any process, no lock. */
unsigned gwf_gw_down_count(void);

/* Copy slot <idx> consistently into <out>. Returns 0, or -1 if the slot is
 * free. */
int gwf_gw_snapshot(int idx, gwf_gw_t *out);

/* Operator: eject slot <idx> for <seconds> (an ejection in force is never
 * shortened), or restore it to CLOSED; both also set the dispatcher state,
 * even if it looked right already. Return 0, or -1 (nothing done) if the
 * gateway is removed from the dispatcher. */
int gwf_gw_eject(int idx, uint32_t seconds);
int gwf_gw_restore(int idx);

/* Operator: clear the totals and the consecutive fault count of slot
 * <idx>; the breaker state stays. */
void gwf_gw_reset(int idx);

/* Timer work: OPEN breakers past their deadline become HALF_OPEN, and OPEN
 * gateways the dispatcher made active again (its OPTIONS probing, or an
 * operator) go HALF_OPEN early. Once a second, the dispatcher's list is
 * read: new destinations are learnt, gateways it no longer has (after a
 * dispatcher.reload) are marked removed (out of their set and of the down
 * gauge, breaker stopped: no half-open, no trial, outcomes of late calls
 * count only in their totals), and removed ones it has again become
 * members, CLOSED and fresh. A list that cannot be read completely
 * changes no presence and is reported once (LM_WARN). Resume process
 * only. */
void gwf_gw_timer(uint64_t now_ms);

typedef enum gwf_restore_rc
{
	GWF_RESTORE_OK = 0,
	GWF_RESTORE_EXPIRED, /* its ejection ended while Kamailio was down */
	GWF_RESTORE_UNKNOWN, /* the dispatcher does not have it (any more) */
	GWF_RESTORE_REFUSED	 /* the guard of its set keeps it in */
} gwf_restore_rc_t;

/* Restore the state file entry <e> at wall-clock <now_wall> (ms): eject
 * the gateway for what is left of its time (a half-open one with none
 * left: trial calls at once), with its multiplier and reason, and mark it
 * in the dispatcher. Before the first call is routed (child_init
 * PROC_INIT), after gwf_gw_learn_all(). */
gwf_restore_rc_t gwf_gw_state_restore(
		const gwf_state_ent_t *e, uint64_t now_wall);

/* The gw lines of every ejected or half-open gateway into <buf> (<size>
 * bytes), at wall-clock <now_wall>; <hash> of what they say (not of the
 * time), <count> lines. <wait_ms> < 0: wait for the table lock; else
 * give up after that long. Returns the length, -1 if <buf> is too small,
 * -2 if the lock could not be had. */
int gwf_gw_state_dump(char *buf, size_t size, uint64_t now_wall, uint64_t *hash,
		unsigned *count, int wait_ms);

/* When gwf_gw_timer() has work next: the earliest OPEN deadline or the
 * next dispatcher sweep (monotonic ms; may be in the past). Resume
 * process only. */
uint64_t gwf_gw_next_due(void);

#endif
