"""Do no harm: the module never makes an outage worse than plain
ds_next_dst() failover (the ejection guard of a set, panic re-tests,
growing ejections, dry-run), against a real Kamailio, dispatcher and
gateways whose behaviour changes on a timeline.

The timeline gateways are bench/sip/pygw.py's scriptable UDP gateways
(sipp cannot change its behaviour in the middle of a run); callers are
sipp."""

import os
import sys
import time

import pytest

import harness
from conftest import modparams
from webhook_listener import WebhookListener

sys.path.insert(0, os.path.join(harness.ROOT, "bench", "sip"))
from pygw import PyGateway  # noqa: E402

FAILOVER = "gwf_failover();"

SET_ROUTES = """
event_route[gwfailover:set-panic] {
	xlog("L_NOTICE", "GWF-SET $gwf(event) set $gwf(set) $gwf(gw): $gwf(reason)\\n");
}
event_route[gwfailover:set-calm] {
	xlog("L_NOTICE", "GWF-SET $gwf(event) set $gwf(set)\\n");
}
"""


@pytest.fixture
def pygw():
    """pygw(mode="ok") -> a started PyGateway whose behaviour is
    gw.mode ("ok", "503", "silent"), changed by the test at will; stopped
    at the end of the test."""
    made = []

    def start(mode="ok", retry_after=None):
        gw = PyGateway(lambda t: gw.mode, retry_after=retry_after,
                       name="pygw%d" % len(made))
        gw.mode = mode
        gw.start()
        made.append(gw)
        return gw
    yield start
    for gw in made:
        gw.stop()


def primary_503_and_backup(run, extra=""):
    """A sipp primary answering 503 (with <extra> headers) and a sipp
    backup answering 200."""
    primary = harness.Gateway(run, "primary", "uas_reply.xml", CODE=503,
                              REASON="Service Unavailable", EXTRA=extra)
    return primary, harness.Gateway(run, "backup", "uas_200.xml")


def set_events(k):
    return [line.split("GWF-SET ", 1)[1] for line in k.log().splitlines()
            if "GWF-SET " in line]


def outage_and_recovery(run, k, gws, outage_s, calls, rate=10):
    """Calls at <rate> while every gateway of <gws> answers 503 for
    <outage_s>, then every one is healthy again. Returns (outcomes, time
    of the recovery)."""
    for gw in gws:
        gw.mode = "503"
    caller = harness.CallerThread(run, k, calls, rate, timeout=30)
    caller.start()
    time.sleep(outage_s)
    t_back = time.time()
    for gw in gws:
        gw.mode = "ok"
    caller.join(calls / rate + 40)
    assert caller.res is not None
    return harness.call_outcomes(caller.res), t_back


def assert_back_within(outcomes, t_back, within=1.2):
    """Every call placed more than <within> s after the recovery was
    answered, and there were such calls."""
    late = [(t - t_back, code) for t, code in outcomes
            if t >= t_back + within]
    assert len(late) >= 10, outcomes
    assert all(code == 200 for _, code in late), late


def test_all_gateways_failing_briefly_come_back_at_once(run, proxy, pygw):
    """Both gateways answer 503 for 3 s. The first is ejected; the second,
    the last of the set, is kept (the set is in panic), so the first call
    after the outage is answered. Before the guard, both were ejected and
    every call was refused for eject_time_s after the outage."""
    a, b = pygw(), pygw()
    # default parameters, no OPTIONS probing
    k = proxy([(1, a.uri, 20), (1, b.uri, 10)], FAILURE_BODY=FAILOVER,
              EXTRA_ROUTES=SET_ROUTES)
    outcomes, t_back = outage_and_recovery(run, k, (a, b), 4.0, calls=80)
    assert_back_within(outcomes, t_back)
    # no call was refused by the proxy itself: every call reached a gateway
    assert len(a.invites()) + len(b.invites()) >= len(outcomes)
    stats = k.gwf_stats()
    assert stats["ejections"] >= 1, stats
    assert stats["ejections_refused"] >= 1, stats
    harness.wait_until(lambda: len(set_events(k)) >= 2, 5, what="set events")
    ev = set_events(k)
    assert ev[0].startswith("set-panic set 1 %s: " % b.uri), ev
    assert ev[1] == "set-calm set 1", ev
    assert "set 1 in panic: gateway %s not ejected" % b.uri in k.log()


