/*
 * gwfailover - unit tests of the ejection guard and of the growing,
 * decaying, jittered ejection time.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"
#include "gwf_eject.h"
#include "gwf_guard.h"

static void test_guard_keeps_the_last_gateway(void **state)
{
	uint32_t n;

	(void)state;
	/* the default: every gateway but one, whatever the set's size */
	for(n = 1; n <= 100; n++) {
		assert_int_equal(gwf_guard_allowed(n, 99), n - 1);
		if(n >= 2)
			assert_true(gwf_guard_may_eject(n, n - 2, 99));
		assert_false(gwf_guard_may_eject(n, n - 1, 99));
	}
	/* 1 gateway: never */
	assert_false(gwf_guard_may_eject(1, 0, 99));
	/* 2 gateways: one */
	assert_true(gwf_guard_may_eject(2, 0, 99));
	assert_false(gwf_guard_may_eject(2, 1, 99));
}

static void test_guard_percentages(void **state)
{
	(void)state;
	/* 3 gateways at 67 %: two may go, the third stays */
	assert_int_equal(gwf_guard_allowed(3, 67), 2);
	assert_true(gwf_guard_may_eject(3, 1, 67));
	assert_false(gwf_guard_may_eject(3, 2, 67));
	/* 5 gateways at 50 %: two */
	assert_int_equal(gwf_guard_allowed(5, 50), 2);
	assert_false(gwf_guard_may_eject(5, 2, 50));
	/* 2 gateways at 49 %: none */
	assert_int_equal(gwf_guard_allowed(2, 49), 0);
	/* 100: all of them (the operator accepts a set without gateway) */
	assert_int_equal(gwf_guard_allowed(3, 100), 3);
	assert_true(gwf_guard_may_eject(3, 2, 100));
	assert_false(gwf_guard_may_eject(3, 3, 100));
	assert_true(gwf_guard_may_eject(1, 0, 100));
	/* 0: never */
	assert_false(gwf_guard_may_eject(5, 0, 0));
	/* no overflow */
	assert_int_equal(gwf_guard_allowed(UINT32_MAX, 99),
			(uint32_t)(((uint64_t)UINT32_MAX * 99) / 100));
	assert_false(gwf_guard_may_eject(UINT32_MAX, UINT32_MAX, 100));
}

/* Two workers eject two gateways of a 2-gateway set at the same moment:
 * under the one lock the second sees the first's count. */
static void test_guard_sequential_decisions(void **state)
{
	uint32_t out = 0;

	(void)state;
	if(gwf_guard_may_eject(2, out, 99))
		out++;
	assert_int_equal(out, 1);
	if(gwf_guard_may_eject(2, out, 99))
		out++;
	assert_int_equal(out, 1);
}

static gwf_eject_cfg_t ecfg(void)
{
	gwf_eject_cfg_t c;

	c.base_ms = 30000;
	c.max_ms = 300000;
	c.jitter_pct = 10;
	c.decay_successes = 3;
	return c;
}

static void test_eject_grows_and_caps(void **state)
{
	gwf_eject_cfg_t c = ecfg();
	gwf_eject_t e = {0, 0};
	uint32_t i;

	(void)state;
	c.jitter_pct = 0;
	assert_int_equal(gwf_eject_next_ms(&c, 0), 30000);
	assert_int_equal(gwf_eject_start(&c, &e, 0), 30000);
	assert_int_equal(e.mult, 1);
	assert_int_equal(gwf_eject_next_ms(&c, e.mult), 60000);
	assert_int_equal(gwf_eject_start(&c, &e, UINT32_MAX), 60000);
	assert_int_equal(gwf_eject_start(&c, &e, 0), 90000);
	for(i = 0; i < 20; i++)
		gwf_eject_start(&c, &e, 0);
	assert_int_equal(gwf_eject_start(&c, &e, 0), 300000);
	/* the multiplier itself stops somewhere */
	for(i = 0; i < 2 * GWF_EJECT_MULT_MAX; i++)
		gwf_eject_start(&c, &e, 0);
	assert_int_equal(e.mult, GWF_EJECT_MULT_MAX);
	assert_int_equal(gwf_eject_next_ms(&c, UINT32_MAX), 300000);
}

