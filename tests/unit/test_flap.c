/*
 * gwfailover - unit tests of gwf_flap: flapping protection.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"

#include "gwf_flap.h"

static const gwf_flap_cfg_t cfg = {2000, 2};

static void test_calm_gateway_posts_everything(void **state)
{
	gwf_flap_t f = {0, 0, 0};
	uint32_t sup;
	uint64_t t;

	(void)state;
	/* one event every window: never held */
	for(t = 0; t < 20000; t += 2000) {
		assert_int_equal(gwf_flap_due(&f, &cfg, t, &sup), 0);
		assert_int_equal(gwf_flap_offer(&f, &cfg, t), GWF_FLAP_POST);
	}
	assert_true(gwf_flap_idle(&f, &cfg, 22000));
	assert_false(gwf_flap_idle(&f, &cfg, 19999));
}

static void test_flapping_is_bounded_and_ends_with_the_newest(void **state)
{
	gwf_flap_t f = {0, 0, 0};
	uint32_t sup = 99;
	int i, posted = 0, held = 0;

	(void)state;
	/* 10 transitions within 100 ms */
	for(i = 0; i < 10; i++) {
		if(gwf_flap_offer(&f, &cfg, 1000 + 10 * i) == GWF_FLAP_POST)
			posted++;
		else
			held++;
	}
	assert_int_equal(posted, 2);
	assert_int_equal(held, 8);
	/* still in the window: nothing due */
	assert_int_equal(gwf_flap_due(&f, &cfg, 2999, &sup), 0);
	assert_false(gwf_flap_idle(&f, &cfg, 2999));
	/* window over: the newest held one goes, 7 were never posted */
	assert_int_equal(gwf_flap_due(&f, &cfg, 3000, &sup), 1);
	assert_int_equal(sup, 7);
	gwf_flap_released(&f, 3000);
	assert_int_equal(gwf_flap_due(&f, &cfg, 9000, &sup), 0);
	/* the released one opened a window: one more fits, then hold */
	assert_int_equal(gwf_flap_offer(&f, &cfg, 3100), GWF_FLAP_POST);
	assert_int_equal(gwf_flap_offer(&f, &cfg, 3200), GWF_FLAP_HOLD);
	assert_int_equal(gwf_flap_due(&f, &cfg, 5000, &sup), 1);
	assert_int_equal(sup, 0);
}

/* The webhook process sleeps until gwf_flap_next_due(): it must be the
 * first moment gwf_flap_due() says 1, and "never" when nothing is held. */
static void test_next_due_is_when_due_turns_true(void **state)
{
	gwf_flap_t f = {0, 0, 0};
	uint32_t sup;
	uint64_t t;

	(void)state;
	assert_true(gwf_flap_next_due(&f, &cfg) == UINT64_MAX);
	gwf_flap_offer(&f, &cfg, 500);
	gwf_flap_offer(&f, &cfg, 600);
	assert_true(gwf_flap_next_due(&f, &cfg) == UINT64_MAX); /* none held */
	gwf_flap_offer(&f, &cfg, 700);
	t = gwf_flap_next_due(&f, &cfg);
	assert_true(t == 2500);
	assert_int_equal(gwf_flap_due(&f, &cfg, t - 1, &sup), 0);
	assert_int_equal(gwf_flap_due(&f, &cfg, t, &sup), 1);
	gwf_flap_released(&f, t);
	assert_true(gwf_flap_next_due(&f, &cfg) == UINT64_MAX);
}

static void test_no_newer_event_overtakes_a_held_one(void **state)
{
	gwf_flap_t f = {0, 0, 0};
	uint32_t sup;

	(void)state;
	assert_int_equal(gwf_flap_offer(&f, &cfg, 0), GWF_FLAP_POST);
	assert_int_equal(gwf_flap_offer(&f, &cfg, 1), GWF_FLAP_POST);
	assert_int_equal(gwf_flap_offer(&f, &cfg, 2), GWF_FLAP_HOLD);
	/* the caller missed the due check: a new event after the window is
	 * held too, so order is kept; it is the newest when released */
	assert_int_equal(gwf_flap_offer(&f, &cfg, 5000), GWF_FLAP_HOLD);
	assert_int_equal(gwf_flap_due(&f, &cfg, 5000, &sup), 1);
	assert_int_equal(sup, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_calm_gateway_posts_everything),
			cmocka_unit_test(test_flapping_is_bounded_and_ends_with_the_newest),
			cmocka_unit_test(test_no_newer_event_overtakes_a_held_one),
			cmocka_unit_test(test_next_due_is_when_due_turns_true),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
