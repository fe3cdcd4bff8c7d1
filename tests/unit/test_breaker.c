/*
 * gwfailover - unit tests of the circuit breaker state machine.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"
#include "gwf_breaker.h"

/* threshold 3, open 1000 ms, 2 trials in flight, 1 success closes */
static const gwf_brk_cfg_t cfg3 = {3, 1000, 2, 1};

static void assert_brk(const gwf_brk_t *b, gwf_brk_state_t st, uint32_t consec,
		uint32_t inflight, uint32_t ok, uint32_t epoch, uint32_t opens)
{
	assert_int_equal(b->state, st);
	assert_int_equal(b->consec_faults, consec);
	assert_int_equal(b->trials_inflight, inflight);
	assert_int_equal(b->trial_ok, ok);
	assert_int_equal(b->epoch, epoch);
	assert_int_equal(b->open_count, opens);
}

static gwf_brk_trans_t fault(
		gwf_brk_t *b, const gwf_brk_cfg_t *c, uint32_t trial, uint64_t now)
{
	return gwf_brk_record(b, c, GWF_OUT_FAULT, trial, now);
}

static gwf_brk_trans_t success(
		gwf_brk_t *b, const gwf_brk_cfg_t *c, uint32_t trial, uint64_t now)
{
	return gwf_brk_record(b, c, GWF_OUT_SUCCESS, trial, now);
}

static gwf_brk_trans_t neutral(
		gwf_brk_t *b, const gwf_brk_cfg_t *c, uint32_t trial, uint64_t now)
{
	return gwf_brk_record(b, c, GWF_OUT_NEUTRAL, trial, now);
}

/* Open <b> by threshold at <now> (from CLOSED). */
static void open_by_faults(gwf_brk_t *b, const gwf_brk_cfg_t *c, uint64_t now)
{
	uint32_t i;

	for(i = 1; i < c->fail_threshold; i++)
		assert_int_equal(fault(b, c, 0, now), GWF_BRK_T_NONE);
	assert_int_equal(fault(b, c, 0, now), GWF_BRK_T_OPENED);
}

/* Take a trial slot, expecting one. */
static uint32_t take(gwf_brk_t *b, const gwf_brk_cfg_t *c, uint64_t now)
{
	uint32_t trial = 0xdead;
	gwf_brk_trans_t tr;

	assert_int_equal(gwf_brk_acquire(b, c, now, &trial, &tr), 1);
	return trial;
}

static void test_init(void **state)
{
	gwf_brk_t b;

	(void)state;
	memset(&b, 0xff, sizeof(b));
	gwf_brk_init(&b, 1234);
	assert_brk(&b, GWF_BRK_CLOSED, 0, 0, 0, 0, 0);
	assert_int_equal(b.since_ms, 1234);
	assert_int_equal(b.open_until_ms, 0);
}

static void test_cfg_check(void **state)
{
	gwf_brk_cfg_t c = {1, 0, 1, 1};
	gwf_err_t err;

	(void)state;
	assert_int_equal(gwf_brk_cfg_check(&c, &err), 0);
	c.fail_threshold = 0;
	memset(&err, 0x5a, sizeof(err));
	assert_int_equal(gwf_brk_cfg_check(&c, &err), -1);
	assert_string_equal(err.msg, "fail_threshold must be >= 1");
	assert_int_equal(err.offset, 0);
	assert_string_equal(err.token, "");
	c.fail_threshold = 1;
	c.trial_max = 0;
	assert_int_equal(gwf_brk_cfg_check(&c, &err), -1);
	assert_string_equal(err.msg, "trial_max must be >= 1");
	c.trial_max = 1;
	c.trial_successes = 0;
	assert_int_equal(gwf_brk_cfg_check(&c, &err), -1);
	assert_string_equal(err.msg, "trial_successes must be >= 1");
	assert_int_equal(gwf_brk_cfg_check(&c, NULL), -1);
}