def test_dead_primary_and_briefly_failing_backup(run, proxy, pygw):
    """The primary is dead for good; the backup answers 503 for 3 s. The
    backup is never ejected (it is all the set has left), so calls succeed
    the moment it is back."""
    a, b = pygw("503"), pygw()
    k = proxy([(1, a.uri, 20), (1, b.uri, 10)], FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=3))
    b.mode = "503"
    caller = harness.CallerThread(run, k, 70, 10, timeout=30)
    caller.start()
    time.sleep(3.0)
    t_back = time.time()
    b.mode = "ok"
    caller.join(50)
    outcomes = harness.call_outcomes(caller.res)
    assert_back_within(outcomes, t_back)
    assert k.rpc_value("gwfailover.get", b.uri)["state"] == "closed"
    assert k.rpc_value("gwfailover.get", a.uri)["state"] != "closed"


def test_three_gateways_guard_at_67_percent(run, proxy, pygw):
    """Three gateways fail at once with max_ejected_percent 67: two may be
    out, the third stays in; the ejected ones are re-tested about every
    second while the set is in panic, and all calls succeed again as soon
    as the gateways are back."""
    gws = [pygw(), pygw(), pygw()]
    k = proxy([(1, g.uri, 30 - i) for i, g in enumerate(gws)],
              FAILURE_BODY=FAILOVER, EXTRA_ROUTES=SET_ROUTES,
              MOD_PARAMS=modparams(failure_threshold=2,
                                   max_ejected_percent=67))
    outcomes, t_back = outage_and_recovery(run, k, gws, 4.0, calls=80)
    assert_back_within(outcomes, t_back)
    ejected = {uri for uri, _, _, _ in harness.ejections(k.log())}
    assert len(ejected) == 2, harness.ejections(k.log())
    kept = [g.uri for g in gws if g.uri not in ejected]
    stats = k.gwf_stats()
    assert stats["ejections_refused"] >= 1, stats
    # re-tested while in panic: more ejections than gateways ejected
    assert stats["panic_retests"] >= 2, stats
    harness.wait_until(lambda: len(set_events(k)) >= 2, 5, what="set events")
    ev = set_events(k)
    assert ev[0].startswith("set-panic set 1 %s: " % kept[0]), ev
    assert ev[1:] == ["set-calm set 1"], ev


def test_ejection_grows_with_failed_trials_and_restore_clears_it(run, proxy):
    primary, backup = primary_503_and_backup(run)
    # $gwf(eject_multiplier): of the gateway that failed, after the
    # decision (no delay: gwf_failover() returns 1 and the route goes on),
    # and of the gateway in its gw-down event route
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER + '\n\txlog("L_NOTICE", "GWF-MULT'
              ' failure $gwf(gw) $gwf(eject_multiplier)\\n");',
              EXTRA_ROUTES='event_route[gwfailover:gw-down] {\n\txlog('
              '"L_NOTICE", "GWF-MULT down $gwf(gw) $gwf(eject_multiplier)'
              '\\n");\n}\n',
              MOD_PARAMS=modparams(failure_threshold=1, eject_time_s=1,
                                   eject_time_max_s=3, eject_jitter_percent=0,
                                   delay_base_ms=0))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=45, rate=5, timeout=30)
    assert res.finals() == [200] * 45
    mults = [line.split("GWF-MULT ", 1)[1] for line in k.log().splitlines()
             if "GWF-MULT " in line]
    assert mults[:5] == ["failure %s 1" % primary.uri,
                         "down %s 1" % primary.uri] + [
        "failure %s %d" % (primary.uri, n) for n in (2, 3, 4)] or \
        mults[:5] == ["down %s 1" % primary.uri,
                      "failure %s 1" % primary.uri] + [
        "failure %s %d" % (primary.uri, n) for n in (2, 3, 4)], mults
    lengths = [ms for uri, _, ms, _ in harness.ejections(k.log())
               if uri == primary.uri]
    # 1 s, then each failed trial a step longer, up to eject_time_max_s
    assert lengths[:4] == [1000, 2000, 3000, 3000], lengths
    reasons = [why for uri, _, _, why in harness.ejections(k.log())
               if uri == primary.uri]
    assert reasons[1:4] == ["trial call failed (503)"] * 3, reasons
    g = k.rpc_value("gwfailover.get", primary.uri)
    assert g["eject_multiplier"] == len(lengths), g
    assert g["next_eject_s"] == 3, g
    g = k.rpc_value("gwfailover.restore", primary.uri)
    assert (g["state"], g["eject_multiplier"], g["next_eject_s"]) == \
        ("closed", 0, 1), g


