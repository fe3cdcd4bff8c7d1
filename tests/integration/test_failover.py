"""Issue 3: the failover path against a real Kamailio, dispatcher and sipp.

Every test asserts what each gateway received and what each caller got."""

import os
import re
import socket
import sys
import threading
import time

import harness
from conftest import modparams

sys.path.insert(0, os.path.join(harness.TESTS_DIR, "soak"))
import soak_sip  # noqa: E402

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
    # The first 503 of each call: under load sipp may retransmit it before
    # the ACK comes, and a retransmission is not when the failure happened.
    by_call = {}
    for m in sent_503:
        by_call.setdefault(m.call_id, m.time)
    # The module's clock has millisecond resolution (a deadline may fall
    # up to 1 ms early on this clock), and each sipp stamps its own trace.
    for inv in backup_invites:
        gap = inv.time - by_call[inv.call_id]
        assert 0.298 <= gap < 1.5, gap


def flags_of(k, gw):
    return k.dispatcher_flags()[gw.uri]


import pytest  # noqa: E402


@pytest.mark.parametrize("code,reason", [(486, "Busy Here"),
                                         (404, "Not Found"),
                                         (603, "Decline")])
def test_callee_answers_stop_and_never_count(run, proxy, code, reason):
    primary = reply_gw(run, "primary", code, reason)
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=0))
    # More callee failures than the threshold: none may count.
    res = harness.run_caller(run, "caller", "uac_expect.xml", k.sip_port,
                             calls=3, rate=5, timeout=20, CODE=code)
    assert res.rc == 0, res.output
    assert res.finals() == [code] * 3
    assert len(primary.invites()) == 3
    assert backup.invites() == []
    assert flags_of(k, primary).startswith("A")
    assert "ejected" not in k.log()


def test_silent_primary_fails_over_and_is_ejected(run, proxy):
    primary = harness.Gateway(run, "primary", "uas_silent.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FR_TIMER=1000, FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=50))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=4, rate=0.5, timeout=30)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * 4
    # Two local timeouts reach the threshold; the later calls go straight
    # to the backup.
    assert len(primary.invites()) == 2
    assert len(backup.invites()) == 4
    assert flags_of(k, primary).startswith("I")
    harness.ejected_for(k.log(), "2 consecutive faults, last a timeout (408)",
                        30000)


def test_success_between_faults_resets_the_count(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    port = primary.port
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=3, delay_base_ms=0))

    def calls(name, n):
        res = harness.run_caller(run, name, "uac_call.xml", k.sip_port,
                                 calls=n, rate=5, timeout=20)
        assert res.rc == 0, res.output
        assert res.finals() == [200] * n

    calls("fault12", 2)                       # fault, fault
    primary.stop()
    ok = harness.Gateway(run, "primary_ok", "uas_200.xml", port=port)
    calls("success", 1)                       # success resets
    assert len(ok.invites()) == 1
    ok.stop()
    again = harness.Gateway(run, "primary_503c", "uas_reply.xml", port=port,
                            CODE=503, REASON="Service Unavailable", EXTRA="")
    calls("fault45", 2)                       # fault, fault: still 2 < 3
    assert flags_of(k, primary).startswith("A")
    calls("fault6", 1)                        # third in a row: ejected
    assert flags_of(k, primary).startswith("I")
    assert len(again.invites()) == 3
    assert len(primary.invites()) == 2


def test_retry_after_ejects_at_once_and_recovers_via_trial(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable",
                       extra="Retry-After: 3600\r\n")
    port = primary.port
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=5, delay_base_ms=0,
                                   retry_after_max_s=2, trial_calls=1))
    res = harness.run_caller(run, "first", "uac_call.xml", k.sip_port,
                             calls=2, rate=5, timeout=20)
    assert res.finals() == [200, 200]
    # One 503 with Retry-After ejects at once (threshold 5 not needed).
    assert len(primary.invites()) == 1
    assert flags_of(k, primary).startswith("I")
    assert "ejected for 2000 ms: Retry-After 2 s (503)" in k.log()

    primary.stop()
    healthy = harness.Gateway(run, "primary_ok", "uas_200.xml", port=port)
    # Clamped to retry_after_max_s=2: half-open (active again) after ~2 s.
    harness.wait_until(lambda: flags_of(k, primary).startswith("A"), 5,
                       what="primary to be half-open")
    assert "half-open: ejection time over" in k.log()
    res = harness.run_caller(run, "trial", "uac_call.xml", k.sip_port,
                             calls=1, timeout=20)
    assert res.finals() == [200]
    assert len(healthy.invites()) == 1
    harness.wait_until(lambda: "restored: 1 trial call succeeded" in k.log(), 5,
                       what="trial success to restore the primary")
    assert flags_of(k, primary).startswith("A")
    assert len(backup.invites()) == 2


