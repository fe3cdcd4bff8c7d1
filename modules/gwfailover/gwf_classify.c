/*
 * gwfailover - reply classification rules: parse and match.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <stdio.h>
#include <string.h>

#include "gwf_classify.h"

/* Documented in the module manual: keep both in step. */
const char gwf_cls_default_spec[] =
		"timeout=failover,count; 408=failover,count; 500=failover,count; "
		"502=failover,count; 503=failover,count; 504=failover,count; "
		"503+retry_after=failover,eject; 480=failover,ignore; "
		"401=stop,ignore; 403=stop,ignore; 404=stop,ignore; "
		"407=stop,ignore; 484=stop,ignore; 486=stop,ignore; "
		"487=stop,ignore; 600=stop,ignore; 603=stop,ignore; "
		"604=stop,ignore; 606=stop,ignore; 3xx=stop,ignore; "
		"4xx=stop,ignore; 5xx=failover,ignore; 6xx=stop,ignore; "
		"noanswer=stop,ignore; unreachable=failover,eject";

/* A byte range [b, e) of the input; offsets are from the start of the spec
 * so errors can point into what the user wrote. */
typedef struct gwf_span
{
	size_t b, e;
} gwf_span_t;

/* Blanks include CR/LF: a long spec may be written over several lines. */
static int gwf_is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static gwf_span_t gwf_trim(const char *s, size_t b, size_t e)
{
	gwf_span_t sp;

	while(b < e && gwf_is_blank(s[b]))
		b++;
	while(e > b && gwf_is_blank(s[e - 1]))
		e--;
	sp.b = b;
	sp.e = e;
	return sp;
}

