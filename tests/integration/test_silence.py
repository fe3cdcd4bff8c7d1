"""Silent-gateway detection (silence_ms, silence_invites) against a real
Kamailio, dispatcher and sipp gateways.

A gateway that answers nothing is ejected once silence_invites INVITEs
went to it without any reply and the oldest is silence_ms old - long
before tm's fr_timer lets the first call fail over. Any reply (100 Trying
included) shows the gateway is alive."""

import time

import harness
from conftest import modparams

FAILOVER = "gwf_failover();"
FR_TIMER = 8000  # ms: far longer than any silence_ms below


def get(k, uri):
    return k.jsonrpc_value("gwfailover.get", uri)


def test_silent_gateway_is_ejected_long_before_fr_timer(run, proxy):
    primary = harness.Gateway(run, "primary", "uas_silent.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FR_TIMER=FR_TIMER, FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=5, delay_base_ms=0,
                                   silence_ms=500, silence_invites=3))
    calls = 20
    caller = harness.CallerThread(run, k, calls, 10)
    t0 = time.monotonic()
    caller.start()
    # Ejected before any fr_timer could expire: only silence can have
    # ejected it.
    g = harness.wait_until(
        lambda: (lambda g: g if g["state"] == "open" else None)(
            get(k, primary.uri)),
        FR_TIMER / 1000.0 - 2, what="the silent primary to be ejected")
    assert time.monotonic() - t0 < FR_TIMER / 1000.0 - 1
    assert g["reason"].startswith("silent: no reply to "), g
    n = int(g["reason"].split()[4])
    assert 3 <= n < calls, g
    assert g["local_timeouts"] == 0, g
    assert k.dispatcher_flags()[primary.uri].startswith("I")
    caller.join(FR_TIMER / 1000.0 + 40)
    res = caller.res
    assert res is not None and res.rc == 0, res and res.output
    assert res.finals() == [200] * calls
    # The calls sent before the ejection were rescued at once (see
    # test_rescue.py), none waited for fr_timer; every later one went to
    # the backup at once.
    assert len(primary.invites()) == n
    assert len(backup.invites()) == calls
    log = k.log()
    harness.ejected_for(log, "silent: no reply to %d INVITEs" % n, 30000)
    g = get(k, primary.uri)
    assert g["rescued"] == n and g["local_timeouts"] == 0, g
    assert g["ejections"] == 1, g


def test_a_gateway_that_says_anything_is_not_silent(run, proxy):
    """100 Trying and nothing more: alive as far as silence goes. The calls
    end by fr_inv_timer as gateway faults, so the threshold ejects it,
    with that reason."""
    primary = harness.Gateway(run, "primary", "uas_provisional.xml",
                              CODE=100, REASON="Trying")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FR_TIMER=FR_TIMER, FR_INV_TIMER=2000, FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=3, delay_base_ms=0,
                                   silence_ms=200, silence_invites=2))
    calls = 10
    caller = harness.CallerThread(run, k, calls, 10)
    caller.start()
    # 1 s of calls: 10 INVITEs, 5 times silence_invites, each older than
    # silence_ms by the end - and each answered with 100.
    time.sleep(1.5)
    g = get(k, primary.uri)
    assert g["state"] == "closed", g
    caller.join(60)
    res = caller.res
    assert res is not None and res.rc == 0, res and res.output
    assert res.finals() == [200] * calls
    g = get(k, primary.uri)
    assert g["state"] == "open", g
    assert g["reason"] == "3 consecutive faults, last a timeout (408)", g
    assert "silent" not in k.log()


def test_silence_ms_0_turns_detection_off(run, proxy):
    primary = harness.Gateway(run, "primary", "uas_silent.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FR_TIMER=2000, FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(failure_threshold=3, delay_base_ms=0,
                                   silence_ms=0, silence_invites=1))
    calls = 10
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=calls, rate=10, timeout=60)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * calls
    # Every call was sent within 1 s, before the first fr_timer expired:
    # without silence detection all of them went to the primary first.
    assert len(primary.invites()) == calls
    g = get(k, primary.uri)
    assert g["reason"] == "3 consecutive faults, last a timeout (408)", g
    assert "silent" not in k.log()
