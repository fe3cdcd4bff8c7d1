/*
 * gwfailover - benchmark of the Kamailio-independent core alone (issue 6,
 * figure 5): cost of handling one failed attempt at 10, 1,000 and 100,000
 * gateways, and of the table expiry scan.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * No Kamailio headers: built like tests/unit, from modules/gwfailover/gwf_*.c.
 *
 * One operation ("failed attempt") is what the glue does in the core for a
 * call attempt that fails (gwfailover_gw.c, gwfailover_tm.c), minus locks,
 * logging, statistics counters and events:
 *
 *   forward    gwf_gwtab_get() of (set, URI)          gwf_gw_lookup()
 *              gwf_brk_acquire()                      gwf_gw_acquire()
 *   failure    gwf_cls_classify(), default rules      gwf_failover_run()
 *              Retry-After clamp to [1 s, 300 s]
 *              per-gateway stats, recent codes,       gwf_gw_failure()
 *              gwf_brk_record() or, for an eject
 *              verdict, gwf_brk_record(NEUTRAL) +
 *              gwf_brk_eject() + note_deadline
 *              on a transition: reason fields,        gwf_gw_trans_locked()
 *              note_deadline, gwf_why_format()
 *   backoff    gwf_backoff_ms() unless the verdict    gwf_failover_run()
 *              is STOP
 *
 * A breaker that refuses the call (OPEN, or HALF_OPEN with its trial slot
 * taken) ends the operation after acquire, as the glue then skips the
 * gateway; the share of such operations is printed.
 *
 * Each operation draws a gateway uniformly at random from the whole table
 * (so large tables are not artificially cache-warm), builds its SIP URI key
 * in a stack buffer, and draws a failure from a fixed mix of codes. Timed
 * chunks of CHUNK failed attempts alternate with untimed chunks of CHUNK
 * successful attempts on other random gateways (get + acquire + record
 * SUCCESS), which keep the breakers from all opening. The simulated clock
 * advances so that every gateway sees one attempt every GW_INTERVAL_US
 * whatever N: breakers go through the same states at every N, and only the
 * size of the table changes.
 *
 * Wall clock: clock_gettime(CLOCK_MONOTONIC) around each timed chunk. The
 * harness (random draws, key formatting, clock reads, the indirect call) is
 * timed the same way with an empty operation and subtracted: "net" is the
 * core's cost, "raw" includes the harness. Median, min and max over
 * repetitions.
 *
 * Instructions: run under callgrind with --cg (see the Makefile): setup and
 * warm-up run uninstrumented, then each phase is dumped separately, with
 * collection limited (--toggle-collect) to gwfb_fail(), gwf_gwtab_find()
 * and gwf_gwtab_expire(), so the harness is not counted.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwf_backoff.h"
#include "gwf_classify.h"
#include "gwf_gwtab.h"

#ifdef GWFB_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

#define CHUNK 16				  /* operations per timed chunk */
#define GW_INTERVAL_US 4000000ull /* one attempt per gateway every 4 s */
#define WHY_BUF 96				  /* GWF_EV_REASON_MAX in the glue */
#define EXPIRE_BATCH 64			  /* GWF_EXPIRE_BATCH in the glue */
#define RETRY_AFTER_MIN_S 1		  /* module defaults */
#define RETRY_AFTER_MAX_S 300
#define SETS 16 /* gateway g is in set 1 + g % SETS */

/* A realistic dispatcher destination; the six zeros become the gateway
 * number. 52 bytes. */
static const char key_tmpl[] =
		"sip:gw-000000.carrier.example.net:5060;transport=udp";
#define KEY_LEN (sizeof(key_tmpl) - 1)
#define KEY_DIGITS 7 /* offset of the first digit */

/* ---- failure mix ---- */

typedef struct mix_entry
{
	unsigned weight; /* out of 100 */
	const char *name;
	gwf_failure_t f; /* code, local_timeout, rang, retry_after_s, unsent */
} mix_entry_t;

