/*
 * gwfailover - unit tests of the RPC argument reader.
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
#include "gwf_arg.h"

static int arg(const char *s, long lo, long hi, long *out)
{
	return gwf_arg_int(s, strlen(s), lo, hi, out);
}

static void test_accepts(void **state)
{
	long v = 0;

	(void)state;
	assert_int_equal(arg("0", 0, INT_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(arg("2147483647", 0, INT_MAX, &v), 0);
	assert_int_equal(v, INT_MAX);
	assert_int_equal(arg("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(arg("-2147483648", INT_MIN, 0, &v), 0);
	assert_int_equal(v, INT_MIN);
	assert_int_equal(arg("00000000000000000503", 300, 699, &v), 0);
	assert_int_equal(v, 503);
	/* not NUL-terminated: only <len> bytes count */
	assert_int_equal(gwf_arg_int("4089", 2, 0, 100, &v), 0);
	assert_int_equal(v, 40);
}

static void test_rejects(void **state)
{
	long v = 77;

	(void)state;
	assert_int_equal(arg("", 0, 10, &v), -1);
	assert_int_equal(arg("-", 0, 10, &v), -1);
	assert_int_equal(arg("+5", 0, 10, &v), -1);
	assert_int_equal(arg(" 5", 0, 10, &v), -1);
	assert_int_equal(arg("5 ", 0, 10, &v), -1);
	assert_int_equal(arg("0x5", 0, 10, &v), -1);
	assert_int_equal(arg("--5", -10, 10, &v), -1);
	assert_int_equal(arg("11", 0, 10, &v), -1);
	assert_int_equal(arg("-1", 0, 10, &v), -1);
	assert_int_equal(arg("2147483648", 0, INT_MAX, &v), -1);
	assert_int_equal(arg("99999999999999999999", 0, INT_MAX, &v), -1);
	/* 21 bytes: too long, even with leading zeros */
	assert_int_equal(arg("000000000000000000005", 0, 10, &v), -1);
	assert_int_equal(gwf_arg_int("5\0", 2, 0, 10, &v), -1);
	assert_int_equal(gwf_arg_int(NULL, 3, 0, 10, &v), -1);
	assert_int_equal(v, 77); /* untouched */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_accepts),
			cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
