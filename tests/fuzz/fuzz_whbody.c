/*
 * gwfailover fuzzing - the webhook body writer (gwfailover_whbody.c, with
 * Kamailio's srjson) and its HMAC-SHA256 signature.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Input: the event's kind, reason code, previous state and numbers, then,
 * separated by 0xff bytes, the gateway URI, the reason, the node name, the
 * event id and the webhook secret: any bytes, quotes, backslashes, control
 * bytes and ill-formed UTF-8 included (a NUL ends the C string, as it does
 * in the module). Checks:
 *   - the body is one valid JSON object (json_check.h: strict RFC 8259,
 *     well-formed UTF-8, no name twice);
 *   - every text member decodes to its input, where that is well-formed
 *     UTF-8, and to the input with each byte that is not replaced by
 *     U+FFFD where it is not;
 *   - the members are those of the event's kind (gateway or set event),
 *     with the numbers, flags, codes and RFC 3339 time of the event;
 *   - the signature is "sha256=" and 64 lower-case hex digits, the same
 *     for the same body.
 */

#include "fuzz_check.h"
#include "json_check.h"

#include "gwfailover.h"
#include "gwfailover_whbody.h"

static gwf_event_t ev;

/* Expected decoding of text <s>: well-formed sequences as they are, every
 * other byte U+FFFD. Written with json_check.h's UTF-8 reader, not the
 * module's. malloc'ed. */
