"""Issue 4: the operator interface. Every gwfailover.* RPC command, with good
and bad input, through kamcmd (ctl, binrpc) and jsonrpcs (JSON-RPC 2.0 over
a unix datagram socket), against a real Kamailio, dispatcher and sipp.

The read-only checks and all the bad input share one Kamailio (the `idle`
fixture: no traffic ever reaches it, so every value it reports is exact);
what changes state (traffic, eject, restore, reset) gets its own.
"""

import math
import re
import socket
import threading
import time
from types import SimpleNamespace

import pytest

import harness
from conftest import BAD_LOG, modparams, start_proxy

TRANSPORTS = ("kamcmd", "jsonrpc")

# The gateway struct, in this order (spec).
GW_FIELDS = ["set", "uri", "state", "reason", "state_for_s", "dispatcher",
             "consecutive_faults", "successes", "local_timeouts",
             "received_5xx", "retry_after", "counted", "not_counted",
             "ejections", "last_code", "last_failure_ago_s", "half_open_in_s",
             "trials_in_flight", "eject_multiplier", "next_eject_s",
             "srtt_ms", "rttvar_ms", "silence_timeout_ms", "rtt_samples",
             "rescued", "in_flight", "restored"]
GW_STR_FIELDS = {"uri", "state", "reason", "dispatcher"}
COUNTERS = ["consecutive_faults", "successes", "local_timeouts",
            "received_5xx", "retry_after", "counted", "not_counted",
            "ejections"]
# A gateway nothing ever happened to.
FRESH = dict(state="closed", reason="none", dispatcher="AX",
             consecutive_faults=0, successes=0, local_timeouts=0,
             received_5xx=0, retry_after=0, counted=0, not_counted=0,
             ejections=0, last_code=0, last_failure_ago_s=-1,
             half_open_in_s=0, trials_in_flight=0, eject_multiplier=0,
             rescued=0, in_flight=0, restored=0)
ZEROED = {k: 0 for k in COUNTERS}
ZEROED.update(last_code=0, last_failure_ago_s=-1)

CONFIG_KEYS = {"failure_threshold", "eject_time_s", "trial_calls",
               "trial_successes", "silence_ms", "silence_floor_ms",
               "silence_invites", "rescue",
               "eject_time_max_s", "eject_jitter_percent",
               "eject_decay_successes", "max_ejected_percent", "dry_run",
               "delay_base_ms", "delay_min_ms",
               "delay_max_ms", "jitter", "max_attempts", "time_budget_ms",
               "retry_after_min_s", "retry_after_max_s", "max_gateways",
               "gateways_known", "exhausted_code",
               "exhausted_reason", "event_callback", "progress_reply",
               "state_file", "rules", "node_name", "webhook_urls", "webhook_timeout_ms",
               "webhook_connect_timeout_ms", "webhook_verify_tls",
               "webhook_ca_file", "webhook_secret", "webhook_queue_size",
               "webhook_retries", "webhook_retry_base_ms",
               "webhook_retry_max_ms", "webhook_flap_window_s",
               "webhook_flap_max"}

# The webhook part of gwfailover.config when no webhook is configured.
WEBHOOK_DEFAULTS = dict(
    webhook_timeout_ms=3000, webhook_connect_timeout_ms=1000,
    webhook_verify_tls=1, webhook_ca_file="", webhook_secret="",
    webhook_queue_size=256, webhook_retries=3, webhook_retry_base_ms=500,
    webhook_retry_max_ms=10000, webhook_flap_window_s=60,
    webhook_flap_max=4)

# The built-in rule table, as the manual documents it.
DEFAULT_RULES = [r.strip() for r in (
    "timeout=failover,count; 408=failover,count; 500=failover,count; "
    "502=failover,count; 503=failover,count; 504=failover,count; "
    "503+retry_after=failover,eject; 480=failover,ignore; "
    "401=stop,ignore; 403=stop,ignore; 404=stop,ignore; "
    "407=stop,ignore; 484=stop,ignore; 486=stop,ignore; "
    "487=stop,ignore; 600=stop,ignore; 603=stop,ignore; "
    "604=stop,ignore; 606=stop,ignore; 3xx=stop,ignore; "
    "4xx=stop,ignore; 5xx=failover,ignore; 6xx=stop,ignore; "
    "noanswer=stop,ignore; unreachable=failover,eject").split(";")]

FAILOVER = "gwf_failover();"
# Calls to user "two" go to dispatcher set 2, everything else to set 1.
SET2_ROUTE = """
	if($rU == "two") {
		if(!ds_select_dst("2", "8")) {
			sl_send_reply("503", "No gateway");
			exit;
		}
		t_on_failure("GW_FAIL");
		t_relay();
		exit;
	}
"""
# One log line per gateway event, to count them.
EVENT_ROUTES = """
event_route[gwfailover:gw-down] {
	xlog("L_NOTICE", "GWF-EVENT $gwf(event) $gwf(gw) set $gwf(set): $gwf(reason)\\n");
}
event_route[gwfailover:gw-up] {
	xlog("L_NOTICE", "GWF-EVENT $gwf(event) $gwf(gw) set $gwf(set): $gwf(reason)\\n");
}
"""


# ------------------------------------------------------------ RPC helpers

class KStr(str):
    """An argument kamcmd must send as a string ("s:" prefix) even though
    it looks like a number; jsonrpc sends it as a JSON string as always."""


def kamcmd_arg(a):
    """How to write argument a on kamcmd's command line so that the module
    receives exactly it. kamcmd sends whatever strtol()/strtod() accept as
    an int/double (the empty string as int 0, 99999999999999999999 as a
    truncated int, "1.5" as a double), and ctl turns an int back into text
    as an unsigned long (-5 arrives as "18446744073709551611"); "s:" forces
    a string. Python ints are meant as numbers: kamcmd sends those within
    32 bits as ints."""
    if isinstance(a, bool) or a is None or isinstance(a, (dict, list)):
        raise TypeError("kamcmd cannot send %r" % (a,))
    if isinstance(a, int):
        return str(a) if -2**31 <= a < 2**31 else "s:%d" % a
    if isinstance(a, KStr) or a == "" or a.startswith("s:"):
        return "s:" + a
    if re.fullmatch(r"-?\d+", a):
        return a if 0 <= int(a) < 2**31 and str(int(a)) == a else "s:" + a
    try:
        float(a)
        return "s:" + a
    except ValueError:
        pass
    if re.match(r"\s*[+-]?0[xX]", a):
        return "s:" + a
    return a


