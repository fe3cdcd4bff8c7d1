/*
 * gwfailover - fixed-capacity table of gateways keyed by (set id, URI).
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <stdio.h>
#include <string.h>

#include "gwf_gwtab.h"

/* Index slots for <max_gw> gateways: a power of two (masking instead of
 * modulo) at least twice max_gw, so the index is at most half full and
 * linear probing always meets a free slot quickly. 0 if it does not fit in
 * the uint32_t nslots field. */
static uint64_t gwf_gwtab_nslots(uint32_t max_gw)
{
	uint64_t want = 2 * (uint64_t)max_gw;
	uint64_t n = 2;

	if(max_gw == 0)
		return 0;
	while(n < want)
		n <<= 1;
	return n > UINT32_MAX ? 0 : n;
}

size_t gwf_gwtab_bytes(uint32_t max_gw)
{
	uint64_t n = gwf_gwtab_nslots(max_gw);

	if(n == 0)
		return 0;
	/* max_gw <= n / 2 and a slot is far smaller than half an entry, so
	 * entries plus index take less than n entries would */
	if(n > (SIZE_MAX - sizeof(gwf_gwtab_t)) / sizeof(gwf_gw_t))
		return 0;
	return sizeof(gwf_gwtab_t) + (size_t)max_gw * sizeof(gwf_gw_t)
		   + (size_t)n * sizeof(gwf_gwtab_slot_t);
}

/* The index follows the entries in the block. */
static gwf_gwtab_slot_t *gwf_gwtab_index(const gwf_gwtab_t *t)
{
	return (gwf_gwtab_slot_t *)(void *)&t->entries[t->max_gw];
}

void gwf_gwtab_init(gwf_gwtab_t *t, uint32_t max_gw)
{
	uint64_t n = gwf_gwtab_nslots(max_gw);

	/* An impossible size leaves an empty table that refuses every
	 * gateway, rather than one that indexes past the block. */
	t->max_gw = n ? max_gw : 0;
	t->nslots = (uint32_t)n;
	t->count = 0;
	t->down = 0;
	t->open_head = GWF_NO_SLOT;
	t->sweep_gen = 0;
	t->next_deadline_ms = UINT64_MAX;
	if(n) {
		memset(t->entries, 0, (size_t)max_gw * sizeof(gwf_gw_t));
		/* all bits set: every entry field GWF_NO_SLOT (free) */
		memset(gwf_gwtab_index(t), 0xff, (size_t)n * sizeof(gwf_gwtab_slot_t));
	}
}

/* FNV-1a, 32 bit: fast on short keys. No seed: the table is bounded and at
 * most half full, so even adversarial keys cost at most a linear scan. */
static uint32_t gwf_gwtab_hash(int set_id, const char *uri, size_t len)
{
	unsigned char id[sizeof(set_id)];
	uint32_t h = 2166136261u;
	size_t i;

	memcpy(id, &set_id, sizeof(id));
	for(i = 0; i < sizeof(id); i++) {
		h ^= id[i];
		h *= 16777619u;
	}
	for(i = 0; i < len; i++) {
		h ^= (unsigned char)uri[i];
		h *= 16777619u;
	}
	return h;
}

/* Probe the index for the key: returns its index slot, or the free slot
 * where it would go (<*found> 0). The index is never more than half full,
 * so a free slot ends every probe. Only a matching hash costs a look at
 * the entry itself. */
static uint32_t gwf_gwtab_probe(const gwf_gwtab_t *t, uint32_t h, int set_id,
		const char *uri, size_t len, int *found)
{
	const gwf_gwtab_slot_t *ix = gwf_gwtab_index(t);
	uint32_t mask = t->nslots - 1;
	uint32_t i = h & mask;
	const gwf_gw_t *g;

	for(;;) {
		if(ix[i].entry == GWF_NO_SLOT) {
			*found = 0;
			return i;
		}
		if(ix[i].hash == h) {
			g = &t->entries[ix[i].entry];
			if(g->set_id == set_id && g->uri_len == len
					&& memcmp(g->uri, uri, len) == 0) {
				*found = 1;
				return i;
			}
		}
		i = (i + 1) & mask;
	}
}