static const mix_entry_t mix[] = {
		{25, "503", {503, 0, 0, -1, 0}},
		{20, "486", {486, 0, 0, -1, 0}},
		{15, "408 timeout (no reply)", {408, 1, 0, -1, 0}},
		{5, "408 no answer (rang)", {408, 1, 1, -1, 0}},
		{10, "500 Retry-After: 5", {500, 0, 0, 5, 0}},
		{3, "503 Retry-After: 2 (eject)", {503, 0, 0, 2, 0}},
		{7, "502", {502, 0, 0, -1, 0}},
		{5, "404", {404, 0, 0, -1, 0}},
		{5, "480", {480, 0, 0, -1, 0}},
		{5, "603", {603, 0, 0, -1, 0}},
};
#define MIX_N (sizeof(mix) / sizeof(mix[0]))

static unsigned char mix_pick[100]; /* percentile -> mix index */

static void mix_build(void)
{
	unsigned i, k, p = 0;

	for(i = 0; i < MIX_N; i++)
		for(k = 0; k < mix[i].weight && p < 100; k++)
			mix_pick[p++] = (unsigned char)i;
	if(p != 100) {
		fprintf(stderr, "failure mix weights must add up to 100\n");
		exit(2);
	}
}

/* ---- bench state ---- */

typedef struct bench
{
	gwf_gwtab_t *t;
	uint32_t n;
	gwf_cls_t cls;
	gwf_brk_cfg_t brk;
	gwf_backoff_cfg_t bo;
	uint64_t now_us, step_us, now_ms;
	uint64_t rng;
	uint32_t prev_delay;
	/* what happened, to show the paths taken are alike at every N */
	uint64_t fails, refused, trans, opened, closed, halfopened, successes;
	uint64_t errors, sink;
} bench_t;

typedef void (*op_fn)(bench_t *b, const char *key, size_t len, int set,
		const gwf_failure_t *f, uint32_t r32, unsigned attempt);

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s; /* xorshift64* */

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 2685821657736338717ull;
}

