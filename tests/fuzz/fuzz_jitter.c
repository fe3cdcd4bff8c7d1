/*
 * gwfailover fuzzing - the jitter mode (modparam "jitter"):
 * gwf_jitter_parse() and gwf_jitter_name().
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * Input: the modparam text. Checks: it parses exactly when it is one of
 * the mode names in any case (no blanks, nothing else), to the mode of
 * that name; an error leaves the output untouched; every mode's name
 * parses back to it, and the configuration check accepts it.
 */

#include "fuzz_check.h"
#include "gwf_backoff.h"

static int same_nocase(const char *s, size_t len, const char *name)
{
	size_t i;

	if(strlen(name) != len)
		return 0;
	for(i = 0; i < len; i++) {
		char c = s[i];

		if(c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if(c != name[i])
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const gwf_jitter_t modes[] = {GWF_JITTER_NONE, GWF_JITTER_FULL,
			GWF_JITTER_EQUAL, GWF_JITTER_DECORRELATED};
	char *s = fuzz_dup((const char *)data, size);
	gwf_jitter_t j = (gwf_jitter_t)77, back;
	gwf_backoff_cfg_t cfg;
	int rc, want = -1;
	size_t i;

	for(i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if(same_nocase(s, size, gwf_jitter_name(modes[i])))
			want = (int)i;
	rc = gwf_jitter_parse(s, size, &j);
	if(want < 0) {
		FUZZ_CHECK(rc == -1 && j == (gwf_jitter_t)77);
	} else {
		FUZZ_CHECK(rc == 0 && j == modes[want]);
		FUZZ_CHECK(gwf_jitter_parse(gwf_jitter_name(j),
						   strlen(gwf_jitter_name(j)), &back)
				   == 0);
		FUZZ_CHECK(back == j);
		memset(&cfg, 0, sizeof(cfg));
		cfg.jitter = j;
		FUZZ_CHECK(gwf_backoff_cfg_check(&cfg, NULL) == 0);
	}
	free(s);
	return 0;
}