gwf_gw_t *gwf_gwtab_find(
		const gwf_gwtab_t *t, int set_id, const char *uri, size_t len)
{
	uint32_t i;
	int found;

	if(t->nslots == 0 || uri == NULL || len == 0 || len > GWF_URI_MAX)
		return NULL;
	i = gwf_gwtab_probe(
			t, gwf_gwtab_hash(set_id, uri, len), set_id, uri, len, &found);
	/* The table is not const for the caller, who owns the block; find is
	 * const only so that lookups can take a const table. */
	return found ? (gwf_gw_t *)&t->entries[gwf_gwtab_index(t)[i].entry] : NULL;
}

static gwf_gw_t *gwf_gwtab_fail(gwf_gwtab_rc_t *rc, gwf_gwtab_rc_t v)
{
	if(rc != NULL)
		*rc = v;
	return NULL;
}

gwf_gw_t *gwf_gwtab_get(gwf_gwtab_t *t, int set_id, const char *uri, size_t len,
		uint64_t now_ms, gwf_gwtab_rc_t *rc)
{
	uint32_t h, i;
	int found;
	gwf_gw_t *g;

	if(uri == NULL || len == 0)
		return gwf_gwtab_fail(rc, GWF_GWTAB_EMPTY);
	if(len > GWF_URI_MAX)
		return gwf_gwtab_fail(rc, GWF_GWTAB_TOOLONG);
	if(t->nslots == 0)
		return gwf_gwtab_fail(rc, GWF_GWTAB_FULL);
	h = gwf_gwtab_hash(set_id, uri, len);
	i = gwf_gwtab_probe(t, h, set_id, uri, len, &found);
	if(found) {
		g = &t->entries[gwf_gwtab_index(t)[i].entry];
	} else {
		/* max_gw, not nslots, is the limit: it keeps the index half
		 * empty. */
		if(t->count >= t->max_gw)
			return gwf_gwtab_fail(rc, GWF_GWTAB_FULL);
		g = &t->entries[t->count];
		gwf_gwtab_index(t)[i].hash = h;
		gwf_gwtab_index(t)[i].entry = t->count;
		memset(g, 0, sizeof(*g));
		g->set_id = set_id;
		g->uri_len = (uint16_t)len;
		memcpy(g->uri, uri, len);
		g->uri[len] = '\0';
		gwf_brk_init(&g->brk, now_ms);
		g->seen_gen = t->sweep_gen;
		t->count++;
	}
	if(rc != NULL)
		*rc = GWF_GWTAB_OK;
	return g;
}

void gwf_gwtab_note_deadline(gwf_gwtab_t *t, uint64_t deadline_ms)
{
	if(deadline_ms < t->next_deadline_ms)
		t->next_deadline_ms = deadline_ms;
}

void gwf_gwtab_note_open(gwf_gwtab_t *t, gwf_gw_t *g)
{
	if(!g->on_open_list) {
		g->open_next = t->open_head;
		t->open_head = (uint32_t)(g - t->entries);
		g->on_open_list = 1;
	}
	gwf_gwtab_note_deadline(t, g->brk.open_until_ms);
}

unsigned gwf_gwtab_expire(
		gwf_gwtab_t *t, uint64_t now_ms, uint32_t *out, unsigned max_out)
{
	uint64_t next = UINT64_MAX;
	unsigned n = 0;
	uint32_t *link, i;
	gwf_gw_t *g;

	if(now_ms < t->next_deadline_ms)
		return 0;
	/* Walk the open list only when some deadline is due: the recomputed
	 * minimum also picks up deadlines that eject() extended, so a stale
	 * early note costs one walk and nothing else. Gateways that left OPEN
	 * another way (restore, revival) leave the list here. */
	for(link = &t->open_head; *link != GWF_NO_SLOT;) {
		i = *link;
		g = &t->entries[i];
		if(g->brk.state != GWF_BRK_OPEN) {
			*link = g->open_next;
			g->on_open_list = 0;
			continue;
		}
		if(g->brk.open_until_ms <= now_ms && n < max_out) {
			gwf_brk_tick(&g->brk, now_ms);
			g->why = GWF_WHY_TIME_OVER;
			g->why_code = 0;
			g->why_arg = 0;
			out[n++] = i;
			*link = g->open_next;
			g->on_open_list = 0;
			continue;
		}
		/* Due but no room in <out>: its deadline (<= now) stays the
		 * minimum, so the next call walks again and continues. */
		if(g->brk.open_until_ms < next)
			next = g->brk.open_until_ms;
		link = &g->open_next;
	}
	t->next_deadline_ms = next;
	return n;
}