static void test_closed_opens_at_threshold(void **state)
{
	gwf_brk_t b;

	(void)state;
	gwf_brk_init(&b, 0);
	assert_int_equal(fault(&b, &cfg3, 0, 10), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_CLOSED, 1, 0, 0, 0, 0);
	assert_int_equal(fault(&b, &cfg3, 0, 20), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_CLOSED, 2, 0, 0, 0, 0);
	assert_int_equal(b.since_ms, 0);
	assert_int_equal(fault(&b, &cfg3, 0, 30), GWF_BRK_T_OPENED);
	assert_brk(&b, GWF_BRK_OPEN, 3, 0, 0, 0, 1);
	assert_int_equal(b.open_until_ms, 1030);
	assert_int_equal(b.since_ms, 30);
}

static void test_threshold_one(void **state)
{
	gwf_brk_cfg_t c = {1, 0, 1, 1};
	gwf_brk_t b;

	(void)state;
	gwf_brk_init(&b, 0);
	assert_int_equal(fault(&b, &c, 0, 5), GWF_BRK_T_OPENED);
	/* open_ms 0: due at once. */
	assert_int_equal(b.open_until_ms, 5);
	assert_int_equal(gwf_brk_tick(&b, 5), GWF_BRK_T_HALF_OPENED);
}

static void test_success_resets_count(void **state)
{
	gwf_brk_t b;

	(void)state;
	gwf_brk_init(&b, 0);
	assert_int_equal(fault(&b, &cfg3, 0, 1), GWF_BRK_T_NONE);
	assert_int_equal(fault(&b, &cfg3, 0, 2), GWF_BRK_T_NONE);
	assert_int_equal(success(&b, &cfg3, 0, 3), GWF_BRK_T_NONE);
	assert_int_equal(b.consec_faults, 0);
	assert_int_equal(fault(&b, &cfg3, 0, 4), GWF_BRK_T_NONE);
	assert_int_equal(fault(&b, &cfg3, 0, 5), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_CLOSED, 2, 0, 0, 0, 0);
	/* NEUTRAL neither counts nor resets. */
	assert_int_equal(neutral(&b, &cfg3, 0, 6), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_CLOSED, 2, 0, 0, 0, 0);
	assert_int_equal(fault(&b, &cfg3, 0, 7), GWF_BRK_T_OPENED);
	assert_brk(&b, GWF_BRK_OPEN, 3, 0, 0, 0, 1);
}

static void test_threshold_lowered_at_runtime(void **state)
{
	gwf_brk_cfg_t c = {5, 100, 1, 1};
	gwf_brk_t b;
	int i;

	(void)state;
	gwf_brk_init(&b, 0);
	for(i = 0; i < 4; i++)
		assert_int_equal(fault(&b, &c, 0, 1), GWF_BRK_T_NONE);
	c.fail_threshold = 3;
	assert_int_equal(fault(&b, &c, 0, 2), GWF_BRK_T_OPENED);
	assert_int_equal(b.consec_faults, 5);
}

static void test_open_ignores_outcomes(void **state)
{
	gwf_brk_t b, snap;
	uint32_t trial = 77;
	gwf_brk_trans_t tr = GWF_BRK_T_CLOSED;

	(void)state;
	gwf_brk_init(&b, 0);
	open_by_faults(&b, &cfg3, 30);
	snap = b;
	assert_int_equal(gwf_brk_acquire(&b, &cfg3, 1029, &trial, &tr), 0);
	assert_int_equal(trial, 0);
	assert_int_equal(tr, GWF_BRK_T_NONE);
	assert_int_equal(gwf_brk_tick(&b, 1029), GWF_BRK_T_NONE);
	assert_int_equal(success(&b, &cfg3, 0, 100), GWF_BRK_T_NONE);
	assert_int_equal(fault(&b, &cfg3, 0, 200), GWF_BRK_T_NONE);
	assert_int_equal(neutral(&b, &cfg3, 0, 300), GWF_BRK_T_NONE);
	assert_int_equal(success(&b, &cfg3, 1, 400), GWF_BRK_T_NONE);
	assert_int_equal(fault(&b, &cfg3, 1, 500), GWF_BRK_T_NONE);
	/* Even past the deadline: record does not tick. */
	assert_int_equal(success(&b, &cfg3, 0, 5000), GWF_BRK_T_NONE);
	assert_memory_equal(&b, &snap, sizeof(b));
}

