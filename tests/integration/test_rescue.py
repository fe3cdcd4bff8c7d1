"""In-flight rescue and the learnt silence timeout (issue 14), against a real
Kamailio, dispatcher and sipp.

When a gateway is ejected, the calls in flight to it that have had no reply
at all are ended at once by tm (a local 487 on that branch) and fail over
through gwf_failover(), instead of waiting for their fr_timer: with
Kamailio's default fr_timer of 30 s a silent carrier costs no call more
than about a second. Calls that had any reply are left alone. Each
gateway's silence timeout is learnt from its first-reply latency (RFC 6298)
between silence_floor_ms and silence_ms."""

import os
import random
import re
import sys
import threading
import time

import harness
from conftest import modparams

sys.path.insert(0, os.path.join(harness.ROOT, "bench", "sip"))
from pygw import PyGateway  # noqa: E402

FAILOVER = "gwf_failover();"
FR_DEFAULT = 30000  # ms: Kamailio's default fr_timer


def get(k, uri):
    return k.jsonrpc_value("gwfailover.get", uri)


def slow_calls(res, limit_ms):
    """Answer times over <limit_ms> of a caller's calls."""
    return [ms for _, _, ms in harness.answer_times(res)
            if ms is not None and ms > limit_ms]


def silent_primary_calls(run, proxy, calls, mod_params=""):
    """<calls> calls at 20/s to a primary silent from the start (backup
    healthy, tm's default fr_timer of 30 s): every one answered by the
    backup within about a second. Returns (proxy, primary, backup)."""
    primary = harness.Gateway(run, "primary", "uas_silent.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FR_TIMER=FR_DEFAULT, FR_INV_TIMER=120000,
              FAILURE_BODY=FAILOVER, MOD_PARAMS=mod_params)
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=calls, rate=20, timeout=90)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * calls
    times = [ms for _, _, ms in harness.answer_times(res)]
    assert max(times) < 1200, sorted(times)[-5:]
    return k, primary, backup


def test_silent_primary_with_default_fr_timer_costs_no_call_a_second(
        run, proxy):
    """Default module parameters, tm's default fr_timer: the primary is
    silent from the start. Every call is answered by the backup, none
    later than about a second, and the primary is ejected for silence."""
    calls = 60
    k, primary, backup = silent_primary_calls(run, proxy, calls)
    g = get(k, primary.uri)
    assert g["state"] == "open", g
    assert g["reason"].startswith("silent: no reply to "), g
    n = len(primary.invites())
    assert n >= 3
    # every call the primary got was rescued: none waited for fr_timer
    assert g["rescued"] == n, (g, n)
    assert g["local_timeouts"] == 0, g
    st = k.gwf_stats()
    assert st["rescued"] == n, st
    assert st["rescue_kept"] == 0, st
    assert len(backup.invites()) == calls
    assert "%d calls in flight rescued" % n in k.log()


def test_a_gateway_that_sent_100_is_not_rescued(run, proxy):
    """100 Trying and then nothing: the gateway is alive for those calls.
    They wait for fr_inv_timer as without rescue, even when the gateway is
    ejected meanwhile (here by the failure threshold)."""
    primary = harness.Gateway(run, "primary", "uas_provisional.xml",
                              CODE=100, REASON="Trying")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    fr_inv = 3000
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FR_TIMER=FR_DEFAULT, FR_INV_TIMER=fr_inv,
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=3, delay_base_ms=0))
    calls = 40
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=calls, rate=10, timeout=90)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * calls
    g = get(k, primary.uri)
    assert g["state"] == "open", g
    assert g["reason"] == "3 consecutive faults, last a timeout (408)", g
    n = len(primary.invites())
    # 3 s of calls reached it before the third timeout ejected it; each
    # waited its whole fr_inv_timer: none was rescued
    assert n >= 25, n
    assert g["rescued"] == 0, g
    st = k.gwf_stats()
    assert st["rescued"] == 0 and st["rescue_kept"] == 0, st
    times = sorted(ms for _, _, ms in harness.answer_times(res))
    # (tm's timers tick: fr_inv_timer may fire a few tens of ms early)
    assert len([ms for ms in times if ms >= fr_inv - 100]) == n, times
    assert "rescued" not in k.log()


