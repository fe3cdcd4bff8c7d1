#!/usr/bin/python3
"""make bench: run every benchmark of bench/ and write docs/benchmarks.md.

  bench/core/run.sh      figure 5: the Kamailio-independent core alone
  bench/sip/run.py       figures 1-4, 6 and 7: gwfailover against plain
                         dispatcher failover (baselines A and B) and
                         Kamailio's floor, on 127.0.0.1
  bench/webhook_hang.py  SIP call rate with a webhook receiver that hangs

Each one that exists is run with a bounded time; the results, the machine
they ran on and a summary with a verdict per target are printed and
written to docs/benchmarks.md. Raw results and logs: bench/out/.

Usage: /usr/bin/python3 bench/run_all.py [--quick] [--no-core]
       [--no-webhook] [--doc PATH]
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
PY = sys.executable or "/usr/bin/python3"


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def sh(argv, timeout=20):
    try:
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    m = {}
    try:
        with open("/proc/cpuinfo") as f:
            names = re.findall(r"^model name\s*:\s*(.*)$", f.read(), re.M)
        m["cpu"] = names[0].strip() if names else platform.processor()
    except OSError:
        m["cpu"] = platform.processor() or "?"
    m["cores"] = os.cpu_count()
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s*(\d+)", f.read()).group(1))
        m["ram"] = "%.1f GiB" % (kb / 1048576.0)
    except (OSError, AttributeError):
        m["ram"] = "?"
    m["kernel"] = platform.release()
    try:
        with open("/etc/os-release") as f:
            m["os"] = re.search(r'^PRETTY_NAME="?([^"\n]*)', f.read(),
                                re.M).group(1)
    except (OSError, AttributeError):
        m["os"] = "?"
    virt = []
    container = sh(["systemd-detect-virt", "--container"])
    if container and container != "none":
        virt.append("container (%s)" % container)
    with open("/proc/cpuinfo") as f:
        if re.search(r"^flags\s*:.*\bhypervisor\b", f.read(), re.M):
            virt.append("virtual machine (CPU hypervisor flag)")
    m["virtualization"] = ", ".join(virt) or "none detected"
    kv = sh(["/usr/sbin/kamailio", "-v"]).splitlines()
    m["kamailio"] = kv[0].replace("version: ", "").strip() if kv else "?"
    pkg = sh(["dpkg-query", "-W", "-f=${Version}", "kamailio"])
    if pkg:
        m["kamailio"] += ", Debian package " + pkg
    sv = [line for line in sh(["/usr/bin/sipp", "-v"]).splitlines()
          if "SIPp" in line]
    m["sipp"] = sv[0].strip() if sv else "?"
    m["python"] = platform.python_version()
    commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--",
                "modules"])
    m["module"] = (commit or "?") + (" + uncommitted changes in modules/"
                                     if dirty else "")
    with open("/proc/loadavg") as f:
        m["load"] = " ".join(f.read().split()[:3])
    m["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return m


def run_step(name, argv, timeout, cwd=ROOT):
    """Run one benchmark; (rc, stdout, seconds). stderr goes through."""
    log("%s: %s" % (name, " ".join(argv)))
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=None, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        # stop it and everything it started (its own session)
        try:
            os.killpg(proc.pid, 15)
            out, _ = proc.communicate(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, 9)
            out, _ = proc.communicate(timeout=15)
        rc = "timeout after %d s" % timeout
    dt = time.monotonic() - t0
    log("%s: done in %.0f s (rc %s)" % (name, dt, rc))
    return rc, out or "", dt


# ------------------------------------------------------------------ summary

def med(xs):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2.0


def rng(xs, f="%.0f"):
    if not xs:
        return "-"
    return (f + " [" + f + "-" + f + "]") % (med(xs), min(xs), max(xs))


def rat(xs):
    return "-" if not xs else "%.3fx [%.3f-%.3f]" % (med(xs), min(xs),
                                                      max(xs))


def ok(flag):
    return "**meets**" if flag else "**misses**"


def summary(sip, core, instr=None):
    rows = []
    f1 = sip.get("fig1")
    if f1:
        c, r = f1["cells"], f1["ratios"]

        def us(k):
            return rng(c[k]["us_per_call"]) + " us" if k in c else "-"
        gb, ga = med(r["failover gwf/B"]), med(r["failover gwf/A"])
        rows.append((
            "1", "CPU per call, every call fails over (503 then backup)",
            us("failover/gwf"), us("failover/A"), us("failover/B"), "-",
            "/A %s; /B %s" % (rat(r["failover gwf/A"]),
                              rat(r["failover gwf/B"])),
            "<= 1.05x A, <= 1.0x B",
            "%s vs A (%.3fx), %s vs B (%.3fx)" % (ok(ga <= 1.05), ga,
                                                  ok(gb <= 1.0), gb)))
        rows.append((
            "1", "CPU per call, 503 outage with default thresholds",
            us("outage/gwf"), us("outage/A"), us("outage/B"), "-",
            "/A %s; /B %s" % (rat(r["outage gwf/A"]),
                              rat(r["outage gwf/B"])),
            "(what it saves)",
            "%.0f %% less CPU than A" % (100 * (1 - med(r["outage gwf/A"])))))
        gf = med(r["healthy gwf/floor"])
        rows.append((
            "1", "CPU per call, both gateways healthy",
            us("healthy/gwf"), us("healthy/A"), us("healthy/B"),
            us("healthy/floor"), "/floor %s" % rat(r["healthy gwf/floor"]),
            "<= 1.02x floor", "%s (%.3fx)" % (ok(gf <= 1.02), gf)))
    ins = (instr or {}).get("tlsf")
    if ins and ins.get("floor"):
        gi = ins["gwf"] / ins["floor"]
        rows.append((
            "1b", "instructions per call, both gateways healthy "
            "(callgrind, TLSF allocator)", "%.0f" % ins["gwf"], "-", "-",
            "%.0f" % ins["floor"], "/floor %.3fx" % gi, "<= 1.02x floor",
            "%s (%.3fx, %+.0f instructions)" % (
                ok(gi <= 1.02), gi, ins["gwf"] - ins["floor"])))
    f2 = sip.get("fig2")
    if f2:
        S = f2["searches"]
        s = dict((v, [x[v]["sustained"] for x in S]) for v in ("A", "B",
                                                              "gwf"))
        pa = [x / float(y) for x, y in zip(s["gwf"], s["A"]) if y]
        pb = [x / float(y) for x, y in zip(s["gwf"], s["B"]) if y]
        g, b = med(s["gwf"]), med(s["B"])
        rows.append((
            "2", "highest rate with 0 failed calls (every call fails over), "
            "calls/s", rng(s["gwf"]), rng(s["A"]), rng(s["B"]), "-",
            "/A %s; /B %s" % (rat(pa), rat(pb)),
            ">= B", "%s (%.0f vs %.0f)" % (ok(g >= b), g, b)))
    f3 = sip.get("fig3")
    for x in (f3 or {}).get("variants", []):
        reps, fr = x["reps"], "blackhole, fr_timer %d ms" % x["fr_timer_ms"]

        def col(v, n):
            return [r[v][n] for r in reps]
        sg, sa, sb = (med(col(v, "slow_over_1s")) for v in ("gwf", "A",
                                                             "B"))
        wg = max(col("gwf", "slow_over_1s"))
        most = f3["slow_calls_target"]
        rows.append((
            "3", fr + ": calls answered after more than 1 s",
            rng(col("gwf", "slow_over_1s")), rng(col("A", "slow_over_1s")),
            rng(col("B", "slow_over_1s")), "-",
            "/A %.2fx; /B %.2fx" % (sg / (sa or 1), sg / (sb or 1)),
            "at most %d; < B" % most,
            "%s (%d in the worst run); %s (%g vs %g)" % (
                ok(wg <= most), wg, ok(sg < sb), sg, sb)))
        # not answered: a call answered before the gateway went silent
        # whose BYE then got no answer is no call lost to failover
        fg = max(col("gwf", "not_answered"))
        rows.append((
            "3", fr + ": calls not answered (failed calls)",
            "%s (%s)" % (rng(col("gwf", "not_answered")),
                         rng(col("gwf", "failed"))),
            "%s (%s)" % (rng(col("A", "not_answered")), rng(col("A", "failed"))),
            "%s (%s)" % (rng(col("B", "not_answered")), rng(col("B", "failed"))),
            "-", "-", "0", "%s (%d in the worst run)" % (ok(fg == 0), fg)))
        ag = max(col("gwf", "invites_after_due_before_trial"))
        rows.append((
            "3", fr + ": INVITEs to the dead gateway once its ejection "
            "was due, until the half-open trial (then: trial INVITEs)",
            "%s (then %s)" % (rng(col("gwf", "invites_after_due_before_trial")),
                              rng(col("gwf", "invites_trial_time"))),
            rng(col("A", "invites_after_due_before_trial")),
            rng(col("B", "invites_after_due_before_trial")), "-", "-",
            "0 until the half-open trial", "%s (%d at most)" % (ok(ag == 0),
                                                                 ag)))
    f4 = sip.get("fig4")
    if f4:
        reps = f4["reps"]

        def col4(v):
            return [x[v]["invites_in_retry_after_window"] for x in reps]
        wg = max(col4("gwf"))
        rows.append((
            "4", "503 + Retry-After: INVITEs to the primary in its "
            "Retry-After window", rng(col4("gwf")), rng(col4("A")),
            rng(col4("B")), "-", "-", "0",
            "%s (%d at most)" % (ok(wg == 0), wg)))
    if core:
        rows.append(("5", "core alone, ns per failed attempt at N = " +
                     ", ".join(str(n) for n, _ in core["rows"]),
                     ", ".join("%g" % x for _, x in core["rows"]),
                     "-", "-", "-",
                     "largest / smallest %.2fx" % core["flat"],
                     "< 1 us and flat", core["verdict"]))
    f6 = sip.get("fig6")
    if f6:
        g = f6["calls"].get("gwf")
        if g:
            growth = g["used_after"] - g["used_before"]
            rows.append((
                "6", "shm: bytes per gateway; growth over %d calls"
                % g["calls"], "%.0f B/gateway; %+d B" % (
                    f6["bytes_per_gateway"], growth), "-", "-", "-", "-",
                "no growth", "%s (%+d bytes)" % (ok(growth <= 0 and
                                                    g["failed"] == 0),
                                                 growth)))
    f7 = sip.get("fig7")
    if f7:
        for name, tl in f7["timelines"].items():
            rw = tl["rows"]
            g, a = rw["gwf"]["failed"], rw["A"]["failed"]
            rows.append((
                "7", "timeline '%s': failed calls" % name, "%d" % g,
                "%d" % a, "%d" % rw["B"]["failed"], "-", "-",
                "<= A (within a few calls)",
                "%s (%d vs %d)" % (ok(g <= a + 5), g, a)))
    if not rows:
        return ""
    lines = ["| # | measure | gwfailover | baseline A | baseline B | floor "
             "| gwfailover ratio | target | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def parse_core(text):
    """Medians (ns/op) and instructions/op per N from the first table of
    bench/core/run.sh."""
    rows, instr = [], []
    for line in text.splitlines():
        m = re.match(r"^\|\s*(\d+)\s*\|\s*([\d.]+)\s*\([^|]*\|\s*"
                     r"([\d.]+|n/a)?", line)
        if m:
            rows.append((int(m.group(1)), float(m.group(2))))
            if m.group(3) and m.group(3) != "n/a":
                instr.append(float(m.group(3)))
        elif rows and not line.startswith("|"):
            break
    if not rows:
        return None
    vals = [x for _, x in rows]
    flat = max(vals) / min(vals) if min(vals) > 0 else float("inf")
    under = max(vals) < 1000
    text = "under 1 us: %s (largest median %.0f ns)" % (ok(under),
                                                        max(vals))
    if instr and len(instr) == len(rows):
        iflat = max(instr) / min(instr)
        text += "; flat: instructions/op %s (%.0f-%.0f, %.2fx across N)" % (
            ok(iflat <= 1.1), min(instr), max(instr), iflat)
    text += "; time %s (%.2fx from N = %d to %d%s)" % (
        ok(flat <= 1.5), flat, rows[0][0], rows[-1][0],
        ": the same instructions, but at the largest N the gateways "
        "touched at random no longer fit in the CPU's last-level cache "
        "(see the LL misses column)" if flat > 1.5 else "")
    return {"rows": rows, "flat": flat, "verdict": text}


# ------------------------------------------------------------------ notes

def analysis(sip, instr=None):
    """Why a target is met or missed, from the results and from how the
    configurations work."""
    notes = []
    ins = (instr or {}).get("tlsf")
    f1 = sip.get("fig1")
    if f1:
        r = f1["ratios"]
        rn = f1.get("ratios_no_idle", {})
        idle = f1["idle_ms_per_s"]
        gf = med(r["healthy gwf/floor"])
        gfn = med(rn.get("healthy gwf/floor", [])) if rn else float("nan")
        extra_idle = idle["healthy/gwf"] - idle["healthy/floor"]
        gan = med(rn.get("healthy gwf/A", [])) if rn else float("nan")
        afn = med(rn.get("healthy A/floor", [])) if rn else float("nan")
        notes.append(
            "- **Nothing failing (target <= 1.02x the floor): %.3fx.** "
            "The module's \"gwfailover resume\" process sleeps until a "
            "delayed call, an ejection deadline or its once-a-second "
            "dispatcher check is due (new work wakes it through a pipe), so "
            "an idle gwfailover Kamailio uses about as much CPU as the "
            "floor's (%+.2f ms per second, %+.1f us per call at %d "
            "calls/s). With the idle CPU taken out the ratio is %.3fx. What "
            "is left is per "
            "call: tm callbacks on each INVITE transaction and two small "
            "shm allocations (the per-transaction state and tm's callback "
            "record), so that a 2xx can be credited to the gateway that "
            "sent it and silence detected; gwfailover / A is %.3fx on that "
            "measure, and A (which only adds t_on_failure()) is %.3fx the "
            "floor. Baseline B pays a fixed cost (its async ms timer ticks "
            "every 10 ms) and more per call (OPTIONS probing): %.3fx the "
            "floor."
            % (gf, extra_idle, extra_idle / f1["rate"] * 1000.0, f1["rate"],
               gfn, gan, afn, med(r["healthy B/floor"])))
        if ins and ins.get("floor"):
            notes.append(
                "- **Counted instead of timed (figure 1b): %.3fx the floor, "
                "%+.0f instructions per call.** Timed ratios move by a few "
                "per cent from run to run (1.027x to 1.047x for one build "
                "on 2026-12-04): with "
                "q_malloc, Kamailio's default shared memory manager, a "
                "relayed call is about 2 million instructions, most of "
                "them q_malloc searching its free lists, as long as the "
                "heap's history makes it (two instances of one build "
                "differed by 10 %% under callgrind). With TLSF the count is "
                "the same from run to run (two copies of one build: within "
                "0.1 %%) and shows the module's own share. Most of it is "
                "tm's dispatch of the module's callbacks (six runs per "
                "call, each switching the transaction's AVP lists in and "
                "back) and two allocations per INVITE; the module's own "
                "code is about 900 instructions. The module sets a branch "
                "up after tm sent it, not in TMCB_REQUEST_FWDED, whose "
                "mere presence makes tm copy every branch's URIs "
                "(docs/benchmarks-ab.md)." % (
                    ins["gwf"] / ins["floor"], ins["gwf"] - ins["floor"]))
        notes.append(
            "- **Every call failing over: %.3fx A and %.3fx B.** Per call "
            "the module classifies the failure, updates the breaker, "
            "suspends the transaction for its delay and relays the next "
            "attempt from its resume process, all in C. B does the same "
            "steps in the script interpreter (t_check_status, ds_mark_dst, "
            "$RANDOM, async_ms_route, a resumed route that sets $du) and "
            "passes each call through an async timer process and an async "
            "worker. %s" % (
                med(r["failover gwf/A"]), med(r["failover gwf/B"]),
                "A has no delay, yet its interpreted failure route "
                "(t_check_status, ds_next_dst, t_on_failure, t_relay) costs "
                "more than the module's C path here."
                if med(r["failover gwf/A"]) < 1 else
                "A has no delay and no suspension: it relays the next "
                "attempt at once from the worker that got the 503, which "
                "is cheaper than suspending and resuming the call."))
    f2 = sip.get("fig2")
    if f2:
        S = f2["searches"]
        sus = dict((v, [x[v]["sustained"] for x in S]) for v in ("A", "B",
                                                                "gwf"))
        busy = []
        for x in S:
            for v in ("A", "B", "gwf"):
                ok_steps = [st for st in x[v]["steps"] if st["ok"]]
                if ok_steps:
                    best = max(ok_steps, key=lambda st: st["rate"])
                    busy.append(best["with_sipp_cores"])
        always = all(x["gwf"]["sustained"] >= x["B"]["sustained"] for x in S)
        never = all(x["gwf"]["sustained"] < x["B"]["sustained"] for x in S)
        if always:
            cmp = ("In every ladder (%d) gwfailover reached at least B's "
                   "rung; its CPU per failover call is lower too (figure 1)"
                   % len(S))
        elif never:
            cmp = ("In every ladder (%d) gwfailover stopped below B's rung"
                   % len(S))
        else:
            cmp = ("The order changed from ladder to ladder: the "
                   "differences are within the noise of this shared "
                   "machine")
        if not any(x[v]["first_fail"] for x in S for v in x):
            notes.append("- **Highest sustained rate:** no configuration "
                         "failed up to the top rung (%g calls/s)."
                         % max(f2.get("rates", [0])))
        else:
            notes.append(
                "- **Highest sustained rate: %.0f vs B %.0f and A %.0f calls/s "
                "(medians).** Every call fails over here: two INVITE "
                "transactions and a delayed re-forward per call. The ladders "
                "end where Kamailio falls behind and the kernel drops datagrams "
                "at its socket; at the highest passing rungs Kamailio and the "
                "three sipp processes together kept %.1f-%.1f of the machine's "
                "%d cores busy (Kamailio about 1). %s. The rungs are %.0f %% "
                "apart, and the same configuration's limit moved by up to a "
                "rung or two between runs of this benchmark on this VM." % (
                    med(sus["gwf"]), med(sus["B"]), med(sus["A"]),
                    min(busy or [0]), max(busy or [0]), os.cpu_count() or 0,
                    cmp, (f2.get("factor", 1.2) - 1) * 100))
    f3 = sip.get("fig3")
    if f3:
        per_fr, first = [], []
        for x in f3["variants"]:
            reps = x["reps"]

            def col(v, n):
                return [r[v][n] for r in reps]
            per_fr.append("fr_timer %d ms: %g vs B %g over 1 s, %g not "
                          "answered" % (
                x["fr_timer_ms"], med(col("gwf", "slow_over_1s")),
                med(col("B", "slow_over_1s")), max(col("gwf", "not_answered"))))
            first.append("at %d ms %g waited fr_timer and %g failed" % (
                x["fr_timer_ms"], med(col("gwf", "waited_fr_timer")),
                max(col("gwf", "failed"))))
        notes.append(
            "- **Blackhole (targets: at most %d calls over 1 s and 0 calls "
            "not answered at every fr_timer, fewer calls over 1 s than B): %s "
            "(gwfailover; not answered: the worst run).** B learns that a gateway "
            "is silent only from tm's fr_timer: every call sent to it before "
            "the %d-th timeout - about rate x fr_timer calls - waits "
            "fr_timer before it can fail over, 30 s at Kamailio's default. "
            "The module also counts the INVITEs a gateway has not replied "
            "to at all (not even 100 Trying): 3 of them, the oldest 1 s old "
            "(silence_ms, silence_invites), eject it without waiting for "
            "any timeout, so only the calls sent to it in that first second "
            "are at stake: of gwfailover's calls, %s. A lower silence_ms "
            "shortens that second further. In an outage longer than "
            "eject_time_s (30 s) the module lets one real call through as "
            "a half-open trial every 30 s (the trial INVITEs in figure 3), "
            "while B tests the inactive gateway with OPTIONS only." % (
                f3["slow_calls_target"], "; ".join(per_fr),
                f3["threshold"], ", ".join(first)))
    f4 = sip.get("fig4")
    if f4:
        notes.append(
            "- **503 with Retry-After.** The module ejects the gateway on "
            "the first 503 that carries Retry-After, for that time; B does "
            "not read Retry-After and keeps sending until "
            "ds_probing_threshold failures have made the gateway inactive; "
            "A never stops.")
    return "\n".join(notes)


# ------------------------------------------------------------------ doc

def configurations():
    return """\
