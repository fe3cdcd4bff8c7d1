"""Issue 4: what an operator and a script can observe, against a real
Kamailio, dispatcher and sipp gateways on 127.0.0.1.

- the "gwfailover" statistics (kamcmd stats.get_statistics gwfailover:),
  with the exact value of every counter after known sequences of calls,
  and their reset (kex stats.reset_statistics; the gauges stay);
- the same statistics on the Prometheus endpoint (xhttp_prom), and the
  per-gateway gauge set from the event routes;
- event_route[gwfailover:gw-down] / [gwfailover:gw-up]: once per
  transition, in the module's resume process, with $gwf(...) set;
- $gwf(key) in failure_route and in a branch_route of a resumed (delayed)
  attempt; an unknown key stops Kamailio at startup;
- KEMI: the event callback and $gwf(...) read from Lua.

Every expected value below is worked out from the issue 4 spec and the
failover semantics of issue 3; the comments say how.
"""

import re
import threading
import urllib.request

import harness
from conftest import modparams

FAILOVER = "gwf_failover();"

# Every counter of the group, as the spec names them.
STAT_NAMES = (
    "failures_failover", "failures_retry", "failures_stop",
    "failures_counted", "failures_ignored", "failures_eject",
    "local_timeouts", "failures_unreachable", "failovers", "retries",
    "delayed", "progress_sent", "state_restored", "rescued",
    "rescue_kept", "ejections",
    "half_opens", "restorations", "ejections_refused", "ejections_dry_run",
    "panic_retests", "exhausted_gateways", "exhausted_attempts",
    "exhausted_budget", "canceled", "errors", "events_dropped",
    "gateways_down", "delayed_pending",
    # webhooks (issue 5): all 0 here, no webhook_url is set
    "webhook_queued", "webhook_sent", "webhook_retried", "webhook_dropped",
    "webhook_failed", "webhook_suppressed")

PV_KEYS = ("attempt", "code", "action", "health", "rule", "delay", "gw",
           "set", "reason")


# ---------------------------------------------------------------- helpers

def reply_gw(run, name, code, reason, port=None, extra="", sipp=()):
    """A gateway answering every INVITE with <code> (<extra> header lines)."""
    return harness.Gateway(run, name, "uas_reply.xml", port=port,
                           extra=sipp, CODE=code, REASON=reason, EXTRA=extra)


def routing(nods="sip:127.0.0.1:9"):
    """REQUEST_BODY: R-URI user "set<N>" selects dispatcher set N; "nods"
    sends the call to <nods> without ds_select_dst() (no dispatcher
    context for gwf_failover()). Anything else falls through to the
    template's ds_select_dst("1", "8")."""
    return """
	if($rU == "nods") {
		$du = "%s";
		t_on_failure("GW_FAIL");
		t_relay();
		exit;
	}
	if($(rU{s.substr,0,3}) == "set") {
		$var(set) = $(rU{s.substr,3,0}{s.int});
		if(!ds_select_dst("$var(set)", "8")) {
			sl_send_reply("503", "No gateway");
			exit;
		}
		t_on_failure("GW_FAIL");
		t_relay();
		exit;
	}
""" % nods


def call(run, k, name, service, final, calls=1, rate=5, **subst):
    """Place <calls> calls to <service>@proxy; each must end with the final
    code <final> (200: answered, ACKed and hung up)."""
    if final == 200:
        res = harness.run_caller(run, name, "uac_call.xml", k.sip_port,
                                 calls=calls, rate=rate, timeout=20,
                                 service=service, **subst)
    else:
        res = harness.run_caller(run, name, "uac_expect.xml", k.sip_port,
                                 calls=calls, rate=rate, timeout=20,
                                 service=service, CODE=final, **subst)
    assert res.rc == 0, res.output[-3000:]
    assert res.finals() == [final] * calls
    return res


def flags_of(k, gw):
    return k.dispatcher_flags()[gw.uri]



def expect(**values):
    """Every counter of the spec, 0 unless given."""
    return harness.counters(STAT_NAMES, **values)


