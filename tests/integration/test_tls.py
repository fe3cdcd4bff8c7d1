"""Carriers over TLS (issue 17), against a real Kamailio with the tls
module: the proxy sends to a second Kamailio that takes SIP over TLS and
relays it to a sipp UAS over UDP (Debian's sipp has no TLS).

A TLS gateway that answers gets its calls over TLS; one whose certificate
does not verify, or that refuses the connection, costs no call: the calls
go to the backup and the gateway is ejected."""

import os
import subprocess

import harness
from conftest import modparams

FAILOVER = "gwf_failover();"
FR_DEFAULT = 30000
HERE = os.path.dirname(os.path.abspath(__file__))


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   capture_output=True, timeout=60)


def make_certs(run):
    """A CA, a gateway certificate it signed for 127.0.0.1, and a
    self-signed one for the same address that the proxy must refuse."""
    d = run.path("certs")
    os.makedirs(d, exist_ok=True)
    p = lambda name: os.path.join(d, name)  # noqa: E731
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=gwfailover test CA", "-keyout", p("ca.key"),
            "-out", p("ca.crt"))
    ext = p("san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", p("gw.key"), "-out", p("gw.csr"))
    openssl("x509", "-req", "-in", p("gw.csr"), "-CA", p("ca.crt"),
            "-CAkey", p("ca.key"), "-CAcreateserial", "-days", "2",
            "-extfile", ext, "-out", p("gw.crt"))
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext",
            "subjectAltName=IP:127.0.0.1", "-keyout", p("bad.key"),
            "-out", p("bad.crt"))
    return p


def tls_cfg(run, name, server_cert, server_key, ca):
    return run.write(name, (
        "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n"
        "require_certificate = no\ncertificate = %s\nprivate_key = %s\n\n"
        "[client:default]\nmethod = TLSv1.2+\nverify_certificate = yes\n"
        "require_certificate = yes\nca_list = %s\n")
        % (server_cert, server_key, ca))


class TlsGateway(harness.Kamailio):
    """Kamailio taking TLS on a port of its own, relaying to a sipp UAS."""

    def __init__(self, run, name, cert, key, ca, uas):
        self.tls_port = harness.free_udp_port()
        self.uri = "sip:127.0.0.1:%d;transport=tls" % self.tls_port
        cfg = tls_cfg(run, name + "_tls.cfg", cert, key, ca)
        super().__init__(run, os.path.join(HERE, "tls_gateway.cfg.tmpl"),
                         name=name, subst={
                             "TLS_PORT": self.tls_port,
                             "UDP_PORT": harness.free_udp_port(),
                             "UAS_PORT": uas.port, "TLS_CFG": cfg})

    def wait_ready(self, timeout=15):
        def ready():
            if not self.proc.running():
                raise RuntimeError("tls gateway exited:\n%s"
                                   % self.proc.output()[-3000:])
            return harness.tcp_listening(self.tls_port)
        harness.wait_until(ready, timeout, step=0.1,
                           what="the TLS gateway to listen")


def tls_proxy(run, proxy, p, gateways, **keys):
    port = harness.free_udp_port()
    cfg = tls_cfg(run, "proxy_tls.cfg", p("bad.crt"), p("bad.key"),
                  p("ca.crt"))
    return proxy(gateways, FAILURE_BODY=FAILOVER,
                 TRANSPORTS="enable_tls=yes\nlisten=tls:127.0.0.1:%d" % port,
                 EXTRA_MODULES='loadmodule "tls.so"',
                 MOD_PARAMS='modparam("tls", "config", "%s")\n' % cfg
                 + 'modparam("tm", "failure_exec_mode", 1)\n'
                 + keys.pop("MOD_PARAMS", ""), **keys)


def get(k, uri):
    return k.jsonrpc_value("gwfailover.get", uri)


def answered_within(run, k, calls, max_ms, name="caller"):
    res = harness.run_caller(run, name, "uac_call.xml", k.sip_port,
                             calls=calls, rate=calls, timeout=60)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * calls
    times = [ms for _, _, ms in harness.answer_times(res)]
    assert max(times) < max_ms, sorted(times)[-3:]


def test_tls_gateway_answers_over_tls(run, proxy):
    p = make_certs(run)
    uas = harness.Gateway(run, "uas", "uas_200.xml")
    gw = TlsGateway(run, "tlsgw", p("gw.crt"), p("gw.key"), p("ca.crt"), uas)
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = tls_proxy(run, proxy, p, [(1, gw.uri, 20), (1, backup.uri, 10)])
    answered_within(run, k, 5, 2000)
    assert len(uas.invites()) == 5 and backup.invites() == []
    assert get(k, gw.uri)["state"] == "closed"


def test_tls_gateway_whose_certificate_does_not_verify_costs_no_call(
        run, proxy):
    """The handshake fails (the proxy does not trust its certificate): the
    INVITE never reaches the carrier. tm's default fr_timer; every call is
    answered by the backup within about a second and a half, and the
    gateway is ejected."""
    p = make_certs(run)
    uas = harness.Gateway(run, "uas", "uas_200.xml")
    gw = TlsGateway(run, "tlsgw", p("bad.crt"), p("bad.key"), p("ca.crt"),
                    uas)
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = tls_proxy(run, proxy, p, [(1, gw.uri, 20), (1, backup.uri, 10)],
                  FR_TIMER=FR_DEFAULT, FR_INV_TIMER=120000)
    answered_within(run, k, 20, 1500)
    assert uas.invites() == []
    g = get(k, gw.uri)
    assert g["state"] == "open", g
    assert g["reason"].startswith(("unreachable", "silent")), g


def test_tls_connection_refused_costs_no_call(run, proxy):
    p = make_certs(run)
    dead = "sip:127.0.0.1:%d;transport=tls" % harness.free_udp_port()
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = tls_proxy(run, proxy, p, [(1, dead, 20), (1, backup.uri, 10)],
                  FR_TIMER=FR_DEFAULT, FR_INV_TIMER=120000)
    answered_within(run, k, 20, 1500)
    g = get(k, dead)
    assert g["state"] == "open" and g["reason"].startswith("unreachable"), g
