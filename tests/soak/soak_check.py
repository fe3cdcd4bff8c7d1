"""The soak's oracle: what every call, every counter, the resources and
every gateway's final state must look like, given what the gateways, the
caller and the webhook listener saw. Each check returns a list of failures
(strings); an empty list is a pass."""

import re
import time

import harness

CANCEL_KINDS = ("cancel_early", "cancel_ringing", "cancel_late")
CALLEE_CODES = {"busy": 486, "notfound": 404, "decline": 603}
# shared memory allowed to stay in use after the soak: dispatcher keeps the
# list it loaded last (gw5 in or out), tm and the core keep free lists
SHM_MARGIN = 256 * 1024


class SoakFailure(Exception):
    pass


class History:
    """What the timeline did, per gateway, to explain its final state."""

    def __init__(self):
        self.modes = {}      # name -> [(t, mode, retry_after)]
        self.manual = {}     # uri -> [(t, "eject", secs) | (t, "restore")]
        self.reloads = []    # (t, uri, present)

    def mode(self, name, mode, ra=None):
        self.modes.setdefault(name, []).append((time.monotonic(), mode, ra))

    def eject(self, uri, secs):
        self.manual.setdefault(uri, []).append((time.monotonic(), "eject",
                                                secs))

    def restore(self, uri):
        self.manual.setdefault(uri, []).append((time.monotonic(), "restore",
                                                None))

    def reload(self, uri, present):
        self.reloads.append((time.monotonic(), uri, present))

    def had(self, name, mode):
        return any(m == mode for _, m, _ in self.modes.get(name, []))


def _gw_view(gws):
    """call_id -> [gateway Record] over every gateway."""
    out = {}
    for gw in gws:
        for rec in gw.snapshot():
            out.setdefault(rec.call_id, []).append(rec)
    return out


def _call_failure(c, recs):
    """Why call <c> (soak_uac.Call) is wrong given the gateways' records
    <recs> of it, or None."""
    gw_ok = [r for r in recs if r.final is not None and 200 <= r.final < 300]
    gw_callee = [r for r in recs if r.final in (486, 404, 603)]
    if c.final is None:
        return "no final reply (kind %s, replies %s, gateways %s)" % (
            c.kind, [code for _, code in c.replies[:8]],
            [(r.branch[-6:], r.final) for r in recs])
    if c.oks and not gw_ok:
        return "2xx at the caller that no gateway sent"
    if gw_ok and not c.oks:
        # a 2xx a gateway sent must reach the caller, cancelled or not
        return "a gateway answered 200 but the caller got %d" % c.final
    if c.oks:
        return None
    cancelled = c.cancel_t is not None
    if cancelled and c.cancel_code == 200 and c.final != 487 \
            and c.final_t is not None and c.cancel_code_t is not None \
            and c.final_t > c.cancel_code_t + 0.005:
        # the proxy took the CANCEL (200) before it answered the INVITE:
        # the INVITE must end 487 (or 2xx, above)
        if not gw_callee or gw_callee[0].final_t is None:
            return "cancelled (CANCEL answered 200) but final %d, not 487" \
                % c.final
    if c.kind in CALLEE_CODES and not cancelled and gw_callee:
        want = gw_callee[0].final
        if c.final != want:
            return "callee answered %d but the caller got %d" % (want,
                                                                c.final)
    if c.final < 300:
        return "final %d is no final failure" % c.final
    if c.final > 699:
        return "final %d is no SIP response code" % c.final
    return None


def calls(caller, gws):
    view = _gw_view(gws)
    out = []
    for c in caller.order:
        why = _call_failure(c, view.get(c.call_id, []))
        if why:
            out.append("call %s: %s" % (c.call_id, why))
    if caller.started != caller.total:
        out.append("only %d of %d calls placed" % (caller.started,
                                                   caller.total))
    return out


def final_calls(caller):
    return ["after the chaos, call %s: final %s, not 2xx" % (c.call_id,
                                                             c.final)
            for c in caller.order if c.final is None or c.final >= 300]


def settle(s):
    """Wait until no gateway is ejected unless the timeline explains a
    long ejection (a Retry-After) - at most eject_time_max_s and a bit."""
    # eject_time_max_s is ten times eject_time_s (its default), plus a
    # trial call's time
    deadline = time.monotonic() + 10 * s.eject_time_s + 8

    def open_ones():
        gws = s.k.rpc_value("gwfailover.list")["gateways"]
        return [g for g in gws if g["state"] == "open"
                and "Retry-After" not in g["reason"]]
    while time.monotonic() < deadline and open_ones():
        time.sleep(0.5)


