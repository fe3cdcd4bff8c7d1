/*
 * gwfailover fuzzing - the arguments of the RPC commands, through the pure
 * functions gwfailover_rpc.c hands them to.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * Input: a sequence of commands, each a byte (its low 6 bits choose the
 * command, its top 2 how many arguments follow) and one to three arguments
 * separated by 0xff bytes, as an RPC client sends them (strings, any
 * bytes). Each is read as gwfailover_rpc.c reads it:
 *   <set>      gwf_arg_int(0..INT_MAX)          get, eject, restore, reset
 *   <seconds>  gwf_arg_int(1..GWF_EJECT_LIMIT_S) eject
 *   <code>     gwf_arg_int(300..699), then gwf_cls_classify() with the
 *              built-in rules and gwf_cls_rule_format() into the reply's
 *              64-byte buffer                    classify
 *   <uri>      1..GWF_URI_MAX bytes, then looked up and learnt in a
 *              gateway table (gwf_gwtab_find(), gwf_gwtab_get()) as
 *              gwf_gw_find_existing() and gwf_gw_lookup() do
 *   any        gwf_arg_int() with a range taken from the input
 * Checks: gwf_arg_int() agrees with strtoll() on what a strict decimal
 * integer in range is, and leaves its output alone on error; the table
 * finds exactly the gateways it learnt, by set and exact bytes (NUL bytes
 * included), keeps their URI NUL-terminated, refuses empty and overlong
 * URIs and a full table with the right code, and its index stays
 * consistent with every gateway learnt so far.
 *
 * Not covered (glue that includes Kamailio headers): reading the
 * arguments off the transport (rpc->scan), and the keyword arguments
 * compared with strncasecmp() there ("all" of reset; timeout, noanswer,
 * retry_after of classify).
 */

#include <errno.h>
#include <limits.h>

#include "fuzz_check.h"
#include "gwf_arg.h"
#include "gwf_classify.h"
#include "gwf_gwtab.h"
#include "gwfailover.h"

#define TABLE_MAX 4		/* gateways the table takes */
#define RPC_RULE_BUF 64 /* gwfailover.classify formats the rule into it */

typedef struct known
{
	int set;
	size_t len;
	char uri[GWF_URI_MAX];
	gwf_gw_t *gw;
} known_t;

static gwf_gwtab_t *table;
static known_t known[TABLE_MAX];
static unsigned nknown;
static gwf_cls_t defaults;

/* Reference: is <s> a strict decimal integer in <lo>..<hi>? */
static int ref_int(const char *s, size_t len, long lo, long hi, long *out)
{
	char buf[GWF_ARG_INT_MAX_LEN + 1];
	long long v;
	size_t i;
	char *end;

	if(len == 0 || len > GWF_ARG_INT_MAX_LEN)
		return -1;
	for(i = (s[0] == '-'); i < len; i++)
		if(s[i] < '0' || s[i] > '9')
			return -1;
	if(len == (size_t)(s[0] == '-'))
		return -1; /* no digit */
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if(errno == ERANGE || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (long)v;
	return 0;
}

static int check_int(const char *s, size_t len, long lo, long hi, long *out)
{
	long v = 0x12345, want = 0;
	int rc = gwf_arg_int(s, len, lo, hi, &v);

	FUZZ_CHECK(rc == ref_int(s, len, lo, hi, &want));
	if(rc == 0) {
		FUZZ_CHECK(v == want && v >= lo && v <= hi);
		if(out != NULL)
			*out = v;
	} else {
		FUZZ_CHECK(rc == -1 && v == 0x12345);
	}
	return rc;
}

static void check_classify(const char *s, size_t len)
{
	char rule[RPC_RULE_BUF];
	gwf_failure_t f;
	gwf_verdict_t v;
	long code;
	int n;

	if(check_int(s, len, GWF_CODE_MIN, GWF_CODE_MAX, &code) < 0)
		return;
	memset(&f, 0, sizeof(f));
	f.code = (int)code;
	f.retry_after_s = (len & 1) ? 60 : -1; /* with or without Retry-After */
	v = gwf_cls_classify(&defaults, &f);
	/* the built-in table has a rule for every class of code */
	FUZZ_CHECK(v.rule >= 0 && (unsigned)v.rule < defaults.n);
	n = gwf_cls_rule_format(&defaults.rules[v.rule], rule, sizeof(rule));
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(rule));
}

