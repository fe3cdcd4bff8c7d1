/*
 * gwfailover fuzzing - the classification rule parser (modparam "rule").
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * Input: one byte of options (bit 0: start from the built-in table, as the
 * module does; otherwise from no rule), then the rule text. Checks:
 *   - an error leaves the table as it was and names a token that is in
 *     the text at the offset it gives;
 *   - a table that parsed holds only well-formed rules (codes 300-699,
 *     lo <= hi, known action and health, one rule per match), at most
 *     GWF_CLS_MAX_RULES, and the rules it had are kept or replaced in
 *     place;
 *   - parsing the same text again changes nothing;
 *   - every rule formats (gwf_cls_rule_format()) into the RPC's 64-byte
 *     buffer and parses back to the same rule, alone and as a whole table;
 *   - gwf_cls_classify() agrees with a plain reading of "most specific
 *     rule wins" at the edges of every rule's range.
 */

#include "fuzz_check.h"
#include "gwf_classify.h"

#define RPC_RULE_BUF 64 /* gwfailover.classify and .config format into it */

static int same_rule(const gwf_cls_rule_t *a, const gwf_cls_rule_t *b)
{
	return a->kind == b->kind && a->lo == b->lo && a->hi == b->hi
		   && a->retry_after == b->retry_after && a->action == b->action
		   && a->health == b->health;
}

static int same_match(const gwf_cls_rule_t *a, const gwf_cls_rule_t *b)
{
	if(a->kind != b->kind)
		return 0;
	return a->kind != GWF_MATCH_CODES
		   || (a->lo == b->lo && a->hi == b->hi
				   && a->retry_after == b->retry_after);
}

static void check_err(const gwf_err_t *err, const char *spec, size_t len)
{
	size_t n;

	FUZZ_CHECK(err->msg != NULL);
	FUZZ_CHECK(memchr(err->token, '\0', sizeof(err->token)) != NULL);
	n = strlen(err->token);
	FUZZ_CHECK(err->offset <= len);
	FUZZ_CHECK(n <= len - err->offset);
	FUZZ_CHECK(n == 0 || memcmp(err->token, spec + err->offset, n) == 0);
}

static void check_rule(const gwf_cls_rule_t *r)
{
	FUZZ_CHECK(r->action == GWF_ACT_FAILOVER || r->action == GWF_ACT_RETRY
			   || r->action == GWF_ACT_STOP);
	FUZZ_CHECK(r->health == GWF_HEALTH_COUNT || r->health == GWF_HEALTH_IGNORE
			   || r->health == GWF_HEALTH_EJECT);
	FUZZ_CHECK(r->retry_after <= 1 && r->is_default <= 1);
	if(r->kind == GWF_MATCH_CODES) {
		FUZZ_CHECK(r->lo >= GWF_CODE_MIN && r->hi <= GWF_CODE_MAX);
		FUZZ_CHECK(r->lo <= r->hi);
	} else {
		FUZZ_CHECK(r->kind == GWF_MATCH_TIMEOUT || r->kind == GWF_MATCH_NOANSWER
				   || r->kind == GWF_MATCH_UNREACHABLE);
		FUZZ_CHECK(r->lo == 0 && r->hi == 0 && r->retry_after == 0);
	}
}

/* Reference: the rule "most specific wins" picks for <f>, or -1. */
static int ref_classify(const gwf_cls_t *c, const gwf_failure_t *f)
{
	const gwf_cls_rule_t *r, *b;
	int best = -1;
	/* a code beyond SIP's range is judged as a 500 of the gateway */
	int code = f->code > 699 ? 500 : f->code;
	unsigned i;

	/* never sent: the unreachable rule, else the timeout rule */
	if(f->unsent) {
		for(i = 0; i < c->n; i++)
			if(c->rules[i].kind == GWF_MATCH_UNREACHABLE)
				return (int)i;
		for(i = 0; i < c->n; i++)
			if(c->rules[i].kind == GWF_MATCH_TIMEOUT)
				return (int)i;
		return -1;
	}
	for(i = 0; i < c->n; i++) {
		r = &c->rules[i];
		if(f->local_timeout) {
			if(r->kind != (f->rang ? GWF_MATCH_NOANSWER : GWF_MATCH_TIMEOUT))
				continue;
		} else if(r->kind != GWF_MATCH_CODES || code < r->lo || code > r->hi
				  || (r->retry_after && f->retry_after_s < 0)) {
			continue;
		}
		if(best < 0) {
			best = (int)i;
			continue;
		}
		b = &c->rules[best];
		/* narrower range; then +retry_after; then the later rule */
		if(r->hi - r->lo < b->hi - b->lo
				|| (r->hi - r->lo == b->hi - b->lo
						&& r->retry_after >= b->retry_after))
			best = (int)i;
	}
	return best;
}

