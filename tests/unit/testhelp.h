/*
 * gwfailover - shared helpers of the unit tests.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#ifndef GWF_TESTHELP_H
#define GWF_TESTHELP_H

/* cmocka.h needs these first. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

/* Length of a string literal, without its NUL. */
#define LIT_LEN(s) (sizeof(s) - 1)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
