/*
 * gwfailover - the gateway table in shared memory and its lock.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_GW_H
#define GWFAILOVER_GW_H

#include "gwf_gwtab.h"

/* Allocate and initialise the table for <max_gw> gateways in shm.
 * mod_init only. Returns 0 or -1 (logged). */
int gwf_gw_init(unsigned max_gw);

/* Free the table; destroy only. */
void gwf_gw_destroy(void);

/* Take / release the one lock that protects every gwf_gw_t and the table.
 * Hold it only around gwf_brk_* / gwf_gwtab_* calls and copies: never
 * across tm, dispatcher, script or network calls. */
void gwf_gw_lock(void);
void gwf_gw_unlock(void);

/* The table (shm, same address in every process). */
gwf_gwtab_t *gwf_gw_table(void);

#endif
