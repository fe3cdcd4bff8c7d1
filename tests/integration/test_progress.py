"""Callers kept informed while their call fails over (issue 16), against a
real Kamailio, dispatcher and sipp.

progress_reply sends one provisional to the caller the first time its call
fails over (at once, after a delay, or when it is rescued from an ejected
gateway), only if the caller has had nothing but 100 so far.
event_route[gwfailover:failover] (KEMI: failover_callback) runs in the
call's failure_route just before, with the call's $gwf values: a script
can play an announcement there (a 183 of its own), after which no
progress_reply is sent."""

import harness
from conftest import modparams

FAILOVER = "gwf_failover();"
PROGRESS = "180 Please Hold"  # a phrase no gateway of these tests sends
FR_DEFAULT = 30000  # ms: Kamailio's default fr_timer

HOOK_ROUTE = r'''
event_route[gwfailover:failover] {
	xlog("L_INFO", "GWFHOOK|ru=$rU|attempt=$gwf(attempt)|code=$gwf(code)|failure=$gwf(failure)|action=$gwf(action)|delay=$gwf(delay)|gw=$gwf(gw)\n");
	if($rU == "announce") {
		t_reply("183", "Announcement");
	}
}
'''


def replies(res):
    """{Call-ID: ["<code> <reason>", ...]} of the replies to each INVITE the
    caller received, in order, 100 Trying left out; calls in call order."""
    out = {}
    for m in res.msgs:
        if m.direction == "sent" and m.method == "INVITE":
            out.setdefault(m.call_id, [])
        elif m.direction == "received" and not m.is_request \
                and m.cseq_method == "INVITE" and m.code != 100:
            seq = out.setdefault(m.call_id, [])
            line = m.first_line.split(" ", 1)[1]
            # a UDP retransmission of a final reply is no new reply
            if not (m.code >= 200 and seq and seq[-1] == line):
                seq.append(line)
    return out


def received_at(res, call_id, line):
    """Caller's clock (s) when it first received reply <line> of call_id."""
    for m in res.msgs:
        if m.direction == "received" and m.call_id == call_id \
                and not m.is_request \
                and m.first_line.split(" ", 1)[1] == line:
            return m.time
    return None


def failing_and_backup(run, primary_scenario="uas_reply.xml", **subst):
    if primary_scenario == "uas_reply.xml" and not subst:
        subst = dict(CODE=503, REASON="Service Unavailable", EXTRA="")
    primary = harness.Gateway(run, "primary", primary_scenario, **subst)
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    return primary, backup


def test_immediate_failover_sends_one_provisional_first(run, proxy):
    primary, backup = failing_and_backup(run)
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(progress_reply=PROGRESS,
                                   failure_threshold=1000, delay_base_ms=0))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=5, rate=5, timeout=20)
    assert res.rc == 0, res.output
    seqs = replies(res)
    assert len(seqs) == 5
    for seq in seqs.values():
        # ours, before the backup's 180 and its 200, exactly once
        assert seq == ["180 Please Hold", "180 Ringing", "200 OK"], seq
    assert k.gwf_stats()["progress_sent"] == 5
    assert len(primary.invites()) == 5 and len(backup.invites()) == 5


def test_delayed_failover_sends_it_before_the_delay(run, proxy):
    primary, backup = failing_and_backup(run)
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(progress_reply=PROGRESS,
                                   failure_threshold=1000, delay_base_ms=400,
                                   delay_min_ms=400, delay_max_ms=400))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=3, rate=2, timeout=20)
    assert res.rc == 0, res.output
    for cid, seq in replies(res).items():
        assert seq == ["180 Please Hold", "180 Ringing", "200 OK"], seq
        # sent when the delay began, not when it ended
        wait = received_at(res, cid, "180 Ringing") - \
            received_at(res, cid, "180 Please Hold")
        assert wait >= 0.35, (cid, wait)
    st = k.gwf_stats()
    assert st["progress_sent"] == 3 and st["delayed"] == 3, st


