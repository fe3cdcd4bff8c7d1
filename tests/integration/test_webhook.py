"""Issue 5: webhooks. A real Kamailio posts each breaker and set event with
real libcurl to a real HTTP(S) listener of the test (webhook_listener.py)
on 127.0.0.1; gateways are sipp or plain URIs nobody calls, driven by SIP
traffic or by the RPC commands gwfailover.eject / gwfailover.restore.

Every expected value is worked out from the issue 5 spec; the comments say
how. Every wait is bounded; the listeners are stopped at the end of each
test (before Kamailio), whatever happened.
"""

import calendar
import hashlib
import hmac
import json
import re
import socket
import time

import pytest

import harness
from conftest import modparams
from webhook_listener import HANG, WebhookListener, make_self_signed

FAILOVER = "gwf_failover();"
NODE = "proxy-test-1"
SECRET = "t0p-s3cret webhook key"

WH_STATS = ("webhook_queued", "webhook_sent", "webhook_retried",
            "webhook_dropped", "webhook_failed", "webhook_suppressed")

# Keys of the bodies, in the spec's order. eject_seconds only in
# gateway_ejected and gateway_manual_eject.
GW_KEYS = ["event", "id", "time", "node", "set", "gateway", "state",
           "previous_state", "reason", "manual", "last_codes",
           "consecutive_faults", "ejections", "eject_seconds", "enforced",
           "eject_multiplier", "next_eject_seconds", "suppressed"]
SET_KEYS = ["event", "id", "time", "node", "set", "gateways", "healthy"]
WITH_EJECT_SECONDS = ("gateway_ejected", "gateway_manual_eject")
GW_EVENTS = ("gateway_ejected", "gateway_half_open", "gateway_restored",
             "gateway_manual_eject", "gateway_manual_restore")
SET_EVENTS = ("set_down", "set_up")

STATUS_KEYS = ["queue_depth", "queue_size", "urls"]
URL_KEYS = ["url", "sent", "failed", "retried", "last_http_code",
            "last_error", "last_error_ago_s", "last_success_ago_s"]

ID_RE = re.compile(r"[0-9a-f]{16}-[0-9]+")
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def listen(run):
    """listen(script=(), default=200, silent=False, tls=None): a
    WebhookListener stopped at the end of the test (before Kamailio, which
    the run fixture stops after this one); its requests are written to the
    run directory."""
    made = []

    def start(*args, **kw):
        lis = WebhookListener(*args, **kw)
        made.append(lis)
        return lis
    yield start
    for lis in made:
        lis.stop()
        with open(run.path("listener_%d.log" % lis.port), "w") as f:
            f.write("connections %d, tls errors %r, errors %r\n"
                    % (len(lis.connections), lis.tls_errors, lis.errors))
            for r in lis.requests:
                f.write("%.3f %s %s -> %s\n%r\n%s\n\n" % (
                    r.time, r.method, r.path, r.status, r.headers,
                    r.body.decode("utf-8", "replace")))


# ---------------------------------------------------------------- helpers

def reply_gw(run, name, code, reason, port=None):
    return harness.Gateway(run, name, "uas_reply.xml", port=port, CODE=code,
                           REASON=reason, EXTRA="")


def nobody():
    """URI of a gateway no call ever reaches (nothing listens there)."""
    return "sip:127.0.0.1:%d" % harness.free_udp_port()


def call(run, k, name, calls=1, rate=10):
    """<calls> calls that must all be answered (200, ACK, BYE)."""
    res = harness.run_caller(run, name, "uac_call.xml", k.sip_port,
                             calls=calls, rate=rate, timeout=20)
    assert res.rc == 0, res.output[-3000:]
    assert res.finals() == [200] * calls
    return res



def wh_stats(k):
    stats = k.gwf_stats()
    return dict((name, stats.get(name)) for name in WH_STATS)


def wh(**values):
    """Every webhook counter of the spec, 0 unless given."""
    return harness.counters(WH_STATS, **values)


def settle(get, want, timeout=5.0):
    harness.settle(get, want, timeout, step=0.05)


def status(k, transport="jsonrpc"):
    if transport == "kamcmd":
        return k.rpc_value("gwfailover.webhook_status")
    return k.jsonrpc_value("gwfailover.webhook_status")


def rfc3339(text):
    """Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS.mmmZ"."""
    assert TIME_RE.fullmatch(text), "time %r is not RFC 3339 UTC with ms" \
        % text
    return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) \
        + int(text[20:23]) / 1000.0


def id_parts(ev):
    inst, seq = ev["id"].rsplit("-", 1)
    return inst, int(seq)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_post(req, path, secret=None):
    """The request itself: POST to the URL's path, JSON, the module's
    User-Agent, one line, and the signature exactly when a secret is
    set."""
    assert req.method == "POST", req
    assert req.path == path, req.path
    assert req.header("Content-Type") == "application/json", req.headers
    assert re.fullmatch(r"gwfailover/\S+", req.header("User-Agent") or ""), \
        req.headers
    length = req.header("Content-Length")
    if length is not None:
        assert int(length) == len(req.body)
    assert b"\n" not in req.body.rstrip(b"\r\n"), req.body
    sig = req.header_all("X-Gwfailover-Signature")
    if secret is None:
        assert sig == [], req.headers
    else:
        want = "sha256=" + hmac.new(secret.encode(), req.body,
                                    hashlib.sha256).hexdigest()
        assert sig == [want], (sig, want)


