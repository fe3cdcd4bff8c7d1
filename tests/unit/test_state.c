/*
 * gwfailover - unit tests of the state file format and parser.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"
#include "gwf_state.h"

typedef struct got
{
	gwf_state_ent_t e[8];
	int n;
} got_t;

static void collect(void *arg, const gwf_state_ent_t *e)
{
	got_t *g = arg;

	assert_true(g->n < 8);
	g->e[g->n++] = *e;
}

static gwf_state_ent_t ent(int set, const char *uri, int half, uint64_t until)
{
	gwf_state_ent_t e;

	memset(&e, 0, sizeof(e));
	e.set_id = set;
	e.uri_len = (uint16_t)strlen(uri);
	memcpy(e.uri, uri, e.uri_len + 1);
	e.half_open = (uint8_t)half;
	e.until_ms = until;
	e.mult = 3;
	e.why = GWF_WHY_FAULTS;
	e.code = 503;
	e.arg = 5;
	return e;
}

/* A whole file of <n> entries into <buf>. */
static size_t file_of(const gwf_state_ent_t *es, int n, char *buf, size_t size)
{
	size_t len = 0;
	int i;

	len += (size_t)gwf_state_format_header(buf + len, size - len);
	for(i = 0; i < n; i++)
		len += (size_t)gwf_state_format_ent(&es[i], buf + len, size - len);
	len += (size_t)gwf_state_format_end((unsigned)n, buf + len, size - len);
	assert_true(len < size);
	return len;
}

static int parse(const char *s, got_t *g, gwf_err_t *err, unsigned *ver)
{
	unsigned v;

	memset(g, 0, sizeof(*g));
	return gwf_state_parse(s, strlen(s), collect, g, ver ? ver : &v, err);
}

static void test_round_trip(void **state)
{
	gwf_state_ent_t es[3];
	char buf[4096];
	gwf_err_t err;
	unsigned ver;
	got_t g;
	size_t len;

	(void)state;
	es[0] = ent(1, "sip:10.0.0.1:5060;transport=tcp", 0, 1764860000123ULL);
	es[1] = ent(2, "sip:gw.example.com", 1, 0);
	es[1].why = GWF_WHY_TIME_OVER;
	es[2] = ent(7, "sips:[2001:db8::1]:5061", 0, UINT64_MAX);
	es[2].manual = 1;
	es[2].why = GWF_WHY_MANUAL_EJECT;
	es[2].code = 0;
	es[2].arg = 120;
	es[2].mult = UINT32_MAX;
	len = file_of(es, 3, buf, sizeof(buf));
	memset(&g, 0, sizeof(g));
	assert_int_equal(gwf_state_parse(buf, len, collect, &g, &ver, &err), 3);
	assert_int_equal(ver, GWF_STATE_VERSION);
	assert_int_equal(g.n, 3);
	assert_memory_equal(&g.e[0], &es[0], sizeof(es[0]));
	assert_memory_equal(&g.e[1], &es[1], sizeof(es[1]));
	assert_memory_equal(&g.e[2], &es[2], sizeof(es[2]));
	/* check only */
	assert_int_equal(gwf_state_parse(buf, len, NULL, NULL, &ver, &err), 3);
	/* an empty state */
	len = file_of(es, 0, buf, sizeof(buf));
	assert_string_equal(buf, "gwfailover-state 1\nend count=0\n");
	assert_int_equal(parse(buf, &g, &err, NULL), 0);
}

static void test_longest_line_fits(void **state)
{
	gwf_state_ent_t e;
	char uri[GWF_URI_MAX + 1];

	(void)state;
	memset(uri, 'x', GWF_URI_MAX);
	uri[GWF_URI_MAX] = '\0';
	e = ent(INT32_MAX, uri, 1, UINT64_MAX);
	e.mult = e.arg = UINT32_MAX;
	e.code = -2147483647 - 1;
	e.why = GWF_WHY_TRIAL_FAILED;
	assert_true(gwf_state_format_ent(&e, NULL, 0) < GWF_STATE_LINE_MAX);
}

static void test_forward_compatible(void **state)
{
	gwf_err_t err;
	unsigned ver;
	got_t g;

	(void)state;
	/* a newer version: unknown keys and why names are skipped */
	assert_int_equal(parse("gwfailover-state 2\n"
						   "gw set=1 uri=sip:a state=open until=5 color=red "
						   "why=moon_phase\n"
						   "end count=1\n",
							 &g, &err, &ver),
			1);
	assert_int_equal(ver, 2);
	assert_int_equal(g.e[0].why, GWF_WHY_NONE);
	assert_int_equal(g.e[0].until_ms, 5);
	assert_int_equal(g.e[0].mult, 0);
}