def eject_with_calls_in_flight(run, proxy, calls, **params):
    """<calls> calls stuck on a silent primary (fr_timer 30 s, silence
    detection off: only the operator ejects), then gwfailover.eject of it.
    Returns (proxy, primary, backup, the caller's result, eject time)."""
    primary = harness.Gateway(run, "primary", "uas_silent.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FR_TIMER=FR_DEFAULT, FR_INV_TIMER=120000,
              FAILURE_BODY=FAILOVER, MOD_PARAMS=modparams(silence_ms=0,
                                                          **params))
    caller = harness.CallerThread(run, k, calls, 10, timeout=90)
    caller.start()
    harness.wait_until(lambda: len(primary.invites()) == calls, 10,
                       what="every call to reach the primary")
    time.sleep(0.5)
    g = get(k, primary.uri)
    assert g["in_flight"] == calls, g
    t_eject = time.time()
    k.rpc("gwfailover.eject", primary.uri, "60")
    caller.join(60)
    res = caller.res
    assert res is not None and res.rc == 0, res and res.output
    assert res.finals() == [200] * calls
    return k, primary, backup, res, t_eject


def test_eject_rpc_moves_calls_in_flight_at_once(run, proxy):
    """Calls stuck on a silent primary go to the backup the moment
    gwfailover.eject runs."""
    calls = 10
    k, primary, backup, res, t_eject = eject_with_calls_in_flight(
        run, proxy, calls, delay_base_ms=0)
    # answered within a moment of the eject, not 30 s after being sent
    for sent, code, ms in harness.answer_times(res):
        assert sent + ms / 1000.0 < t_eject + 1.0, (sent, ms, t_eject)
    g = get(k, primary.uri)
    assert g["rescued"] == calls and g["in_flight"] == 0, g
    assert g["local_timeouts"] == 0, g
    assert k.gwf_stats()["rescued"] == calls
    assert ("%d calls in flight rescued" % calls) in k.log()
    # t_is_canceled() is false in a rescue: the script did not stop
    assert len(backup.invites()) == calls


def test_rescued_call_waits_for_its_delay_then_fails_over(run, proxy):
    """A rescue goes through the normal failover path: with a delay
    configured the rescued call is suspended for it, then re-forwarded by
    the resume process."""
    calls, delay = 5, 400
    k, primary, backup, res, t_eject = eject_with_calls_in_flight(
        run, proxy, calls, delay_base_ms=delay, delay_min_ms=delay,
        delay_max_ms=delay, jitter="none")
    for sent, code, ms in harness.answer_times(res):
        done = sent + ms / 1000.0
        assert t_eject + delay / 1000.0 - 0.05 <= done, (done, t_eject)
        assert done < t_eject + delay / 1000.0 + 1.0, (done, t_eject)
    st = k.gwf_stats()
    assert st["rescued"] == calls, st
    assert st["delayed"] == calls, st


def test_learnt_timeout_converges_and_never_undercuts(run, proxy):
    """A gateway that needs 300 ms to say anything: its timeout is learnt
    from its replies (not the 50 ms floor set here), converges just above
    what it needs, and it is never judged silent."""
    slow = harness.Gateway(run, "slow", "uas_late_trying.xml", DELAY_MS=300)
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, slow.uri, 20), (1, backup.uri, 10)],
              FR_TIMER=FR_DEFAULT, FR_INV_TIMER=120000,
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(silence_ms=2000, silence_floor_ms=50,
                                   silence_invites=1))
    g = get(k, slow.uri)
    assert g["silence_timeout_ms"] == 2000 and g["rtt_samples"] == 0, g
    calls = 40
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=calls, rate=10, timeout=60)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * calls
    # (latencies are learnt when the resume process sweeps the answered
    # calls off the flight list, every 50 ms)
    g = harness.wait_until(
        lambda: (lambda g: g if g["rtt_samples"] == calls else None)(
            get(k, slow.uri)), 2, what="every latency to be learnt")
    assert g["state"] == "closed" and g["ejections"] == 0, g
    assert 295 <= g["srtt_ms"] <= 360, g
    # SRTT + max(50 ms, 4 RTTVAR): above what it needs, far below 2000
    assert g["srtt_ms"] + 50 <= g["silence_timeout_ms"] < 700, g
    assert len(backup.invites()) == 0


