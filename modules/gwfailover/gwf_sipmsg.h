/*
 * gwfailover - the few SIP message reads the core needs, on raw bytes.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#ifndef GWF_SIPMSG_H
#define GWF_SIPMSG_H

#include "gwf_types.h"

/* Largest Retry-After value reported; longer values are clamped to it. */
#define GWF_RETRY_AFTER_MAX_S 0x7fffffff

/* Retry-After delta-seconds (RFC 3261 20.33: delta-seconds [comment]
 * *(;params)) of the SIP message in <buf> (<len> bytes, start line first).
 *
 * Reads raw bytes because tm keeps replies as shared-memory clones whose
 * headers may not have been parsed, and parsing would allocate. Scans the
 * header lines (CRLF or LF) up to the first empty line; the header name is
 * matched case-insensitively with optional blanks before ':'. The first
 * Retry-After header counts. Returns the seconds (clamped to
 * GWF_RETRY_AFTER_MAX_S), or -1 when there is none or its value does not
 * start with a digit. */
int gwf_sip_retry_after(const char *buf, size_t len);

#endif
