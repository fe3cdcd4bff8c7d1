/*
 * gwfailover - unit tests of the gateway table.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <stdio.h>
#include <stdlib.h>

#include "testhelp.h"
#include "gwf_gwtab.h"

/* The table of <max_gw> in a fresh block filled with garbage, as a reused
 * shared memory block would be. Freed by the caller. */
static gwf_gwtab_t *new_tab(uint32_t max_gw)
{
	size_t n = gwf_gwtab_bytes(max_gw);
	gwf_gwtab_t *t;

	assert_true(n > 0);
	t = malloc(n);
	assert_non_null(t);
	memset(t, 0xa5, n);
	gwf_gwtab_init(t, max_gw);
	return t;
}

/* Reference FNV-1a over the set id bytes, then the URI bytes. */
static uint32_t fnv1a(int set_id, const char *uri)
{
	unsigned char id[sizeof(set_id)];
	uint32_t h = 2166136261u;
	size_t i;

	memcpy(id, &set_id, sizeof(id));
	for(i = 0; i < sizeof(id); i++)
		h = (h ^ id[i]) * 16777619u;
	for(i = 0; uri[i] != '\0'; i++)
		h = (h ^ (unsigned char)uri[i]) * 16777619u;
	return h;
}

static gwf_gw_t *get(gwf_gwtab_t *t, int set_id, const char *uri, uint64_t now,
		gwf_gwtab_rc_t *rc)
{
	return gwf_gwtab_get(t, set_id, uri, strlen(uri), now, rc);
}

static gwf_gw_t *find(const gwf_gwtab_t *t, int set_id, const char *uri)
{
	return gwf_gwtab_find(t, set_id, uri, strlen(uri));
}

static uint32_t slot_of(gwf_gwtab_t *t, const gwf_gw_t *g)
{
	return (uint32_t)(g - t->entries);
}

/* The index slot that points at <g> (the index follows the entries in the
 * block), or UINT32_MAX. */
static uint32_t index_slot(gwf_gwtab_t *t, const gwf_gw_t *g)
{
	const gwf_gwtab_slot_t *ix =
			(const gwf_gwtab_slot_t *)&t->entries[t->max_gw];
	uint32_t i;

	for(i = 0; i < t->nslots; i++)
		if(ix[i].entry == slot_of(t, g))
			return i;
	return UINT32_MAX;
}

static void test_bytes(void **state)
{
	const size_t head = sizeof(gwf_gwtab_t), gw = sizeof(gwf_gw_t);
	const size_t ix = sizeof(gwf_gwtab_slot_t);

	(void)state;
	/* max_gw entries, then a power of two >= 2 * max_gw of index slots */
	assert_int_equal(gwf_gwtab_bytes(0), 0);
	assert_int_equal(gwf_gwtab_bytes(1), head + 1 * gw + 2 * ix);
	assert_int_equal(gwf_gwtab_bytes(2), head + 2 * gw + 4 * ix);
	assert_int_equal(gwf_gwtab_bytes(3), head + 3 * gw + 8 * ix);
	assert_int_equal(gwf_gwtab_bytes(4), head + 4 * gw + 8 * ix);
	assert_int_equal(gwf_gwtab_bytes(5), head + 5 * gw + 16 * ix);
	assert_int_equal(gwf_gwtab_bytes(10000), head + 10000 * gw + 32768 * ix);
	assert_int_equal(ix, 8);
	/* nslots would not fit in 32 bits. */
	assert_int_equal(gwf_gwtab_bytes(0x80000000u), 0);
	assert_int_equal(gwf_gwtab_bytes(0x80000001u), 0);
	assert_int_equal(gwf_gwtab_bytes(UINT32_MAX), 0);
	/* The largest one: representable on 64 bit, not on 32 bit. */
	if(SIZE_MAX > UINT32_MAX)
		assert_int_equal(gwf_gwtab_bytes(0x40000000u),
				head + (size_t)0x40000000u * gw + (size_t)0x80000000u * ix);
	else
		assert_int_equal(gwf_gwtab_bytes(0x40000000u), 0);
}

static void test_init(void **state)
{
	gwf_gwtab_t *t = new_tab(3);
	uint32_t i;

	(void)state;
	assert_int_equal(t->max_gw, 3);
	assert_int_equal(t->nslots, 8);
	assert_int_equal(t->count, 0);
	assert_int_equal(t->next_deadline_ms, UINT64_MAX);
	for(i = 0; i < t->nslots; i++)
		assert_null(gwf_gwtab_at(t, i));
	assert_null(gwf_gwtab_at(t, 8));
	assert_null(gwf_gwtab_at(t, UINT32_MAX));
	assert_null(gwf_gwtab_at(NULL, 0)); /* the table gone at shutdown */
	free(t);

	t = new_tab(1);
	assert_int_equal(t->nslots, 2);
	free(t);
}