class CodeGateway(threading.Thread):
    """A UDP gateway that answers every INVITE with 100 and then final
    <code>, any three digits (sipp sends nothing above 699), and counts
    the INVITEs."""

    def __init__(self, code, reason):
        super().__init__(daemon=True)
        self.code, self.reason = code, reason
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.uri = "sip:127.0.0.1:%d" % self.sock.getsockname()[1]
        self.invites = 0
        self.halt = threading.Event()
        self.start()

    def run(self):
        while not self.halt.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            msg = soak_sip.parse(data)
            if msg is None or msg.method != "INVITE":
                continue
            self.invites += 1
            self.sock.sendto(soak_sip.reply(msg, 100, "Trying"), addr)
            self.sock.sendto(soak_sip.reply(msg, self.code, self.reason,
                                            to_tag="cg%d" % self.invites),
                             addr)

    def stop(self):
        self.halt.set()
        self.join(2)
        self.sock.close()


def test_reply_code_beyond_699_fails_over(run, proxy):
    """A broken carrier's 999 (Kamailio's parser takes any three digits):
    classified as a 500 of the gateway, so the call fails over and the
    fault counts. Found by the soak."""
    primary = CodeGateway(999, "Broken")
    try:
        backup = harness.Gateway(run, "backup", "uas_200.xml")
        k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
                  FAILURE_BODY=FAILOVER,
                  MOD_PARAMS=modparams(failure_threshold=100,
                                       delay_base_ms=0))
        res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                                 calls=2, rate=5, timeout=20)
        assert res.rc == 0, res.output
        assert res.finals() == [200, 200]
        assert primary.invites == 2
        assert len(backup.invites()) == 2
        gw = k.rpc_value("gwfailover.get", primary.uri)
        assert gw["consecutive_faults"] == 2, gw
    finally:
        primary.stop()


def test_reply_code_beyond_699_never_reaches_the_caller(run, proxy):
    """With nowhere left to go, the caller gets a 500, not the 999 tm would
    relay (no caller can use it)."""
    primary = CodeGateway(999, "Broken")
    try:
        k = proxy([(1, primary.uri, 20)], FAILURE_BODY=FAILOVER,
                  MOD_PARAMS=modparams(failure_threshold=100,
                                       delay_base_ms=0))
        res = harness.run_caller(run, "caller", "uac_expect.xml", k.sip_port,
                                 calls=2, rate=5, timeout=20, CODE=500)
        assert res.rc == 0, res.output
        assert res.finals() == [500, 500]
    finally:
        primary.stop()


def test_all_gateways_failing_respects_attempt_limit(run, proxy):
    gws = [reply_gw(run, "gw%d" % i, 503, "Service Unavailable")
           for i in range(3)]
    k = proxy([(1, g.uri, 30 - i) for i, g in enumerate(gws)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=100, max_attempts=2,
                                   delay_base_ms=20))
    res = harness.run_caller(run, "caller", "uac_expect.xml", k.sip_port,
                             calls=2, rate=5, timeout=20, CODE=500)
    assert res.rc == 0, res.output
    # tm relays the last gateway failure upstream, 503 remapped to 500.
    assert res.finals() == [500, 500]
    assert [len(g.invites()) for g in gws] == [2, 2, 0]