def parse_event(req):
    """json.loads of the body; keys checked unique and in the spec's order,
    every field of the right type and form. Returns the event as a dict."""
    pairs = json.loads(req.body.decode("utf-8"),
                       object_pairs_hook=lambda p: p)
    assert isinstance(pairs, list), req.body
    keys = [key for key, _ in pairs]
    assert len(set(keys)) == len(keys), "duplicate keys: %s" % keys
    ev = dict(pairs)
    name = ev.get("event")
    if name in GW_EVENTS:
        want_keys = [key for key in GW_KEYS if key != "eject_seconds"
                     or name in WITH_EJECT_SECONDS]
    else:
        assert name in SET_EVENTS, "unknown event %r" % name
        want_keys = SET_KEYS
    assert keys == want_keys, "keys %s, expected %s" % (keys, want_keys)
    assert isinstance(ev["id"], str) and ID_RE.fullmatch(ev["id"]), ev["id"]
    rfc3339(ev["time"])
    assert isinstance(ev["node"], str) and ev["node"], ev
    for key in ("set", "consecutive_faults", "ejections", "eject_seconds",
                "suppressed", "gateways", "healthy"):
        if key in ev:
            assert is_int(ev[key]), (key, ev[key])
    for key in ("gateway", "state", "previous_state", "reason"):
        if key in ev:
            assert isinstance(ev[key], str), (key, ev[key])
    if "manual" in ev:
        assert isinstance(ev["manual"], bool), ev["manual"]
    if "last_codes" in ev:
        assert isinstance(ev["last_codes"], list), ev["last_codes"]
        assert len(ev["last_codes"]) <= 8, ev["last_codes"]
        assert all(is_int(c) for c in ev["last_codes"]), ev["last_codes"]
    return ev


def check_event(req, t_lo, t_hi, **want):
    """parse_event() plus: "time" (when the state changed) within
    [t_lo, t_hi] (wall clock, ms precision), and the fields in want."""
    ev = parse_event(req)
    t = rfc3339(ev["time"])
    assert t_lo - 0.002 <= t <= t_hi + 0.002, \
        "time %s (%.3f) not within %.3f..%.3f" % (ev["time"], t, t_lo, t_hi)
    got = dict((key, ev.get(key, "<absent>")) for key in want)
    assert got == want, "%s\nbody: %s" % (
        "; ".join("%s=%r, expected %r" % (key, got[key], want[key])
                  for key in want if got[key] != want[key]), req.body)
    return ev


def gw_event(name, uri, state, previous, reason, manual, last_codes,
             faults, ejections, eject_seconds=None, setid=1, node=NODE,
             suppressed=0):
    want = {"event": name, "node": node, "set": setid, "gateway": uri,
            "state": state, "previous_state": previous, "reason": reason,
            "manual": manual, "last_codes": last_codes,
            "consecutive_faults": faults, "ejections": ejections,
            "suppressed": suppressed}
    if eject_seconds is not None:
        want["eject_seconds"] = eject_seconds
    return want


def check_ids(events):
    """Unique ids, one instance, sequence rising in posting order."""
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids), ids
    assert len(set(id_parts(e)[0] for e in events)) == 1, ids
    seqs = [id_parts(e)[1] for e in events]
    assert seqs == sorted(seqs), ids


def in_window(value, lo, hi):
    return is_int(value) and lo <= value <= hi


def check_url_status(entry, **want):
    """One urls[] entry: keys in order, types, and values; a (lo, hi)
    tuple is a window."""
    assert isinstance(entry, dict) and list(entry) == URL_KEYS, entry
    assert isinstance(entry["url"], str) and \
        isinstance(entry["last_error"], str), entry
    for key in URL_KEYS:
        if key not in ("url", "last_error"):
            assert is_int(entry[key]), (key, entry)
    bad = []
    for key, value in want.items():
        if isinstance(value, tuple):
            if not in_window(entry[key], *value):
                bad.append("%s=%r not in %r" % (key, entry[key], value))
        elif entry[key] != value:
            bad.append("%s=%r, expected %r" % (key, entry[key], value))
    assert not bad, "%s\n%r" % ("; ".join(bad), entry)


def gap(a, b):
    return b.mono - a.mono


# ---------------------------------------------------------------- 1. bodies

def test_ejection_restore_and_eject_bodies_signed(run, proxy, listen):
    lis = listen()
    path = "/hooks/gwf?src=it"
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=0,
                                   eject_time_s=45, eject_jitter_percent=0,
                                   node_name=NODE,
                                   webhook_url=lis.url(path),
                                   webhook_secret=SECRET))
    assert lis.requests == []

    # Two 503s (threshold 2), both failed over to the backup: the second
    # ejects the primary for eject_time_s.
    t0 = time.time()
    call(run, k, "c12", calls=2)
    t1 = time.time()
    assert len(primary.invites()) == 2 and len(backup.invites()) == 2
    reqs = lis.wait_requests(1, 5)
    ev1 = check_event(reqs[0], t0, t1, **gw_event(
        "gateway_ejected", primary.uri, "open", "closed",
        "2 consecutive faults, last 503", False, [503, 503], 2, 1,
        eject_seconds=45))
    g = k.jsonrpc_value("gwfailover.get", primary.uri)
    assert (g["state"], g["reason"], g["consecutive_faults"],
            g["ejections"]) == ("open", ev1["reason"], 2, 1), g

    # An operator restores it: closed, the fault count reset, the failure
    # history (last_codes, ejections) kept.
    t2 = time.time()
    k.rpc("gwfailover.restore", primary.uri)
    t3 = time.time()
    reqs = lis.wait_requests(2, 5)
    check_event(reqs[1], t2, t3, **gw_event(
        "gateway_manual_restore", primary.uri, "closed", "open",
        "manual restore", True, [503, 503], 0, 1))

    # An operator ejects the backup for 7 s: a gateway that never failed.
    t4 = time.time()
    k.rpc("gwfailover.eject", backup.uri, 7)
    t5 = time.time()
    reqs = lis.wait_requests(3, 5)
    check_event(reqs[2], t4, t5, **gw_event(
        "gateway_manual_eject", backup.uri, "open", "closed",
        "manual eject for 7 s", True, [], 0, 1, eject_seconds=7))

    for req in reqs:
        check_post(req, path, SECRET)
    check_ids([parse_event(r) for r in reqs])
    time.sleep(0.3)
    assert len(lis.requests) == 3
    settle(lambda: wh_stats(k), wh(webhook_queued=3, webhook_sent=3))