static void test_insert_find(void **state)
{
	gwf_gwtab_t *t = new_tab(8);
	gwf_gwtab_rc_t rc = GWF_GWTAB_FULL;
	gwf_gw_t *a, *b;
	gwf_gw_stats_t zero_st;
	/* Not NUL-terminated: only <len> bytes are the URI. */
	const char raw[] = {'s', 'i', 'p', ':', 'a', '@', 'h', 'X'};

	(void)state;
	a = get(t, 1, "sip:a@h", 500, &rc);
	assert_non_null(a);
	assert_int_equal(rc, GWF_GWTAB_OK);
	assert_int_equal(a->set_id, 1);
	assert_int_equal(a->uri_len, 7);
	assert_string_equal(a->uri, "sip:a@h");
	/* entries are dense, in the order they were added */
	assert_int_equal(slot_of(t, a), 0);
	assert_int_equal(index_slot(t, a), fnv1a(1, "sip:a@h") & 15);
	assert_int_equal(a->brk.state, GWF_BRK_CLOSED);
	assert_int_equal(a->brk.since_ms, 500);
	assert_int_equal(a->brk.consec_faults, 0);
	memset(&zero_st, 0, sizeof(zero_st));
	assert_memory_equal(&a->st, &zero_st, sizeof(a->st));
	assert_int_equal(t->count, 1);

	/* Same key: same entry, untouched. */
	a->st.successes = 42;
	rc = GWF_GWTAB_FULL;
	assert_ptr_equal(get(t, 1, "sip:a@h", 900, &rc), a);
	assert_int_equal(rc, GWF_GWTAB_OK);
	assert_int_equal(a->st.successes, 42);
	assert_int_equal(a->brk.since_ms, 500);
	assert_int_equal(t->count, 1);
	assert_ptr_equal(find(t, 1, "sip:a@h"), a);
	assert_ptr_equal(gwf_gwtab_find(t, 1, raw, 7), a);
	assert_ptr_equal(gwf_gwtab_get(t, 1, raw, 7, 0, NULL), a);
	assert_ptr_equal(gwf_gwtab_at(t, slot_of(t, a)), a);

	/* Same URI in another set: another gateway. */
	b = get(t, 2, "sip:a@h", 600, &rc);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_int_equal(b->set_id, 2);
	assert_int_equal(t->count, 2);
	assert_ptr_equal(find(t, 2, "sip:a@h"), b);
	assert_ptr_equal(find(t, 1, "sip:a@h"), a);
	assert_null(find(t, 3, "sip:a@h"));
	assert_null(find(t, -1, "sip:a@h"));

	/* Exact bytes: no prefix, case or length games. */
	assert_null(find(t, 1, "sip:a@"));
	assert_null(find(t, 1, "sip:a@hh"));
	assert_null(find(t, 1, "SIP:a@h"));
	assert_null(gwf_gwtab_find(t, 1, raw, 8));
	assert_null(gwf_gwtab_find(t, 1, "sip:a@h", 0));
	assert_null(gwf_gwtab_find(t, 1, NULL, 0));
	free(t);
}

static void test_full(void **state)
{
	gwf_gwtab_t *t = new_tab(2);
	gwf_gwtab_rc_t rc = GWF_GWTAB_OK;
	gwf_gw_t *a;

	(void)state;
	a = get(t, 0, "sip:a", 0, &rc);
	assert_non_null(get(t, 0, "sip:b", 0, &rc));
	assert_null(get(t, 0, "sip:c", 0, &rc));
	assert_int_equal(rc, GWF_GWTAB_FULL);
	assert_null(get(t, 1, "sip:a", 0, NULL));
	assert_int_equal(t->count, 2);
	assert_null(find(t, 0, "sip:c"));
	/* Known gateways are still served when full. */
	rc = GWF_GWTAB_FULL;
	assert_ptr_equal(get(t, 0, "sip:a", 0, &rc), a);
	assert_int_equal(rc, GWF_GWTAB_OK);
	free(t);
}

static void test_uri_length(void **state)
{
	gwf_gwtab_t *t = new_tab(4);
	gwf_gwtab_rc_t rc = GWF_GWTAB_OK;
	char uri[GWF_URI_MAX + 2];
	gwf_gw_t *g;

	(void)state;
	memset(uri, 'u', sizeof(uri));
	uri[GWF_URI_MAX + 1] = '\0';

	assert_null(gwf_gwtab_get(t, 0, uri, 256, 0, &rc));
	assert_int_equal(rc, GWF_GWTAB_TOOLONG);
	assert_int_equal(t->count, 0);
	assert_null(gwf_gwtab_find(t, 0, uri, 256));

	g = gwf_gwtab_get(t, 0, uri, 255, 0, &rc);
	assert_non_null(g);
	assert_int_equal(rc, GWF_GWTAB_OK);
	assert_int_equal(g->uri_len, 255);
	assert_int_equal(strlen(g->uri), 255);
	assert_memory_equal(g->uri, uri, 255);
	assert_ptr_equal(gwf_gwtab_find(t, 0, uri, 255), g);
	assert_null(gwf_gwtab_find(t, 0, uri, 254));
	assert_null(gwf_gwtab_find(t, 0, uri, 256));

	assert_null(gwf_gwtab_get(t, 0, "", 0, 0, &rc));
	assert_int_equal(rc, GWF_GWTAB_EMPTY);
	rc = GWF_GWTAB_OK;
	assert_null(gwf_gwtab_get(t, 0, NULL, 0, 0, &rc));
	assert_int_equal(rc, GWF_GWTAB_EMPTY);
	assert_int_equal(t->count, 1);
	free(t);
}

