/*
 * gwfailover - module interface: parameters, exports, init and destroy.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include <string.h>

#include "core/dprint.h"
#include "core/globals.h"
#include "core/mem/mem.h"
#include "core/sr_module.h"

#include "core/kemi.h"
#include "core/route.h"

#include "gwfailover.h"
#include "gwfailover_ds.h"
#include "gwfailover_event.h"
#include "gwfailover_gw.h"
#include "gwfailover_pv.h"
#include "gwfailover_rpc.h"
#include "gwfailover_state.h"
#include "gwfailover_stats.h"
#include "gwfailover_tm.h"
#include "gwfailover_webhook.h"

MODULE_VERSION

/* modparam variables, named after their parameter */
static int gwf_failure_threshold = 5;
static int gwf_eject_time_s = 30;
static int gwf_trial_calls = 1;
static int gwf_trial_successes = 1;
static int gwf_eject_time_max_s = 0; /* 0: ten times eject_time_s */
static int gwf_eject_jitter_percent = 10;
static int gwf_eject_decay_successes = 20;
static int gwf_max_ejected_percent = 99;
static unsigned gwf_dry_run = 0;
static int gwf_silence_ms = 800;
/* -1: GWF_SILENCE_FLOOR_MS, or silence_ms if that is shorter */
static int gwf_silence_floor_ms = -1;
static int gwf_silence_invites = 3;
static int gwf_rescue = 1;
static int gwf_default_rules = 1;
static int gwf_delay_base_ms = 100;
static int gwf_delay_min_ms = 0;
static int gwf_delay_max_ms = 2000;
static gwf_jitter_t gwf_jitter = GWF_JITTER_FULL;
static int gwf_max_attempts = 4;
static int gwf_time_budget_ms = 10000;
static int gwf_retry_after_min_s = 1;
static int gwf_retry_after_max_s = 300;
static int gwf_max_gateways = 1024;
static int gwf_exhausted_code = 0;
static char *gwf_exhausted_reason = "No gateway available";
static str gwf_event_callback = STR_NULL;
static str gwf_failover_callback = STR_NULL;
static char *gwf_progress_reply = "";
static char *gwf_state_file = "";

/* The 'rule' lines in config order, kept (pkg) until mod_init layers them on
 * top of the default table; each was already checked when it was parsed. */
typedef struct gwf_rule_line
{
	char *spec;
	struct gwf_rule_line *next;
} gwf_rule_line_t;
static gwf_rule_line_t *_gwf_rule_lines = NULL;

static int gwf_param_rule(modparam_t type, void *val);
static int gwf_param_jitter(modparam_t type, void *val);
static int gwf_param_dry_run(modparam_t type, void *val);
static int gwf_param_progress_reply(modparam_t type, void *val);
static int mod_init(void);
static int child_init(int rank);
static void mod_destroy(void);
static int w_gwf_failover(sip_msg_t *msg, char *p1, char *p2);
static int w_gwf_resume(sip_msg_t *msg, char *p1, char *p2);

/* clang-format off */
static cmd_export_t cmds[] = {
	{"gwf_failover", (cmd_function)w_gwf_failover, 0, 0, 0, FAILURE_ROUTE},
	/* internal: run by t_continue() in the resume process */
	{"_gwf_resume",  (cmd_function)w_gwf_resume,   0, 0, 0, FAILURE_ROUTE},
	{0, 0, 0, 0, 0, 0}
};

