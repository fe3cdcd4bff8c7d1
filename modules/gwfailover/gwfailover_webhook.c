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

/* ---- the webhook process ----
 *
 * Everything below runs in the webhook process only, on its private (pkg)
 * memory. Each receiver (URL) has a FIFO backlog of deliveries; its head is
 * the current delivery: in flight, or waiting for its retry deadline. One
 * libcurl multi handle drives the transfers of all URLs, at most one per
 * URL, so a receiver that hangs holds back nobody but itself. */

typedef enum gwf_wh_rc
{
	GWF_WH_SENT = 0,
	GWF_WH_RETRY, /* connection error, timeout, 5xx */
	GWF_WH_GIVEUP /* 3xx, 4xx, or a local error */
} gwf_wh_rc_t;

/* One event as posted: body, signature header and the other headers,
 * built once and shared by the deliveries to every URL. */
typedef struct gwf_wh_body
{
	unsigned refs;			 /* deliveries still using it */
	char *json;				 /* from gwf_wh_body(): free() */
	size_t len;				 /* of json */
	struct curl_slist *hdrs; /* request headers */
	const char *what;		 /* event name, for the log */
} gwf_wh_body_t;

/* A delivery of a body to one URL, queued in that URL's backlog. */
typedef struct gwf_wh_item
{
	gwf_wh_body_t *body;
	struct gwf_wh_item *next;
} gwf_wh_item_t;

/* The delivery state of one URL. */
typedef struct gwf_wh_rcv
{
	int i;	 /* index of the URL: _gwf_wh_urls[i], status st[i] */
	CURL *h; /* one easy handle per URL, reused: keep-alive */
	gwf_wh_item_t *head, *tail;
	unsigned len;		 /* deliveries in the backlog, the head included */
	int in_flight;		 /* the head's transfer is in the multi handle */
	int attempt;		 /* of the head: 0 for the first try */
	uint64_t due_ms;	 /* the head starts then (monotonic; 0: now) */
	uint64_t overflowed; /* pending deliveries dropped since it was full */
	char errbuf[CURL_ERROR_SIZE];
} gwf_wh_rcv_t;

static CURLM *_gwf_wh_multi = NULL;
static gwf_wh_rcv_t _gwf_wh_rcv[GWF_WH_MAX_URLS];
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

static void gwf_wh_body_unref(gwf_wh_body_t *b)
{
	if(b == NULL || --b->refs > 0)
		return;
	curl_slist_free_all(b->hdrs);
	free(b->json);
	pkg_free(b);
}

/* Append header <h> to <*l>. Returns 0, or -1 (the whole list freed). */
static int gwf_wh_hdr(struct curl_slist **l, const char *h)
{
	struct curl_slist *n = curl_slist_append(*l, h);

	if(n == NULL) {
		curl_slist_free_all(*l);
		*l = NULL;
		return -1;
	}
	*l = n;
	return 0;
}

/* The body of <ev> with its next id, signed with webhook_secret if set,
 * and its headers, with one reference: the caller's. NULL if it cannot be
 * built (logged; an event that would have to go unsigned counts in
 * webhook_failed). */
static gwf_wh_body_t *gwf_wh_body_new(const gwf_event_t *ev, uint32_t sup)
{
	char id[48], sig[GWF_WH_SIG_MAX], sighdr[GWF_WH_SIG_MAX + 40];
	const char *secret = gwf_wh_params.secret;
	int with_sig = secret != NULL && *secret != '\0';
	gwf_wh_body_t *b;

	b = pkg_malloc(sizeof(*b));
	if(b == NULL) {
		PKG_MEM_ERROR;
		return NULL;
	}
	memset(b, 0, sizeof(*b));
	b->refs = 1;
	b->what = gwf_wh_event_name(ev);
	snprintf(id, sizeof(id), "%s-%llu", _gwf_wh_instance,
			(unsigned long long)++_gwf_wh_seq);
	b->json = gwf_wh_body(ev, id, _gwf_wh_node, sup);
	if(b->json == NULL)
		goto error;
	b->len = strlen(b->json);
	if(with_sig && gwf_wh_sign(secret, b->json, b->len, sig) < 0) {
		/* never post unsigned when receivers expect a signature */
		gwf_stat_inc(GWF_ST_WEBHOOK_FAILED);
		goto error;
	}
	if(with_sig)
		snprintf(sighdr, sizeof(sighdr), "X-Gwfailover-Signature: %s", sig);
	if(gwf_wh_hdr(&b->hdrs, "Content-Type: application/json") < 0
			|| gwf_wh_hdr(&b->hdrs, "User-Agent: gwfailover/" GWF_VERSION) < 0
			|| gwf_wh_hdr(&b->hdrs, "Expect:") < 0
			|| (with_sig && gwf_wh_hdr(&b->hdrs, sighdr) < 0)) {
		LM_ERR("webhook: out of memory for the headers of %s\n", b->what);
		goto error;
	}
	return b;
error:
	free(b->json);
	pkg_free(b);
	return NULL;
}