def test_all_gateways_silent_respects_time_budget(run, proxy):
    gws = [harness.Gateway(run, "gw%d" % i, "uas_silent.xml")
           for i in range(4)]
    k = proxy([(1, g.uri, 30 - i) for i, g in enumerate(gws)],
              FR_TIMER=1000, FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=100, max_attempts=4,
                                   delay_base_ms=0, time_budget_ms=2500))
    res = harness.run_caller(run, "caller", "uac_expect.xml", k.sip_port,
                             calls=1, timeout=20, CODE=408)
    assert res.rc == 0, res.output
    assert res.finals() == [408]
    invite = res.first(lambda m: m.direction == "sent" and m.method == "INVITE")
    final = res.first(lambda m: m.direction == "received" and m.code == 408)
    elapsed = final.time - invite.time
    # 1 s + 1 s + the rest of the budget (fr_timer capped to it).
    assert 2.3 <= elapsed <= 3.0, elapsed
    assert [len(g.invites()) for g in gws] == [1, 1, 1, 0]


def test_cancel_during_delay_gets_487_and_nothing_more(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(delay_base_ms=2000, delay_min_ms=2000,
                                   delay_max_ms=2000))
    res = harness.run_caller(run, "caller", "uac_cancel.xml", k.sip_port,
                             calls=1, timeout=20, CANCEL_MS=500)
    assert res.rc == 0, res.output
    assert res.finals() == [487]
    time.sleep(2.5)  # past the delay: the resume must find nothing to do
    assert len(primary.invites()) == 1
    assert backup.invites() == []
    # and the proxy still works
    res = harness.run_caller(run, "after", "uac_call.xml", k.sip_port,
                             calls=1, timeout=20)
    assert res.finals() == [200]


def test_backup_ejected_during_delay_is_skipped(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup1 = harness.Gateway(run, "backup1", "uas_200.xml")
    backup2 = harness.Gateway(run, "backup2", "uas_200.xml")
    k = proxy([(1, primary.uri, 30), (1, backup1.uri, 20),
               (1, backup2.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(delay_base_ms=1500, delay_min_ms=1500,
                                   delay_max_ms=1500))
    caller = harness.run_caller
    import threading
    result = {}
    t = threading.Thread(target=lambda: result.update(
        r=caller(run, "caller", "uac_call.xml", k.sip_port, calls=1,
                 timeout=20)))
    t.start()
    harness.wait_until(lambda: len(primary.sent(503)) == 1, 5,
                       what="the primary's 503")
    k.rpc("dispatcher.set_state", "ip", 1, backup1.uri)
    t.join(30)
    assert result["r"].finals() == [200]
    assert backup1.invites() == []
    assert len(backup2.invites()) == 1


def test_steady_load_every_call_answered(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=3, delay_base_ms=20))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=200, rate=20, timeout=60)
    assert res.rc == 0, res.output[-2000:]
    finals = res.finals()
    assert len(finals) == 200 and set(finals) == {200}
    # Policy: the primary sees exactly failure_threshold calls, then is
    # ejected for eject_time_s (30 s, longer than the test).
    assert len(primary.invites()) == 3
    assert len(backup.invites()) == 200


def test_trial_fault_ejects_again(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable",
                       extra="Retry-After: 1\r\n")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(delay_base_ms=0, retry_after_max_s=1))
    res = harness.run_caller(run, "c1", "uac_call.xml", k.sip_port, calls=1,
                             timeout=20)
    assert res.finals() == [200]
    assert flags_of(k, primary).startswith("I")
    harness.wait_until(lambda: flags_of(k, primary).startswith("A"), 4,
                       what="half-open")
    res = harness.run_caller(run, "c2", "uac_call.xml", k.sip_port, calls=1,
                             timeout=20)
    assert res.finals() == [200]
    # The trial call failed: out again at once.
    assert flags_of(k, primary).startswith("I")
    assert len(primary.invites()) == 2
    assert k.log().count("ejected for 1000 ms: Retry-After 1 s (503)") == 2


def test_concurrent_faults_on_all_workers_are_all_counted(run, proxy):
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)], CHILDREN=4,
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=40, delay_base_ms=0))
    # 39 faults in a burst, handled by 4 workers at once: one short.
    res = harness.run_caller(run, "burst", "uac_call.xml", k.sip_port,
                             calls=39, rate=300, timeout=30)
    assert res.finals() == [200] * 39
    assert len(primary.invites()) == 39
    assert flags_of(k, primary).startswith("A")
    # The 40th consecutive fault ejects: no update was lost.
    res = harness.run_caller(run, "last", "uac_call.xml", k.sip_port,
                             calls=1, timeout=20)
    assert res.finals() == [200]
    assert flags_of(k, primary).startswith("I")


