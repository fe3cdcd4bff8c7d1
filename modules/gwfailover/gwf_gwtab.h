/*
 * gwfailover - fixed-capacity table of gateways keyed by (set id, URI).
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * The table lives in one caller-provided block (shared memory in Kamailio),
 * is never resized and never deletes: gateways are learnt from traffic and
 * kept, so pointers to entries stay valid for the life of the block. A
 * gateway the dispatcher no longer has is marked removed instead (see
 * gwf_gwtab_sweep_begin()), and becomes a member again if it comes back.
 * Entries are dense, numbered 0..count-1 in the order they were added (the
 * number is the gateway's id for callers). In front of them, a compact
 * index: open addressing with linear probing over a power-of-two array of
 * (hash, entry) pairs at most half full, so lookups stay O(1) whatever the
 * number of gateways, and a probe walks 8-byte index slots that stay in
 * the CPU caches instead of whole entries of several hundred bytes.
 * Not thread-safe: the caller locks.
 */

#ifndef GWF_GWTAB_H
#define GWF_GWTAB_H

#include "gwf_breaker.h"
#include "gwf_eject.h"
#include "gwf_flight.h"
#include "gwf_rtt.h"
#include "gwf_silence.h"

#define GWF_URI_MAX 255 /* longest gateway URI kept, in bytes */
#define GWF_NO_SLOT UINT32_MAX

#define GWF_RECENT_CODES 8 /* failure codes kept per gateway */

/* Per-gateway totals for operators. */
typedef struct gwf_gw_stats
{
	uint64_t successes;		 /* final 2xx */
	uint64_t local_timeouts; /* no reply, or only 100 (not after ringing) */
	uint64_t received_5xx;	 /* 5xx received (any classification) */
	uint64_t retry_after;	 /* failures carrying Retry-After */
	uint64_t counted;		 /* failures counted against health */
	uint64_t not_counted;	 /* failures not held against the gateway */
	uint64_t ejections;		 /* times ejected (threshold, eject, manual) */
	uint64_t rescued;		 /* calls in flight moved off it when ejected */
	int last_code;			 /* code of the last failure; 0: none */
	uint64_t last_fail_ms;	 /* monotonic time of the last failure */
	int16_t recent[GWF_RECENT_CODES]; /* last failure codes, a ring */
	uint8_t recent_n;				  /* codes in <recent> */
	uint8_t recent_next;			  /* where the next code goes */
} gwf_gw_stats_t;

/* Why a gateway is in its breaker state: kept with the gateway so an
 * operator can read it at any time, and put in the events. */
typedef enum gwf_why
{
	GWF_WHY_NONE = 0,		/* never changed state */
	GWF_WHY_FAULTS,			/* arg consecutive faults, the last <code> */
	GWF_WHY_RETRY_AFTER,	/* Retry-After of arg seconds (clamped) */
	GWF_WHY_EJECT_RULE,		/* an 'eject' rule matched <code> */
	GWF_WHY_TRIAL_FAILED,	/* a half-open trial call failed with <code> */
	GWF_WHY_MANUAL_EJECT,	/* operator, for arg seconds */
	GWF_WHY_TIME_OVER,		/* ejection time over: trial calls allowed */
	GWF_WHY_DS_ACTIVE,		/* dispatcher (probing, operator) re-activated */
	GWF_WHY_TRIAL_OK,		/* arg trial calls succeeded */
	GWF_WHY_MANUAL_RESTORE, /* operator */
	GWF_WHY_SILENT,			/* no reply to arg INVITEs (gwf_silence) */
	GWF_WHY_DS_REMOVED,		/* the dispatcher no longer has it (reload) */
	GWF_WHY_DS_BACK,		/* the dispatcher has it again */
	GWF_WHY_TRIAL_SILENT,	/* a trial call had no reply in arg ms */
	GWF_WHY_UNREACHABLE		/* a request to it could not be sent at all */
} gwf_why_t;

/* One gateway. What every call touches (key, breaker, silence) comes
 * first; the URI text, read by a lookup only to confirm a hash match, and
 * the operators' totals come last. */
typedef struct gwf_gw
{
	int set_id;
	uint16_t uri_len;
	uint8_t on_open_list; /* 1 while on the open list */
	uint8_t removed;	  /* 1 while the dispatcher does not have it: no
					   * breaker (CLOSED, frozen), in no set count */
	uint8_t ds_inactive;  /* the last sweep found it inactive or disabled in
					   * the dispatcher (probing, operator, or us) */
	uint32_t seen_gen;	  /* last sweep that found it in the dispatcher */
	gwf_brk_t brk;
	gwf_eject_t ej;		/* record of automatic ejections: their length */
	gwf_silence_t sil;	/* INVITEs since the gateway last replied */
	gwf_rtt_t rtt;		/* its first-reply latency and silence timeout */
	gwf_flight_t fl;	/* INVITEs in flight to it without a reply */
	uint8_t rescue_due; /* ejected: its calls in flight are to be rescued */
	uint8_t restored;	/* its state came from the state file; cleared by
						 * its next transition */
	uint32_t rescue_n;	/* rescued in this ejection so far (one log line) */
	int ds_down;		/* owned by the glue: 1 while it has the gateway marked
				  * inactive in the dispatcher */
	uint32_t open_next; /* next entry on the open list */
	gwf_why_t why;		/* why it is in its current state */
	int why_code;		/* SIP code behind <why>, 0 if none */
	uint32_t why_arg;	/* count or seconds behind <why> */
	gwf_gw_stats_t st;
	char uri[GWF_URI_MAX + 1]; /* NUL-terminated */
} gwf_gw_t;

