/*
 * gwfailover - the $gwf(key) pseudo-variable: the module's decisions on the
 * current call, or the gateway event whose route runs.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_PV_H
#define GWFAILOVER_PV_H

#include "core/pvar.h"

int gwf_pv_parse_name(pv_spec_t *sp, str *in);
int gwf_pv_get(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);

#endif
