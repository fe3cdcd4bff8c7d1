/*
 * gwfailover - unit tests of gwf_sipmsg: Retry-After from raw reply bytes.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"

#include "gwf_sipmsg.h"

static int ra(const char *msg)
{
	return gwf_sip_retry_after(msg, strlen(msg));
}

static void test_plain_value(void **state)
{
	(void)state;
	assert_int_equal(ra("SIP/2.0 503 Service Unavailable\r\n"
						"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
						"Retry-After: 120\r\n"
						"Content-Length: 0\r\n\r\n"),
			120);
}

static void test_comment_and_params(void **state)
{
	(void)state;
	/* RFC 3261 20.33: delta-seconds [comment] *(;params) */
	assert_int_equal(ra("SIP/2.0 503 X\r\nRetry-After: 18000;duration=3600"
						"\r\n\r\n"),
			18000);
	assert_int_equal(
			ra("SIP/2.0 503 X\r\nRetry-After: 300 (maintenance)\r\n\r\n"), 300);
}

static void test_name_case_and_blanks(void **state)
{
	(void)state;
	assert_int_equal(ra("SIP/2.0 503 X\r\nretry-after:7\r\n\r\n"), 7);
	assert_int_equal(ra("SIP/2.0 503 X\r\nRETRY-AFTER \t: \t 9\r\n\r\n"), 9);
	/* LF-only line ends */
	assert_int_equal(ra("SIP/2.0 503 X\nRetry-After: 5\n\n"), 5);
}

static void test_absent_or_malformed(void **state)
{
	(void)state;
	assert_int_equal(ra("SIP/2.0 503 X\r\nVia: a\r\n\r\n"), -1);
	assert_int_equal(ra("SIP/2.0 503 X\r\nRetry-After: soon\r\n\r\n"), -1);
	assert_int_equal(ra("SIP/2.0 503 X\r\nRetry-After:\r\n\r\n"), -1);
	/* a longer header name is not Retry-After */
	assert_int_equal(ra("SIP/2.0 503 X\r\nRetry-After-X: 5\r\n\r\n"), -1);
	assert_int_equal(ra(""), -1);
	assert_int_equal(gwf_sip_retry_after(NULL, 10), -1);
}

static void test_only_headers_are_read(void **state)
{
	(void)state;
	/* in the body, after the empty line: not a header */
	assert_int_equal(
			ra("SIP/2.0 503 X\r\nVia: a\r\n\r\nRetry-After: 5\r\n"), -1);
	/* the start line is not a header either */
	assert_int_equal(ra("Retry-After: 5\r\nVia: a\r\n\r\n"), -1);
}

static void test_first_header_wins_and_huge_values_clamp(void **state)
{
	(void)state;
	assert_int_equal(ra("SIP/2.0 503 X\r\nRetry-After: 3\r\nRetry-After: 9"
						"\r\n\r\n"),
			3);
	assert_int_equal(ra("SIP/2.0 503 X\r\nRetry-After: 99999999999999999999"
						"\r\n\r\n"),
			GWF_RETRY_AFTER_MAX_S);
}

static void test_length_is_respected(void **state)
{
	const char *msg = "SIP/2.0 503 X\r\nRetry-After: 1234\r\n\r\n";
	size_t cut = strlen("SIP/2.0 503 X\r\nRetry-After: 12");

	(void)state;

	/* a buffer that ends inside the value reads only what it holds */
	assert_int_equal(gwf_sip_retry_after(msg, cut), 12);
	assert_int_equal(gwf_sip_retry_after(msg, strlen("SIP/2.0 503 X\r\n")), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_plain_value),
			cmocka_unit_test(test_comment_and_params),
			cmocka_unit_test(test_name_case_and_blanks),
			cmocka_unit_test(test_absent_or_malformed),
			cmocka_unit_test(test_only_headers_are_read),
			cmocka_unit_test(test_first_header_wins_and_huge_values_clamp),
			cmocka_unit_test(test_length_is_respected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