static void test_tick_to_half_open(void **state)
{
	gwf_brk_t b;

	(void)state;
	gwf_brk_init(&b, 0);
	open_by_faults(&b, &cfg3, 30);
	assert_int_equal(gwf_brk_tick(&b, 1029), GWF_BRK_T_NONE);
	assert_int_equal(b.state, GWF_BRK_OPEN);
	assert_int_equal(gwf_brk_tick(&b, 1030), GWF_BRK_T_HALF_OPENED);
	assert_brk(&b, GWF_BRK_HALF_OPEN, 3, 0, 0, 1, 1);
	assert_int_equal(b.since_ms, 1030);
	assert_int_equal(gwf_brk_tick(&b, 9999), GWF_BRK_T_NONE);
	assert_int_equal(b.epoch, 1);
	assert_int_equal(b.since_ms, 1030);
	/* Tick does nothing to CLOSED. */
	gwf_brk_init(&b, 0);
	assert_int_equal(gwf_brk_tick(&b, UINT64_MAX), GWF_BRK_T_NONE);
	assert_int_equal(b.state, GWF_BRK_CLOSED);
}

static void test_acquire_slots(void **state)
{
	gwf_brk_t b;
	uint32_t trial = 99;
	gwf_brk_trans_t tr = GWF_BRK_T_CLOSED;

	(void)state;
	gwf_brk_init(&b, 0);
	/* CLOSED: always, no trial. */
	assert_int_equal(gwf_brk_acquire(&b, &cfg3, 1, &trial, &tr), 1);
	assert_int_equal(trial, 0);
	assert_int_equal(tr, GWF_BRK_T_NONE);
	assert_int_equal(b.trials_inflight, 0);

	open_by_faults(&b, &cfg3, 30);
	/* The acquire that ticks reports the transition. */
	assert_int_equal(gwf_brk_acquire(&b, &cfg3, 1100, &trial, &tr), 1);
	assert_int_equal(tr, GWF_BRK_T_HALF_OPENED);
	assert_int_equal(trial, 1);
	assert_int_equal(gwf_brk_acquire(&b, &cfg3, 1101, &trial, &tr), 1);
	assert_int_equal(tr, GWF_BRK_T_NONE);
	assert_int_equal(trial, 1);
	assert_int_equal(b.trials_inflight, 2);
	/* trial_max reached. */
	assert_int_equal(gwf_brk_acquire(&b, &cfg3, 1102, &trial, &tr), 0);
	assert_int_equal(trial, 0);
	assert_int_equal(tr, GWF_BRK_T_NONE);
	assert_int_equal(b.trials_inflight, 2);
	/* NEUTRAL frees a slot and nothing else. */
	assert_int_equal(neutral(&b, &cfg3, 1, 1103), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_HALF_OPEN, 3, 1, 0, 1, 1);
	assert_int_equal(gwf_brk_acquire(&b, &cfg3, 1104, &trial, NULL), 1);
	assert_int_equal(trial, 1);
	assert_int_equal(gwf_brk_acquire(&b, &cfg3, 1105, &trial, NULL), 0);
}

static void test_trial_success_closes(void **state)
{
	gwf_brk_t b;
	uint32_t t1, t2;

	(void)state;
	gwf_brk_init(&b, 0);
	open_by_faults(&b, &cfg3, 30);
	t1 = take(&b, &cfg3, 1030);
	t2 = take(&b, &cfg3, 1031);
	assert_int_equal(t1, 1);
	assert_int_equal(t2, 1);
	assert_int_equal(success(&b, &cfg3, t1, 1040), GWF_BRK_T_CLOSED);
	assert_brk(&b, GWF_BRK_CLOSED, 0, 0, 0, 1, 1);
	assert_int_equal(b.since_ms, 1040);
	/* The other trial ends after the close: an ordinary CLOSED outcome. */
	assert_int_equal(fault(&b, &cfg3, t2, 1050), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_CLOSED, 1, 0, 0, 1, 1);
}

static void test_trial_successes_many(void **state)
{
	gwf_brk_cfg_t c = {2, 500, 1, 3};
	gwf_brk_t b;
	uint32_t t;

	(void)state;
	gwf_brk_init(&b, 0);
	open_by_faults(&b, &c, 0);
	t = take(&b, &c, 500);
	assert_int_equal(success(&b, &c, t, 501), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_HALF_OPEN, 0, 0, 1, 1, 1);
	t = take(&b, &c, 502);
	assert_int_equal(neutral(&b, &c, t, 503), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_HALF_OPEN, 0, 0, 1, 1, 1);
	t = take(&b, &c, 504);
	assert_int_equal(success(&b, &c, t, 505), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_HALF_OPEN, 0, 0, 2, 1, 1);
	t = take(&b, &c, 506);
	assert_int_equal(success(&b, &c, t, 507), GWF_BRK_T_CLOSED);
	assert_brk(&b, GWF_BRK_CLOSED, 0, 0, 0, 1, 1);
	assert_int_equal(b.since_ms, 507);
}

