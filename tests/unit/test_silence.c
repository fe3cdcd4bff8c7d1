/*
 * gwfailover - unit tests of gwf_silence: a gateway is silent after
 * <invites> INVITEs without any reply, the oldest <ms> old; any reply
 * clears it.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"

#include "gwf_silence.h"

static const gwf_silence_cfg_t cfg = {1000, 3};

static void test_needs_both_count_and_age(void **state)
{
	gwf_silence_t s = {0, 0};
	int i;

	(void)state;
	assert_int_equal(gwf_silence_check(&s, &cfg, 50000), 0);
	gwf_silence_sent(&s, 10000);
	gwf_silence_sent(&s, 10100);
	/* old enough but only two INVITEs */
	assert_int_equal(gwf_silence_check(&s, &cfg, 20000), 0);
	gwf_silence_sent(&s, 10200);
	/* three, but the oldest is 999 ms old */
	assert_int_equal(gwf_silence_check(&s, &cfg, 10999), 0);
	assert_int_equal(gwf_silence_check(&s, &cfg, 11000), 1);
	for(i = 0; i < 10; i++)
		gwf_silence_sent(&s, 11000 + i);
	/* the age counts from the oldest unanswered INVITE, not the newest */
	assert_int_equal(gwf_silence_check(&s, &cfg, 11010), 1);
}

static void test_any_reply_starts_over(void **state)
{
	gwf_silence_t s = {0, 0};

	(void)state;
	gwf_silence_sent(&s, 0);
	gwf_silence_sent(&s, 1);
	gwf_silence_sent(&s, 2);
	gwf_silence_heard(&s);
	assert_int_equal(gwf_silence_check(&s, &cfg, 5000), 0);
	/* the clock restarts with the next INVITE */
	gwf_silence_sent(&s, 4000);
	gwf_silence_sent(&s, 4500);
	gwf_silence_sent(&s, 4900);
	assert_int_equal(gwf_silence_check(&s, &cfg, 4999), 0);
	assert_int_equal(gwf_silence_check(&s, &cfg, 5000), 1);
}

static void test_off_and_clock_oddities(void **state)
{
	const gwf_silence_cfg_t off = {0, 1};
	const gwf_silence_cfg_t one = {1, 1};
	gwf_silence_t s = {0, 0};

	(void)state;
	gwf_silence_sent(&s, 100);
	assert_int_equal(gwf_silence_check(&s, &off, 1000000), 0);
	assert_int_equal(gwf_silence_check(&s, &one, 101), 1);
	/* a caller's clock read before the send (another process): not
	 * silent, and no wrap-around to a huge age */
	assert_int_equal(gwf_silence_check(&s, &one, 99), 0);
	/* the count saturates */
	s.unheard = UINT32_MAX;
	gwf_silence_sent(&s, 200);
	assert_true(s.unheard == UINT32_MAX);
	assert_true(s.first_ms == 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_needs_both_count_and_age),
			cmocka_unit_test(test_any_reply_starts_over),
			cmocka_unit_test(test_off_and_clock_oddities),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
