/*
 * gwfailover - gateway state webhooks: a process of its own posts each
 * event as JSON with libcurl; everyone else only queues.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#ifndef GWFAILOVER_WEBHOOK_H
#define GWFAILOVER_WEBHOOK_H

#include <stdint.h>

#include "core/sr_module.h"

#define GWF_WH_MAX_URLS 8
#define GWF_WH_ERR_MAX 128

/* The webhook modparams (set by the core before mod_init). */
typedef struct gwf_wh_params
{
	int timeout_ms;
	int connect_timeout_ms;
	int verify_tls;
	char *ca_file;
	char *secret;
	int queue_size;
	int retries;
	int retry_base_ms;
	int retry_max_ms;
	int flap_window_s;
	int flap_max;
	char *node_name;
} gwf_wh_params_t;

extern gwf_wh_params_t gwf_wh_params;

/* modparam("gwfailover", "webhook_url", ...): checked and kept. */
int gwf_wh_param_url(modparam_t type, void *val);

/* Check the parameters, init libcurl, create the queue and ask for the
 * process; nothing when no URL is set. mod_init only. 0 or -1 (logged). */
int gwf_wh_init(void);

/* Fork the webhook process; child_init(PROC_MAIN). 0 or -1. */
int gwf_wh_child_init(int rank);

void gwf_wh_destroy(void);

/* Delivery figures of one URL, for RPC. */
typedef struct gwf_wh_status
{
	char url[256];
	uint64_t sent, failed, retried;
	int last_http_code;				 /* 0: none yet */
	char last_error[GWF_WH_ERR_MAX]; /* "": none */
	uint64_t last_error_ms;			 /* monotonic; 0: never */
	uint64_t last_success_ms;		 /* monotonic; 0: never */
} gwf_wh_status_t;

/* URLs configured; copy of the figures of URL <i>; queue depth and size.
 * Any process. */
int gwf_wh_url_count(void);
/* Configured URL <i> (any process, also without webhooks running: NULL
 * past the end) and the node name events carry. */
const char *gwf_wh_url(int i);
const char *gwf_wh_node(void);
int gwf_wh_status_get(int i, gwf_wh_status_t *out);
unsigned gwf_wh_queue_depth(void);
unsigned gwf_wh_queue_size(void);

#endif
