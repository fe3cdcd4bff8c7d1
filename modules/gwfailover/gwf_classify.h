/*
 * gwfailover - reply classification rules: parse and match.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * Grammar (keywords are case-insensitive, blanks around tokens ignored):
 *
 *   spec   := rule { ';' rule } [ ';' ]
 *   rule   := match '=' action [ ',' health ]
 *   match  := 'timeout' | 'noanswer' | 'unreachable'
 *           | codes [ '+retry_after' ]
 *   codes  := NNN | NNN '-' NNN | Dxx            (300 <= code <= 699)
 *   action := 'failover' | 'retry' | 'stop'
 *   health := 'count' | 'ignore' | 'eject'
 *
 * 'timeout' matches a locally generated timeout of a gateway that sent no
 * reply, or only 100 Trying; 'noanswer' a locally generated timeout after a
 * provisional reply other than 100 (the callee rang, nobody answered);
 * 'unreachable' a request tm could not send at all (connection refused or
 * reset, no route, TLS handshake failed: the gateway never got it; without
 * an 'unreachable' rule the 'timeout' rule applies); code rules match only
 * received replies. '+retry_after' restricts a code rule to
 * replies carrying a Retry-After header. Health defaults to 'ignore' for
 * 'stop' and to 'count' otherwise.
 *
 * Most specific rule wins: the narrowest code range; on equal width a
 * '+retry_after' rule beats a plain one; then the rule added last. A rule whose
 * match part equals an existing rule's replaces it in place, so user rules
 * override the defaults one by one.
 */

#ifndef GWF_CLASSIFY_H
#define GWF_CLASSIFY_H

#include "gwf_types.h"

#define GWF_CLS_MAX_RULES 64
#define GWF_CODE_MIN 300
#define GWF_CODE_MAX 699

typedef enum gwf_match_kind
{
	GWF_MATCH_CODES = 0,  /* received reply with lo <= code <= hi */
	GWF_MATCH_TIMEOUT,	  /* local timeout, the gateway sent nothing or 100 */
	GWF_MATCH_NOANSWER,	  /* local timeout after the callee rang */
	GWF_MATCH_UNREACHABLE /* the request could not be sent at all */
} gwf_match_kind_t;

typedef struct gwf_cls_rule
{
	gwf_match_kind_t kind;
	uint16_t lo, hi;	 /* inclusive code range, kind CODES only */
	uint8_t retry_after; /* 1: only replies carrying Retry-After */
	uint8_t is_default;	 /* 1: from the built-in table */
	gwf_action_t action;
	gwf_health_t health;
} gwf_cls_rule_t;

typedef struct gwf_cls
{
	unsigned n;
	gwf_cls_rule_t rules[GWF_CLS_MAX_RULES];
} gwf_cls_t;

typedef struct gwf_verdict
{
	gwf_action_t action;
	gwf_health_t health;
	int rule; /* index in gwf_cls_t.rules; -1: nothing matched (fallback) */
} gwf_verdict_t;

/* The rules of the built-in table, in gwf_cls_parse() syntax; documented in
 * the module manual. */
extern const char gwf_cls_default_spec[];

/* Reset <c> to no rules, or to the built-in table if <with_defaults>. */
void gwf_cls_init(gwf_cls_t *c, int with_defaults);

/* Parse <spec> (<len> bytes, need not be NUL-terminated) and add its rules to
 * <c>. All or nothing: on error <c> is unchanged and <err> says which token at
 * which offset is wrong. A spec without any rule is an error.
 * Returns 0 on success, -1 on error. */
int gwf_cls_parse(gwf_cls_t *c, const char *spec, size_t len, gwf_err_t *err);

/* A final reply code beyond SIP's 699: Kamailio's parser takes any three
 * digits, and broken carrier equipment sends such codes. No caller can use
 * one, so it is classified as this code from the gateway (by default: fail
 * over, counted), and never relayed (gwf_cls_relayable()). */
#define GWF_CLS_CODE_MAX 699
#define GWF_CLS_CODE_INVALID_AS 500

/* May final reply code <code> go to the caller as it is? (100-699) */
int gwf_cls_relayable(int code);

/* Classify one failure. Nothing matching yields {STOP, IGNORE, rule -1}: an
 * unknown failure goes upstream and is not held against the gateway. */
gwf_verdict_t gwf_cls_classify(const gwf_cls_t *c, const gwf_failure_t *f);

/* Write rule <r> in gwf_cls_parse() syntax (e.g. "503+retry_after=failover,
 * eject") into <buf>. Returns the length written (snprintf semantics). */
int gwf_cls_rule_format(const gwf_cls_rule_t *r, char *buf, size_t size);

const char *gwf_action_name(gwf_action_t a);
const char *gwf_health_name(gwf_health_t h);

#endif
