/*
 * gwfailover - what a caller is given while its call fails over: the hook
 * event_route[gwfailover:failover] (KEMI: failover_callback), run in the
 * call's failure_route, and the provisional reply of progress_reply.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_ANNOUNCE_H
#define GWFAILOVER_ANNOUNCE_H

#include "core/parser/msg_parser.h"
#include "core/str.h"
#include "modules/tm/tm_load.h"

#include "gwfailover_txn.h"

/* Find event_route[gwfailover:failover], or check the KEMI function
 * <cbname> (failover_callback) can run. mod_init; -1 on a bad setup. */
int gwf_announce_init(struct tm_binds *tmb, str *cbname);

/* Call <t> (tracking state <txn>, request <msg> of its failure_route) is
 * about to be sent to another attempt, now or after its delay: run the
 * hook, then send progress_reply if the caller has had nothing but 100 so
 * far. Returns 0 to go on, or -1 if the hook answered the call with a
 * final reply (the call ends there). */
int gwf_announce(sip_msg_t *msg, struct cell *t, gwf_txn_t *txn);

#endif