def test_no_provisional_when_the_first_gateway_answers(run, proxy):
    gw = harness.Gateway(run, "gw", "uas_200.xml")
    k = proxy([(1, gw.uri, 10)], FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(progress_reply=PROGRESS))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=3, rate=5, timeout=20)
    assert res.rc == 0, res.output
    for seq in replies(res).values():
        assert seq == ["180 Ringing", "200 OK"], seq
    assert k.gwf_stats()["progress_sent"] == 0


def test_no_provisional_after_a_gateway_rang(run, proxy):
    """The caller heard the primary ring before it failed: it has more than
    a 100 already, so the failover adds nothing of its own."""
    primary, backup = failing_and_backup(
        run, "uas_ring_then_fail.xml", CODE=503, REASON="Service Unavailable")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(progress_reply=PROGRESS,
                                   failure_threshold=1000))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=3, rate=5, timeout=20)
    assert res.rc == 0, res.output
    for seq in replies(res).values():
        assert seq == ["180 Ringing", "180 Ringing", "200 OK"], seq
    st = k.gwf_stats()
    assert st["progress_sent"] == 0 and st["failovers"] == 3, st


def test_cancel_during_the_delay_after_the_provisional(run, proxy):
    primary, backup = failing_and_backup(run)
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(progress_reply=PROGRESS,
                                   failure_threshold=1000,
                                   delay_base_ms=3000, delay_min_ms=3000,
                                   delay_max_ms=3000))
    res = harness.run_caller(run, "caller", "uac_cancel_ringing.xml",
                             k.sip_port, calls=2, rate=5, timeout=20,
                             CANCEL_MS=500)
    assert res.rc == 0, res.output
    assert res.finals() == [487, 487]
    for seq in replies(res).values():
        assert seq[0] == "180 Please Hold" and seq[-1].startswith("487"), seq
    harness.wait_until(lambda: k.gwf_stats()["canceled"] == 2, 5,
                       what="both CANCELs counted")
    assert k.gwf_stats()["progress_sent"] == 2
    assert backup.invites() == []


def test_rescued_calls_get_the_provisional_too(run, proxy):
    """A silent primary with tm's default fr_timer: the calls sent to it are
    rescued from the resume process; each tells its caller once."""
    primary = harness.Gateway(run, "primary", "uas_silent.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FR_TIMER=FR_DEFAULT, FR_INV_TIMER=120000,
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS=modparams(progress_reply=PROGRESS))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=20, rate=20, timeout=60)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * 20
    seqs = replies(res)
    told = [s for s in seqs.values() if s[0] == "180 Please Hold"]
    for seq in told:
        assert seq == ["180 Please Hold", "180 Ringing", "200 OK"], seq
    st = k.gwf_stats()
    # every call that met the primary was rescued, and told once
    assert st["rescued"] >= 3, st
    assert len(told) == len(primary.invites()) == st["progress_sent"], \
        (len(told), len(primary.invites()), st)


def hook_lines(k):
    return [dict(kv.split("=", 1) for kv in line.split("GWFHOOK|", 1)[1]
                 .strip().split("|"))
            for line in k.log().splitlines() if "GWFHOOK|" in line]


def test_failover_route_runs_with_the_calls_values(run, proxy):
    primary, backup = failing_and_backup(run)
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER, EXTRA_ROUTES=HOOK_ROUTE,
              MOD_PARAMS=modparams(progress_reply=PROGRESS,
                                   failure_threshold=1000,
                                   delay_base_ms=200, delay_min_ms=200,
                                   delay_max_ms=200))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=2, rate=2, timeout=20)
    assert res.rc == 0, res.output
    lines = hook_lines(k)
    assert len(lines) == 2, lines
    for h in lines:
        assert h == {"ru": "callee", "attempt": "1", "code": "503",
                     "failure": "reply", "action": "failover",
                     "delay": "200", "gw": primary.uri}, h
    # the route did not answer: progress_reply goes out after it
    for seq in replies(res).values():
        assert seq == ["180 Please Hold", "180 Ringing", "200 OK"], seq