def rpc(k, transport, method, *args):
    """One RPC call; returns the result or raises harness.RpcFault."""
    if transport == "kamcmd":
        return k.rpc_value(method, *[kamcmd_arg(a) for a in args])
    return k.jsonrpc_value(method, *args)


def check_message(msg, expect):
    if isinstance(expect, Lit):
        assert msg == expect, "fault message %r, expected %r" \
            % (msg, str(expect))
    else:
        assert re.fullmatch(expect, msg, re.S), \
            "fault message %r does not match %r" % (msg, expect)


def fault(k, transport, method, *args):
    """Call an RPC that must fail; return the RpcFault."""
    assert k.proc.running(), "kamailio is dead (killed by an earlier input)"
    try:
        value = rpc(k, transport, method, *args)
    except harness.RpcFault as f:
        return f
    shown_args = tuple(a if not isinstance(a, str) or len(a) < 80
                       else "%s...(%d bytes)" % (a[:40], len(a)) for a in args)
    if value is None:
        pytest.fail("%s %s%r: no reply at all (kamcmd printed nothing)"
                    % (transport, method, shown_args))
    pytest.fail("%s %s%r succeeded instead of failing: %r"
                % (transport, method, shown_args, value))


class Lit(str):
    """An exact expected message; {A} and {DUP} stand for those gateways'
    URIs."""


def lit(text):
    return Lit(text)


def shown(transport, value):
    """Regex of how the module echoes argument value in a message: strings
    as sent; numbers are converted to text by jsonrpcs and ctl as unsigned
    longs, so negative ones (and huge JSON numbers) come out as some other
    number."""
    if isinstance(value, int) and (value < 0 or (transport == "jsonrpc"
                                                 and value >= 2**63)):
        return r"[^']*"
    return re.escape(str(value))


# ------------------------------------------------------------ value checks

def in_window(value, lo, hi):
    """value (whole seconds) is lo..hi seconds, however it is rounded."""
    return math.floor(lo) <= value <= math.ceil(hi)


def check_gw(g, set_id, uri, **expect):
    """Check one gateway struct: fields and their order, types, and the
    expected values (FRESH for what is not given). A (lo, hi) tuple is a
    window in seconds for a time field. Reports every mismatch at once."""
    assert isinstance(g, dict), g
    assert list(g) == GW_FIELDS, "fields %s" % list(g)
    for f in GW_FIELDS:
        if f in GW_STR_FIELDS:
            assert isinstance(g[f], str), (f, g[f])
        else:
            assert isinstance(g[f], int) and not isinstance(g[f], bool), \
                (f, g[f])
    want = dict(FRESH)
    want.update(expect)
    want["set"] = set_id
    want["uri"] = uri
    bad = []
    for f, v in want.items():
        if isinstance(v, tuple):
            if not in_window(g[f], *v):
                bad.append("%s=%r not in %.2f..%.2f" % (f, g[f], v[0], v[1]))
        elif g[f] != v:
            bad.append("%s=%r, expected %r" % (f, g[f], v))
    if "state_for_s" not in want and g["state_for_s"] < 0:
        bad.append("state_for_s=%r < 0" % g["state_for_s"])
    assert not bad, "gateway %s set %d: %s\n%r" % (uri, set_id,
                                                   "; ".join(bad), g)


def gw_list(k, transport):
    res = rpc(k, transport, "gwfailover.list")
    assert isinstance(res, dict) and list(res) == ["count", "gateways"], res
    gws = res["gateways"]
    assert isinstance(gws, list), res
    assert res["count"] == len(gws), res
    return gws


def by_key(gws):
    return {(g["set"], g["uri"]): g for g in gws}


def get(k, transport, uri, *set_id):
    return rpc(k, transport, "gwfailover.get", uri, *set_id)


def without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


def reply_gw(run, name, code, reason, extra=""):
    return harness.Gateway(run, name, "uas_reply.xml", CODE=code,
                           REASON=reason, EXTRA=extra)


def call_ok(run, k, name, service="callee"):
    """One call that must be answered. (A high rate only makes sipp quit
    as soon as the call is over instead of at the end of a 1 s period.)"""
    res = harness.run_caller(run, name, "uac_call.xml", k.sip_port, calls=1,
                             rate=20, timeout=20, service=service)
    assert res.rc == 0, res.output[-2000:]
    assert res.finals() == [200]


def events(k):
    return [line.split("GWF-EVENT ", 1)[1] for line in k.log().splitlines()
            if "GWF-EVENT " in line]


def uri_of_length(n):
    head, tail = "sip:", "@127.0.0.1:5060"
    return head + "u" * (n - len(head) - len(tail)) + tail


# ------------------------------------------------------------ shared proxy

IDLE_PARAMS = dict(failure_threshold=3, eject_time_s=40, trial_calls=2,
                   trial_successes=2, silence_ms=700, silence_floor_ms=150,
                   silence_invites=4, rescue=0, delay_base_ms=50,
                   delay_min_ms=10,
                   delay_max_ms=500, jitter="equal", max_attempts=3,
                   time_budget_ms=8000, retry_after_min_s=2,
                   retry_after_max_s=120, max_gateways=64,
                   exhausted_code=480,
                   exhausted_reason="All gateways busy")
IDLE_RULES = ["500=retry,count", "599=stop,eject"]