def settle(get, want, timeout=3.0):
    harness.settle(get, want, timeout, step=0.1)


def assert_stats(k, want, timeout=3.0):
    settle(lambda: k.gwf_stats(), want, timeout)


def tagged(log, tag):
    """The log lines carrying "<tag>|k=v|k=v...", each as a dict ("<null>"
    from xlog and "nil" from Lua become None), with "_pid" the process that
    logged it."""
    out = []
    for line in log.splitlines():
        i = line.find(tag + "|")
        if i < 0:
            continue
        fields = {}
        for part in line[i + len(tag) + 1:].rstrip().split("|"):
            key, _, value = part.partition("=")
            fields[key] = None if value in ("<null>", "nil") else value
        m = re.search(r"\((\d+)\) [A-Z]+:", line[:i])
        fields["_pid"] = int(m.group(1)) if m else None
        out.append(fields)
    return out


def pick(fields, *keys):
    return dict((key, fields.get(key)) for key in keys)


def resume_pid(k):
    """PID of the module's "gwfailover resume" process (kamcmd core.psx)."""
    out = k.rpc("core.psx")
    m = re.search(r"PID:\s*(\d+)\s*\n\s*DSC:\s*gwfailover resume", out)
    assert m, out
    return int(m.group(1))


def pv_xlog(where, extra=""):
    """An xlog line with every $gwf(key) of the call context."""
    return 'xlog("L_NOTICE", "GWFPV|where=%s|ru=$rU%s|%s\\n");' % (
        where, extra, "|".join("%s=$gwf(%s)" % (key, key) for key in PV_KEYS))


def event_routes(extra=""):
    """Both event routes, logging their $gwf(...) ("GWFEV|..." lines)."""
    fields = "|".join("%s=$gwf(%s)" % (key, key) for key in
                      ("event", "gw", "set", "reason", "code"))
    routes = []
    for name in ("gw-down", "gw-up"):
        routes.append("""
event_route[gwfailover:%s] {
	xlog("L_NOTICE", "GWFEV|route=%s|%s\\n");
	%s
}
""" % (name, name, fields,
       extra.replace("@UP@", "1" if name == "gw-up" else "0")))
    return "".join(routes)


def events(k):
    return tagged(k.log(), "GWFEV")


def wait_events(k, n, timeout=5):
    """Events run in the resume process shortly after the transition."""
    harness.wait_until(lambda: len(events(k)) >= n, timeout,
                       what="%d event route log lines" % n)
    return events(k)


# ---------------------------------------------------------------- statistics

def test_stats_failover_ejection_stop_exhaustion_error_and_reset(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    busy = reply_gw(run, "busy", 486, "Busy Here")
    lone = reply_gw(run, "lone", 502, "Bad Gateway")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10), (2, busy.uri, 10),
               (3, lone.uri, 10)],
              REQUEST_BODY=routing(nods=lone.uri), FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=0))
    assert set(k.gwf_stats()) == set(STAT_NAMES), k.gwf_stats()
    assert_stats(k, expect())

    # Two 503s (failover,count), each failed over at once to the backup;
    # the second reaches the threshold: one ejection, the primary down.
    call(run, k, "c_set1", "set1", 200, calls=2)
    # The primary is out: ds_select_dst() picks the backup, no failure.
    call(run, k, "c_set1_out", "set1", 200)
    # 486: stop,ignore; goes to the caller.
    call(run, k, "c_busy", "set2", 486)
    # 502 (failover,count) from the only gateway of set 3: nothing left.
    call(run, k, "c_lone", "set3", 502)
    # No dispatcher context: an error, nothing classified; tm relays 502.
    call(run, k, "c_nods", "nods", 502)

    assert len(primary.invites()) == 2
    assert len(backup.invites()) == 3
    assert len(busy.invites()) == 1
    assert len(lone.invites()) == 2
    assert flags_of(k, primary).startswith("I")
    assert "the request did not go through ds_select_dst()" in k.log()
    assert_stats(k, expect(failures_failover=3, failures_stop=1,
                           failures_counted=3, failures_ignored=1,
                           failovers=2, ejections=1, exhausted_gateways=1,
                           errors=1, gateways_down=1))

    # kex reset: every counter back to 0 but the gauge gateways_down (the
    # primary is still out).
    k.rpc("stats.reset_statistics", "gwfailover:")
    assert_stats(k, expect(gateways_down=1))

    # Manual restore: one restoration, nobody down.
    k.rpc("gwfailover.restore", primary.uri)
    assert_stats(k, expect(restorations=1))
    assert flags_of(k, primary).startswith("A")

    # Counting goes on after the reset: the restored primary fails again.
    call(run, k, "c_set1_again", "set1", 200)
    assert len(primary.invites()) == 3
    assert_stats(k, expect(failures_failover=1, failures_counted=1,
                           failovers=1, restorations=1))