def test_half_open_failed_trial_and_trial_restore_bodies_unsigned(
        run, proxy, listen):
    lis = listen()
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    port = primary.port
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    # No node_name: the host name. No webhook_secret: no signature. Five
    # events of one gateway within a minute: more than the default
    # webhook_flap_max (4) allows.
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=0,
                                   eject_time_s=1, eject_jitter_percent=0,
                                   trial_calls=1, webhook_flap_max=10,
                                   webhook_url=lis.url("/")))
    node = socket.gethostname()

    def faults():
        return k.jsonrpc_value("gwfailover.get",
                               primary.uri)["consecutive_faults"]

    # 1. Two 503s: ejected for eject_time_s (1 s).
    t0 = time.time()
    call(run, k, "c12", calls=2)
    t1 = time.time()
    reqs = lis.wait_requests(1, 5)
    ev = check_event(reqs[0], t0, t1, **gw_event(
        "gateway_ejected", primary.uri, "open", "closed",
        "2 consecutive faults, last 503", False, [503, 503], 2, 1,
        eject_seconds=1, node=node))

    # 2. 1 s later: half-open. The fault count is not reset by it.
    reqs = lis.wait_requests(2, 5)
    check_event(reqs[1], rfc3339(ev["time"]) + 0.99, reqs[1].time,
                **gw_event("gateway_half_open", primary.uri, "half-open",
                           "open", "ejection time over", False, [503, 503],
                           2, 1, node=node))
    assert faults() == 2

    # 3. The trial call gets a 503 (the caller still gets the backup's
    #    200): out again from half-open, a second ejection in a row, twice
    #    as long (eject_time_s x 2).
    t2 = time.time()
    call(run, k, "trial_503", calls=1)
    t3 = time.time()
    assert len(primary.invites()) == 3
    reqs = lis.wait_requests(3, 5)
    ev = parse_event(reqs[2])
    # consecutive_faults: the breaker's count after the transition, as
    # gwfailover.get shows it.
    check_event(reqs[2], t2, t3, **gw_event(
        "gateway_ejected", primary.uri, "open", "half-open",
        "trial call failed (503)", False, [503, 503, 503], faults(), 2,
        eject_seconds=2, node=node))

    # 4. The primary comes back healthy on the same port; half-open again.
    primary.stop()
    healthy = harness.Gateway(run, "primary_ok", "uas_200.xml", port=port)
    reqs = lis.wait_requests(4, 5)
    check_event(reqs[3], rfc3339(ev["time"]) + 1.99, reqs[3].time,
                **gw_event("gateway_half_open", primary.uri, "half-open",
                           "open", "ejection time over", False,
                           [503, 503, 503], faults(), 2, node=node))

    # 5. One trial call (trial_calls 1) succeeds: restored, fault count 0.
    t4 = time.time()
    call(run, k, "trial_ok", calls=1)
    t5 = time.time()
    assert len(healthy.invites()) == 1
    reqs = lis.wait_requests(5, 5)
    check_event(reqs[4], t4, t5, **gw_event(
        "gateway_restored", primary.uri, "closed", "half-open",
        "1 trial call succeeded", False, [503, 503, 503], 0, 2, node=node))
    g = k.jsonrpc_value("gwfailover.get", primary.uri)
    assert (g["state"], g["consecutive_faults"]) == ("closed", 0), g

    for req in reqs:
        check_post(req, "/", None)
    check_ids([parse_event(r) for r in reqs])
    time.sleep(0.3)
    assert len(lis.requests) == 5
    settle(lambda: wh_stats(k), wh(webhook_queued=5, webhook_sent=5))


# ---------------------------------------------------------------- 2. retries

def test_5xx_is_retried_with_exponential_backoff(run, proxy, listen):
    lis = listen(script=[500, 500, 200])
    gw = nobody()
    k = proxy([(1, gw, 20), (1, nobody(), 10)],
              MOD_PARAMS=modparams(webhook_url=lis.url("/r"),
                                   webhook_retries=3,
                                   webhook_retry_base_ms=200,
                                   webhook_retry_max_ms=10000))
    k.rpc("gwfailover.eject", gw)
    reqs = lis.wait_requests(3, 5)
    assert [r.status for r in reqs] == [500, 500, 200]
    # The same event each time: same bytes, same id.
    assert reqs[0].body == reqs[1].body == reqs[2].body
    evs = [parse_event(r) for r in reqs]
    assert evs[0]["event"] == "gateway_manual_eject"
    assert evs[0]["id"] == evs[1]["id"] == evs[2]["id"]
    # Backoff before retry n: 200 * 2^(n-1) ms.
    g1, g2 = gap(reqs[0], reqs[1]), gap(reqs[1], reqs[2])
    assert 0.19 <= g1 <= 0.5, g1
    assert 0.39 <= g2 <= 0.7, g2
    time.sleep(0.5)
    assert len(lis.requests) == 3
    settle(lambda: wh_stats(k), wh(webhook_queued=1, webhook_retried=2,
                                   webhook_sent=1))
    st = status(k)
    assert len(st["urls"]) == 1, st
    check_url_status(st["urls"][0], url=lis.url("/r"), sent=1, failed=0,
                     retried=2, last_http_code=200, last_error_ago_s=(0, 2),
                     last_success_ago_s=(0, 2))