@pytest.fixture(scope="module")
def idle(module_run):
    """One Kamailio no call ever reaches. Set 1: A, B, DUP; set 2: DUP, C
    (DUP is in both). No process listens on the gateways' ports."""
    A, B, DUP, C = ("sip:127.0.0.1:%d" % harness.free_udp_port()
                    for _ in range(4))
    gws = [(1, A, 30), (1, B, 20), (1, DUP, 10), (2, DUP, 20), (2, C, 10)]
    t0 = time.monotonic()
    k = start_proxy(module_run, gws, FAILURE_BODY=FAILOVER,
                    MOD_PARAMS=modparams(rule=IDLE_RULES, **IDLE_PARAMS))
    return SimpleNamespace(k=k, A=A, B=B, DUP=DUP, C=C, t0=t0,
                           order=[(1, A), (1, B), (1, DUP), (2, DUP), (2, C)])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_list_shows_every_dispatcher_destination_before_traffic(idle,
                                                                transport):
    k = idle.k
    gws = gw_list(k, transport)
    # Sorted by set, then in dispatcher order (priority) within a set; DUP
    # once per set.
    assert [(g["set"], g["uri"]) for g in gws] == idle.order
    up = time.monotonic() - idle.t0
    flags = k.dispatcher_flags()
    for g in gws:
        check_gw(g, g["set"], g["uri"], state_for_s=(0, up + 1))
        assert g["dispatcher"] == flags[g["uri"]]
    # Both transports report the same.
    other = gw_list(k, "jsonrpc" if transport == "kamcmd" else "kamcmd")
    assert [without(g, "state_for_s") for g in other] == \
        [without(g, "state_for_s") for g in gws]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_get_with_and_without_set(idle, transport):
    k = idle.k
    listed = by_key(gw_list(k, transport))
    same = lambda a, b: without(a, "state_for_s") == without(b, "state_for_s")
    a = get(k, transport, idle.A)
    check_gw(a, 1, idle.A)
    assert same(a, listed[(1, idle.A)])
    assert same(get(k, transport, idle.A, 1), a)
    assert same(get(k, transport, idle.A, "1"), a)
    assert same(get(k, transport, idle.A, KStr("1")), a)
    assert same(get(k, transport, idle.C), listed[(2, idle.C)])
    # A URI in two sets: each set gives its own gateway ...
    d1 = get(k, transport, idle.DUP, 1)
    d2 = get(k, transport, idle.DUP, "2")
    check_gw(d1, 1, idle.DUP)
    check_gw(d2, 2, idle.DUP)
    # ... and without the set the module cannot choose.
    f = fault(k, transport, "gwfailover.get", idle.DUP)
    assert f.code == 400
    check_message(f.message, Lit("gateway %s is in several sets (1, 2):"
                                 " give the set" % idle.DUP))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_config_reflects_modparams_and_rules_with_sources(idle, transport):
    cfg = rpc(idle.k, transport, "gwfailover.config")
    assert isinstance(cfg, dict) and set(cfg) == CONFIG_KEYS, cfg
    want = dict(IDLE_PARAMS, event_callback="", **WEBHOOK_DEFAULTS)
    assert {key: cfg[key] for key in want} == want
    assert cfg["webhook_urls"] in ([], None, "")  # none configured
    assert cfg["node_name"] == socket.gethostname()
    assert isinstance(cfg["gateways_known"], int)
    assert 0 <= cfg["gateways_known"] <= 5
    # The defaults, the 500 rule overridden in place by a modparam, and a
    # new modparam rule.
    rules = cfg["rules"]
    assert isinstance(rules, list) and all(list(r) == ["rule", "source"]
                                           for r in rules), rules
    want_rules = [(r, "default") for r in DEFAULT_RULES
                  if r != "500=failover,count"] + \
        [(r, "modparam") for r in IDLE_RULES]
    got = [(r["rule"], r["source"]) for r in rules]
    assert len(got) == len(set(got)), got
    assert sorted(got) == sorted(want_rules)


def cls(code, kind, ra, action, health, rule, source):
    return dict(code=code, kind=kind, retry_after=ra, action=action,
                health=health, rule=rule, source=source)


