/*
 * gwfailover - the failover path: failure_route entry, delayed re-forward
 * through tm suspend/continue, and the resume process.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_TM_H
#define GWFAILOVER_TM_H

#include "core/parser/msg_parser.h"

/* Return codes of gwf_failover(), as the script sees them. */
#define GWF_RC_FORWARDED 1 /* relayed to the next attempt at once */
#define GWF_RC_SUSPENDED 0 /* waiting for the delay; ends the route */
#define GWF_RC_STOP -1	   /* rules say stop: the failure goes upstream */
#define GWF_RC_EXHAUSTED \
	-2					   /* no gateway/attempt/time left: tm relays the
							 * failure, or exhausted_code was sent */
#define GWF_RC_CANCELED -3 /* the caller cancelled */
#define GWF_RC_ERROR -4	   /* wrong context or internal error (logged) */

/* Bind tm, allocate the resume queue, build the resume action and ask for
 * the resume process. mod_init only. Returns 0 or -1 (logged). */
int gwf_tm_init(str *failover_cb);

/* Fork the resume process; child_init(PROC_MAIN). Returns 0 or -1. */
int gwf_tm_child_init(int rank);

void gwf_tm_destroy(void);

/* gwf_failover(): classify the failure of the picked branch, update the
 * gateway's health and re-forward the call. FAILURE_ROUTE only. */
int gwf_failover(sip_msg_t *msg);

/* The tracking state of the current transaction (the one the running
 * route belongs to), or NULL. */
struct gwf_txn;
struct gwf_txn *gwf_tm_current_txn(void);

/* Calls waiting for their delay now. Any process. */
unsigned gwf_tm_pending(void);

/* Internal: runs inside t_continue() in the resume process. */
int gwf_resume(sip_msg_t *msg);

#endif
