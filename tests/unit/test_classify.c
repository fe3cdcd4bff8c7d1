/*
 * gwfailover - unit tests of the reply classification rules.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <stdio.h>

#include "testhelp.h"
#include "gwf_classify.h"

#define PARSE(c, s, e) gwf_cls_parse((c), (s), LIT_LEN(s), (e))

static gwf_failure_t reply(int code, int retry_after_s)
{
	gwf_failure_t f;

	f.code = code;
	f.local_timeout = 0;
	f.rang = 0;
	f.retry_after_s = retry_after_s;
	f.unsent = 0;
	return f;
}

static gwf_failure_t timeout(void)
{
	gwf_failure_t f;

	f.code = 408;
	f.local_timeout = 1;
	f.rang = 0;
	f.retry_after_s = -1;
	f.unsent = 0;
	return f;
}

/* A request tm could not send at all: its local 503 (failure_exec_mode 1).
 */
static gwf_failure_t unsent(void)
{
	gwf_failure_t f = reply(503, -1);

	f.unsent = 1;
	return f;
}

/* A local timeout after the callee rang (18x): ring, no answer. */
static gwf_failure_t noanswer(void)
{
	gwf_failure_t f = timeout();

	f.rang = 1;
	return f;
}

static void assert_verdict(const gwf_cls_t *c, gwf_failure_t f, gwf_action_t a,
		gwf_health_t h, int rule)
{
	gwf_verdict_t v = gwf_cls_classify(c, &f);

	assert_int_equal(v.action, a);
	assert_int_equal(v.health, h);
	assert_int_equal(v.rule, rule);
}

static void assert_rule(
		const gwf_cls_t *c, unsigned i, const char *text, int is_default)
{
	char buf[64];

	assert_true(i < c->n);
	gwf_cls_rule_format(&c->rules[i], buf, sizeof(buf));
	assert_string_equal(buf, text);
	assert_int_equal(c->rules[i].is_default, is_default);
}

/* The default table, formatted rule by rule and joined, is exactly the
 * documented text: every default rule parsed, in order, all marked. */
static void test_defaults_round_trip(void **state)
{
	gwf_cls_t c;
	char buf[1024], one[64];
	size_t off = 0;
	unsigned i;

	(void)state;
	gwf_cls_init(&c, 1);
	assert_int_equal(c.n, 25);
	buf[0] = '\0';
	for(i = 0; i < c.n; i++) {
		assert_int_equal(c.rules[i].is_default, 1);
		gwf_cls_rule_format(&c.rules[i], one, sizeof(one));
		off += (size_t)snprintf(
				buf + off, sizeof(buf) - off, "%s%s", i ? "; " : "", one);
	}
	assert_string_equal(buf, gwf_cls_default_spec);
	assert_string_equal(gwf_cls_default_spec,
			"timeout=failover,count; 408=failover,count; 500=failover,count; "
			"502=failover,count; 503=failover,count; 504=failover,count; "
			"503+retry_after=failover,eject; 480=failover,ignore; "
			"401=stop,ignore; 403=stop,ignore; 404=stop,ignore; "
			"407=stop,ignore; 484=stop,ignore; 486=stop,ignore; "
			"487=stop,ignore; 600=stop,ignore; 603=stop,ignore; "
			"604=stop,ignore; 606=stop,ignore; 3xx=stop,ignore; "
			"4xx=stop,ignore; 5xx=failover,ignore; 6xx=stop,ignore; "
			"noanswer=stop,ignore; unreachable=failover,eject");
}

