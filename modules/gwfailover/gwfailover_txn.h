/*
 * gwfailover - per-transaction tracking: which gateway each branch went to,
 * so a final 2xx can be credited to the gateway that sent it.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_TXN_H
#define GWFAILOVER_TXN_H

#include <stdint.h>

#include "modules/tm/tm_load.h"

/* tm's hard limit on branches per transaction (MAX_BRANCHES_LIMIT). */
#define GWF_TXN_MAX_BRANCHES 32

typedef struct gwf_txn_branch
{
	int32_t gw;		/* gateway table slot; -1: not a dispatcher gateway */
	uint32_t trial; /* breaker trial token (0: none) */
	uint8_t done;	/* outcome already recorded */
	uint8_t rang;	/* a provisional reply other than 100 was received */
	uint8_t heard;	/* any reply was received */
} gwf_txn_branch_t;

/* Why a call gets no further attempt (for $gwf(reason)). */
typedef enum gwf_end
{
	GWF_END_NONE = 0,
	GWF_END_STOP,	  /* a 'stop' rule */
	GWF_END_ATTEMPTS, /* max_attempts or core max_branches */
	GWF_END_BUDGET,	  /* time_budget_ms */
	GWF_END_GATEWAYS  /* no healthy gateway left */
} gwf_end_t;

/* The module's last decision on a call, for $gwf() in later routes. */
typedef struct gwf_txn_decision
{
	int code;	   /* failure classified; 0: none yet */
	int8_t action; /* gwf_action_t */
	int8_t health; /* gwf_health_t */
	int8_t end;	   /* gwf_end_t */
	int16_t rule;  /* matched rule index; -1: fallback */
	int32_t delay; /* ms before the re-forward; -1: none decided */
	int32_t gw;	   /* slot of the gateway that failed; -1: unknown */
} gwf_txn_decision_t;

/* State of one INVITE transaction, in shm, freed with the transaction.
 * Touched from failure_route, the resume process and tm callbacks of the
 * same transaction, which tm serialises with its reply lock. */
typedef struct gwf_txn
{
	uint64_t start_ms;		/* when the transaction was created */
	uint32_t prev_delay_ms; /* last delay before a re-forward */
	uint16_t attempts;		/* forwards to gateways so far */
	uint8_t suspended;		/* waiting for its delay in the resume queue */
	gwf_txn_decision_t last;
	gwf_txn_branch_t br[GWF_TXN_MAX_BRANCHES];
} gwf_txn_t;

/* Bind tm and register the global TMCB_REQUEST_IN hook. mod_init only.
 * Returns 0 or -1 (logged). */
int gwf_txn_init(struct tm_binds *tmb);

/* Name of <e> for $gwf(reason): "attempt limit", ...; NULL for NONE. */
const char *gwf_end_name(gwf_end_t e);

/* The tracking state of <t>, or NULL if <t> is not an INVITE transaction
 * created after the module loaded. */
gwf_txn_t *gwf_txn_get(struct cell *t);

/* The next branch this process forwards goes to gateway slot <gw> holding
 * trial token <trial>: the forward hook records that instead of looking the
 * gateway up again. Process-local, consumed by the next forward. */
void gwf_txn_set_pending(int gw, uint32_t trial);

/* Drop the pending gateway. Returns 1 if it was still pending (no branch
 * took it), 0 if a forward already recorded it in its branch. */
int gwf_txn_clear_pending(void);

#endif
