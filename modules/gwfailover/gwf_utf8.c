/*
 * gwfailover - making text well-formed UTF-8 for the webhook bodies.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "gwf_utf8.h"

size_t gwf_utf8_seq(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t k, len;

	if(n == 0)
		return 0;
	if(u[0] < 0x80)
		return 1;
	/* Unicode table 3-7, well-formed byte sequences */
	if(u[0] >= 0xc2 && u[0] <= 0xdf)
		len = 2;
	else if(u[0] >= 0xe0 && u[0] <= 0xef)
		len = 3;
	else if(u[0] >= 0xf0 && u[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if(n < len)
		return 0;
	if(u[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if(u[0] == 0xed)
		hi = 0x9f; /* UTF-16 surrogates */
	else if(u[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if(u[0] == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if(u[1] < lo || u[1] > hi)
		return 0;
	for(k = 2; k < len; k++) {
		if(u[k] < 0x80 || u[k] > 0xbf)
			return 0;
	}
	return len;
}

size_t gwf_utf8_clean(const char *in, char *out, size_t size)
{
	static const char repl[3] = {'\xef', '\xbf', '\xbd'}; /* U+FFFD */
	size_t left = strlen(in), n = 0, k;
	const char *from;

	if(size == 0)
		return 0;
	while(left > 0) {
		k = gwf_utf8_seq(in, left);
		from = in;
		in += k ? k : 1;
		left -= k ? k : 1;
		if(k == 0) {
			from = repl;
			k = sizeof(repl);
		}
		if(k > size - 1 - n)
			break;
		memcpy(out + n, from, k);
		n += k;
	}
	out[n] = '\0';
	return n;
}
