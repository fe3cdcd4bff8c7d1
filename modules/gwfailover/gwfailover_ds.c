/*
 * gwfailover - what the module needs from the dispatcher module.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include "core/dprint.h"
#include "core/dset.h"
#include "core/kemi.h"
#include "core/sr_module.h"
#include "core/xavp.h"
#include "modules/dispatcher/api.h"

#include "gwfailover_compat.h"
#include "gwfailover_ds.h"
#include "gwfailover_dsrpc.h"

/* dispatch.h's DS_SETOP_DSTURI: next destination goes into $du. */
#define GWF_DS_SETOP_DSTURI 0

typedef int (*gwf_ds_is_active_uri_f)(sip_msg_t *msg, int set, str *uri);

static dispatcher_api_t _gwf_dsb;
static gwf_ds_is_active_uri_f _gwf_ds_is_active_uri = NULL;
static str _gwf_ds_xavp_dst = str_init("_dsdst_");
static str _gwf_ds_uri_name = str_init("uri");
static str _gwf_ds_grp_name = str_init("grp");
static str _gwf_ds_sock_name = str_init("sock");

/* Dispatcher keeps ds_is_active_uri() internal; its KEMI export is the one
 * stable way to reach it from another module. */
static int gwf_ds_bind_is_active(void)
{
	str mname = str_init("dispatcher");
	str fname = str_init("ds_is_active_uri");
	sr_kemi_module_t *km = sr_kemi_modules_get();
	int n = sr_kemi_modules_size_get();
	sr_kemi_t *k;
	int i;

	for(i = 0; i < n; i++) {
		if(km[i].mname.len == mname.len
				&& strncmp(km[i].mname.s, mname.s, mname.len) == 0) {
			k = sr_kemi_lookup(&mname, i, &fname);
			if(k != NULL && k->rtype == SR_KEMIP_INT
					&& k->ptypes[0] == SR_KEMIP_INT
					&& k->ptypes[1] == SR_KEMIP_STR) {
				_gwf_ds_is_active_uri = (gwf_ds_is_active_uri_f)k->func;
				return 0;
			}
		}
	}
	return -1;
}

int gwf_ds_init(void)
{
	struct sr_module *mod;
	modparam_t ptype;
	str *xname;

	if(dispatcher_load_api(&_gwf_dsb) < 0) {
		LM_ERR("cannot bind the dispatcher API: load dispatcher.so before"
			   " gwfailover.so\n");
		return -1;
	}
	if(gwf_dsrpc_init() < 0)
		return -1;
	if(gwf_ds_bind_is_active() < 0) {
		LM_ERR("dispatcher export ds_is_active_uri not found\n");
		return -1;
	}
	/* Follow the dispatcher's own xavp_dst setting. */
	mod = find_module_by_name("dispatcher");
	if(mod != NULL) {
		xname = find_param_export(mod, "xavp_dst", PARAM_STR, &ptype);
		if(xname != NULL && xname->s != NULL && xname->len > 0)
			_gwf_ds_xavp_dst = *xname;
	}
	return 0;
}

/* Field <name> of destination record <rec>, or NULL. */
static sr_xavp_t *gwf_ds_field(sr_xavp_t *rec, str *name)
{
	if(rec == NULL || rec->val.type != SR_XTYPE_XAVP)
		return NULL;
	return xavp_get(name, rec->val.v.xavp);
}

static sr_xavp_t *gwf_ds_head_field(str *name)
{
	return gwf_ds_field(xavp_get(&_gwf_ds_xavp_dst, NULL), name);
}

/* Set id and URI of destination record <rec>; 0 or -1. */
static int gwf_ds_record(sr_xavp_t *rec, int *set, str *uri)
{
	sr_xavp_t *u = gwf_ds_field(rec, &_gwf_ds_uri_name);
	sr_xavp_t *g = gwf_ds_field(rec, &_gwf_ds_grp_name);

	if(u == NULL || u->val.type != SR_XTYPE_STR || u->val.v.s.len <= 0
			|| g == NULL || g->val.type != GWF_XTYPE_INT)
		return -1;
	*uri = u->val.v.s;
	*set = (int)GWF_XVAL_INT(g->val);
	return 0;
}

int gwf_ds_head(int *set, str *uri)
{
	return gwf_ds_record(xavp_get(&_gwf_ds_xavp_dst, NULL), set, uri);
}

int gwf_ds_any_after_head(int (*ok)(int set, str *uri))
{
	sr_xavp_t *x = xavp_get(&_gwf_ds_xavp_dst, NULL);
	int set;
	str uri;

	for(x = x ? xavp_get_next(x) : NULL; x != NULL; x = xavp_get_next(x)) {
		if(gwf_ds_record(x, &set, &uri) == 0 && ok(set, &uri))
			return 1;
	}
	return 0;
}

int gwf_ds_next(sip_msg_t *msg)
{
	return _gwf_dsb.next(msg, GWF_DS_SETOP_DSTURI) < 0 ? -1 : 0;
}

int gwf_ds_use_head(sip_msg_t *msg)
{
	sr_xavp_t *s;
	int set;
	str uri;

	if(gwf_ds_head(&set, &uri) < 0)
		return -1;
	if(set_dst_uri(msg, &uri) < 0)
		return -1;
	ruri_mark_new();
	s = gwf_ds_head_field(&_gwf_ds_sock_name);
	if(s != NULL && s->val.type == SR_XTYPE_VPTR && s->val.v.vptr != NULL)
		msg->force_send_socket = (struct socket_info *)s->val.v.vptr;
	return 0;
}

int gwf_ds_is_active(int set, str *uri)
{
	/* ds_is_active_uri() does not look at the message. */
	return _gwf_ds_is_active_uri(NULL, set, uri) > 0 ? 1 : 0;
}
