/*
 * gwfailover - ejection triggers and the dry-run list.
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

#include "gwf_trigger.h"

static const char *const gwf_trigger_names[GWF_TRIG_COUNT] = {
		"threshold", "silence", "retry_after", "eject_rule", "trial"};

const char *gwf_trigger_name(gwf_trigger_t t)
{
	return (unsigned)t < GWF_TRIG_COUNT ? gwf_trigger_names[t] : "unknown";
}

int gwf_trigger_parse(const char *s, size_t len, unsigned *mask, gwf_err_t *err)
{
	size_t b = 0, e, w;
	unsigned m = 0, i;
	int words = 0;

	if(s == NULL)
		len = 0;
	while(b <= len) {
		for(e = b; e < len && s[e] != ','; e++)
			;
		/* the word between b and e, without blanks */
		while(b < e && (s[b] == ' ' || s[b] == '\t'))
			b++;
		for(w = e; w > b && (s[w - 1] == ' ' || s[w - 1] == '\t'); w--)
			;
		if(w == b) {
			/* an empty list is "none"; an empty item in a list is not */
			if(len > 0 && (words > 0 || e < len))
				return gwf_err_at(
						err, "empty trigger name in the list", s, b, 0);
		} else if(gwf_eq_nocase(s + b, w - b, "all")) {
			m = GWF_TRIG_ALL;
			words++;
		} else if(gwf_eq_nocase(s + b, w - b, "none")) {
			words++;
		} else {
			for(i = 0; i < GWF_TRIG_COUNT; i++)
				if(gwf_eq_nocase(s + b, w - b, gwf_trigger_names[i]))
					break;
			if(i == GWF_TRIG_COUNT)
				return gwf_err_at(err,
						"unknown trigger (expected threshold, silence,"
						" retry_after, eject_rule, trial, all or none)",
						s, b, w - b);
			m |= 1u << i;
			words++;
		}
		b = e + 1;
	}
	*mask = m;
	return 0;
}

int gwf_trigger_format(unsigned mask, char *buf, size_t size)
{
	size_t n = 0;
	unsigned i;
	int r;

	if(size == 0)
		return 0;
	buf[0] = '\0';
	for(i = 0; i < GWF_TRIG_COUNT; i++) {
		if(!(mask & (1u << i)))
			continue;
		r = snprintf(
				buf + n, size - n, "%s%s", n ? "," : "", gwf_trigger_names[i]);
		if(r < 0 || (size_t)r >= size - n) {
			buf[n] = '\0'; /* whole names only */
			return (int)n;
		}
		n += (size_t)r;
	}
	/* "none" whole or not at all: cut, it would read as another word */
	if(n == 0 && size > strlen("none"))
		n = (size_t)snprintf(buf, size, "none");
	return (int)n;
}