CLASSIFY = [
    ("503", ("503",), cls(503, "reply", 0, "failover", "count",
                          "503=failover,count", "default")),
    ("503_number", (503,), cls(503, "reply", 0, "failover", "count",
                               "503=failover,count", "default")),
    ("503_string", (KStr("503"),), cls(503, "reply", 0, "failover", "count",
                                       "503=failover,count", "default")),
    ("503_retry_after", ("503", "retry_after"),
     cls(503, "reply", 1, "failover", "eject",
         "503+retry_after=failover,eject", "default")),
    ("486", ("486",), cls(486, "reply", 0, "stop", "ignore",
                          "486=stop,ignore", "default")),
    ("486_retry_after", ("486", "retry_after"),
     cls(486, "reply", 1, "stop", "ignore", "486=stop,ignore", "default")),
    ("408", ("408",), cls(408, "reply", 0, "failover", "count",
                          "408=failover,count", "default")),
    ("408_timeout", ("408", "timeout"),
     cls(408, "timeout", 0, "failover", "count", "timeout=failover,count",
         "default")),
    ("408_noanswer", (408, "noanswer"),
     cls(408, "noanswer", 0, "stop", "ignore", "noanswer=stop,ignore",
         "default")),
    ("480", ("480",), cls(480, "reply", 0, "failover", "ignore",
                          "480=failover,ignore", "default")),
    ("502_retry_after", ("502", "retry_after"),
     cls(502, "reply", 1, "failover", "count", "502=failover,count",
         "default")),
    ("555", ("555",), cls(555, "reply", 0, "failover", "ignore",
                          "5xx=failover,ignore", "default")),
    ("300", ("300",), cls(300, "reply", 0, "stop", "ignore",
                          "3xx=stop,ignore", "default")),
    ("699", ("699",), cls(699, "reply", 0, "stop", "ignore",
                          "6xx=stop,ignore", "default")),
    ("500_modparam", ("500",), cls(500, "reply", 0, "retry", "count",
                                   "500=retry,count", "modparam")),
    ("599_modparam", ("599",), cls(599, "reply", 0, "stop", "eject",
                                   "599=stop,eject", "modparam")),
    ("599_retry_after", ("599", "retry_after"),
     cls(599, "reply", 1, "stop", "eject", "599=stop,eject", "modparam")),
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("args,want", [c[1:] for c in CLASSIFY],
                         ids=[c[0] for c in CLASSIFY])
def test_classify(idle, transport, args, want):
    res = rpc(idle.k, transport, "gwfailover.classify", *args)
    assert isinstance(res, dict) and list(res) == list(want), res
    assert res == want


# ------------------------------------------------------------ bad input

LONG = uri_of_length(5000)
LONG256 = uri_of_length(256)
LONG255 = uri_of_length(255)
NOBODY = "sip:nobody@127.0.0.1:9"
FMT = "sip:%s%n%x%d@127.0.0.1:9"
HUGE = "99999999999999999999"
HUGE_N = 99999999999999999999

SET_MSG = "invalid set '%s': expected an integer 0\\.\\.2147483647"
SEC_MSG = "invalid seconds '%s': expected 1\\.\\.86400"
CODE_MSG = "invalid code '%s': expected a SIP code 300\\.\\.699"
KIND_MSG = ("unknown kind '%s': expected timeout, noanswer, unreachable or"
            " retry_after")


def usage(what, cmd):
    return "%s; usage: gwfailover\\.%s\\b.*" % (what, cmd)


def bad_cases():
    """(id, method, args, fault code, expected message). In args, "A" and
    "DUP" stand for the idle gateways; the message may contain "{v}": how
    the module shows the last argument (see shown())."""
    cases = []

    def add(cid, method, args, code, msg, json_only=False, json_alt=None):
        cases.append((cid, method, args, code, msg, json_only, json_alt))

    # jsonrpcs turns a JSON number into text through a C cast of the
    # double to unsigned long: 99999999999999999999 (out of range) may come
    # out as any number, 0 on x86-64, a valid set. The module cannot see
    # the number sent, so "unknown gateway ... in set <n>" is right too.
    SET0 = (404, "unknown gateway {A} in set \\d+")

    # --- get <uri> [set]
    add("get-missing-uri", "get", [], 400,
        lit("missing gateway URI; usage: gwfailover.get <uri> [set]"))
    add("get-extra", "get", ["A", "1", "x"], 400,
        usage("too many arguments", "get"))
    add("get-empty-uri", "get", [""], 400, ".*gateway URI.*")
    add("get-empty-set", "get", ["A", ""], 400, SET_MSG % "")
    add("get-set-text", "get", ["A", "abc"], 400, SET_MSG % "abc")
    add("get-set-trailing-text", "get", ["A", "1x"], 400, SET_MSG % "1x")
    add("get-set-negative", "get", ["A", "-1"], 400, SET_MSG % "{v}")
    add("get-set-negative-number", "get", ["A", -1], 400, SET_MSG % "{v}")
    add("get-set-huge", "get", ["A", HUGE], 400, SET_MSG % "{v}")
    add("get-set-huge-number", "get", ["A", HUGE_N], 400, SET_MSG % "{v}",
        json_alt=SET0)
    add("get-set-2147483648", "get", ["A", "2147483648"], 400,
        SET_MSG % "{v}")
    add("get-set-float", "get", ["A", "1.5"], 400, SET_MSG % "{v}")
    add("get-uri-5000", "get", [LONG], 400,
        lit("gateway URI too long (5000 bytes, at most 255)"))
    add("get-uri-256", "get", [LONG256], 400,
        lit("gateway URI too long (256 bytes, at most 255)"))
    # long URIs are cut to 64 bytes in the message (binrpc caps a fault
    # text at 255 bytes)
    add("get-uri-255-unknown", "get", [LONG255], 404,
        lit("unknown gateway " + LONG255[:64] + "..."))
    add("get-unknown", "get", [NOBODY], 404, lit("unknown gateway " + NOBODY))
    add("get-unknown-format-chars", "get", [FMT], 404,
        lit("unknown gateway " + FMT))
    add("get-not-in-set", "get", ["A", "2"], 404,
        lit("unknown gateway {A} in set 2"))
    add("get-set-0", "get", ["A", 0], 404, lit("unknown gateway {A} in set 0"))
    add("get-set-max", "get", ["A", "2147483647"], 404,
        lit("unknown gateway {A} in set 2147483647"))
    add("get-several-sets", "get", ["DUP"], 400,
        lit("gateway {DUP} is in several sets (1, 2): give the set"))
    # JSON values that are neither string nor number. (Only where the
    # argument is mandatory: jsonrpcs' scan returns the same for a null,
    # array or object as for no argument at all, so in an optional place
    # the module cannot tell them from an omitted argument.)
    add("get-uri-null", "get", [None], 400, ".+", json_only=True)
    add("get-uri-object", "get", [{"uri": "x"}], 400, ".+", json_only=True)
    add("get-uri-bool", "get", [True], 400, ".+", json_only=True)

    # --- eject <uri> [seconds] [set]
    add("eject-missing-uri", "eject", [], 400,
        usage("missing gateway URI", "eject"))
    add("eject-extra", "eject", ["A", "10", "1", "x"], 400,
        usage("too many arguments", "eject"))
    add("eject-empty-uri", "eject", [""], 400, ".*gateway URI.*")
    add("eject-empty-seconds", "eject", ["A", ""], 400, SEC_MSG % "")
    add("eject-seconds-text", "eject", ["A", "abc"], 400, SEC_MSG % "abc")
    add("eject-seconds-0", "eject", ["A", "0"], 400, SEC_MSG % "0")
    add("eject-seconds-0-number", "eject", ["A", 0], 400, SEC_MSG % "0")
    add("eject-seconds-86401", "eject", ["A", "86401"], 400,
        SEC_MSG % "86401")
    add("eject-seconds-86401-number", "eject", ["A", 86401], 400,
        SEC_MSG % "86401")
    add("eject-seconds-negative", "eject", ["A", "-5"], 400,
        SEC_MSG % "{v}")
    add("eject-seconds-negative-number", "eject", ["A", -5], 400,
        SEC_MSG % "{v}")
    add("eject-seconds-huge", "eject", ["A", HUGE], 400, SEC_MSG % "{v}")
    add("eject-seconds-huge-number", "eject", ["A", HUGE_N], 400,
        SEC_MSG % "{v}")
    add("eject-seconds-float", "eject", ["A", "1.5"], 400, SEC_MSG % "{v}")
    add("eject-set-text", "eject", ["A", "10", "abc"], 400, SET_MSG % "abc")
    add("eject-set-negative", "eject", ["A", "10", "-1"], 400,
        SET_MSG % "{v}")
    add("eject-set-huge", "eject", ["A", "10", HUGE], 400, SET_MSG % "{v}")
    add("eject-uri-5000", "eject", [LONG], 400,
        lit("gateway URI too long (5000 bytes, at most 255)"))
    add("eject-unknown", "eject", [NOBODY, "10"], 404,
        lit("unknown gateway " + NOBODY))
    add("eject-not-in-set", "eject", ["A", "10", "2"], 404,
        lit("unknown gateway {A} in set 2"))
    add("eject-several-sets", "eject", ["DUP", "10"], 400,
        lit("gateway {DUP} is in several sets (1, 2): give the set"))

    # --- restore <uri> [set]
    add("restore-missing-uri", "restore", [], 400,
        usage("missing gateway URI", "restore"))
    add("restore-extra", "restore", ["A", "1", "x"], 400,
        usage("too many arguments", "restore"))
    add("restore-empty-uri", "restore", [""], 400, ".*gateway URI.*")
    add("restore-set-text", "restore", ["A", "abc"], 400, SET_MSG % "abc")
    add("restore-set-negative", "restore", ["A", "-7"], 400,
        SET_MSG % "{v}")
    add("restore-set-huge-number", "restore", ["A", HUGE_N], 400,
        SET_MSG % "{v}", json_alt=SET0)
    add("restore-uri-5000", "restore", [LONG], 400,
        lit("gateway URI too long (5000 bytes, at most 255)"))
    add("restore-unknown", "restore", [NOBODY], 404,
        lit("unknown gateway " + NOBODY))
    add("restore-not-in-set", "restore", ["A", "2"], 404,
        lit("unknown gateway {A} in set 2"))
    add("restore-several-sets", "restore", ["DUP"], 400,
        lit("gateway {DUP} is in several sets (1, 2): give the set"))
    add("restore-uri-null", "restore", [None], 400, ".+", json_only=True)

    # --- reset [<uri>|all] [set]
    add("reset-extra", "reset", ["all", "1", "x"], 400,
        usage("too many arguments", "reset"))
    add("reset-empty-uri", "reset", [""], 400, ".*gateway URI.*")
    add("reset-set-text", "reset", ["A", "abc"], 400, SET_MSG % "abc")
    add("reset-all-set-text", "reset", ["all", "abc"], 400, SET_MSG % "abc")
    add("reset-all-set-negative", "reset", ["all", "-1"], 400,
        SET_MSG % "{v}")
    add("reset-all-set-negative-number", "reset", ["all", -1], 400,
        SET_MSG % "{v}")
    add("reset-all-set-huge", "reset", ["all", HUGE], 400, SET_MSG % "{v}")
    add("reset-uri-5000", "reset", [LONG], 400,
        lit("gateway URI too long (5000 bytes, at most 255)"))
    add("reset-unknown", "reset", [NOBODY], 404,
        lit("unknown gateway " + NOBODY))
    add("reset-not-in-set", "reset", ["A", "2"], 404,
        lit("unknown gateway {A} in set 2"))
    add("reset-several-sets", "reset", ["DUP"], 400,
        lit("gateway {DUP} is in several sets (1, 2): give the set"))

    # --- classify <code> [timeout|noanswer|retry_after]
    add("classify-missing-code", "classify", [], 400,
        usage("missing .*code", "classify"))
    add("classify-extra", "classify", ["408", "timeout", "x"], 400,
        usage("too many arguments", "classify"))
    add("classify-empty-code", "classify", [""], 400, CODE_MSG % "")
    add("classify-code-text", "classify", ["x"], 400, CODE_MSG % "x")
    add("classify-code-trailing-text", "classify", ["503abc"], 400,
        CODE_MSG % "503abc")
    add("classify-code-200", "classify", ["200"], 400, CODE_MSG % "200")
    add("classify-code-299", "classify", [299], 400, CODE_MSG % "299")
    add("classify-code-700", "classify", ["700"], 400, CODE_MSG % "700")
    add("classify-code-negative", "classify", ["-5"], 400, CODE_MSG % "{v}")
    add("classify-code-negative-number", "classify", [-503], 400,
        CODE_MSG % "{v}")
    add("classify-code-huge", "classify", [HUGE], 400, CODE_MSG % "{v}")
    add("classify-code-huge-number", "classify", [HUGE_N], 400,
        CODE_MSG % "{v}")
    add("classify-code-float", "classify", ["503.5"], 400, CODE_MSG % "{v}")
    add("classify-kind-unknown", "classify", ["503", "foo"], 400,
        KIND_MSG % "foo")
    add("classify-kind-empty", "classify", ["503", ""], 400, KIND_MSG % "")
    add("classify-kind-number", "classify", ["503", 5], 400, KIND_MSG % "5")
    add("classify-timeout-not-408", "classify", ["503", "timeout"], 400,
        ".*408.*")
    add("classify-noanswer-not-408", "classify", ["486", "noanswer"], 400,
        ".*408.*")
    add("classify-code-null", "classify", [None], 400, ".+", json_only=True)

    # --- list, config: no arguments
    for cmd in ("list", "config"):
        add("%s-extra" % cmd, cmd, ["x"], 400,
            usage("too many arguments", cmd))
        add("%s-extra-empty" % cmd, cmd, [""], 400,
            usage("too many arguments", cmd))
        add("%s-extra-number" % cmd, cmd, [1], 400,
            usage("too many arguments", cmd))
    return cases


BAD = [(t,) + c for c in bad_cases() for t in TRANSPORTS
       if not (c[5] and t == "kamcmd")]


def expected_message(idle, transport, msg, args):
    if isinstance(msg, Lit):
        return Lit(msg.replace("{A}", idle.A).replace("{DUP}", idle.DUP))
    msg = msg.replace("{A}", re.escape(idle.A))
    return msg.replace("{v}", shown(transport, args[-1])) if args else msg


@pytest.mark.parametrize(
    "transport,cid,method,args,code,msg,json_only,json_alt", BAD,
    ids=["%s-%s" % (b[0], b[1]) for b in BAD])
def test_bad_input_is_refused_with_a_clear_fault(idle, transport, cid, method,
                                                 args, code, msg, json_only,
                                                 json_alt):
    names = {"A": idle.A, "DUP": idle.DUP}
    args = [names.get(a, a) if isinstance(a, str) else a for a in args]
    f = fault(idle.k, transport, "gwfailover." + method, *args)
    if json_alt and transport == "jsonrpc" and f.code == json_alt[0]:
        code, msg = json_alt
    assert f.code == code, "%s: fault %s %r, expected code %d" \
        % (cid, f.code, f.message, code)
    check_message(f.message, expected_message(idle, transport, msg, args))
    # Still there, and answering on the same transport.
    assert idle.k.proc.running()
    if transport == "kamcmd":
        assert idle.k.alive()
    else:
        assert "uptime" in idle.k.jsonrpc_value("core.uptime")


# ------------------------------------------------------------ traffic

def test_list_after_failures_counts_every_outcome(run, proxy):
    # Set 1: a 503 with Retry-After, a plain 503, a healthy gateway and one
    # that never gets a call. Set 2: a silent gateway, then a busy one.
    gw_r = reply_gw(run, "gwR", 503, "Service Unavailable",
                    extra="Retry-After: 30\r\n")
    gw_s = reply_gw(run, "gwS", 503, "Service Unavailable")
    gw_ok = harness.Gateway(run, "gwOK", "uas_200.xml")
    idle_uri = "sip:127.0.0.1:%d" % harness.free_udp_port()
    gw_t = harness.Gateway(run, "gwT", "uas_silent.xml")
    gw_b = reply_gw(run, "gwB", 486, "Busy Here")
    layout = [(1, gw_r.uri, 40), (1, gw_s.uri, 30), (1, gw_ok.uri, 20),
              (1, idle_uri, 10), (2, gw_t.uri, 20), (2, gw_b.uri, 10)]
    k = proxy(layout, FR_TIMER=1000, FAILURE_BODY=FAILOVER,
              REQUEST_BODY=SET2_ROUTE,
              MOD_PARAMS=modparams(failure_threshold=2, eject_time_s=60,
                                   eject_jitter_percent=0, delay_base_ms=0))
    t1 = time.monotonic()
    call_ok(run, k, "c1")       # R: 503+RA (ejected), S: 503, OK: 200
    t2 = time.monotonic()
    call_ok(run, k, "c2")       # (R skipped) S: 503 -> ejected, OK: 200
    t3 = time.monotonic()
    res = harness.run_caller(run, "c3", "uac_expect.xml", k.sip_port,
                             calls=1, rate=20, timeout=20, service="two",
                             CODE=486)
    t4 = time.monotonic()       # T: local timeout, B: 486 (stop)
    assert res.rc == 0, res.output[-2000:]
    assert res.finals() == [486]
    assert [len(g.invites()) for g in (gw_r, gw_s, gw_ok, gw_t, gw_b)] == \
        [1, 2, 2, 1, 1]
    # The latencies of the last replies are learnt by the resume process's
    # sweep (every 50 ms): let it pass, so the list and each get below
    # read the same learnt figures.
    time.sleep(0.3)

    for transport in TRANSPORTS:
        t5 = time.monotonic()
        gws = gw_list(k, transport)
        t6 = time.monotonic()
        assert [(g["set"], g["uri"]) for g in gws] == \
            [(s, u) for s, u, _ in layout]
        g = by_key(gws)
        check_gw(g[(1, gw_r.uri)], 1, gw_r.uri, state="open",
                 reason="Retry-After 30 s (503)", dispatcher="IP",
                 state_for_s=(t5 - t2, t6 - t1), received_5xx=1,
                 retry_after=1, counted=1, ejections=1, last_code=503,
                 last_failure_ago_s=(t5 - t2, t6 - t1),
                 half_open_in_s=(30 - (t6 - t1), 30 - (t5 - t2)))
        check_gw(g[(1, gw_s.uri)], 1, gw_s.uri, state="open",
                 reason="2 consecutive faults, last 503", dispatcher="IP",
                 state_for_s=(t5 - t3, t6 - t2), consecutive_faults=2,
                 received_5xx=2, counted=2, ejections=1, last_code=503,
                 last_failure_ago_s=(t5 - t3, t6 - t2),
                 half_open_in_s=(60 - (t6 - t2), 60 - (t5 - t3)),
                 eject_multiplier=1)
        check_gw(g[(1, gw_ok.uri)], 1, gw_ok.uri, successes=2)
        check_gw(g[(1, idle_uri)], 1, idle_uri)
        check_gw(g[(2, gw_t.uri)], 2, gw_t.uri, consecutive_faults=1,
                 local_timeouts=1, counted=1, last_code=408,
                 last_failure_ago_s=(t5 - t4, t6 - t3))
        check_gw(g[(2, gw_b.uri)], 2, gw_b.uri, not_counted=1,
                 last_code=486, last_failure_ago_s=(t5 - t4, t6 - t3))
        flags = k.dispatcher_flags()
        for gw in gws:
            assert gw["dispatcher"] == flags[gw["uri"]]
            # get (no set: each URI is in one set) says the same.
            one = get(k, transport, gw["uri"])
            assert without(one, "state_for_s", "last_failure_ago_s",
                           "half_open_in_s") == \
                without(gw, "state_for_s", "last_failure_ago_s",
                        "half_open_in_s")
        cfg = rpc(k, transport, "gwfailover.config")
        assert cfg["gateways_known"] in (5, 6)

    # Gateways seen in traffic stay listed after the dispatcher drops
    # them, with dispatcher "-", state "removed" (within a second: the
    # resume process's sweep) and their totals.
    harness.dispatcher_list(run, [e for e in layout if e[1] != gw_ok.uri])
    k.rpc("dispatcher.reload")
    assert gw_ok.uri not in k.dispatcher_flags()
    harness.wait_until(
        lambda: get(k, "kamcmd", gw_ok.uri, 1)["state"] == "removed", 5,
        step=0.1, what="the dropped gateway to be marked removed")
    for transport in TRANSPORTS:
        g = by_key(gw_list(k, transport))[(1, gw_ok.uri)]
        check_gw(g, 1, gw_ok.uri, state="removed",
                 reason="removed from the dispatcher", dispatcher="-",
                 successes=2)
        check_gw(get(k, transport, gw_ok.uri, 1), 1, gw_ok.uri,
                 state="removed", reason="removed from the dispatcher",
                 dispatcher="-", successes=2)


def test_eject_default_and_explicit_seconds_then_half_open(run, proxy):
    p = harness.Gateway(run, "P", "uas_200.xml")
    q = harness.Gateway(run, "Q", "uas_200.xml")
    k = proxy([(1, p.uri, 20), (1, q.uri, 10)], FAILURE_BODY=FAILOVER,
              EXTRA_ROUTES=EVENT_ROUTES,
              MOD_PARAMS=modparams(eject_time_s=40, delay_base_ms=0))

    # Default time (eject_time_s), before the gateway saw any traffic.
    t0 = time.monotonic()
    r = rpc(k, "kamcmd", "gwfailover.eject", p.uri)
    t1 = time.monotonic()
    check_gw(r, 1, p.uri, state="open", reason="manual eject for 40 s",
             dispatcher="IP", state_for_s=(0, t1 - t0), ejections=1,
             half_open_in_s=(40 - (t1 - t0), 40))
    assert k.dispatcher_flags()[p.uri] == "IP"
    check_gw(get(k, "jsonrpc", p.uri), 1, p.uri, state="open",
             reason="manual eject for 40 s", dispatcher="IP", ejections=1,
             half_open_in_s=(40 - (time.monotonic() - t0), 40))
    # New calls skip it.
    call_ok(run, k, "c1")
    assert p.invites() == [] and len(q.invites()) == 1

    # Explicit seconds (JSON numbers) and set.
    t2 = time.monotonic()
    r = rpc(k, "jsonrpc", "gwfailover.eject", q.uri, 1, 1)
    check_gw(r, 1, q.uri, state="open", reason="manual eject for 1 s",
             dispatcher="IP", state_for_s=(0, 1), successes=1, ejections=1,
             half_open_in_s=1)
    assert k.dispatcher_flags()[q.uri] == "IP"
    # After the time it is half-open, and offered to the dispatcher again.
    harness.wait_until(
        lambda: get(k, "kamcmd", q.uri)["state"] == "half-open", 5,
        step=0.05, what="Q to become half-open")
    assert time.monotonic() - t2 >= 0.9
    check_gw(get(k, "kamcmd", q.uri, 1), 1, q.uri, state="half-open",
             reason="ejection time over", dispatcher="AX", successes=1,
             ejections=1, state_for_s=(0, 2))
    assert k.dispatcher_flags()[q.uri] == "AX"

    # Ejecting an open gateway again (for the longest time allowed) sets
    # the new time; it is no new ejection.
    r = rpc(k, "kamcmd", "gwfailover.eject", p.uri, "86400", "1")
    check_gw(r, 1, p.uri, state="open", reason="manual eject for 86400 s",
             dispatcher="IP", ejections=1, half_open_in_s=(86399, 86400))

    # The trial call goes to Q (P is still out) and closes it.
    call_ok(run, k, "c2")
    assert p.invites() == [] and len(q.invites()) == 2
    harness.wait_until(
        lambda: get(k, "jsonrpc", q.uri)["state"] == "closed", 3,
        what="Q to close after its trial call")
    check_gw(get(k, "jsonrpc", q.uri), 1, q.uri,
             reason="1 trial call succeeded", successes=2, ejections=1,
             state_for_s=(0, 2))

    # gw-down once per gateway that was closed, gw-up once for Q.
    want = ["gw-down %s set 1: manual eject for 40 s" % p.uri,
            "gw-down %s set 1: manual eject for 1 s" % q.uri,
            "gw-up %s set 1: 1 trial call succeeded" % q.uri]
    harness.wait_until(lambda: len(events(k)) >= 3, 3,
                       what="three gateway events")
    time.sleep(0.2)
    assert events(k) == want


def test_restore_reactivates_in_dispatcher_and_closes(run, proxy):
    p = reply_gw(run, "P", 503, "Service Unavailable")
    q = harness.Gateway(run, "Q", "uas_200.xml")
    k = proxy([(1, p.uri, 20), (1, q.uri, 10)], FAILURE_BODY=FAILOVER,
              EXTRA_ROUTES=EVENT_ROUTES,
              MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=0,
                                   eject_jitter_percent=0))
    call_ok(run, k, "c1")
    call_ok(run, k, "c2")
    assert k.dispatcher_flags()[p.uri] == "IP"
    check_gw(get(k, "kamcmd", p.uri), 1, p.uri, state="open",
             reason="2 consecutive faults, last 503", dispatcher="IP",
             consecutive_faults=2, received_5xx=2, counted=2, ejections=1,
             last_code=503, last_failure_ago_s=(0, 5),
             half_open_in_s=(25, 30), eject_multiplier=1)

    r = rpc(k, "jsonrpc", "gwfailover.restore", p.uri)
    # Closed, the fault count reset, the history kept.
    check_gw(r, 1, p.uri, reason="manual restore", state_for_s=(0, 1),
             received_5xx=2, counted=2, ejections=1, last_code=503,
             last_failure_ago_s=(0, 5))
    assert k.dispatcher_flags()[p.uri] == "AX"
    # Calls reach it again.
    call_ok(run, k, "c3")
    assert len(p.invites()) == 3
    check_gw(get(k, "jsonrpc", p.uri, "1"), 1, p.uri,
             reason="manual restore", consecutive_faults=1, received_5xx=3,
             counted=3, ejections=1, last_code=503, last_failure_ago_s=(0, 2))
    # Restoring a closed gateway only clears its fault count.
    r = rpc(k, "kamcmd", "gwfailover.restore", p.uri, "1")
    check_gw(r, 1, p.uri, reason="manual restore", consecutive_faults=0,
             received_5xx=3, counted=3, ejections=1, last_code=503,
             last_failure_ago_s=(0, 2))
    assert k.dispatcher_flags()[p.uri] == "AX"

    harness.wait_until(lambda: len(events(k)) >= 2, 3,
                       what="the gw-down and gw-up events")
    time.sleep(0.2)
    assert events(k) == [
        "gw-down %s set 1: 2 consecutive faults, last 503" % p.uri,
        "gw-up %s set 1: manual restore" % p.uri]