/* Take the head of <r>'s backlog off: its delivery is over. */
static void gwf_wh_pop_head(gwf_wh_rcv_t *r)
{
	gwf_wh_item_t *it = r->head;

	r->head = it->next;
	if(r->head == NULL)
		r->tail = NULL;
	r->len--;
	r->attempt = 0;
	r->due_ms = 0;
	gwf_wh_body_unref(it->body);
	pkg_free(it);
	if(r->len == 0 && r->overflowed > 0) {
		LM_NOTICE("webhook %s: caught up; %llu pending deliveries were"
				  " dropped\n",
				_gwf_wh_urls[r->i], (unsigned long long)r->overflowed);
		r->overflowed = 0;
	}
}

/* <r>'s backlog holds more than webhook_queue_size: drop its oldest
 * pending delivery, the one right after the head (the head is being
 * delivered and finishes first). A delivery never made counts as given up
 * for this URL: webhook_failed, like one whose retries ran out. */
static void gwf_wh_drop_oldest(gwf_wh_rcv_t *r)
{
	gwf_wh_item_t *it = r->head->next;

	r->head->next = it->next;
	if(r->tail == it)
		r->tail = r->head;
	r->len--;
	if(r->overflowed++ == 0)
		LM_WARN("webhook %s: more than %d deliveries waiting; dropping the"
				" oldest pending ones until it catches up\n",
				_gwf_wh_urls[r->i], gwf_wh_params.queue_size);
	gwf_stat_inc(GWF_ST_WEBHOOK_FAILED);
	gwf_wh_count(r->i, 0, 1);
	gwf_wh_body_unref(it->body);
	pkg_free(it);
}

/* Queue a delivery of <b> to <r>. */
static void gwf_wh_enqueue(gwf_wh_rcv_t *r, gwf_wh_body_t *b)
{
	gwf_wh_item_t *it = pkg_malloc(sizeof(*it));

	if(it == NULL) {
		PKG_MEM_ERROR;
		gwf_stat_inc(GWF_ST_WEBHOOK_FAILED);
		gwf_wh_count(r->i, 0, 1);
		return;
	}
	it->body = b;
	it->next = NULL;
	b->refs++;
	if(r->tail != NULL)
		r->tail->next = it;
	else
		r->head = it;
	r->tail = it;
	if(++r->len > (unsigned)gwf_wh_params.queue_size)
		gwf_wh_drop_oldest(r);
}

/* Queue <ev> for every URL, in URL order. */
static void gwf_wh_deliver(const gwf_event_t *ev, uint32_t suppressed)
{
	gwf_wh_body_t *b = gwf_wh_body_new(ev, suppressed);
	int i;

	if(b == NULL)
		return;
	for(i = 0; i < _gwf_wh_nurls; i++)
		gwf_wh_enqueue(&_gwf_wh_rcv[i], b);
	gwf_wh_body_unref(b); /* each queued delivery holds its own */
}

/* Can some URL take one more delivery? While none can, events stay in the
 * shared queue (which then drops new ones: webhook_dropped). */
static int gwf_wh_room(void)
{
	int i;

	for(i = 0; i < _gwf_wh_nurls; i++)
		if(_gwf_wh_rcv[i].len < (unsigned)gwf_wh_params.queue_size)
			return 1;
	return 0;
}

/* The attempt at the head of <r> ended with <rc> (status noted): sent,
 * retried at a deadline, or given up. */
static void gwf_wh_outcome(gwf_wh_rcv_t *r, gwf_wh_rc_t rc)
{
	const gwf_wh_params_t *p = &gwf_wh_params;
	uint64_t wait;

	if(rc == GWF_WH_SENT) {
		gwf_stat_inc(GWF_ST_WEBHOOK_SENT);
		gwf_wh_pop_head(r);
		return;
	}
	if(rc == GWF_WH_RETRY && r->attempt < p->retries) {
		/* base * 2^attempt, capped */
		wait = (uint64_t)p->retry_base_ms
			   << (r->attempt < 30 ? r->attempt : 30);
		if(wait > (uint64_t)p->retry_max_ms)
			wait = (uint64_t)p->retry_max_ms;
		gwf_stat_inc(GWF_ST_WEBHOOK_RETRIED);
		gwf_wh_count(r->i, 1, 0);
		r->attempt++;
		r->due_ms = gwf_now_ms() + wait;
		return;
	}
	gwf_stat_inc(GWF_ST_WEBHOOK_FAILED);
	gwf_wh_count(r->i, 0, 1);
	LM_WARN("webhook %s: %s not delivered after %d attempt%s: %s\n",
			_gwf_wh_urls[r->i], r->head->body->what, r->attempt + 1,
			r->attempt ? "s" : "", _gwf_wh_shm->st[r->i].last_error);
	gwf_wh_pop_head(r);
}

