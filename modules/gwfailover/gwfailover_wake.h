/*
 * gwfailover - wake a sleeping module process from any other process.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * The module's own processes (resume, webhook) sleep until their next
 * deadline instead of polling: an idle proxy then pays nothing for them.
 * Whoever gives such a process work earlier than its deadline (a delayed
 * call, an event) signals its wake-up: one byte into a non-blocking pipe
 * created before fork. The pipe is level-triggered, so a signal sent while
 * the owner is still working is not lost: its next wait returns at once.
 */

#ifndef GWFAILOVER_WAKE_H
#define GWFAILOVER_WAKE_H

typedef struct gwf_wake
{
	int rfd; /* read end: the sleeping process; -1 before init */
	int wfd; /* write end: everyone else */
} gwf_wake_t;

#define GWF_WAKE_INIT \
	{                 \
		-1, -1        \
	}

/* Create the pipe; mod_init only (before fork). Returns 0 or -1 (logged). */
int gwf_wake_init(gwf_wake_t *w, const char *what);

/* Wake the owner. Never blocks: a full pipe already holds a wake-up. Any
 * process; a no-op before init. */
void gwf_wake_signal(gwf_wake_t *w);

/* Sleep until signalled or <timeout_ms> (>= 0) passed, then drop pending
 * signals. The owning process only. */
void gwf_wake_wait(gwf_wake_t *w, int timeout_ms);

void gwf_wake_destroy(gwf_wake_t *w);

/* The resume process's wake-up (gwfailover_tm.c), which the gateway table
 * and the event routes' queue also signal: created by the first call, so
 * every unit can ask for it in mod_init whatever the order of their inits.
 * The first call must come before fork. Returns NULL if it cannot be
 * created (logged). */
gwf_wake_t *gwf_wake_resume(void);
void gwf_wake_resume_destroy(void);

#endif