static void test_trial_fault_reopens(void **state)
{
	gwf_brk_cfg_t c = {3, 1000, 2, 2};
	gwf_brk_t b;
	uint32_t t1, t2;

	(void)state;
	gwf_brk_init(&b, 0);
	open_by_faults(&b, &c, 30);
	t1 = take(&b, &c, 1030);
	t2 = take(&b, &c, 1030);
	assert_int_equal(success(&b, &c, t1, 1040), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_HALF_OPEN, 0, 1, 1, 1, 1);
	assert_int_equal(fault(&b, &c, t2, 1050), GWF_BRK_T_OPENED);
	assert_brk(&b, GWF_BRK_OPEN, 0, 0, 0, 1, 2);
	assert_int_equal(b.open_until_ms, 2050);
	assert_int_equal(b.since_ms, 1050);
}

/* The prediction matches what recording does, in every state. */
static void test_would_open(void **state)
{
	gwf_brk_cfg_t c = {3, 1000, 2, 2};
	gwf_brk_t b;
	uint32_t t1, i;

	(void)state;
	gwf_brk_init(&b, 0);
	for(i = 1; i < 3; i++) {
		assert_false(gwf_brk_would_open(&b, &c, GWF_OUT_FAULT, 0));
		assert_int_equal(fault(&b, &c, 0, 10), GWF_BRK_T_NONE);
	}
	assert_false(gwf_brk_would_open(&b, &c, GWF_OUT_SUCCESS, 0));
	assert_false(gwf_brk_would_open(&b, &c, GWF_OUT_NEUTRAL, 0));
	assert_true(gwf_brk_would_open(&b, &c, GWF_OUT_FAULT, 0));
	assert_int_equal(fault(&b, &c, 0, 10), GWF_BRK_T_OPENED);
	/* open: nothing opens it again */
	assert_false(gwf_brk_would_open(&b, &c, GWF_OUT_FAULT, 0));
	/* half-open: only a trial of this period */
	t1 = take(&b, &c, 1010);
	assert_false(gwf_brk_would_open(&b, &c, GWF_OUT_FAULT, 0));
	assert_false(gwf_brk_would_open(&b, &c, GWF_OUT_FAULT, t1 + 1));
	assert_false(gwf_brk_would_open(&b, &c, GWF_OUT_SUCCESS, t1));
	assert_true(gwf_brk_would_open(&b, &c, GWF_OUT_FAULT, t1));
	assert_int_equal(fault(&b, &c, t1, 1020), GWF_BRK_T_OPENED);
	/* threshold 1: the first fault */
	c.fail_threshold = 1;
	gwf_brk_init(&b, 0);
	assert_true(gwf_brk_would_open(&b, &c, GWF_OUT_FAULT, 0));
}

static void test_stale_trials_ignored(void **state)
{
	gwf_brk_cfg_t c = {3, 1000, 2, 1};
	gwf_brk_t b;
	uint32_t old1, old2, cur;

	(void)state;
	gwf_brk_init(&b, 0);
	open_by_faults(&b, &c, 0);
	old1 = take(&b, &c, 1000);
	old2 = take(&b, &c, 1000);
	assert_int_equal(fault(&b, &c, old1, 1010), GWF_BRK_T_OPENED);
	assert_int_equal(gwf_brk_tick(&b, 2010), GWF_BRK_T_HALF_OPENED);
	assert_int_equal(b.epoch, 2);
	cur = take(&b, &c, 2010);
	assert_int_equal(cur, 2);
	assert_brk(&b, GWF_BRK_HALF_OPEN, 3, 1, 0, 2, 2);
	/* The trial of the previous period holds no slot of this one and
	 * tells nothing about the gateway now: all ignored. */
	assert_int_equal(success(&b, &c, old2, 2020), GWF_BRK_T_NONE);
	assert_int_equal(fault(&b, &c, old2, 2021), GWF_BRK_T_NONE);
	assert_int_equal(neutral(&b, &c, old2, 2022), GWF_BRK_T_NONE);
	/* So is a call sent while CLOSED (trial 0). */
	assert_int_equal(success(&b, &c, 0, 2023), GWF_BRK_T_NONE);
	assert_int_equal(fault(&b, &c, 0, 2024), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_HALF_OPEN, 3, 1, 0, 2, 2);
	assert_int_equal(b.since_ms, 2010);
	/* The current trial still decides. */
	assert_int_equal(success(&b, &c, cur, 2030), GWF_BRK_T_CLOSED);
}

