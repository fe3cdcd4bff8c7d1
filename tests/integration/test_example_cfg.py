"""The example configuration cfg/kamailio.cfg, started for real with the -A
overrides it documents (ports, paths, gwfailover parameters, WITH_PROMETHEUS,
WEBHOOK_URL / WEBHOOK_SECRET / NODE_NAME), and looked at the way an operator
would: kamcmd and JSON-RPC, the event route log lines, the Prometheus
endpoint, and the webhook a real HTTP listener receives."""

import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import time

import pytest

import harness
from webhook_listener import WebhookListener

CFG = os.path.join(harness.ROOT, "cfg", "kamailio.cfg")

class ExampleKamailio(harness.Kamailio):
    """Kamailio on cfg/kamailio.cfg: no template, only -A defines.

    Reuses harness.Kamailio's readiness check and RPC helpers."""

    def __init__(self, run, ds_list, expect_start=True, prometheus=False,
                 name="kamailio", **params):
        self.run = run
        self.sip_port = harness.free_udp_port()
        self.ctl = run.sock("ctl.sock")
        self.jsonrpc_sock = run.sock("jsonrpc.sock")
        self.cfg = CFG
        self.prometheus = prometheus
        defines = [
            "LISTEN_ADDR=127.0.0.1",
            "SIP_PORT=%d" % self.sip_port,
            "CHILDREN=2",
            'MPATH="%s/"' % harness.stock_module_dir(),
            'GWF_SO="%s"' % harness.MODULE_SO,
            'DS_LIST="%s"' % ds_list,
            'CTL_SOCK="unix:%s"' % self.ctl,
            'JSONRPC_SOCK="%s"' % self.jsonrpc_sock,
        ]
        if prometheus:
            self.http_port = harness.free_udp_port()
            defines += ["WITH_PROMETHEUS", "HTTP_PORT=%d" % self.http_port]
        defines += ["%s=%s" % (k, v) for k, v in sorted(params.items())]
        # a name of its own per instance of a test: its own log file
        self.start(name, defines, expect_start)

    # ---------------------------------------------------------- operator view

    def gateways(self):
        """{uri: gateway struct} from `kamcmd gwfailover.list`."""
        reply = self.rpc_value("gwfailover.list")
        gws = reply["gateways"]
        assert reply["count"] == len(gws), reply
        return dict((gw["uri"], gw) for gw in gws)

    def stats(self):
        """{name: int} from `kamcmd stats.get_statistics gwfailover:`."""
        out = self.rpc("stats.get_statistics", "gwfailover:")
        return dict((name, int(value)) for name, value in
                    re.findall(r"gwfailover:(\w+) = (-?\d+)", out))

    def http_get(self, path):
        """(status, body) of a plain HTTP/1.1 GET on the Prometheus port."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port,
                                          timeout=5)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace")
        finally:
            conn.close()


def event_lines(log, kind, uri=None):
    """The event routes' xlog lines: "gw-down: gateway <uri> in set ..."."""
    prefix = "%s: gateway %s" % (kind, uri or "")
    return [line for line in log.splitlines() if prefix in line]


def start_failover_setup(run, threshold, prometheus=False, **defines):
    primary = harness.Gateway(run, "primary", "uas_reply.xml", CODE=503,
                              REASON="Service Unavailable", EXTRA="")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    ds_list = harness.dispatcher_list(
        run, [(1, primary.uri, 20), (1, backup.uri, 10)])
    k = ExampleKamailio(run, ds_list, prometheus=prometheus,
                        GWF_FAILURE_THRESHOLD=threshold,
                        GWF_EJECT_TIME_S=60,
                        GWF_DELAY_BASE_MS=20,
                        GWF_DELAY_MIN_MS=10,
                        GWF_DELAY_MAX_MS=100,
                        **defines)
    return primary, backup, k


def place_calls(run, k, primary, backup, calls, threshold):
    """calls through k: the first `threshold` fail on the primary and fail
    over to the backup, then the primary is ejected."""
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=calls, rate=5, timeout=20)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * calls
    primary_calls = [m.call_id for m in primary.invites()]
    assert len(primary_calls) == threshold
    assert [m.code for m in primary.sent()] == [503] * threshold
    backup_calls = [m.call_id for m in backup.invites()]
    assert len(backup_calls) == calls
    assert set(primary_calls) <= set(backup_calls)