def test_trial_call_to_a_still_silent_gateway_is_rescued(run, proxy):
    """fr_timer 30 s and a primary that stays silent: once its ejection is
    over, a trial call goes to it. Unanswered for the gateway's timeout,
    the trial fails at once, the gateway is ejected again and the trial
    call rescued - it does not wait its whole fr_timer (nor fail with the
    time budget spent)."""
    k, primary, backup = silent_primary_calls(
        run, proxy, 100, modparams(eject_time_s=1, eject_time_max_s=1,
                                   eject_jitter_percent=0))
    log = k.log()
    trials = len(re.findall(r"ejected for \d+ ms: trial call unanswered "
                            r"for 800 ms", log))
    assert trials >= 2, log[-3000:]
    g = get(k, primary.uri)
    n = len(primary.invites())
    assert g["rescued"] == n and g["local_timeouts"] == 0, (g, n)
    assert g["ejections"] == trials + 1, g


class LateGateway(PyGateway):
    """A live but slow gateway: says 100 Trying only after <delay>() s,
    then, for an INVITE to user "ring", nothing more (the caller cancels),
    for any other 200 after 30 ms. A CANCEL it receives first ends the
    INVITE with 487, as a real UAS would."""

    def __init__(self, delay, name):
        super().__init__(lambda t: "ok", name=name)
        self.delay = delay
        self.pending = {}   # (call-id, branch) -> (addr, headers) unanswered
        self.cancels = []   # Call-IDs of CANCELs received
        self.lock = threading.Lock()

    def _handle(self, data, addr, now):
        first, headers = __import__("pygw")._parse(data)
        if first.startswith("SIP/2.0"):
            return
        method = first.split(" ", 1)[0]
        get = dict((n, v) for n, _, v in reversed(headers))
        m = re.search(r"branch=([^;,\s]+)", get.get("via", ""))
        key = (get.get("call-id", ""), m.group(1) if m else "")
        self.requests.append(__import__("pygw").Request(
            now, method, key[0], key[1], "late"))
        if method == "INVITE":
            with self.lock:
                if key in self.pending:
                    return  # a retransmission
                self.pending[key] = (addr, headers)
            ring = first.split(" ")[1].startswith("sip:ring@")
            threading.Timer(self.delay(), self._trying,
                            (key, ring)).start()
        elif method == "CANCEL":
            self.cancels.append(key[0])
            self._reply(addr, headers, 200, "OK")
            with self.lock:
                inv = self.pending.pop(key, None)
            if inv is not None:
                self._reply(inv[0], inv[1], 487, "Request Terminated",
                            to_tag=True)
        elif method == "BYE":
            self._reply(addr, headers, 200, "OK")

    def _trying(self, key, ring):
        with self.lock:
            inv = self.pending.get(key)
        if inv is None:
            return
        self._reply(inv[0], inv[1], 100, "Trying")
        if not ring:
            threading.Timer(0.03, self._answer, (key,)).start()

    def _answer(self, key):
        with self.lock:
            inv = self.pending.pop(key, None)
        if inv is not None:
            self._reply(inv[0], inv[1], 200, "OK", to_tag=True, sdp=True,
                        rr=True)


