/*
 * gwfailover - RPC commands (kamcmd through ctl, jsonrpcs, ...).
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_RPC_H
#define GWFAILOVER_RPC_H

#include "core/rpc.h"

extern rpc_export_t gwf_rpc_cmds[];

#endif
