/*
 * gwfailover - dispatcher RPC commands called in process: the one stable
 * way to set a destination's state and to read every destination without
 * a SIP message.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_DSRPC_H
#define GWFAILOVER_DSRPC_H

#include "core/str.h"

#include "gwf_dswalk.h"

/* Find dispatcher.set_state and dispatcher.list. mod_init only, after the
 * dispatcher module registered its RPC commands. Returns 0 or -1 (logged).
 */
int gwf_dsrpc_init(void);

/* Called for each dispatcher destination: its set, URI and the flags
 * dispatcher.list shows ("AP", "IP", ...). <uri> and <flags> are only
 * valid during the call. */
typedef void (*gwf_ds_dest_f)(int set, str *uri, const char *flags, void *arg);

/* Call <f> for every destination of every set, in dispatcher.list order.
 * Any process. Returns 0. */
int gwf_ds_walk(gwf_ds_dest_f f, void *arg);

/* gwf_ds_walk(), also filling <tally> with what dispatcher.list reported
 * and what was read of it, for gwf_dswalk_judge(). Returns 0. */
int gwf_ds_walk_tally(gwf_ds_dest_f f, void *arg, gwf_dswalk_tally_t *tally);

/* Mark (<set>, <uri>) in the dispatcher: active, or inactive+probing. Uses
 * dispatcher's own set_state RPC in-process, so `dispatcher.list` shows it
 * and ds_select_dst() honours it at once; no dispatcher event route runs.
 * Returns 0, or -1 (logged) when the dispatcher does not know the
 * destination (e.g. removed by a reload). */
int gwf_ds_set_state(int set, str *uri, int active);

#endif