def test_stats_retry_attempt_limit_and_local_timeout(run, proxy):
    # -deadcall_wait 0: the retried INVITE (same Call-ID, new branch) is a
    # new call for sipp, as for a real gateway.
    primary = reply_gw(run, "primary", 500, "Server Internal Error",
                       sipp=["-deadcall_wait", "0"])
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    silent = harness.Gateway(run, "silent", "uas_silent.xml")
    backup2 = harness.Gateway(run, "backup2", "uas_200.xml")
    # Every re-forward waits exactly 50 ms: all of them count as delayed.
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10),
               (2, silent.uri, 20), (2, backup2.uri, 10)],
              FR_TIMER=1000, REQUEST_BODY=routing(), FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(rule="500=retry,count", max_attempts=3,
                                   failure_threshold=10, delay_base_ms=50,
                                   delay_min_ms=50, delay_max_ms=50))
    # 500, retry, 500, retry, 500: attempt limit; tm relays the 500.
    call(run, k, "c_retry", "set1", 500)
    assert len(primary.invites()) == 3
    assert backup.invites() == []
    # A local timeout (failover,count), then the second gateway answers.
    call(run, k, "c_timeout", "set2", 200)
    assert len(silent.invites()) == 1
    assert len(backup2.invites()) == 1
    assert_stats(k, expect(failures_retry=3, failures_failover=1,
                           failures_counted=4, local_timeouts=1, retries=2,
                           failovers=1, delayed=3, exhausted_attempts=1))


def test_stats_delay_cancel_and_time_budget(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    silent = harness.Gateway(run, "silent", "uas_silent.xml")
    backup2 = harness.Gateway(run, "backup2", "uas_200.xml")
    # Every re-forward waits 800 ms. Budget 1500 ms: a 503 at once leaves
    # room for the delay (800 + 100 <= ~1500), a 1 s local timeout does
    # not (800 + 100 > ~500).
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10),
               (2, silent.uri, 20), (2, backup2.uri, 10)],
              FR_TIMER=1000, REQUEST_BODY=routing(), FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(delay_base_ms=800, delay_min_ms=800,
                                   delay_max_ms=800, time_budget_ms=1500))
    # A delayed failover.
    call(run, k, "c_delayed", "set1", 200)
    assert len(backup.invites()) == 1
    gap = backup.invites()[0].time - primary.sent(503)[0].time
    assert 0.75 <= gap < 1.5, gap

    # A CANCEL 500 ms into the 800 ms delay; while the call waits, the
    # gauge delayed_pending shows it.
    result = {}
    caller = threading.Thread(target=lambda: result.update(res=(
        harness.run_caller(run, "c_cancel", "uac_cancel.xml", k.sip_port,
                           calls=1, timeout=20, service="set1",
                           CANCEL_MS=500))))
    caller.start()
    try:
        harness.wait_until(lambda: k.gwf_stats().get("delayed_pending") == 1,
                           5, step=0.02, what="delayed_pending 1")
    finally:
        caller.join(40)
    assert not caller.is_alive()
    assert result["res"].rc == 0, result["res"].output[-3000:]
    assert result["res"].finals() == [487]

    # A local timeout with too little budget left for the delay: tm
    # relays its 408.
    call(run, k, "c_budget", "set2", 408)

    assert len(primary.invites()) == 2
    assert len(backup.invites()) == 1      # nothing more after the CANCEL
    assert len(silent.invites()) == 1
    assert backup2.invites() == []
    assert_stats(k, expect(failures_failover=3, failures_counted=3,
                           local_timeouts=1, failovers=1, delayed=1,
                           canceled=1, exhausted_budget=1))