static char *expect_text(const char *s, size_t *outlen)
{
	size_t n = strlen(s), i = 0, o = 0, k;
	char *out = malloc(3 * n + 1);

	FUZZ_CHECK(out != NULL);
	while(i < n) {
		k = json_utf8_seq((const unsigned char *)s + i, n - i);
		if(k == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static void check_text(const json_doc_t *doc, const char *name, const char *s)
{
	const json_member_t *m = json_get(doc, name);
	size_t n;
	char *want = expect_text(s, &n);

	FUZZ_CHECK(m != NULL && m->kind == JSON_STRING);
	FUZZ_CHECK(m->str_len == n && memcmp(m->str, want, n) == 0);
	free(want);
}

static void check_num(const json_doc_t *doc, const char *name, double v)
{
	const json_member_t *m = json_get(doc, name);

	FUZZ_CHECK(m != NULL && m->kind == JSON_NUMBER && m->num == v);
}

static void check_bool(const json_doc_t *doc, const char *name, int v)
{
	const json_member_t *m = json_get(doc, name);

	FUZZ_CHECK(m != NULL && m->kind == (v ? JSON_TRUE : JSON_FALSE));
}

/* RFC 3339 UTC with milliseconds, from the days since 1970 (H. Hinnant's
 * civil_from_days), not from gmtime(). */
static void expect_time(uint64_t wall_ms, char *buf, size_t size)
{
	int64_t secs = (int64_t)(wall_ms / 1000u), z = secs / 86400 + 719468;
	int64_t era = z / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
	int64_t sod = secs % 86400;

	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, (int)m,
			(int)d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
			(int)(wall_ms % 1000u));
}

static int set_event(gwf_ev_kind_t k)
{
	return k == GWF_EV_SET_DOWN || k == GWF_EV_SET_UP || k == GWF_EV_SET_PANIC
		   || k == GWF_EV_SET_CALM;
}

static void check_body(
		const char *body, const char *id, const char *node, uint32_t suppressed)
{
	static const char *const gw_only[] = {"state", "previous_state", "manual",
			"last_codes", "consecutive_faults", "ejections", "enforced",
			"eject_multiplier", "next_eject_seconds", "suppressed"};
	const json_member_t *m;
	json_doc_t doc;
	char when[64];
	int i, ncodes, is_set = set_event(ev.kind);

	if(json_parse(body, strlen(body), &doc) < 0) {
		fprintf(stderr, "invalid JSON at byte %zu: %s\n", doc.error_at,
				doc.error);
		FUZZ_CHECK(!"the body is valid JSON");
	}
	FUZZ_CHECK(doc.kind == JSON_OBJECT);
	check_text(&doc, "event", gwf_wh_event_name(&ev));
	check_text(&doc, "id", id);
	check_text(&doc, "node", node);
	expect_time(ev.wall_ms, when, sizeof(when));
	check_text(&doc, "time", when);
	check_num(&doc, "set", ev.set_id);
	if(is_set) {
		check_num(&doc, "gateways", ev.set_gateways);
		check_num(&doc, "healthy", ev.set_healthy);
		for(i = 0; i < (int)(sizeof(gw_only) / sizeof(gw_only[0])); i++)
			FUZZ_CHECK(json_get(&doc, gw_only[i]) == NULL);
		if(ev.kind == GWF_EV_SET_PANIC) {
			check_text(&doc, "gateway", ev.uri);
			check_text(&doc, "reason", ev.reason);
		} else {
			FUZZ_CHECK(json_get(&doc, "gateway") == NULL);
		}
		if(ev.kind == GWF_EV_SET_CALM)
			check_num(&doc, "refused", ev.refused);
		else
			FUZZ_CHECK(json_get(&doc, "refused") == NULL);
	} else {
		check_text(&doc, "gateway", ev.uri);
		check_text(&doc, "reason", ev.reason);
		FUZZ_CHECK(json_get(&doc, "state") != NULL);
		check_text(&doc, "previous_state", gwf_brk_state_name(ev.prev));
		check_bool(&doc, "manual",
				ev.why == GWF_WHY_MANUAL_EJECT
						|| ev.why == GWF_WHY_MANUAL_RESTORE);
		m = json_get(&doc, "last_codes");
		ncodes = ev.ncodes < 0 ? 0 : ev.ncodes;
		if(ncodes > GWF_RECENT_CODES)
			ncodes = GWF_RECENT_CODES;
		FUZZ_CHECK(m != NULL && m->kind == JSON_ARRAY);
		FUZZ_CHECK(m->elems == (size_t)ncodes);
		for(i = 0; i < ncodes; i++)
			FUZZ_CHECK(m->first[i] == ev.codes[i]);
		check_num(&doc, "consecutive_faults", ev.consec_faults);
		check_num(&doc, "ejections", (double)ev.ejections);
		if(ev.kind == GWF_EV_DOWN || ev.kind == GWF_EV_REOPENED)
			check_num(&doc, "eject_seconds", (ev.open_ms + 999u) / 1000u);
		else
			FUZZ_CHECK(json_get(&doc, "eject_seconds") == NULL);
		check_bool(&doc, "enforced", ev.kind != GWF_EV_WOULD_EJECT);
		check_num(&doc, "eject_multiplier", ev.eject_mult);
		check_num(
				&doc, "next_eject_seconds", (ev.next_eject_ms + 999u) / 1000u);
		check_num(&doc, "suppressed", suppressed);
	}
	json_free(&doc);
}

static void check_sig(const char *secret, const char *body)
{
	char a[GWF_WH_SIG_MAX], b[GWF_WH_SIG_MAX];
	size_t i;

	FUZZ_CHECK(gwf_wh_sign(secret, body, strlen(body), a) == 0);
	FUZZ_CHECK(strlen(a) == 7 + 64 && memcmp(a, "sha256=", 7) == 0);
	for(i = 7; i < 7 + 64; i++)
		FUZZ_CHECK(
				(a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
	FUZZ_CHECK(gwf_wh_sign(secret, body, strlen(body), b) == 0);
	FUZZ_CHECK(strcmp(a, b) == 0);
}

/* A C string of at most <max> bytes from the next field. */
static void take_str(fuzz_in_t *in, char *buf, size_t max)
{
	size_t n;
	const char *s = fuzz_field(in, max, &n);

	memcpy(buf, s, n);
	buf[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the lengths the module allows: 255-byte node name, 47-byte id */
	char node[256], id[48], secret[65];
	fuzz_in_t in = {data, size};
	uint32_t suppressed;
	char *body;
	int i;

	memset(&ev, 0, sizeof(ev));
	ev.kind = (gwf_ev_kind_t)(fuzz_u8(&in) % GWF_EV_KINDS);
	ev.why = (gwf_why_t)(fuzz_u8(&in) % (GWF_WHY_TRIAL_SILENT + 1));
	ev.prev = (gwf_brk_state_t)(fuzz_u8(&in) % 3);
	ev.set_id = (int)fuzz_u32(&in);
	ev.code = (int)fuzz_u32(&in);
	ev.consec_faults = fuzz_u32(&in);
	/* ejections last at most GWF_EJECT_LIMIT_S, with jitter */
	ev.open_ms = fuzz_u32(&in) % (2u * GWF_EJECT_LIMIT_S * 1000u);
	ev.ejections = fuzz_u64(&in);
	/* a clock before the year 10000 */
	ev.wall_ms = fuzz_u64(&in) % 253402300800000ull;
	ev.set_gateways = fuzz_u32(&in);
	ev.set_healthy = fuzz_u32(&in);
	ev.refused = fuzz_u32(&in);
	ev.eject_mult = fuzz_u32(&in);
	ev.next_eject_ms = fuzz_u32(&in) % (2u * GWF_EJECT_LIMIT_S * 1000u);
	ev.ncodes = (int8_t)fuzz_u8(&in) % 12;
	for(i = 0; i < GWF_RECENT_CODES; i++) {
		ev.codes[i] = fuzz_u8(&in) << 8;
		ev.codes[i] = (int16_t)(ev.codes[i] | fuzz_u8(&in));
	}
	suppressed = fuzz_u32(&in);
	take_str(&in, ev.uri, GWF_URI_MAX);
	take_str(&in, ev.reason, GWF_EV_REASON_MAX - 1);
	take_str(&in, node, sizeof(node) - 1);
	take_str(&in, id, sizeof(id) - 1);
	take_str(&in, secret, sizeof(secret) - 1);

	body = gwf_wh_body(&ev, id, node, suppressed);
	FUZZ_CHECK(body != NULL);
	check_body(body, id, node, suppressed);
	check_sig(secret, body);
	free(body);
	return 0;
}
