/*
 * gwfailover - unit tests of the progress_reply parser.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"
#include "gwf_progress.h"

static gwf_progress_t parse_ok(const char *s)
{
	gwf_progress_t p;
	gwf_err_t err;

	memset(&p, 0x55, sizeof(p));
	assert_int_equal(gwf_progress_parse(s, strlen(s), &p, &err), 0);
	return p;
}

static void parse_bad(const char *s, const char *msg_part, const char *token)
{
	gwf_progress_t p;
	gwf_err_t err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(gwf_progress_parse(s, strlen(s), &p, &err), -1);
	assert_int_equal(p.code, 0); /* off after an error */
	assert_non_null(strstr(err.msg, msg_part));
	assert_string_equal(err.token, token);
}

static void test_off(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("").code, 0);
	assert_int_equal(parse_ok("  \t ").code, 0);
	assert_int_equal(
			gwf_progress_parse(NULL, 5, &(gwf_progress_t){0}, NULL), 0);
}

static void test_codes_and_phrases(void **state)
{
	gwf_progress_t p;

	(void)state;
	p = parse_ok("180 Ringing");
	assert_int_equal(p.code, 180);
	assert_string_equal(p.reason, "Ringing");
	p = parse_ok("  183  ");
	assert_int_equal(p.code, 183);
	assert_string_equal(p.reason, "Session Progress");
	p = parse_ok("180");
	assert_string_equal(p.reason, "Ringing");
	p = parse_ok("181");
	assert_string_equal(p.reason, "Call Is Being Forwarded");
	p = parse_ok("182");
	assert_string_equal(p.reason, "Queued");
	p = parse_ok("199 Early Dialog Terminated\t");
	assert_int_equal(p.code, 199);
	assert_string_equal(p.reason, "Early Dialog Terminated");
	p = parse_ok("183 Bitte warten \xc3\xa4");
	assert_string_equal(p.reason, "Bitte warten \xc3\xa4");
	p = parse_ok("101 x");
	assert_int_equal(p.code, 101);
}

static void test_errors(void **state)
{
	char longr[100];

	(void)state;
	parse_bad("100 Trying", "tm's own", "100");
	parse_bad("200 OK", "provisional code", "200");
	parse_bad("18 Ringing", "provisional code", "18");
	parse_bad("1800", "provisional code", "1800");
	parse_bad("Ringing", "provisional code", "Ringing");
	parse_bad("18x Ring", "provisional code", "18x");
	parse_bad("184", "reason phrase is needed", "184");
	parse_bad("180 Ring\r\nX: y", "control character", "\r");
	memset(longr, 'a', sizeof(longr));
	memcpy(longr, "180 ", 4);
	longr[4 + 64] = '\0'; /* 64 bytes of phrase: one too many */
	parse_bad(longr, "too long", "aaaaaaaaaaaaaaaa");
	longr[4 + 63] = '\0';
	assert_int_equal(strlen(parse_ok(longr).reason), 63);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_off),
			cmocka_unit_test(test_codes_and_phrases),
			cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
