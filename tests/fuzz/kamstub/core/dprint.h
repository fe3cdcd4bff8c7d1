/*
 * gwfailover fuzzing - stands in for Kamailio's core/dprint.h, so that a
 * module file that only logs (gwfailover_whbody.c) builds without the
 * Kamailio core: the log macros print to stderr.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWF_FUZZ_DPRINT_H
#define GWF_FUZZ_DPRINT_H

#include <stdio.h>

#define LM_GEN(lev, ...) fprintf(stderr, lev ": " __VA_ARGS__)
#define LM_CRIT(...) LM_GEN("CRITICAL", __VA_ARGS__)
#define LM_ERR(...) LM_GEN("ERROR", __VA_ARGS__)
#define LM_WARN(...) LM_GEN("WARNING", __VA_ARGS__)
#define LM_NOTICE(...) LM_GEN("NOTICE", __VA_ARGS__)
#define LM_INFO(...) LM_GEN("INFO", __VA_ARGS__)
#define LM_DBG(...) ((void)0)

#endif
