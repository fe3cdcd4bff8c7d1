/*
 * gwfailover - dispatcher RPC commands called in process: the one stable
 * way to set a destination's state and to read every destination without
 * a SIP message. Implements gwf_ds_set_state() and gwf_ds_walk() declared
 * in gwfailover_ds.h.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_DSRPC_H
#define GWFAILOVER_DSRPC_H

/* Find dispatcher.set_state and dispatcher.list. mod_init only, after the
 * dispatcher module registered its RPC commands. Returns 0 or -1 (logged).
 */
int gwf_dsrpc_init(void);

#endif
