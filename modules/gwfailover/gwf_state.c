/*
 * gwfailover - the state file: format and parser.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gwf_state.h"

/* In gwf_why_t order; written to and read from the file, so a name never
 * changes once released. */
static const char *const gwf_state_whys[] = {"none", "faults", "retry_after",
		"eject_rule", "trial_failed", "manual_eject", "time_over", "ds_active",
		"trial_ok", "manual_restore", "silent", "ds_removed", "ds_back",
		"trial_silent", "unreachable"};

#define GWF_STATE_NWHY (sizeof(gwf_state_whys) / sizeof(gwf_state_whys[0]))

const char *gwf_state_why_name(gwf_why_t why)
{
	return (unsigned)why < GWF_STATE_NWHY ? gwf_state_whys[why] : "none";
}

int gwf_state_format_header(char *buf, size_t size)
{
	return snprintf(buf, size, "%s %d\n", GWF_STATE_MAGIC, GWF_STATE_VERSION);
}

int gwf_state_format_ent(const gwf_state_ent_t *e, char *buf, size_t size)
{
	return snprintf(buf, size,
			"gw set=%d uri=%.*s state=%s until=%" PRIu64 " mult=%" PRIu32
			" manual=%u why=%s code=%d arg=%" PRIu32 "\n",
			e->set_id, (int)e->uri_len, e->uri,
			e->half_open ? "half-open" : "open", e->until_ms, e->mult,
			(unsigned)(e->manual != 0), gwf_state_why_name(e->why), e->code,
			e->arg);
}

int gwf_state_format_end(unsigned count, char *buf, size_t size)
{
	return snprintf(buf, size, "end count=%u\n", count);
}

/* Unsigned decimal <s> (<n> bytes, no sign, no blanks) not above <max>
 * into <out>. 0 or -1. */