unsigned gwf_gwtab_cap_open(gwf_gwtab_t *t, uint64_t until_ms,
		int (*pick)(const gwf_gw_t *g, void *arg), void *arg)
{
	unsigned n = 0;
	uint32_t i;
	gwf_gw_t *g;

	for(i = t->open_head; i != GWF_NO_SLOT; i = g->open_next) {
		g = &t->entries[i];
		if(g->brk.state != GWF_BRK_OPEN || g->brk.open_until_ms <= until_ms
				|| !pick(g, arg))
			continue;
		g->brk.open_until_ms = until_ms;
		n++;
	}
	if(n > 0)
		gwf_gwtab_note_deadline(t, until_ms);
	return n;
}

uint32_t gwf_gwtab_sweep_begin(gwf_gwtab_t *t)
{
	/* 0 is what entries of a table that never swept hold */
	if(++t->sweep_gen == 0)
		t->sweep_gen = 1;
	return t->sweep_gen;
}

void gwf_gwtab_seen(const gwf_gwtab_t *t, gwf_gw_t *g)
{
	g->seen_gen = t->sweep_gen;
}

/* <g> starts over CLOSED at <now_ms> for reason <why>: no faults, no
 * trial, no deadline, no silence count, not marked down in the
 * dispatcher. The epoch stays (see gwf_gwtab_sweep_one()). */
static void gwf_gwtab_fresh(gwf_gw_t *g, uint64_t now_ms, gwf_why_t why)
{
	gwf_brk_restore(&g->brk, now_ms);
	g->brk.since_ms = now_ms; /* also when it was CLOSED already */
	gwf_silence_heard(&g->sil);
	gwf_eject_clear(&g->ej);
	g->ds_down = 0;
	g->why = why;
	g->why_code = 0;
	g->why_arg = 0;
}

gwf_gwtab_presence_t gwf_gwtab_sweep_one(
		gwf_gwtab_t *t, gwf_gw_t *g, uint64_t now_ms, gwf_brk_state_t *prev)
{
	int seen = g->seen_gen == t->sweep_gen;

	*prev = g->brk.state;
	if(!g->removed && !seen) {
		if(g->brk.state != GWF_BRK_CLOSED && t->down > 0)
			t->down--;
		/* Off the open list at the next expiry walk (no longer OPEN):
		 * no deadline, no half-open, no trial. */
		gwf_gwtab_fresh(g, now_ms, GWF_WHY_DS_REMOVED);
		g->removed = 1;
		return GWF_GWTAB_GONE;
	}
	if(g->removed && seen) {
		gwf_gwtab_fresh(g, now_ms, GWF_WHY_DS_BACK);
		g->removed = 0;
		return GWF_GWTAB_BACK;
	}
	return GWF_GWTAB_STILL;
}

void gwf_setcount_init(gwf_setcount_t *sc, int set_id)
{
	memset(sc, 0, sizeof(*sc));
	sc->set_id = set_id;
}

/* <v> + <d>, floored at 0 and capped at UINT32_MAX. */
static uint32_t gwf_setcount_step(uint32_t v, int d)
{
	if(d < 0)
		return (uint32_t) - (int64_t)d > v ? 0 : v - (uint32_t) - (int64_t)d;
	return (uint64_t)v + (uint64_t)d > UINT32_MAX ? UINT32_MAX
												  : v + (uint32_t)d;
}

void gwf_setcount_add(gwf_setcount_t *sc, int members, int healthy)
{
	sc->members = gwf_setcount_step(sc->members, members);
	sc->healthy = gwf_setcount_step(sc->healthy, healthy);
}

