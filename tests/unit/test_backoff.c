/*
 * gwfailover - unit tests of the exponential backoff with jitter.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <limits.h>

#include "testhelp.h"
#include "gwf_backoff.h"

#define R_MAX UINT32_MAX

static gwf_backoff_cfg_t cfg(
		uint32_t base, uint32_t max, uint32_t min, gwf_jitter_t j)
{
	gwf_backoff_cfg_t c;

	c.base_ms = base;
	c.max_ms = max;
	c.min_ms = min;
	c.jitter = j;
	return c;
}

static void test_none_exponential(void **state)
{
	gwf_backoff_cfg_t c = cfg(100, 10000, 0, GWF_JITTER_NONE);

	(void)state;
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 100);
	assert_int_equal(gwf_backoff_ms(&c, 1, 0, 0), 200);
	assert_int_equal(gwf_backoff_ms(&c, 6, 0, R_MAX), 6400);
	assert_int_equal(gwf_backoff_ms(&c, 7, 0, 0), 10000);
	assert_int_equal(gwf_backoff_ms(&c, 31, 0, 0), 10000);
	assert_int_equal(gwf_backoff_ms(&c, 32, 0, 0), 10000);
	assert_int_equal(gwf_backoff_ms(&c, 63, 0, 0), 10000);
	assert_int_equal(gwf_backoff_ms(&c, 64, 0, 0), 10000);
	assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, 0), 10000);
	/* prev_ms is for DECORRELATED only. */
	assert_int_equal(gwf_backoff_ms(&c, 1, 5000, 0), 200);
}

static void test_saturation(void **state)
{
	gwf_backoff_cfg_t c = cfg(1, UINT32_MAX, 0, GWF_JITTER_NONE);

	(void)state;
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 1);
	assert_int_equal(gwf_backoff_ms(&c, 31, 0, 0), 2147483648u);
	assert_int_equal(gwf_backoff_ms(&c, 32, 0, 0), UINT32_MAX);
	assert_int_equal(gwf_backoff_ms(&c, 63, 0, 0), UINT32_MAX);
	assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, 0), UINT32_MAX);
	c.base_ms = 3;
	assert_int_equal(gwf_backoff_ms(&c, 30, 0, 0), 3221225472u);
	assert_int_equal(gwf_backoff_ms(&c, 31, 0, 0), UINT32_MAX);
	c.base_ms = UINT32_MAX;
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), UINT32_MAX);
	assert_int_equal(gwf_backoff_ms(&c, 1, 0, 0), UINT32_MAX);
	assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, 0), UINT32_MAX);
	c.jitter = GWF_JITTER_FULL;
	assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, R_MAX), UINT32_MAX);
	assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, 0), 0);
	c.jitter = GWF_JITTER_EQUAL;
	assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, 0), 2147483647u);
	assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, R_MAX), 4294967293u);
	assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, 2147483648u), UINT32_MAX);
}

static void test_full_jitter(void **state)
{
	gwf_backoff_cfg_t c = cfg(100, 10000, 0, GWF_JITTER_FULL);

	(void)state;
	/* uniform in [0, exp]: r32 % (exp + 1) */
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 0);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 100), 100);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 101), 0);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 12345), 23);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, R_MAX), 67);
	assert_int_equal(gwf_backoff_ms(&c, 6, 0, R_MAX), 5112);
	assert_int_equal(gwf_backoff_ms(&c, 32, 0, 0), 0);
	assert_int_equal(gwf_backoff_ms(&c, 63, 0, 10000), 10000);
	assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, 10001), 0);
}

static void test_equal_jitter(void **state)
{
	gwf_backoff_cfg_t c = cfg(100, 10000, 0, GWF_JITTER_EQUAL);

	(void)state;
	/* exp/2 + r32 % (exp - exp/2 + 1) */
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 50);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 50), 100);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 51), 50);
	assert_int_equal(gwf_backoff_ms(&c, 1, 0, 0), 100);
	assert_int_equal(gwf_backoff_ms(&c, 1, 0, R_MAX), 167);
	assert_int_equal(gwf_backoff_ms(&c, 31, 0, 0), 5000);
	assert_int_equal(gwf_backoff_ms(&c, 31, 0, 5000), 10000);
	/* Odd exp: the upper half is the larger one, exp is reachable. */
	c.base_ms = 101;
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 50);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 51), 101);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, R_MAX), 97);
}

