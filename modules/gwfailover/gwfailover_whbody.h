/*
 * gwfailover - the JSON body of a webhook and its signature.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_WHBODY_H
#define GWFAILOVER_WHBODY_H

#include "gwfailover_event.h"

#define GWF_WH_SIG_MAX 80 /* "sha256=" + 64 hex digits + NUL */

/* Webhook name of <ev>: "gateway_ejected", "set_down", ... */
const char *gwf_wh_event_name(const gwf_event_t *ev);

/* Build the body of <ev> with id <id>, node <node> and <suppressed>.
 * Returns a malloc'ed NUL-terminated string (free()), or NULL (logged). */
char *gwf_wh_body(const gwf_event_t *ev, const char *id, const char *node,
		uint32_t suppressed);

/* "sha256=<hex HMAC-SHA256 of body with secret>" into <out>. 0 or -1. */
int gwf_wh_sign(const char *secret, const char *body, size_t len,
		char out[GWF_WH_SIG_MAX]);

#endif
