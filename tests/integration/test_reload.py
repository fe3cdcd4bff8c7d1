"""dispatcher.reload while gwfailover runs: the dispatcher list grows and
shrinks under the module, against a real Kamailio, dispatcher and sipp.

- gwfailover.list right after a reload that added many gateways (its
  bookkeeping must be sized for them: the ctl process's pkg memory is
  checked by q_malloc's fragment patterns);
- gateways a reload took away: marked "removed" within a second (the
  resume process's sweep), out of their set (set_down when the last
  healthy one goes, set_up when one comes back) and of the gateways_down
  gauge, breaker stopped (an ejected one never goes half-open), and a
  member again, closed and fresh, when a reload brings them back; the
  outcome of a call in flight to a gateway removed meanwhile counts in its
  totals only;
- the dispatcher list reader says nothing when it reads a normal list.

Set events are observed through the webhook (test_webhook's listener and
checks).
"""

import socket
import threading
import time

import pytest

import harness
from conftest import modparams
from test_webhook import (NODE, check_event, listen,  # noqa: F401
                          parse_event)

FAILOVER = "gwf_failover();"
# One log line per gateway event.
GW_EVENT_ROUTES = """
event_route[gwfailover:gw-down] {
	xlog("L_NOTICE", "GWF-EVENT $gwf(event) $gwf(gw)\\n");
}
event_route[gwfailover:gw-up] {
	xlog("L_NOTICE", "GWF-EVENT $gwf(event) $gwf(gw)\\n");
}
"""

# Memory checks for the proxy: the q_malloc manager (the default, named
# here so that a change of default does not silently turn the check off),
# whose debug build (DBG_SR_MEMORY) marks the end of every fragment and
# aborts with "BUG: qm: fragm. ... end overwritten" when a free finds the
# mark changed; mem_safety=0 also aborts on a bad or double free instead of
# ignoring it. The run fixture fails a test whose Kamailio logs "BUG:".
QM_ARGV = ["-x", "qm", "-X", "qm"]
QM_CORE = "mem_safety=0\nmem_join=1"
# Reload as often as the test needs (default: at most one per 5 s).
RELOAD_ANYTIME = 'modparam("dispatcher", "reload_delta", 0)'