static param_export_t params[] = {
	{"failure_threshold",  PARAM_INT, &gwf_failure_threshold},
	{"eject_time_s",       PARAM_INT, &gwf_eject_time_s},
	{"trial_calls",        PARAM_INT, &gwf_trial_calls},
	{"trial_successes",    PARAM_INT, &gwf_trial_successes},
	{"eject_time_max_s",   PARAM_INT, &gwf_eject_time_max_s},
	{"eject_jitter_percent", PARAM_INT, &gwf_eject_jitter_percent},
	{"eject_decay_successes", PARAM_INT, &gwf_eject_decay_successes},
	{"max_ejected_percent", PARAM_INT, &gwf_max_ejected_percent},
	{"dry_run",            PARAM_STRING | PARAM_USE_FUNC, (void *)gwf_param_dry_run},
	{"silence_ms",         PARAM_INT, &gwf_silence_ms},
	{"silence_floor_ms",   PARAM_INT, &gwf_silence_floor_ms},
	{"silence_invites",    PARAM_INT, &gwf_silence_invites},
	{"rescue",             PARAM_INT, &gwf_rescue},
	{"rule",               PARAM_STRING | PARAM_USE_FUNC, (void *)gwf_param_rule},
	{"default_rules",      PARAM_INT, &gwf_default_rules},
	{"delay_base_ms",      PARAM_INT, &gwf_delay_base_ms},
	{"delay_min_ms",       PARAM_INT, &gwf_delay_min_ms},
	{"delay_max_ms",       PARAM_INT, &gwf_delay_max_ms},
	{"jitter",             PARAM_STRING | PARAM_USE_FUNC, (void *)gwf_param_jitter},
	{"max_attempts",       PARAM_INT, &gwf_max_attempts},
	{"time_budget_ms",     PARAM_INT, &gwf_time_budget_ms},
	{"retry_after_min_s",  PARAM_INT, &gwf_retry_after_min_s},
	{"retry_after_max_s",  PARAM_INT, &gwf_retry_after_max_s},
	{"max_gateways",       PARAM_INT, &gwf_max_gateways},
	{"exhausted_code",     PARAM_INT, &gwf_exhausted_code},
	{"exhausted_reason",   PARAM_STRING, &gwf_exhausted_reason},
	{"event_callback",     PARAM_STR, &gwf_event_callback},
	{"failover_callback",  PARAM_STR, &gwf_failover_callback},
	{"state_file",         PARAM_STRING, &gwf_state_file},
	{"progress_reply",     PARAM_STRING | PARAM_USE_FUNC, (void *)gwf_param_progress_reply},
	{"webhook_url",        PARAM_STRING | PARAM_USE_FUNC, (void *)gwf_wh_param_url},
	{"webhook_timeout_ms", PARAM_INT, &gwf_wh_params.timeout_ms},
	{"webhook_connect_timeout_ms", PARAM_INT, &gwf_wh_params.connect_timeout_ms},
	{"webhook_verify_tls", PARAM_INT, &gwf_wh_params.verify_tls},
	{"webhook_ca_file",    PARAM_STRING, &gwf_wh_params.ca_file},
	{"webhook_secret",     PARAM_STRING, &gwf_wh_params.secret},
	{"webhook_queue_size", PARAM_INT, &gwf_wh_params.queue_size},
	{"webhook_retries",    PARAM_INT, &gwf_wh_params.retries},
	{"webhook_retry_base_ms", PARAM_INT, &gwf_wh_params.retry_base_ms},
	{"webhook_retry_max_ms", PARAM_INT, &gwf_wh_params.retry_max_ms},
	{"webhook_flap_window_s", PARAM_INT, &gwf_wh_params.flap_window_s},
	{"webhook_flap_max",   PARAM_INT, &gwf_wh_params.flap_max},
	{"node_name",          PARAM_STRING, &gwf_wh_params.node_name},
	{0, 0, 0}
};

static pv_export_t mod_pvs[] = {
	{{"gwf", sizeof("gwf") - 1}, PVT_OTHER, gwf_pv_get, 0,
		gwf_pv_parse_name, 0, 0, 0},
	{{0, 0}, 0, 0, 0, 0, 0, 0, 0}
};

