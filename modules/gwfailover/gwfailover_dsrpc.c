/*
 * gwfailover - dispatcher RPC commands called in process, through an RPC
 * context of our own that feeds the arguments and captures the answer.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include <stdarg.h>
#include <string.h>

#include "core/dprint.h"
#include "core/rpc.h"
#include "core/rpc_lookup.h"
#include "core/sr_module.h"

#include "gwfailover_dsrpc.h"

static rpc_export_t *_gwf_ds_set_state_rpc = NULL;
static rpc_export_t *_gwf_ds_list_rpc = NULL;

typedef struct gwf_rpc_ctx
{
	/* arguments handed to the command, in order, as strings or ints */
	int nargs;
	struct
	{
		int is_int;
		int i;
		str s;
	} args[3];
	int next_arg;
	int fault_code;
	/* dispatcher.list capture */
	gwf_ds_dest_f on_dest;
	void *on_dest_arg;
	int cur_set;
	str cur_uri;
	/* what dispatcher.list reported, read or not (gwf_dswalk.h) */
	gwf_dswalk_tally_t tally;
} gwf_rpc_ctx_t;

static int gwf_rpc_scan(void *c, char *fmt, ...)
{
	gwf_rpc_ctx_t *ctx = (gwf_rpc_ctx_t *)c;
	va_list ap;
	int n = 0;

	va_start(ap, fmt);
	for(; *fmt; fmt++) {
		if(*fmt == '*' || *fmt == '.')
			continue; /* modifiers */
		if(ctx->next_arg >= ctx->nargs)
			break; /* no more arguments: optional ones stay unset */
		switch(*fmt) {
			case 'S':
				*va_arg(ap, str *) = ctx->args[ctx->next_arg].s;
				break;
			case 's':
				*va_arg(ap, char **) = ctx->args[ctx->next_arg].s.s;
				break;
			case 'd':
				*va_arg(ap, int *) = ctx->args[ctx->next_arg].i;
				break;
			default:
				LM_CRIT("BUG: unexpected scan format '%c'\n", *fmt);
				va_end(ap);
				return -1;
		}
		ctx->next_arg++;
		n++;
	}
	va_end(ap);
	return n;
}

static void gwf_rpc_fault(void *c, int code, char *fmt, ...)
{
	((gwf_rpc_ctx_t *)c)->fault_code = code;
	((gwf_rpc_ctx_t *)c)->tally.fault = code;
}

/* Consume the value of one format char from <ap>; capture what
 * dispatcher.list says about a destination, and count what it reports
 * (named structs and arrays whatever their names: if a dispatcher version
 * renamed the fields read here, the count still shows it listed
 * something). Handles point back at <ctx>. */
static int gwf_rpc_take(
		gwf_rpc_ctx_t *ctx, const char *name, char f, va_list *ap)
{
	int i;
	char *z;
	str *s;

	switch(f) {
		case '{':
		case '[':
			*va_arg(*ap, void **) = ctx;
			if(name != NULL)
				ctx->tally.nested++;
			if(name != NULL && strcmp(name, "DEST") == 0)
				ctx->tally.dests++;
			return 0;
		case 'd':
		case 'b':
		case 't':
			i = va_arg(*ap, int);
			if(name != NULL && strcmp(name, "ID") == 0)
				ctx->cur_set = i;
			else if(name != NULL && strcmp(name, "NRSETS") == 0)
				ctx->tally.nrsets = i;
			return 0;
		case 'u':
			(void)va_arg(*ap, unsigned int);
			return 0;
		case 'f':
			(void)va_arg(*ap, double);
			return 0;
		case 'l':
			(void)va_arg(*ap, long);
			return 0;
		case 'j':
			(void)va_arg(*ap, unsigned long);
			return 0;
		case 'L':
			(void)va_arg(*ap, long long);
			return 0;
		case 'J':
			(void)va_arg(*ap, unsigned long long);
			return 0;
		case 's':
			z = va_arg(*ap, char *);
			if(name != NULL && strcmp(name, "FLAGS") == 0
					&& ctx->on_dest != NULL && ctx->cur_uri.len > 0) {
				ctx->on_dest(ctx->cur_set, &ctx->cur_uri, z, ctx->on_dest_arg);
				ctx->cur_uri.len = 0;
				ctx->tally.captured++;
			}
			return 0;
		case 'S':
			s = va_arg(*ap, str *);
			if(name != NULL && strcmp(name, "URI") == 0 && s != NULL)
				ctx->cur_uri = *s;
			return 0;
		default:
			LM_CRIT("BUG: unexpected reply format '%c'\n", f);
			return -1;
	}
}