# ---------------------------------------------------------------- events

def test_event_routes_once_per_transition(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable",
                       extra="Retry-After: 1\r\n")
    port = primary.port
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER, EXTRA_ROUTES=event_routes(),
              MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=0,
                                   retry_after_max_s=1))
    pid = resume_pid(k)

    # 1. Retry-After: ejected at once for 1 s -> gw-down.
    call(run, k, "c1", "callee", 200)
    wait_events(k, 1)
    # 2. Half-open after 1 s (no event); the trial call fails with
    #    Retry-After again: open again, no gw-down (it was not closed).
    harness.wait_until(lambda: flags_of(k, primary).startswith("A"), 5,
                       what="primary half-open")
    call(run, k, "c2", "callee", 200)
    assert len(primary.invites()) == 2
    assert flags_of(k, primary).startswith("I")
    # 3. Half-open again; now the primary answers: the trial restores it.
    primary.stop()
    healthy = harness.Gateway(run, "primary_ok", "uas_200.xml", port=port)
    harness.wait_until(lambda: flags_of(k, primary).startswith("A"), 5,
                       what="primary half-open again")
    call(run, k, "c3", "callee", 200)
    assert len(healthy.invites()) == 1
    wait_events(k, 2)
    # 4. Two 503s in a row (threshold 2): ejected -> gw-down.
    healthy.stop()
    again = reply_gw(run, "primary_503", 503, "Service Unavailable",
                     port=port)
    call(run, k, "c45", "callee", 200, calls=2)
    assert len(again.invites()) == 2
    wait_events(k, 3)
    # 5. Manual restore through RPC -> gw-up.
    k.rpc("gwfailover.restore", primary.uri)
    wait_events(k, 4)
    # 6. Manual eject -> gw-down; ejecting it again changes no state (no
    #    event); manual restore -> gw-up.
    k.rpc("gwfailover.eject", backup.uri)
    wait_events(k, 5)
    k.rpc("gwfailover.eject", backup.uri)
    k.rpc("gwfailover.restore", backup.uri)
    evs = wait_events(k, 6)

    keys = ("route", "event", "gw", "set")
    assert [pick(e, *keys) for e in evs] == [
        dict(zip(keys, v)) for v in [
            ("gw-down", "gw-down", primary.uri, "1"),   # Retry-After
            ("gw-up", "gw-up", primary.uri, "1"),       # trial success
            ("gw-down", "gw-down", primary.uri, "1"),   # threshold
            ("gw-up", "gw-up", primary.uri, "1"),       # manual restore
            ("gw-down", "gw-down", backup.uri, "1"),    # manual eject
            ("gw-up", "gw-up", backup.uri, "1"),        # manual restore
        ]]
    # $gwf(code) in an event route: the gateway's last failure code.
    assert [e["code"] for e in evs[:4]] == ["503"] * 4
    # All of them in the module's resume process, none in a SIP worker or
    # in the RPC (ctl) process.
    assert [e["_pid"] for e in evs] == [pid] * 6

    # Ejections: Retry-After, failed trial, threshold, manual (the second
    # manual eject is no transition). Half-opens: after 1 and after 2.
    # Restorations: trial, and two manual restores.
    assert_stats(k, expect(failures_failover=4, failures_eject=2,
                           failures_counted=2, failovers=4, ejections=4,
                           half_opens=2, restorations=3))
    # Nothing more came late.
    assert len(events(k)) == 6

    # $gwf(reason): why the state changed, in the manual's words.
    assert [e["reason"] for e in evs] == [
        "Retry-After 1 s (503)",
        "1 trial call succeeded",
        "2 consecutive faults, last 503",
        "manual restore",
        "manual eject for 30 s",
        "manual restore"]


