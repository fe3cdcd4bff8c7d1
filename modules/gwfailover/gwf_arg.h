/*
 * gwfailover - reading the arguments of the RPC commands.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers. The RPC glue
 * (gwfailover_rpc.c) reads every argument as a string and converts it
 * here, so that what an operator types is checked by code the unit tests
 * and the fuzzers reach.
 */

#ifndef GWF_ARG_H
#define GWF_ARG_H

#include "gwf_types.h"

/* Longest integer argument accepted, in bytes (sign included). */
#define GWF_ARG_INT_MAX_LEN 20

/* Strict decimal integer in <lo>..<hi> (a range within int): an optional
 * '-', then digits and nothing else (no blanks, no '+', no base prefix),
 * <len> bytes in all, 1 to GWF_ARG_INT_MAX_LEN. <s> need not be
 * NUL-terminated. Returns 0 with the value in <*out>, or -1 (<*out>
 * untouched) if <s> is not such an integer. */
int gwf_arg_int(const char *s, size_t len, long lo, long hi, long *out);

#endif
