/*
 * gwfailover - gateway state webhooks: a process of its own posts each
 * event as JSON with libcurl; SIP workers only queue.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"
#include "core/locking.h"
#include "core/mem/mem.h"
#include "core/mem/shm_mem.h"
#include "core/pt.h"

#include "gwf_flap.h"
#include "gwfailover.h"
#include "gwfailover_event.h"
#include "gwfailover_stats.h"
#include "gwfailover_wake.h"
#include "gwfailover_webhook.h"
#include "gwfailover_whbody.h"

/* The webhook process sleeps at most this long (for cfg_update()); events
 * and the end of a flapping window wake it earlier. */
#define GWF_WH_MAX_SLEEP_MS 1000

/* clang-format off */
gwf_wh_params_t gwf_wh_params = {
	.timeout_ms = 3000,
	.connect_timeout_ms = 1000,
	.verify_tls = 1,
	.ca_file = "",
	.secret = "",
	.queue_size = 256,
	.retries = 3,
	.retry_base_ms = 500,
	.retry_max_ms = 10000,
	.flap_window_s = 60,
	.flap_max = 4,
	.node_name = NULL,
};
/* clang-format on */

/* URLs from the config, in order (pkg, then inherited by the process). */
static char *_gwf_wh_urls[GWF_WH_MAX_URLS];
static int _gwf_wh_nurls = 0;

/* Shared with RPC: one status per URL, under one lock. */
typedef struct gwf_wh_shared
{
	gen_lock_t lock;
	gwf_wh_status_t st[GWF_WH_MAX_URLS];
} gwf_wh_shared_t;

static gwf_wh_shared_t *_gwf_wh_shm = NULL;
static gwf_evsink_t *_gwf_wh_sink = NULL;
static gwf_wake_t _gwf_wh_wake = GWF_WAKE_INIT;
static char _gwf_wh_instance[17]; /* 16 hex digits: this Kamailio run */
static char _gwf_wh_node[256];