def test_backoff_is_capped_and_5xx_given_up_after_retries(run, proxy, listen):
    lis = listen(script=[500, 500, 500, 200, 503, 503, 503, 503])
    a, b = nobody(), nobody()
    k = proxy([(1, a, 30), (1, b, 20), (1, nobody(), 10)],
              MOD_PARAMS=modparams(webhook_url=lis.url("/c"),
                                   webhook_retries=3,
                                   webhook_retry_base_ms=100,
                                   webhook_retry_max_ms=200))
    # Event 1: 500, 500, 500, 200 - backoffs 100 ms, 200 ms, then 400
    # capped to 200.
    k.rpc("gwfailover.eject", a)
    lis.wait_requests(4, 5)
    # Event 2: 503 four times - 1 try + 3 retries, then given up. Its
    # backoff starts again from the base.
    k.rpc("gwfailover.eject", b)
    reqs = lis.wait_requests(8, 5)
    assert [r.status for r in reqs] == [500, 500, 500, 200,
                                        503, 503, 503, 503]
    assert [parse_event(r)["gateway"] for r in reqs] == [a] * 4 + [b] * 4
    for first in (0, 4):
        gaps = [gap(reqs[first + i], reqs[first + i + 1]) for i in range(3)]
        assert 0.09 <= gaps[0] <= 0.17, gaps
        # Uncapped the third would be 0.4 s.
        assert 0.19 <= gaps[1] <= 0.32 and 0.19 <= gaps[2] <= 0.32, gaps
    time.sleep(0.6)
    assert len(lis.requests) == 8
    settle(lambda: wh_stats(k), wh(webhook_queued=2, webhook_sent=1,
                                   webhook_retried=6, webhook_failed=1))
    st = status(k)
    check_url_status(st["urls"][0], url=lis.url("/c"), sent=1, failed=1,
                     retried=6, last_http_code=503, last_error="HTTP 503",
                     last_error_ago_s=(0, 2), last_success_ago_s=(0, 2))


# ---------------------------------------------------------------- 3. down

def test_listener_down_calls_flow_and_events_fail(run, proxy):
    dead = harness.free_udp_port()  # checked free for TCP: nobody listens
    url = "http://127.0.0.1:%d/down" % dead
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=0,
                                   webhook_url=url, webhook_retries=2,
                                   webhook_retry_base_ms=50,
                                   webhook_retry_max_ms=100))
    # 20 calls: two 503s eject the primary (event 1); all answered.
    call(run, k, "c20", calls=20, rate=20)
    k.rpc("gwfailover.restore", primary.uri)            # event 2
    call(run, k, "c5", calls=5, rate=20)                 # ejected: event 3
    assert len(primary.invites()) == 4
    assert len(backup.invites()) == 25
    # Each event: 1 try + 2 retries, all refused, then given up.
    settle(lambda: wh_stats(k), wh(webhook_queued=3, webhook_retried=6,
                                   webhook_failed=3))
    st = status(k)
    assert st["queue_depth"] == 0 and st["queue_size"] == 256, st
    assert len(st["urls"]) == 1, st
    check_url_status(st["urls"][0], url=url, sent=0, failed=3, retried=6,
                     last_http_code=0, last_error_ago_s=(0, 3),
                     last_success_ago_s=-1)
    assert st["urls"][0]["last_error"] != "", st


# ---------------------------------------------------------------- 4. 4xx

def test_4xx_and_3xx_are_given_up_at_once(run, proxy, listen):
    lis = listen(script=[400])
    # A redirect to the same listener: following it would show up there.
    lis.script.append({"status": 302,
                       "headers": {"Location": lis.url("/moved")}})
    a, b = nobody(), nobody()
    k = proxy([(1, a, 30), (1, b, 20), (1, nobody(), 10)],
              MOD_PARAMS=modparams(webhook_url=lis.url("/h"),
                                   webhook_retries=3,
                                   webhook_retry_base_ms=100))
    k.rpc("gwfailover.eject", a)
    lis.wait_requests(1, 5)
    k.rpc("gwfailover.eject", b)
    lis.wait_requests(2, 5)
    time.sleep(0.7)  # well past the first backoff (100 ms)
    reqs = lis.requests
    assert [(r.path, r.status) for r in reqs] == [("/h", 400), ("/h", 302)]
    settle(lambda: wh_stats(k), wh(webhook_queued=2, webhook_failed=2))
    check_url_status(status(k)["urls"][0], url=lis.url("/h"), sent=0,
                     failed=2, retried=0, last_http_code=302,
                     last_error="HTTP 302", last_error_ago_s=(0, 2),
                     last_success_ago_s=-1)


def test_timeout_is_retried_then_given_up(run, proxy, listen):
    lis = listen(default=HANG)
    gw = nobody()
    k = proxy([(1, gw, 20), (1, nobody(), 10)],
              MOD_PARAMS=modparams(webhook_url=lis.url("/t"),
                                   webhook_timeout_ms=300,
                                   webhook_retries=1,
                                   webhook_retry_base_ms=100))
    k.rpc("gwfailover.eject", gw)
    reqs = lis.wait_requests(2, 5)
    # 300 ms for the whole request, then 100 ms of backoff.
    g = gap(reqs[0], reqs[1])
    assert 0.38 <= g <= 0.8, g
    assert reqs[0].body == reqs[1].body
    settle(lambda: wh_stats(k), wh(webhook_queued=1, webhook_retried=1,
                                   webhook_failed=1))
    time.sleep(0.3)
    assert len(lis.requests) == 2
    entry = status(k)["urls"][0]
    check_url_status(entry, sent=0, failed=1, retried=1, last_http_code=0,
                     last_error_ago_s=(0, 2), last_success_ago_s=-1)
    # curl's words: "Timeout was reached" (curl_easy_strerror) or the
    # error buffer's "Operation timed out after 300 milliseconds ...".
    assert re.search(r"time(d)? ?out", entry["last_error"], re.I), entry