def test_dispatcher_probing_revival_goes_half_open(run, proxy):
    # The primary passes OPTIONS pings (sipp -aa) but fails every INVITE.
    primary = harness.Gateway(run, "primary", "uas_reply.xml", extra=["-aa"],
                              CODE=503, REASON="Service Unavailable",
                              EXTRA="")
    backup = harness.Gateway(run, "backup", "uas_200.xml", extra=["-aa"])
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS='\n'.join([
                  'modparam("dispatcher", "ds_ping_interval", 1)',
                  'modparam("dispatcher", "ds_probing_mode", 1)',
                  modparams(failure_threshold=1, eject_time_s=300,
                            delay_base_ms=0)]))
    res = harness.run_caller(run, "c1", "uac_call.xml", k.sip_port, calls=1,
                             timeout=20)
    assert res.finals() == [200]
    assert flags_of(k, primary).startswith("I")
    # A successful ping re-activates it in the dispatcher; the module takes
    # that as evidence of life (half-open) instead of fighting it, long
    # before eject_time_s (300 s).
    harness.wait_until(
        lambda: "half-open: dispatcher marked it active" in k.log(), 5,
        what="probing revival")
    assert flags_of(k, primary).startswith("A")
    # The trial call decides: it fails, so the primary is out again.
    res = harness.run_caller(run, "c2", "uac_call.xml", k.sip_port, calls=1,
                             timeout=20)
    assert res.finals() == [200]
    assert flags_of(k, primary).startswith("I")
    assert len(primary.invites()) == 2


def test_gateway_silent_after_100_is_a_gateway_fault(run, proxy):
    primary = harness.Gateway(run, "primary", "uas_provisional.xml",
                              CODE=100, REASON="Trying")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FR_TIMER=1000, FR_INV_TIMER=1500, FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=1, delay_base_ms=0))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=1, timeout=20)
    assert res.finals() == [200]
    assert len(primary.invites()) == 1 and len(backup.invites()) == 1
    assert flags_of(k, primary).startswith("I")
    harness.ejected_for(k.log(), "1 consecutive fault, last a timeout (408)",
                        30000)


def test_ring_no_answer_is_the_callees_not_the_gateways(run, proxy):
    primary = harness.Gateway(run, "primary", "uas_provisional.xml",
                              CODE=180, REASON="Ringing")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FR_TIMER=1000, FR_INV_TIMER=1500, FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=1, delay_base_ms=0))
    res = harness.run_caller(run, "caller", "uac_expect.xml", k.sip_port,
                             calls=2, rate=1, timeout=20, CODE=408)
    # The callee rang and nobody answered: 408 upstream, no other carrier
    # rung, and the gateway stays in (threshold 1 would have ejected it).
    assert res.rc == 0, res.output
    assert res.finals() == [408, 408]
    assert len(primary.invites()) == 2
    assert backup.invites() == []
    assert flags_of(k, primary).startswith("A")
    assert "ejected" not in k.log()


def test_retry_rule_sends_to_the_same_gateway_again(run, proxy):
    # -deadcall_wait 0: sipp must treat the retried INVITE (same Call-ID,
    # new branch) as a new call, as a real gateway does.
    primary = harness.Gateway(run, "primary", "uas_reply.xml",
                              extra=["-deadcall_wait", "0"], CODE=500,
                              REASON="Server Internal Error", EXTRA="")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(rule="500=retry,count", max_attempts=3,
                                   failure_threshold=10, delay_base_ms=50))
    res = harness.run_caller(run, "caller", "uac_expect.xml", k.sip_port,
                             calls=1, timeout=20, CODE=500)
    assert res.rc == 0, res.output
    # Three attempts, all on the primary; then the attempt limit relays
    # the primary's 500 upstream.
    assert res.finals() == [500]
    assert len(primary.invites()) == 3
    assert backup.invites() == []


def test_retry_falls_back_to_failover_when_gateway_was_ejected(run, proxy):
    primary = reply_gw(run, "primary", 500, "Server Internal Error")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(rule="500=retry,count", max_attempts=3,
                                   failure_threshold=1, delay_base_ms=50))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=1, timeout=20)
    # The first 500 reached the threshold: retrying an ejected gateway
    # makes no sense, so the call moves on to the backup.
    assert res.finals() == [200]
    assert len(primary.invites()) == 1
    assert len(backup.invites()) == 1


