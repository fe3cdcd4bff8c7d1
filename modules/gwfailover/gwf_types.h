/*
 * gwfailover - shared types of the Kamailio-independent core.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio.
 *
 * gwfailover is free software; you can redistribute it and/or modify it
 * under the terms of the GNU General Public License as published by the Free
 * Software Foundation; either version 2 of the License, or (at your option)
 * any later version, with the OpenSSL exception as in Kamailio's COPYING.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#ifndef GWF_TYPES_H
#define GWF_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A parse/validation error: what is wrong and where. Filled by the core
 * parsers, printed by the glue together with the whole input. */
typedef struct gwf_err
{
	size_t offset;	 /* byte offset of the offending token in the input */
	const char *msg; /* static text describing the problem */
	char token[48];	 /* the offending token, NUL-terminated, truncated */
} gwf_err_t;

/* Fill <err> (if not NULL) for a problem that has no token, such as a bad
 * combination of settings. Returns -1, so callers can return it. */
static inline int gwf_err_plain(gwf_err_t *err, const char *msg)
{
	if(err != NULL) {
		err->offset = 0;
		err->msg = msg;
		err->token[0] = '\0';
	}
	return -1;
}

/* Fill <err> (if not NULL) for a problem at byte <at> of <s>, naming the
 * <n> bytes there (cut to fit the token). Returns -1, so callers can
 * return it. */
static inline int gwf_err_at(
		gwf_err_t *err, const char *msg, const char *s, size_t at, size_t n)
{
	if(err != NULL) {
		err->offset = at;
		err->msg = msg;
		if(n > sizeof(err->token) - 1)
			n = sizeof(err->token) - 1;
		if(n > 0)
			memcpy(err->token, s + at, n);
		err->token[n] = '\0';
	}
	return -1;
}

/* What to do with the call after a failed attempt. */
/* Is <s> (<len> bytes) the lower-case keyword <kw>, in any case? ASCII
 * only, on purpose: tolower() would depend on the process locale. */
static inline int gwf_eq_nocase(const char *s, size_t len, const char *kw)
{
	size_t i;
	char ch;

	if(strlen(kw) != len)
		return 0;
	for(i = 0; i < len; i++) {
		ch = s[i];
		if(ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if(ch != kw[i])
			return 0;
	}
	return 1;
}

typedef enum gwf_action
{
	GWF_ACT_FAILOVER = 0, /* next healthy gateway of the set */
	GWF_ACT_RETRY,		  /* the same gateway again */
	GWF_ACT_STOP		  /* no further attempt: the failure goes upstream */
} gwf_action_t;

/* What the failure means for the gateway's health. */
typedef enum gwf_health
{
	GWF_HEALTH_COUNT = 0, /* one consecutive fault towards the threshold */
	GWF_HEALTH_IGNORE,	  /* not the gateway's fault (e.g. callee busy) */
	GWF_HEALTH_EJECT	  /* eject at once (e.g. 503 with Retry-After) */
} gwf_health_t;

/* One failed attempt, as seen in failure_route. */
typedef struct gwf_failure
{
	int code;		   /* final reply code; 408 for a local timeout */
	int local_timeout; /* 1: no final reply received, tm generated the 408 */
	int rang;		   /* 1: a provisional reply other than 100 came before:
						* a local timeout then means the callee rang and
						* nobody answered, not a silent gateway */
	int retry_after_s; /* Retry-After seconds of the reply; -1: none */
	int unsent;		   /* 1: the request never left: tm could not send it
						* (connection refused or reset, no route, TLS
						* handshake failed); <code> is tm's local one */
} gwf_failure_t;

#endif