# ---------------------------------------------------------------- 5. queue

def test_full_queue_drops_and_never_blocks(run, proxy, listen):
    lis = listen(default=HANG)
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    idle = [nobody() for _ in range(4)]
    k = proxy([(1, primary.uri, 60), (1, backup.uri, 50)]
              + [(1, uri, 10) for uri in idle],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=1, delay_base_ms=0,
                                   webhook_url=lis.url("/q"),
                                   webhook_queue_size=1,
                                   webhook_timeout_ms=5000,
                                   webhook_retries=0))
    # Four ejections at once through RPC: the first is being posted (the
    # listener never answers), one more may wait; the others are dropped.
    # The RPC process only copies into the queue: each returns at once.
    for uri in idle:
        t = time.monotonic()
        k.rpc("gwfailover.eject", uri)
        took = time.monotonic() - t
        assert took < 2.0, (uri, took)
    first = lis.wait_requests(1, 3)[0]
    ev = parse_event(first)
    assert (ev["event"], ev["gateway"]) == ("gateway_manual_eject", idle[0])

    # SIP traffic meanwhile: the first call's 503 ejects the primary in a
    # SIP worker (a fifth event, into the full queue); all are answered
    # without waiting for the webhook.
    t = time.monotonic()
    call(run, k, "c5", calls=5, rate=10)
    assert time.monotonic() - t < 5.0
    assert len(primary.invites()) == 1 and len(backup.invites()) == 5

    def accounted():
        s = wh_stats(k)
        return s if s["webhook_queued"] + s["webhook_dropped"] == 5 else None
    s = harness.wait_until(accounted, 3, what="5 events queued or dropped")
    # At most one in flight plus one waiting (queue size 1) were taken.
    assert s["webhook_dropped"] >= 3 and s["webhook_queued"] <= 2, s
    assert (s["webhook_sent"], s["webhook_failed"], s["webhook_retried"]) \
        == (0, 0, 0), s
    st = status(k)
    assert st["queue_size"] == 1 and st["queue_depth"] in (0, 1), st
    # Still hanging on the first event.
    assert len(lis.requests) == 1


# ------------------------------------------------ 5b. independent URLs

def url_entry(k, url):
    """The gwfailover.webhook_status entry of <url>."""
    return next(e for e in status(k)["urls"] if e["url"] == url)


def test_hung_url_does_not_delay_the_healthy_one(run, proxy, listen):
    # A black hole first in URL order (it accepts the connection and never
    # reads nor answers), a healthy receiver second. Each attempt at the
    # black hole takes webhook_timeout_ms (1 s); with 3 retries and their
    # waits (200, 400, 400 ms) one event holds it for 5 s.
    hole = listen(silent=True)
    good = listen()
    urls = [hole.url("/hole"), good.url("/good")]
    gws = [nobody() for _ in range(3)]
    k = proxy([(1, uri, 20) for uri in gws] + [(1, nobody(), 10)],
              MOD_PARAMS=modparams(webhook_url=urls, webhook_timeout_ms=1000,
                                   webhook_connect_timeout_ms=500,
                                   webhook_retries=3,
                                   webhook_retry_base_ms=200,
                                   webhook_retry_max_ms=400,
                                   node_name=NODE))
    # Four events 0.4 s apart, over 1.2 s: the first attempt at the black
    # hole times out and is retried meanwhile. The healthy URL gets each
    # one within its own latency (well under 1 s), never after the black
    # hole's 5 s.
    steps = [("gwfailover.eject", gws[0], "gateway_manual_eject"),
             ("gwfailover.eject", gws[1], "gateway_manual_eject"),
             ("gwfailover.restore", gws[0], "gateway_manual_restore"),
             ("gwfailover.eject", gws[2], "gateway_manual_eject")]
    for n, (cmd, uri, name) in enumerate(steps, 1):
        if n > 1:
            time.sleep(0.4)
        t = time.monotonic()
        k.rpc(cmd, uri)
        req = good.wait_requests(n, 8)[n - 1]
        late = req.mono - t
        assert late < 1.0, "event %d (%s %s) reached the healthy URL %.2f s" \
            " after it happened" % (n, name, uri, late)
        ev = parse_event(req)
        assert (ev["event"], ev["gateway"]) == (name, uri), ev
        check_post(req, "/good")
    check_ids([parse_event(r) for r in good.requests])

    # The black hole is still on the first event: retried, not given up.
    harness.wait_until(lambda: url_entry(k, urls[0])["retried"] >= 1, 3,
                       what="a retry at the black hole")
    hole_st = url_entry(k, urls[0])
    check_url_status(hole_st, url=urls[0], sent=0, failed=0, retried=(1, 2),
                     last_http_code=0, last_success_ago_s=-1)
    assert re.search(r"time(d)? ?out", hole_st["last_error"], re.I), hole_st
    # One connection per attempt: the timed-out one is closed.
    assert len(hole.connections) >= 2, hole.connections
    check_url_status(url_entry(k, urls[1]), url=urls[1], sent=4, failed=0,
                     retried=0, last_http_code=200, last_error="")
    s = wh_stats(k)
    assert s["webhook_retried"] >= 1, s
    assert s == wh(webhook_queued=4, webhook_sent=4,
                   webhook_retried=s["webhook_retried"]), s
    assert len(good.requests) == 4


