/*
 * gwfailover - what the module needs from the dispatcher module.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_DS_H
#define GWFAILOVER_DS_H

#include "core/parser/msg_parser.h"
#include "core/str.h"

/* Bind the dispatcher API, its set_state RPC and its ds_is_active_uri
 * export, and read the name of its destination xavp. mod_init only (the
 * dispatcher must be loaded before gwfailover). Returns 0 or -1 (logged). */
int gwf_ds_init(void);

/* Set id and URI of the head of the dispatcher destination xavp in the
 * current xavp list: the destination the call is (or was last) sent to.
 * <uri> points into the xavp. Returns 0, or -1 if there is none (the
 * request did not go through ds_select_dst()). */
int gwf_ds_head(int *set, str *uri);

/* Does <ok>(set, uri) hold for some destination after the head, in the
 * order ds_next_dst() would take them? Returns 1 or 0. */
int gwf_ds_any_after_head(int (*ok)(int set, str *uri));

/* Advance the call to the next destination (dispatcher ds_next_dst(),
 * setting $du). Returns 0, or -1 when the list is exhausted. */
int gwf_ds_next(sip_msg_t *msg);

/* Send the call to the current head again: $du (and the forced socket, if
 * the destination has one) as ds_next_dst() would set them. 0 or -1. */
int gwf_ds_use_head(sip_msg_t *msg);

/* Is (<set>, <uri>) selectable in the dispatcher (neither inactive nor
 * disabled)? Needs no message. Returns 1 or 0. */
int gwf_ds_is_active(int set, str *uri);

#endif
