"""Carriers over TCP (issue 17), against a real Kamailio with TCP enabled,
dispatcher and sipp over TCP.

A request tm could not send at all (the gateway refused the connection)
is its own kind of failure, 'unreachable': by default it ejects the
gateway at once, which rescues the call. The module sees it only with tm's
failure_exec_mode 1 (tm then keeps the unsent branch on hold instead of
failing t_relay()); it warns at startup when TCP is on and
failure_exec_mode is 0. A TCP gateway that takes the connection and never
answers is caught by silence detection as over UDP."""

import socket
import threading
import time

import harness
from conftest import modparams

FAILOVER = "gwf_failover();"
FR_DEFAULT = 30000
FEXEC = 'modparam("tm", "failure_exec_mode", 1)\n'
FEXEC_WARNING = "tm modparam 'failure_exec_mode' is 0 with TCP/TLS enabled"


def tcp_transports(port):
    """The proxy's transport lines: UDP and TCP on one port."""
    return "listen=tcp:127.0.0.1:%d\ntcp_connect_timeout=2" % port


def free_tcp_port():
    """A port nothing listens on (TCP connects to it are refused)."""
    return harness.free_udp_port()


class TcpGateway(harness.Gateway):
    """A sipp UAS over TCP (-t t1)."""

    def __init__(self, run, name, scenario="uas_200_tcp.xml", port=None):
        super().__init__(run, name, scenario, port=port, extra=["-t", "t1"])
        self.uri = "sip:127.0.0.1:%d;transport=tcp" % self.port

    def _bound(self):
        return harness.tcp_listening(self.port)


class SilentTcpListener(threading.Thread):
    """Takes every TCP connection and reads whatever comes, never answering:
    a carrier whose SIP stack hangs behind a live socket."""

    def __init__(self):
        super().__init__(daemon=True)
        self.port = free_tcp_port()
        self.uri = "sip:127.0.0.1:%d;transport=tcp" % self.port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.conns, self.received = [], 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
                c.setblocking(False)
                self.conns.append(c)
            except OSError:
                pass
            for c in list(self.conns):
                try:
                    data = c.recv(65536)
                    self.received += data.count(b"INVITE sip:")
                except BlockingIOError:
                    pass
                except OSError:
                    self.conns.remove(c)

    def stop(self):
        self.stopping.set()
        self.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


def proxy_tcp(proxy, gateways, fexec=True, **keys):
    port = harness.free_udp_port()
    keys.setdefault("FAILURE_BODY", FAILOVER)
    keys["MOD_PARAMS"] = (FEXEC if fexec else "") + keys.get("MOD_PARAMS", "")
    k = proxy(gateways, TRANSPORTS=tcp_transports(port), **keys)
    return k


def get(k, uri):
    return k.jsonrpc_value("gwfailover.get", uri)


def refused_calls(run, proxy, calls, max_ms, **keys):
    """<calls> calls at <calls>/s with a primary that refuses TCP
    connections and a healthy UDP backup: every one answered by the
    backup within <max_ms>, the primary ejected as unreachable. Returns
    (proxy, its statistics, the primary's gwfailover.get)."""
    dead = "sip:127.0.0.1:%d;transport=tcp" % free_tcp_port()
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy_tcp(proxy, [(1, dead, 20), (1, backup.uri, 10)], **keys)
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=calls, rate=calls, timeout=60)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * calls
    times = [ms for _, _, ms in harness.answer_times(res)]
    assert max(times) < max_ms, sorted(times)[-3:]
    assert len(backup.invites()) == calls
    g = get(k, dead)
    assert g["state"] == "open" and g["reason"].startswith("unreachable"), g
    assert g["received_5xx"] == 0, g  # tm's 503 is not the gateway's
    return k, k.gwf_stats(), g


def test_refused_connection_fails_over_and_ejects_at_once(run, proxy):
    """tcp_async=no: the connect runs in the worker, so a refused one fails
    the send itself, and tm tells the failure route (failure_exec_mode 1).
    The gateway is ejected after that one refused connection, and the call
    rescued as soon as the send failed: no call waits a timer."""
    k, st, _ = refused_calls(run, proxy, 10, 1000,
                             CORE_PARAMS="tcp_async=no")
    assert FEXEC_WARNING not in k.log()
    # nothing more tried it after its first refused connection
    assert st["failures_unreachable"] == 1 and st["ejections"] == 1, st