/* Three keys on the same home slot sit in consecutive index slots, and
 * each one is found past the others. */
static void test_collisions_probe(void **state)
{
	gwf_gwtab_t *t = new_tab(4);
	char uris[4][32];
	gwf_gw_t *g[3];
	uint32_t home = 0, h;
	int found = 0, i;

	(void)state;
	for(i = 0; found < 4 && i < 100000; i++) {
		char u[32];

		snprintf(u, sizeof(u), "sip:gw%d", i);
		h = fnv1a(7, u) & (t->nslots - 1);
		if(found == 0)
			home = h;
		if(h == home)
			snprintf(uris[found++], sizeof(uris[0]), "%s", u);
	}
	assert_int_equal(found, 4);
	for(i = 0; i < 3; i++) {
		g[i] = get(t, 7, uris[i], 0, NULL);
		assert_non_null(g[i]);
		assert_int_equal(slot_of(t, g[i]), (uint32_t)i);
		assert_int_equal(index_slot(t, g[i]), (home + (uint32_t)i) & 7);
	}
	for(i = 0; i < 3; i++)
		assert_ptr_equal(find(t, 7, uris[i]), g[i]);
	/* A missing key on the same home slot probes past all three. */
	assert_null(find(t, 7, uris[3]));
	assert_int_equal(t->count, 3);
	free(t);
}

static void test_many(void **state)
{
	enum
	{
		N = 10000
	};
	gwf_gwtab_t *t = new_tab(N);
	gwf_gw_t **gws = calloc(N, sizeof(*gws));
	char uri[64];
	uint32_t i, used = 0;

	(void)state;
	assert_non_null(gws);
	assert_int_equal(t->nslots, 32768);
	for(i = 0; i < N; i++) {
		/* Few URIs, many sets: keys differ in both parts. */
		snprintf(uri, sizeof(uri), "sip:gw%u@10.0.0.%u", i % 50, i % 7);
		gws[i] = get(t, (int)(i / 50), uri, i, NULL);
		assert_non_null(gws[i]);
	}
	assert_int_equal(t->count, N);
	for(i = 0; i < N; i++) {
		snprintf(uri, sizeof(uri), "sip:gw%u@10.0.0.%u", i % 50, i % 7);
		assert_ptr_equal(find(t, (int)(i / 50), uri), gws[i]);
		assert_int_equal(gws[i]->brk.since_ms, i);
	}
	assert_null(get(t, -5, "sip:one-more", 0, NULL));
	for(i = 0; i < t->nslots; i++)
		used += gwf_gwtab_at(t, i) != NULL;
	assert_int_equal(used, N);
	free(gws);
	free(t);
}

static void test_note_deadline(void **state)
{
	gwf_gwtab_t *t = new_tab(4);

	(void)state;
	gwf_gwtab_note_deadline(t, 500);
	assert_int_equal(t->next_deadline_ms, 500);
	gwf_gwtab_note_deadline(t, 900);
	assert_int_equal(t->next_deadline_ms, 500);
	gwf_gwtab_note_deadline(t, 100);
	assert_int_equal(t->next_deadline_ms, 100);
	free(t);
}

