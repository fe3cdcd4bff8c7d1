/*
 * gwfailover fuzzing - what every target shares: the check that turns a
 * broken invariant into a finding, and a reader that takes the fuzzer's
 * bytes apart into the arguments of a call.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#ifndef GWF_FUZZ_CHECK_H
#define GWF_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken invariant: say which, and abort, which libFuzzer reports as a
 * crash and saves the input that caused it. */
#define FUZZ_CHECK(cond)                                                \
	do {                                                                \
		if(!(cond)) {                                                   \
			fprintf(stderr, "FUZZ CHECK failed: %s:%d: %s\n", __FILE__, \
					__LINE__, #cond);                                   \
			abort();                                                    \
		}                                                               \
	} while(0)

/* The fuzzer's input, consumed from the front. Past its end every read
 * yields zeros and empty strings, so any input is a valid call. */
typedef struct fuzz_in
{
	const uint8_t *p;
	size_t n;
} fuzz_in_t;

static inline uint8_t fuzz_u8(fuzz_in_t *in)
{
	uint8_t v = 0;

	if(in->n > 0) {
		v = in->p[0];
		in->p++;
		in->n--;
	}
	return v;
}

static inline uint32_t fuzz_u32(fuzz_in_t *in)
{
	uint32_t v = 0;
	int i;

	for(i = 0; i < 4; i++)
		v = (v << 8) | fuzz_u8(in);
	return v;
}

static inline uint64_t fuzz_u64(fuzz_in_t *in)
{
	uint64_t hi = fuzz_u32(in);

	return (hi << 32) | fuzz_u32(in);
}

/* Up to <max> bytes, ending at the next 0xff byte (a separator that the
 * fuzzer can place, and the seeds use) or at the end of the input. Points
 * into the input; <*len> gets the length. */
static inline const char *fuzz_field(fuzz_in_t *in, size_t max, size_t *len)
{
	const char *s = (const char *)in->p;
	size_t k = 0;

	while(k < in->n && k < max && in->p[k] != 0xff)
		k++;
	*len = k;
	in->p += k;
	in->n -= k;
	if(in->n > 0 && k < max)
		fuzz_u8(in); /* the separator */
	return s;
}

/* Copy of <len> bytes at <s> in a buffer of exactly <len> bytes (or 1 when
 * empty), so that ASan catches a read past its end. free() it. */
static inline char *fuzz_dup(const char *s, size_t len)
{
	char *d = malloc(len ? len : 1);

	if(d == NULL)
		abort();
	if(len)
		memcpy(d, s, len);
	return d;
}

#endif
