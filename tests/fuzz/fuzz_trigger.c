/*
 * gwfailover fuzzing - the dry_run trigger list (modparam "dry_run"):
 * gwf_trigger_parse() and gwf_trigger_format().
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * Input: 4 bytes of a mask and 1 byte of a buffer size, for the
 * formatter, then the list text. Checks:
 *   - the parse agrees with a separate reading of the grammar in
 *     gwf_trigger.h; an error leaves the mask untouched and names a token
 *     that is in the text at the offset it gives;
 *   - a parsed mask has only trigger bits, formats into the 96-byte
 *     buffer of gwfailover.config and parses back to itself;
 *   - any mask formats into any buffer as whole names, NUL-terminated,
 *     returning the length written, which parses back to a part of the
 *     mask.
 */

#include "fuzz_check.h"
#include "gwf_trigger.h"

#define RPC_DRY_RUN_BUF 96 /* gwfailover.config formats into it */

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

static int keyword(const char *s, size_t len, const char *kw)
{
	size_t i;

	if(strlen(kw) != len)
		return 0;
	for(i = 0; i < len; i++) {
		char c = s[i];

		if(c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if(c != kw[i])
			return 0;
	}
	return 1;
}

/* Reference: the mask of the list, or -1 if it is not a valid list. */
static long ref_parse(const char *s, size_t len)
{
	size_t b = 0, e, w, items = 0;
	unsigned m = 0, i;

	for(e = 0; e < len; e++)
		items += s[e] == ',';
	items++;
	for(;;) {
		for(e = b; e < len && s[e] != ','; e++)
			;
		for(w = e; w > b && blank(s[w - 1]); w--)
			;
		while(b < w && blank(s[b]))
			b++;
		if(b == w) {
			if(items > 1)
				return -1; /* an empty item of a list */
		} else if(keyword(s + b, w - b, "all")) {
			m |= GWF_TRIG_ALL;
		} else if(!keyword(s + b, w - b, "none")) {
			for(i = 0; i < GWF_TRIG_COUNT; i++)
				if(keyword(s + b, w - b, gwf_trigger_name((gwf_trigger_t)i)))
					break;
			if(i == GWF_TRIG_COUNT)
				return -1;
			m |= 1u << i;
		}
		if(e == len)
			return (long)m;
		b = e + 1;
	}
}

static void check_format(unsigned mask, size_t size)
{
	char full[RPC_DRY_RUN_BUF], *buf;
	unsigned back = 0;
	gwf_err_t err;
	int n, nf;

	nf = gwf_trigger_format(mask, full, sizeof(full));
	FUZZ_CHECK(nf > 0 && (size_t)nf == strlen(full));

	buf = malloc(size ? size : 1);
	FUZZ_CHECK(buf != NULL);
	n = gwf_trigger_format(mask, buf, size);
	if(size == 0) {
		FUZZ_CHECK(n == 0);
		free(buf);
		return;
	}
	FUZZ_CHECK(n >= 0 && (size_t)n < size && (size_t)n == strlen(buf));
	/* whole names: a prefix of the full list, cut at a comma */
	FUZZ_CHECK(n <= nf && memcmp(buf, full, (size_t)n) == 0);
	FUZZ_CHECK(n == 0 || full[n] == '\0' || full[n] == ',');
	FUZZ_CHECK(gwf_trigger_parse(buf, (size_t)n, &back, &err) == 0);
	FUZZ_CHECK((back & ~mask) == 0);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in_t in = {data, size};
	unsigned fmt_mask = fuzz_u32(&in);
	size_t fmt_size = fuzz_u8(&in);
	char *s = fuzz_dup((const char *)in.p, in.n);
	char buf[RPC_DRY_RUN_BUF];
	unsigned mask = 0x5a5a5a5au, back = 0;
	gwf_err_t err;
	long want;
	size_t n;
	int rc;

	rc = gwf_trigger_parse(s, in.n, &mask, &err);
	want = ref_parse(s, in.n);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if(rc < 0) {
		FUZZ_CHECK(want < 0);
		FUZZ_CHECK(mask == 0x5a5a5a5au);
		FUZZ_CHECK(err.msg != NULL);
		FUZZ_CHECK(memchr(err.token, '\0', sizeof(err.token)) != NULL);
		n = strlen(err.token);
		FUZZ_CHECK(err.offset <= in.n && n <= in.n - err.offset);
		FUZZ_CHECK(n == 0 || memcmp(err.token, s + err.offset, n) == 0);
	} else {
		FUZZ_CHECK(want == (long)mask);
		FUZZ_CHECK((mask & ~GWF_TRIG_ALL) == 0);
		rc = gwf_trigger_format(mask, buf, sizeof(buf));
		FUZZ_CHECK(rc > 0 && (size_t)rc < sizeof(buf));
		FUZZ_CHECK(gwf_trigger_parse(buf, (size_t)rc, &back, &err) == 0);
		FUZZ_CHECK(back == mask);
	}
	check_format(fmt_mask, fmt_size);
	free(s);
	return 0;
}