/* One slot of the index. */
typedef struct gwf_gwtab_slot
{
	uint32_t hash;	/* of (set id, URI) */
	uint32_t entry; /* index in entries[]; GWF_NO_SLOT: free */
} gwf_gwtab_slot_t;

typedef struct gwf_gwtab
{
	uint32_t max_gw;		   /* most gateways accepted (entries) */
	uint32_t nslots;		   /* index slots: power of two, >= 2 * max_gw */
	uint32_t count;			   /* gateways in the table */
	uint64_t next_deadline_ms; /* earliest OPEN deadline; UINT64_MAX: none */
	uint32_t down;			   /* gateways not CLOSED; kept by the caller
							    * (and gwf_gwtab_sweep_one()) */
	uint32_t in_flight;		   /* nodes on the entries' flight lists; kept
							    * by the caller */
	uint32_t rescues_due;	   /* entries with rescue_due set; kept by the
							    * caller */
	uint32_t open_head;		   /* entries noted OPEN (GWF_NO_SLOT: none); the
						 * expiry walks these, not the whole table */
	uint32_t sweep_gen;		   /* generation of the current or last sweep */
	gwf_gw_t entries[];		   /* max_gw of them, then the index (nslots) */
} gwf_gwtab_t;

typedef enum gwf_gwtab_rc
{
	GWF_GWTAB_OK = 0,
	GWF_GWTAB_FULL,	   /* max_gw gateways already known */
	GWF_GWTAB_TOOLONG, /* URI longer than GWF_URI_MAX */
	GWF_GWTAB_EMPTY	   /* empty URI */
} gwf_gwtab_rc_t;

/* Bytes needed for a table of <max_gw> gateways (>= 1); 0 if too large to
 * represent. */
size_t gwf_gwtab_bytes(uint32_t max_gw);

/* Initialise a zeroed or reused block of gwf_gwtab_bytes(<max_gw>) bytes. */
void gwf_gwtab_init(gwf_gwtab_t *t, uint32_t max_gw);

/* Find the gateway (<set_id>, <uri> of <len> bytes); NULL if unknown. */
gwf_gw_t *gwf_gwtab_find(
		const gwf_gwtab_t *t, int set_id, const char *uri, size_t len);

/* Find or add the gateway; a new one starts with a CLOSED breaker at
 * <now_ms> and zero stats, and counts as seen by the current sweep (it
 * comes from the dispatcher: present until a sweep that starts after it
 * was added does not find it). An entry marked removed stays removed.
 * Returns the entry, or NULL with <*rc> saying why. */
gwf_gw_t *gwf_gwtab_get(gwf_gwtab_t *t, int set_id, const char *uri, size_t len,
		uint64_t now_ms, gwf_gwtab_rc_t *rc);

/* Note that some breaker is OPEN until <deadline_ms>, so
 * gwf_gwtab_expire() knows when to scan. */
void gwf_gwtab_note_deadline(gwf_gwtab_t *t, uint64_t deadline_ms);

/* Note that <g> (of <t>) was made OPEN or had its deadline moved: put it
 * on the open list, which gwf_gwtab_expire() walks, and note its
 * deadline. Every ejection must be noted here. */
void gwf_gwtab_note_open(gwf_gwtab_t *t, gwf_gw_t *g);

/* If <now_ms> has reached next_deadline_ms: tick every OPEN breaker on the
 * open list (its reason becomes GWF_WHY_TIME_OVER), write
 * the slot index of each one that became HALF_OPEN into <out> (at most
 * <max_out>) and recompute next_deadline_ms (left <= now if <out> was too
 * small, so the next call continues). Cheap when nothing is due; when
 * something is, in proportion to the gateways noted open, not to the
 * table size.
 * Returns the number of indexes written. */
unsigned gwf_gwtab_expire(
		gwf_gwtab_t *t, uint64_t now_ms, uint32_t *out, unsigned max_out);

/* ---- presence in the dispatcher ----
 *
 * A sweep compares the table with the dispatcher's destinations: call
 * gwf_gwtab_sweep_begin(), then gwf_gwtab_seen() for each gateway the
 * dispatcher has (learning new ones with gwf_gwtab_get()), and, only if
 * that list was read completely, gwf_gwtab_sweep_one() for each entry.
 * Lookups may run between the calls (the caller's lock is needed for each
 * call, not for the whole sweep). */