static void test_decorrelated_jitter(void **state)
{
	gwf_backoff_cfg_t c = cfg(100, 10000, 0, GWF_JITTER_DECORRELATED);

	(void)state;
	/* prev 0 counts as base: uniform in [100, 300]. */
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 100);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 200), 300);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 201), 100);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, R_MAX), 199);
	/* It follows prev, not the attempt number. */
	assert_int_equal(gwf_backoff_ms(&c, 50, 0, 200), 300);
	assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, 200), 300);
	assert_int_equal(gwf_backoff_ms(&c, 0, 1000, 0), 100);
	assert_int_equal(gwf_backoff_ms(&c, 0, 1000, 2900), 3000);
	assert_int_equal(gwf_backoff_ms(&c, 0, 1000, R_MAX), 2083);
	/* 3 * prev below base: always base. */
	assert_int_equal(gwf_backoff_ms(&c, 0, 10, 0), 100);
	assert_int_equal(gwf_backoff_ms(&c, 0, 10, R_MAX), 100);
	/* Capped after the draw. */
	assert_int_equal(gwf_backoff_ms(&c, 0, 5000, 14900), 10000);
	assert_int_equal(gwf_backoff_ms(&c, 0, 5000, 9899), 9999);
	/* 3 * prev beyond 32 bits: no overflow. */
	c = cfg(1, UINT32_MAX, 0, GWF_JITTER_DECORRELATED);
	assert_int_equal(gwf_backoff_ms(&c, 0, UINT32_MAX, R_MAX), UINT32_MAX);
	assert_int_equal(gwf_backoff_ms(&c, 0, UINT32_MAX, R_MAX - 1), R_MAX);
	assert_int_equal(gwf_backoff_ms(&c, 0, UINT32_MAX, 0), 1);
	/* base 0 and no prev: 0, then the floor. */
	c = cfg(0, 1000, 0, GWF_JITTER_DECORRELATED);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, R_MAX), 0);
	assert_int_equal(gwf_backoff_ms(&c, 0, 10, 30), 30);
	c.min_ms = 7;
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, R_MAX), 7);
}

static void test_base_zero_and_floor(void **state)
{
	gwf_backoff_cfg_t c = cfg(0, 1000, 0, GWF_JITTER_NONE);
	gwf_jitter_t j;

	(void)state;
	for(j = GWF_JITTER_NONE; j <= GWF_JITTER_EQUAL; j++) {
		c.jitter = j;
		c.min_ms = 0;
		assert_int_equal(gwf_backoff_ms(&c, 0, 0, R_MAX), 0);
		assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, R_MAX), 0);
		c.min_ms = 25;
		assert_int_equal(gwf_backoff_ms(&c, 0, 0, R_MAX), 25);
		assert_int_equal(gwf_backoff_ms(&c, 40, 0, 0), 25);
	}
	/* The floor applies after jitter. */
	c = cfg(100, 1000, 20, GWF_JITTER_FULL);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 20);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 19), 20);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 21), 21);
	/* min == max pins the delay. */
	c = cfg(100, 500, 500, GWF_JITTER_FULL);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 500);
	assert_int_equal(gwf_backoff_ms(&c, 9, 0, R_MAX), 500);
	/* A bad configuration (min above max) still respects the cap. */
	c = cfg(100, 500, 900, GWF_JITTER_NONE);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 500);
}