/* Every gateway learnt so far is found, as itself. */
static void check_known(void)
{
	unsigned i;

	FUZZ_CHECK(table->count == nknown);
	for(i = 0; i < nknown; i++) {
		FUZZ_CHECK(
				gwf_gwtab_find(table, known[i].set, known[i].uri, known[i].len)
				== known[i].gw);
		FUZZ_CHECK(gwf_gwtab_at(table, i) == known[i].gw);
	}
	FUZZ_CHECK(gwf_gwtab_at(table, nknown) == NULL);
}

static void check_uri(int set, const char *s, size_t len)
{
	gwf_gwtab_rc_t rc = (gwf_gwtab_rc_t)99;
	gwf_gw_t *found, *gw;
	unsigned i;

	found = gwf_gwtab_find(table, set, s, len);
	gw = gwf_gwtab_get(table, set, s, len, 1000, &rc);
	if(len == 0) {
		FUZZ_CHECK(found == NULL && gw == NULL && rc == GWF_GWTAB_EMPTY);
	} else if(len > GWF_URI_MAX) {
		FUZZ_CHECK(found == NULL && gw == NULL && rc == GWF_GWTAB_TOOLONG);
	} else if(found != NULL) {
		FUZZ_CHECK(gw == found && rc == GWF_GWTAB_OK);
	} else if(nknown == TABLE_MAX) {
		FUZZ_CHECK(gw == NULL && rc == GWF_GWTAB_FULL);
	} else {
		FUZZ_CHECK(gw != NULL && rc == GWF_GWTAB_OK);
		for(i = 0; i < nknown; i++)
			FUZZ_CHECK(known[i].gw != gw);
		known[nknown].set = set;
		known[nknown].len = len;
		memcpy(known[nknown].uri, s, len);
		known[nknown].gw = gw;
		nknown++;
	}
	if(gw != NULL) {
		FUZZ_CHECK(gw->set_id == set && gw->uri_len == len);
		FUZZ_CHECK(memcmp(gw->uri, s, len) == 0 && gw->uri[len] == '\0');
	}
	check_known();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t bytes;
	fuzz_in_t in = {data, size};
	const char *arg[3];
	char *a[3];
	size_t len[3];
	long set, secs, lo, hi;
	int i, nargs, cmds;

	if(table == NULL) {
		bytes = gwf_gwtab_bytes(TABLE_MAX);
		table = malloc(bytes);
		FUZZ_CHECK(table != NULL);
		gwf_cls_init(&defaults, 1);
	}
	memset(table, 0, bytes);
	gwf_gwtab_init(table, TABLE_MAX);
	nknown = 0;

	for(cmds = 0; cmds < 64 && in.n > 0; cmds++) {
		uint8_t op = fuzz_u8(&in);

		nargs = 1 + (op >> 6) % 3;
		for(i = 0; i < 3; i++) {
			arg[i] = "";
			len[i] = 0;
			if(i < nargs)
				arg[i] = fuzz_field(&in, GWF_URI_MAX + 8, &len[i]);
			/* exactly as long as the argument, for ASan */
			a[i] = fuzz_dup(arg[i], len[i]);
		}
		switch((op & 0x3f) % 5) {
			case 0: /* get | restore | reset: <uri> [set] */
				set = -1;
				if(nargs > 1 && check_int(a[1], len[1], 0, INT_MAX, &set) < 0)
					break;
				check_uri(set < 0 ? 0 : (int)set, a[0], len[0]);
				break;
			case 1: /* eject: <uri> [seconds] [set] */
				set = 0;
				if(nargs > 1
						&& check_int(a[1], len[1], 1, GWF_EJECT_LIMIT_S, &secs)
								   < 0)
					break;
				if(nargs > 2 && check_int(a[2], len[2], 0, INT_MAX, &set) < 0)
					break;
				check_uri((int)set, a[0], len[0]);
				break;
			case 2: /* classify: <code> [kind] */
				check_classify(a[0], len[0]);
				break;
			case 3: /* any integer argument, any range within int */
				lo = (long)(int32_t)fuzz_u32(&in);
				hi = (long)(int32_t)fuzz_u32(&in);
				check_int(a[0], len[0], lo, hi, NULL);
				break;
			default: /* a set alone (reset all <set>) */
				check_int(a[0], len[0], 0, INT_MAX, NULL);
				break;
		}
		for(i = 0; i < 3; i++)
			free(a[i]);
	}
	return 0;
}