def test_full_backlog_of_a_hung_url_drops_its_oldest_pending(run, proxy,
                                                            listen):
    # webhook_queue_size 2: each URL holds at most 2 deliveries, the one
    # in flight included. The hung URL keeps event 1 in flight for 1.5 s
    # (no retry); events 2, 3 and 4 each push the oldest pending one out,
    # so it ends with events 1 and 5. The healthy URL gets all five.
    hung = listen(default=HANG)
    good = listen()
    urls = [hung.url("/hung"), good.url("/good")]
    gws = [nobody() for _ in range(5)]
    k = proxy([(1, uri, 20) for uri in gws] + [(1, nobody(), 10)],
              MOD_PARAMS=modparams(webhook_url=urls, webhook_queue_size=2,
                                   webhook_timeout_ms=1500,
                                   webhook_retries=0, node_name=NODE))
    for n, uri in enumerate(gws, 1):
        k.rpc("gwfailover.eject", uri)
        good.wait_requests(n, 3)
    assert [parse_event(r)["gateway"] for r in good.requests] == gws

    # Event 1 times out at 1.5 s and is given up; then event 5 is posted
    # and times out too.
    reqs = hung.wait_requests(2, 5)
    assert [parse_event(r)["gateway"] for r in reqs] == [gws[0], gws[4]]
    # 3 dropped + 2 given up, all counted as failed deliveries of the hung
    # URL; no event was refused by the shared queue.
    settle(lambda: wh_stats(k), wh(webhook_queued=5, webhook_sent=5,
                                   webhook_failed=5))
    check_url_status(url_entry(k, urls[0]), url=urls[0], sent=0, failed=5,
                     retried=0)
    check_url_status(url_entry(k, urls[1]), url=urls[1], sent=5, failed=0,
                     retried=0)
    assert len(hung.requests) == 2
    # One warning for the overflow, one notice when it caught up.
    log = k.log()
    full = [line for line in log.splitlines()
            if "more than 2 deliveries waiting" in line]
    assert len(full) == 1 and urls[0] in full[0], full
    caught = [line for line in log.splitlines() if "caught up" in line]
    assert len(caught) == 1 and "3 pending deliveries were dropped" \
        in caught[0], caught


# ---------------------------------------------------------------- 6. flaps

def test_flapping_gateway_is_summarised(run, proxy, listen):
    lis = listen()
    g1, g2 = nobody(), nobody()
    # Set 1 keeps a healthy gateway (no set events); g2 is alone in set 2.
    k = proxy([(1, g1, 20), (1, nobody(), 10), (2, g2, 10)],
              MOD_PARAMS=modparams(webhook_url=lis.url("/f"),
                                   webhook_flap_max=2,
                                   webhook_flap_window_s=2, node_name=NODE))
    t0 = time.time()
    for _ in range(5):
        k.rpc("gwfailover.eject", g1)
        k.rpc("gwfailover.restore", g1)
    t1 = time.time()
    for _ in range(3):
        k.rpc("gwfailover.eject", g2)
        k.rpc("gwfailover.restore", g2)
    t2 = time.time()
    assert t2 - t0 < 1.5, "RPC too slow for the 2 s window: %.2f" % (t2 - t0)

    # g1: 10 events. The first 2 are posted at once; the 8 later ones in
    # the window are held back. When the window (2 s from the first post)
    # ends, the newest held back one (the 5th restore) is posted with
    # suppressed = 7 (held back and never posted).
    # g2: 6 events: 2 posted, 4 held back, the 3rd restore posted with
    # suppressed 3. Set 2: 6 set events, never held back.
    lis.wait_requests(12, 6)
    time.sleep(0.8)
    reqs = lis.requests
    evs = [parse_event(r) for r in reqs]
    assert len(reqs) == 12, evs
    for req in reqs:
        check_post(req, "/f")
    # The two summaries come last, about 2 s after the rest.
    start = reqs[0].mono
    assert all(e.get("suppressed", 0) == 0 for e in evs[:10]), evs
    assert all(r.mono - start < 1.5 for r in reqs[:10]), \
        [round(r.mono - start, 3) for r in reqs]
    check_ids(evs[:10])
    assert len(set(e["id"] for e in evs)) == 12

    for uri, setid, rounds, held, t_lo, t_hi in ((g1, 1, 5, 7, t0, t1),
                                                 (g2, 2, 3, 3, t1, t2)):
        got = [(e, r) for e, r in zip(evs, reqs) if e.get("gateway") == uri]
        assert [(e["event"], e["set"], e["ejections"], e["suppressed"])
                for e, _ in got] == [
            ("gateway_manual_eject", setid, 1, 0),
            ("gateway_manual_restore", setid, 1, 0),
            ("gateway_manual_restore", setid, rounds, held)], uri
        last_ev, last_req = got[-1]
        # The held back event itself: its state change happened within the
        # burst, not when it was posted.
        check_event(last_req, t_lo, t_hi, **gw_event(
            "gateway_manual_restore", uri, "closed", "open",
            "manual restore", True, [], 0, rounds, setid=setid,
            suppressed=held))
        assert id_parts(last_ev)[1] > id_parts(got[1][0])[1]
        # Posted when the window of its gateway ends: 2 s after that
        # gateway's first post.
        window = last_req.mono - got[0][1].mono
        assert 1.9 <= window <= 3.5, (uri, window)

    sets = [e for e in evs if e["event"] in SET_EVENTS]
    assert [(e["event"], e["set"], e["gateways"], e["healthy"])
            for e in sets] == [("set_down", 2, 1, 0),
                               ("set_up", 2, 1, 1)] * 3
    for e in sets:
        assert t1 - 0.002 <= rfc3339(e["time"]) <= t2 + 0.002, e

    # webhook_suppressed counts every event held back (8 + 4), including
    # the two posted later as summaries; webhook_sent every post.
    settle(lambda: dict((n, wh_stats(k)[n]) for n in
                        ("webhook_sent", "webhook_suppressed",
                         "webhook_dropped", "webhook_failed",
                         "webhook_retried")),
           dict(webhook_sent=12, webhook_suppressed=12, webhook_dropped=0,
                webhook_failed=0, webhook_retried=0))