struct module_exports exports = {
	"gwfailover",    /* module name */
	DEFAULT_DLFLAGS, /* dlopen flags */
	cmds,            /* cmd exports */
	params,          /* param exports */
	gwf_rpc_cmds,    /* RPC method exports */
	mod_pvs,         /* exported pseudo-variables */
	0,               /* response handling function */
	mod_init,        /* module initialization function */
	child_init,      /* per-child init function */
	mod_destroy      /* module exit function */
};

static sr_kemi_t sr_kemi_gwfailover_exports[] = {
	{ str_init("gwfailover"), str_init("gwf_failover"),
		SR_KEMIP_INT, gwf_failover,
		{ SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ {0, 0}, {0, 0}, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};
/* clang-format on */

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	sr_kemi_modules_add(sr_kemi_gwfailover_exports);
	return 0;
}

/* Runs at config-parse time for every modparam("gwfailover", "rule", ...):
 * checking here lets the core report the config file line of a bad rule. */
static int gwf_param_rule(modparam_t type, void *val)
{
	const char *spec = (const char *)val;
	gwf_rule_line_t *line, **tail;
	gwf_cls_t *scratch;
	gwf_err_t err;
	size_t len;
	int rc;

	if(spec == NULL) {
		LM_ERR("modparam 'rule': missing value\n");
		return -1;
	}
	len = strlen(spec);
	/* gwf_cls_t is a few KB: not for the stack of the parser. */
	scratch = pkg_malloc(sizeof(*scratch));
	if(scratch == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	gwf_cls_init(scratch, 0);
	rc = gwf_cls_parse(scratch, spec, len, &err);
	pkg_free(scratch);
	if(rc < 0) {
		LM_ERR("modparam 'rule': %s at offset %zu ('%s') in \"%s\"\n", err.msg,
				err.offset, err.token, spec);
		return -1;
	}

	line = pkg_malloc(sizeof(*line) + len + 1);
	if(line == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	line->spec = (char *)(line + 1);
	memcpy(line->spec, spec, len + 1);
	line->next = NULL;
	for(tail = &_gwf_rule_lines; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = line;
	return 0;
}

static int gwf_param_jitter(modparam_t type, void *val)
{
	const char *s = (const char *)val;

	if(s == NULL || gwf_jitter_parse(s, strlen(s), &gwf_jitter) < 0) {
		LM_ERR("modparam 'jitter': unknown mode '%s' (expected none, full,"
			   " equal or decorrelated)\n",
				s ? s : "");
		return -1;
	}
	return 0;
}

/* modparam("gwfailover", "dry_run", "silence,threshold"): checked at
 * config-parse time, so the core reports the config file line. */
static int gwf_param_dry_run(modparam_t type, void *val)
{
	const char *s = (const char *)val;
	gwf_err_t err;

	if(gwf_trigger_parse(s, s ? strlen(s) : 0, &gwf_dry_run, &err) < 0) {
		LM_ERR("modparam 'dry_run': %s at offset %zu ('%s') in \"%s\"\n",
				err.msg, err.offset, err.token, s);
		return -1;
	}
	return 0;
}

/* modparam("gwfailover", "progress_reply", "180 Ringing"): checked at
 * config-parse time, so the core reports the config file line. */
static int gwf_param_progress_reply(modparam_t type, void *val)
{
	const char *s = (const char *)val;
	gwf_progress_t p;
	gwf_err_t err;

	if(gwf_progress_parse(s, s ? strlen(s) : 0, &p, &err) < 0) {
		LM_ERR("modparam 'progress_reply': %s at offset %zu ('%s') in"
			   " \"%s\"\n",
				err.msg, err.offset, err.token, s);
		return -1;
	}
	gwf_progress_reply = (char *)s;
	return 0;
}

static void gwf_free_rule_lines(void)
{
	gwf_rule_line_t *l;

	while((l = _gwf_rule_lines) != NULL) {
		_gwf_rule_lines = l->next;
		pkg_free(l);
	}
}

/* Check every parameter, alone and against the others, and build _gwf_cfg.
 */
static int gwf_build_config(void)
{
	gwf_rule_line_t *l;
	gwf_err_t err;
	uint32_t branches;
	int rc = 0;
	rc |= gwf_check_int("failure_threshold", gwf_failure_threshold, 1, 1000);
	rc |= gwf_check_int("eject_time_s", gwf_eject_time_s, 1, GWF_EJECT_LIMIT_S);
	rc |= gwf_check_int("trial_calls", gwf_trial_calls, 1, 1000);
	rc |= gwf_check_int("trial_successes", gwf_trial_successes, 1, 1000);
	rc |= gwf_check_int(
			"eject_time_max_s", gwf_eject_time_max_s, 0, GWF_EJECT_LIMIT_S);
	rc |= gwf_check_int(
			"eject_jitter_percent", gwf_eject_jitter_percent, 0, 100);
	rc |= gwf_check_int(
			"eject_decay_successes", gwf_eject_decay_successes, 1, 1000000);
	rc |= gwf_check_int("max_ejected_percent", gwf_max_ejected_percent, 0, 100);
	rc |= gwf_check_int("silence_ms", gwf_silence_ms, 0, 3600000);
	if(gwf_silence_floor_ms != -1)
		rc |= gwf_check_int(
				"silence_floor_ms", gwf_silence_floor_ms, 1, 3600000);
	rc |= gwf_check_int("silence_invites", gwf_silence_invites, 1, 1000000);
	rc |= gwf_check_int("rescue", gwf_rescue, 0, 1);
	rc |= gwf_check_int("default_rules", gwf_default_rules, 0, 1);
	rc |= gwf_check_int(
			"delay_base_ms", gwf_delay_base_ms, 0, GWF_DELAY_LIMIT_MS);
	rc |= gwf_check_int(
			"delay_min_ms", gwf_delay_min_ms, 0, GWF_DELAY_LIMIT_MS);
	rc |= gwf_check_int(
			"delay_max_ms", gwf_delay_max_ms, 0, GWF_DELAY_LIMIT_MS);
	rc |= gwf_check_int(
			"max_attempts", gwf_max_attempts, 1, GWF_MAX_ATTEMPTS_LIMIT);
	rc |= gwf_check_int("time_budget_ms", gwf_time_budget_ms, 0, 3600000);
	rc |= gwf_check_int(
			"retry_after_min_s", gwf_retry_after_min_s, 0, GWF_EJECT_LIMIT_S);
	rc |= gwf_check_int(
			"retry_after_max_s", gwf_retry_after_max_s, 0, GWF_EJECT_LIMIT_S);
	rc |= gwf_check_int(
			"max_gateways", gwf_max_gateways, 1, GWF_MAX_GATEWAYS_LIMIT);
	if(rc != 0)
		return -1;

	if(gwf_delay_min_ms > gwf_delay_max_ms) {
		LM_ERR("modparam 'delay_min_ms' (%d) must not exceed 'delay_max_ms'"
			   " (%d)\n",
				gwf_delay_min_ms, gwf_delay_max_ms);
		return -1;
	}
	if(gwf_exhausted_code != 0
			&& (gwf_exhausted_code < 300 || gwf_exhausted_code > 699)) {
		LM_ERR("modparam 'exhausted_code' must be 0 (relay the gateway's"
			   " failure) or a final code in 300..699 (got %d)\n",
				gwf_exhausted_code);
		return -1;
	}
	if(gwf_exhausted_reason == NULL || strlen(gwf_exhausted_reason) == 0
			|| strlen(gwf_exhausted_reason) > GWF_REASON_MAX - 1) {
		LM_ERR("modparam 'exhausted_reason' must be 1..%d characters\n",
				GWF_REASON_MAX - 1);
		return -1;
	}
	if(gwf_retry_after_min_s > gwf_retry_after_max_s) {
		LM_ERR("modparam 'retry_after_min_s' (%d) must not exceed"
			   " 'retry_after_max_s' (%d)\n",
				gwf_retry_after_min_s, gwf_retry_after_max_s);
		return -1;
	}
	branches = gwf_plan_branches_needed((uint32_t)gwf_max_attempts);
	if(branches > sr_dst_max_branches) {
		LM_ERR("modparam 'max_attempts' %d needs up to %u branches per call,"
			   " but core 'max_branches' is %u: lower max_attempts or raise"
			   " max_branches (at most 32)\n",
				gwf_max_attempts, branches, sr_dst_max_branches);
		return -1;
	}

	memset(&_gwf_cfg, 0, sizeof(_gwf_cfg));
	gwf_cls_init(&_gwf_cfg.cls, gwf_default_rules);
	for(l = _gwf_rule_lines; l != NULL; l = l->next) {
		if(gwf_cls_parse(&_gwf_cfg.cls, l->spec, strlen(l->spec), &err) < 0) {
			/* Each line parsed alone at config time; layered on the
			 * defaults they can still overflow the table. */
			LM_ERR("modparam 'rule': %s at offset %zu ('%s') in \"%s\"\n",
					err.msg, err.offset, err.token, l->spec);
			return -1;
		}
	}
	if(_gwf_cfg.cls.n == 0) {
		LM_ERR("no classification rules: 'default_rules' is 0 and no 'rule'"
			   " is set\n");
		return -1;
	}

	_gwf_cfg.brk.fail_threshold = (uint32_t)gwf_failure_threshold;
	_gwf_cfg.brk.open_ms = (uint32_t)gwf_eject_time_s * 1000u;
	_gwf_cfg.brk.trial_max = (uint32_t)gwf_trial_calls;
	_gwf_cfg.brk.trial_successes = (uint32_t)gwf_trial_successes;
	if(gwf_brk_cfg_check(&_gwf_cfg.brk, &err) < 0) {
		LM_ERR("breaker configuration: %s\n", err.msg);
		return -1;
	}

	if(gwf_eject_time_max_s == 0)
		gwf_eject_time_max_s = gwf_eject_time_s <= GWF_EJECT_LIMIT_S / 10
									   ? 10 * gwf_eject_time_s
									   : GWF_EJECT_LIMIT_S;
	if(gwf_eject_time_max_s < gwf_eject_time_s) {
		LM_ERR("modparam 'eject_time_max_s' (%d) must not be shorter than"
			   " 'eject_time_s' (%d)\n",
				gwf_eject_time_max_s, gwf_eject_time_s);
		return -1;
	}
	_gwf_cfg.eject.base_ms = (uint32_t)gwf_eject_time_s * 1000u;
	_gwf_cfg.eject.max_ms = (uint32_t)gwf_eject_time_max_s * 1000u;
	_gwf_cfg.eject.jitter_pct = (uint32_t)gwf_eject_jitter_percent;
	_gwf_cfg.eject.decay_successes = (uint32_t)gwf_eject_decay_successes;
	if(gwf_eject_cfg_check(&_gwf_cfg.eject, &err) < 0) {
		LM_ERR("ejection configuration: %s\n", err.msg);
		return -1;
	}
	_gwf_cfg.max_ejected_percent = (unsigned)gwf_max_ejected_percent;
	_gwf_cfg.dry_run = gwf_dry_run;

	if(gwf_silence_floor_ms == -1)
		gwf_silence_floor_ms =
				gwf_silence_ms != 0 && gwf_silence_ms < GWF_SILENCE_FLOOR_MS
						? gwf_silence_ms
						: GWF_SILENCE_FLOOR_MS;
	if(gwf_silence_ms != 0 && gwf_silence_floor_ms > gwf_silence_ms) {
		LM_ERR("modparam 'silence_floor_ms' (%d) must not exceed"
			   " 'silence_ms' (%d)\n",
				gwf_silence_floor_ms, gwf_silence_ms);
		return -1;
	}
	_gwf_cfg.silence.ms = (uint32_t)gwf_silence_ms;
	_gwf_cfg.silence.invites = (uint32_t)gwf_silence_invites;
	_gwf_cfg.rtt.floor_ms = (uint32_t)gwf_silence_floor_ms;
	_gwf_cfg.rtt.max_ms = (uint32_t)gwf_silence_ms;
	_gwf_cfg.rtt.gran_ms = GWF_SILENCE_TICK_MS;
	_gwf_cfg.rescue = gwf_rescue;

	_gwf_cfg.plan.backoff.base_ms = (uint32_t)gwf_delay_base_ms;
	_gwf_cfg.plan.backoff.min_ms = (uint32_t)gwf_delay_min_ms;
	_gwf_cfg.plan.backoff.max_ms = (uint32_t)gwf_delay_max_ms;
	_gwf_cfg.plan.backoff.jitter = gwf_jitter;
	if(gwf_backoff_cfg_check(&_gwf_cfg.plan.backoff, &err) < 0) {
		LM_ERR("delay configuration: %s\n", err.msg);
		return -1;
	}
	_gwf_cfg.plan.max_attempts = (uint32_t)gwf_max_attempts;
	_gwf_cfg.plan.time_budget_ms = (uint32_t)gwf_time_budget_ms;
	_gwf_cfg.plan.retry_after_min_s = (uint32_t)gwf_retry_after_min_s;
	_gwf_cfg.plan.retry_after_max_s = (uint32_t)gwf_retry_after_max_s;
	_gwf_cfg.plan.max_branches = sr_dst_max_branches;
	_gwf_cfg.max_gateways = (unsigned)gwf_max_gateways;
	_gwf_cfg.exhausted_code = gwf_exhausted_code;
	_gwf_cfg.exhausted_reason = gwf_exhausted_reason;
	_gwf_cfg.event_callback =
			gwf_event_callback.s != NULL ? gwf_event_callback.s : "";
	/* checked when it was set */
	if(gwf_progress_parse(gwf_progress_reply, strlen(gwf_progress_reply),
			   &_gwf_cfg.progress, &err)
			< 0)
		return -1;
	return 0;
}

static int mod_init(void)
{
	int rc = gwf_build_config();

	gwf_free_rule_lines();
	if(rc < 0)
		return -1;
	if(gwf_stats_init() < 0)
		return -1;
	if(gwf_tm_init(&gwf_failover_callback) < 0)
		return -1;
	if(gwf_event_init(&gwf_event_callback) < 0)
		return -1;
	if(gwf_wh_init() < 0)
		return -1;
	if(gwf_ds_init() < 0)
		return -1;
	if(gwf_state_init(gwf_state_file) < 0)
		return -1;
	if(gwf_gw_init(_gwf_cfg.max_gateways) < 0 || gwf_gw_init_sync() < 0
			|| gwf_gw_init_scan() < 0)
		return -1;
	return 0;
}

static int child_init(int rank)
{
	/* every gateway known before the first call: its set's count decides
	 * whether a failure may eject it (the resume process refreshes this
	 * once a second) */
	if(rank == PROC_INIT) {
		gwf_gw_learn_all();
		/* what the last run learnt, before any call is routed */
		gwf_state_restore();
	}
	if(gwf_tm_child_init(rank) < 0)
		return -1;
	return gwf_wh_child_init(rank);
}

static void mod_destroy(void)
{
	gwf_state_final();
	gwf_tm_destroy();
	gwf_wh_destroy();
	gwf_event_destroy();
	gwf_gw_destroy_sync();
	gwf_gw_destroy();
}

/* Native cfg: 0 ends the script, which is what a suspended call needs. */
static int w_gwf_failover(sip_msg_t *msg, char *p1, char *p2)
{
	return gwf_failover(msg);
}

static int w_gwf_resume(sip_msg_t *msg, char *p1, char *p2)
{
	return gwf_resume(msg);
}