static void bad(const char *s, const char *msg, size_t offset)
{
	gwf_err_t err;
	got_t g;

	memset(&err, 0, sizeof(err));
	assert_int_equal(parse(s, &g, &err, NULL), -1);
	assert_int_equal(g.n, 0); /* nothing applied */
	if(strstr(err.msg, msg) == NULL)
		fail_msg("'%s': expected '%s', got '%s'", s, msg, err.msg);
	if(err.offset != offset)
		fail_msg("'%s': offset %zu, expected %zu", s, err.offset, offset);
}

static void test_rejects(void **state)
{
	char big[2048];

	(void)state;
	bad("", "not a gwfailover state file", 0);
	bad("{\"json\": 1}\n", "not a gwfailover state file", 0);
	bad("gwfailover-state\n", "not a gwfailover state file", 0);
	bad("gwfailover-state 0\nend count=0\n", "bad version", 17);
	bad("gwfailover-state x\nend count=0\n", "bad version", 17);
	bad("gwfailover-state 1", "not a gwfailover state file", 0);
	/* truncated */
	bad("gwfailover-state 1\n", "no end line", 19);
	bad("gwfailover-state 1\ngw set=1 uri=sip:a state=open until=9\n",
			"no end line", 57);
	bad("gwfailover-state 1\ngw set=1 uri=sip:a state=open until=9\nend "
		"cou",
			"no newline", 57);
	bad("gwfailover-state 1\ngw set=1 uri=sip:a state=op", "no newline", 19);
	bad("gwfailover-state 1\nend count=1\n", "does not match", 19);
	bad("gwfailover-state 1\nend count=0\nend count=0\n", "after the end", 31);
	bad("gwfailover-state 1\nhello\nend count=0\n", "unknown line", 19);
	bad("gwfailover-state 1\ngw set=1 uri=sip:a\nend count=1\n",
			"without set, uri or state", 19);
	bad("gwfailover-state 1\ngw set=1 uri=sip:a state=open\nend count=1\n",
			"without until", 19);
	bad("gwfailover-state 1\ngw set=-1 uri=sip:a state=open until=1\nend "
		"count=1\n",
			"bad set", 22);
	bad("gwfailover-state 1\ngw set=1 uri=sip:a state=shut until=1\nend "
		"count=1\n",
			"neither open", 38);
	bad("gwfailover-state 1\ngw set=1  uri=sip:a state=open until=1\nend "
		"count=1\n",
			"two blanks", 28);
	bad("gwfailover-state 1\ngw set=1 uri=sip:a state=open until=1 \nend "
		"count=1\n",
			"blank at the end", 56);
	bad("gwfailover-state 1\ngw set=1 uri= state=open until=1\nend count=1\n",
			"empty or too long uri", 28);
	bad("gwfailover-state 1\ngw set=1 uri=sip:a state=open until="
		"99999999999999999999\nend count=1\n",
			"bad until", 49);
	bad("gwfailover-state 1\ngw set=1 uri=sip:a state=open until=1 "
		"manual=2\nend count=1\n",
			"manual is neither", 57);
	bad("gwfailover-state 1\ngw set=1 uri=sip:a state=open until=1 code=1000\n"
		"end count=1\n",
			"bad code", 57);
	bad("gwfailover-state 1\ngw set=1 =x state=open until=1\nend count=1\n",
			"key=value", 28);
	bad("gwfailover-state 1\ngw set=1 uri=sip:abc uri=sip:a state=open "
		"until=1\nend count=1\n",
			"key given twice", 40);
	memset(big, 'a', sizeof(big));
	memcpy(big, "gwfailover-state 1\ngw ", 22);
	memcpy(big + sizeof(big) - 14, "\nend count=1\n", 14);
	bad(big, "line too long", 19);
}

static void test_why_names(void **state)
{
	(void)state;
	assert_string_equal(gwf_state_why_name(GWF_WHY_SILENT), "silent");
	assert_string_equal(
			gwf_state_why_name(GWF_WHY_TRIAL_SILENT), "trial_silent");
	assert_string_equal(gwf_state_why_name((gwf_why_t)99), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_round_trip),
			cmocka_unit_test(test_longest_line_fits),
			cmocka_unit_test(test_forward_compatible),
			cmocka_unit_test(test_rejects),
			cmocka_unit_test(test_why_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
