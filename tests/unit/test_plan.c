/*
 * gwfailover - unit tests of the plan after a failed attempt: limits,
 * delay, ejection time.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"
#include "gwf_plan.h"

#define T0 1000000u /* start of the call, monotonic ms */

static gwf_plan_cfg_t cfg(void)
{
	gwf_plan_cfg_t c;

	memset(&c, 0, sizeof(c));
	c.backoff.base_ms = 100;
	c.backoff.max_ms = 2000;
	c.backoff.jitter = GWF_JITTER_NONE;
	c.max_attempts = 4;
	c.time_budget_ms = 10000;
	c.retry_after_min_s = 1;
	c.retry_after_max_s = 300;
	c.max_branches = 12;
	return c;
}

static gwf_call_t call(uint32_t attempts, uint32_t prev_delay)
{
	gwf_call_t k;

	memset(&k, 0, sizeof(k));
	k.start_ms = T0;
	k.attempts = attempts;
	k.prev_delay_ms = prev_delay;
	return k;
}

/* has_next() that answers *arg and counts how often it was asked. */
typedef struct
{
	int answer;
	int asked;
} next_t;

static int has_next(void *arg)
{
	next_t *n = (next_t *)arg;

	n->asked++;
	return n->answer;
}

static gwf_plan_t plan(const gwf_plan_cfg_t *c, const gwf_call_t *k,
		gwf_action_t a, uint32_t branches, uint64_t now, next_t *n)
{
	return gwf_plan_next(c, k, a, branches, now, 0, has_next, n);
}

static void test_stop_rule_ends_first(void **state)
{
	gwf_plan_cfg_t c = cfg();
	gwf_call_t k = call(1, 0);
	next_t n = {1, 0};
	gwf_plan_t p;

	(void)state;
	p = plan(&c, &k, GWF_ACT_STOP, 1, T0, &n);
	assert_int_equal(p.end, GWF_END_STOP);
	assert_int_equal(n.asked, 0);
	assert_string_equal(gwf_end_name(p.end), "stop rule");
	assert_null(gwf_end_name(GWF_END_NONE));
}

static void test_delay_grows_with_attempts(void **state)
{
	gwf_plan_cfg_t c = cfg();
	gwf_call_t k;
	next_t n = {1, 0};
	gwf_plan_t p;
	uint32_t a;

	(void)state;
	for(a = 1; a <= 3; a++) {
		k = call(a, 0);
		p = plan(&c, &k, GWF_ACT_FAILOVER, 2 * a - 1, T0, &n);
		assert_int_equal(p.end, GWF_END_NONE);
		assert_int_equal(p.delay_ms, 100u << (a - 1));
	}
	assert_int_equal(n.asked, 3);
}

/* A call whose forward was never counted must not get attempt -1, which
 * wrapped to the longest delay and never met max_attempts. */
static void test_zero_attempts_do_not_wrap(void **state)
{
	gwf_plan_cfg_t c = cfg();
	gwf_call_t k = call(0, 0);
	next_t n = {1, 0};
	gwf_plan_t p;

	(void)state;
	p = plan(&c, &k, GWF_ACT_FAILOVER, 1, T0, &n);
	assert_int_equal(p.end, GWF_END_NONE);
	assert_int_equal(p.delay_ms, 100);
}

static void test_attempt_limit_before_gateways(void **state)
{
	gwf_plan_cfg_t c = cfg();
	gwf_call_t k = call(4, 400);
	next_t n = {0, 0};
	gwf_plan_t p;

	(void)state;
	p = plan(&c, &k, GWF_ACT_FAILOVER, 7, T0, &n);
	assert_int_equal(p.end, GWF_END_ATTEMPTS);
	/* decided without asking for a gateway */
	assert_int_equal(n.asked, 0);
	k.attempts = 3;
	p = plan(&c, &k, GWF_ACT_FAILOVER, 5, T0, &n);
	assert_int_equal(p.end, GWF_END_GATEWAYS);
	assert_int_equal(n.asked, 1);
	assert_string_equal(gwf_end_name(GWF_END_GATEWAYS), "no healthy gateway");
}

static void test_budget(void **state)
{
	gwf_plan_cfg_t c = cfg();
	gwf_call_t k = call(1, 0);
	next_t n = {1, 0};
	gwf_plan_t p;

	(void)state;
	assert_int_equal(gwf_plan_budget_left(&c, &k, T0), 10000);
	assert_int_equal(gwf_plan_budget_left(&c, &k, T0 + 9999), 1);
	assert_int_equal(gwf_plan_budget_left(&c, &k, T0 + 10000), 0);
	assert_int_equal(gwf_plan_budget_left(&c, &k, T0 + 20000), 0);
	/* another process's clock read just before the call started */
	assert_int_equal(gwf_plan_budget_left(&c, &k, T0 - 5), 10000);

	/* less than the minimum left: no attempt, no gateway asked */
	p = plan(&c, &k, GWF_ACT_FAILOVER, 1, T0 + 10000 - 99, &n);
	assert_int_equal(p.end, GWF_END_BUDGET);
	assert_int_equal(n.asked, 0);
	/* the delay (100) plus the minimum (100) must fit: 200 left is
	 * enough, 199 is not */
	p = plan(&c, &k, GWF_ACT_FAILOVER, 1, T0 + 9800, &n);
	assert_int_equal(p.end, GWF_END_NONE);
	p = plan(&c, &k, GWF_ACT_FAILOVER, 1, T0 + 9801, &n);
	assert_int_equal(p.end, GWF_END_BUDGET);

	/* no budget */
	c.time_budget_ms = 0;
	assert_int_equal(gwf_plan_budget_left(&c, &k, T0 + 3600000), UINT32_MAX);
	p = plan(&c, &k, GWF_ACT_FAILOVER, 1, T0 + 3600000, &n);
	assert_int_equal(p.end, GWF_END_NONE);
}