static void test_eject_from_closed(void **state)
{
	gwf_brk_t b;

	(void)state;
	gwf_brk_init(&b, 0);
	assert_int_equal(fault(&b, &cfg3, 0, 5), GWF_BRK_T_NONE);
	assert_int_equal(gwf_brk_eject(&b, 30000, 100), GWF_BRK_T_OPENED);
	assert_brk(&b, GWF_BRK_OPEN, 1, 0, 0, 0, 1);
	assert_int_equal(b.open_until_ms, 30100);
	assert_int_equal(b.since_ms, 100);
	/* Eject for 0 ms: due at once. */
	gwf_brk_init(&b, 0);
	assert_int_equal(gwf_brk_eject(&b, 0, 100), GWF_BRK_T_OPENED);
	assert_int_equal(b.open_until_ms, 100);
	assert_int_equal(gwf_brk_tick(&b, 100), GWF_BRK_T_HALF_OPENED);
}

static void test_eject_from_half_open(void **state)
{
	gwf_brk_cfg_t c = {3, 1000, 2, 2};
	gwf_brk_t b;
	uint32_t t1, t2;

	(void)state;
	gwf_brk_init(&b, 0);
	open_by_faults(&b, &c, 0);
	t1 = take(&b, &c, 1000);
	t2 = take(&b, &c, 1000);
	assert_int_equal(success(&b, &c, t1, 1001), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_HALF_OPEN, 0, 1, 1, 1, 1);
	assert_int_equal(gwf_brk_eject(&b, 60000, 1002), GWF_BRK_T_OPENED);
	assert_brk(&b, GWF_BRK_OPEN, 0, 0, 0, 1, 2);
	assert_int_equal(b.open_until_ms, 61002);
	assert_int_equal(b.since_ms, 1002);
	/* The trial still out reports into OPEN: nothing. */
	assert_int_equal(success(&b, &c, t2, 1003), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_OPEN, 0, 0, 0, 1, 2);
}

static void test_eject_when_open(void **state)
{
	gwf_brk_t b;

	(void)state;
	gwf_brk_init(&b, 0);
	open_by_faults(&b, &cfg3, 0);
	assert_int_equal(b.open_until_ms, 1000);
	/* Longer: extends, no transition, not counted as another opening. */
	assert_int_equal(gwf_brk_eject(&b, 5000, 500), GWF_BRK_T_NONE);
	assert_int_equal(b.open_until_ms, 5500);
	assert_int_equal(b.open_count, 1);
	assert_int_equal(b.since_ms, 0);
	/* Shorter: never shortens. */
	assert_int_equal(gwf_brk_eject(&b, 100, 600), GWF_BRK_T_NONE);
	assert_int_equal(b.open_until_ms, 5500);
	assert_int_equal(gwf_brk_tick(&b, 5499), GWF_BRK_T_NONE);
	assert_int_equal(gwf_brk_tick(&b, 5500), GWF_BRK_T_HALF_OPENED);
}