gwf_set_ev_t gwf_setcount_judge(gwf_setcount_t *sc)
{
	if(sc->healthy == 0 && !sc->down) {
		sc->down = 1;
		return GWF_SET_EV_DOWN;
	}
	if(sc->healthy > 0 && sc->down) {
		sc->down = 0;
		return GWF_SET_EV_UP;
	}
	return GWF_SET_EV_NONE;
}

gwf_gw_t *gwf_gwtab_at(gwf_gwtab_t *t, uint32_t i)
{
	if(t == NULL || i >= t->count)
		return NULL;
	return &t->entries[i];
}

const char *gwf_gwtab_rc_name(gwf_gwtab_rc_t rc)
{
	switch(rc) {
		case GWF_GWTAB_OK:
			return "ok";
		case GWF_GWTAB_FULL:
			return "full";
		case GWF_GWTAB_TOOLONG:
			return "uri too long";
		case GWF_GWTAB_EMPTY:
			return "empty uri";
	}
	return "unknown";
}

int gwf_why_format(
		gwf_why_t why, int code, uint32_t arg, char *buf, size_t size)
{
	switch(why) {
		case GWF_WHY_NONE:
			return snprintf(buf, size, "none");
		case GWF_WHY_FAULTS:
			if(code == 408)
				return snprintf(buf, size,
						"%u consecutive fault%s, last a timeout (408)", arg,
						arg == 1 ? "" : "s");
			return snprintf(buf, size, "%u consecutive fault%s, last %d", arg,
					arg == 1 ? "" : "s", code);
		case GWF_WHY_RETRY_AFTER:
			return snprintf(buf, size, "Retry-After %u s (%d)", arg, code);
		case GWF_WHY_EJECT_RULE:
			return snprintf(buf, size, "eject rule (%d)", code);
		case GWF_WHY_TRIAL_FAILED:
			return snprintf(buf, size, "trial call failed (%d)", code);
		case GWF_WHY_MANUAL_EJECT:
			return snprintf(buf, size, "manual eject for %u s", arg);
		case GWF_WHY_TIME_OVER:
			return snprintf(buf, size, "ejection time over");
		case GWF_WHY_DS_ACTIVE:
			return snprintf(buf, size, "dispatcher marked it active");
		case GWF_WHY_TRIAL_OK:
			return snprintf(buf, size, "%u trial call%s succeeded", arg,
					arg == 1 ? "" : "s");
		case GWF_WHY_MANUAL_RESTORE:
			return snprintf(buf, size, "manual restore");
		case GWF_WHY_SILENT:
			return snprintf(buf, size, "silent: no reply to %u INVITE%s", arg,
					arg == 1 ? "" : "s");
		case GWF_WHY_DS_REMOVED:
			return snprintf(buf, size, "removed from the dispatcher");
		case GWF_WHY_DS_BACK:
			return snprintf(buf, size, "back in the dispatcher");
		case GWF_WHY_TRIAL_SILENT:
			return snprintf(buf, size, "trial call unanswered for %u ms", arg);
		case GWF_WHY_UNREACHABLE:
			return snprintf(buf, size,
					"unreachable: a request could not be sent (connection"
					" refused or reset, no route, TLS handshake failed)");
	}
	return snprintf(buf, size, "unknown");
}

void gwf_gwstats_note_code(gwf_gw_stats_t *st, int code)
{
	st->recent[st->recent_next] = (int16_t)code;
	st->recent_next = (uint8_t)((st->recent_next + 1) % GWF_RECENT_CODES);
	if(st->recent_n < GWF_RECENT_CODES)
		st->recent_n++;
}

unsigned gwf_gwstats_recent(const gwf_gw_stats_t *st, int *out)
{
	unsigned i, n = st->recent_n;
	/* the oldest kept code sits n places before the next free one */
	unsigned first =
			(st->recent_next + GWF_RECENT_CODES - n) % GWF_RECENT_CODES;

	for(i = 0; i < n; i++)
		out[i] = st->recent[(first + i) % GWF_RECENT_CODES];
	return n;
}
