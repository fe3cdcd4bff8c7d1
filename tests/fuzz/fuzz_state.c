/*
 * gwfailover fuzzing - the state file reader (modparam "state_file"):
 * gwf_state_parse() and the writer it must agree with.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * Input: the file's bytes. Checks:
 *   - checking alone and checking then applying agree on the result, and
 *     a file with an error applies nothing;
 *   - an error names a token that is in the file at the offset it gives;
 *   - every entry read writes back into a line shorter than
 *     GWF_STATE_LINE_MAX, and the file written from the entries reads
 *     back to the same entries (what the module writes, it reads).
 */

#include "fuzz_check.h"
#include "gwf_state.h"

#define MAX_ENTS 64

typedef struct ents
{
	gwf_state_ent_t e[MAX_ENTS];
	int n, over;
} ents_t;

static void collect(void *arg, const gwf_state_ent_t *e)
{
	ents_t *s = arg;

	if(s->n < MAX_ENTS)
		s->e[s->n++] = *e;
	else
		s->over = 1;
}

static char out[MAX_ENTS * GWF_STATE_LINE_MAX + 128];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ents_t a, b;
	unsigned va, vb;
	gwf_err_t err;
	size_t len, tl;
	int n, m, i, w;

	memset(&a, 0, sizeof(a));
	n = gwf_state_parse((const char *)data, size, NULL, NULL, &va, &err);
	m = gwf_state_parse((const char *)data, size, collect, &a, &vb, &err);
	FUZZ_CHECK(n == m && va == vb);
	if(m < 0) {
		FUZZ_CHECK(a.n == 0);
		FUZZ_CHECK(err.offset <= size);
		tl = strlen(err.token);
		FUZZ_CHECK(tl < sizeof(err.token));
		FUZZ_CHECK(err.offset + tl <= size);
		FUZZ_CHECK(memcmp(err.token, data + err.offset, tl) == 0);
		return 0;
	}
	FUZZ_CHECK(va >= 1);
	FUZZ_CHECK(a.over || a.n == m);
	if(a.over)
		return 0;
	len = (size_t)gwf_state_format_header(out, sizeof(out));
	for(i = 0; i < a.n; i++) {
		FUZZ_CHECK(a.e[i].uri_len > 0 && a.e[i].uri_len <= GWF_URI_MAX);
		FUZZ_CHECK(strlen(a.e[i].uri) == a.e[i].uri_len);
		w = gwf_state_format_ent(&a.e[i], out + len, sizeof(out) - len);
		FUZZ_CHECK(w > 0 && w < GWF_STATE_LINE_MAX);
		len += (size_t)w;
	}
	len += (size_t)gwf_state_format_end(
			(unsigned)a.n, out + len, sizeof(out) - len);
	FUZZ_CHECK(len < sizeof(out));
	memset(&b, 0, sizeof(b));
	FUZZ_CHECK(gwf_state_parse(out, len, collect, &b, &vb, &err) == a.n);
	FUZZ_CHECK(vb == GWF_STATE_VERSION && b.n == a.n);
	for(i = 0; i < a.n; i++)
		FUZZ_CHECK(memcmp(&a.e[i], &b.e[i], sizeof(a.e[i])) == 0);
	return 0;
}