def test_reset_clears_counters_and_keeps_state(run, proxy):
    p = reply_gw(run, "P", 503, "Service Unavailable")
    q = harness.Gateway(run, "Q", "uas_200.xml")
    y = harness.Gateway(run, "Y", "uas_200.xml")
    k = proxy([(1, p.uri, 20), (1, q.uri, 10), (2, y.uri, 10)],
              FAILURE_BODY=FAILOVER, REQUEST_BODY=SET2_ROUTE,
              MOD_PARAMS=modparams(failure_threshold=2, eject_time_s=60,
                                   eject_jitter_percent=0, delay_base_ms=0))
    call_ok(run, k, "c1")
    call_ok(run, k, "c2")
    call_ok(run, k, "c3", service="two")
    before = get(k, "kamcmd", p.uri)
    check_gw(before, 1, p.uri, state="open",
             reason="2 consecutive faults, last 503", dispatcher="IP",
             consecutive_faults=2, received_5xx=2, counted=2, ejections=1,
             last_code=503, last_failure_ago_s=(0, 5),
             half_open_in_s=(50, 60), eject_multiplier=1)

    # One gateway: its counters go, its breaker state stays.
    assert rpc(k, "kamcmd", "gwfailover.reset", p.uri) == {"reset": 1}
    check_gw(get(k, "jsonrpc", p.uri), 1, p.uri, state="open",
             reason=before["reason"], dispatcher="IP",
             half_open_in_s=(50, 60), **ZEROED)
    check_gw(get(k, "jsonrpc", q.uri), 1, q.uri, successes=2)
    check_gw(get(k, "jsonrpc", y.uri), 2, y.uri, successes=1)
    assert k.dispatcher_flags()[p.uri] == "IP"
    call_ok(run, k, "c4")              # still skipped
    assert len(p.invites()) == 2 and len(q.invites()) == 3

    # "all" in one set (the set as a JSON number) ...
    assert rpc(k, "jsonrpc", "gwfailover.reset", "all", 1) == {"reset": 2}
    check_gw(get(k, "kamcmd", q.uri), 1, q.uri)
    check_gw(get(k, "kamcmd", y.uri), 2, y.uri, successes=1)
    # ... one gateway of one set ...
    assert rpc(k, "jsonrpc", "gwfailover.reset", y.uri, "2") == {"reset": 1}
    check_gw(get(k, "kamcmd", y.uri), 2, y.uri)
    # ... everything, without an argument and with "all".
    call_ok(run, k, "c5", service="two")
    call_ok(run, k, "c6")
    assert rpc(k, "kamcmd", "gwfailover.reset") == {"reset": 3}
    assert rpc(k, "jsonrpc", "gwfailover.reset", "all") == {"reset": 3}
    for transport in TRANSPORTS:
        gws = by_key(gw_list(k, transport))
        assert set(gws) == {(1, p.uri), (1, q.uri), (2, y.uri)}
        check_gw(gws[(1, p.uri)], 1, p.uri, state="open",
                 reason=before["reason"], dispatcher="IP",
                 half_open_in_s=(40, 60), **ZEROED)
        check_gw(gws[(1, q.uri)], 1, q.uri)
        check_gw(gws[(2, y.uri)], 2, y.uri)