static void test_eject_jitter_bounds(void **state)
{
	gwf_eject_cfg_t c = ecfg();
	gwf_eject_t e;
	uint32_t r, ms, lo = UINT32_MAX, hi = 0;

	(void)state;
	for(r = 0; r < 1000; r++) {
		e.mult = 0;
		e.ok_run = 0;
		ms = gwf_eject_start(&c, &e, r * 4294967u);
		lo = ms < lo ? ms : lo;
		hi = ms > hi ? ms : hi;
	}
	/* never shorter than configured, at most 10 % longer, and spread */
	assert_int_equal(lo, 30000);
	assert_true(hi <= 33000 && hi > 32900);
	e.mult = 0;
	assert_int_equal(gwf_eject_start(&c, &e, UINT32_MAX), 33000);
	/* at the cap, still spread: proxies never re-test in lockstep */
	e.mult = 50;
	assert_int_equal(gwf_eject_start(&c, &e, UINT32_MAX), 330000);
	/* 100 %: up to twice as long */
	c.jitter_pct = 100;
	c.max_ms = UINT32_MAX;
	e.mult = 0;
	assert_int_equal(gwf_eject_start(&c, &e, UINT32_MAX), 60000);
	/* no overflow at the extremes */
	c.base_ms = UINT32_MAX;
	e.mult = 5;
	assert_int_equal(gwf_eject_start(&c, &e, UINT32_MAX), UINT32_MAX);
}

static void test_eject_decays_only_with_successes(void **state)
{
	gwf_eject_cfg_t c = ecfg();
	gwf_eject_t e = {0, 0};

	(void)state;
	gwf_eject_start(&c, &e, 0);
	gwf_eject_start(&c, &e, 0);
	assert_int_equal(e.mult, 2);
	/* two successes, then a fault: the run starts over */
	assert_false(gwf_eject_success(&c, &e));
	assert_false(gwf_eject_success(&c, &e));
	gwf_eject_fault(&e);
	assert_false(gwf_eject_success(&c, &e));
	assert_false(gwf_eject_success(&c, &e));
	assert_true(gwf_eject_success(&c, &e));
	assert_int_equal(e.mult, 1);
	assert_false(gwf_eject_success(&c, &e));
	assert_false(gwf_eject_success(&c, &e));
	assert_true(gwf_eject_success(&c, &e));
	assert_int_equal(e.mult, 0);
	/* nothing below 0 */
	assert_false(gwf_eject_success(&c, &e));
	assert_int_equal(e.mult, 0);
	/* an ejection starts the run over too */
	gwf_eject_start(&c, &e, 0);
	gwf_eject_success(&c, &e);
	gwf_eject_start(&c, &e, 0);
	assert_int_equal(e.ok_run, 0);
	gwf_eject_clear(&e);
	assert_int_equal(e.mult, 0);
}

static void test_eject_cfg_check(void **state)
{
	gwf_eject_cfg_t c = ecfg();
	gwf_err_t err;

	(void)state;
	assert_int_equal(gwf_eject_cfg_check(&c, &err), 0);
	c.max_ms = 1000;
	assert_int_equal(gwf_eject_cfg_check(&c, &err), -1);
	c = ecfg();
	c.jitter_pct = 101;
	assert_int_equal(gwf_eject_cfg_check(&c, &err), -1);
	c = ecfg();
	c.decay_successes = 0;
	assert_int_equal(gwf_eject_cfg_check(&c, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_guard_keeps_the_last_gateway),
			cmocka_unit_test(test_guard_percentages),
			cmocka_unit_test(test_guard_sequential_decisions),
			cmocka_unit_test(test_eject_grows_and_caps),
			cmocka_unit_test(test_eject_jitter_bounds),
			cmocka_unit_test(test_eject_decays_only_with_successes),
			cmocka_unit_test(test_eject_cfg_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
