/*
 * gwfailover - unit tests of the UTF-8 cleaning of webhook text.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"
#include "gwf_utf8.h"

#define FFFD "\xef\xbf\xbd"
#define U_UML "\xc3\xbc"   /* U+00FC */
#define CJK "\xe4\xbe\x8b" /* U+4F8B */

static const char *clean(const char *in)
{
	static char out[256];
	size_t n = gwf_utf8_clean(in, out, sizeof(out));

	assert_int_equal(n, strlen(out));
	return out;
}

static void test_seq(void **state)
{
	(void)state;
	assert_int_equal(gwf_utf8_seq("a", 1), 1);
	assert_int_equal(gwf_utf8_seq("", 1), 1); /* NUL is ASCII */
	assert_int_equal(gwf_utf8_seq("a", 0), 0);
	assert_int_equal(gwf_utf8_seq("\xc3\xa9", 2), 2);		  /* U+00E9 */
	assert_int_equal(gwf_utf8_seq("\xe2\x82\xac", 3), 3);	  /* U+20AC */
	assert_int_equal(gwf_utf8_seq("\xf0\x9f\x98\x80", 4), 4); /* U+1F600 */
	assert_int_equal(gwf_utf8_seq("\xf4\x8f\xbf\xbf", 4), 4); /* U+10FFFF */
	assert_int_equal(gwf_utf8_seq("\xed\x9f\xbf", 3), 3);	  /* U+D7FF */
	assert_int_equal(gwf_utf8_seq("\x80", 1), 0);			  /* stray */
	assert_int_equal(gwf_utf8_seq("\xc0\xaf", 2), 0);		  /* overlong */
	assert_int_equal(gwf_utf8_seq("\xc1\xbf", 2), 0);		  /* overlong */
	assert_int_equal(gwf_utf8_seq("\xe0\x9f\xbf", 3), 0);	  /* overlong */
	assert_int_equal(gwf_utf8_seq("\xf0\x8f\xbf\xbf", 4), 0); /* overlong */
	assert_int_equal(gwf_utf8_seq("\xed\xa0\x80", 3), 0);	  /* U+D800 */
	assert_int_equal(gwf_utf8_seq("\xf4\x90\x80\x80", 4), 0); /* >10FFFF */
	assert_int_equal(gwf_utf8_seq("\xf5\x80\x80\x80", 4), 0); /* unused */
	assert_int_equal(gwf_utf8_seq("\xff", 1), 0);			  /* unused */
	assert_int_equal(gwf_utf8_seq("\xe2\x82\xac", 2), 0);	  /* cut */
	assert_int_equal(gwf_utf8_seq("\xe2\x82\x61", 3), 0);	  /* cut */
}

static void test_clean(void **state)
{
	(void)state;
	/* well-formed text is kept as it is */
	assert_string_equal(clean("sip:gw1@example.com"), "sip:gw1@example.com");
	assert_string_equal(clean("sip:b" U_UML "cher@" CJK ".jp"),
			"sip:b" U_UML "cher@" CJK ".jp");
	/* quotes and control bytes are the JSON writer's: kept */
	assert_string_equal(clean("a\"b\\c\x01\x7f"), "a\"b\\c\x01\x7f");
	/* each byte that starts no well-formed sequence becomes U+FFFD */
	assert_string_equal(clean("sip:\xff@x"), "sip:" FFFD "@x");
	assert_string_equal(clean("\xc0\xaf"), FFFD FFFD);
	assert_string_equal(clean("\xed\xa0\x80"), FFFD FFFD FFFD);
	assert_string_equal(clean("\xe2\x82"), FFFD FFFD);
	assert_string_equal(clean("x\xc3"), "x" FFFD);
	assert_string_equal(clean(""), "");
}

static void test_room_and_cut(void **state)
{
	char out[GWF_UTF8_ROOM(3)];
	char small[6];

	(void)state;
	/* GWF_UTF8_ROOM: enough for any input of that length */
	assert_int_equal(gwf_utf8_clean("\xff\xfe\xfd", out, sizeof(out)), 9);
	assert_string_equal(out, FFFD FFFD FFFD);
	/* cut before a character that does not fit, never inside one */
	assert_int_equal(gwf_utf8_clean("ab\xff", small, 5), 2);
	assert_string_equal(small, "ab");
	assert_int_equal(gwf_utf8_clean("ab\xc3\xa9z", small, 5), 4);
	assert_string_equal(small, "ab\xc3\xa9");
	assert_int_equal(gwf_utf8_clean("ab", small, 1), 0);
	assert_string_equal(small, "");
	assert_int_equal(gwf_utf8_clean("ab", small, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_seq),
			cmocka_unit_test(test_clean),
			cmocka_unit_test(test_room_and_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