static int gwf_state_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if(n == 0 || n > 20)
		return -1;
	for(i = 0; i < n; i++) {
		if(s[i] < '0' || s[i] > '9')
			return -1;
		if(v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int gwf_state_is(const char *s, size_t n, const char *kw)
{
	return strlen(kw) == n && memcmp(s, kw, n) == 0;
}

/* The gw line <s> (<n> bytes, no '\n') into <e>. NULL, or what is wrong
 * (with <bad> pointing at it). */
static const char *gwf_state_parse_gw(
		const char *s, size_t n, gwf_state_ent_t *e, const char **bad)
{
	static const char *const keys[] = {"set", "uri", "state", "until", "mult",
			"manual", "why", "code", "arg"};
	size_t b = 3, w, eq; /* after "gw " */
	unsigned seen = 0, k;
	uint64_t v;
	unsigned i;
	const char *key, *val;
	size_t klen, vlen;

	memset(e, 0, sizeof(*e));
	while(b < n) {
		for(w = b; w < n && s[w] != ' '; w++)
			;
		for(eq = b; eq < w && s[eq] != '='; eq++)
			;
		*bad = s + b;
		if(w == b)
			return "two blanks in a row";
		if(eq == w || eq == b)
			return "expected key=value";
		key = s + b;
		klen = eq - b;
		val = s + eq + 1;
		vlen = w - eq - 1;
		for(k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if(gwf_state_is(key, klen, keys[k]))
				break;
		if(k < sizeof(keys) / sizeof(keys[0])) {
			if(seen & (1u << k))
				return "key given twice";
			seen |= 1u << k;
		}
		if(gwf_state_is(key, klen, "set")) {
			if(gwf_state_u64(val, vlen, INT32_MAX, &v) < 0)
				return "bad set";
			e->set_id = (int)v;
		} else if(gwf_state_is(key, klen, "uri")) {
			if(vlen == 0 || vlen > GWF_URI_MAX)
				return "empty or too long uri";
			for(i = 0; i < vlen; i++)
				if((unsigned char)val[i] <= 0x20
						|| (unsigned char)val[i] == 0x7f)
					return "control character in uri";
			memcpy(e->uri, val, vlen);
			e->uri[vlen] = '\0';
			e->uri_len = (uint16_t)vlen;
		} else if(gwf_state_is(key, klen, "state")) {
			if(gwf_state_is(val, vlen, "open"))
				e->half_open = 0;
			else if(gwf_state_is(val, vlen, "half-open"))
				e->half_open = 1;
			else
				return "state is neither open nor half-open";
		} else if(gwf_state_is(key, klen, "until")) {
			if(gwf_state_u64(val, vlen, UINT64_MAX, &e->until_ms) < 0)
				return "bad until";
		} else if(gwf_state_is(key, klen, "mult")) {
			if(gwf_state_u64(val, vlen, UINT32_MAX, &v) < 0)
				return "bad mult";
			e->mult = (uint32_t)v;
		} else if(gwf_state_is(key, klen, "manual")) {
			if(!gwf_state_is(val, vlen, "0") && !gwf_state_is(val, vlen, "1"))
				return "manual is neither 0 nor 1";
			e->manual = val[0] == '1';
		} else if(gwf_state_is(key, klen, "why")) {
			/* a name this version does not know reads as none */
			e->why = GWF_WHY_NONE;
			for(i = 0; i < GWF_STATE_NWHY; i++)
				if(gwf_state_is(val, vlen, gwf_state_whys[i]))
					e->why = (gwf_why_t)i;
		} else if(gwf_state_is(key, klen, "code")) {
			if(gwf_state_u64(val, vlen, 999, &v) < 0)
				return "bad code";
			e->code = (int)v;
		} else if(gwf_state_is(key, klen, "arg")) {
			if(gwf_state_u64(val, vlen, UINT32_MAX, &v) < 0)
				return "bad arg";
			e->arg = (uint32_t)v;
		}
		/* other keys: a newer version's, skipped */
		b = w + 1;
		if(w + 1 == n) {
			*bad = s + w;
			return "blank at the end of the line";
		}
	}
	*bad = s;
	if((seen & 7u) != 7u) /* set, uri, state */
		return "gw line without set, uri or state";
	if(!e->half_open && e->until_ms == 0)
		return "open gw line without until";
	return NULL;
}

/* One pass over the file; calls <cb> per gw line when not NULL. */
static int gwf_state_pass(const char *data, size_t len,
		void (*cb)(void *arg, const gwf_state_ent_t *e), void *arg,
		unsigned *version, gwf_err_t *err)
{
	size_t b = 0, e, hl = sizeof(GWF_STATE_MAGIC) - 1;
	gwf_state_ent_t ent;
	const char *why, *bad;
	unsigned count = 0;
	uint64_t v;
	int ended = 0;

	*version = 0;
	/* the header: magic, one blank, a version */
	for(e = 0; e < len && data[e] != '\n'; e++)
		;
	if(e == len || e < hl + 2 || memcmp(data, GWF_STATE_MAGIC, hl) != 0
			|| data[hl] != ' ')
		return gwf_err_at(
				err, "not a gwfailover state file", data, 0, e < 40 ? e : 40);
	if(gwf_state_u64(data + hl + 1, e - hl - 1, 1000000, &v) < 0 || v == 0)
		return gwf_err_at(
				err, "bad version in the header", data, hl + 1, e - hl - 1);
	*version = (unsigned)v;
	for(b = e + 1; b < len; b = e + 1) {
		for(e = b; e < len && data[e] != '\n'; e++)
			;
		if(e == len)
			return gwf_err_at(
					err, "truncated: last line has no newline", data, b, e - b);
		if(ended)
			return gwf_err_at(err, "data after the end line", data, b, e - b);
		if(e - b > GWF_STATE_LINE_MAX)
			return gwf_err_at(err, "line too long", data, b, 16);
		if(e - b >= 3 && memcmp(data + b, "gw ", 3) == 0) {
			why = gwf_state_parse_gw(data + b, e - b, &ent, &bad);
			if(why != NULL)
				return gwf_err_at(err, why, data, (size_t)(bad - data),
						e - (size_t)(bad - data));
			count++;
			if(cb != NULL)
				cb(arg, &ent);
		} else if(e - b > 10 && memcmp(data + b, "end count=", 10) == 0) {
			if(gwf_state_u64(data + b + 10, e - b - 10, UINT32_MAX, &v) < 0
					|| v != count)
				return gwf_err_at(err,
						"end line does not match the number of gw lines", data,
						b, e - b);
			ended = 1;
		} else {
			return gwf_err_at(err, "unknown line", data, b, e - b);
		}
	}
	if(!ended)
		return gwf_err_at(err, "truncated: no end line", data, len, 0);
	return (int)count;
}

int gwf_state_parse(const char *data, size_t len,
		void (*cb)(void *arg, const gwf_state_ent_t *e), void *arg,
		unsigned *version, gwf_err_t *err)
{
	int n;

	if(data == NULL) {
		*version = 0;
		return gwf_err_plain(err, "no data");
	}
	n = gwf_state_pass(data, len, NULL, NULL, version, err);
	if(n < 0 || cb == NULL)
		return n;
	return gwf_state_pass(data, len, cb, arg, version, err);
}
