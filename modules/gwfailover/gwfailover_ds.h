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

#include "gwf_dswalk.h"

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

/* Called for each dispatcher destination: its set, URI and the flags
 * dispatcher.list shows ("AP", "IP", ...). <uri> and <flags> are only
 * valid during the call. */
typedef void (*gwf_ds_dest_f)(int set, str *uri, const char *flags, void *arg);

/* Call <f> for every destination of every set, in dispatcher.list order
 * (implemented in gwfailover_dsrpc.c). Any process. Returns 0. */
int gwf_ds_walk(gwf_ds_dest_f f, void *arg);

/* gwf_ds_walk(), also filling <tally> with what dispatcher.list reported
 * and what was read of it, for gwf_dswalk_judge(). Returns 0. */
int gwf_ds_walk_tally(gwf_ds_dest_f f, void *arg, gwf_dswalk_tally_t *tally);

/* Mark (<set>, <uri>) in the dispatcher: active, or inactive+probing. Uses
 * dispatcher's own set_state RPC in-process, so `dispatcher.list` shows it
 * and ds_select_dst() honours it at once; no dispatcher event route runs.
 * Returns 0, or -1 (logged) when the dispatcher does not know the
 * destination (e.g. removed by a reload). In gwfailover_dsrpc.c. */
int gwf_ds_set_state(int set, str *uri, int active);

#endif