def test_failover_route_announcement_replaces_the_provisional(run, proxy):
    """The hook answers 183 itself (as for an announcement): the caller gets
    that instead of progress_reply, before the backup's answer."""
    primary, backup = failing_and_backup(run)
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              FAILURE_BODY=FAILOVER, EXTRA_ROUTES=HOOK_ROUTE,
              MOD_PARAMS=modparams(progress_reply=PROGRESS,
                                   failure_threshold=1000))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=3, rate=5, timeout=20, service="announce")
    assert res.rc == 0, res.output
    for seq in replies(res).values():
        assert seq == ["183 Announcement", "180 Ringing", "200 OK"], seq
    assert k.gwf_stats()["progress_sent"] == 0
    assert len(hook_lines(k)) == 3


def test_announcement_does_not_stop_a_later_rescue(run, proxy):
    """A provisional the hook sent with t_reply() (which marks the
    transaction as answered by the script) does not keep the call from
    being rescued later. Each call: the first gateway fails (the hook
    answers 183), the second is silent and gets ejected, its calls are
    rescued (the hook runs again, attempt 2, failure "rescue", code 408)
    and the third answers."""
    first = harness.Gateway(run, "first", "uas_reply.xml", CODE=503,
                            REASON="Service Unavailable", EXTRA="")
    silent = harness.Gateway(run, "silent", "uas_silent.xml")
    last = harness.Gateway(run, "last", "uas_200.xml")
    k = proxy([(1, first.uri, 30), (1, silent.uri, 20), (1, last.uri, 10)],
              FR_TIMER=FR_DEFAULT, FR_INV_TIMER=120000,
              FAILURE_BODY=FAILOVER, EXTRA_ROUTES=HOOK_ROUTE,
              MOD_PARAMS=modparams(failure_threshold=1000, delay_base_ms=0))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=10, rate=10, timeout=40,
                             service="announce")
    assert res.rc == 0, res.output
    assert res.finals() == [200] * 10
    times = [ms for _, _, ms in harness.answer_times(res)]
    assert max(times) < 3000, sorted(times)[-3:]
    st = k.gwf_stats()
    assert st["rescued"] >= 3, st
    rescues = [h for h in hook_lines(k) if h["failure"] == "rescue"]
    assert len(rescues) == st["rescued"], (rescues, st)
    for h in rescues:
        assert h["gw"] == silent.uri and h["code"] == "408" \
            and h["attempt"] == "2", h


def test_kemi_failover_callback(run, kemi_proxy):
    primary, backup = failing_and_backup(run)
    k = kemi_proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
                   MOD_PARAMS=modparams(
                       progress_reply=PROGRESS, failure_threshold=1000,
                       delay_base_ms=0,
                       failover_callback="ksr_gwfailover_failover"))
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=2, rate=5, timeout=20)
    assert res.rc == 0, res.output
    for seq in replies(res).values():
        assert seq == ["180 Please Hold", "180 Ringing", "200 OK"], seq
    res = harness.run_caller(run, "caller2", "uac_call.xml", k.sip_port,
                             calls=2, rate=5, timeout=20, service="announce")
    assert res.rc == 0, res.output
    for seq in replies(res).values():
        assert seq == ["183 Announcement", "180 Ringing", "200 OK"], seq
    lines = hook_lines(k)
    assert len(lines) == 4, lines
    for h in lines:
        assert h["cb"] == "gwfailover:failover" and h["code"] == "503" \
            and h["failure"] == "reply" and h["attempt"] == "1" \
            and h["gw"] == primary.uri, h
    assert k.gwf_stats()["progress_sent"] == 2