static void test_expire(void **state)
{
	gwf_gwtab_t *t = new_tab(8);
	gwf_gw_t *g[5];
	uint32_t out[8], s[5];
	char uri[16];
	int i;

	(void)state;
	for(i = 0; i < 5; i++) {
		snprintf(uri, sizeof(uri), "sip:%d", i);
		g[i] = get(t, 0, uri, 0, NULL);
		s[i] = slot_of(t, g[i]);
	}
	/* Nothing noted: nothing due, nothing done. */
	assert_int_equal(gwf_gwtab_expire(t, 1000000, out, 8), 0);

	gwf_brk_eject(&g[1]->brk, 100, 0);
	gwf_brk_eject(&g[3]->brk, 300, 0);
	gwf_brk_eject(&g[4]->brk, 200, 0);
	gwf_gwtab_note_open(t, g[1]);
	gwf_gwtab_note_open(t, g[3]);
	gwf_gwtab_note_open(t, g[4]);
	/* noting twice does not put it on the list twice */
	gwf_gwtab_note_open(t, g[4]);
	assert_int_equal(t->next_deadline_ms, 100);
	assert_int_equal(gwf_gwtab_expire(t, 99, out, 8), 0);
	assert_int_equal(g[1]->brk.state, GWF_BRK_OPEN);

	/* Exactly the due ones, and the next deadline is the earliest left. */
	assert_int_equal(gwf_gwtab_expire(t, 200, out, 8), 2);
	assert_int_equal(g[1]->brk.state, GWF_BRK_HALF_OPEN);
	assert_int_equal(g[4]->brk.state, GWF_BRK_HALF_OPEN);
	assert_int_equal(g[3]->brk.state, GWF_BRK_OPEN);
	assert_int_equal(g[1]->why, GWF_WHY_TIME_OVER);
	assert_int_equal(g[3]->why, GWF_WHY_NONE);
	assert_int_equal(g[0]->brk.state, GWF_BRK_CLOSED);
	assert_true((out[0] == s[1] && out[1] == s[4])
				|| (out[0] == s[4] && out[1] == s[1]));
	assert_int_equal(t->next_deadline_ms, 300);
	assert_int_equal(gwf_gwtab_expire(t, 299, out, 8), 0);
	assert_int_equal(gwf_gwtab_expire(t, 300, out, 8), 1);
	assert_int_equal(out[0], s[3]);
	assert_int_equal(t->next_deadline_ms, UINT64_MAX);
	assert_int_equal(gwf_gwtab_expire(t, UINT64_MAX - 1, out, 8), 0);
	free(t);
}

/* pick: gateways of set 1 only */
static int pick_set1(const gwf_gw_t *g, void *arg)
{
	(void)arg;
	return g->set_id == 1;
}

static void test_cap_open(void **state)
{
	gwf_gwtab_t *t = new_tab(8);
	gwf_gw_t *a = get(t, 1, "sip:a", 0, NULL);
	gwf_gw_t *b = get(t, 1, "sip:b", 0, NULL);
	gwf_gw_t *c = get(t, 2, "sip:c", 0, NULL);
	gwf_gw_t *d = get(t, 1, "sip:d", 0, NULL);
	uint32_t out[8];

	(void)state;
	gwf_brk_eject(&a->brk, 60000, 0);
	gwf_brk_eject(&b->brk, 500, 0);
	gwf_brk_eject(&c->brk, 60000, 0);
	gwf_gwtab_note_open(t, a);
	gwf_gwtab_note_open(t, b);
	gwf_gwtab_note_open(t, c);
	/* d is closed; b's deadline is already earlier; c is not picked */
	assert_int_equal(gwf_gwtab_cap_open(t, 1000, pick_set1, NULL), 1);
	assert_int_equal(a->brk.open_until_ms, 1000);
	assert_int_equal(b->brk.open_until_ms, 500);
	assert_int_equal(c->brk.open_until_ms, 60000);
	assert_int_equal(d->brk.state, GWF_BRK_CLOSED);
	assert_int_equal(t->next_deadline_ms, 500);
	assert_int_equal(gwf_gwtab_expire(t, 1000, out, 8), 2);
	assert_int_equal(a->brk.state, GWF_BRK_HALF_OPEN);
	assert_int_equal(t->next_deadline_ms, 60000);
	/* nothing to move: the deadline note is untouched */
	assert_int_equal(gwf_gwtab_cap_open(t, 2000, pick_set1, NULL), 0);
	assert_int_equal(t->next_deadline_ms, 60000);
	free(t);
}

static void test_expire_scan_only_when_due(void **state)
{
	gwf_gwtab_t *t = new_tab(4);
	gwf_gw_t *g = get(t, 0, "sip:x", 0, NULL);
	uint32_t out[4];

	(void)state;
	/* Due, but not noted: the table does not look. */
	gwf_brk_eject(&g->brk, 10, 0);
	assert_int_equal(gwf_gwtab_expire(t, 50, out, 4), 0);
	assert_int_equal(g->brk.state, GWF_BRK_OPEN);
	/* A too early note (deadline later extended) costs one scan. */
	gwf_gwtab_note_open(t, g);
	gwf_brk_eject(&g->brk, 500, 50);
	assert_int_equal(gwf_gwtab_expire(t, 60, out, 4), 0);
	assert_int_equal(g->brk.state, GWF_BRK_OPEN);
	assert_int_equal(t->next_deadline_ms, 550);
	assert_int_equal(gwf_gwtab_expire(t, 550, out, 4), 1);
	assert_int_equal(out[0], slot_of(t, g));
	free(t);
}