static void key_put(char *key, uint32_t g)
{
	int i;

	for(i = 5; i >= 0; i--) {
		key[KEY_DIGITS + i] = (char)('0' + g % 10);
		g /= 10;
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the operations ---- */

/* gwf_gw_trans_locked(), without events, set counts and dispatcher sync. */
static void gwfb_trans(bench_t *b, gwf_gw_t *gw, gwf_brk_trans_t tr,
		gwf_brk_state_t prev, gwf_why_t why, int code, uint32_t arg)
{
	char buf[WHY_BUF];

	if(tr == GWF_BRK_T_NONE)
		return;
	b->trans++;
	if(tr == GWF_BRK_T_HALF_OPENED && why == GWF_WHY_NONE)
		why = GWF_WHY_TIME_OVER;
	gw->why = why;
	gw->why_code = code;
	gw->why_arg = arg;
	if(tr == GWF_BRK_T_OPENED) {
		b->opened++;
		gw->st.ejections++;
		gwf_gwtab_note_open(b->t, gw);
		if(prev == GWF_BRK_CLOSED)
			b->t->down++;
	} else if(tr == GWF_BRK_T_CLOSED) {
		b->closed++;
		if(prev != GWF_BRK_CLOSED && b->t->down > 0)
			b->t->down--;
	} else {
		b->halfopened++;
	}
	b->sink += (uint64_t)gwf_why_format(why, code, arg, buf, sizeof(buf));
}

/* gwf_gw_record_locked() */
static void gwfb_record(
		bench_t *b, gwf_gw_t *gw, uint32_t trial, gwf_outcome_t out, int code)
{
	gwf_brk_state_t prev = gw->brk.state;
	gwf_brk_trans_t tr;
	gwf_why_t why = GWF_WHY_NONE;
	uint32_t arg = 0;

	tr = gwf_brk_record(&gw->brk, &b->brk, out, trial, b->now_ms);
	if(out == GWF_OUT_SUCCESS)
		gw->st.successes++;
	if(tr == GWF_BRK_T_OPENED && prev == GWF_BRK_CLOSED) {
		why = GWF_WHY_FAULTS;
		arg = b->brk.fail_threshold;
	} else if(tr == GWF_BRK_T_OPENED) {
		why = GWF_WHY_TRIAL_FAILED;
	} else if(tr == GWF_BRK_T_CLOSED) {
		why = GWF_WHY_TRIAL_OK;
		arg = b->brk.trial_successes;
		code = 0;
	}
	gwfb_trans(b, gw, tr, prev, why, code, arg);
}

/* Forward to the gateway: lookup and acquire. NULL if the breaker refuses
 * (the glue skips the gateway) or the table refuses it. */
static gwf_gw_t *gwfb_forward(
		bench_t *b, const char *key, size_t len, int set, uint32_t *trial)
{
	gwf_brk_trans_t tr = GWF_BRK_T_NONE;
	gwf_gwtab_rc_t rc;
	gwf_brk_state_t prev;
	gwf_gw_t *gw;
	int ok;

	gw = gwf_gwtab_get(b->t, set, key, len, b->now_ms, &rc);
	if(gw == NULL) {
		b->errors++;
		return NULL;
	}
	prev = gw->brk.state;
	ok = gwf_brk_acquire(&gw->brk, &b->brk, b->now_ms, trial, &tr);
	gwfb_trans(b, gw, tr, prev, GWF_WHY_TIME_OVER, 0, 0);
	if(!ok) {
		b->refused++;
		return NULL;
	}
	return gw;
}

/* One failed attempt: the measured operation. Not static and called
 * through a pointer, so callgrind can collect exactly this function. */
void gwfb_fail(bench_t *b, const char *key, size_t len, int set,
		const gwf_failure_t *f, uint32_t r32, unsigned attempt);
void gwfb_fail(bench_t *b, const char *key, size_t len, int set,
		const gwf_failure_t *f, uint32_t r32, unsigned attempt)
{
	gwf_brk_state_t prev;
	gwf_brk_trans_t tr;
	gwf_verdict_t v;
	gwf_gw_t *gw;
	uint32_t trial = 0, eject_ms;
	uint64_t now = b->now_ms;

	b->fails++;
	gw = gwfb_forward(b, key, len, set, &trial);
	if(gw == NULL)
		return;

	/* gwf_failover_run() */
	v = gwf_cls_classify(&b->cls, f);
	eject_ms = b->brk.open_ms;
	if(f->retry_after_s >= 0) {
		eject_ms = (uint32_t)f->retry_after_s;
		if(eject_ms < RETRY_AFTER_MIN_S)
			eject_ms = RETRY_AFTER_MIN_S;
		if(eject_ms > RETRY_AFTER_MAX_S)
			eject_ms = RETRY_AFTER_MAX_S;
		eject_ms *= 1000u;
	}

	/* gwf_gw_failure() */
	gw->st.last_code = f->code;
	gw->st.last_fail_ms = now;
	gwf_gwstats_note_code(&gw->st, f->code);
	gw->st.local_timeouts += (f->local_timeout && !f->rang) ? 1 : 0;
	gw->st.received_5xx += (!f->local_timeout && f->code >= 500) ? 1 : 0;
	gw->st.retry_after += f->retry_after_s >= 0 ? 1 : 0;
	if(v.health == GWF_HEALTH_IGNORE)
		gw->st.not_counted++;
	else
		gw->st.counted++;
	if(v.health == GWF_HEALTH_EJECT) {
		gwf_brk_record(&gw->brk, &b->brk, GWF_OUT_NEUTRAL, trial, now);
		prev = gw->brk.state;
		tr = gwf_brk_eject(&gw->brk, eject_ms, now);
		if(f->retry_after_s >= 0)
			gwfb_trans(b, gw, tr, prev, GWF_WHY_RETRY_AFTER, f->code,
					eject_ms / 1000u);
		else
			gwfb_trans(b, gw, tr, prev, GWF_WHY_EJECT_RULE, f->code, 0);
		gwf_gwtab_note_open(b->t, gw);
	} else {
		gwfb_record(b, gw, trial,
				v.health == GWF_HEALTH_COUNT ? GWF_OUT_FAULT : GWF_OUT_NEUTRAL,
				f->code);
	}

	/* delay before the next attempt */
	if(v.action != GWF_ACT_STOP) {
		b->prev_delay = gwf_backoff_ms(&b->bo, attempt, b->prev_delay, r32);
		b->sink += b->prev_delay;
	}
}

/* Lookup alone (gwf_gwtab_find), for the breakdown. */
void gwfb_find(bench_t *b, const char *key, size_t len, int set,
		const gwf_failure_t *f, uint32_t r32, unsigned attempt);
void gwfb_find(bench_t *b, const char *key, size_t len, int set,
		const gwf_failure_t *f, uint32_t r32, unsigned attempt)
{
	(void)f;
	(void)r32;
	(void)attempt;
	b->sink += gwf_gwtab_find(b->t, set, key, len) != NULL;
}

/* The harness alone. */
void gwfb_nop(bench_t *b, const char *key, size_t len, int set,
		const gwf_failure_t *f, uint32_t r32, unsigned attempt);
void gwfb_nop(bench_t *b, const char *key, size_t len, int set,
		const gwf_failure_t *f, uint32_t r32, unsigned attempt)
{
	b->sink += len + (unsigned)set + (unsigned)f->code + r32 + attempt
			   + (unsigned char)key[KEY_DIGITS + 5];
}

/* A successful attempt (untimed): forward, then record SUCCESS. */
static void gwfb_success(bench_t *b, const char *key, size_t len, int set)
{
	uint32_t trial = 0;
	gwf_gw_t *gw;

	b->successes++; /* attempts, as b->fails */
	gw = gwfb_forward(b, key, len, set, &trial);
	if(gw == NULL)
		return;
	gwfb_record(b, gw, trial, GWF_OUT_SUCCESS, 0);
}

/* ---- loops ---- */

static void tick(bench_t *b)
{
	b->now_us += b->step_us;
	b->now_ms = b->now_us / 1000u;
}

/* <nops> operations <op> in timed chunks, each followed by an untimed chunk
 * of successes if <succ>. Returns the timed nanoseconds. */
static uint64_t run_ops(bench_t *b, op_fn op, uint64_t nops, int succ)
{
	op_fn volatile opv = op; /* never inlined, same call in every loop */
	char key[sizeof(key_tmpl)];
	uint64_t done, ns = 0, t0, r, r2;
	uint32_t g;
	unsigned i;

	memcpy(key, key_tmpl, sizeof(key));
	for(done = 0; done < nops; done += CHUNK) {
		t0 = mono_ns();
		for(i = 0; i < CHUNK; i++) {
			r = rng_next(&b->rng);
			r2 = rng_next(&b->rng);
			g = (uint32_t)(((r >> 32) * b->n) >> 32);
			key_put(key, g);
			tick(b);
			opv(b, key, KEY_LEN, 1 + (int)(g % SETS),
					&mix[mix_pick[((r & 0xffffu) * 100u) >> 16]].f,
					(uint32_t)r2, (unsigned)((r >> 16) & 0xffu) % 3u);
		}
		ns += mono_ns() - t0;
		if(!succ)
			continue;
		for(i = 0; i < CHUNK; i++) {
			r = rng_next(&b->rng);
			g = (uint32_t)(((r >> 32) * b->n) >> 32);
			key_put(key, g);
			tick(b);
			gwfb_success(b, key, KEY_LEN, 1 + (int)(g % SETS));
		}
	}
	return ns;
}

/* Expiry when nothing is due: what the resume process does each time it
 * wakes. Returns ns for <iters> calls. */
/* Consume anything due at the current time (full scans), so that
 * run_expire_idle() finds nothing. */
static void expire_settle(bench_t *b)
{
	uint32_t out[EXPIRE_BATCH];

	while(gwf_gwtab_expire(b->t, b->now_ms, out, EXPIRE_BATCH) > 0)
		;
}

static uint64_t run_expire_idle(bench_t *b, uint64_t iters)
{
	uint32_t out[EXPIRE_BATCH];
	uint64_t i, t0, ns, now = b->now_ms;
	unsigned n = 0;

	t0 = mono_ns();
	for(i = 0; i < iters; i++)
		n += gwf_gwtab_expire(b->t, now, out, EXPIRE_BATCH);
	ns = mono_ns() - t0;
	if(n != 0)
		b->errors++;
	return ns;
}

/* Expiry with one deadline due: a random gateway is ejected with a
 * deadline of now, so the next call scans the table. Returns ns for
 * <iters> scans (the eject, a few instructions, included). */
static uint64_t run_expire_due(bench_t *b, uint64_t iters)
{
	uint32_t out[EXPIRE_BATCH];
	uint64_t i, ns = 0, t0, r;
	unsigned n = 0;
	gwf_gw_t *gw;
	uint32_t s;

	for(i = 0; i < iters; i++) {
		do {
			r = rng_next(&b->rng);
			s = (uint32_t)(((r >> 32) * b->t->count) >> 32);
			gw = gwf_gwtab_at(b->t, s);
		} while(gw == NULL);
		tick(b);
		gwf_brk_restore(&gw->brk, b->now_ms);
		gwf_brk_eject(&gw->brk, 0, b->now_ms);
		gwf_gwtab_note_open(b->t, gw);
		t0 = mono_ns();
		n += gwf_gwtab_expire(b->t, b->now_ms, out, EXPIRE_BATCH);
		ns += mono_ns() - t0;
	}
	if(n < iters)
		b->errors++;
	return ns;
}

/* ---- setup ---- */

static void bench_setup(bench_t *b, uint32_t n, uint64_t seed)
{
	size_t bytes = gwf_gwtab_bytes(n);
	char key[sizeof(key_tmpl)];
	gwf_gwtab_rc_t rc;
	uint32_t g;

	memset(b, 0, sizeof(*b));
	if(bytes == 0 || n > 999999) {
		fprintf(stderr, "unsupported N %u\n", n);
		exit(2);
	}
	b->t = calloc(1, bytes);
	if(b->t == NULL) {
		fprintf(stderr, "cannot allocate %zu bytes\n", bytes);
		exit(2);
	}
	gwf_gwtab_init(b->t, n);
	b->n = n;
	gwf_cls_init(&b->cls, 1);
	/* module defaults (gwfailover_mod.c) */
	b->brk.fail_threshold = 5;
	b->brk.open_ms = 30000;
	b->brk.trial_max = 1;
	b->brk.trial_successes = 1;
	b->bo.base_ms = 100;
	b->bo.min_ms = 0;
	b->bo.max_ms = 2000;
	b->bo.jitter = GWF_JITTER_FULL;
	b->rng = seed ? seed : 1;
	b->step_us = GW_INTERVAL_US / n;
	b->now_us = 1000000000ull * 1000u; /* an arbitrary origin */
	b->now_ms = b->now_us / 1000u;

	/* every gateway known up front, as the glue learns them from the
	 * dispatcher at start */
	memcpy(key, key_tmpl, sizeof(key));
	for(g = 0; g < n; g++) {
		key_put(key, g);
		if(gwf_gwtab_get(
				   b->t, 1 + (int)(g % SETS), key, KEY_LEN, b->now_ms, &rc)
				== NULL) {
			fprintf(stderr, "insert %u: %s\n", g, gwf_gwtab_rc_name(rc));
			exit(2);
		}
	}
}

/* Probe lengths of a successful lookup: index slots read before the key
 * (the index follows the entries in the block). */
static void probe_stats(const gwf_gwtab_t *t, double *mean, uint32_t *max)
{
	const gwf_gwtab_slot_t *ix =
			(const gwf_gwtab_slot_t *)&t->entries[t->max_gw];
	uint32_t i, d, mask = t->nslots - 1, mx = 0;
	uint64_t sum = 0, cnt = 0;

	for(i = 0; i < t->nslots; i++) {
		if(ix[i].entry == GWF_NO_SLOT)
			continue;
		d = ((i - (ix[i].hash & mask)) & mask) + 1;
		sum += d;
		cnt++;
		if(d > mx)
			mx = d;
	}
	*mean = cnt ? (double)sum / (double)cnt : 0;
	*max = mx;
}

static void state_counts(const gwf_gwtab_t *t, uint32_t *c)
{
	uint32_t i;

	c[0] = c[1] = c[2] = 0;
	for(i = 0; i < t->count; i++)
		c[t->entries[i].brk.state]++;
}

static void reset_counts(bench_t *b)
{
	b->fails = b->refused = b->trans = b->opened = b->closed = 0;
	b->halfopened = b->successes = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t warmup_ops(uint32_t n)
{
	/* 16 attempts per gateway = 64 s simulated, past the 30 s ejections */
	return ((16ull * n + 50000u) / CHUNK) * CHUNK;
}

static uint64_t due_iters(const gwf_gwtab_t *t, uint64_t slots_budget)
{
	uint64_t it = slots_budget / t->nslots;

	return it < 5 ? 5 : it;
}

/* ---- modes ---- */

#define MAX_REPS 31

static int bench_native(
		uint32_t n, int reps, uint64_t ops, uint64_t seed, int verbose)
{
	double net[MAX_REPS], raw[MAX_REPS], base[MAX_REPS], look[MAX_REPS];
	double idle[MAX_REPS], due[MAX_REPS], v;
	double probe_mean, mnet, mraw, mbase, mlook, midle, mdue;
	double nmin, nmax, lmin, lmax;
	uint64_t nops = ((ops + CHUNK - 1) / CHUNK) * CHUNK, iters_due;
	uint64_t t_setup;
	uint32_t probe_max, st[3];
	bench_t b;
	int r;

	t_setup = mono_ns();
	bench_setup(&b, n, seed);
	probe_stats(b.t, &probe_mean, &probe_max);
	run_ops(&b, gwfb_fail, warmup_ops(n), 1);
	t_setup = mono_ns() - t_setup;
	reset_counts(&b);

	for(r = 0; r < reps; r++) {
		base[r] = (double)run_ops(&b, gwfb_nop, nops, 0) / (double)nops;
		raw[r] = (double)run_ops(&b, gwfb_fail, nops, 1) / (double)nops;
		net[r] = raw[r] - base[r];
		look[r] = (double)run_ops(&b, gwfb_find, nops, 0) / (double)nops
				  - base[r];
	}
	state_counts(b.t, st);
	iters_due = due_iters(b.t, 40u * 1000u * 1000u / (uint64_t)reps);
	for(r = 0; r < reps; r++) {
		expire_settle(&b);
		idle[r] = (double)run_expire_idle(&b, 1000000u) / 1e6;
		due[r] = (double)run_expire_due(&b, iters_due) / (double)iters_due;
	}

	nmin = nmax = net[0];
	lmin = lmax = look[0];
	for(r = 1; r < reps; r++) {
		nmin = net[r] < nmin ? net[r] : nmin;
		nmax = net[r] > nmax ? net[r] : nmax;
		lmin = look[r] < lmin ? look[r] : lmin;
		lmax = look[r] > lmax ? look[r] : lmax;
	}
	mnet = median(net, reps);
	mraw = median(raw, reps);
	mbase = median(base, reps);
	mlook = median(look, reps);
	midle = median(idle, reps);
	mdue = median(due, reps);
	v = (double)gwf_gwtab_bytes(n) / (double)n;

	if(verbose) {
		printf("N=%u: %u slots (load %.2f), table %zu bytes, "
			   "sizeof(gwf_gw_t) %zu, probe length mean %.2f max %u; "
			   "setup+warm-up %.2f s\n",
				n, b.t->nslots, (double)b.t->count / b.t->nslots,
				gwf_gwtab_bytes(n), sizeof(gwf_gw_t), probe_mean, probe_max,
				(double)t_setup / 1e9);
		printf("  failed attempt: net %.1f ns (min %.1f, max %.1f), raw "
			   "%.1f, harness %.1f; %d reps x %llu ops\n",
				mnet, nmin, nmax, mraw, mbase, reps, (unsigned long long)nops);
		printf("  paths: refused by breaker %.2f%%, transitions %.3f per "
			   "attempt (opened %.3f, half-opened %.3f, closed %.3f); "
			   "breakers now closed %u, open %u, half-open %u\n",
				100.0 * (double)b.refused / (double)(b.fails + b.successes),
				(double)b.trans / (double)(b.fails + b.successes),
				(double)b.opened / (double)(b.fails + b.successes),
				(double)b.halfopened / (double)(b.fails + b.successes),
				(double)b.closed / (double)(b.fails + b.successes), st[0],
				st[1], st[2]);
		printf("  lookup alone (gwf_gwtab_find): net %.1f ns (min %.1f, max "
			   "%.1f)\n",
				mlook, lmin, lmax);
		printf("  expire, nothing due: %.2f ns/call; one deadline due (full "
			   "scan): %.0f ns/call = %.2f ns/slot (%llu scans/rep)\n",
				midle, mdue, mdue / b.t->nslots, (unsigned long long)iters_due);
	}
	printf("ROW n=%u ns_med=%.1f ns_min=%.1f ns_max=%.1f raw_med=%.1f "
		   "harness_med=%.1f lookup_med=%.1f expire_idle_ns=%.2f "
		   "expire_due_ns=%.0f nslots=%u gw_bytes=%zu tab_bytes_per_gw=%.0f "
		   "errors=%llu\n",
			n, mnet, nmin, nmax, mraw, mbase, mlook, midle, mdue, b.t->nslots,
			sizeof(gwf_gw_t), v, (unsigned long long)b.errors);
	fflush(stdout);
	free(b.t);
	return b.errors ? 1 : 0;
}

/* Under callgrind: uninstrumented setup and warm-up, an instrumented
 * warm-up for the simulated caches, then one dump per phase. Run with --instr-atstart=no --collect-atstart=no and
 * --toggle-collect for gwfb_fail, gwf_gwtab_find and gwf_gwtab_expire. */
static int bench_callgrind(uint32_t n, uint64_t ops, uint64_t seed)
{
	uint64_t nops = ((ops + CHUNK - 1) / CHUNK) * CHUNK, iters_due;
	uint64_t idle = 10000;
	bench_t b;

	bench_setup(&b, n, seed);
	run_ops(&b, gwfb_fail, warmup_ops(n), 1);
	reset_counts(&b);
	iters_due = due_iters(b.t, 2000000u);

	CALLGRIND_START_INSTRUMENTATION;
	/* the simulated caches start empty: fill them first */
	run_ops(&b, gwfb_fail, nops, 1);
	reset_counts(&b);
	CALLGRIND_ZERO_STATS;
	run_ops(&b, gwfb_fail, nops, 1);
	CALLGRIND_DUMP_STATS_AT("fail");
	run_ops(&b, gwfb_find, nops, 0);
	CALLGRIND_DUMP_STATS_AT("lookup");
	expire_settle(&b);
	CALLGRIND_ZERO_STATS;
	run_expire_idle(&b, idle);
	CALLGRIND_DUMP_STATS_AT("expire-idle");
	run_expire_due(&b, iters_due);
	CALLGRIND_DUMP_STATS_AT("expire-due");
	CALLGRIND_STOP_INSTRUMENTATION;

	printf("CG n=%u fail=%llu lookup=%llu expire_idle=%llu expire_due=%llu "
		   "attempts=%llu refused=%llu errors=%llu\n",
			n, (unsigned long long)nops, (unsigned long long)nops,
			(unsigned long long)idle, (unsigned long long)iters_due,
			(unsigned long long)(b.fails + b.successes),
			(unsigned long long)b.refused, (unsigned long long)b.errors);
	free(b.t);
	return b.errors ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
			"usage: core_bench [-q] [-r REPS] [-o OPS] [-s SEED] [N...]\n"
			"       core_bench --cg [-o OPS] [-s SEED] N\n"
			"  default N: 10 1000 100000; REPS (<= %d) default 7, OPS per "
			"rep default 200000\n"
			"  -q: ROW lines only\n",
			MAX_REPS);
	exit(2);
}

int main(int argc, char **argv)
{
	uint32_t ns[16];
	int nn = 0, reps = 7, verbose = 1, cg = 0, rc = 0, i;
	uint64_t ops = 200000, seed = 0x9e3779b97f4a7c15ull;
	unsigned long v;
	unsigned k;

	for(i = 1; i < argc; i++) {
		if(strcmp(argv[i], "--cg") == 0) {
			cg = 1;
		} else if(strcmp(argv[i], "-q") == 0) {
			verbose = 0;
		} else if(strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
			reps = atoi(argv[++i]);
			if(reps < 1 || reps > MAX_REPS)
				usage();
		} else if(strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			ops = strtoull(argv[++i], NULL, 10);
			if(ops < CHUNK)
				usage();
		} else if(strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			seed = strtoull(argv[++i], NULL, 0);
		} else if(argv[i][0] >= '1' && argv[i][0] <= '9' && nn < 16) {
			v = strtoul(argv[i], NULL, 10);
			if(v < 1 || v > 999999)
				usage();
			ns[nn++] = (uint32_t)v;
		} else {
			usage();
		}
	}
	mix_build();
	if(cg) {
		if(nn != 1)
			usage();
		return bench_callgrind(ns[0], ops, seed);
	}
	if(nn == 0) {
		ns[nn++] = 10;
		ns[nn++] = 1000;
		ns[nn++] = 100000;
	}
	if(verbose) {
		printf("failure mix:");
		for(k = 0; k < MIX_N; k++)
			printf("%s %u%% %s", k ? "," : "", mix[k].weight, mix[k].name);
		printf("\nkey: \"%s\" (%zu bytes), %d sets; one untimed success per "
			   "timed failed attempt\n",
				key_tmpl, KEY_LEN, SETS);
	}
	for(i = 0; i < nn; i++)
		rc |= bench_native(ns[i], reps, ops, seed, verbose);
	return rc;
}