def test_refused_async_connect_costs_no_call(run, proxy):
    """tcp_async (Kamailio's default), tm's default fr_timer: a connect
    that fails after the send was queued is never told to tm, but the next
    send to the same destination fails at once, and ejects the gateway as
    unreachable (silence detection would find it within a second too);
    the rescue moves its calls. No call lost, none later than about a
    second and a half."""
    _, st, _ = refused_calls(run, proxy, 20, 1500, FR_TIMER=FR_DEFAULT,
                             FR_INV_TIMER=120000)
    assert 1 <= st["failures_unreachable"] <= 3 and st["ejections"] == 1, st


def test_failure_exec_mode_off_with_tcp_warns_at_startup(run, proxy):
    dead = "sip:127.0.0.1:%d;transport=tcp" % free_tcp_port()
    k = proxy_tcp(proxy, [(1, dead, 10)], fexec=False)
    lines = [line for line in k.log().splitlines() if FEXEC_WARNING in line]
    assert len(lines) == 1 and "WARNING" in lines[0], k.log()[-2000:]


def test_failure_exec_mode_off_without_tcp_says_nothing(run, proxy):
    k = proxy([(1, "sip:127.0.0.1:9", 10)], FAILURE_BODY=FAILOVER)
    assert FEXEC_WARNING not in k.log()


def test_classify_shows_the_unreachable_rule(run, proxy):
    k = proxy([(1, "sip:127.0.0.1:9", 10)], FAILURE_BODY=FAILOVER)
    c = k.jsonrpc_value("gwfailover.classify", 503, "unreachable")
    assert (c["kind"], c["action"], c["health"], c["rule"], c["source"]) == \
        ("unreachable", "failover", "eject", "unreachable=failover,eject",
         "default"), c


def test_tcp_gateway_answers_over_tcp(run, proxy):
    gw = TcpGateway(run, "gw")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy_tcp(proxy, [(1, gw.uri, 20), (1, backup.uri, 10)])
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=5, rate=5, timeout=20)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * 5
    assert len(gw.invites()) == 5 and backup.invites() == []
    assert get(k, gw.uri)["state"] == "closed"


def test_silent_tcp_gateway_is_caught_by_silence_detection(run, proxy):
    """The gateway takes the connection and never answers; tm's default
    fr_timer: the calls sent to it are rescued within about a second."""
    silent = SilentTcpListener()
    silent.start()
    try:
        backup = harness.Gateway(run, "backup", "uas_200.xml")
        k = proxy_tcp(proxy, [(1, silent.uri, 20), (1, backup.uri, 10)],
                      FR_TIMER=FR_DEFAULT, FR_INV_TIMER=120000)
        res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                                 calls=20, rate=20, timeout=60)
        assert res.rc == 0, res.output
        assert res.finals() == [200] * 20
        times = [ms for _, _, ms in harness.answer_times(res)]
        assert max(times) < 1500, sorted(times)[-3:]
        g = get(k, silent.uri)
        assert g["state"] == "open" and g["reason"].startswith("silent"), g
        assert k.gwf_stats()["rescued"] >= 1
        assert silent.received >= 3
    finally:
        silent.stop()


def test_restarted_tcp_gateway_is_reconnected(run, proxy):
    gw = TcpGateway(run, "gw")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy_tcp(proxy, [(1, gw.uri, 20), (1, backup.uri, 10)])
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=2, rate=5, timeout=20)
    assert res.finals() == [200, 200]
    # the connection goes with the process; a new one on the same port
    port = gw.port
    gw.stop()
    gw2 = TcpGateway(run, "gw2", port=port)
    time.sleep(0.5)
    res = harness.run_caller(run, "caller2", "uac_call.xml", k.sip_port,
                             calls=3, rate=5, timeout=20)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * 3
    assert len(gw2.invites()) == 3 and backup.invites() == []
    st = k.gwf_stats()
    assert st["ejections"] == 0 and st["failures_unreachable"] == 0, st