static void test_restore(void **state)
{
	gwf_brk_t b;
	uint32_t t;

	(void)state;
	/* From OPEN. */
	gwf_brk_init(&b, 0);
	open_by_faults(&b, &cfg3, 10);
	assert_int_equal(gwf_brk_restore(&b, 20), GWF_BRK_T_CLOSED);
	assert_brk(&b, GWF_BRK_CLOSED, 0, 0, 0, 0, 1);
	assert_int_equal(b.since_ms, 20);
	/* From HALF_OPEN, with a trial in flight. */
	open_by_faults(&b, &cfg3, 30);
	t = take(&b, &cfg3, 1030);
	assert_int_equal(gwf_brk_restore(&b, 1040), GWF_BRK_T_CLOSED);
	assert_brk(&b, GWF_BRK_CLOSED, 0, 0, 0, 1, 2);
	assert_int_equal(b.since_ms, 1040);
	assert_int_equal(success(&b, &cfg3, t, 1050), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_CLOSED, 0, 0, 0, 1, 2);
	/* From CLOSED: no transition, but the count is reset. */
	assert_int_equal(fault(&b, &cfg3, 0, 1060), GWF_BRK_T_NONE);
	assert_int_equal(fault(&b, &cfg3, 0, 1061), GWF_BRK_T_NONE);
	assert_int_equal(gwf_brk_restore(&b, 1070), GWF_BRK_T_NONE);
	assert_brk(&b, GWF_BRK_CLOSED, 0, 0, 0, 1, 2);
	assert_int_equal(b.since_ms, 1040);
}

static void test_deadline_saturates(void **state)
{
	gwf_brk_t b;
	uint64_t now = UINT64_MAX - 10;

	(void)state;
	gwf_brk_init(&b, now);
	open_by_faults(&b, &cfg3, now);
	assert_int_equal(b.open_until_ms, UINT64_MAX);
	assert_int_equal(gwf_brk_tick(&b, now + 5), GWF_BRK_T_NONE);
	gwf_brk_init(&b, now);
	assert_int_equal(gwf_brk_eject(&b, UINT32_MAX, now), GWF_BRK_T_OPENED);
	assert_int_equal(b.open_until_ms, UINT64_MAX);
	assert_int_equal(gwf_brk_tick(&b, UINT64_MAX), GWF_BRK_T_HALF_OPENED);
}

static void test_epoch_never_zero(void **state)
{
	gwf_brk_t b;

	(void)state;
	gwf_brk_init(&b, 0);
	b.epoch = UINT32_MAX;
	assert_int_equal(gwf_brk_eject(&b, 10, 0), GWF_BRK_T_OPENED);
	assert_int_equal(gwf_brk_tick(&b, 10), GWF_BRK_T_HALF_OPENED);
	assert_int_equal(b.epoch, 1);
	assert_int_equal(take(&b, &cfg3, 10), 1);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(gwf_brk_state_name(GWF_BRK_CLOSED), "closed");
	assert_string_equal(gwf_brk_state_name(GWF_BRK_OPEN), "open");
	assert_string_equal(gwf_brk_state_name(GWF_BRK_HALF_OPEN), "half-open");
	assert_string_equal(gwf_brk_state_name((gwf_brk_state_t)9), "unknown");
	assert_string_equal(gwf_brk_trans_name(GWF_BRK_T_NONE), "none");
	assert_string_equal(gwf_brk_trans_name(GWF_BRK_T_OPENED), "opened");
	assert_string_equal(
			gwf_brk_trans_name(GWF_BRK_T_HALF_OPENED), "half-opened");
	assert_string_equal(gwf_brk_trans_name(GWF_BRK_T_CLOSED), "closed");
	assert_string_equal(gwf_brk_trans_name((gwf_brk_trans_t)9), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_init),
			cmocka_unit_test(test_cfg_check),
			cmocka_unit_test(test_closed_opens_at_threshold),
			cmocka_unit_test(test_threshold_one),
			cmocka_unit_test(test_success_resets_count),
			cmocka_unit_test(test_threshold_lowered_at_runtime),
			cmocka_unit_test(test_open_ignores_outcomes),
			cmocka_unit_test(test_tick_to_half_open),
			cmocka_unit_test(test_acquire_slots),
			cmocka_unit_test(test_trial_success_closes),
			cmocka_unit_test(test_trial_successes_many),
			cmocka_unit_test(test_trial_fault_reopens),
			cmocka_unit_test(test_would_open),
			cmocka_unit_test(test_stale_trials_ignored),
			cmocka_unit_test(test_eject_from_closed),
			cmocka_unit_test(test_eject_from_half_open),
			cmocka_unit_test(test_eject_when_open),
			cmocka_unit_test(test_restore),
			cmocka_unit_test(test_deadline_saturates),
			cmocka_unit_test(test_epoch_never_zero),
			cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