def test_each_failed_gateway_is_charged_not_the_best_reply(run, proxy):
    # tm's picked branch in failure_route is the best reply of all branches
    # (here gwA's first 503, by index); the failure to record is gwB's.
    gw_a = reply_gw(run, "gwA", 503, "Service Unavailable")
    gw_b = reply_gw(run, "gwB", 503, "Service Unavailable")
    gw_c = harness.Gateway(run, "gwC", "uas_200.xml")
    k = proxy([(1, gw_a.uri, 30), (1, gw_b.uri, 20), (1, gw_c.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=1, delay_base_ms=20))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=1, timeout=20)
    assert res.finals() == [200]
    assert [len(g.invites()) for g in (gw_a, gw_b, gw_c)] == [1, 1, 1]
    flags = k.dispatcher_flags()
    assert flags[gw_a.uri].startswith("I")
    assert flags[gw_b.uri].startswith("I")
    assert flags[gw_c.uri].startswith("A")


def test_timeout_then_503_charges_the_second_gateway(run, proxy):
    # A local 408 outranks a 503 in tm's choice of the "picked" branch: the
    # module must still charge gwB's 503 to gwB.
    gw_a = harness.Gateway(run, "gwA", "uas_silent.xml")
    gw_b = reply_gw(run, "gwB", 503, "Service Unavailable")
    gw_c = harness.Gateway(run, "gwC", "uas_200.xml")
    k = proxy([(1, gw_a.uri, 30), (1, gw_b.uri, 20), (1, gw_c.uri, 10)],
              FR_TIMER=1000, FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=1, delay_base_ms=20))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=1, timeout=20)
    assert res.finals() == [200]
    assert [len(g.invites()) for g in (gw_a, gw_b, gw_c)] == [1, 1, 1]
    flags = k.dispatcher_flags()
    assert flags[gw_a.uri].startswith("I")
    assert flags[gw_b.uri].startswith("I")
    log = k.log()
    harness.ejected_for(log, "1 consecutive fault, last a timeout (408)", 30000)
    harness.ejected_for(log, "1 consecutive fault, last 503", 30000)


def test_copies_of_one_2xx_credit_the_gateway_once(run, proxy):
    """Review finding 1: tm runs the reply callback before its reply lock,
    so copies of one 200 handled by several workers at once raced for the
    branch's outcome. Each call must count one success, and a half-open
    gateway needing two trial successes must not close after one call."""
    gw = harness.Gateway(run, "gw", "uas_200_burst.xml",
                         extra=("-default_behaviors", "all,-abortunexp"))
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, gw.uri, 20), (1, backup.uri, 10)], CHILDREN=8,
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(trial_calls=1, trial_successes=2,
                                   delay_base_ms=0))
    # Closed: 40 calls, six copies of each 200, eight workers.
    res = harness.run_caller(run, "load", "uac_call.xml", k.sip_port,
                             calls=40, rate=40, timeout=30)
    assert res.finals() == [200] * 40
    assert len(gw.invites()) == 40
    assert k.rpc_value("gwfailover.get", gw.uri)["successes"] == 40
    # Half-open, several times over: one trial success is not enough.
    for rnd in range(4):
        k.rpc_value("gwfailover.eject", gw.uri, 1)
        harness.wait_until(
            lambda: k.rpc_value("gwfailover.get", gw.uri)["state"]
            == "half-open", 5, what="half-open")
        res = harness.run_caller(run, "t%da" % rnd, "uac_call.xml",
                                 k.sip_port, calls=1, timeout=20)
        assert res.finals() == [200]
        st = k.rpc_value("gwfailover.get", gw.uri)
        assert st["state"] == "half-open", (rnd, st)
        res = harness.run_caller(run, "t%db" % rnd, "uac_call.xml",
                                 k.sip_port, calls=1, timeout=20)
        assert res.finals() == [200]
        assert k.rpc_value("gwfailover.get", gw.uri)["state"] == "closed"
    assert k.rpc_value("gwfailover.get", gw.uri)["successes"] == 48
    assert len(backup.invites()) == 0