/* ASCII only, on purpose: tolower() would depend on the process locale. */
static char gwf_lower(char ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static int gwf_span_is(const char *s, gwf_span_t sp, const char *kw)
{
	size_t n = strlen(kw);
	size_t i;

	if(sp.e - sp.b != n)
		return 0;
	for(i = 0; i < n; i++) {
		if(gwf_lower(s[sp.b + i]) != kw[i])
			return 0;
	}
	return 1;
}

static int gwf_span_find(const char *s, gwf_span_t sp, char ch, size_t *pos)
{
	size_t i;

	for(i = sp.b; i < sp.e; i++) {
		if(s[i] == ch) {
			*pos = i;
			return 1;
		}
	}
	return 0;
}

static int gwf_fail(
		gwf_err_t *err, const char *s, gwf_span_t sp, const char *msg)
{
	size_t n;

	if(err == NULL)
		return -1;
	n = sp.e - sp.b;
	if(n > sizeof(err->token) - 1)
		n = sizeof(err->token) - 1;
	if(n > 0)
		memcpy(err->token, s + sp.b, n);
	err->token[n] = '\0';
	err->offset = sp.b;
	err->msg = msg;
	return -1;
}

/* One code of a rule: exactly three digits, 300-699. Counting digits instead
 * of accumulating a value keeps overlong numbers from overflowing. */
static int gwf_parse_code(
		const char *s, gwf_span_t sp, uint16_t *code, gwf_err_t *err)
{
	size_t i;
	unsigned v = 0;

	if(sp.b == sp.e)
		return gwf_fail(err, s, sp, "bad code");
	for(i = sp.b; i < sp.e; i++) {
		if(s[i] < '0' || s[i] > '9')
			return gwf_fail(err, s, sp, "bad code");
	}
	if(sp.e - sp.b != 3)
		return gwf_fail(err, s, sp, "code out of range 300-699");
	for(i = sp.b; i < sp.e; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if(v < GWF_CODE_MIN || v > GWF_CODE_MAX)
		return gwf_fail(err, s, sp, "code out of range 300-699");
	*code = (uint16_t)v;
	return 0;
}

/* codes := NNN | NNN '-' NNN | Dxx */
static int gwf_parse_codes(
		const char *s, gwf_span_t sp, gwf_cls_rule_t *r, gwf_err_t *err)
{
	gwf_span_t l, h;
	size_t dash;
	unsigned d;

	if(sp.e - sp.b == 3 && s[sp.b] >= '0' && s[sp.b] <= '9'
			&& gwf_lower(s[sp.b + 1]) == 'x' && gwf_lower(s[sp.b + 2]) == 'x') {
		d = (unsigned)(s[sp.b] - '0');
		if(d < GWF_CODE_MIN / 100 || d > GWF_CODE_MAX / 100)
			return gwf_fail(err, s, sp, "code out of range 300-699");
		r->lo = (uint16_t)(d * 100);
		r->hi = (uint16_t)(d * 100 + 99);
		return 0;
	}
	if(!gwf_span_find(s, sp, '-', &dash)) {
		if(gwf_parse_code(s, sp, &r->lo, err) < 0)
			return -1;
		r->hi = r->lo;
		return 0;
	}
	l = gwf_trim(s, sp.b, dash);
	h = gwf_trim(s, dash + 1, sp.e);
	/* "500-" or "-500": the whole range is the offending token, an empty
	 * side would point at nothing. */
	if(l.b == l.e || h.b == h.e)
		return gwf_fail(err, s, sp, "incomplete code range");
	if(gwf_parse_code(s, l, &r->lo, err) < 0
			|| gwf_parse_code(s, h, &r->hi, err) < 0)
		return -1;
	if(r->lo > r->hi)
		return gwf_fail(err, s, sp, "range start above end");
	return 0;
}

/* The keyword match kinds: one rule each per table. */
static int gwf_keyword_kind(
		const char *s, gwf_span_t sp, gwf_match_kind_t *kind)
{
	if(gwf_span_is(s, sp, "timeout"))
		*kind = GWF_MATCH_TIMEOUT;
	else if(gwf_span_is(s, sp, "noanswer"))
		*kind = GWF_MATCH_NOANSWER;
	else if(gwf_span_is(s, sp, "unreachable"))
		*kind = GWF_MATCH_UNREACHABLE;
	else
		return 0;
	return 1;
}

/* match := 'timeout' | 'noanswer' | 'unreachable' | codes [ '+retry_after' ]
 */
static int gwf_parse_match(
		const char *s, gwf_span_t sp, gwf_cls_rule_t *r, gwf_err_t *err)
{
	gwf_span_t base = sp, mod;
	gwf_match_kind_t kind;
	size_t plus;

	r->retry_after = 0;
	if(gwf_span_find(s, sp, '+', &plus)) {
		base = gwf_trim(s, sp.b, plus);
		mod = gwf_trim(s, plus, sp.e);
		/* "+503": a sign is not part of the grammar; report the whole
		 * match rather than a bogus modifier. */
		if(base.b == base.e)
			return gwf_fail(err, s, sp, "bad code");
		if(!gwf_span_is(s, mod, "+retry_after"))
			return gwf_fail(err, s, mod, "expected '+retry_after'");
		if(gwf_span_is(s, base, "timeout"))
			return gwf_fail(
					err, s, mod, "'+retry_after' not allowed with 'timeout'");
		if(gwf_span_is(s, base, "noanswer"))
			return gwf_fail(
					err, s, mod, "'+retry_after' not allowed with 'noanswer'");
		if(gwf_span_is(s, base, "unreachable"))
			return gwf_fail(err, s, mod,
					"'+retry_after' not allowed with 'unreachable'");
		r->retry_after = 1;
	}
	if(gwf_keyword_kind(s, base, &kind)) {
		r->kind = kind;
		r->lo = 0;
		r->hi = 0;
		return 0;
	}
	r->kind = GWF_MATCH_CODES;
	return gwf_parse_codes(s, base, r, err);
}

static int gwf_same_match(const gwf_cls_rule_t *a, const gwf_cls_rule_t *b)
{
	if(a->kind != b->kind)
		return 0;
	if(a->kind != GWF_MATCH_CODES)
		return 1;
	return a->lo == b->lo && a->hi == b->hi && a->retry_after == b->retry_after;
}

/* rule := match '=' action [ ',' health ] */
static int gwf_parse_rule(
		const char *s, gwf_span_t sp, gwf_cls_rule_t *r, gwf_err_t *err)
{
	gwf_span_t m, a, h, rest;
	size_t eq, c1 = 0, c2 = 0;
	int has_health;

	if(!gwf_span_find(s, sp, '=', &eq))
		return gwf_fail(err, s, sp, "expected '='");
	m = gwf_trim(s, sp.b, eq);
	if(m.b == m.e) {
		m.b = eq;
		m.e = eq + 1;
		return gwf_fail(err, s, m, "missing code before '='");
	}
	if(gwf_parse_match(s, m, r, err) < 0)
		return -1;

	rest.b = eq + 1;
	rest.e = sp.e;
	has_health = gwf_span_find(s, rest, ',', &c1);
	a = gwf_trim(s, rest.b, has_health ? c1 : rest.e);
	if(a.b == a.e)
		return gwf_fail(err, s, a, "missing action");
	if(gwf_span_is(s, a, "failover"))
		r->action = GWF_ACT_FAILOVER;
	else if(gwf_span_is(s, a, "retry"))
		r->action = GWF_ACT_RETRY;
	else if(gwf_span_is(s, a, "stop"))
		r->action = GWF_ACT_STOP;
	else
		return gwf_fail(err, s, a, "unknown action");

	if(!has_health) {
		r->health = (r->action == GWF_ACT_STOP) ? GWF_HEALTH_IGNORE
												: GWF_HEALTH_COUNT;
		return 0;
	}
	rest.b = c1 + 1;
	if(gwf_span_find(s, rest, ',', &c2)) {
		rest = gwf_trim(s, c2, sp.e);
		return gwf_fail(err, s, rest, "trailing characters");
	}
	h = gwf_trim(s, rest.b, rest.e);
	if(h.b == h.e)
		return gwf_fail(err, s, h, "missing health effect");
	if(gwf_span_is(s, h, "count"))
		r->health = GWF_HEALTH_COUNT;
	else if(gwf_span_is(s, h, "ignore"))
		r->health = GWF_HEALTH_IGNORE;
	else if(gwf_span_is(s, h, "eject"))
		r->health = GWF_HEALTH_EJECT;
	else
		return gwf_fail(err, s, h, "unknown health effect");
	return 0;
}

static int gwf_cls_parse_into(gwf_cls_t *c, const char *spec, size_t len,
		int is_default, gwf_err_t *err)
{
	gwf_cls_t tmp;
	gwf_cls_rule_t r;
	gwf_span_t all, seg;
	size_t pos = 0, end, k;
	unsigned i, added = 0;

	if(spec == NULL)
		len = 0;
	all = gwf_trim(spec, 0, len);
	if(all.b == all.e) {
		/* Blank input: point at its start, not past the blanks. */
		all.b = all.e = 0;
		return gwf_fail(err, spec, all, "empty rule list");
	}
	for(k = all.b; k < all.e; k++) {
		if(spec[k] != ';' && !gwf_is_blank(spec[k]))
			break;
	}
	if(k == all.e)
		return gwf_fail(err, spec, all, "empty rule list");

	/* All or nothing: work on a copy, commit only when every rule is
	 * good. */
	tmp = *c;
	while(pos < len) {
		end = pos;
		while(end < len && spec[end] != ';')
			end++;
		seg = gwf_trim(spec, pos, end);
		if(seg.b == seg.e) {
			/* Only one trailing ';' (plus blanks) is allowed. */
			if(end == len && added > 0)
				break;
			seg.b = end;
			seg.e = end < len ? end + 1 : end;
			return gwf_fail(err, spec, seg, "empty rule");
		}
		memset(&r, 0, sizeof(r));
		if(gwf_parse_rule(spec, seg, &r, err) < 0)
			return -1;
		r.is_default = (uint8_t)(is_default ? 1 : 0);
		for(i = 0; i < tmp.n; i++) {
			if(gwf_same_match(&tmp.rules[i], &r))
				break;
		}
		if(i == tmp.n) {
			if(tmp.n >= GWF_CLS_MAX_RULES)
				return gwf_fail(err, spec, seg, "too many rules");
			tmp.n++;
		}
		tmp.rules[i] = r;
		added++;
		pos = end + 1;
	}
	*c = tmp;
	return 0;
}

void gwf_cls_init(gwf_cls_t *c, int with_defaults)
{
	memset(c, 0, sizeof(*c));
	/* Parsing the documented text (rather than keeping a second, binary
	 * table) guarantees the manual and the behaviour agree. It cannot fail:
	 * the unit tests check every default rule. */
	if(with_defaults)
		(void)gwf_cls_parse_into(c, gwf_cls_default_spec,
				sizeof(gwf_cls_default_spec) - 1, 1, NULL);
}

int gwf_cls_parse(gwf_cls_t *c, const char *spec, size_t len, gwf_err_t *err)
{
	return gwf_cls_parse_into(c, spec, len, 0, err);
}

/* Nonzero if <a> is more specific than <b>, the current best, which was added
 * earlier (lower index): ties go to <a>, the rule added last. */
static int gwf_more_specific(const gwf_cls_rule_t *a, const gwf_cls_rule_t *b)
{
	unsigned wa = (unsigned)(a->hi - a->lo);
	unsigned wb = (unsigned)(b->hi - b->lo);

	if(wa != wb)
		return wa < wb;
	return a->retry_after >= b->retry_after;
}

int gwf_cls_relayable(int code)
{
	return code >= 100 && code <= GWF_CLS_CODE_MAX;
}

/* The rule of keyword kind <kind> (at most one per table), or -1. */
static int gwf_cls_keyword_rule(const gwf_cls_t *c, gwf_match_kind_t kind)
{
	unsigned i;

	for(i = 0; i < c->n; i++)
		if(c->rules[i].kind == kind)
			return (int)i;
	return -1;
}

gwf_verdict_t gwf_cls_classify(const gwf_cls_t *c, const gwf_failure_t *f)
{
	gwf_verdict_t v;
	const gwf_cls_rule_t *r;
	int best = -1;
	int code = f->code;
	unsigned i;

	if(!f->local_timeout && code > GWF_CLS_CODE_MAX)
		code = GWF_CLS_CODE_INVALID_AS;

	if(f->unsent) {
		/* never delivered: what tm made up says nothing of the gateway */
		best = gwf_cls_keyword_rule(c, GWF_MATCH_UNREACHABLE);
		if(best < 0)
			best = gwf_cls_keyword_rule(c, GWF_MATCH_TIMEOUT);
	} else if(f->local_timeout) {
		best = gwf_cls_keyword_rule(
				c, f->rang ? GWF_MATCH_NOANSWER : GWF_MATCH_TIMEOUT);
	}
	for(i = 0; i < c->n && !f->unsent && !f->local_timeout; i++) {
		r = &c->rules[i];
		if(r->kind != GWF_MATCH_CODES || code < r->lo || code > r->hi)
			continue;
		/* Retry-After: 0 still carries the header. */
		if(r->retry_after && f->retry_after_s < 0)
			continue;
		if(best < 0 || gwf_more_specific(r, &c->rules[best]))
			best = (int)i;
	}
	if(best < 0) {
		v.action = GWF_ACT_STOP;
		v.health = GWF_HEALTH_IGNORE;
		v.rule = -1;
		return v;
	}
	v.action = c->rules[best].action;
	v.health = c->rules[best].health;
	v.rule = best;
	return v;
}

int gwf_cls_rule_format(const gwf_cls_rule_t *r, char *buf, size_t size)
{
	char m[16];

	if(r->kind == GWF_MATCH_TIMEOUT)
		snprintf(m, sizeof(m), "timeout");
	else if(r->kind == GWF_MATCH_NOANSWER)
		snprintf(m, sizeof(m), "noanswer");
	else if(r->kind == GWF_MATCH_UNREACHABLE)
		snprintf(m, sizeof(m), "unreachable");
	else if(r->lo == r->hi)
		snprintf(m, sizeof(m), "%u", (unsigned)r->lo);
	else if(r->lo % 100 == 0 && r->hi == r->lo + 99)
		snprintf(m, sizeof(m), "%uxx", (unsigned)(r->lo / 100));
	else
		snprintf(m, sizeof(m), "%u-%u", (unsigned)r->lo, (unsigned)r->hi);
	return snprintf(buf, size, "%s%s=%s,%s", m,
			r->retry_after ? "+retry_after" : "", gwf_action_name(r->action),
			gwf_health_name(r->health));
}

const char *gwf_action_name(gwf_action_t a)
{
	switch(a) {
		case GWF_ACT_FAILOVER:
			return "failover";
		case GWF_ACT_RETRY:
			return "retry";
		case GWF_ACT_STOP:
			return "stop";
	}
	return "unknown";
}

const char *gwf_health_name(gwf_health_t h)
{
	switch(h) {
		case GWF_HEALTH_COUNT:
			return "count";
		case GWF_HEALTH_IGNORE:
			return "ignore";
		case GWF_HEALTH_EJECT:
			return "eject";
	}
	return "unknown";
}