static void test_cap_below_base(void **state)
{
	gwf_backoff_cfg_t c = cfg(5000, 1000, 0, GWF_JITTER_NONE);

	(void)state;
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 1000);
	assert_int_equal(gwf_backoff_ms(&c, UINT_MAX, 0, 0), 1000);
	c.jitter = GWF_JITTER_FULL;
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, R_MAX), 619);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 1000), 1000);
	c.jitter = GWF_JITTER_EQUAL;
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 500);
	c.jitter = GWF_JITTER_DECORRELATED;
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, 0), 1000);
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, R_MAX), 1000);
	c.max_ms = 0;
	assert_int_equal(gwf_backoff_ms(&c, 0, 0, R_MAX), 0);
}

static void test_cfg_check(void **state)
{
	gwf_backoff_cfg_t c = cfg(100, 1000, 1000, GWF_JITTER_FULL);
	gwf_err_t err;

	(void)state;
	assert_int_equal(gwf_backoff_cfg_check(&c, &err), 0);
	c.min_ms = 1001;
	memset(&err, 0x5a, sizeof(err));
	assert_int_equal(gwf_backoff_cfg_check(&c, &err), -1);
	assert_string_equal(err.msg, "min_ms above max_ms");
	assert_int_equal(err.offset, 0);
	assert_string_equal(err.token, "");
	c.min_ms = 0;
	c.jitter = (gwf_jitter_t)4;
	assert_int_equal(gwf_backoff_cfg_check(&c, &err), -1);
	assert_string_equal(err.msg, "unknown jitter mode");
	assert_int_equal(gwf_backoff_cfg_check(&c, NULL), -1);
	c.jitter = GWF_JITTER_DECORRELATED;
	c.base_ms = 0;
	c.max_ms = 0;
	assert_int_equal(gwf_backoff_cfg_check(&c, &err), 0);
}

static void test_jitter_parse_and_name(void **state)
{
	gwf_jitter_t j = GWF_JITTER_NONE;

	(void)state;
	assert_int_equal(gwf_jitter_parse("none", 4, &j), 0);
	assert_int_equal(j, GWF_JITTER_NONE);
	assert_int_equal(gwf_jitter_parse("FULL", 4, &j), 0);
	assert_int_equal(j, GWF_JITTER_FULL);
	assert_int_equal(gwf_jitter_parse("Equal", 5, &j), 0);
	assert_int_equal(j, GWF_JITTER_EQUAL);
	assert_int_equal(gwf_jitter_parse("decorrelated", 12, &j), 0);
	assert_int_equal(j, GWF_JITTER_DECORRELATED);
	/* Only <len> bytes count. */
	assert_int_equal(gwf_jitter_parse("fullx", 4, &j), 0);
	assert_int_equal(j, GWF_JITTER_FULL);
	j = GWF_JITTER_EQUAL;
	assert_int_equal(gwf_jitter_parse("fullx", 5, &j), -1);
	assert_int_equal(gwf_jitter_parse("ful", 3, &j), -1);
	assert_int_equal(gwf_jitter_parse("", 0, &j), -1);
	assert_int_equal(gwf_jitter_parse(" full", 5, &j), -1);
	assert_int_equal(gwf_jitter_parse(NULL, 0, &j), -1);
	assert_int_equal(j, GWF_JITTER_EQUAL);

	assert_string_equal(gwf_jitter_name(GWF_JITTER_NONE), "none");
	assert_string_equal(gwf_jitter_name(GWF_JITTER_FULL), "full");
	assert_string_equal(gwf_jitter_name(GWF_JITTER_EQUAL), "equal");
	assert_string_equal(
			gwf_jitter_name(GWF_JITTER_DECORRELATED), "decorrelated");
	assert_string_equal(gwf_jitter_name((gwf_jitter_t)4), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_none_exponential),
			cmocka_unit_test(test_saturation),
			cmocka_unit_test(test_full_jitter),
			cmocka_unit_test(test_equal_jitter),
			cmocka_unit_test(test_decorrelated_jitter),
			cmocka_unit_test(test_base_zero_and_floor),
			cmocka_unit_test(test_cap_below_base),
			cmocka_unit_test(test_cfg_check),
			cmocka_unit_test(test_jitter_parse_and_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
