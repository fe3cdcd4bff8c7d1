/*
 * gwfailover - the provisional reply a caller gets once when its call
 * starts to fail over (modparam progress_reply).
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#ifndef GWF_PROGRESS_H
#define GWF_PROGRESS_H

#include <stddef.h>

#include "gwf_types.h"

/* Longest reason phrase, terminating NUL included. */
#define GWF_PROGRESS_REASON_MAX 64

typedef struct gwf_progress
{
	int code; /* 101..199; 0: off */
	char reason[GWF_PROGRESS_REASON_MAX];
} gwf_progress_t;

/* Parse "CODE [REASON]" (for example "180 Ringing", "183") into <p>:
 * CODE 101..199 (not 100: tm sends its own, and a phone shows nothing for
 * it), REASON printable (UTF-8 allowed, no control characters), at most
 * GWF_PROGRESS_REASON_MAX - 1 bytes; without one, the RFC 3261 phrase of
 * 180..183. "" (or blanks only) is off. Returns 0, or -1 with <err>
 * naming the offending token; <p> is then off. */
int gwf_progress_parse(
		const char *s, size_t len, gwf_progress_t *p, gwf_err_t *err);

#endif