static void test_defaults_classify(void **state)
{
	gwf_cls_t c;

	(void)state;
	gwf_cls_init(&c, 1);
	assert_verdict(&c, timeout(), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 0);
	/* the callee rang and did not answer: not the carrier's fault */
	assert_verdict(&c, noanswer(), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 23);
	/* never sent (tm's local 503): the gateway cannot be reached */
	assert_verdict(&c, unsent(), GWF_ACT_FAILOVER, GWF_HEALTH_EJECT, 24);
	assert_verdict(&c, reply(408, -1), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 1);
	assert_verdict(&c, reply(500, -1), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 2);
	assert_verdict(&c, reply(503, -1), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 4);
	assert_verdict(&c, reply(503, 30), GWF_ACT_FAILOVER, GWF_HEALTH_EJECT, 6);
	assert_verdict(&c, reply(503, 0), GWF_ACT_FAILOVER, GWF_HEALTH_EJECT, 6);
	/* Retry-After on a code without a '+retry_after' rule changes nothing */
	assert_verdict(&c, reply(500, 30), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 2);
	assert_verdict(&c, reply(480, -1), GWF_ACT_FAILOVER, GWF_HEALTH_IGNORE, 7);
	assert_verdict(&c, reply(486, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 13);
	assert_verdict(&c, reply(606, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 18);
	assert_verdict(&c, reply(302, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 19);
	assert_verdict(&c, reply(488, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 20);
	assert_verdict(&c, reply(501, -1), GWF_ACT_FAILOVER, GWF_HEALTH_IGNORE, 21);
	assert_verdict(&c, reply(599, 5), GWF_ACT_FAILOVER, GWF_HEALTH_IGNORE, 21);
	assert_verdict(&c, reply(699, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 22);
	/* Outside every rule: the fallback verdict. */
	assert_verdict(&c, reply(200, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_verdict(&c, reply(299, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	/* Beyond SIP's 699 (a broken carrier's reply): as a 500 from it. */
	assert_verdict(&c, reply(700, -1), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 2);
	assert_verdict(&c, reply(999, 30), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 2);
	assert_true(gwf_cls_relayable(100));
	assert_true(gwf_cls_relayable(699));
	assert_false(gwf_cls_relayable(700));
	assert_false(gwf_cls_relayable(999));
	assert_false(gwf_cls_relayable(99));
}

static void test_init_empty_fallback(void **state)
{
	gwf_cls_t c;

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	gwf_cls_init(&c, 0);
	assert_int_equal(c.n, 0);
	assert_verdict(&c, reply(503, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_verdict(&c, timeout(), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
}

static void test_exact_rule(void **state)
{
	gwf_cls_t c;
	gwf_err_t err;

	(void)state;
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c, "503=retry", &err), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.rules[0].kind, GWF_MATCH_CODES);
	assert_int_equal(c.rules[0].lo, 503);
	assert_int_equal(c.rules[0].hi, 503);
	assert_int_equal(c.rules[0].retry_after, 0);
	assert_int_equal(c.rules[0].is_default, 0);
	assert_int_equal(c.rules[0].action, GWF_ACT_RETRY);
	assert_int_equal(c.rules[0].health, GWF_HEALTH_COUNT);
	assert_verdict(&c, reply(503, -1), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 0);
	assert_verdict(&c, reply(503, 10), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 0);
	assert_verdict(&c, reply(502, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_verdict(&c, reply(504, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_verdict(&c, timeout(), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_rule(&c, 0, "503=retry,count", 0);
}

static void test_range_rule(void **state)
{
	gwf_cls_t c;
	gwf_err_t err;

	(void)state;
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c, "500-509=failover,eject", &err), 0);
	assert_int_equal(c.rules[0].lo, 500);
	assert_int_equal(c.rules[0].hi, 509);
	assert_verdict(&c, reply(499, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_verdict(&c, reply(500, -1), GWF_ACT_FAILOVER, GWF_HEALTH_EJECT, 0);
	assert_verdict(&c, reply(509, -1), GWF_ACT_FAILOVER, GWF_HEALTH_EJECT, 0);
	assert_verdict(&c, reply(510, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_rule(&c, 0, "500-509=failover,eject", 0);

	/* A one-code range is an exact rule, the widest one a class. */
	assert_int_equal(PARSE(&c, "300-300=stop; 300-699=retry", &err), 0);
	assert_int_equal(c.n, 3);
	assert_rule(&c, 1, "300=stop,ignore", 0);
	assert_rule(&c, 2, "300-699=retry,count", 0);
	/* Blanks around '-' are blanks around tokens. */
	assert_int_equal(PARSE(&c, "500 - 509=retry", &err), 0);
	assert_int_equal(c.n, 3);
	assert_rule(&c, 0, "500-509=retry,count", 0);
}

static void test_class_rule(void **state)
{
	gwf_cls_t c;
	gwf_err_t err;

	(void)state;
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c, "5xx=stop; 3XX=failover; 6xX=retry", &err), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.rules[0].lo, 500);
	assert_int_equal(c.rules[0].hi, 599);
	assert_int_equal(c.rules[1].lo, 300);
	assert_int_equal(c.rules[1].hi, 399);
	assert_int_equal(c.rules[2].lo, 600);
	assert_int_equal(c.rules[2].hi, 699);
	assert_verdict(&c, reply(500, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 0);
	assert_verdict(&c, reply(599, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 0);
	assert_verdict(&c, reply(300, -1), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 1);
	assert_verdict(&c, reply(699, -1), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 2);
	assert_verdict(&c, reply(404, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_rule(&c, 0, "5xx=stop,ignore", 0);
	/* "500-599" is the same match as "5xx": replaced in place. */
	assert_int_equal(PARSE(&c, "500-599=retry,eject", &err), 0);
	assert_int_equal(c.n, 3);
	assert_rule(&c, 0, "5xx=retry,eject", 0);
}

static void test_timeout_rule(void **state)
{
	gwf_cls_t c;
	gwf_err_t err;

	(void)state;
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c, "timeout=retry,ignore", &err), 0);
	assert_int_equal(c.rules[0].kind, GWF_MATCH_TIMEOUT);
	assert_verdict(&c, timeout(), GWF_ACT_RETRY, GWF_HEALTH_IGNORE, 0);
	/* A received 408 is a reply, not a local timeout. */
	assert_verdict(&c, reply(408, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_rule(&c, 0, "timeout=retry,ignore", 0);

	/* ... and a code rule never matches a local timeout. */
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c, "408=failover; 4xx=retry", &err), 0);
	assert_verdict(&c, timeout(), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_verdict(&c, reply(408, -1), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 0);

	/* Keywords are case-insensitive; a second timeout rule replaces. */
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c, "TimeOut=stop; timeout=failover", &err), 0);
	assert_int_equal(c.n, 1);
	assert_verdict(&c, timeout(), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 0);
	/* 'timeout' and 'noanswer' are told apart by what came before */
	assert_verdict(&c, noanswer(), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_int_equal(PARSE(&c, "NoAnswer=retry,eject", &err), 0);
	assert_int_equal(c.n, 2);
	assert_verdict(&c, noanswer(), GWF_ACT_RETRY, GWF_HEALTH_EJECT, 1);
	assert_verdict(&c, timeout(), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 0);
	assert_int_equal(PARSE(&c, "noanswer=failover", &err), 0);
	assert_int_equal(c.n, 2);
	assert_rule(&c, 1, "noanswer=failover,count", 0);
	/* never sent: without an 'unreachable' rule, the 'timeout' one */
	assert_verdict(&c, unsent(), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 0);
	assert_int_equal(PARSE(&c, "Unreachable=retry", &err), 0);
	assert_int_equal(c.n, 3);
	assert_rule(&c, 2, "unreachable=retry,count", 0);
	assert_verdict(&c, unsent(), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 2);
	/* tm's 503 is no 503 of the gateway: code rules do not see it */
	assert_int_equal(PARSE(&c, "503=stop", &err), 0);
	assert_verdict(&c, unsent(), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 2);
	assert_int_equal(PARSE(&c, "unreachable+retry_after=stop", &err), -1);
	assert_string_equal(
			err.msg, "'+retry_after' not allowed with 'unreachable'");
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c, "503=failover", &err), 0);
	assert_verdict(&c, unsent(), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	/* neither matches a received 408 */
	assert_verdict(&c, reply(408, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_int_equal(PARSE(&c, "noanswer+retry_after=stop", &err), -1);
	assert_string_equal(err.msg, "'+retry_after' not allowed with 'noanswer'");
	assert_int_equal(err.offset, 8);
}

static void test_retry_after_rule(void **state)
{
	gwf_cls_t c;
	gwf_err_t err;

	(void)state;
	gwf_cls_init(&c, 0);
	assert_int_equal(
			PARSE(&c, "503+retry_after=retry,eject; 503=failover", &err), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.rules[0].retry_after, 1);
	assert_int_equal(c.rules[1].retry_after, 0);
	assert_verdict(&c, reply(503, -1), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 1);
	assert_verdict(&c, reply(503, 0), GWF_ACT_RETRY, GWF_HEALTH_EJECT, 0);
	assert_verdict(&c, reply(503, 3600), GWF_ACT_RETRY, GWF_HEALTH_EJECT, 0);
	assert_rule(&c, 0, "503+retry_after=retry,eject", 0);

	/* On a range and a class; upper case; blanks before '+'. */
	assert_int_equal(
			PARSE(&c, "500-502+RETRY_AFTER=stop; 4xx +retry_after=retry", &err),
			0);
	assert_int_equal(c.n, 4);
	assert_rule(&c, 2, "500-502+retry_after=stop,ignore", 0);
	assert_rule(&c, 3, "4xx+retry_after=retry,count", 0);
	assert_verdict(&c, reply(501, 1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 2);
	assert_verdict(&c, reply(501, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
	assert_verdict(&c, reply(480, 1), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 3);
	assert_verdict(&c, reply(480, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, -1);
}

static void test_health_defaults(void **state)
{
	gwf_cls_t c;
	gwf_err_t err;

	(void)state;
	gwf_cls_init(&c, 0);
	assert_int_equal(
			PARSE(&c, "501=failover; 502=retry; 503=stop; 504=stop,count",
					&err),
			0);
	assert_int_equal(c.rules[0].health, GWF_HEALTH_COUNT);
	assert_int_equal(c.rules[1].health, GWF_HEALTH_COUNT);
	assert_int_equal(c.rules[2].health, GWF_HEALTH_IGNORE);
	assert_int_equal(c.rules[3].health, GWF_HEALTH_COUNT);
}

static void test_override_default_in_place(void **state)
{
	gwf_cls_t c, before;
	gwf_err_t err;
	unsigned i;

	(void)state;
	gwf_cls_init(&c, 1);
	before = c;
	assert_int_equal(PARSE(&c, "503=stop; 5XX=retry,eject", &err), 0);
	assert_int_equal(c.n, 25);
	assert_rule(&c, 4, "503=stop,ignore", 0);
	assert_rule(&c, 21, "5xx=retry,eject", 0);
	for(i = 0; i < c.n; i++) {
		if(i == 4 || i == 21)
			continue;
		assert_memory_equal(&c.rules[i], &before.rules[i], sizeof(c.rules[i]));
	}
	/* The plain 503 rule changed; the '+retry_after' one did not. */
	assert_verdict(&c, reply(503, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 4);
	assert_verdict(&c, reply(503, 9), GWF_ACT_FAILOVER, GWF_HEALTH_EJECT, 6);
	assert_verdict(&c, reply(550, -1), GWF_ACT_RETRY, GWF_HEALTH_EJECT, 21);

	/* A new rule is appended, still unmarked. */
	assert_int_equal(PARSE(&c, "580-589=retry", &err), 0);
	assert_int_equal(c.n, 26);
	assert_rule(&c, 25, "580-589=retry,count", 0);
	assert_verdict(&c, reply(585, -1), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 25);
}

static void test_specificity(void **state)
{
	gwf_cls_t c;
	gwf_err_t err;

	(void)state;
	/* Narrowest wins whatever the order. */
	gwf_cls_init(&c, 0);
	assert_int_equal(
			PARSE(&c, "503=retry; 500-509=stop; 5xx=failover; 300-699=stop",
					&err),
			0);
	assert_verdict(&c, reply(503, -1), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 0);
	assert_verdict(&c, reply(504, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 1);
	assert_verdict(&c, reply(510, -1), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 2);
	assert_verdict(&c, reply(404, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 3);
	gwf_cls_init(&c, 0);
	assert_int_equal(
			PARSE(&c, "300-699=stop; 5xx=failover; 500-509=stop; 503=retry",
					&err),
			0);
	assert_verdict(&c, reply(503, -1), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 3);
	assert_verdict(&c, reply(504, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 2);
	assert_verdict(&c, reply(510, -1), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 1);

	/* Equal width: '+retry_after' beats plain, in either order. */
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c, "503+retry_after=retry; 503=failover", &err), 0);
	assert_verdict(&c, reply(503, 1), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 0);
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c, "503=failover; 503+retry_after=retry", &err), 0);
	assert_verdict(&c, reply(503, 1), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 1);

	/* Width beats '+retry_after': a narrower plain rule wins. */
	gwf_cls_init(&c, 0);
	assert_int_equal(
			PARSE(&c, "5xx+retry_after=stop,eject; 503=failover", &err), 0);
	assert_verdict(&c, reply(503, 1), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 1);
	assert_verdict(&c, reply(502, 1), GWF_ACT_STOP, GWF_HEALTH_EJECT, 0);

	/* Full tie (same width, same modifier): the rule added last. */
	gwf_cls_init(&c, 0);
	assert_int_equal(
			PARSE(&c, "500-509=stop; 505-514=retry; 500-509=failover", &err),
			0);
	assert_int_equal(c.n, 2);
	assert_verdict(&c, reply(507, -1), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 1);
	assert_verdict(&c, reply(502, -1), GWF_ACT_FAILOVER, GWF_HEALTH_COUNT, 0);
	assert_verdict(&c, reply(512, -1), GWF_ACT_RETRY, GWF_HEALTH_COUNT, 1);
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c, "505-514=retry; 500-509=stop", &err), 0);
	assert_verdict(&c, reply(507, -1), GWF_ACT_STOP, GWF_HEALTH_IGNORE, 1);
}

static void test_syntax_leniency(void **state)
{
	gwf_cls_t c;
	gwf_err_t err;
	/* Not NUL-terminated: only <len> bytes are read. */
	const char buf[] = {'4', '0', '4', '=', 's', 't', 'o', 'p', 'x'};

	(void)state;
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c,
							 " \t503 = FAILOVER , Eject ;\t4xx=Stop;\r\n"
							 "timeout=RETRY ; ",
							 &err),
			0);
	assert_int_equal(c.n, 3);
	assert_rule(&c, 0, "503=failover,eject", 0);
	assert_rule(&c, 1, "4xx=stop,ignore", 0);
	assert_rule(&c, 2, "timeout=retry,count", 0);

	gwf_cls_init(&c, 0);
	assert_int_equal(gwf_cls_parse(&c, buf, 8, &err), 0);
	assert_int_equal(c.n, 1);
	assert_rule(&c, 0, "404=stop,ignore", 0);
	/* The cut may fall inside a token. */
	assert_int_equal(gwf_cls_parse(&c, "503=stop;garbage", 8, &err), 0);
	assert_int_equal(gwf_cls_parse(&c, "503=stop;garbage", 9, &err), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(gwf_cls_parse(&c, buf, 9, &err), -1);
	assert_int_equal(err.offset, 4);
	assert_string_equal(err.token, "stopx");
}

typedef struct bad_spec
{
	const char *spec;
	size_t offset;
	const char *token;
	const char *msg;
} bad_spec_t;

static const bad_spec_t bad_specs[] = {
		{"", 0, "", "empty rule list"},
		{"   ", 0, "", "empty rule list"},
		{"\t \t", 0, "", "empty rule list"},
		{";", 0, ";", "empty rule list"},
		{" ; ; ", 1, "; ;", "empty rule list"},
		{";503=stop", 0, ";", "empty rule"},
		{"503=stop;;404=stop", 9, ";", "empty rule"},
		{"503=stop; ;", 10, ";", "empty rule"},
		{"503=stop;;", 9, ";", "empty rule"},
		{"503 stop", 0, "503 stop", "expected '='"},
		{"503=stop; 404", 10, "404", "expected '='"},
		{"=stop", 0, "=", "missing code before '='"},
		{"404=stop; \t=stop", 11, "=", "missing code before '='"},
		{"503=", 4, "", "missing action"},
		{"503= ;404=stop", 4, "", "missing action"},
		{"503=,count", 4, "", "missing action"},
		{"503=stop,", 9, "", "missing health effect"},
		{"503=stop, ;", 9, "", "missing health effect"},
		{"503=stop,count,extra", 14, ",extra", "trailing characters"},
		{"503=stop,count,", 14, ",", "trailing characters"},
		{"503=stopp", 4, "stopp", "unknown action"},
		{"503=stop=x", 4, "stop=x", "unknown action"},
		{"503=ignore", 4, "ignore", "unknown action"},
		{"503=stop,counted", 9, "counted", "unknown health effect"},
		{"503=stop,failover", 9, "failover", "unknown health effect"},
		{"  404 = bogus  ", 8, "bogus", "unknown action"},
		{"\t503\t=\tstop\t,\tnope", 14, "nope", "unknown health effect"},
		{"5x=stop", 0, "5x", "bad code"},
		{"5xxx=stop", 0, "5xxx", "bad code"},
		{"x5x=stop", 0, "x5x", "bad code"},
		{"50 3=stop", 0, "50 3", "bad code"},
		{"+503=stop", 0, "+503", "bad code"},
		{"+retry_after=stop", 0, "+retry_after", "bad code"},
		{"50=stop", 0, "50", "code out of range 300-699"},
		{"1000=stop", 0, "1000", "code out of range 300-699"},
		{"0503=stop", 0, "0503", "code out of range 300-699"},
		{"299=stop", 0, "299", "code out of range 300-699"},
		{"700=stop", 0, "700", "code out of range 300-699"},
		{"2xx=stop", 0, "2xx", "code out of range 300-699"},
		{"7XX=stop", 0, "7XX", "code out of range 300-699"},
		{"99999999999999999999=stop", 0, "99999999999999999999",
				"code out of range 300-699"},
		{"500-=stop", 0, "500-", "incomplete code range"},
		{"-500=stop", 0, "-500", "incomplete code range"},
		{"500 - =stop", 0, "500 -", "incomplete code range"},
		{"599-500=stop", 0, "599-500", "range start above end"},
		{"500-700=stop", 4, "700", "code out of range 300-699"},
		{"200-300=stop", 0, "200", "code out of range 300-699"},
		{"500-5x=stop", 4, "5x", "bad code"},
		{"5xx-6xx=stop", 0, "5xx", "bad code"},
		{"500-550-599=stop", 4, "550-599", "bad code"},
		{"503+retry=stop", 3, "+retry", "expected '+retry_after'"},
		{"503+retry_afterx=stop", 3, "+retry_afterx",
				"expected '+retry_after'"},
		{"503+ retry_after=stop", 3, "+ retry_after",
				"expected '+retry_after'"},
		{"timeout+retry=stop", 7, "+retry", "expected '+retry_after'"},
		{"timeout+retry_after=stop", 7, "+retry_after",
				"'+retry_after' not allowed with 'timeout'"},
		{"TIMEOUT + Retry_After=stop", 8, "+ Retry_After",
				"expected '+retry_after'"},
		{"timeouts=stop", 0, "timeouts", "bad code"},
		{"404=stop; 5x=stop", 10, "5x", "bad code"},
};

static void test_malformed(void **state)
{
	gwf_cls_t c, before;
	gwf_err_t err;
	size_t i;
	int rc;

	(void)state;
	gwf_cls_init(&c, 1);
	before = c;
	for(i = 0; i < ARRAY_LEN(bad_specs); i++) {
		const bad_spec_t *b = &bad_specs[i];

		memset(&err, 0, sizeof(err));
		rc = gwf_cls_parse(&c, b->spec, strlen(b->spec), &err);
		if(rc != -1 || err.offset != b->offset
				|| strcmp(err.token, b->token) != 0 || err.msg == NULL
				|| strcmp(err.msg, b->msg) != 0)
			fail_msg("\"%s\": rc %d offset %zu token \"%s\" msg \"%s\"",
					b->spec, rc, err.offset, err.token,
					err.msg ? err.msg : "(null)");
		/* All or nothing: good rules before the bad one are not kept. */
		assert_memory_equal(&c, &before, sizeof(c));
	}
}

static void test_null_err_and_spec(void **state)
{
	gwf_cls_t c;
	gwf_err_t err;

	(void)state;
	gwf_cls_init(&c, 0);
	assert_int_equal(PARSE(&c, "503=nope", NULL), -1);
	assert_int_equal(gwf_cls_parse(&c, NULL, 0, &err), -1);
	assert_string_equal(err.msg, "empty rule list");
	assert_int_equal(c.n, 0);
}

static void test_token_truncated(void **state)
{
	gwf_cls_t c;
	gwf_err_t err;
	char spec[128];

	(void)state;
	gwf_cls_init(&c, 0);
	memset(spec, 'z', 100);
	memcpy(spec + 100, "=stop", 6);
	assert_int_equal(gwf_cls_parse(&c, spec, strlen(spec), &err), -1);
	assert_int_equal(err.offset, 0);
	assert_int_equal(strlen(err.token), sizeof(err.token) - 1);
	assert_memory_equal(err.token, spec, sizeof(err.token) - 1);
	assert_string_equal(err.msg, "bad code");
}

static void test_too_many_rules(void **state)
{
	gwf_cls_t c, before;
	gwf_err_t err;
	char spec[1024], last[16];
	size_t off = 0, last_off = 0;
	int i;

	(void)state;
	for(i = 0; i < GWF_CLS_MAX_RULES + 1; i++) {
		last_off = off + (i ? 2 : 0);
		off += (size_t)snprintf(spec + off, sizeof(spec) - off, "%s%d=stop",
				i ? "; " : "", 300 + i);
	}
	snprintf(last, sizeof(last), "%d=stop", 300 + GWF_CLS_MAX_RULES);

	/* 64 fit, the 65th does not, and nothing is kept. */
	gwf_cls_init(&c, 0);
	assert_int_equal(gwf_cls_parse(&c, spec, last_off - 2, &err), 0);
	assert_int_equal(c.n, GWF_CLS_MAX_RULES);
	gwf_cls_init(&c, 0);
	assert_int_equal(gwf_cls_parse(&c, spec, off, &err), -1);
	assert_int_equal(c.n, 0);
	assert_int_equal(err.offset, last_off);
	assert_string_equal(err.token, last);
	assert_string_equal(err.msg, "too many rules");

	/* On the defaults (25, among them 300-310 are not), 39 new ones fit. */
	gwf_cls_init(&c, 1);
	assert_int_equal(gwf_cls_parse(&c, spec, 39 * 10 - 2, &err), 0);
	assert_int_equal(c.n, GWF_CLS_MAX_RULES);
	/* Replacing an existing rule on a full table is fine... */
	assert_int_equal(PARSE(&c, "503=retry; 300=failover", &err), 0);
	assert_int_equal(c.n, GWF_CLS_MAX_RULES);
	assert_rule(&c, 4, "503=retry,count", 0);
	assert_rule(&c, 25, "300=failover,count", 0);
	/* ... adding one more is not. */
	before = c;
	assert_int_equal(PARSE(&c, "404=retry; 340=stop", &err), -1);
	assert_int_equal(err.offset, 11);
	assert_string_equal(err.token, "340=stop");
	assert_string_equal(err.msg, "too many rules");
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_rule_format(void **state)
{
	gwf_cls_rule_t r;
	char buf[64];

	(void)state;
	memset(&r, 0, sizeof(r));
	r.kind = GWF_MATCH_CODES;
	r.lo = 503;
	r.hi = 503;
	r.retry_after = 1;
	r.action = GWF_ACT_FAILOVER;
	r.health = GWF_HEALTH_EJECT;
	assert_int_equal(gwf_cls_rule_format(&r, buf, sizeof(buf)), 30);
	assert_string_equal(buf, "503+retry_after=failover,eject");
	/* snprintf semantics: full length returned, output cut and ended. */
	assert_int_equal(gwf_cls_rule_format(&r, buf, 8), 30);
	assert_string_equal(buf, "503+ret");
	assert_int_equal(gwf_cls_rule_format(&r, NULL, 0), 30);

	r.retry_after = 0;
	r.lo = 500;
	r.hi = 598;
	assert_int_equal(gwf_cls_rule_format(&r, buf, sizeof(buf)), 22);
	assert_string_equal(buf, "500-598=failover,eject");
	r.lo = 510;
	r.hi = 609;
	gwf_cls_rule_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "510-609=failover,eject");
	r.kind = GWF_MATCH_TIMEOUT;
	r.action = GWF_ACT_RETRY;
	r.health = GWF_HEALTH_IGNORE;
	gwf_cls_rule_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "timeout=retry,ignore");
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(gwf_action_name(GWF_ACT_FAILOVER), "failover");
	assert_string_equal(gwf_action_name(GWF_ACT_RETRY), "retry");
	assert_string_equal(gwf_action_name(GWF_ACT_STOP), "stop");
	assert_string_equal(gwf_action_name((gwf_action_t)7), "unknown");
	assert_string_equal(gwf_health_name(GWF_HEALTH_COUNT), "count");
	assert_string_equal(gwf_health_name(GWF_HEALTH_IGNORE), "ignore");
	assert_string_equal(gwf_health_name(GWF_HEALTH_EJECT), "eject");
	assert_string_equal(gwf_health_name((gwf_health_t)7), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_defaults_round_trip),
			cmocka_unit_test(test_defaults_classify),
			cmocka_unit_test(test_init_empty_fallback),
			cmocka_unit_test(test_exact_rule),
			cmocka_unit_test(test_range_rule),
			cmocka_unit_test(test_class_rule),
			cmocka_unit_test(test_timeout_rule),
			cmocka_unit_test(test_retry_after_rule),
			cmocka_unit_test(test_health_defaults),
			cmocka_unit_test(test_override_default_in_place),
			cmocka_unit_test(test_specificity),
			cmocka_unit_test(test_syntax_leniency),
			cmocka_unit_test(test_malformed),
			cmocka_unit_test(test_null_err_and_spec),
			cmocka_unit_test(test_token_truncated),
			cmocka_unit_test(test_too_many_rules),
			cmocka_unit_test(test_rule_format),
			cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