# ---------------------------------------------------------------- Prometheus

def http_get(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                timeout=5) as resp:
        assert resp.status == 200
        return resp.read().decode("utf-8", "replace")


def prom_stats(body):
    return dict((name, int(value)) for name, value in re.findall(
        r"^kamailio_gwfailover_(\w+) (-?\d+) \d+$", body, re.M))


def prom_gauges(body):
    """{(set, uri): value} of the kamailio_gwf_gateway_up series."""
    return dict(((s, uri), float(value)) for s, uri, value in re.findall(
        r'^kamailio_gwf_gateway_up\{set="([^"]*)", uri="([^"]*)"\} '
        r'(\S+) \d+$', body, re.M))


def test_prometheus_statistics_and_gateway_gauge(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    http_port = harness.free_udp_port()  # free for TCP too
    prom = "\n".join([
        'modparam("xhttp_prom", "xhttp_prom_stats", "gwfailover:")',
        'modparam("xhttp_prom", "prom_gauge", '
        '"name=gwf_gateway_up; label=set:uri")',
        modparams(failure_threshold=2, delay_base_ms=0)])
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              CORE_PARAMS="\n".join([
                  "disable_tcp=no", "tcp_accept_no_cl=yes", "tcp_children=1",
                  "listen=tcp:127.0.0.1:%d" % http_port]),
              EXTRA_MODULES='loadmodule "xhttp.so"\n'
                            'loadmodule "xhttp_prom.so"',
              MOD_PARAMS=prom, FAILURE_BODY=FAILOVER,
              EXTRA_ROUTES="""
event_route[xhttp:request] {
	prom_dispatch();
}
""" + event_routes(
                  'prom_gauge_set("gwf_gateway_up", "@UP@", "$gwf(set)", '
                  '"$gwf(gw)");'))

    body = http_get(http_port)
    assert prom_stats(body) == expect(), body
    assert prom_gauges(body) == {}, body

    # Two 503s: threshold 2, the primary is ejected.
    call(run, k, "c12", "callee", 200, calls=2)
    settle(lambda: prom_gauges(http_get(http_port)),
           {("1", primary.uri): 0.0})
    settle(lambda: prom_stats(http_get(http_port)),
           expect(failures_failover=2, failures_counted=2, failovers=2,
                  ejections=1, gateways_down=1))

    # Manual restore: gw-up sets the gauge back to 1.
    k.rpc("gwfailover.restore", primary.uri)
    settle(lambda: prom_gauges(http_get(http_port)),
           {("1", primary.uri): 1.0})
    settle(lambda: prom_stats(http_get(http_port)),
           expect(failures_failover=2, failures_counted=2, failovers=2,
                  ejections=1, restorations=1))
    # The same values as kamcmd shows.
    assert k.gwf_stats() == prom_stats(http_get(http_port))


# ---------------------------------------------------------------- $gwf(...)

PV_FAILURE_BODY = "\n\t".join([
    pv_xlog("pre"),
    't_on_branch("GWF_BR");',
    "gwf_failover();",
    "$var(rc) = $rc;",
    pv_xlog("post", "|rc=$var(rc)")])

PV_BRANCH_ROUTE = """
branch_route[GWF_BR] {
	%s
}
""" % pv_xlog("branch", "|du=$du")


def pv_lines(k, where, ru):
    return [e for e in tagged(k.log(), "GWFPV")
            if e["where"] == where and e["ru"] == ru]


def pv(attempt, code=None, action=None, health=None, rule=None, delay=None,
       gw=None, setid=None, reason=None, **extra):
    """Expected $gwf(...) values of one log line (None: $null)."""
    values = dict(attempt=attempt, code=code, action=action, health=health,
                  rule=rule, delay=delay, gw=gw, reason=reason)
    values["set"] = setid
    values.update(extra)
    return dict((key, None if v is None else str(v))
                for key, v in values.items())


def seen(lines, *extra):
    return [pick(e, *(PV_KEYS + extra)) for e in lines]


