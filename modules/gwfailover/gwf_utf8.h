/*
 * gwfailover - making text well-formed UTF-8 for the webhook bodies.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 *
 * JSON text must be UTF-8 (RFC 8259 section 8.1), but what the module
 * puts in a webhook body comes from outside as bytes: a gateway URI from
 * the dispatcher list or an RPC command, the node name from the
 * configuration. Kamailio's JSON writer escapes quotes and control
 * characters and copies every other byte as it is, so a URI with a byte
 * such as 0xff would make a body that receivers reject.
 */

#ifndef GWF_UTF8_H
#define GWF_UTF8_H

#include "gwf_types.h"

/* Bytes gwf_utf8_clean() needs for any input of <n> bytes: each byte may
 * become U+FFFD (3 bytes), and the NUL. */
#define GWF_UTF8_ROOM(n) (3 * (size_t)(n) + 1)

/* Length of the well-formed UTF-8 sequence (RFC 3629) at <s>, of which
 * <n> bytes are readable, or 0 if none starts there: a stray continuation
 * byte, an overlong form, a UTF-16 surrogate, a code point above
 * U+10FFFF, a byte never used (0xc0, 0xc1, 0xf5-0xff), or a sequence cut
 * short. 1 for an ASCII byte, NUL included. */
size_t gwf_utf8_seq(const char *s, size_t n);

/* Copy the NUL-terminated <in> into <out> (<size> bytes) as well-formed
 * UTF-8: each byte of <in> that does not start a well-formed sequence is
 * replaced by U+FFFD (EF BF BD), every other sequence is kept as it is.
 * Stops before a character that does not fit, so with
 * GWF_UTF8_ROOM(strlen(in)) bytes nothing is cut. <out> is always
 * NUL-terminated (if <size> > 0). Returns the length written. */
size_t gwf_utf8_clean(const char *in, char *out, size_t size);

#endif
