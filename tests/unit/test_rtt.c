/*
 * gwfailover - unit tests of the first-reply latency estimator (RFC 6298)
 * and the silence timeout learnt from it.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"
#include "gwf_rtt.h"

static const gwf_rtt_cfg_t cfg = {200, 1000, 1};
/* the module's: G is the 50 ms tick of the silence check */
static const gwf_rtt_cfg_t cfg50 = {200, 1000, 50};

static void test_no_sample_means_the_longest(void **state)
{
	gwf_rtt_t e;

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_int_equal(gwf_rtt_timeout(&e, &cfg), 1000);
	gwf_rtt_backoff(&e, &cfg);
	assert_int_equal(gwf_rtt_timeout(&e, &cfg), 1000);
	assert_int_equal(gwf_rtt_srtt_ms(&e), 0);
}

static void test_first_sample(void **state)
{
	gwf_rtt_t e;

	(void)state;
	memset(&e, 0, sizeof(e));
	/* SRTT 40, RTTVAR 20: RTO 40 + 80 = 120, raised to the floor */
	gwf_rtt_sample(&e, &cfg, 40);
	assert_int_equal(gwf_rtt_srtt_ms(&e), 40);
	assert_int_equal(gwf_rtt_rttvar_ms(&e), 20);
	assert_int_equal(gwf_rtt_timeout(&e, &cfg), 200);
	/* SRTT 100, RTTVAR 50: 100 + 200 = 300 */
	memset(&e, 0, sizeof(e));
	gwf_rtt_sample(&e, &cfg, 100);
	assert_int_equal(gwf_rtt_timeout(&e, &cfg), 300);
	assert_int_equal(e.samples, 1);
}

/* A gateway that always answers after 300 ms: the estimate converges on
 * it and the timeout is never shorter than what the gateway needs. */
static void test_converges_and_never_undercuts(void **state)
{
	gwf_rtt_t e;
	int i;

	(void)state;
	memset(&e, 0, sizeof(e));
	for(i = 0; i < 200; i++) {
		gwf_rtt_sample(&e, &cfg, 300);
		assert_true(gwf_rtt_timeout(&e, &cfg) > 300);
	}
	assert_int_equal(gwf_rtt_srtt_ms(&e), 300);
	assert_int_equal(gwf_rtt_rttvar_ms(&e), 0);
	/* RTTVAR vanished: SRTT + G */
	assert_int_equal(gwf_rtt_timeout(&e, &cfg), 301);
}

/* 2.3 by hand: SRTT 100 RTTVAR 50, then 200: RTTVAR 3/4*50 + 1/4*100 =
 * 62.5, SRTT 7/8*100 + 1/8*200 = 112.5, RTO 112.5 + 250 = 362.5 -> 363 */
static void test_update_arithmetic(void **state)
{
	gwf_rtt_t e;

	(void)state;
	memset(&e, 0, sizeof(e));
	gwf_rtt_sample(&e, &cfg, 100);
	gwf_rtt_sample(&e, &cfg, 200);
	assert_int_equal(e.srtt8, 900);	  /* 112.5 ms */
	assert_int_equal(e.rttvar8, 500); /* 62.5 ms */
	assert_int_equal(gwf_rtt_timeout(&e, &cfg), 363);
	/* a slower gateway pushes the timeout up to the cap */
	gwf_rtt_sample(&e, &cfg, 5000);
	assert_int_equal(gwf_rtt_timeout(&e, &cfg), 1000);
}

static void test_backoff_doubles_up_to_the_cap(void **state)
{
	gwf_rtt_t e;

	(void)state;
	memset(&e, 0, sizeof(e));
	gwf_rtt_sample(&e, &cfg, 100); /* 300 */
	gwf_rtt_backoff(&e, &cfg);
	assert_int_equal(gwf_rtt_timeout(&e, &cfg), 600);
	gwf_rtt_backoff(&e, &cfg);
	assert_int_equal(gwf_rtt_timeout(&e, &cfg), 1000);
	gwf_rtt_backoff(&e, &cfg);
	assert_int_equal(gwf_rtt_timeout(&e, &cfg), 1000);
	/* the next sample ends the backoff */
	gwf_rtt_sample(&e, &cfg, 100);
	assert_true(gwf_rtt_timeout(&e, &cfg) < 600);
}

static void test_extremes(void **state)
{
	gwf_rtt_t e;
	gwf_rtt_cfg_t wide = {1, UINT32_MAX, 0};

	(void)state;
	memset(&e, 0, sizeof(e));
	gwf_rtt_sample(&e, &wide, 0);
	assert_int_equal(gwf_rtt_timeout(&e, &wide), 1);
	gwf_rtt_sample(&e, &wide, UINT32_MAX);
	assert_true(gwf_rtt_timeout(&e, &wide) >= 86400000u / 8u);
	gwf_rtt_backoff(&e, &wide);
	gwf_rtt_backoff(&e, &wide);
	assert_true(gwf_rtt_timeout(&e, &wide) > 0);
	e.samples = UINT32_MAX;
	gwf_rtt_sample(&e, &wide, 5);
	assert_int_equal(e.samples, UINT32_MAX);
}

/* G is the least margin over SRTT: a steady 300 ms gateway gets 350 ms
 * with G = 50 ms, never SRTT + 1 ms that scheduling jitter would cross. */
static void test_granularity_is_the_least_margin(void **state)
{
	gwf_rtt_t e;
	int i;

	(void)state;
	memset(&e, 0, sizeof(e));
	for(i = 0; i < 200; i++)
		gwf_rtt_sample(&e, &cfg50, 300);
	assert_int_equal(gwf_rtt_timeout(&e, &cfg50), 350);
	/* a large variance still counts 4 times */
	memset(&e, 0, sizeof(e));
	gwf_rtt_sample(&e, &cfg50, 100); /* RTTVAR 50: 100 + 200 */
	assert_int_equal(gwf_rtt_timeout(&e, &cfg50), 300);
}

/* Karn's rule: a reply after the first retransmission may answer either
 * copy; over a transport that does not retransmit, every sample counts. */
static void test_karn(void **state)
{
	(void)state;
	assert_true(gwf_rtt_unambiguous(0, 1, 500));
	assert_true(gwf_rtt_unambiguous(499, 1, 500));
	assert_false(gwf_rtt_unambiguous(500, 1, 500));
	assert_false(gwf_rtt_unambiguous(4000, 1, 500));
	assert_true(gwf_rtt_unambiguous(4000, 0, 500));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_no_sample_means_the_longest),
			cmocka_unit_test(test_first_sample),
			cmocka_unit_test(test_converges_and_never_undercuts),
			cmocka_unit_test(test_update_arithmetic),
			cmocka_unit_test(test_backoff_doubles_up_to_the_cap),
			cmocka_unit_test(test_extremes),
			cmocka_unit_test(test_granularity_is_the_least_margin),
			cmocka_unit_test(test_karn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