def test_gateways_the_table_cannot_hold_still_use_up_attempts(run, proxy):
    """Review finding 5: a gateway beyond max_gateways is not tracked, and
    its forward did not count as an attempt, so max_attempts never applied
    (and the delay's attempt number wrapped to the longest delay)."""
    gws = [reply_gw(run, "gw%d" % i, 503, "Service Unavailable")
           for i in range(4)]
    k = proxy([(1, g.uri, 40 - i) for i, g in enumerate(gws)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(max_gateways=1, failure_threshold=100,
                                   max_attempts=2, delay_base_ms=20,
                                   delay_max_ms=40))
    res = harness.run_caller(run, "caller", "uac_expect.xml", k.sip_port,
                             calls=3, rate=5, timeout=20, CODE=500)
    assert res.rc == 0, res.output
    assert res.finals() == [500, 500, 500]
    assert [len(g.invites()) for g in gws] == [3, 3, 0, 0]
    assert "not tracked: full (max_gateways 1)" in k.log()


def test_transaction_created_before_the_destination_is_tracked(run, proxy):
    """A script that creates the transaction (t_newtran()) before it picks
    the gateway: the module cannot learn the destination when tm creates
    the transaction, so it sets the branch up before the send
    (TMCB_REQUEST_FWDED): faults still count, the primary is ejected, the
    backup is credited."""
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              REQUEST_BODY='if(is_method("INVITE")) t_newtran();',
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=2, delay_base_ms=0))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=4, rate=10, timeout=20)
    assert res.finals() == [200] * 4
    assert len(primary.invites()) == 2
    st = k.rpc_value("gwfailover.get", primary.uri)
    assert st["state"] == "open", st
    assert st["counted"] == 2, st
    assert k.rpc_value("gwfailover.get", backup.uri)["successes"] == 4


def test_destination_moved_after_the_transaction_goes_to_its_gateway(
        run, proxy):
    """The script picks a gateway, creates the transaction, then moves the
    call to the next gateway before relaying: the branch belongs to the
    gateway it was sent to (the request's $du), not to the one the call had
    when tm created the transaction."""
    primary = harness.Gateway(run, "primary", "uas_200.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              REQUEST_BODY='if(is_method("INVITE")) {'
              ' ds_select_dst("1", "8"); t_newtran(); ds_next_dst();'
              ' t_on_failure("GW_FAIL"); t_relay(); exit; }',
              FAILURE_BODY=FAILOVER)
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=3, rate=10, timeout=20)
    assert res.finals() == [200] * 3
    assert len(primary.invites()) == 0
    assert len(backup.invites()) == 3
    assert k.rpc_value("gwfailover.get", backup.uri)["successes"] == 3
    assert k.rpc_value("gwfailover.get", primary.uri)["successes"] == 0


def test_trial_calls_to_an_instant_503_gateway_hold_no_slot(run, proxy):
    """Branches are set up after tm sent them, so a gateway's reply can be
    handled before the set-up (handed over); a trial call's slot must come
    back whichever comes first. A half-open gateway that answers 503 at
    once, under load from eight workers: every call answered by the
    backup, and no trial slot left held afterwards."""
    primary = reply_gw(run, "primary", 503, "Service Unavailable")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)], CHILDREN=8,
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(trial_calls=1, delay_base_ms=0,
                                   failure_threshold=1))
    for rnd in range(2):
        # (a failed trial ejects it for eject_time_s: start over)
        k.rpc("gwfailover.restore", primary.uri)
        k.rpc_value("gwfailover.eject", primary.uri, 1)
        harness.wait_until(
            lambda: k.rpc_value("gwfailover.get", primary.uri)["state"]
            == "half-open", 10, what="half-open")
        res = harness.run_caller(run, "load%d" % rnd, "uac_call.xml",
                                 k.sip_port, calls=60, rate=60, timeout=30)
        assert res.finals() == [200] * 60, rnd
        # every transaction freed: TMCB_DESTROY gave back what it held
        harness.wait_until(
            lambda: re.search(r"current:\s*0\b", k.rpc("tm.stats")), 15,
            what="transactions freed")
        st = k.rpc_value("gwfailover.get", primary.uri)
        # the trial went to the primary, failed, and ejected it again
        assert st["state"] == "open", (rnd, st)
        assert st["trials_in_flight"] == 0, (rnd, st)
    # each round's trial reached the primary; nothing else did
    assert len(primary.invites()) == 2
    assert len(backup.invites()) == 120
