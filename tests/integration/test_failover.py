"""Issue 3: the failover path against a real Kamailio, dispatcher and sipp.

Every test asserts what each gateway received and what each caller got."""

import time

import harness
from conftest import modparams

FAILOVER = "gwf_failover();"


def reply_gw(run, name, code, reason, extra=""):
    return harness.Gateway(run, name, "uas_reply.xml", CODE=code,
                           REASON=reason, EXTRA=extra)


def test_503_fails_over_after_minimum_delay(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(delay_base_ms=400, delay_min_ms=300,
                                   delay_max_ms=400, failure_threshold=5))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=2, rate=2, timeout=20)
    assert res.rc == 0, res.output
    assert res.finals() == [200, 200]
    assert len(primary.invites()) == 2
    backup_invites = backup.invites()
    assert len(backup_invites) == 2
    # The backup gets each call no earlier than delay_min_ms after the
    # primary's 503 left (both traces are stamped by this machine's clock).
    sent_503 = primary.sent(503)
    by_call = {m.call_id: m.time for m in sent_503}
    for inv in backup_invites:
        gap = inv.time - by_call[inv.call_id]
        assert 0.300 <= gap < 1.5, gap
