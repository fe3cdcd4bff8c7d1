/*
 * gwfailover - reading the arguments of the RPC commands.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <limits.h>

#include "gwf_arg.h"

int gwf_arg_int(const char *s, size_t len, long lo, long hi, long *out)
{
	long long v = 0;
	size_t i = 0;
	int neg = 0;

	if(s == NULL || len == 0 || len > GWF_ARG_INT_MAX_LEN)
		return -1;
	if(s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if(i >= len)
		return -1;
	for(; i < len; i++) {
		if(s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if(v > (long long)INT_MAX + 1)
			return -1; /* no overflow: out of every range we accept */
	}
	if(neg)
		v = -v;
	if(v < lo || v > hi)
		return -1;
	*out = (long)v;
	return 0;
}