def test_trial_in_flight_is_listed(run, proxy):
    # T rings and never answers: a trial call to it stays in flight until
    # fr_inv_timer.
    t = harness.Gateway(run, "T", "uas_provisional.xml", CODE=180,
                        REASON="Ringing")
    b = harness.Gateway(run, "B", "uas_200.xml")
    k = proxy([(1, t.uri, 20), (1, b.uri, 10)], FR_TIMER=1000,
              FR_INV_TIMER=2000, FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(trial_calls=1, delay_base_ms=0))
    rpc(k, "kamcmd", "gwfailover.eject", t.uri, 1)
    harness.wait_until(
        lambda: get(k, "jsonrpc", t.uri)["state"] == "half-open", 5,
        what="T to become half-open")

    result = {}
    caller = threading.Thread(target=lambda: result.update(
        r=harness.run_caller(run, "ring", "uac_expect.xml", k.sip_port,
                             calls=1, rate=20, timeout=20, CODE=408)))
    caller.start()
    try:
        harness.wait_until(lambda: len(t.invites()) == 1, 5,
                           what="the trial call to reach T")
        harness.wait_until(
            lambda: get(k, "kamcmd", t.uri)["trials_in_flight"] == 1, 2,
            what="the trial call to be listed")
        # Its only trial slot is taken: the dispatcher offers it no more.
        for transport in TRANSPORTS:
            g = by_key(gw_list(k, transport))[(1, t.uri)]
            check_gw(g, 1, t.uri, state="half-open",
                     reason="ejection time over", dispatcher="IP",
                     ejections=1, trials_in_flight=1)
        assert k.dispatcher_flags()[t.uri] == "IP"
    finally:
        caller.join(30)
    assert result["r"].rc == 0, result["r"].output[-2000:]
    assert result["r"].finals() == [408]
    # The callee did not answer: the slot is free again, nothing counted.
    g = get(k, "jsonrpc", t.uri)
    assert (g["state"], g["trials_in_flight"], g["dispatcher"],
            g["consecutive_faults"], g["counted"], g["not_counted"],
            g["last_code"]) == ("half-open", 0, "AX", 0, 0, 1, 408), g
    r = rpc(k, "jsonrpc", "gwfailover.restore", t.uri, 1)
    assert (r["state"], r["reason"], r["dispatcher"], r["trials_in_flight"]) \
        == ("closed", "manual restore", "AX", 0), r
    assert b.invites() == []


