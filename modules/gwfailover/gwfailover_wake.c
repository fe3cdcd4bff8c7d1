/*
 * gwfailover - wake a sleeping module process from any other process.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"

#include "gwfailover.h"
#include "gwfailover_wake.h"

static int gwf_wake_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int gwf_wake_init(gwf_wake_t *w, const char *what)
{
	int fds[2];

	if(pipe(fds) < 0) {
		LM_ERR("cannot create the %s wake-up pipe: %s\n", what,
				strerror(errno));
		return -1;
	}
	if(gwf_wake_nonblock(fds[0]) < 0 || gwf_wake_nonblock(fds[1]) < 0) {
		LM_ERR("cannot make the %s wake-up pipe non-blocking: %s\n", what,
				strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	w->rfd = fds[0];
	w->wfd = fds[1];
	return 0;
}

void gwf_wake_signal(gwf_wake_t *w)
{
	char b = 1;

	if(w == NULL || w->wfd < 0)
		return;
	/* EAGAIN: the pipe is full of wake-ups already; EINTR: the owner
	 * wakes anyway at its deadline, and signals come again with work. */
	if(write(w->wfd, &b, 1) < 0 && errno != EAGAIN && errno != EINTR)
		LM_DBG("wake-up write failed: %s\n", strerror(errno));
}

void gwf_wake_wait(gwf_wake_t *w, int timeout_ms)
{
	struct pollfd p;

	p.fd = w->rfd;
	p.events = POLLIN;
	p.revents = 0;
	if(poll(&p, 1, timeout_ms) <= 0 || !(p.revents & POLLIN))
		return;
	gwf_wake_drain(w);
}

void gwf_wake_drain(gwf_wake_t *w)
{
	char buf[64];

	/* non-blocking: a short read means the pipe is empty */
	while(read(w->rfd, buf, sizeof(buf)) == (ssize_t)sizeof(buf))
		;
}

void gwf_wake_loop(gwf_wake_t *w, gwf_wake_round_f round_fn,
		gwf_wake_wait_f wait_fn, void *arg)
{
	uint64_t now, next;
	int timeout_ms;

	for(;;) {
		cfg_update();
		next = round_fn(gwf_now_ms(), arg);
		/* the round may have taken a while: measure from its end */
		now = gwf_now_ms();
		if(next <= now)
			timeout_ms = 0;
		else if(next - now >= GWF_WAKE_MAX_SLEEP_MS)
			timeout_ms = GWF_WAKE_MAX_SLEEP_MS;
		else
			timeout_ms = (int)(next - now);
		if(wait_fn == NULL || wait_fn(w, timeout_ms, arg) < 0)
			gwf_wake_wait(w, timeout_ms);
	}
}

void gwf_wake_destroy(gwf_wake_t *w)
{
	if(w->rfd >= 0)
		close(w->rfd);
	if(w->wfd >= 0)
		close(w->wfd);
	w->rfd = w->wfd = -1;
}

static gwf_wake_t _gwf_resume_wake = GWF_WAKE_INIT;

gwf_wake_t *gwf_wake_resume(void)
{
	if(_gwf_resume_wake.rfd < 0
			&& gwf_wake_init(&_gwf_resume_wake, "resume process") < 0)
		return NULL;
	return &_gwf_resume_wake;
}

void gwf_wake_resume_destroy(void)
{
	gwf_wake_destroy(&_gwf_resume_wake);
}
