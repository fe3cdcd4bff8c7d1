/*
 * gwfailover - the state file: the ejections and half-open trials of the
 * gateways, written by the module's own process and restored at startup
 * (modparam state_file).
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_STATE_H
#define GWFAILOVER_STATE_H

#include <stdint.h>

/* Check state_file <path> (NULL or "": off). mod_init; -1 on a bad one. */
int gwf_state_init(const char *path);

/* Restore the file's entries before the first call is routed:
 * child_init(PROC_INIT), in the main process, after gwf_gw_learn_all(). */
void gwf_state_restore(void);

/* The resume process, every round: write the file if the state changed,
 * at most once a second. */
void gwf_state_tick(uint64_t now_ms);

/* Shutdown (mod_destroy, main process, workers gone): write it once more,
 * if it was restored at startup (a start that failed before that must
 * not wipe a good file). */
void gwf_state_final(void);

/* The configured path, "" if off (gwfailover.config). */
const char *gwf_state_path(void);

#endif
