/*
 * gwfailover - the differences between the Kamailio versions the module
 * builds against (5.6 and 6.0), in one place. VERSIONVAL is the core's
 * version as major * 1000000 + minor * 1000 + patch, from Makefile.defs.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_COMPAT_H
#define GWFAILOVER_COMPAT_H

#include "core/xavp.h"

#if !defined(VERSIONVAL)
#error "VERSIONVAL is not defined: build with the core's Makefile.defs"
#endif

#if VERSIONVAL >= 6000000
/* 6.0 made the integer xavp value a long. */
#define GWF_XTYPE_INT SR_XTYPE_LONG
#define GWF_XVAL_INT(x) ((x).v.l)
#else
#define GWF_XTYPE_INT SR_XTYPE_INT
#define GWF_XVAL_INT(x) ((x).v.i)
#endif

#endif