# ---------------------------------------------------------------- 7. sets

def test_set_down_and_set_up(run, proxy, listen):
    lis = listen()
    a, b = nobody(), nobody()
    k = proxy([(1, a, 20), (1, b, 10), (2, nobody(), 10)],
              MOD_PARAMS=modparams(webhook_url=lis.url("/s"),
                                   node_name=NODE))
    # One of two ejected: the set still has a healthy gateway.
    k.rpc("gwfailover.eject", a)
    lis.wait_requests(1, 5)
    time.sleep(0.3)
    assert len(lis.requests) == 1
    # The second one: no healthy gateway left.
    t0 = time.time()
    k.rpc("gwfailover.eject", b)
    t1 = time.time()
    lis.wait_requests(3, 5)
    # One back: the set is up again, with 1 healthy of 2.
    t2 = time.time()
    k.rpc("gwfailover.restore", a)
    t3 = time.time()
    reqs = lis.wait_requests(5, 5)
    time.sleep(0.3)
    assert len(lis.requests) == 5
    evs = [parse_event(r) for r in reqs]
    assert [(e["event"], e.get("gateway")) for e in evs] == [
        ("gateway_manual_eject", a), ("gateway_manual_eject", b),
        ("set_down", None), ("gateway_manual_restore", a), ("set_up", None)]
    check_event(reqs[2], t0, t1, event="set_down", node=NODE, set=1,
                gateways=2, healthy=0)
    check_event(reqs[4], t2, t3, event="set_up", node=NODE, set=1,
                gateways=2, healthy=1)
    check_event(reqs[1], t0, t1, **gw_event(
        "gateway_manual_eject", b, "open", "closed", "manual eject for 30 s",
        True, [], 0, 1, eject_seconds=30))
    for req in reqs:
        check_post(req, "/s")
    check_ids(evs)
    settle(lambda: wh_stats(k), wh(webhook_queued=5, webhook_sent=5))


# ---------------------------------------------------------------- 8. status

def test_webhook_status_per_url(run, proxy, listen):
    good = listen()
    bad = listen(default=400)
    urls = [good.url("/ok"), bad.url("/bad")]
    gw = nobody()
    k = proxy([(1, gw, 20), (1, nobody(), 10)],
              MOD_PARAMS=modparams(webhook_url=urls, webhook_queue_size=16,
                                   webhook_retries=1,
                                   webhook_retry_base_ms=50))
    assert re.search(r"DSC:\s*gwfailover webhook", k.rpc("core.psx"))
    for transport in ("kamcmd", "jsonrpc"):
        st = status(k, transport)
        assert list(st) == STATUS_KEYS, (transport, st)
        assert (st["queue_depth"], st["queue_size"]) == (0, 16), st
        assert len(st["urls"]) == 2, (transport, st)
        for entry, url in zip(st["urls"], urls):
            check_url_status(entry, url=url, sent=0, failed=0, retried=0,
                             last_http_code=0, last_error="",
                             last_error_ago_s=-1, last_success_ago_s=-1)

    # One event goes to each URL: 2xx at the first, 400 at the second.
    t0 = time.monotonic()
    k.rpc("gwfailover.eject", gw)
    good.wait_requests(1, 5)
    bad.wait_requests(1, 5)
    assert good.requests[0].body == bad.requests[0].body
    settle(lambda: wh_stats(k), wh(webhook_queued=1, webhook_sent=1,
                                   webhook_failed=1))
    for transport in ("kamcmd", "jsonrpc"):
        st = status(k, transport)
        ago = int(time.monotonic() - t0) + 1
        assert list(st) == STATUS_KEYS, (transport, st)
        assert (st["queue_depth"], st["queue_size"]) == (0, 16), st
        assert len(st["urls"]) == 2, (transport, st)
        check_url_status(st["urls"][0], url=urls[0], sent=1, failed=0,
                         retried=0, last_http_code=200, last_error="",
                         last_error_ago_s=-1, last_success_ago_s=(0, ago))
        check_url_status(st["urls"][1], url=urls[1], sent=0, failed=1,
                         retried=0, last_http_code=400,
                         last_error="HTTP 400", last_error_ago_s=(0, ago),
                         last_success_ago_s=-1)
    assert len(good.requests) == 1 and len(bad.requests) == 1


def test_eight_urls_each_get_every_event_in_order(run, proxy, listen):
    lis = listen()
    paths = ["/u%d" % n for n in range(8)]
    urls = [lis.url(p) for p in paths]
    gw = nobody()
    k = proxy([(1, gw, 20), (1, nobody(), 10)],
              MOD_PARAMS=modparams(webhook_url=urls))
    k.rpc("gwfailover.eject", gw)
    k.rpc("gwfailover.restore", gw)
    reqs = lis.wait_requests(16, 5)
    # The URLs are delivered independently, at once: their requests may
    # interleave in any order, but each URL gets both events, in order,
    # and every URL the same bytes for one event.
    by_path = dict((p, [r for r in reqs if r.path == p]) for p in paths)
    for p in paths:
        assert [parse_event(r)["event"] for r in by_path[p]] == [
            "gateway_manual_eject", "gateway_manual_restore"], p
    for n in range(2):
        assert len(set(by_path[p][n].body for p in paths)) == 1
    settle(lambda: wh_stats(k), wh(webhook_queued=2, webhook_sent=16))
    assert [e["url"] for e in status(k)["urls"]] == urls


def test_no_webhook_url_no_process_nothing_queued(run, proxy):
    gw = nobody()
    k = proxy([(1, gw, 20), (1, nobody(), 10)],
              MOD_PARAMS=modparams(node_name=NODE))
    assert "gwfailover webhook" not in k.rpc("core.psx")
    k.rpc("gwfailover.eject", gw)
    k.rpc("gwfailover.restore", gw)
    assert status(k) == {"queue_depth": 0, "queue_size": 0, "urls": []}
    assert status(k, "kamcmd")["queue_size"] == 0
    time.sleep(0.2)
    assert wh_stats(k) == wh()


