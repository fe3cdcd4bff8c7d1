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

#include <stdint.h>

/* A module process sleeps at most this long between two rounds, so that it
 * runs cfg_update() at least once a second. */
#define GWF_WAKE_MAX_SLEEP_MS 1000

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

/* Drop pending signals without waiting, for an owner that sleeps on the
 * read end itself (in its own poll). The owning process only. */
void gwf_wake_drain(gwf_wake_t *w);

/* One round of a process loop: do what is due at <now_ms> (gwf_now_ms())
 * and return when the next thing is due, on the same clock; a time not
 * after <now_ms> means at once, UINT64_MAX nothing planned. */
typedef uint64_t (*gwf_wake_round_f)(uint64_t now_ms, void *arg);

/* Sleep until <w> is signalled, <timeout_ms> (>= 0) passed or the owner's
 * own sources need it, and drop pending signals. Returns 0, or -1 if it
 * could not wait (the loop then sleeps with gwf_wake_wait()). */
typedef int (*gwf_wake_wait_f)(gwf_wake_t *w, int timeout_ms, void *arg);

/* Run the main loop of a module process; never returns. Each turn:
 * cfg_update(), <round_fn>, then sleep until the time it returned, at most
 * GWF_WAKE_MAX_SLEEP_MS, with <wait_fn> (NULL: gwf_wake_wait()). <arg> goes
 * to both. The owning process only. */
void gwf_wake_loop(gwf_wake_t *w, gwf_wake_round_f round_fn,
		gwf_wake_wait_f wait_fn, void *arg);

void gwf_wake_destroy(gwf_wake_t *w);

/* The resume process's wake-up (gwfailover_tm.c), which the gateway table
 * and the event routes' queue also signal: created by the first call, so
 * every unit can ask for it in mod_init whatever the order of their inits.
 * The first call must come before fork. Returns NULL if it cannot be
 * created (logged). */
gwf_wake_t *gwf_wake_resume(void);
void gwf_wake_resume_destroy(void);

#endif