def test_pv_in_failure_route_stop_failover_and_exhaustion(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    busy = reply_gw(run, "busy", 486, "Busy Here")
    lone = reply_gw(run, "lone", 502, "Bad Gateway")
    gw_x = reply_gw(run, "gwX", 503, "Service Unavailable")
    gw_y = reply_gw(run, "gwY", 503, "Service Unavailable")
    gw_z = harness.Gateway(run, "gwZ", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10), (2, busy.uri, 10),
               (3, lone.uri, 10), (4, gw_x.uri, 30), (4, gw_y.uri, 20),
               (4, gw_z.uri, 10)],
              REQUEST_BODY=routing(), FAILURE_BODY=PV_FAILURE_BODY,
              EXTRA_ROUTES=PV_BRANCH_ROUTE,
              MOD_PARAMS=modparams(delay_base_ms=0, max_attempts=2,
                                   failure_threshold=10))
    call(run, k, "c_busy", "set2", 486)
    call(run, k, "c_failover", "set1", 200)
    call(run, k, "c_lone", "set3", 502)
    call(run, k, "c_limit", "set4", 500)
    assert gw_z.invites() == []

    # Before gwf_failover(): one forward so far, nothing decided.
    for ru in ("set1", "set2", "set3"):
        assert seen(pv_lines(k, "pre", ru)) == [pv(1)], ru

    # A stop: no further attempt, no delay decided, no branch.
    assert seen(pv_lines(k, "post", "set2"), "rc") == [pv(
        1, 486, "stop", "ignore", "486=stop,ignore", None, busy.uri, 2,
        "stop rule", rc=-1)]
    assert pv_lines(k, "branch", "set2") == []

    # An immediate failover (delay 0): the route goes on after rc 1; the
    # new forward is done, so two forwards so far.
    assert seen(pv_lines(k, "post", "set1"), "rc") == [pv(
        2, 503, "failover", "count", "503=failover,count", 0, primary.uri,
        1, None, rc=1)]
    # The branch_route armed before gwf_failover() runs for that forward
    # and sees the same decision; that forward is not sent yet, so one
    # forward so far.
    assert seen(pv_lines(k, "branch", "set1"), "du") == [pv(
        1, 503, "failover", "count", "503=failover,count", 0, primary.uri,
        1, None, du=backup.uri)]

    # No other gateway in the set.
    assert seen(pv_lines(k, "post", "set3"), "rc") == [pv(
        1, 502, "failover", "count", "502=failover,count", None, lone.uri,
        3, "no healthy gateway", rc=-2)]

    # max_attempts 2: gwX fails over to gwY at once, gwY's failure ends the
    # call. In gwY's failure_route, before gwf_failover(), the context
    # still holds gwX's failure.
    assert seen(pv_lines(k, "pre", "set4")) == [
        pv(1),
        pv(2, 503, "failover", "count", "503=failover,count", 0, gw_x.uri,
           4, None)]
    assert seen(pv_lines(k, "post", "set4"), "rc") == [
        pv(2, 503, "failover", "count", "503=failover,count", 0, gw_x.uri,
           4, None, rc=1),
        pv(2, 503, "failover", "count", "503=failover,count", None,
           gw_y.uri, 4, "attempt limit", rc=-2)]


