"""Issue 3: KSR.gwfailover.gwf_failover() from a KEMI (Lua) script, and
calls that reach gwf_failover() in a wrong context still get a final reply
with a clear error in the log."""

import harness
from conftest import modparams


def test_kemi_failover_with_delay(run, kemi_proxy):
    primary = harness.Gateway(run, "primary", "uas_reply.xml", CODE=503,
                              REASON="Service Unavailable", EXTRA="")
    second = harness.Gateway(run, "second", "uas_reply.xml", CODE=500,
                             REASON="Server Error", EXTRA="")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = kemi_proxy([(1, primary.uri, 30), (1, second.uri, 20),
                    (1, backup.uri, 10)],
                   MOD_PARAMS=modparams(failure_threshold=10,
                                        delay_base_ms=100, delay_min_ms=50))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=3, rate=5, timeout=20)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * 3
    # Two delayed re-forwards per call: the resumed attempt re-armed the
    # KEMI failure function, or the second failure would have gone
    # upstream.
    assert [len(g.invites()) for g in (primary, second, backup)] == [3, 3, 3]
    assert k.log().count("gwf_failover rc=0") == 6


def test_kemi_call_outside_failure_route(run, kemi_proxy):
    gw = harness.Gateway(run, "gw", "uas_200.xml")
    k = kemi_proxy([(1, gw.uri, 10)])
    res = harness.run_caller(run, "caller", "uac_expect.xml", k.sip_port,
                             calls=1, timeout=10, service="badctx", CODE=500)
    assert res.rc == 0, res.output
    final = res.first(lambda m: m.direction == "received" and m.code == 500)
    assert "gwf_failover returned -4" in final.first_line
    assert "gwf_failover() must be called from failure_route" in k.log()
    assert gw.invites() == []


def test_request_without_ds_select_gets_final_reply(run, kemi_proxy):
    bad = harness.Gateway(run, "bad", "uas_reply.xml", CODE=503,
                          REASON="Service Unavailable", EXTRA="")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = kemi_proxy([(1, backup.uri, 10)], nods_gw=bad.uri)
    res = harness.run_caller(run, "caller", "uac_expect.xml", k.sip_port,
                             calls=1, timeout=10, service="nods", CODE=500)
    assert res.rc == 0, res.output
    assert res.finals() == [500]  # tm relays the 503 as 500
    assert "the request did not go through ds_select_dst()" in k.log()
    assert "gwf_failover rc=-4" in k.log()
    assert len(bad.invites()) == 1
    assert backup.invites() == []