# ------------------------------------------------------------ other configs

def test_config_and_rules_with_default_modparams(run, proxy):
    k = proxy([(1, "sip:127.0.0.1:9", 10)], FAILURE_BODY=FAILOVER)
    want = dict(failure_threshold=5, eject_time_s=30, trial_calls=1,
                trial_successes=1, silence_ms=800, silence_floor_ms=300,
                silence_invites=3, rescue=1, delay_base_ms=100,
                delay_min_ms=0,
                delay_max_ms=2000, jitter="full", max_attempts=4,
                time_budget_ms=10000, retry_after_min_s=1,
                retry_after_max_s=300, max_gateways=1024,
                exhausted_code=0,
                exhausted_reason="No gateway available", event_callback="",
                progress_reply="", state_file="",
                **WEBHOOK_DEFAULTS)
    for transport in TRANSPORTS:
        cfg = rpc(k, transport, "gwfailover.config")
        assert set(cfg) == CONFIG_KEYS, cfg
        assert {key: cfg[key] for key in want} == want
        assert cfg["gateways_known"] in (0, 1)
        got = [(r["rule"], r["source"]) for r in cfg["rules"]]
        assert sorted(got) == sorted((r, "default") for r in DEFAULT_RULES)


def test_classify_fallback_without_default_rules(run, proxy):
    k = proxy([(1, "sip:127.0.0.1:9", 10)], FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(default_rules=0,
                                   rule="503=failover,count"))
    for transport in TRANSPORTS:
        assert rpc(k, transport, "gwfailover.classify", 486) == \
            cls(486, "reply", 0, "stop", "ignore", "", "fallback")
        assert rpc(k, transport, "gwfailover.classify", "408", "timeout") == \
            cls(408, "timeout", 0, "stop", "ignore", "", "fallback")
        assert rpc(k, transport, "gwfailover.classify", "503") == \
            cls(503, "reply", 0, "failover", "count", "503=failover,count",
                "modparam")
        rules = rpc(k, transport, "gwfailover.config")["rules"]
        assert rules == [{"rule": "503=failover,count", "source": "modparam"}]


# ------------------------------------------------------------ last

def test_shared_kamailio_survived_all_bad_input(idle):
    """Runs after the bad input above (pytest keeps file order): the shared
    Kamailio still runs and answers on both transports, nothing was
    ejected or counted, and its log has no crash or BUG line."""
    k = idle.k
    assert k.proc.running()
    assert k.alive()
    for transport in TRANSPORTS:
        gws = gw_list(k, transport)
        assert [(g["set"], g["uri"]) for g in gws] == idle.order
        for g in gws:
            check_gw(g, g["set"], g["uri"])
        assert rpc(k, transport, "gwfailover.classify", "503")["action"] == \
            "failover"
    bad = [line for line in k.log().splitlines()
           if any(b in line for b in BAD_LOG)]
    assert not bad, "\n".join(bad[:20])