static void test_expire_out_too_small(void **state)
{
	gwf_gwtab_t *t = new_tab(8);
	gwf_gw_t *g[4];
	uint32_t out[2] = {0, 0}, seen = 0;
	char uri[16];
	unsigned n;
	int i;

	(void)state;
	for(i = 0; i < 4; i++) {
		snprintf(uri, sizeof(uri), "sip:%d", i);
		g[i] = get(t, 0, uri, 0, NULL);
		gwf_brk_eject(&g[i]->brk, (uint32_t)(10 * (i + 1)), 0);
		gwf_gwtab_note_open(t, g[i]);
	}
	/* g[0..2] due, room for 2: the third waits, next deadline stays due. */
	n = gwf_gwtab_expire(t, 30, out, 2);
	assert_int_equal(n, 2);
	for(i = 0; i < 2; i++)
		seen |= 1u << out[i];
	assert_true(t->next_deadline_ms <= 30);
	assert_int_equal(g[3]->brk.state, GWF_BRK_OPEN);
	/* No room at all: nothing changes, still due. */
	assert_int_equal(gwf_gwtab_expire(t, 30, NULL, 0), 0);
	assert_true(t->next_deadline_ms <= 30);
	/* The next call continues with the one left. */
	n = gwf_gwtab_expire(t, 30, out, 2);
	assert_int_equal(n, 1);
	seen |= 1u << out[0];
	assert_int_equal(seen, (1u << slot_of(t, g[0])) | (1u << slot_of(t, g[1]))
								   | (1u << slot_of(t, g[2])));
	for(i = 0; i < 3; i++)
		assert_int_equal(g[i]->brk.state, GWF_BRK_HALF_OPEN);
	assert_int_equal(g[3]->brk.state, GWF_BRK_OPEN);
	assert_int_equal(t->next_deadline_ms, 40);
	free(t);
}

static void test_rc_names(void **state)
{
	(void)state;
	assert_string_equal(gwf_gwtab_rc_name(GWF_GWTAB_OK), "ok");
	assert_string_equal(gwf_gwtab_rc_name(GWF_GWTAB_FULL), "full");
	assert_string_equal(gwf_gwtab_rc_name(GWF_GWTAB_TOOLONG), "uri too long");
	assert_string_equal(gwf_gwtab_rc_name(GWF_GWTAB_EMPTY), "empty uri");
	assert_string_equal(gwf_gwtab_rc_name((gwf_gwtab_rc_t)9), "unknown");
}