int gwf_wh_param_url(modparam_t type, void *val)
{
	const char *url = (const char *)val;
	char *scheme = NULL, *host = NULL;
	CURLU *u;
	CURLUcode rc;
	int ok;

	if(url == NULL || *url == '\0') {
		LM_ERR("modparam 'webhook_url': empty URL\n");
		return -1;
	}
	if(_gwf_wh_nurls >= GWF_WH_MAX_URLS) {
		LM_ERR("modparam 'webhook_url': at most %d URLs\n", GWF_WH_MAX_URLS);
		return -1;
	}
	u = curl_url();
	if(u == NULL) {
		LM_ERR("modparam 'webhook_url': out of memory\n");
		return -1;
	}
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if(rc != CURLUE_OK) {
		LM_ERR("modparam 'webhook_url': malformed URL '%s': %s (expected"
			   " http://host[:port]/path or https://...)\n",
				url, curl_url_strerror(rc));
		curl_url_cleanup(u);
		return -1;
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	ok = scheme != NULL
		 && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
	if(!ok)
		LM_ERR("modparam 'webhook_url': '%s': the scheme must be http or"
			   " https\n",
				url);
	else if(host == NULL || *host == '\0') {
		LM_ERR("modparam 'webhook_url': '%s': no host\n", url);
		ok = 0;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	if(!ok)
		return -1;
	_gwf_wh_urls[_gwf_wh_nurls] = pkg_malloc(strlen(url) + 1);
	if(_gwf_wh_urls[_gwf_wh_nurls] == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	strcpy(_gwf_wh_urls[_gwf_wh_nurls++], url);
	return 0;
}

/* 16 random hex digits naming this run of Kamailio in event ids. */
static void gwf_wh_make_instance(void)
{
	unsigned long long r = 0;
	int fd = open("/dev/urandom", O_RDONLY);

	if(fd < 0 || read(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		r = ((unsigned long long)time(NULL) << 20)
			^ (unsigned long long)getpid() ^ (unsigned long long)gwf_now_ms();
	if(fd >= 0)
		close(fd);
	snprintf(_gwf_wh_instance, sizeof(_gwf_wh_instance), "%016llx", r);
}

int gwf_wh_init(void)
{
	const gwf_wh_params_t *p = &gwf_wh_params;
	int rc = 0, i;

	rc |= gwf_check_int("webhook_timeout_ms", p->timeout_ms, 1, 600000);
	rc |= gwf_check_int(
			"webhook_connect_timeout_ms", p->connect_timeout_ms, 1, 600000);
	rc |= gwf_check_int("webhook_verify_tls", p->verify_tls, 0, 1);
	rc |= gwf_check_int("webhook_queue_size", p->queue_size, 1, 65536);
	rc |= gwf_check_int("webhook_retries", p->retries, 0, 20);
	rc |= gwf_check_int("webhook_retry_base_ms", p->retry_base_ms, 0, 600000);
	rc |= gwf_check_int("webhook_retry_max_ms", p->retry_max_ms, 0, 600000);
	rc |= gwf_check_int("webhook_flap_window_s", p->flap_window_s, 1, 86400);
	rc |= gwf_check_int("webhook_flap_max", p->flap_max, 1, 1000);
	if(rc != 0)
		return -1;
	if(p->ca_file != NULL && *p->ca_file != '\0'
			&& access(p->ca_file, R_OK) != 0) {
		LM_ERR("modparam 'webhook_ca_file': cannot read '%s': %s\n", p->ca_file,
				strerror(errno));
		return -1;
	}
	if(p->node_name != NULL && strlen(p->node_name) >= sizeof(_gwf_wh_node)) {
		LM_ERR("modparam 'node_name' is too long (%zu bytes, at most %zu)\n",
				strlen(p->node_name), sizeof(_gwf_wh_node) - 1);
		return -1;
	}
	if(p->node_name != NULL && *p->node_name != '\0') {
		snprintf(_gwf_wh_node, sizeof(_gwf_wh_node), "%s", p->node_name);
	} else if(gethostname(_gwf_wh_node, sizeof(_gwf_wh_node) - 1) != 0) {
		snprintf(_gwf_wh_node, sizeof(_gwf_wh_node), "kamailio");
	}
	_gwf_wh_node[sizeof(_gwf_wh_node) - 1] = '\0';
	if(_gwf_wh_nurls == 0)
		return 0; /* webhooks off: no queue, no process */

	if(curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
		LM_ERR("cannot initialise libcurl\n");
		return -1;
	}
	_gwf_wh_shm = shm_malloc(sizeof(*_gwf_wh_shm));
	if(_gwf_wh_shm == NULL) {
		SHM_MEM_ERROR_FMT("webhook status\n");
		return -1;
	}
	memset(_gwf_wh_shm, 0, sizeof(*_gwf_wh_shm));
	if(lock_init(&_gwf_wh_shm->lock) == NULL) {
		LM_ERR("cannot init the webhook status lock\n");
		return -1;
	}
	for(i = 0; i < _gwf_wh_nurls; i++)
		snprintf(_gwf_wh_shm->st[i].url, sizeof(_gwf_wh_shm->st[i].url), "%s",
				_gwf_wh_urls[i]);
	if(gwf_wake_init(&_gwf_wh_wake, "webhook process") < 0)
		return -1;
	_gwf_wh_sink = gwf_event_add_sink((1u << GWF_EV_KINDS) - 1,
			(unsigned)p->queue_size, GWF_ST_WEBHOOK_QUEUED,
			GWF_ST_WEBHOOK_DROPPED, &_gwf_wh_wake);
	if(_gwf_wh_sink == NULL)
		return -1;
	gwf_wh_make_instance();
	register_procs(1);
	cfg_register_child(1);
	return 0;
}

void gwf_wh_destroy(void)
{
	if(_gwf_wh_shm != NULL) {
		lock_destroy(&_gwf_wh_shm->lock);
		shm_free(_gwf_wh_shm);
		_gwf_wh_shm = NULL;
	}
	gwf_wake_destroy(&_gwf_wh_wake);
}

const char *gwf_wh_url(int i)
{
	return (i >= 0 && i < _gwf_wh_nurls) ? _gwf_wh_urls[i] : NULL;
}

const char *gwf_wh_node(void)
{
	return _gwf_wh_node;
}

int gwf_wh_url_count(void)
{
	return _gwf_wh_shm != NULL ? _gwf_wh_nurls : 0;
}

int gwf_wh_status_get(int i, gwf_wh_status_t *out)
{
	if(_gwf_wh_shm == NULL || i < 0 || i >= _gwf_wh_nurls)
		return -1;
	lock_get(&_gwf_wh_shm->lock);
	*out = _gwf_wh_shm->st[i];
	lock_release(&_gwf_wh_shm->lock);
	return 0;
}

unsigned gwf_wh_queue_depth(void)
{
	return gwf_event_depth(_gwf_wh_sink);
}

unsigned gwf_wh_queue_size(void)
{
	return gwf_event_capacity(_gwf_wh_sink);
}

/* ---- the webhook process ---- */

typedef enum gwf_wh_rc
{
	GWF_WH_SENT = 0,
	GWF_WH_RETRY, /* connection error, timeout, 5xx */
	GWF_WH_GIVEUP /* 3xx, 4xx, or a local error */
} gwf_wh_rc_t;

static CURL *_gwf_wh_curl[GWF_WH_MAX_URLS]; /* one per URL: keep-alive */
static uint64_t _gwf_wh_seq = 0;

/* Per-gateway flapping state (process-local). */
typedef struct gwf_wh_flapent
{
	int set_id;
	char uri[GWF_URI_MAX + 1];
	gwf_flap_t f;
	gwf_event_t held; /* newest held event, valid when f.held > 0 */
} gwf_wh_flapent_t;

static gwf_wh_flapent_t *_gwf_wh_flaps = NULL;
static int _gwf_wh_nflaps = 0, _gwf_wh_maxflaps = 0;
static gwf_flap_cfg_t _gwf_wh_flapcfg;

static void gwf_wh_note(int i, gwf_wh_rc_t rc, long http, const char *err)
{
	gwf_wh_status_t *st = &_gwf_wh_shm->st[i];

	lock_get(&_gwf_wh_shm->lock);
	if(http > 0)
		st->last_http_code = (int)http;
	if(rc == GWF_WH_SENT) {
		st->sent++;
		st->last_success_ms = gwf_now_ms();
	} else {
		snprintf(st->last_error, sizeof(st->last_error), "%s", err);
		st->last_error_ms = gwf_now_ms();
	}
	lock_release(&_gwf_wh_shm->lock);
}

static void gwf_wh_count(int i, int retried, int failed)
{
	lock_get(&_gwf_wh_shm->lock);
	_gwf_wh_shm->st[i].retried += (uint64_t)retried;
	_gwf_wh_shm->st[i].failed += (uint64_t)failed;
	lock_release(&_gwf_wh_shm->lock);
}

/* One POST of <body> to URL <i>. */
static gwf_wh_rc_t gwf_wh_post(int i, const char *body, const char *sig)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	char err[GWF_WH_ERR_MAX];
	struct curl_slist *hdrs = NULL;
	char sighdr[GWF_WH_SIG_MAX + 40];
	CURL *h = _gwf_wh_curl[i];
	const gwf_wh_params_t *p = &gwf_wh_params;
	gwf_wh_rc_t rc;
	CURLcode cc;
	long http = 0;

	if(h == NULL) {
		h = _gwf_wh_curl[i] = curl_easy_init();
		if(h == NULL) {
			gwf_wh_note(i, GWF_WH_GIVEUP, 0, "cannot create a curl handle");
			return GWF_WH_GIVEUP;
		}
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "User-Agent: gwfailover/" GWF_VERSION);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if(sig != NULL) {
		snprintf(sighdr, sizeof(sighdr), "X-Gwfailover-Signature: %s", sig);
		hdrs = curl_slist_append(hdrs, sighdr);
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, _gwf_wh_urls[i]);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)p->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, p->verify_tls ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, p->verify_tls ? 2L : 0L);
	if(p->ca_file != NULL && *p->ca_file != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, p->ca_file);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);

	cc = curl_easy_perform(h);
	curl_slist_free_all(hdrs);
	if(cc != CURLE_OK) {
		/* curl's message, cut to what the status keeps */
		snprintf(err, sizeof(err), "%.*s", (int)sizeof(err) - 1,
				errbuf[0] ? errbuf : curl_easy_strerror(cc));
		rc = GWF_WH_RETRY;
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
		snprintf(err, sizeof(err), "HTTP %ld", http);
		rc = (http >= 200 && http < 300)
					 ? GWF_WH_SENT
					 : (http >= 500 ? GWF_WH_RETRY : GWF_WH_GIVEUP);
	}
	gwf_wh_note(i, rc, http, err);
	if(rc != GWF_WH_SENT)
		LM_DBG("webhook %s: %s\n", _gwf_wh_urls[i], err);
	return rc;
}

/* Deliver one body to URL <i>, with retries. */
static void gwf_wh_deliver_url(
		int i, const char *body, const char *sig, const char *what)
{
	const gwf_wh_params_t *p = &gwf_wh_params;
	gwf_wh_rc_t rc;
	uint64_t wait;
	int attempt;

	for(attempt = 0;; attempt++) {
		rc = gwf_wh_post(i, body, sig);
		if(rc == GWF_WH_SENT) {
			gwf_stat_inc(GWF_ST_WEBHOOK_SENT);
			return;
		}
		if(rc == GWF_WH_GIVEUP || attempt >= p->retries)
			break;
		/* base * 2^attempt, capped */
		wait = (uint64_t)p->retry_base_ms << (attempt < 30 ? attempt : 30);
		if(wait > (uint64_t)p->retry_max_ms)
			wait = (uint64_t)p->retry_max_ms;
		gwf_stat_inc(GWF_ST_WEBHOOK_RETRIED);
		gwf_wh_count(i, 1, 0);
		if(wait > 0)
			usleep((useconds_t)(wait * 1000u));
	}
	gwf_stat_inc(GWF_ST_WEBHOOK_FAILED);
	gwf_wh_count(i, 0, 1);
	LM_WARN("webhook %s: %s not delivered after %d attempt%s: %s\n",
			_gwf_wh_urls[i], what, attempt + 1, attempt ? "s" : "",
			_gwf_wh_shm->st[i].last_error);
}

/* Post <ev> to every URL, in URL order. */
static void gwf_wh_deliver(const gwf_event_t *ev, uint32_t suppressed)
{
	char id[48], sig[GWF_WH_SIG_MAX];
	const char *secret = gwf_wh_params.secret;
	char *body;
	int i, signed_ok = 0;

	snprintf(id, sizeof(id), "%s-%llu", _gwf_wh_instance,
			(unsigned long long)++_gwf_wh_seq);
	body = gwf_wh_body(ev, id, _gwf_wh_node, suppressed);
	if(body == NULL)
		return;
	if(secret != NULL && *secret != '\0')
		signed_ok = gwf_wh_sign(secret, body, strlen(body), sig) == 0;
	if(secret != NULL && *secret != '\0' && !signed_ok) {
		/* never post unsigned when receivers expect a signature */
		gwf_stat_inc(GWF_ST_WEBHOOK_FAILED);
		free(body);
		return;
	}
	for(i = 0; i < _gwf_wh_nurls; i++)
		gwf_wh_deliver_url(
				i, body, signed_ok ? sig : NULL, gwf_wh_event_name(ev));
	free(body);
}

static gwf_wh_flapent_t *gwf_wh_flap_get(const gwf_event_t *ev)
{
	gwf_wh_flapent_t *e;
	int i, n;

	for(i = 0; i < _gwf_wh_nflaps; i++) {
		e = &_gwf_wh_flaps[i];
		if(e->set_id == ev->set_id && strcmp(e->uri, ev->uri) == 0)
			return e;
	}
	if(_gwf_wh_nflaps == _gwf_wh_maxflaps) {
		n = _gwf_wh_maxflaps ? 2 * _gwf_wh_maxflaps : 16;
		e = pkg_realloc(_gwf_wh_flaps, (size_t)n * sizeof(*e));
		if(e == NULL) {
			PKG_MEM_ERROR;
			return NULL;
		}
		_gwf_wh_flaps = e;
		_gwf_wh_maxflaps = n;
	}
	e = &_gwf_wh_flaps[_gwf_wh_nflaps++];
	memset(e, 0, sizeof(*e));
	e->set_id = ev->set_id;
	snprintf(e->uri, sizeof(e->uri), "%s", ev->uri);
	return e;
}

/* Post the held events whose window is over; forget idle gateways. */
static void gwf_wh_flap_flush(uint64_t now)
{
	gwf_wh_flapent_t *e;
	uint32_t sup;
	int i;

	for(i = 0; i < _gwf_wh_nflaps;) {
		e = &_gwf_wh_flaps[i];
		if(gwf_flap_due(&e->f, &_gwf_wh_flapcfg, now, &sup)) {
			gwf_flap_released(&e->f, now);
			gwf_wh_deliver(&e->held, sup);
		}
		if(gwf_flap_idle(&e->f, &_gwf_wh_flapcfg, now)) {
			_gwf_wh_flaps[i] = _gwf_wh_flaps[--_gwf_wh_nflaps];
			continue;
		}
		i++;
	}
}

static void gwf_wh_handle(const gwf_event_t *ev, uint64_t now)
{
	gwf_wh_flapent_t *e;
	uint32_t sup;

	if(ev->kind == GWF_EV_SET_DOWN || ev->kind == GWF_EV_SET_UP) {
		gwf_wh_deliver(ev, 0); /* never suppressed */
		return;
	}
	e = gwf_wh_flap_get(ev);
	if(e == NULL) {
		gwf_wh_deliver(ev, 0);
		return;
	}
	if(gwf_flap_due(&e->f, &_gwf_wh_flapcfg, now, &sup)) {
		gwf_flap_released(&e->f, now);
		gwf_wh_deliver(&e->held, sup);
	}
	if(gwf_flap_offer(&e->f, &_gwf_wh_flapcfg, now) == GWF_FLAP_POST) {
		gwf_wh_deliver(ev, 0);
	} else {
		e->held = *ev;
		gwf_stat_inc(GWF_ST_WEBHOOK_SUPPRESSED);
	}
}

/* How long the loop may sleep at <now>: until the first held event is
 * due, at most GWF_WH_MAX_SLEEP_MS. */
static int gwf_wh_sleep_ms(uint64_t now)
{
	uint64_t next = now + GWF_WH_MAX_SLEEP_MS, t;
	int i;

	for(i = 0; i < _gwf_wh_nflaps; i++) {
		t = gwf_flap_next_due(&_gwf_wh_flaps[i].f, &_gwf_wh_flapcfg);
		if(t < next)
			next = t;
	}
	return next > now ? (int)(next - now) : 0;
}

static void gwf_wh_loop(void)
{
	gwf_event_t ev;
	uint64_t now;

	_gwf_wh_flapcfg.window_ms = (uint64_t)gwf_wh_params.flap_window_s * 1000u;
	_gwf_wh_flapcfg.max = (uint32_t)gwf_wh_params.flap_max;
	for(;;) {
		cfg_update();
		now = gwf_now_ms();
		gwf_wh_flap_flush(now);
		if(gwf_event_pop(_gwf_wh_sink, &ev) == 0) {
			gwf_wh_handle(&ev, now);
			continue;
		}
		gwf_wake_wait(&_gwf_wh_wake, gwf_wh_sleep_ms(gwf_now_ms()));
	}
}

int gwf_wh_child_init(int rank)
{
	int pid;

	if(rank != PROC_MAIN || _gwf_wh_sink == NULL)
		return 0;
	pid = fork_process(PROC_NOCHLDINIT, "gwfailover webhook", 1);
	if(pid < 0) {
		LM_ERR("cannot fork the webhook process\n");
		return -1;
	}
	if(pid == 0) {
		if(cfg_child_init() != 0)
			exit(-1);
		gwf_wh_loop(); /* never returns */
		exit(0);
	}
	return 0;
}
