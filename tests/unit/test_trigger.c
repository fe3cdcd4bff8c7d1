/*
 * gwfailover - unit tests of the ejection triggers and the dry-run list.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"
#include "gwf_trigger.h"

static unsigned parse_ok(const char *s)
{
	unsigned m = 12345;
	gwf_err_t err;

	assert_int_equal(gwf_trigger_parse(s, strlen(s), &m, &err), 0);
	return m;
}

static void test_parse(void **state)
{
	(void)state;
	assert_int_equal(parse_ok(""), 0);
	assert_int_equal(parse_ok("none"), 0);
	assert_int_equal(parse_ok("all"), GWF_TRIG_ALL);
	assert_int_equal(parse_ok("ALL"), GWF_TRIG_ALL);
	assert_int_equal(parse_ok("silence"), 1u << GWF_TRIG_SILENCE);
	assert_int_equal(parse_ok(" threshold , Retry_After\t"),
			(1u << GWF_TRIG_THRESHOLD) | (1u << GWF_TRIG_RETRY_AFTER));
	assert_int_equal(parse_ok("eject_rule,trial,silence,threshold,"
							  "retry_after"),
			GWF_TRIG_ALL);
	assert_int_equal(parse_ok("silence,silence"), 1u << GWF_TRIG_SILENCE);
}

static void test_parse_errors(void **state)
{
	gwf_err_t err;
	unsigned m = 7;

	(void)state;
	assert_int_equal(gwf_trigger_parse("silence,bogus", 13, &m, &err), -1);
	assert_int_equal(err.offset, 8);
	assert_string_equal(err.token, "bogus");
	assert_int_equal(m, 7); /* untouched on error */
	assert_int_equal(gwf_trigger_parse("silence,", 8, &m, &err), -1);
	assert_int_equal(gwf_trigger_parse(",silence", 8, &m, &err), -1);
	assert_int_equal(gwf_trigger_parse("a,,b", 4, &m, &err), -1);
	assert_int_equal(gwf_trigger_parse("silen", 5, &m, &err), -1);
	assert_int_equal(gwf_trigger_parse("silencex", 8, &m, &err), -1);
	/* NULL is the empty list */
	assert_int_equal(gwf_trigger_parse(NULL, 3, &m, &err), 0);
	assert_int_equal(m, 0);
}

static void test_names_and_format(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(gwf_trigger_name(GWF_TRIG_TRIAL), "trial");
	assert_string_equal(gwf_trigger_name(GWF_TRIG_COUNT), "unknown");
	gwf_trigger_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	gwf_trigger_format(GWF_TRIG_ALL, buf, sizeof(buf));
	assert_string_equal(buf, "threshold,silence,retry_after,eject_rule,trial");
	assert_int_equal(parse_ok(buf), GWF_TRIG_ALL);
	gwf_trigger_format(1u << GWF_TRIG_SILENCE, buf, sizeof(buf));
	assert_string_equal(buf, "silence");
	/* cut to fit, NUL-terminated */
	gwf_trigger_format(GWF_TRIG_ALL, buf, 12);
	assert_string_equal(buf, "threshold");
	/* "none" whole or not at all: a cut "no" is not a list (found by
	 * fuzz_trigger) */
	assert_int_equal(gwf_trigger_format(0, buf, 4), 0);
	assert_string_equal(buf, "");
	assert_int_equal(gwf_trigger_format(0, buf, 5), 4);
	assert_string_equal(buf, "none");
	assert_int_equal(gwf_trigger_format(GWF_TRIG_ALL, buf, 5), 0);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_parse),
			cmocka_unit_test(test_parse_errors),
			cmocka_unit_test(test_names_and_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