static int gwf_rpc_add(void *c, char *fmt, ...)
{
	va_list ap;
	int rc = 0;

	va_start(ap, fmt);
	for(; *fmt && rc == 0; fmt++)
		rc = gwf_rpc_take((gwf_rpc_ctx_t *)c, NULL, *fmt, &ap);
	va_end(ap);
	return rc;
}

static int gwf_rpc_struct_add(void *h, char *fmt, ...)
{
	va_list ap;
	const char *name;
	int rc = 0;

	va_start(ap, fmt);
	for(; *fmt && rc == 0; fmt++) {
		name = va_arg(ap, const char *);
		rc = gwf_rpc_take((gwf_rpc_ctx_t *)h, name, *fmt, &ap);
	}
	va_end(ap);
	return rc;
}

static int gwf_rpc_ignore(void *c, char *fmt, ...)
{
	return 0;
}

static int gwf_rpc_send(void *c)
{
	return 0;
}

static int gwf_rpc_struct_printf(void *c, char *name, char *fmt, ...)
{
	return 0;
}

static rpc_capabilities_t gwf_rpc_capabilities(void *c)
{
	return 0;
}

static struct rpc_delayed_ctx *gwf_rpc_delayed_new(void *c)
{
	return NULL;
}

static void gwf_rpc_delayed_close(struct rpc_delayed_ctx *d)
{
}

static rpc_t _gwf_rpc = {
		.fault = gwf_rpc_fault,
		.send = gwf_rpc_send,
		.add = gwf_rpc_add,
		.scan = gwf_rpc_scan,
		.rpl_printf = gwf_rpc_ignore,
		.struct_add = gwf_rpc_struct_add,
		.array_add = gwf_rpc_add,
		.struct_scan = gwf_rpc_ignore,
		.struct_printf = gwf_rpc_struct_printf,
		.capabilities = gwf_rpc_capabilities,
		.delayed_ctx_new = gwf_rpc_delayed_new,
		.delayed_ctx_close = gwf_rpc_delayed_close,
};

int gwf_dsrpc_init(void)
{
	_gwf_ds_set_state_rpc = find_rpc_export("dispatcher.set_state", 0);
	_gwf_ds_list_rpc = find_rpc_export("dispatcher.list", 0);
	if(_gwf_ds_set_state_rpc == NULL || _gwf_ds_list_rpc == NULL) {
		LM_ERR("dispatcher RPC commands not found: load dispatcher.so before"
			   " gwfailover.so\n");
		return -1;
	}
	return 0;
}

int gwf_ds_set_state(int set, str *uri, int active)
{
	gwf_rpc_ctx_t ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.nargs = 3;
	ctx.args[0].s.s = active ? "a" : "ip";
	ctx.args[0].s.len = active ? 1 : 2;
	ctx.args[1].is_int = 1;
	ctx.args[1].i = set;
	ctx.args[2].s = *uri;
	_gwf_ds_set_state_rpc->function(&_gwf_rpc, &ctx);
	if(ctx.fault_code != 0) {
		LM_WARN("dispatcher does not know gateway %.*s in set %d (fault %d):"
				" its state was not changed\n",
				uri->len, uri->s, set, ctx.fault_code);
		return -1;
	}
	return 0;
}

int gwf_ds_walk(gwf_ds_dest_f f, void *arg)
{
	return gwf_ds_walk_tally(f, arg, NULL);
}

int gwf_ds_walk_tally(gwf_ds_dest_f f, void *arg, gwf_dswalk_tally_t *tally)
{
	gwf_rpc_ctx_t ctx;

	memset(&ctx, 0, sizeof(ctx));
	gwf_dswalk_tally_init(&ctx.tally);
	/* "short": set, URI and flags are all we read */
	ctx.nargs = 1;
	ctx.args[0].s.s = "short";
	ctx.args[0].s.len = 5;
	ctx.on_dest = f;
	ctx.on_dest_arg = arg;
	_gwf_ds_list_rpc->function(&_gwf_rpc, &ctx);
	/* 500 "No Destination Sets" is an empty walk, not an error */
	if(tally != NULL)
		*tally = ctx.tally;
	return 0;
}