def wait_for_event(k, kind, uri, timeout=5):
    """The event routes run in the module's resume process shortly after the
    transition: wait (bounded) for the log line."""
    harness.wait_until(lambda: event_lines(k.log(), kind, uri), timeout,
                       what="%s event route log line for %s" % (kind, uri))


def test_example_cfg_fails_over_and_ejects_primary(run):
    threshold = 4
    calls = 8
    primary, backup, k = start_failover_setup(run, threshold)
    # The listen and ctl overrides took effect: we reached it on both.
    assert k.dispatcher_flags() == {primary.uri: "AX", backup.uri: "AX"}
    before = k.gateways()
    assert set(before) == {primary.uri, backup.uri}, before
    assert before[primary.uri]["state"] == "closed", before
    assert before[primary.uri]["set"] == 1, before
    assert before[primary.uri]["dispatcher"] == "AX", before
    # No WEBHOOK_URL define: webhooks off, no webhook process.
    assert "gwfailover webhook" not in k.rpc("core.psx")

    place_calls(run, k, primary, backup, calls, threshold)

    # failure_threshold faults, then the primary is out of rotation.
    flags = k.dispatcher_flags()
    assert flags[primary.uri].startswith("I"), flags
    assert flags[backup.uri].startswith("A"), flags
    log = k.log()
    assert [(u, ms // 1000) for u, _, ms, _ in harness.ejections(log)] \
        in ([(primary.uri, s)] for s in range(60, 67)), log[-3000:]
    # The failure_route's xlog line, once per primary failure.
    assert log.count("gateway %s failed with 503" % primary.uri) == threshold

    # event_route[gwfailover:gw-down]: once, for the primary, with $gwf(set)
    # and $gwf(reason); no gw-up.
    wait_for_event(k, "gw-down", primary.uri)
    log = k.log()
    down = event_lines(log, "gw-down")
    assert len(down) == 1, down
    assert "gw-down: gateway %s in set 1 out of service: " \
        "%d consecutive faults, last 503 (last code 503)" \
        % (primary.uri, threshold) in down[0], down
    assert event_lines(log, "gw-up") == []

    # The operator's view through kamcmd (ctl) ...
    after = k.gateways()
    assert after[primary.uri]["state"] == "open", after
    assert after[primary.uri]["dispatcher"].startswith("I"), after
    assert after[primary.uri]["ejections"] == 1, after
    assert after[primary.uri]["received_5xx"] == threshold, after
    assert after[primary.uri]["last_code"] == 503, after
    assert after[primary.uri]["reason"] == \
        "%d consecutive faults, last 503" % threshold, after
    assert after[backup.uri]["state"] == "closed", after
    assert after[backup.uri]["successes"] == calls, after

    stats = k.stats()
    assert stats["ejections"] == 1, stats
    assert stats["failures_failover"] == threshold, stats
    assert stats["failures_counted"] == threshold, stats
    assert stats["failovers"] == threshold, stats
    assert stats["gateways_down"] == 1, stats
    for name in ("failures_retry", "failures_stop", "failures_ignored",
                 "failures_eject", "retries", "half_opens", "restorations",
                 "exhausted_gateways", "exhausted_attempts",
                 "exhausted_budget", "errors", "events_dropped"):
        assert stats[name] == 0, (name, stats)

    # ... and through jsonrpcs on the datagram socket the -A define named.
    gw = k.jsonrpc_value("gwfailover.get", primary.uri)
    assert gw["uri"] == primary.uri, gw
    assert gw["state"] == "open", gw
    assert gw["set"] == 1, gw


def test_example_cfg_prometheus_metrics(run):
    threshold = 3
    calls = 6
    primary, backup, k = start_failover_setup(run, threshold, prometheus=True)

    # Before any failure: the statistics are there, no gateway series yet.
    status, body = k.http_get("/metrics")
    assert status == 200, body
    assert re.search(r"^kamailio_gwfailover_ejections 0 \d+$", body, re.M), \
        body
    assert "gwf_gateway_up" not in body, body

    place_calls(run, k, primary, backup, calls, threshold)
    wait_for_event(k, "gw-down", primary.uri)
    assert len(event_lines(k.log(), "gw-down")) == 1

    status, body = k.http_get("/metrics")
    assert status == 200, body
    # One ejection: the primary after failure_threshold faults in a row.
    assert re.search(r"^kamailio_gwfailover_ejections 1 \d+$", body, re.M), \
        body
    assert re.search(r"^kamailio_gwfailover_gateways_down 1 \d+$", body,
                     re.M), body
    assert re.search(r"^kamailio_gwfailover_failovers %d \d+$" % threshold,
                     body, re.M), body
    # The gauge the gw-down event route set; the backup never changed state.
    gauges = gateway_gauges(body)
    assert gauges == {("1", primary.uri): 0.0}, body

    # Anything but /metrics: 404 from the xhttp event route.
    status, _ = k.http_get("/other")
    assert status == 404

    # Manual restore: gw-up event route, gauge back to 1.
    k.rpc("gwfailover.restore", primary.uri)
    wait_for_event(k, "gw-up", primary.uri)
    up = event_lines(k.log(), "gw-up")
    assert len(up) == 1, up
    assert "gw-up: gateway %s in set 1 back in service: manual restore" \
        % primary.uri in up[0], up
    harness.wait_until(
        lambda: gateway_gauges(k.http_get("/metrics")[1]) ==
        {("1", primary.uri): 1.0}, 5, what="gwf_gateway_up back to 1")
    _, body = k.http_get("/metrics")
    assert re.search(r"^kamailio_gwfailover_restorations 1 \d+$", body,
                     re.M), body
    assert re.search(r"^kamailio_gwfailover_gateways_down 0 \d+$", body,
                     re.M), body
    assert k.dispatcher_flags()[primary.uri].startswith("A")

    # The run fixture stops Kamailio and checks its log (the known TCP
    # shutdown line excepted, see conftest.TCP_SHUTDOWN_LINE).


def gateway_gauges(body):
    """{(set, uri): value} of the kamailio_gwf_gateway_up series."""
    return dict(((s, uri), float(value)) for s, uri, value in re.findall(
        r'^kamailio_gwf_gateway_up\{set="([^"]*)", uri="([^"]*)"\} '
        r'(\S+) \d+$', body, re.M))


# Keys of a gateway_ejected body, in the order of the spec's example.
EJECTED_KEYS = ["event", "id", "time", "node", "set", "gateway", "state",
                "previous_state", "reason", "manual", "last_codes",
                "consecutive_faults", "ejections", "eject_seconds",
                "enforced", "eject_multiplier", "next_eject_seconds",
                "suppressed"]


@pytest.mark.parametrize("secret, node", [
    ("t0p-s3cret example key", "proxy-example-1"),
    (None, None),
], ids=["signed_with_node_name", "unsigned_host_name"])
def test_example_cfg_posts_gateway_ejected_webhook(run, secret, node):
    """-A WEBHOOK_URL (and WEBHOOK_SECRET, NODE_NAME) as the config
    documents them: the primary's ejection reaches a real listener as one
    gateway_ejected POST, signed exactly when WEBHOOK_SECRET is set."""
    threshold = 3
    calls = 5
    path = "/hook"
    lis = WebhookListener()
    try:
        defines = {"WEBHOOK_URL": '"%s"' % lis.url(path)}
        if secret is not None:
            defines["WEBHOOK_SECRET"] = '"%s"' % secret
        if node is not None:
            defines["NODE_NAME"] = '"%s"' % node
        primary, backup, k = start_failover_setup(run, threshold, **defines)
        # The ctl process answers as soon as it runs; the main process
        # may still be forking the module's processes.
        harness.wait_until(lambda: "gwfailover webhook" in k.rpc("core.psx"),
                           5, what="the webhook process to be listed")
        assert lis.requests == []  # no state change yet, nothing posted

        place_calls(run, k, primary, backup, calls, threshold)
        reqs = lis.wait_requests(1, 5)
        # The backup never fails and the primary stays out for 60 s: the
        # ejection is the only event (a set with the backup is not down).
        time.sleep(0.3)
        assert len(lis.requests) == 1, lis.requests
        req = reqs[0]

        assert req.method == "POST", req
        assert req.path == path, req.path
        assert req.header("Content-Type") == "application/json", req.headers
        # Valid JSON, one object on one line, keys unique and in order.
        assert b"\n" not in req.body.rstrip(b"\r\n"), req.body
        pairs = json.loads(req.body.decode("utf-8"),
                           object_pairs_hook=lambda p: p)
        assert isinstance(pairs, list), req.body
        assert [key for key, _ in pairs] == EJECTED_KEYS, req.body
        ev = dict(pairs)
        assert ev["event"] == "gateway_ejected", ev
        assert ev["gateway"] == primary.uri, ev
        assert ev["set"] == 1, ev
        assert ev["state"] == "open", ev
        assert ev["previous_state"] == "closed", ev
        assert ev["reason"] == "%d consecutive faults, last 503" \
            % threshold, ev
        assert ev["manual"] is False, ev
        assert ev["last_codes"] == [503] * threshold, ev
        assert ev["consecutive_faults"] == threshold, ev
        assert ev["ejections"] == 1, ev
        # GWF_EJECT_TIME_S, plus the jitter of eject_jitter_percent
        assert 60 <= ev["eject_seconds"] <= 66, ev
        assert ev["enforced"] is True, ev
        assert ev["eject_multiplier"] == 1, ev
        assert ev["next_eject_seconds"] == 120, ev
        assert ev["suppressed"] == 0, ev
        # NODE_NAME, or the host name without it.
        assert ev["node"] == (node or socket.gethostname()), ev
        # The same reason as the operator's view.
        assert k.gateways()[primary.uri]["reason"] == ev["reason"]

        sig = req.header_all("X-Gwfailover-Signature")
        if secret is None:
            assert sig == [], req.headers
        else:
            want = "sha256=" + hmac.new(secret.encode(), req.body,
                                        hashlib.sha256).hexdigest()
            assert len(sig) == 1 and hmac.compare_digest(sig[0], want), \
                (sig, want)

        harness.wait_until(lambda: k.stats().get("webhook_sent") == 1, 5,
                           what="webhook_sent 1")
        stats = k.stats()
        assert stats["webhook_queued"] == 1, stats
        for name in ("webhook_retried", "webhook_dropped", "webhook_failed",
                     "webhook_suppressed"):
            assert stats[name] == 0, (name, stats)
    finally:
        # Before Kamailio, which the run fixture stops after the test.
        lis.stop()


def test_example_cfg_module_params_come_from_defines(run):
    ds_list = harness.dispatcher_list(run, [(1, "sip:127.0.0.1:9", 10)])
    k = ExampleKamailio(run, ds_list, expect_start=False,
                        GWF_FAILURE_THRESHOLD=0)
    assert k.exit_code() != 0
    log = k.log()
    assert "modparam 'failure_threshold' must be in 1..1000 (got 0)" in log, \
        log[-3000:]


def test_example_cfg_tells_callers_and_keeps_its_state(run):
    """Issue 16 with the example configuration: a caller whose call fails
    over hears the proxy's 180 Ringing once before the backup's replies,
    the failover event route logs it, and with GWF_STATE_FILE the
    ejection of the primary survives a restart."""
    path = run.path("gwf.state")
    threshold = 2
    primary, backup, k = start_failover_setup(
        run, threshold, GWF_STATE_FILE='"%s"' % path)
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=4, rate=5, timeout=20)
    assert res.finals() == [200] * 4
    failed_over = set(m.call_id for m in primary.invites())
    assert len(failed_over) == threshold
    by_call = {}
    for m in res.msgs:
        if m.direction == "received" and not m.is_request \
                and m.cseq_method == "INVITE" and m.code in (180, 200):
            tag = re.search(r"tag=([^;>\s]+)", m.headers.get("to", ""))
            by_call.setdefault(m.call_id, []).append(
                (m.code, tag.group(1) if tag else None))
    for cid, seq in by_call.items():
        codes = [c for c, _ in seq]
        if cid in failed_over:
            # the proxy's own 180 (its To-tag), then the backup's
            assert codes[:2] == [180, 180] and codes[-1] == 200, seq
            assert seq[0][1] != seq[1][1] and seq[1][1] == seq[-1][1], seq
        else:
            assert codes[0] == 180 and 200 in codes \
                and len(set(t for _, t in seq)) == 1, seq
    assert k.stats()["progress_sent"] == threshold
    log = k.log()
    assert log.count("%s failed (reply, 503), attempt 1 done, next in"
                     % primary.uri) == threshold, log[-3000:]
    assert k.gateways()[primary.uri]["state"] == "open"
    k.proc.stop()
    invites = len(primary.invites())

    ds_list = harness.dispatcher_list(
        run, [(1, primary.uri, 20), (1, backup.uri, 10)])
    k2 = ExampleKamailio(run, ds_list, GWF_FAILURE_THRESHOLD=threshold,
                         GWF_EJECT_TIME_S=60,
                         GWF_STATE_FILE='"%s"' % path)
    gw = k2.gateways()[primary.uri]
    assert gw["state"] == "open" and gw["restored"] == 1, gw
    assert k2.dispatcher_flags()[primary.uri].startswith("I")
    res = harness.run_caller(run, "caller2", "uac_call.xml", k2.sip_port,
                             calls=2, rate=5, timeout=20)
    assert res.finals() == [200, 200]
    assert len(primary.invites()) == invites


def test_example_cfg_with_tls_reaches_a_tls_carrier(run):
    """-A WITH_TLS: the example configuration loads tls and sends to a
    carrier over TLS (a second Kamailio taking TLS, see test_tls.py)."""
    from test_tls import TlsGateway, make_certs, tls_cfg
    p = make_certs(run)
    uas = harness.Gateway(run, "uas", "uas_200.xml")
    gw = TlsGateway(run, "tlsgw", p("gw.crt"), p("gw.key"), p("ca.crt"), uas)
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    ds_list = harness.dispatcher_list(
        run, [(1, gw.uri, 20), (1, backup.uri, 10)])
    cfg = tls_cfg(run, "proxy_tls.cfg", p("bad.crt"), p("bad.key"),
                  p("ca.crt"))
    k = ExampleKamailio(run, ds_list, WITH_TLS="",
                        TLS_PORT=harness.free_udp_port(),
                        TLS_CFG='"%s"' % cfg)
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=3, rate=5, timeout=20)
    assert res.finals() == [200] * 3
    assert len(uas.invites()) == 3 and backup.invites() == []
    assert "failure_exec_mode' is 0" not in k.log()


