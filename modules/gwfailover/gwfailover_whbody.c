/*
 * gwfailover - the JSON body of a webhook (srjson, the core's JSON library)
 * and its HMAC-SHA256 signature (OpenSSL libcrypto).
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/dprint.h"
#include "core/utils/srjson.h"

#include "gwf_utf8.h"
#include "gwfailover_whbody.h"

const char *gwf_wh_event_name(const gwf_event_t *ev)
{
	switch(ev->kind) {
		case GWF_EV_DOWN:
		case GWF_EV_REOPENED:
			return ev->why == GWF_WHY_MANUAL_EJECT ? "gateway_manual_eject"
												   : "gateway_ejected";
		case GWF_EV_WOULD_EJECT:
			return "gateway_ejected"; /* with "enforced": false */
		case GWF_EV_HALF_OPEN:
			return "gateway_half_open";
		case GWF_EV_UP:
			return ev->why == GWF_WHY_MANUAL_RESTORE ? "gateway_manual_restore"
													 : "gateway_restored";
		case GWF_EV_SET_DOWN:
			return "set_down";
		case GWF_EV_SET_UP:
			return "set_up";
		case GWF_EV_SET_PANIC:
			return "set_panic";
		case GWF_EV_SET_CALM:
			return "set_calm";
		default:
			return "unknown";
	}
}

/* The gateway's state after event <ev>: a dry-run detection leaves it as
 * it was. */
static const char *gwf_wh_new_state(const gwf_event_t *ev)
{
	switch(ev->kind) {
		case GWF_EV_DOWN:
		case GWF_EV_REOPENED:
			return "open";
		case GWF_EV_HALF_OPEN:
			return "half-open";
		case GWF_EV_WOULD_EJECT:
			return gwf_brk_state_name(ev->prev);
		default:
			return "closed";
	}
}

static int gwf_wh_set_event(gwf_ev_kind_t k)
{
	return k == GWF_EV_SET_DOWN || k == GWF_EV_SET_UP || k == GWF_EV_SET_PANIC
		   || k == GWF_EV_SET_CALM;
}

/* RFC 3339, UTC, milliseconds: 2026-11-21T18:03:37.123Z */
static void gwf_wh_time(uint64_t wall_ms, char *buf, size_t size)
{
	time_t secs = (time_t)(wall_ms / 1000u);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			tm.tm_sec, (unsigned)(wall_ms % 1000u));
}

/* Add text <s> as member <name> of <obj>. JSON text must be UTF-8, and a
 * gateway URI, a reason or the node name may hold any bytes: srjson
 * escapes quotes and control characters but copies the rest, so each byte
 * that is not well-formed UTF-8 becomes U+FFFD first. Returns 0, or -1
 * out of memory. */
static int gwf_wh_add_text(
		srjson_doc_t *doc, srjson_t *obj, const char *name, const char *s)
{
	size_t room = GWF_UTF8_ROOM(strlen(s));
	srjson_t *item;
	char *text;

	text = malloc(room);
	if(text == NULL)
		return -1;
	gwf_utf8_clean(s, text, room);
	item = srjson_CreateString(doc, text);
	free(text);
	if(item == NULL)
		return -1;
	srjson_AddItemToObject(doc, obj, name, item);
	return 0;
}

char *gwf_wh_body(const gwf_event_t *ev, const char *id, const char *node,
		uint32_t suppressed)
{
	srjson_doc_t *doc;
	srjson_t *root, *codes;
	char when[32];
	char *out = NULL;
	int i, gateway_event;

	doc = srjson_NewDoc(NULL);
	if(doc == NULL) {
		LM_ERR("cannot create a JSON document\n");
		return NULL;
	}
	root = srjson_CreateObject(doc);
	if(root == NULL)
		goto done;
	doc->root = root;
	gwf_wh_time(ev->wall_ms, when, sizeof(when));
	gateway_event = !gwf_wh_set_event(ev->kind);

	srjson_AddStringToObject(doc, root, "event", gwf_wh_event_name(ev));
	if(gwf_wh_add_text(doc, root, "id", id) < 0)
		goto nomem;
	srjson_AddStringToObject(doc, root, "time", when);
	if(gwf_wh_add_text(doc, root, "node", node) < 0)
		goto nomem;
	srjson_AddNumberToObject(doc, root, "set", ev->set_id);
	if(!gateway_event) {
		srjson_AddNumberToObject(doc, root, "gateways", ev->set_gateways);
		srjson_AddNumberToObject(doc, root, "healthy", ev->set_healthy);
		if(ev->kind == GWF_EV_SET_PANIC) {
			/* the gateway whose ejection was refused, and why */
			if(gwf_wh_add_text(doc, root, "gateway", ev->uri) < 0
					|| gwf_wh_add_text(doc, root, "reason", ev->reason) < 0)
				goto nomem;
		} else if(ev->kind == GWF_EV_SET_CALM) {
			srjson_AddNumberToObject(doc, root, "refused", ev->refused);
		}
	} else {
		if(gwf_wh_add_text(doc, root, "gateway", ev->uri) < 0)
			goto nomem;
		srjson_AddStringToObject(doc, root, "state", gwf_wh_new_state(ev));
		srjson_AddStringToObject(
				doc, root, "previous_state", gwf_brk_state_name(ev->prev));
		if(gwf_wh_add_text(doc, root, "reason", ev->reason) < 0)
			goto nomem;
		srjson_AddItemToObject(doc, root, "manual",
				srjson_CreateBool(
						doc, ev->why == GWF_WHY_MANUAL_EJECT
									 || ev->why == GWF_WHY_MANUAL_RESTORE));
		codes = srjson_CreateArray(doc);
		if(codes == NULL)
			goto done;
		for(i = 0; i < ev->ncodes && i < GWF_RECENT_CODES; i++)
			srjson_AddItemToArray(
					doc, codes, srjson_CreateNumber(doc, ev->codes[i]));
		srjson_AddItemToObject(doc, root, "last_codes", codes);
		srjson_AddNumberToObject(
				doc, root, "consecutive_faults", ev->consec_faults);
		srjson_AddNumberToObject(doc, root, "ejections", (double)ev->ejections);
		if(ev->kind == GWF_EV_DOWN || ev->kind == GWF_EV_REOPENED)
			srjson_AddNumberToObject(
					doc, root, "eject_seconds", (ev->open_ms + 999u) / 1000u);
		srjson_AddItemToObject(doc, root, "enforced",
				srjson_CreateBool(doc, ev->kind != GWF_EV_WOULD_EJECT));
		srjson_AddNumberToObject(doc, root, "eject_multiplier", ev->eject_mult);
		srjson_AddNumberToObject(doc, root, "next_eject_seconds",
				(ev->next_eject_ms + 999u) / 1000u);
		srjson_AddNumberToObject(doc, root, "suppressed", suppressed);
	}
	out = srjson_PrintUnformatted(doc, root);
	if(out == NULL)
		LM_ERR("cannot print the JSON body\n");
	goto done;
nomem:
	LM_ERR("out of memory for the JSON body\n");
done:
	srjson_DeleteDoc(doc);
	return out;
}

int gwf_wh_sign(const char *secret, const char *body, size_t len,
		char out[GWF_WH_SIG_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if(HMAC(EVP_sha256(), secret, (int)strlen(secret),
			   (const unsigned char *)body, len, md, &mdlen)
					== NULL
			|| mdlen != 32) {
		LM_ERR("HMAC-SHA256 failed\n");
		return -1;
	}
	memcpy(out, "sha256=", 7);
	for(i = 0; i < mdlen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}