def test_rescue_races_late_replies_and_cancels(run, proxy):
    """Rescues racing everything else at once: a primary that says 100
    Trying after 0..600 ms, ejected by the operator and restored again
    every few hundred ms while calls are in flight, so rescues meet late
    replies; and a second caller whose calls ring and are cancelled at
    about the same moments (they get only 100 Trying). Every answered call reaches its caller as one
    200, every cancelled call ends in 487, nothing hangs or leaks, and a
    late 100 on a rescued branch makes tm send the gateway a CANCEL."""
    rnd = random.Random(14)
    primary = LateGateway(lambda: rnd.uniform(0.0, 0.6), "late_primary")
    backup = LateGateway(lambda: 0.0, "late_backup")
    primary.start()
    backup.start()
    try:
        k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
                  FR_TIMER=FR_DEFAULT, FR_INV_TIMER=120000,
                  FAILURE_BODY=FAILOVER,
                  MOD_PARAMS=modparams(silence_ms=0, delay_base_ms=0,
                                       eject_jitter_percent=0))
        answered = harness.CallerThread(run, k, 80, 20, name="answered",
                                        timeout=60)
        cancelled = harness.CallerThread(run, k, 40, 10, name="cancelled",
                                         scenario="uac_cancel.xml",
                                         timeout=60)
        cancelled.kw.update(service="ring", CANCEL_MS=350)
        answered.start()
        cancelled.start()
        ops = 0
        while answered.is_alive() or cancelled.is_alive():
            time.sleep(rnd.uniform(0.15, 0.35))
            k.rpc("gwfailover.eject", primary.uri, "5")
            time.sleep(rnd.uniform(0.05, 0.2))
            k.rpc("gwfailover.restore", primary.uri)
            ops += 1
            assert ops < 200
        answered.join(5)
        cancelled.join(5)
        for c, code in ((answered, 200), (cancelled, 487)):
            assert c.res is not None and c.res.rc == 0, c.res and \
                c.res.output[-3000:]
            assert c.res.finals() == [code] * len(c.res.finals()), \
                c.res.finals()
        st = k.gwf_stats()
        assert st["rescued"] > 0, st
        # a late provisional on a rescued branch: tm cancels it then
        assert set(primary.cancels) - set(
            m.call_id for m in cancelled.res.msgs), primary.cancels
        # every transaction is freed (tm's wait timer is 5 s), and no
        # branch is left on a flight list
        harness.wait_until(
            lambda: re.search(r"current:\s*0\b", k.rpc("tm.stats")), 15,
            what="every transaction to be freed")
        for gw in (primary, backup):
            assert get(k, gw.uri)["in_flight"] == 0
    finally:
        primary.stop()
        backup.stop()


def test_rescued_call_ending_on_a_broken_code_gets_500(run, proxy):
    """A call rescued from the primary (tm fakes 487 on its branch) fails
    over to a gateway answering 999 and has nowhere left to go: tm would
    relay the 999, which it ranks above its own faked 487; the caller gets
    500. Found by the chaos soak (seed 777)."""
    from test_failover import CodeGateway
    primary = harness.Gateway(run, "primary", "uas_silent.xml")
    backup = CodeGateway(999, "Broken")
    try:
        k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
                  FR_TIMER=FR_DEFAULT, FR_INV_TIMER=120000,
                  FAILURE_BODY=FAILOVER,
                  MOD_PARAMS=modparams(silence_ms=0, delay_base_ms=0,
                                       failure_threshold=100))
        caller = harness.CallerThread(run, k, 2, 10, scenario="uac_expect.xml",
                                      timeout=60, CODE=500)
        caller.start()
        harness.wait_until(lambda: len(primary.invites()) == 2, 10,
                           what="both calls to reach the primary")
        time.sleep(0.3)
        k.rpc("gwfailover.eject", primary.uri, "60")
        caller.join(60)
        res = caller.res
        assert res is not None and res.rc == 0, res and res.output
        assert res.finals() == [500, 500]
        assert backup.invites == 2
        assert k.gwf_stats()["rescued"] == 2
    finally:
        backup.stop()