# ---------------------------------------------------------------- 9. params

OK_URL = "http://127.0.0.1:9/hook"
BAD_PARAMS = [
    ("url_ftp", dict(webhook_url="ftp://x"), "webhook_url"),
    ("url_text", dict(webhook_url="not a url"), "webhook_url"),
    ("url_no_host", dict(webhook_url="http://"), "webhook_url"),
    ("url_space", dict(webhook_url="http://127.0.0.1:9/a b"), "webhook_url"),
    ("url_no_scheme", dict(webhook_url="127.0.0.1:9/hook"), "webhook_url"),
    ("url_second_bad", dict(webhook_url=[OK_URL, "https//127.0.0.1/x"]),
     "webhook_url"),
    ("url_nine", dict(webhook_url=["http://127.0.0.1:%d/" % (9000 + i)
                                   for i in range(9)]), "webhook_url"),
    ("timeout_negative", dict(webhook_url=OK_URL, webhook_timeout_ms=-1),
     "webhook_timeout_ms"),
    ("timeout_zero", dict(webhook_url=OK_URL, webhook_timeout_ms=0),
     "webhook_timeout_ms"),
    ("connect_timeout_negative",
     dict(webhook_url=OK_URL, webhook_connect_timeout_ms=-5),
     "webhook_connect_timeout_ms"),
    ("connect_timeout_zero",
     dict(webhook_url=OK_URL, webhook_connect_timeout_ms=0),
     "webhook_connect_timeout_ms"),
    ("queue_size_zero", dict(webhook_url=OK_URL, webhook_queue_size=0),
     "webhook_queue_size"),
    ("retries_21", dict(webhook_url=OK_URL, webhook_retries=21),
     "webhook_retries"),
    ("flap_max_zero", dict(webhook_url=OK_URL, webhook_flap_max=0),
     "webhook_flap_max"),
    ("ca_file_missing", dict(webhook_url="https://127.0.0.1:9/hook",
                             webhook_ca_file="/nonexistent/gwf-ca.pem"),
     "modparam 'webhook_ca_file': cannot read '/nonexistent/gwf-ca.pem': "
     "No such file or directory"),
]


@pytest.mark.parametrize("params,message", [p[1:] for p in BAD_PARAMS],
                         ids=[p[0] for p in BAD_PARAMS])
def test_bad_webhook_modparam_refuses_startup(run, proxy, params, message):
    k = proxy([(1, "sip:127.0.0.1:9", 10)], expect_start=False,
              MOD_PARAMS=modparams(**params))
    assert k.exit_code() != 0
    log = k.log()
    # The module's own ERROR (not the core's "parameter ... not found in
    # module" of a module that does not know the parameter).
    errors = [line for line in log.splitlines()
              if "ERROR: gwfailover" in line and message in line]
    assert errors, "no gwfailover ERROR line with %r:\n%s" % (message,
                                                             log[-3000:])
    assert "not found in module" not in log, log[-3000:]
    assert not k.proc.running()


# ---------------------------------------------------------------- 10. TLS

# Three URLs: the self-signed HTTPS listener by address, the same by host
# name (its certificate names 127.0.0.1 only), and HTTPS to a plain HTTP
# port. Which ones are delivered depends on verification.
TLS_CASES = [
    # webhook_verify_tls default (1), system CAs: the self-signed peer is
    # refused.
    ("verify_default", {}, (False, False, False)),
    # Verification with its certificate as CA: by address yes, by host
    # name no.
    ("verify_with_ca", {"webhook_verify_tls": 1, "ca": True},
     (True, False, False)),
    # No verification: any certificate, any name; plain HTTP still fails.
    ("no_verify", {"webhook_verify_tls": 0}, (True, True, False)),
]


@pytest.mark.parametrize("params,delivered", [c[1:] for c in TLS_CASES],
                         ids=[c[0] for c in TLS_CASES])
def test_https_certificate_verification(run, proxy, listen, params,
                                        delivered):
    cert, key = make_self_signed(run.dir)
    tls = listen(tls=(cert, key))
    plain = listen()
    urls = [tls.url("/a"), tls.url("/n", host="localhost"),
            "https://127.0.0.1:%d/p" % plain.port]
    extra = dict((k_, v) for k_, v in params.items() if k_ != "ca")
    if params.get("ca"):
        extra["webhook_ca_file"] = cert
    gw = nobody()
    k = proxy([(1, gw, 20), (1, nobody(), 10)],
              MOD_PARAMS=modparams(webhook_url=urls, webhook_retries=0,
                                   webhook_timeout_ms=3000, **extra))
    k.rpc("gwfailover.eject", gw)
    n_ok = sum(delivered)
    settle(lambda: wh_stats(k), wh(webhook_queued=1, webhook_sent=n_ok,
                                   webhook_failed=3 - n_ok))
    got = sorted(r.path for r in tls.requests)
    want = sorted(p for p, ok in zip(("/a", "/n"), delivered[:2]) if ok)
    assert got == want, (got, tls.tls_errors)
    for req in tls.requests:
        check_post(req, req.path)
        assert parse_event(req)["gateway"] == gw
    # The plain port saw a connection but never a request.
    assert plain.requests == [] and len(plain.connections) >= 1
    st = status(k)
    for entry, url, ok in zip(st["urls"], urls, delivered):
        if ok:
            check_url_status(entry, url=url, sent=1, failed=0,
                             last_http_code=200, last_error="")
        else:
            check_url_status(entry, url=url, sent=0, failed=1,
                             last_http_code=0)
            assert entry["last_error"] != "", entry