/* An attempt that could not even start: noted and given up. */
static void gwf_wh_local_error(gwf_wh_rcv_t *r, const char *err)
{
	gwf_wh_note(r->i, GWF_WH_GIVEUP, 0, err);
	LM_DBG("webhook %s: %s\n", _gwf_wh_urls[r->i], err);
	gwf_wh_outcome(r, GWF_WH_GIVEUP);
}

/* Start the next attempt of <r>'s head: one POST, added to the multi
 * handle. */
static void gwf_wh_start(gwf_wh_rcv_t *r)
{
	const gwf_wh_params_t *p = &gwf_wh_params;
	gwf_wh_body_t *b = r->head->body;
	char err[GWF_WH_ERR_MAX];
	CURLMcode mc;
	CURL *h = r->h;

	if(h == NULL) {
		h = r->h = curl_easy_init();
		if(h == NULL) {
			gwf_wh_local_error(r, "cannot create a curl handle");
			return;
		}
	}
	curl_easy_reset(h);
	r->errbuf[0] = '\0';
	if(curl_easy_setopt(h, CURLOPT_URL, _gwf_wh_urls[r->i]) != CURLE_OK) {
		gwf_wh_local_error(r, "curl refuses the URL");
		return;
	}
	curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, b->hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, b->json);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)b->len);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)p->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, p->verify_tls ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, p->verify_tls ? 2L : 0L);
	if(p->ca_file != NULL && *p->ca_file != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, p->ca_file);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);

	mc = curl_multi_add_handle(_gwf_wh_multi, h);
	if(mc != CURLM_OK) {
		snprintf(err, sizeof(err), "cannot start the request: %s",
				curl_multi_strerror(mc));
		gwf_wh_local_error(r, err);
		return;
	}
	r->in_flight = 1;
}

/* The transfer of <r> ended with <cc>: take it out of the multi handle
 * and classify it. */
static void gwf_wh_finished(gwf_wh_rcv_t *r, CURLcode cc)
{
	char err[GWF_WH_ERR_MAX];
	gwf_wh_rc_t rc;
	CURLMcode mc;
	long http = 0;

	mc = curl_multi_remove_handle(_gwf_wh_multi, r->h);
	if(mc != CURLM_OK)
		LM_ERR("webhook %s: cannot remove the finished request: %s\n",
				_gwf_wh_urls[r->i], curl_multi_strerror(mc));
	r->in_flight = 0;
	if(cc != CURLE_OK) {
		/* curl's message, cut to what the status keeps */
		snprintf(err, sizeof(err), "%.*s", (int)sizeof(err) - 1,
				r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc));
		rc = GWF_WH_RETRY;
	} else {
		curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &http);
		snprintf(err, sizeof(err), "HTTP %ld", http);
		rc = (http >= 200 && http < 300)
					 ? GWF_WH_SENT
					 : (http >= 500 ? GWF_WH_RETRY : GWF_WH_GIVEUP);
	}
	gwf_wh_note(r->i, rc, http, err);
	if(rc != GWF_WH_SENT)
		LM_DBG("webhook %s: %s\n", _gwf_wh_urls[r->i], err);
	gwf_wh_outcome(r, rc);
}

/* Handle the transfers libcurl reports done. Returns how many. */
static int gwf_wh_reap(void)
{
	gwf_wh_rcv_t *r;
	CURLMsg *m;
	CURLcode cc;
	CURL *h;
	char *priv;
	int left, n = 0;

	while((m = curl_multi_info_read(_gwf_wh_multi, &left)) != NULL) {
		if(m->msg != CURLMSG_DONE)
			continue;
		/* m is invalid once its handle is removed: copy first */
		h = m->easy_handle;
		cc = m->data.result;
		priv = NULL;
		curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
		r = (gwf_wh_rcv_t *)(void *)priv;
		if(r == NULL || r->h != h || !r->in_flight) {
			LM_CRIT("BUG: webhook: unknown transfer done\n");
			curl_multi_remove_handle(_gwf_wh_multi, h);
			continue;
		}
		gwf_wh_finished(r, cc);
		n++;
	}
	return n;
}

