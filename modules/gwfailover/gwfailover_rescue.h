/*
 * gwfailover - rescue: when a gateway is ejected, the calls in flight to it
 * that have had no reply at all are ended at once and fail over, instead
 * of waiting for their fr_timer.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_RESCUE_H
#define GWFAILOVER_RESCUE_H

#include "modules/tm/tm_load.h"

/* Keep tm's API for the rescue. mod_init. */
void gwf_rescue_init(struct tm_binds *tmb);

/* Resume process, every round: rescue the calls of the gateways ejected
 * since the last round. Must run with no lock held (tm takes the reply
 * lock of each transaction it ends, and runs its failure_route here). */
void gwf_rescue_run(void);

#endif