def failing_carrier_costs_no_call(run, name, carrier, why, backup,
                                  **defines):
    """10 calls through the example configuration (<defines>) with
    <carrier> first and the healthy UDP <backup> second: every call
    answered within 2 s, <carrier> ejected with a reason starting with
    <why>. Stops that Kamailio."""
    ds_list = harness.dispatcher_list(
        run, [(1, carrier, 20), (1, backup.uri, 10)])
    k = ExampleKamailio(run, ds_list, name="kamailio_" + name, **defines)
    res = harness.run_caller(run, "caller_" + name, "uac_call.xml",
                             k.sip_port, calls=10, rate=10, timeout=30)
    assert res.finals() == [200] * 10, name
    times = [ms for _, _, ms in harness.answer_times(res)]
    assert max(times) < 2000, (name, sorted(times)[-3:])
    gw = k.gateways()[carrier]
    assert gw["state"] == "open" and gw["reason"].startswith(why), (name, gw)
    k.proc.stop()


def test_example_cfg_tls_carrier_failures_cost_no_call(run):
    """-A WITH_TLS, the example's defaults (tm's fr_timer 3 s, silence
    detection, rescue, failure_exec_mode 1): a TLS carrier whose
    certificate does not verify and one that refuses the connection, each
    before a healthy UDP backup. No call is lost or waits a timer; the
    refusing one is ejected as unreachable, the other as silent."""
    from test_tls import TlsGateway, make_certs, tls_cfg
    p = make_certs(run)
    uas = harness.Gateway(run, "uas", "uas_200.xml")
    bad = TlsGateway(run, "tlsgw", p("bad.crt"), p("bad.key"), p("ca.crt"),
                     uas)
    refusing = "sip:127.0.0.1:%d;transport=tls" % harness.free_udp_port()
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    # the example routes every call to set 1: one carrier per Kamailio
    cfg = tls_cfg(run, "proxy_tls.cfg", p("bad.crt"), p("bad.key"),
                  p("ca.crt"))
    for name, carrier, why in (("bad_cert", bad.uri, "silent"),
                               ("refused", refusing, "unreachable")):
        failing_carrier_costs_no_call(
            run, name, carrier, why, backup, WITH_TLS="",
            TLS_PORT=harness.free_udp_port(), TLS_CFG='"%s"' % cfg)
    assert uas.invites() == []


def test_example_cfg_tcp_carrier_failures_cost_no_call(run):
    """-A WITH_TCP, the example's defaults: a TCP carrier that refuses the
    connection and one that takes it and never answers, each before a
    healthy UDP backup. No call is lost or waits a timer; the refusing one
    is ejected as unreachable, the silent one as silent."""
    from test_transport import SilentTcpListener, free_tcp_port
    silent = SilentTcpListener()
    silent.start()
    try:
        backup = harness.Gateway(run, "backup", "uas_200.xml")
        refusing = "sip:127.0.0.1:%d;transport=tcp" % free_tcp_port()
        for name, carrier, why in (("refused", refusing, "unreachable"),
                                   ("silent", silent.uri, "silent")):
            failing_carrier_costs_no_call(run, name, carrier, why, backup,
                                          WITH_TCP="")
    finally:
        silent.stop()