/* Start every URL whose head is due at <now> and not in flight. */
static void gwf_wh_start_due(uint64_t now)
{
	gwf_wh_rcv_t *r;
	int i;

	for(i = 0; i < _gwf_wh_nurls; i++) {
		r = &_gwf_wh_rcv[i];
		/* a local error gives the head up: the next one may start */
		while(r->head != NULL && !r->in_flight && r->due_ms <= now)
			gwf_wh_start(r);
	}
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

	if(ev->kind == GWF_EV_SET_DOWN || ev->kind == GWF_EV_SET_UP
			|| ev->kind == GWF_EV_SET_PANIC || ev->kind == GWF_EV_SET_CALM) {
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

/* When the loop must run again after <now>: the first retry deadline,
 * held event due, or libcurl timeout (gwf_wake_loop() caps it). */
static uint64_t gwf_wh_next_due(uint64_t now)
{
	uint64_t next = UINT64_MAX, t;
	gwf_wh_rcv_t *r;
	long curl_ms = -1;
	int i;

	for(i = 0; i < _gwf_wh_nurls; i++) {
		r = &_gwf_wh_rcv[i];
		if(r->head != NULL && !r->in_flight && r->due_ms < next)
			next = r->due_ms;
	}
	for(i = 0; i < _gwf_wh_nflaps; i++) {
		t = gwf_flap_next_due(&_gwf_wh_flaps[i].f, &_gwf_wh_flapcfg);
		if(t < next)
			next = t;
	}
	if(curl_multi_timeout(_gwf_wh_multi, &curl_ms) == CURLM_OK && curl_ms >= 0
			&& now + (uint64_t)curl_ms < next)
		next = now + (uint64_t)curl_ms;
	return next;
}

/* One round of the webhook process (gwf_wake_loop()): held events that
 * are due, new events into the backlogs, due attempts started, libcurl
 * driven; again while transfers end (each frees its URL for the next
 * delivery). */
static uint64_t gwf_wh_round(uint64_t now, void *arg)
{
	static int perform_failed = 0;
	gwf_event_t ev;
	CURLMcode mc;
	int running;

	for(;;) {
		gwf_wh_flap_flush(now);
		while(gwf_wh_room() && gwf_event_pop(_gwf_wh_sink, &ev) == 0)
			gwf_wh_handle(&ev, now);
		gwf_wh_start_due(now);
		mc = curl_multi_perform(_gwf_wh_multi, &running);
		if(mc != CURLM_OK && !perform_failed) {
			perform_failed = 1; /* once: it would repeat every round */
			LM_ERR("webhook: curl_multi_perform failed: %s\n",
					curl_multi_strerror(mc));
		}
		if(gwf_wh_reap() == 0)
			break;
		now = gwf_now_ms();
	}
	return gwf_wh_next_due(now);
}

/* Sleep in curl_multi_poll(): on the sockets of the transfers in flight
 * and on the wake-up pipe, which events signal. */
static int gwf_wh_wait(gwf_wake_t *w, int timeout_ms, void *arg)
{
	static int poll_failed = 0;
	struct curl_waitfd fd;
	CURLMcode mc;

	fd.fd = w->rfd;
	fd.events = CURL_WAIT_POLLIN;
	fd.revents = 0;
	mc = curl_multi_poll(_gwf_wh_multi, &fd, 1, timeout_ms, NULL);
	if(mc != CURLM_OK) {
		if(!poll_failed) {
			poll_failed = 1; /* once: it would repeat every round */
			LM_ERR("webhook: curl_multi_poll failed: %s\n",
					curl_multi_strerror(mc));
		}
		return -1;
	}
	gwf_wake_drain(w);
	return 0;
}

int gwf_wh_child_init(int rank)
{
	int pid, i;

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
		/* Without a multi handle nothing can be sent: exit (Kamailio then
		 * stops, as for any process that ends) rather than spin. */
		_gwf_wh_multi = curl_multi_init();
		if(_gwf_wh_multi == NULL) {
			LM_ERR("webhook process: cannot create a libcurl multi handle\n");
			exit(-1);
		}
		for(i = 0; i < _gwf_wh_nurls; i++)
			_gwf_wh_rcv[i].i = i;
		_gwf_wh_flapcfg.window_ms =
				(uint64_t)gwf_wh_params.flap_window_s * 1000u;
		_gwf_wh_flapcfg.max = (uint32_t)gwf_wh_params.flap_max;
		gwf_wake_loop(&_gwf_wh_wake, gwf_wh_round, gwf_wh_wait, NULL);
		exit(0); /* not reached */
	}
	return 0;
}