def nobody(i):
    """URI of gateway number i; no call ever reaches it."""
    return "sip:127.0.%d.%d:5060" % (1 + i // 250, 1 + i % 250)


def gw_list(k):
    res = k.rpc_value("gwfailover.list")
    assert isinstance(res, dict) and res["count"] == len(res["gateways"]), res
    return res["gateways"]


def test_list_right_after_a_reload_that_adds_gateways(run, proxy):
    layout = [(1, nobody(i), 10) for i in range(2)]
    k = proxy(layout, argv=QM_ARGV, CORE_PARAMS=QM_CORE,
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS="\n".join([RELOAD_ANYTIME, modparams()]))
    assert sorted(g["uri"] for g in gw_list(k)) == \
        sorted(u for _, u, _ in layout)
    # Each reload adds 80..100 gateways (well past the allocator's
    # rounding of the old code's bitmap), then the list runs at once: the
    # resume process learns new gateways only once a second, so the list
    # is almost always the first to meet them. Several rounds make sure at
    # least one is. (kamcmd takes replies up to 128 KB: some 300
    # gateways.)
    for n in (100, 180, 260):
        layout = [(1 + i // 2 % 2, nobody(i), 10) for i in range(n)]
        harness.dispatcher_list(run, layout)
        k.rpc("dispatcher.reload")
        gws = gw_list(k)
        assert sorted((g["set"], g["uri"]) for g in gws) == \
            sorted((s, u) for s, u, _ in layout)
        assert all(g["state"] == "closed" and g["dispatcher"] == "AX"
                   for g in gws), gws[:3]
    assert k.alive()


# ------------------------------------------------------------ removal

def uri_nobody():
    """URI of a gateway no call ever reaches (nothing listens there)."""
    return "sip:127.0.0.1:%d" % harness.free_udp_port()


def get(k, uri, set_id):
    return k.rpc_value("gwfailover.get", uri, set_id)


def wait_state(k, uri, set_id, state, timeout=5):
    """Wait (bounded) until gwfailover.get shows <state>; the sweep that
    notices a reload runs once a second."""
    harness.wait_until(lambda: get(k, uri, set_id)["state"] == state,
                       timeout, step=0.1,
                       what="%s in set %d to be %s" % (uri, set_id, state))
    return get(k, uri, set_id)


def events(lis):
    return [parse_event(r)["event"] for r in lis.requests]


def posted(lis, name, timeout=5):
    """The request of the first webhook event <name>, waiting (bounded)
    for it; fails naming the events posted instead."""
    def first():
        reqs = [r for r in lis.requests if parse_event(r)["event"] == name]
        return reqs[0] if reqs else None
    try:
        return harness.wait_until(first, timeout, what=name)
    except TimeoutError:
        pytest.fail("no %s posted within %.0f s; posted: %s"
                    % (name, timeout, events(lis)))


def reload(run, k, layout):
    harness.dispatcher_list(run, layout)
    k.rpc("dispatcher.reload")


def test_reload_dropping_the_last_healthy_gateway_downs_the_set(
        run, proxy, listen):
    lis = listen()
    a, b, c = uri_nobody(), uri_nobody(), uri_nobody()
    k = proxy([(1, a, 20), (1, b, 10), (2, c, 10)],
              MOD_PARAMS="\n".join([RELOAD_ANYTIME, modparams(
                  webhook_url=lis.url("/r"), node_name=NODE,
                  eject_time_s=300)]))
    # A ejected: set 1 still has B.
    k.rpc("gwfailover.eject", a)
    lis.wait_requests(1, 5)
    assert k.gwf_stats()["gateways_down"] == 1

    # A reload drops B, the only healthy gateway of set 1: set 1 is down,
    # with one gateway (A, ejected) left.
    t0 = time.time()
    reload(run, k, [(1, a, 20), (2, c, 10)])
    req = posted(lis, "set_down")
    t1 = time.time()
    check_event(req, t0, t1, event="set_down", node=NODE, set=1,
                gateways=1, healthy=0)
    g = get(k, b, 1)
    assert (g["state"], g["reason"], g["dispatcher"],
            g["half_open_in_s"]) == \
        ("removed", "removed from the dispatcher", "-", 0), g
    # A is still there and not healthy, so the gauge counts it. (The
    # reload made it active in the dispatcher again, which the module takes
    # as a sign of life, as for dispatcher probing: half-open, trial calls
    # decide.)
    g = wait_state(k, a, 1, "half-open")
    assert g["reason"] == "dispatcher marked it active", g
    assert k.gwf_stats()["gateways_down"] == 1

    # A reload drops A too: set 1 has no gateway left (it was down
    # already: no new event), and the gauge no longer counts A.
    reload(run, k, [(2, c, 10)])
    harness.settle(lambda: k.gwf_stats()["gateways_down"], 0)
    wait_state(k, a, 1, "removed")
    # The list shows both, removed, after the dispatcher's destinations.
    gws = k.rpc_value("gwfailover.list")["gateways"]
    assert [(g["set"], g["uri"], g["state"], g["dispatcher"])
            for g in gws] == [(1, a, "removed", "-"),
                              (1, b, "removed", "-"),
                              (2, c, "closed", "AX")]

    # Both back: members again, closed and fresh; set 1 is up.
    t2 = time.time()
    reload(run, k, [(1, a, 20), (1, b, 10), (2, c, 10)])
    for uri in (a, b):
        g = wait_state(k, uri, 1, "closed")
        assert (g["reason"], g["dispatcher"], g["consecutive_faults"]) == \
            ("back in the dispatcher", "AX", 0), g
    req = posted(lis, "set_up")
    t3 = time.time()
    check_event(req, t2, t3, event="set_up", node=NODE, set=1, gateways=2,
                healthy=2)
    time.sleep(0.5)
    # Set 1 went down once and up once; A was ejected and went half-open,
    # and nothing else: its removal and return are no breaker transitions
    # (no restore, no ejection).
    evs = events(lis)
    assert [e for e in evs if e.startswith("set_")] == ["set_down", "set_up"]
    assert [e for e in evs if not e.startswith("set_")] == \
        ["gateway_manual_eject", "gateway_half_open"]
    assert k.gwf_stats()["gateways_down"] == 0
    # A is an ordinary gateway again: it can be ejected.
    assert k.rpc_value("gwfailover.eject", a)["state"] == "open"


def test_eject_before_the_sweep_knows_the_whole_set(run, proxy, listen):
    # The resume process learns the dispatcher's destinations at start and
    # then once a second. An operator who ejects a gateway before that (at
    # once after a start, or after a reload that added its set) must not
    # see its set reported down while the set still has healthy gateways:
    # gwfailover.eject learns every destination first, as gwfailover.list
    # does. (Found by the ASan run of the suite, whose slower start let
    # test_webhook's first ejection come before the first sweep.)
    lis = listen()
    a = [uri_nobody() for _ in range(3)]
    b = [uri_nobody() for _ in range(3)]
    k = proxy([(1, u, 10) for u in a],
              MOD_PARAMS="\n".join([RELOAD_ANYTIME, modparams(
                  webhook_url=lis.url("/e"), node_name=NODE)]))
    assert k.rpc_value("gwfailover.eject", a[0], 1)["state"] == "open"
    # A reload adds set 2; one of its gateways is ejected at once, long
    # before the next sweep (one second at most).
    reload(run, k, [(1, u, 10) for u in a] + [(2, u, 10) for u in b])
    assert k.rpc_value("gwfailover.eject", b[0], 2)["state"] == "open"
    lis.wait_requests(2, 5)
    time.sleep(1.5)  # a sweep or more: any set event is posted by now
    # (The reload made A0 active in the dispatcher again, which the module
    # takes as a sign of life: half-open, see above.)
    sets = [(e["event"], e["set"], e["gateways"], e["healthy"])
            for e in map(parse_event, lis.requests)
            if e["event"].startswith("set_")]
    assert sets == [], sets
    assert events(lis)[:2] == ["gateway_manual_eject"] * 2
    # Ejecting the other two of set 2 does take it down, with its three
    # gateways counted.
    for uri in b[1:]:
        k.rpc("gwfailover.eject", uri, 2)
    req = posted(lis, "set_down")
    ev = parse_event(req)
    assert (ev["set"], ev["gateways"], ev["healthy"]) == (2, 3, 0), ev


def test_removed_ejected_gateway_never_goes_half_open(run, proxy, listen):
    lis = listen()
    a, b = uri_nobody(), uri_nobody()
    k = proxy([(1, a, 20), (1, b, 10)],
              MOD_PARAMS="\n".join([RELOAD_ANYTIME, modparams(
                  webhook_url=lis.url("/h"), node_name=NODE)]))
    k.rpc("gwfailover.eject", a, 2)
    t_eject = time.monotonic()
    assert k.gwf_stats()["gateways_down"] == 1
    reload(run, k, [(1, b, 10)])
    # Its 2 s ejection ends after the reload took it away: no half-open,
    # ever, and the gauge does not count it.
    time.sleep(max(0, t_eject + 3.5 - time.monotonic()))
    g = get(k, a, 1)
    stats = k.gwf_stats()
    assert (g["state"], stats["half_opens"], stats["gateways_down"]) == \
        ("removed", 0, 0), (g, stats)
    assert (g["half_open_in_s"], g["trials_in_flight"], g["reason"]) == \
        (0, 0, "removed from the dispatcher"), g
    time.sleep(1.2)
    assert get(k, a, 1)["state"] == "removed"
    assert "half-open" not in k.log()
    # An operator cannot eject or restore what the dispatcher lost.
    for cmd in ("gwfailover.eject", "gwfailover.restore"):
        with_fault = k.rpc_raw("--", cmd, a, 1).stdout
        assert with_fault.startswith("error: 404 - gateway %s in set 1 was"
                                     " removed from the dispatcher" % a), \
            with_fault
    # Set 1 kept a healthy gateway: no set event; the only event is the
    # manual ejection.
    assert [parse_event(r)["event"] for r in lis.requests] == \
        ["gateway_manual_eject"]


def test_call_in_flight_to_a_removed_gateway_counts_in_its_totals_only(
        run, proxy):
    # A answers 503 (counted, failover) 3 s after the INVITE; it is
    # removed from the dispatcher meanwhile. With failure_threshold 1 the
    # 503 would eject it: removed, it is not ejected, and the call fails
    # over to B as usual.
    slow = harness.Gateway(run, "slow", "uas_slow_reply.xml", CODE=503,
                           REASON="Service Unavailable", PAUSE=3000)
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, slow.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER, EXTRA_ROUTES=GW_EVENT_ROUTES,
              MOD_PARAMS="\n".join([RELOAD_ANYTIME, modparams(
                  failure_threshold=1, delay_base_ms=0)]))
    result = {}

    def place_call():
        result["res"] = harness.run_caller(
            run, "caller", "uac_call.xml", k.sip_port, calls=1, rate=20,
            timeout=20)
    caller = threading.Thread(target=place_call)
    caller.start()
    try:
        harness.wait_until(lambda: len(slow.invites()) == 1, 5,
                           what="the INVITE at the slow gateway")
        reload(run, k, [(1, backup.uri, 10)])
        # Marked removed within a second (checked below), long before the
        # 503 comes.
        time.sleep(2)
    finally:
        caller.join(30)
    res = result["res"]
    assert res.rc == 0, res.output[-2000:]
    assert res.finals() == [200]
    assert len(backup.invites()) == 1
    stats = k.gwf_stats()
    assert (stats["ejections"], stats["gateways_down"],
            stats["failovers"]) == (0, 0, 1), stats
    g = get(k, slow.uri, 1)
    assert {f: g[f] for f in ("state", "consecutive_faults", "received_5xx",
                              "counted", "ejections", "last_code")} == \
        dict(state="removed", consecutive_faults=0, received_5xx=1,
             counted=1, ejections=0, last_code=503), g
    time.sleep(0.3)
    assert "GWF-EVENT" not in k.log()


# ------------------------------------------------------------ the reader

def test_normal_dispatcher_list_gives_no_reader_warning(run, proxy):
    a, b, c = uri_nobody(), uri_nobody(), uri_nobody()
    k = proxy([(1, a, 20), (1, b, 10), (2, c, 10)],
              MOD_PARAMS="\n".join([RELOAD_ANYTIME, modparams()]))
    # The resume process reads the list at once and then every second:
    # after two sweeps and a reload, every destination is known and no
    # gateway was taken for removed.
    time.sleep(1.5)
    reload(run, k, [(1, a, 20), (1, b, 10), (2, c, 10), (3, a, 10)])
    harness.wait_until(
        lambda: k.rpc_value("gwfailover.config")["gateways_known"] == 4, 5,
        what="the sweep to learn the new destination")
    time.sleep(1.2)
    gws = k.rpc_value("gwfailover.list")["gateways"]
    assert [(g["set"], g["uri"], g["state"]) for g in gws] == [
        (1, a, "closed"), (1, b, "closed"), (2, c, "closed"),
        (3, a, "closed")]
    log = k.log()
    assert "dispatcher.list reported" not in log, log[-3000:]
    assert "removed from the dispatcher" not in log
    assert not [line for line in log.splitlines()
                if "WARNING" in line and "gwfailover" in line], log[-3000:]


def test_failure_right_after_a_reload_counts_the_whole_new_set(run, proxy):
    # A reload gives set 1 two gateways; a call fails on the first with a
    # Retry-After (an eject rule) long before the resume process's next
    # sweep (once a second) learns the second. The guard
    # (max_ejected_percent 99) must count both: the first is ejected, and
    # the set is not "in panic" as if it had lost its only gateway. (Found
    # by the ASan run of the suite; a sweep between the reload and the
    # failure, a few percent of runs, would hide it.)
    bad = harness.Gateway(run, "bad", "uas_reply.xml", CODE=503,
                          REASON="Service Unavailable",
                          EXTRA="Retry-After: 30\r\n")
    good = harness.Gateway(run, "good", "uas_200.xml")
    k = proxy([(2, uri_nobody(), 10)], FAILURE_BODY=FAILOVER,
              MOD_PARAMS="\n".join([RELOAD_ANYTIME,
                                    modparams(delay_base_ms=0)]))
    # the INVITE goes out the moment the reload returns (a sipp caller
    # takes long enough to start that the sweep often comes first)
    uac = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uac.bind(("127.0.0.1", 0))
    uac.settimeout(10)
    port = uac.getsockname()[1]
    invite = ("INVITE sip:callee@127.0.0.1 SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-reload-1\r\n"
              "Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=r1\r\n"
              "To: <sip:callee@127.0.0.1>\r\nCall-ID: reload-race-1\r\n"
              "CSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:%d>\r\n"
              "Content-Length: 0\r\n\r\n" % (port, port)).encode()
    try:
        reload(run, k, [(1, bad.uri, 20), (1, good.uri, 10),
                        (2, uri_nobody(), 10)])
        uac.sendto(invite, ("127.0.0.1", k.sip_port))
        code = 0
        while code < 200:
            code = int(uac.recv(65535).split(b" ", 2)[1])
    finally:
        uac.close()
    assert code == 200
    assert "in panic" not in k.log(), k.log()[-3000:]
    assert get(k, bad.uri, 1)["state"] == "open"