def resources(s, before, after):
    out = []
    grew = after["shm_used"] - before["shm_used"]
    if grew > SHM_MARGIN:
        out.append("shared memory in use grew by %d bytes (%d -> %d)"
                   % (grew, before["shm_used"], after["shm_used"]))
    if set(before["fds"]) != set(after["fds"]):
        out.append("Kamailio processes changed: %s -> %s"
                   % (sorted(before["fds"]), sorted(after["fds"])))
    for pid, n in sorted(before["fds"].items()):
        m = after["fds"].get(pid)
        if m is not None and m > n:
            out.append("process %d (%s): file descriptors %d -> %d: %s -> %s"
                       % (pid, after["names"].get(pid, "?"), n, m,
                          before["fd_targets"].get(pid),
                          after["fd_targets"].get(pid)))
    if not s.k.alive():
        out.append("kamailio does not answer RPC any more")
    return out


def _delta(after, before, name):
    return after.get(name, 0) - before.get(name, 0)


def counters(s, stats_before, runner):
    out = []
    st = s.k.gwf_stats()
    s.stats_after = st
    callers = [s.caller, s.final]
    # every INVITE the proxy sent reached a gateway's socket (a dead one's
    # too: its kernel queued them), once per branch
    logged = sum(len(gw.snapshot()) for gw in s.gws)
    no_gw = sum(1 for caller in callers for c in caller.order
                if c.final == 503 and (c.final_reason or "") == "No gateway")
    # A CANCEL that overtakes the first relay, once tm has the transaction
    # and before its first branch: tm answers 487 "Request canceled"
    # itself, t_relay() refuses the call (no INVITE leaves) and the
    # example's sl_reply_error() answers 487 "Transaction canceled";
    # the caller sees whichever came first.
    seen = set(rec.call_id for gw in s.gws for rec in gw.snapshot())
    unrelayed = sum(1 for caller in callers for c in caller.order
                    if c.final == 487 and c.cancel_t is not None
                    and c.call_id not in seen)
    placed = sum(c.started for c in callers)
    first = placed - no_gw - unrelayed
    # the warm-up's INVITEs: before stats_before
    warm = s.warm_invites
    forwards = first + _delta(st, stats_before, "failovers") + \
        _delta(st, stats_before, "retries")
    # A gateway playing dead reads nothing: what its socket's buffer cannot
    # hold (INVITEs and tm's retransmissions of them) the kernel drops, and
    # a branch whose every copy was dropped is never seen. Each such branch
    # is at least one drop, so the drops bound what may be missing.
    drops_now = harness.udp_drops_by_port()
    drops = sum(drops_now.get(gw.port, 0) for gw in s.gws)
    s.gw_drops = drops
    if not forwards - drops <= logged - warm <= forwards:
        lost = [c for caller in callers for c in caller.order
                if c.call_id not in seen and c.final is not None
                and not (c.final == 503 and c.final_reason == "No gateway")
                and not (c.final == 487 and c.cancel_t is not None)]
        out.append("routed calls no gateway saw: %s" % "; ".join(
            "%s %s %d %s" % (c.call_id, c.kind, c.final, c.final_reason)
            for c in lost[:8]) if lost else "every routed call reached a"
            " gateway")
        out.append("INVITE branches the gateways received (%d) differ from"
                   " the proxy's forwards (%d calls routed + %d failovers"
                   " + %d retries), by more than the %d datagrams the"
                   " gateways' sockets dropped" % (
                       logged - warm, first,
                       _delta(st, stats_before, "failovers"),
                       _delta(st, stats_before, "retries"), drops))
    answered = sum(1 for c in s.caller.order if c.oks)
    gw_answered = len(set(rec.call_id for gw in s.gws
                          for rec in gw.snapshot()
                          if rec.final is not None and rec.final < 300
                          and not rec.call_id.startswith("warm")
                          and not rec.call_id.startswith("final")))
    if answered != gw_answered:
        out.append("calls answered at the caller (%d) differ from calls a"
                   " gateway answered (%d)" % (answered, gw_answered))
    cancels = sum(1 for c in s.caller.order if c.cancel_t is not None)
    if _delta(st, stats_before, "canceled") > cancels:
        out.append("canceled counter %d > CANCELs the caller sent %d"
                   % (_delta(st, stats_before, "canceled"), cancels))
    # rescues: the counters against the NOTICE logged per ejection (a
    # rescued call itself is checked by its outcome: a gateway that
    # answers a moment after its ejection still gets its 200 through)
    log = s.k.log()
    for name, pat in (("rescued", r"ejected: (\d+) calls? in flight rescued"),
                      ("rescue_kept", r"ejected with (\d+) calls? in flight:"
                                      r" not rescued")):
        logged_n = sum(int(n) for n in re.findall(pat, log))
        if logged_n != _delta(st, stats_before, name):
            out.append("%s counter %d, but the log reports %d"
                       % (name, _delta(st, stats_before, name), logged_n))
    # webhooks: what the module counts as delivered, the listener answered
    # 200 (one more per time it went away, at most: the answer may have
    # been cut off)
    harness.wait_until(
        lambda: s.k.rpc_value("gwfailover.webhook_status").get("queued",
                                                                0) == 0,
        30, step=0.5, what="webhook queue to drain")
    st = s.k.gwf_stats()
    s.stats_after = st
    sent = _delta(st, stats_before, "webhook_sent")
    got = s.listener_answered + sum(
        1 for r in s.listener.requests if r.status == 200) - s.warm_hooks
    s.webhook_got = got
    if not (sent <= got <= sent + s.listener_stops):
        out.append("webhooks: module counts %d delivered, the listener"
                   " answered %d (went away %d times)"
                   % (sent, got, s.listener_stops))
    for e in runner.errors:
        out.append("timeline: " + e)
    return out


