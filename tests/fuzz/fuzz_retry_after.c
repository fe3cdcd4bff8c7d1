/*
 * gwfailover fuzzing - the Retry-After reader (gwf_sip_retry_after()), on
 * the raw bytes of a reply as a gateway sent them.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * Input: the reply bytes, read from a buffer of exactly that size (ASan
 * catches a read past it). Checks:
 *   - the result is -1 or 0..GWF_RETRY_AFTER_MAX_S, and agrees with a
 *     separate reading of the header (gwf_sipmsg.h);
 *   - it does not change when every letter changes case (header names are
 *     case-insensitive, digits have none), when LF line ends become CRLF,
 *     or when bytes are added after the end of the headers.
 */

#include "fuzz_check.h"
#include "gwf_sipmsg.h"

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Reference reading: lines split at LF, one CR before it dropped; the
 * start line skipped; an empty line ends the headers; the first header
 * named Retry-After (any case, blanks before ':') counts. */
static int ref_retry_after(const char *buf, size_t len)
{
	static const char name[] = "retry-after";
	size_t pos = 0, eol, end, i, k;
	uint64_t secs;
	int line;

	for(line = 0; pos < len; line++, pos = eol + 1) {
		eol = pos;
		while(eol < len && buf[eol] != '\n')
			eol++;
		end = eol;
		if(end > pos && buf[end - 1] == '\r')
			end--;
		if(line == 0)
			continue;
		if(end == pos)
			return -1;
		if(end - pos < sizeof(name) - 1)
			continue;
		for(k = 0; k < sizeof(name) - 1; k++)
			if(lower((unsigned char)buf[pos + k]) != name[k])
				break;
		if(k < sizeof(name) - 1)
			continue;
		i = pos + k;
		while(i < end && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		if(i == end || buf[i] != ':')
			continue;
		i++;
		while(i < end && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		if(i == end || buf[i] < '0' || buf[i] > '9')
			return -1;
		for(secs = 0; i < end && buf[i] >= '0' && buf[i] <= '9'; i++) {
			secs = secs * 10 + (uint64_t)(buf[i] - '0');
			if(secs > GWF_RETRY_AFTER_MAX_S)
				secs = GWF_RETRY_AFTER_MAX_S;
		}
		return (int)secs;
	}
	return -1;
}

/* Where the headers end: just after the LF of the first empty line that
 * is not the start line, or 0 if there is none (or it has no LF, so that
 * bytes added after it would extend it). */
static size_t headers_end(const char *buf, size_t len)
{
	size_t pos = 0, eol, end;
	int line;

	for(line = 0; pos < len; line++, pos = eol + 1) {
		eol = pos;
		while(eol < len && buf[eol] != '\n')
			eol++;
		end = eol;
		if(end > pos && buf[end - 1] == '\r')
			end--;
		if(line > 0 && end == pos)
			return eol < len ? eol + 1 : 0;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *msg = fuzz_dup((const char *)data, size);
	char *alt;
	size_t i, n, hend;
	int v, w;

	v = gwf_sip_retry_after(msg, size);
	FUZZ_CHECK(v == -1 || (v >= 0 && v <= GWF_RETRY_AFTER_MAX_S));
	FUZZ_CHECK(v == ref_retry_after(msg, size));

	/* letters in the other case */
	alt = fuzz_dup(msg, size);
	for(i = 0; i < size; i++) {
		if(alt[i] >= 'a' && alt[i] <= 'z')
			alt[i] = (char)(alt[i] - 'a' + 'A');
		else if(alt[i] >= 'A' && alt[i] <= 'Z')
			alt[i] = (char)(alt[i] - 'A' + 'a');
	}
	w = gwf_sip_retry_after(alt, size);
	FUZZ_CHECK(w == v);
	free(alt);

	/* CRLF for every bare LF */
	alt = malloc(2 * size + 1);
	FUZZ_CHECK(alt != NULL);
	for(i = 0, n = 0; i < size; i++) {
		if(msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			alt[n++] = '\r';
		alt[n++] = msg[i];
	}
	w = gwf_sip_retry_after(alt, n);
	FUZZ_CHECK(w == v);
	free(alt);

	/* a body after the headers is not read */
	hend = headers_end(msg, size);
	if(hend > 0) {
		alt = malloc(size + 32);
		FUZZ_CHECK(alt != NULL);
		memcpy(alt, msg, size);
		memcpy(alt + size, "Retry-After: 77\r\n\r\n", 19);
		FUZZ_CHECK(gwf_sip_retry_after(alt, size + 19) == v);
		FUZZ_CHECK(gwf_sip_retry_after(alt, hend) == v);
		free(alt);
	}
	free(msg);
	return 0;
}