/* A call rescued from an ejected gateway after its budget is spent (a
 * 30 s fr_timer, a 10 s budget) still gets its failover; the attempt
 * limit still holds. */
static void test_rescue_is_not_held_to_the_budget(void **state)
{
	gwf_plan_cfg_t c = cfg();
	gwf_call_t k = call(1, 0);
	next_t n = {1, 0};
	gwf_plan_t p;

	(void)state;
	k.rescue = 1;
	p = plan(&c, &k, GWF_ACT_FAILOVER, 1, T0 + 25000, &n);
	assert_int_equal(p.end, GWF_END_NONE);
	assert_int_equal(n.asked, 1);
	k.attempts = c.max_attempts;
	p = plan(&c, &k, GWF_ACT_FAILOVER, 1, T0 + 25000, &n);
	assert_int_equal(p.end, GWF_END_ATTEMPTS);
	/* not a rescue: the budget ends it */
	k.attempts = 1;
	k.rescue = 0;
	p = plan(&c, &k, GWF_ACT_FAILOVER, 1, T0 + 25000, &n);
	assert_int_equal(p.end, GWF_END_BUDGET);
}

static void test_branches(void **state)
{
	gwf_plan_cfg_t c = cfg();
	gwf_call_t k = call(2, 100);
	next_t n = {1, 0};
	gwf_plan_t p;

	(void)state;
	assert_int_equal(gwf_plan_branches_needed(1), 1);
	assert_int_equal(gwf_plan_branches_needed(4), 7);
	assert_int_equal(gwf_plan_branches_needed(16), 31);
	assert_int_equal(gwf_plan_branches_needed(0), 0);

	/* a delay needs a blind branch and a forward */
	c.max_branches = 4;
	p = plan(&c, &k, GWF_ACT_FAILOVER, 2, T0, &n);
	assert_int_equal(p.end, GWF_END_NONE);
	p = plan(&c, &k, GWF_ACT_FAILOVER, 3, T0, &n);
	assert_int_equal(p.end, GWF_END_ATTEMPTS);
	/* without a delay, one branch is enough */
	c.backoff.base_ms = 0;
	p = plan(&c, &k, GWF_ACT_FAILOVER, 3, T0, &n);
	assert_int_equal(p.end, GWF_END_NONE);
	assert_int_equal(p.delay_ms, 0);
	p = plan(&c, &k, GWF_ACT_FAILOVER, 4, T0, &n);
	assert_int_equal(p.end, GWF_END_ATTEMPTS);
}

static void test_decorrelated_uses_previous_delay(void **state)
{
	gwf_plan_cfg_t c = cfg();
	gwf_call_t k = call(2, 500);
	next_t n = {1, 0};
	gwf_plan_t p;

	(void)state;
	c.backoff.jitter = GWF_JITTER_DECORRELATED;
	p = gwf_plan_next(&c, &k, GWF_ACT_RETRY, 3, T0, UINT32_MAX, has_next, &n);
	assert_int_equal(p.end, GWF_END_NONE);
	assert_true(p.delay_ms >= 100 && p.delay_ms <= 1500);
}

static void test_eject_ms(void **state)
{
	gwf_plan_cfg_t c = cfg();

	(void)state;
	assert_int_equal(gwf_plan_eject_ms(&c, -1, 30000), 30000);
	assert_int_equal(gwf_plan_eject_ms(&c, 0, 30000), 1000);
	assert_int_equal(gwf_plan_eject_ms(&c, 45, 30000), 45000);
	assert_int_equal(gwf_plan_eject_ms(&c, 301, 30000), 300000);
	assert_int_equal(gwf_plan_eject_ms(&c, 2147483647, 30000), 300000);
	c.retry_after_min_s = 0;
	c.retry_after_max_s = 0;
	assert_int_equal(gwf_plan_eject_ms(&c, 60, 30000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_stop_rule_ends_first),
			cmocka_unit_test(test_delay_grows_with_attempts),
			cmocka_unit_test(test_zero_attempts_do_not_wrap),
			cmocka_unit_test(test_attempt_limit_before_gateways),
			cmocka_unit_test(test_budget),
			cmocka_unit_test(test_branches),
			cmocka_unit_test(test_rescue_is_not_held_to_the_budget),
			cmocka_unit_test(test_decorrelated_uses_previous_delay),
			cmocka_unit_test(test_eject_ms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
