/*
 * gwfailover - the provisional reply a caller gets once when its call
 * starts to fail over.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <string.h>

#include "gwf_progress.h"

/* <p> off, and <err> naming the problem. */
static int gwf_progress_err(gwf_progress_t *p, gwf_err_t *err, const char *msg,
		const char *s, size_t b, size_t n)
{
	p->code = 0;
	p->reason[0] = '\0';
	return gwf_err_at(err, msg, s, b, n);
}

/* The RFC 3261 (21.1) phrase of <code>, or NULL. */
static const char *gwf_progress_phrase(int code)
{
	switch(code) {
		case 180:
			return "Ringing";
		case 181:
			return "Call Is Being Forwarded";
		case 182:
			return "Queued";
		case 183:
			return "Session Progress";
		default:
			return NULL;
	}
}

int gwf_progress_parse(
		const char *s, size_t len, gwf_progress_t *p, gwf_err_t *err)
{
	size_t b = 0, e, i;
	const char *phrase;

	p->code = 0;
	p->reason[0] = '\0';
	if(s == NULL)
		len = 0;
	while(b < len && (s[b] == ' ' || s[b] == '\t'))
		b++;
	while(len > b && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if(b == len)
		return 0; /* off */
	for(e = b; e < len && s[e] != ' ' && s[e] != '\t'; e++)
		;
	if(e - b != 3 || s[b] != '1' || s[b + 1] < '0' || s[b + 1] > '9'
			|| s[b + 2] < '0' || s[b + 2] > '9')
		return gwf_progress_err(p, err,
				"expected a provisional code 101..199 first", s, b, e - b);
	p->code = (s[b + 1] - '0') * 10 + (s[b + 2] - '0') + 100;
	if(p->code == 100)
		return gwf_progress_err(p, err,
				"100 Trying is tm's own and shows nothing on a phone: use"
				" 180 or 183",
				s, b, 3);
	while(e < len && (s[e] == ' ' || s[e] == '\t'))
		e++;
	if(e == len) {
		phrase = gwf_progress_phrase(p->code);
		if(phrase == NULL)
			return gwf_progress_err(
					p, err, "a reason phrase is needed for this code", s, b, 3);
		memcpy(p->reason, phrase, strlen(phrase) + 1);
		return 0;
	}
	if(len - e > GWF_PROGRESS_REASON_MAX - 1)
		return gwf_progress_err(
				p, err, "reason phrase too long (at most 63 bytes)", s, e, 16);
	for(i = e; i < len; i++) {
		if((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return gwf_progress_err(
					p, err, "control character in the reason phrase", s, i, 1);
	}
	memcpy(p->reason, s + e, len - e);
	p->reason[len - e] = '\0';
	return 0;
}