def test_pv_in_branch_route_of_delayed_attempts(run, proxy):
    gw_a = reply_gw(run, "gwA", 503, "Service Unavailable")
    gw_b = reply_gw(run, "gwB", 502, "Bad Gateway")
    gw_c = harness.Gateway(run, "gwC", "uas_200.xml")
    # No jitter: 300 ms before attempt 2, 600 ms before attempt 3.
    k = proxy([(1, gw_a.uri, 30), (1, gw_b.uri, 20), (1, gw_c.uri, 10)],
              REQUEST_BODY=routing(), FAILURE_BODY=PV_FAILURE_BODY,
              EXTRA_ROUTES=PV_BRANCH_ROUTE,
              MOD_PARAMS=modparams(delay_base_ms=300, delay_min_ms=0,
                                   delay_max_ms=1000, jitter="none"))
    call(run, k, "c_delayed", "set1", 200)
    assert [len(g.invites()) for g in (gw_a, gw_b, gw_c)] == [1, 1, 1]
    gap_b = gw_b.invites()[0].time - gw_a.sent(503)[0].time
    gap_c = gw_c.invites()[0].time - gw_b.sent(502)[0].time
    assert 0.28 <= gap_b < 1.0, gap_b
    assert 0.58 <= gap_c < 1.3, gap_c

    # gwf_failover() returned 0 both times: the native route ended there.
    assert pv_lines(k, "post", "set1") == []
    # The second failure_route sees the decision taken in the first one,
    # across the suspension (kept in shm).
    assert seen(pv_lines(k, "pre", "set1")) == [
        pv(1),
        pv(2, 503, "failover", "count", "503=failover,count", 300,
           gw_a.uri, 1, None)]
    # The branch_route runs for each resumed attempt, in the resume
    # process, and sees the decision that delayed it.
    branches = pv_lines(k, "branch", "set1")
    assert seen(branches, "du") == [
        pv(1, 503, "failover", "count", "503=failover,count", 300, gw_a.uri,
           1, None, du=gw_b.uri),
        pv(2, 502, "failover", "count", "502=failover,count", 600, gw_b.uri,
           1, None, du=gw_c.uri)]
    pid = resume_pid(k)
    assert [e["_pid"] for e in branches] == [pid, pid]
    assert_stats(k, expect(failures_failover=2, failures_counted=2,
                           failovers=2, delayed=2))


def test_pv_unknown_key_refuses_startup(run, proxy):
    k = proxy([(1, "sip:127.0.0.1:9", 10)], expect_start=False,
              FAILURE_BODY='xlog("L_NOTICE", "x=$gwf(bogus)\\n");\n\t'
                           + FAILOVER)
    assert k.exit_code() != 0
    log = k.log()
    assert "unknown $gwf key 'bogus'" in log, log[-3000:]


# ---------------------------------------------------------------- KEMI

def test_kemi_event_callback_and_pv(run, kemi_proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = kemi_proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
                   MOD_PARAMS=modparams(
                       event_callback="ksr_gwfailover_event",
                       failure_threshold=2, delay_base_ms=200,
                       delay_min_ms=200, delay_max_ms=200))
    pid = resume_pid(k)
    # Two delayed failovers; the second 503 ejects the primary.
    call(run, k, "c12", "callee", 200, calls=2, rate=2)
    assert len(primary.invites()) == 2
    assert len(backup.invites()) == 2
    wait_events(k, 1)
    k.rpc("gwfailover.restore", primary.uri)
    evs = wait_events(k, 2)

    lines = tagged(k.log(), "GWFPV")
    assert seen([e for e in lines if e["where"] == "pre"]) == [pv(1)] * 2
    # KEMI goes on after rc 0: the delay decided is visible.
    assert seen([e for e in lines if e["where"] == "post"], "rc") == [pv(
        1, 503, "failover", "count", "503=failover,count", 200, primary.uri,
        1, None, rc=0)] * 2

    keys = ("cb", "event", "gw", "set", "reason", "code")
    assert [pick(e, *keys) for e in evs] == [
        dict(zip(keys, v)) for v in [
            ("gwfailover:gw-down", "gw-down", primary.uri, "1",
             "2 consecutive faults, last 503", "503"),
            ("gwfailover:gw-up", "gw-up", primary.uri, "1",
             "manual restore", "503")]]
    assert [e["_pid"] for e in evs] == [pid, pid]

    # gwf_failover() outside failure_route: an error.
    res = harness.run_caller(run, "c_badctx", "uac_expect.xml", k.sip_port,
                             calls=1, timeout=10, service="badctx", CODE=500)
    assert res.rc == 0, res.output
    assert_stats(k, expect(failures_failover=2, failures_counted=2,
                           failovers=2, delayed=2, ejections=1,
                           restorations=1, errors=1))
    assert len(events(k)) == 2