static void check_classify_unsent(const gwf_cls_t *c, int code, int timeout,
		int rang, int retry_after_s, int unsent)
{
	gwf_failure_t f;
	gwf_verdict_t v;
	int want;

	memset(&f, 0, sizeof(f));
	f.code = code;
	f.local_timeout = timeout;
	f.rang = rang;
	f.retry_after_s = retry_after_s;
	f.unsent = unsent;
	v = gwf_cls_classify(c, &f);
	want = ref_classify(c, &f);
	FUZZ_CHECK(v.rule == want);
	if(want < 0) {
		FUZZ_CHECK(v.action == GWF_ACT_STOP && v.health == GWF_HEALTH_IGNORE);
	} else {
		FUZZ_CHECK(v.action == c->rules[want].action);
		FUZZ_CHECK(v.health == c->rules[want].health);
	}
}

static void check_classify(
		const gwf_cls_t *c, int code, int timeout, int rang, int retry_after_s)
{
	check_classify_unsent(c, code, timeout, rang, retry_after_s, 0);
}

static void check_table(const gwf_cls_t *c)
{
	static char all[GWF_CLS_MAX_RULES * (RPC_RULE_BUF + 1)];
	static gwf_cls_t back;
	char buf[RPC_RULE_BUF];
	size_t used = 0;
	unsigned i, j;
	gwf_err_t err;
	int n, d;

	FUZZ_CHECK(c->n <= GWF_CLS_MAX_RULES);
	for(i = 0; i < c->n; i++) {
		check_rule(&c->rules[i]);
		for(j = 0; j < i; j++)
			FUZZ_CHECK(!same_match(&c->rules[i], &c->rules[j]));

		/* formats into the RPC's buffer and parses back alone */
		n = gwf_cls_rule_format(&c->rules[i], buf, sizeof(buf));
		FUZZ_CHECK(n > 0 && (size_t)n < sizeof(buf));
		FUZZ_CHECK((size_t)n == strlen(buf));
		gwf_cls_init(&back, 0);
		FUZZ_CHECK(gwf_cls_parse(&back, buf, (size_t)n, &err) == 0);
		FUZZ_CHECK(back.n == 1 && same_rule(&back.rules[0], &c->rules[i]));
		FUZZ_CHECK(back.rules[0].is_default == 0);

		memcpy(all + used, buf, (size_t)n);
		used += (size_t)n;
		all[used++] = ';';
	}
	/* the whole table, formatted, parses back to the same rules */
	if(c->n > 0) {
		gwf_cls_init(&back, 0);
		FUZZ_CHECK(gwf_cls_parse(&back, all, used, &err) == 0);
		FUZZ_CHECK(back.n == c->n);
		for(i = 0; i < c->n; i++)
			FUZZ_CHECK(same_rule(&back.rules[i], &c->rules[i]));
	}

	/* classification at the edges of every rule */
	check_classify(c, 408, 1, 0, -1);
	check_classify(c, 408, 1, 1, -1);
	/* tm's 503 for a request it could not send, and odd companions */
	check_classify_unsent(c, 503, 0, 0, -1, 1);
	check_classify_unsent(c, 408, 1, 0, -1, 1);
	check_classify_unsent(c, 503, 0, 1, 30, 1);
	for(i = 0; i < c->n; i++) {
		if(c->rules[i].kind != GWF_MATCH_CODES)
			continue;
		for(d = -1; d <= 1; d++) {
			check_classify(c, c->rules[i].lo + d, 0, 0, -1);
			check_classify(c, c->rules[i].lo + d, 0, 0, 0);
			check_classify(c, c->rules[i].hi + d, 0, 0, -1);
			check_classify(c, c->rules[i].hi + d, 0, 0, 120);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gwf_cls_t c, before, again;
	fuzz_in_t in = {data, size};
	uint8_t opt = fuzz_u8(&in);
	char *spec = fuzz_dup((const char *)in.p, in.n);
	size_t len = in.n;
	gwf_err_t err;
	unsigned i;
	int rc;

	gwf_cls_init(&c, opt & 1);
	before = c;
	memset(&err, 0, sizeof(err));
	rc = gwf_cls_parse(&c, spec, len, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if(rc < 0) {
		FUZZ_CHECK(memcmp(&c, &before, sizeof(c)) == 0);
		check_err(&err, spec, len);
		free(spec);
		return 0;
	}

	/* the rules it had are kept or replaced in place; new ones follow */
	FUZZ_CHECK(c.n >= before.n);
	for(i = 0; i < c.n; i++) {
		if(i < before.n && same_rule(&c.rules[i], &before.rules[i])
				&& c.rules[i].is_default == before.rules[i].is_default)
			continue;
		FUZZ_CHECK(c.rules[i].is_default == 0);
		if(i < before.n)
			FUZZ_CHECK(same_match(&c.rules[i], &before.rules[i]));
	}
	check_table(&c);

	/* parsing the same text again changes nothing */
	again = c;
	FUZZ_CHECK(gwf_cls_parse(&again, spec, len, &err) == 0);
	FUZZ_CHECK(again.n == c.n);
	for(i = 0; i < c.n; i++)
		FUZZ_CHECK(same_rule(&again.rules[i], &c.rules[i])
				   && again.rules[i].is_default == c.rules[i].is_default);
	free(spec);
	return 0;
}