def states(s, runner):
    """Every gateway's state agrees with the dispatcher and is one the
    timeline explains."""
    out = []
    gws = s.k.rpc_value("gwfailover.list")["gateways"]
    flags = s.k.dispatcher_flags()
    for g in gws:
        uri, state = g["uri"], g["state"]
        f = flags.get(uri)
        if f is None:
            if uri == s.gws[4].uri and not runner.extra_in:
                continue  # dropped by the last reload
            out.append("%s (%s) not in dispatcher.list" % (uri, state))
            continue
        if state == "closed" and not f.startswith("A"):
            out.append("%s closed but dispatcher flags %s" % (uri, f))
        if state == "open" and not f.startswith("I"):
            out.append("%s open but dispatcher flags %s" % (uri, f))
        if state == "open" and "Retry-After" not in g["reason"]:
            out.append("%s still open (%s) after every gateway recovered"
                       % (uri, g["reason"]))
        if state == "open" and "Retry-After" in g["reason"]:
            name = next(gw.gname for gw in s.gws if gw.uri == uri)
            if not s.history.had(name, "503ra"):
                out.append("%s open for a Retry-After it never sent (%s)"
                           % (uri, g["reason"]))
    return out


def summary(s, runner, before, after, stats_before):
    st = s.stats_after
    outcome = {}
    for c in s.caller.order:
        key = "2xx" if c.oks else str(c.final)
        outcome[key] = outcome.get(key, 0) + 1
    kinds = {}
    for c in s.caller.order:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    lines = ["soak summary (seed %d):" % s.seed,
             "  calls: %d placed; kinds %s" % (
                 s.caller.started, ", ".join(
                     "%s %d" % kv for kv in sorted(kinds.items()))),
             "  outcomes: %s" % ", ".join(
                 "%s %d" % kv for kv in sorted(outcome.items())),
             "  after the chaos: %d of %d calls answered" % (
                 sum(1 for c in s.final.order if c.oks), s.final.started),
             "  gateways: %s" % "; ".join(
                 "%s %d INVITEs, %d restarts" % (gw.gname,
                                                 len(gw.snapshot()),
                                                 gw.restarts)
                 for gw in s.gws) + "; %s datagrams dropped at their"
             " sockets" % getattr(s, "gw_drops", "?"),
             "  module: " + ", ".join(
                 "%s %d" % (n, _delta(st, stats_before, n)) for n in (
                     "ejections", "half_opens", "restorations", "failovers",
                     "retries", "delayed", "rescued", "rescue_kept",
                     "ejections_refused", "exhausted_gateways",
                     "exhausted_attempts", "exhausted_budget", "canceled",
                     "errors")),
             "  timeline: %d events played; RPC %s; RPC faults %s" % (
                 runner.played, ", ".join(
                     "%s %d" % kv for kv in sorted(s.rpc_ops.items())),
                 sum(s.rpc_faults.values())),
             "  webhooks: %d delivered (listener answered %d, went away %d"
             " times), %d retried, %d failed, %d dropped" % (
                 _delta(st, stats_before, "webhook_sent"), s.webhook_got,
                 s.listener_stops, _delta(st, stats_before,
                                          "webhook_retried"),
                 _delta(st, stats_before, "webhook_failed"),
                 _delta(st, stats_before, "webhook_dropped")),
             "  shm used: %d before, %d after (%+d bytes)" % (
                 before["shm_used"], after["shm_used"],
                 after["shm_used"] - before["shm_used"]),
             "  fds: %d before, %d after (%d processes)" % (
                 sum(before["fds"].values()), sum(after["fds"].values()),
                 len(after["fds"]))]
    return "\n".join(lines)