static void expect_why(gwf_why_t why, int code, uint32_t arg, const char *want)
{
	char buf[96];

	assert_int_equal(gwf_why_format(why, code, arg, buf, sizeof(buf)),
			(int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_why_format(void **state)
{
	char small[8];

	(void)state;
	expect_why(GWF_WHY_NONE, 0, 0, "none");
	expect_why(GWF_WHY_FAULTS, 503, 3, "3 consecutive faults, last 503");
	expect_why(GWF_WHY_FAULTS, 408, 5,
			"5 consecutive faults, last a timeout (408)");
	expect_why(GWF_WHY_RETRY_AFTER, 503, 30, "Retry-After 30 s (503)");
	expect_why(GWF_WHY_EJECT_RULE, 500, 0, "eject rule (500)");
	expect_why(GWF_WHY_TRIAL_FAILED, 503, 0, "trial call failed (503)");
	expect_why(GWF_WHY_MANUAL_EJECT, 0, 60, "manual eject for 60 s");
	expect_why(GWF_WHY_TIME_OVER, 0, 0, "ejection time over");
	expect_why(GWF_WHY_DS_ACTIVE, 0, 0, "dispatcher marked it active");
	expect_why(GWF_WHY_TRIAL_OK, 0, 2, "2 trial calls succeeded");
	expect_why(GWF_WHY_TRIAL_OK, 0, 1, "1 trial call succeeded");
	expect_why(GWF_WHY_FAULTS, 500, 1, "1 consecutive fault, last 500");
	expect_why(GWF_WHY_MANUAL_RESTORE, 0, 0, "manual restore");
	expect_why(GWF_WHY_DS_REMOVED, 0, 0, "removed from the dispatcher");
	expect_why(GWF_WHY_DS_BACK, 0, 0, "back in the dispatcher");
	expect_why(
			GWF_WHY_TRIAL_SILENT, 408, 350, "trial call unanswered for 350 ms");
	expect_why((gwf_why_t)99, 0, 0, "unknown");
	/* truncates like snprintf, always terminated */
	assert_int_equal(
			gwf_why_format(GWF_WHY_MANUAL_RESTORE, 0, 0, small, sizeof(small)),
			14);
	assert_string_equal(small, "manual ");
}

static void test_recent_codes(void **state)
{
	gwf_gw_stats_t st;
	int out[GWF_RECENT_CODES];
	int i;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(gwf_gwstats_recent(&st, out), 0);
	gwf_gwstats_note_code(&st, 503);
	gwf_gwstats_note_code(&st, 408);
	assert_int_equal(gwf_gwstats_recent(&st, out), 2);
	assert_int_equal(out[0], 503);
	assert_int_equal(out[1], 408);
	/* past the capacity the oldest go, order stays oldest first */
	for(i = 0; i < GWF_RECENT_CODES + 3; i++)
		gwf_gwstats_note_code(&st, 500 + i);
	assert_int_equal(gwf_gwstats_recent(&st, out), GWF_RECENT_CODES);
	for(i = 0; i < GWF_RECENT_CODES; i++)
		assert_int_equal(out[i], 500 + 3 + i);
}

static void test_expire_walks_only_open_gateways(void **state)
{
	gwf_gwtab_t *t = new_tab(64);
	gwf_gw_t *a, *b, *g;
	uint32_t out[4];
	char uri[16];
	int i;

	(void)state;
	for(i = 0; i < 60; i++) {
		snprintf(uri, sizeof(uri), "sip:%d", i);
		get(t, 0, uri, 0, NULL);
	}
	a = get(t, 0, "sip:5", 0, NULL);
	b = get(t, 0, "sip:7", 0, NULL);
	gwf_brk_eject(&a->brk, 100, 0);
	gwf_gwtab_note_open(t, a);
	gwf_brk_eject(&b->brk, 200, 0);
	gwf_gwtab_note_open(t, b);
	/* b restored by hand: it leaves the list at the next walk */
	gwf_brk_restore(&b->brk, 50);
	assert_int_equal(gwf_gwtab_expire(t, 100, out, 4), 1);
	assert_int_equal(out[0], slot_of(t, a));
	assert_int_equal(t->open_head, GWF_NO_SLOT);
	assert_false(a->on_open_list || b->on_open_list);
	/* ejected again: back on the list once */
	gwf_brk_eject(&b->brk, 10, 300);
	gwf_gwtab_note_open(t, b);
	gwf_gwtab_note_open(t, b);
	assert_int_equal(t->open_head, slot_of(t, b));
	assert_int_equal(b->open_next, GWF_NO_SLOT);
	assert_int_equal(gwf_gwtab_expire(t, 310, out, 4), 1);
	/* a slot never noted open is never expired */
	g = get(t, 0, "sip:9", 0, NULL);
	gwf_brk_eject(&g->brk, 1, 400);
	gwf_gwtab_note_deadline(t, 401);
	assert_int_equal(gwf_gwtab_expire(t, 500, out, 4), 0);
	free(t);
}

/* One sweep: <present> gateways seen (NULL-terminated), then every entry
 * judged; the result of each entry in <res> (room for t->count). */
static void sweep(gwf_gwtab_t *t, gwf_gw_t **present, uint64_t now,
		gwf_gwtab_presence_t *res, gwf_brk_state_t *prev)
{
	uint32_t i;

	gwf_gwtab_sweep_begin(t);
	for(; *present != NULL; present++)
		gwf_gwtab_seen(t, *present);
	for(i = 0; i < t->count; i++)
		res[i] = gwf_gwtab_sweep_one(t, gwf_gwtab_at(t, i), now, &prev[i]);
}

static void test_sweep_marks_removed_and_back(void **state)
{
	gwf_gwtab_t *t = new_tab(8);
	gwf_gwtab_presence_t res[8];
	gwf_brk_state_t prev[8];
	gwf_gw_t *a, *b, *c, *d;
	uint32_t out[8];
	uint32_t epoch;

	(void)state;
	a = get(t, 1, "sip:a", 0, NULL);
	b = get(t, 1, "sip:b", 0, NULL);
	c = get(t, 2, "sip:c", 0, NULL);
	{
		gwf_gw_t *all[] = {a, b, c, NULL};
		sweep(t, all, 10, res, prev);
	}
	assert_int_equal(res[0], GWF_GWTAB_STILL);
	assert_int_equal(res[1], GWF_GWTAB_STILL);
	assert_int_equal(res[2], GWF_GWTAB_STILL);
	assert_false(a->removed || b->removed || c->removed);

	/* b is ejected and on trial when the dispatcher drops it; a too. */
	gwf_brk_eject(&b->brk, 100, 20);
	gwf_gwtab_note_open(t, b);
	t->down = 1;
	b->ds_down = 1;
	b->st.successes = 7;
	gwf_silence_sent(&b->sil, 20);
	epoch = b->brk.epoch;
	{
		gwf_gw_t *some[] = {c, NULL};
		sweep(t, some, 50, res, prev);
	}
	assert_int_equal(res[0], GWF_GWTAB_GONE);
	assert_int_equal(prev[0], GWF_BRK_CLOSED);
	assert_int_equal(res[1], GWF_GWTAB_GONE);
	assert_int_equal(prev[1], GWF_BRK_OPEN);
	assert_int_equal(res[2], GWF_GWTAB_STILL);
	assert_true(a->removed && b->removed && !c->removed);
	/* the gauge no longer counts b; its breaker is stopped */
	assert_int_equal(t->down, 0);
	assert_int_equal(b->brk.state, GWF_BRK_CLOSED);
	assert_int_equal(b->brk.open_until_ms, 0);
	assert_int_equal(b->brk.consec_faults, 0);
	assert_int_equal(b->brk.since_ms, 50);
	assert_int_equal(b->brk.epoch, epoch);
	assert_int_equal(b->ds_down, 0);
	assert_int_equal(b->sil.unheard, 0);
	assert_int_equal(b->why, GWF_WHY_DS_REMOVED);
	assert_int_equal(a->brk.since_ms, 50);
	/* totals stay */
	assert_int_equal(b->st.successes, 7);
	/* its old deadline passes: no half-open, and it leaves the open list */
	assert_int_equal(gwf_gwtab_expire(t, 1000, out, 8), 0);
	assert_int_equal(b->brk.state, GWF_BRK_CLOSED);
	assert_false(b->on_open_list);

	/* Still absent: nothing more happens (no second GONE). */
	{
		gwf_gw_t *some[] = {c, NULL};
		sweep(t, some, 60, res, prev);
	}
	assert_int_equal(res[0], GWF_GWTAB_STILL);
	assert_int_equal(res[1], GWF_GWTAB_STILL);
	assert_int_equal(b->brk.since_ms, 50);

	/* A lookup (an old call's xavp) does not bring it back... */
	assert_ptr_equal(get(t, 1, "sip:b", 70, NULL), b);
	assert_true(b->removed);
	/* ...the dispatcher does: closed and fresh. */
	{
		gwf_gw_t *back[] = {b, c, NULL};
		sweep(t, back, 80, res, prev);
	}
	assert_int_equal(res[0], GWF_GWTAB_STILL);
	assert_int_equal(res[1], GWF_GWTAB_BACK);
	assert_int_equal(prev[1], GWF_BRK_CLOSED);
	assert_false(b->removed);
	assert_true(a->removed);
	assert_int_equal(b->brk.state, GWF_BRK_CLOSED);
	assert_int_equal(b->brk.since_ms, 80);
	assert_int_equal(b->why, GWF_WHY_DS_BACK);
	assert_int_equal(b->st.successes, 7);
	assert_int_equal(t->down, 0);

	/* A gateway added between sweeps counts as present until a sweep
	 * that started after it was added misses it. */
	d = get(t, 3, "sip:d", 90, NULL);
	assert_int_equal(gwf_gwtab_sweep_one(t, d, 95, &prev[0]), GWF_GWTAB_STILL);
	{
		gwf_gw_t *without_d[] = {b, c, NULL};
		sweep(t, without_d, 100, res, prev);
	}
	assert_int_equal(res[3], GWF_GWTAB_GONE);
	assert_true(d->removed);
	/* A gateway added during a sweep (after its begin) is present at
	 * its end. */
	gwf_gwtab_sweep_begin(t);
	d = get(t, 3, "sip:e", 110, NULL);
	assert_int_equal(gwf_gwtab_sweep_one(t, d, 120, &prev[0]), GWF_GWTAB_STILL);
	free(t);
}

static void test_sweep_half_open_gateway_removed(void **state)
{
	gwf_gwtab_t *t = new_tab(4);
	gwf_gw_t *g = get(t, 1, "sip:g", 0, NULL);
	gwf_brk_cfg_t cfg = {1, 100, 1, 1};
	gwf_brk_state_t prev;
	uint32_t trial = 0, out[4];

	(void)state;
	gwf_brk_eject(&g->brk, 10, 0);
	gwf_gwtab_note_open(t, g);
	t->down = 1;
	assert_int_equal(gwf_gwtab_expire(t, 10, out, 4), 1);
	assert_int_equal(g->brk.state, GWF_BRK_HALF_OPEN);
	assert_true(gwf_brk_acquire(&g->brk, &cfg, 11, &trial, NULL));
	assert_int_not_equal(trial, 0);

	gwf_gwtab_sweep_begin(t);
	assert_int_equal(gwf_gwtab_sweep_one(t, g, 20, &prev), GWF_GWTAB_GONE);
	assert_int_equal(prev, GWF_BRK_HALF_OPEN);
	assert_int_equal(t->down, 0);
	assert_int_equal(g->brk.trials_inflight, 0);
	/* The gauge never goes below 0 (the caller keeps it). */
	gwf_gwtab_sweep_begin(t);
	gwf_gwtab_seen(t, g);
	assert_int_equal(gwf_gwtab_sweep_one(t, g, 30, &prev), GWF_GWTAB_BACK);
	g->brk.state = GWF_BRK_OPEN;
	gwf_gwtab_sweep_begin(t);
	assert_int_equal(gwf_gwtab_sweep_one(t, g, 40, &prev), GWF_GWTAB_GONE);
	assert_int_equal(t->down, 0);
	/* The trial token of the call sent before the removal belongs to an
	 * old period: it never counts as a trial of a later one. */
	gwf_gwtab_sweep_begin(t);
	gwf_gwtab_seen(t, g);
	gwf_gwtab_sweep_one(t, g, 50, &prev);
	gwf_brk_eject(&g->brk, 10, 60);
	gwf_brk_tick(&g->brk, 70);
	assert_int_not_equal(g->brk.epoch, trial);
	free(t);
}

static void test_sweep_generation_skips_zero(void **state)
{
	gwf_gwtab_t *t = new_tab(2);
	gwf_gw_t *g = get(t, 1, "sip:g", 0, NULL);
	gwf_brk_state_t prev;

	(void)state;
	assert_int_equal(g->seen_gen, 0);
	t->sweep_gen = UINT32_MAX;
	assert_int_equal(gwf_gwtab_sweep_begin(t), 1);
	/* an entry of generation 0 is not taken for seen by the wrap */
	assert_int_equal(gwf_gwtab_sweep_one(t, g, 5, &prev), GWF_GWTAB_GONE);
	free(t);
}

static void test_setcount(void **state)
{
	gwf_setcount_t sc;

	(void)state;
	/* A new set: its first gateway is healthy, never was down. */
	gwf_setcount_init(&sc, 7);
	assert_int_equal(sc.set_id, 7);
	gwf_setcount_add(&sc, 1, 1);
	assert_int_equal(gwf_setcount_judge(&sc), GWF_SET_EV_NONE);
	gwf_setcount_add(&sc, 1, 1);
	assert_int_equal(gwf_setcount_judge(&sc), GWF_SET_EV_NONE);
	assert_int_equal(sc.members, 2);
	assert_int_equal(sc.healthy, 2);
	/* one ejected, then the healthy one removed: down, once */
	gwf_setcount_add(&sc, 0, -1);
	assert_int_equal(gwf_setcount_judge(&sc), GWF_SET_EV_NONE);
	gwf_setcount_add(&sc, -1, -1);
	assert_int_equal(sc.members, 1);
	assert_int_equal(gwf_setcount_judge(&sc), GWF_SET_EV_DOWN);
	assert_int_equal(gwf_setcount_judge(&sc), GWF_SET_EV_NONE);
	/* the ejected one removed too: still down, nothing new */
	gwf_setcount_add(&sc, -1, 0);
	assert_int_equal(sc.members, 0);
	assert_int_equal(gwf_setcount_judge(&sc), GWF_SET_EV_NONE);
	/* back in the dispatcher, healthy: up */
	gwf_setcount_add(&sc, 1, 1);
	assert_int_equal(gwf_setcount_judge(&sc), GWF_SET_EV_UP);
	assert_int_equal(gwf_setcount_judge(&sc), GWF_SET_EV_NONE);
	/* several changes judged once: no event if healthy all along */
	gwf_setcount_add(&sc, -1, -1);
	gwf_setcount_add(&sc, 1, 1);
	assert_int_equal(gwf_setcount_judge(&sc), GWF_SET_EV_NONE);
	/* a healthy set removed all at once is down */
	gwf_setcount_add(&sc, -1, -1);
	assert_int_equal(gwf_setcount_judge(&sc), GWF_SET_EV_DOWN);
	/* counts never go below 0 nor wrap */
	gwf_setcount_add(&sc, -5, -5);
	assert_int_equal(sc.members, 0);
	assert_int_equal(sc.healthy, 0);
	sc.members = UINT32_MAX - 1;
	gwf_setcount_add(&sc, 5, 0);
	assert_int_equal(sc.members, UINT32_MAX);
	gwf_setcount_add(&sc, INT32_MIN, INT32_MIN);
	assert_int_equal(sc.members, UINT32_MAX - 0x80000000u);
	assert_int_equal(sc.healthy, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_bytes),
			cmocka_unit_test(test_init),
			cmocka_unit_test(test_insert_find),
			cmocka_unit_test(test_full),
			cmocka_unit_test(test_uri_length),
			cmocka_unit_test(test_collisions_probe),
			cmocka_unit_test(test_many),
			cmocka_unit_test(test_note_deadline),
			cmocka_unit_test(test_expire),
			cmocka_unit_test(test_cap_open),
			cmocka_unit_test(test_expire_scan_only_when_due),
			cmocka_unit_test(test_expire_out_too_small),
			cmocka_unit_test(test_rc_names),
			cmocka_unit_test(test_why_format),
			cmocka_unit_test(test_recent_codes),
			cmocka_unit_test(test_expire_walks_only_open_gateways),
			cmocka_unit_test(test_sweep_marks_removed_and_back),
			cmocka_unit_test(test_sweep_half_open_gateway_removed),
			cmocka_unit_test(test_sweep_generation_skips_zero),
			cmocka_unit_test(test_setcount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