All four run the same proxy skeleton, `bench/sip/proxy.cfg`: UDP on
127.0.0.1, `children=4`, `maxbuffer` 4 MB (socket receive buffer; with the
default 256 KB short bursts overflow it at a few thousand calls/s), tm
`fr_timer` 2000 ms (figure 3 also 30000 ms, Kamailio's default),
`fr_inv_timer` 30000 ms, record-routing,
`ds_select_dst("1", "8")` over a set of two gateways (primary priority 20,
backup priority 10, dispatcher `flags` 2), `-m 1024` MB of shared memory.
Each includes one file that adds only its failover logic:

- **floor** (`bench/sip/floor.cfg`): no failure route; Kamailio's own cost
  of relaying a call through the dispatcher.
- **baseline A** (`bench/sip/baseline_a.cfg`): plain `ds_next_dst()` in
  `failure_route` on 408 (including tm's own timeout) or any 5xx, at once.
- **baseline B** (`bench/sip/baseline_b.cfg`): A plus `ds_mark_dst("tp")`
  with `ds_probing_threshold` 5 (inactive after 5 failures), OPTIONS
  probing of every gateway every 10 s (`ds_probing_mode` 1), and a random
  delay of 1-100 ms before the next gateway with `async_ms_route()` (core
  `async_workers=2`, async `ms_timer` 10).
- **gwfailover** (`bench/sip/gwfailover.cfg`): `gwf_failover()` in
  `failure_route`, default parameters: `failure_threshold` 5,
  `eject_time_s` 30, first delay 0-100 ms (`delay_base_ms` 100, full
  jitter), silence detection on (`silence_ms` 1000, `silence_invites`
  3).

Where every call has to fail over (figures 1, 2, 6), ejection is kept off
in B (`ds_probing_threshold` 1000000) and in the module
(`failure_threshold` 1000, the highest, with the primary's count cleared by
`gwfailover.reset` RPC every second or more often, and `silence_ms` 0: at
the top of figure 2 an overloaded sipp gateway can leave INVITEs without
any reply for over a second, which the module would rightly call silent),
so each call costs one
503 and one delayed re-forward. In the 503 outage with default thresholds
the failing gateway still answers OPTIONS with 200 (its SIP stack is up,
its trunk is not), so B's probing puts it back in service every 10 s and
five more calls fail over each time; the module lets one trial call through
every 30 s. Gateways: sipp (`bench/sip/gw_ok.xml`,
`gw_503.xml`, OPTIONS answered with `-aa`, 4 MB socket buffers) for
figures 1, 2 and 6; for
figures 3 and 4 a small scriptable gateway in the driver
(`bench/sip/pygw.py`) that changes behaviour mid-run and records the arrival
time of every INVITE. Callers: sipp (`bench/sip/uac.xml`, INVITE, 200,
ACK, BYE); a call counts only if sipp completes it; answer times come from
sipp's `-trace_rtt` (whole milliseconds), one row per answered call, checked
against sipp's count of successful calls."""


def method():
    return """\
- **CPU**: the sum over every process of the Kamailio process group
  (`/proc/<pid>/stat` lists the group), read from
  `/proc/<pid>/schedstat` (run time in ns: the counter that utime+stime of
  `/proc/<pid>/stat` are scaled to, without its 10 ms rounding per process);
  `bench/out/sip.json` also has the utime+stime figures. A window runs from
  the first call until 6 s after the last one (tm's `wait_timer`, 5 s, has
  freed the transactions), minus the instance's idle CPU rate for those 6 s.
- **Same time, not one after the other**: on this VM, one configuration run
  several times in a row varied by up to 10 %, while two identical
  configurations measured at the same time agreed within about 1 %. So the
  configurations of a row of figure 1 run simultaneously (own Kamailio, own
  caller, same rate, shared gateways), rounds alternate the rows and rotate
  the start order, and ratios are taken within a round. The absolute
  microseconds per call move with the load on the host (between runs of
  `make bench` on this VM by up to 1.7x, all configurations alike); the
  ratios moved by a few percent. Figures 3 and 4 run
  A, B and gwfailover simultaneously too (own gateways each). Figure 2 runs
  one configuration at a time, alternating A, B, gwfailover at each step.
- Every process is on 127.0.0.1, started in its own session and stopped by
  PID (SIGTERM, then SIGKILL of its process group); every wait is bounded.
  Each instance handles warm-up calls first (shared-memory pages touched,
  gateways learnt)."""


def write_doc(path, m, sip_md, sip, core_out, core, wh_out, wh_rc, times,
              problems, instr_out="", instr=None):
    L = ["# Benchmarks", "",
         "gwfailover against plain dispatcher failover, side by side, on the "
         "same machine and in the same run. Generated by `make bench` "
         "(`bench/run_all.py`) on %s; do not edit by hand - run "
         "`make bench` again to refresh it. Raw results and logs of the "
         "last run: `bench/out/` (`sip.json`, `sip/`)." % m["date"], "",
         "Two questions: what does the module cost per call, and what does "
         "it save during an outage.", "",
         "Run it with `make bench` (not part of `make test`; about 15 "
         "minutes on the machine below). Parts: `/usr/bin/python3 "
         "bench/sip/run.py` (figures 1-4, 6 and 7; `--only 1,7` runs some of "
         "them, `--quick` a short check), `bench/sip/instructions.py` "
         "(figure 1b, instructions counted by callgrind), "
         "`bench/core/run.sh` (figure 5), "
         "`/usr/bin/python3 bench/webhook_hang.py`. A change to the "
         "module's per-call cost is measured against the build before it "
         "with `bench/sip/run.py --only 1 --ref-so OLD.so`: both builds "
         "and the floor run side by side in one run (docs/benchmarks-ab.md "
         "has the method and the runs so far).", "",
         "## Machine", "",
         "| | |", "|---|---|",
         "| CPU | %s |" % m["cpu"],
         "| cores | %s |" % m["cores"],
         "| RAM | %s |" % m["ram"],
         "| virtualization | %s |" % m["virtualization"],
         "| OS, kernel | %s, Linux %s |" % (m["os"], m["kernel"]),
         "| Kamailio | %s |" % m["kamailio"],
         "| sipp | %s |" % m["sipp"],
         "| Python | %s |" % m["python"],
         "| module | gwfailover at commit %s |" % m["module"],
         "| load average at start | %s |" % m["load"],
         "| date | %s |" % m["date"],
         "| duration | %s |" % ", ".join("%s %.0f s" % kv for kv in times),
         ""]
    if problems:
        L += ["**Problems in this run:** " + "; ".join(problems), ""]
    summ = summary(sip, core, instr)
    if summ:
        L += ["## Summary", "",
              "Medians over the repetitions [min-max]; ratios are "
              "gwfailover / baseline (below 1: gwfailover is cheaper or "
              "fewer). Details, method and every figure below.", "",
              summ, ""]
    notes = analysis(sip, instr)
    if notes:
        L += ["## Where the module meets or misses its targets, and why",
              "", notes, ""]
    L += ["## Configurations compared", "", configurations(), "",
          "## Method", "", method(), "",
          "## Results", ""]
    head, tail = sip_md, ""
    if "### 6." in sip_md:
        head, tail = sip_md.split("### 6.", 1)
        tail = "### 6." + tail
    if head.strip():
        L += [head.strip(), ""]
    L += ["### 1b. Instructions per call (`bench/sip/instructions.py`)", ""]
    L += [instr_out.strip() if instr_out.strip() else
          "bench/sip/instructions.py did not run or printed nothing.", ""]
    L += ["### 5. Core alone (`bench/core/run.sh`)", ""]
    L += [core_out.strip() if core_out.strip() else
          "bench/core/run.sh did not run or printed nothing.", ""]
    if core:
        L += ["- Target under 1 us and flat: " + core["verdict"] + ".", ""]
    if tail.strip():
        L += [tail.strip(), ""]
    L += ["### Webhook receiver that hangs (`bench/webhook_hang.py`)", ""]
    if wh_out.strip():
        L += ["```", wh_out.strip(), "```", ""]
        if wh_rc not in (0, None):
            L += ["(exit status %s)" % wh_rc, ""]
    else:
        L += ["bench/webhook_hang.py did not run.", ""]
    text = "\n".join(L).rstrip() + "\n"
    with open(path, "w") as f:
        f.write(text)
    return text


def render_only(args, saved):
    if not os.path.exists(saved):
        sys.exit("no results in %s: run make bench first" % saved)
    with open(saved) as f:
        r = json.load(f)
    sip = {}
    sip_json = os.path.join(OUT, "sip.json")
    if os.path.exists(sip_json):
        with open(sip_json) as f:
            sip = json.load(f)
    sys.path.insert(0, os.path.join(BENCH, "sip"))
    import run as sip_run  # noqa: E402 - bench/sip/run.py
    sip_md = sip_run.markdown(sip) if sip else ""
    text = write_doc(args.doc, r["machine"], sip_md, sip, r["core_out"],
                     parse_core(r["core_out"]), r["wh_out"], r["wh_rc"],
                     [tuple(t) for t in r["times"]], r["problems"],
                     r.get("instr_out", ""), r.get("instr"))
    print(text)
    log("wrote %s from the results in %s" % (
        os.path.relpath(args.doc, ROOT), os.path.relpath(OUT, ROOT)))
    return 1 if r["problems"] else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="short runs (checks that everything works)")
    ap.add_argument("--no-core", action="store_true")
    ap.add_argument("--no-webhook", action="store_true")
    ap.add_argument("--no-sip", action="store_true")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs",
                                                  "benchmarks.md"))
    ap.add_argument("--render-only", action="store_true",
                    help="run nothing: write the doc again from the results "
                    "of the last run in bench/out/ (after editing the "
                    "report code)")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    saved = os.path.join(OUT, "run_all.json")
    if args.render_only:
        return render_only(args, saved)
    started = time.monotonic()
    m = machine()
    log("machine: %s, %s cores, %s, Linux %s, %s" % (
        m["cpu"], m["cores"], m["ram"], m["kernel"], m["kamailio"]))
    times, problems = [], []

    core_out, core = "", None
    core_sh = os.path.join(BENCH, "core", "run.sh")
    if not args.no_core and os.path.exists(core_sh):
        rc, core_out, dt = run_step("core", ["bash", core_sh], 300)
        times.append(("core", dt))
        if rc != 0:
            problems.append("bench/core/run.sh exit status %s" % rc)
        core = parse_core(core_out)

    sip, sip_md = {}, ""
    sip_json = os.path.join(OUT, "sip.json")
    sip_mdf = os.path.join(OUT, "sip.md")
    if not args.no_sip:
        for path in (sip_json, sip_mdf):
            if os.path.exists(path):
                os.unlink(path)
        argv = [PY, os.path.join(BENCH, "sip", "run.py"), "--json",
                sip_json, "--markdown", sip_mdf]
        if args.quick:
            argv.append("--quick")
        # about 840 s on the 2-core VM of docs/benchmarks.md (figure 3 at
        # fr_timer 30 s included); room for a slower machine
        rc, _, dt = run_step("sip", argv, 1300)
        times.append(("sip", dt))
        if rc != 0:
            problems.append("bench/sip/run.py exit status %s" % rc)
        if os.path.exists(sip_json):
            with open(sip_json) as f:
                sip = json.load(f)
            with open(sip_mdf) as f:
                sip_md = f.read()
            if sip.get("fig1", {}).get("problems"):
                problems += sip["fig1"]["problems"]
            problems += sip.get("problems", [])
            if sip.get("bad_log"):
                problems.append("Kamailio logged errors: %s"
                                % json.dumps(sip["bad_log"])[:500])

    # figure 1b: counted instructions, the noise-free side of figure 1
    instr_out, instr = "", None
    instr_json = os.path.join(OUT, "instructions.json")
    if not args.no_sip:
        if os.path.exists(instr_json):
            os.unlink(instr_json)
        argv = [PY, os.path.join(BENCH, "sip", "instructions.py"), "--json",
                instr_json]
        if args.quick:
            argv += ["--calls-low", "20", "--calls-high", "100"]
        rc, instr_out, dt = run_step("instructions", argv, 600)
        times.append(("instructions", dt))
        if rc != 0:
            problems.append("bench/sip/instructions.py exit status %s" % rc)
        if os.path.exists(instr_json):
            with open(instr_json) as f:
                instr = json.load(f)

    wh_out, wh_rc = "", None
    wh = os.path.join(BENCH, "webhook_hang.py")
    if not args.no_webhook and os.path.exists(wh):
        argv = [PY, wh]
        if args.quick:
            argv += ["--calls", "2000"]
        wh_rc, wh_out, dt = run_step("webhook", argv, 240)
        times.append(("webhook", dt))
        if wh_rc != 0:
            problems.append("bench/webhook_hang.py exit status %s" % wh_rc)

    times.append(("total", time.monotonic() - started))
    with open(saved, "w") as f:
        json.dump({"machine": m, "core_out": core_out, "wh_out": wh_out,
                   "wh_rc": wh_rc, "times": times, "problems": problems,
                   "instr_out": instr_out, "instr": instr},
                  f, indent=1)
    text = write_doc(args.doc, m, sip_md, sip, core_out, core, wh_out,
                     wh_rc, times, problems, instr_out, instr)
    print(text)
    log("wrote %s in %.0f s" % (os.path.relpath(args.doc, ROOT),
                                time.monotonic() - started))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