def test_retry_after_ejections_do_not_grow(run, proxy):
    primary, backup = primary_503_and_backup(run, "Retry-After: 1\r\n")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(delay_base_ms=0, retry_after_max_s=1))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=20, rate=5, timeout=30)
    assert res.finals() == [200] * 20
    lengths = [ms for uri, _, ms, _ in harness.ejections(k.log())
               if uri == primary.uri]
    assert len(lengths) >= 2 and set(lengths) == {1000}, lengths
    assert k.rpc_value("gwfailover.get", primary.uri)["eject_multiplier"] \
        == 0


def test_dry_run_detects_and_changes_nothing(run, proxy):
    lis = WebhookListener()
    try:
        primary, backup = primary_503_and_backup(run)
        k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
                  FAILURE_BODY=FAILOVER,
                  MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=0,
                                       dry_run="all",
                                       webhook_url=lis.url("/")))
        res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                                 calls=4, rate=10, timeout=20)
        assert res.finals() == [200] * 4
        # every call still went to the primary first
        assert len(primary.invites()) == 4
        assert k.dispatcher_flags()[primary.uri].startswith("A")
        g = k.rpc_value("gwfailover.get", primary.uri)
        assert (g["state"], g["ejections"]) == ("closed", 0), g
        harness.wait_until(
            lambda: k.gwf_stats()["ejections_dry_run"] == 2, 5,
            what="two dry-run detections")
        assert k.gwf_stats()["ejections"] == 0
        assert k.log().count("dry-run: would eject gateway %s (set 1): 2"
                             " consecutive faults, last 503" % primary.uri) \
            == 2
        reqs = lis.wait_requests(2, 5)
        bodies = [r.json() for r in reqs]
        # the faults that led to it, as a real ejection shows them
        assert [(b["event"], b["enforced"], b["state"], b["manual"],
                 b["consecutive_faults"]) for b in bodies] == \
            [("gateway_ejected", False, "closed", False, 2)] * 2, bodies
        assert k.rpc_value("gwfailover.config")["dry_run"] == \
            "threshold,silence,retry_after,eject_rule,trial"
    finally:
        lis.stop()


def test_one_gateway_set_is_never_ejected_automatically(run, proxy):
    """A set of one gateway: ejecting it would refuse every call, which no
    protection at all never does. It stays in, the set is in panic once,
    and an operator can still eject it."""
    only = harness.Gateway(run, "only", "uas_reply.xml", CODE=503,
                           REASON="Service Unavailable", EXTRA="")
    k = proxy([(1, only.uri, 10)], FAILURE_BODY=FAILOVER,
              EXTRA_ROUTES=SET_ROUTES,
              MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=0))
    res = harness.run_caller(run, "caller", "uac_expect.xml", k.sip_port,
                             calls=6, rate=10, timeout=20, CODE=500)
    assert res.finals() == [500] * 6
    assert len(only.invites()) == 6
    assert k.dispatcher_flags()[only.uri].startswith("A")
    stats = k.gwf_stats()
    assert (stats["ejections"], stats["ejections_refused"]) == (0, 3), stats
    harness.wait_until(lambda: set_events(k), 5, what="set-panic")
    assert set_events(k) == [
        "set-panic set 1 %s: 2 consecutive faults, last 503" % only.uri]
    g = k.rpc_value("gwfailover.eject", only.uri, 60)
    assert g["state"] == "open", g
    assert k.dispatcher_flags()[only.uri].startswith("I")


def test_guard_counts_gateways_the_dispatcher_does_not_offer(run, proxy):
    """The backup is inactive in the dispatcher (its OPTIONS probing or an
    operator), though its breaker is closed: the primary is then all the
    set offers, and ejecting it would leave no destination at all."""
    primary, backup = primary_503_and_backup(run)
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=0))
    k.rpc("dispatcher.set_state", "i", 1, backup.uri)
    # the module reads dispatcher's flags once a second
    time.sleep(1.5)
    res = harness.run_caller(run, "caller", "uac_expect.xml", k.sip_port,
                             calls=4, rate=10, timeout=20, CODE=500)
    assert res.finals() == [500] * 4
    assert len(primary.invites()) == 4 and backup.invites() == []
    assert k.dispatcher_flags()[primary.uri].startswith("A")
    assert k.rpc_value("gwfailover.get", primary.uri)["state"] == "closed"
    stats = k.gwf_stats()
    assert (stats["ejections"], stats["ejections_refused"]) == (0, 2), stats