typedef enum gwf_gwtab_presence
{
	GWF_GWTAB_STILL = 0, /* no change */
	GWF_GWTAB_GONE,		 /* not in the dispatcher any more: now removed */
	GWF_GWTAB_BACK		 /* removed, and in the dispatcher again */
} gwf_gwtab_presence_t;

/* Start a sweep: a new generation (never 0). Returns it. */
uint32_t gwf_gwtab_sweep_begin(gwf_gwtab_t *t);

/* The dispatcher has <g> (of <t>): seen by the current sweep. */
void gwf_gwtab_seen(const gwf_gwtab_t *t, gwf_gw_t *g);

/* End the sweep for <g> at <now_ms>:
 *   not removed, not seen by the current sweep: GONE. It is marked
 *     removed; its breaker is stopped (CLOSED with no faults, no trial,
 *     no deadline: it never goes half-open), its silence count cleared,
 *     ds_down cleared (the dispatcher has nothing to restore), the
 *     reason is GWF_WHY_DS_REMOVED, and t->down drops by one if it was
 *     not CLOSED. <*prev> gets the breaker state it had, so the caller can
 *     fix its set counts (a removed gateway is in none).
 *   removed and seen: BACK. A member again, CLOSED and fresh (reason
 *     GWF_WHY_DS_BACK, since <now_ms>); <*prev> is CLOSED.
 *   otherwise STILL, nothing changes.
 * Totals (st) are kept either way. The breaker epoch is kept, so a trial
 * token of a call sent before the removal never matches a later trial. */
gwf_gwtab_presence_t gwf_gwtab_sweep_one(
		gwf_gwtab_t *t, gwf_gw_t *g, uint64_t now_ms, gwf_brk_state_t *prev);

/* ---- set health ----
 *
 * Per dispatcher set, the gateways the dispatcher has (removed ones are
 * not counted) and how many of them are healthy (CLOSED). A set is "down"
 * while it has no healthy gateway: also when it has no gateway left at
 * all, e.g. after a reload took all of them away; it is up again when it
 * has a healthy gateway. A set seen for the first time was never down. */

typedef struct gwf_setcount
{
	int set_id;
	uint32_t members; /* gateways of the set, removed ones not counted */
	uint32_t healthy; /* of them CLOSED */
	uint8_t down;	  /* SET_DOWN reported, no SET_UP since */
	uint8_t panic;	  /* its guard refused an ejection; no success since */
	uint32_t refused; /* ejections refused in this panic */
} gwf_setcount_t;

typedef enum gwf_set_ev
{
	GWF_SET_EV_NONE = 0,
	GWF_SET_EV_DOWN, /* lost its last healthy gateway */
	GWF_SET_EV_UP	 /* has a healthy gateway again */
} gwf_set_ev_t;

/* Start <sc> for set <set_id>: no gateway, not down. */
void gwf_setcount_init(gwf_setcount_t *sc, int set_id);

/* <sc> gains <members> gateways and <healthy> healthy ones (either may be
 * negative; counts never go below 0). Decides nothing: see
 * gwf_setcount_judge(). */
void gwf_setcount_add(gwf_setcount_t *sc, int members, int healthy);

/* The event <sc> owes now: DOWN when it has no healthy gateway and was not
 * reported down, UP when it has one and was; notes it in sc->down.
 * Level-triggered, so any number of gwf_setcount_add() calls may come
 * first (a sweep that removes several gateways at once reports the set
 * once), and a second call owes nothing. */
gwf_set_ev_t gwf_setcount_judge(gwf_setcount_t *sc);

/* Bring forward to <until_ms> the deadline of every OPEN entry of <t> for
 * which <pick>(entry, <arg>) holds and whose deadline is later, keeping
 * next_deadline_ms right. Walks the open list only. Returns how many
 * deadlines moved. */
unsigned gwf_gwtab_cap_open(gwf_gwtab_t *t, uint64_t until_ms,
		int (*pick)(const gwf_gw_t *g, void *arg), void *arg);

/* Entry <i> (0 <= i < count) or NULL; for iteration. NULL for a NULL
 * table too: at shutdown, tm frees its transactions (whose callbacks ask
 * for their gateways) after the table is gone. */
gwf_gw_t *gwf_gwtab_at(gwf_gwtab_t *t, uint32_t i);

const char *gwf_gwtab_rc_name(gwf_gwtab_rc_t rc);

/* Remember failure <code> in the ring of recent codes of <st>. */
void gwf_gwstats_note_code(gwf_gw_stats_t *st, int code);

/* Copy the recent failure codes of <st>, oldest first, into <out> (room
 * for GWF_RECENT_CODES). Returns how many. */
unsigned gwf_gwstats_recent(const gwf_gw_stats_t *st, int *out);

/* Write the reason <why> (with its <code> and <arg>) for an operator, e.g.
 * "3 consecutive faults, last 503", into <buf>. Returns the length
 * written (snprintf semantics). */
int gwf_why_format(
		gwf_why_t why, int code, uint32_t arg, char *buf, size_t size);

#endif
