/*
 * gwfailover - the few SIP message reads the core needs, on raw bytes.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "gwf_sipmsg.h"

static int gwf_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Does the line [p, end) name header <name> (lowercase)? On success
 * *value points just after the ':'. */
static int gwf_is_header(
		const char *p, const char *end, const char *name, const char **value)
{
	while(*name != '\0') {
		if(p >= end || gwf_lower((unsigned char)*p) != *name)
			return 0;
		p++;
		name++;
	}
	while(p < end && (*p == ' ' || *p == '\t'))
		p++;
	if(p >= end || *p != ':')
		return 0;
	*value = p + 1;
	return 1;
}

int gwf_sip_retry_after(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *eol, *v;
	int first = 1;
	uint64_t secs;

	if(buf == NULL)
		return -1;
	while(p < end) {
		for(eol = p; eol < end && *eol != '\n'; eol++)
			;
		/* the line is [p, eol) without a trailing CR */
		{
			const char *le = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;

			if(le == p && !first)
				return -1; /* end of headers */
			if(!first && gwf_is_header(p, le, "retry-after", &v)) {
				while(v < le && (*v == ' ' || *v == '\t'))
					v++;
				if(v >= le || *v < '0' || *v > '9')
					return -1;
				for(secs = 0; v < le && *v >= '0' && *v <= '9'; v++) {
					secs = secs * 10 + (uint64_t)(*v - '0');
					if(secs > GWF_RETRY_AFTER_MAX_S)
						secs = GWF_RETRY_AFTER_MAX_S;
				}
				return (int)secs;
			}
		}
		first = 0;
		p = eol + 1;
	}
	return -1;
}
