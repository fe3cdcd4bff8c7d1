#!/usr/bin/python3
"""Instructions per relayed call, counted by callgrind: the floor and the
module (and, with --ref-so, another build of it) side by side.

Why: figure 1 times CPU, and on this kind of VM the same build's ratio to
the floor moved between 1.027x and 1.047x from run to run. Part of that is
the machine; most is Kamailio's default shared memory manager, q_malloc,
whose free-list search is a third of a relayed call's CPU and takes as long
as the heap's history makes it: under callgrind, two instances of one build
differed by 10 % in q_malloc's instructions alone. Counted instructions
with an allocator that does not search (TLSF, `-x tlsf`) are the same from
run to run, so they show what a change to the module costs per call
exactly, where timing cannot see 1 %.

How: each configuration runs its own Kamailio (bench/sip/proxy.cfg, the
healthy scenario of figure 1: two gateways answering 200) under
`valgrind --tool=callgrind`, with its own sipp caller at --rate. Every
Kamailio is run twice, for --calls-low and --calls-high calls after the
same warm-up; instructions per call are the difference of the two runs'
totals (all processes of the instance) divided by the difference in calls,
which takes start-up and warm-up out. Both runs place their calls over the
same time (the low one at a lower rate), so what the processes do per
second whatever the load (timers, the module's once-a-second checks) is
taken out too. Per function, the same difference gives where the module's
instructions go.

Run: /usr/bin/python3 bench/sip/instructions.py [--ref-so OLD.so]
[--alloc tlsf,qm]. Prints Markdown; about 100 s per allocator.
"""

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as B  # noqa: E402

harness = B.harness
OUT = os.path.join(B.OUT_DIR, "callgrind")
WARMUP_CALLS = 100
DRAIN_S = 7.0  # tm's wait timer (5 s) and a margin: every call freed
WINDOW_S = 0.0  # the measured run's length, set by main()


def callgrind_runs(variants, alloc, calls, rate):
    """Run <variants> side by side for <calls> calls at <rate> under
    callgrind; return {variant: [callgrind output files]}."""
    work = os.path.join(OUT, "%s_%d" % (alloc, calls))
    os.makedirs(work, exist_ok=True)
    for f in glob.glob(os.path.join(work, "*")):
        os.unlink(f)
    r = harness.Run("callgrind_%s_%d" % (alloc, calls), B.LOGS_ROOT)
    spawn = r.spawn

    def under_callgrind(name, argv, env=None):
        if argv[0] == harness.KAMAILIO:
            argv = ["valgrind", "--tool=callgrind",
                    "--callgrind-out-file=%s/%s.%%p" % (work, name)] + \
                argv + ["-x", alloc]
        return spawn(name, argv, env=env)
    r.spawn = under_callgrind
    # Kamailio starts about 20 times slower under valgrind
    wait_until = harness.wait_until
    harness.wait_until = lambda fn, timeout, **kw: wait_until(
        fn, timeout * 20, **kw)
    try:
        ok1 = B.sipp_gateway(r, "gw_ok1", "gw_ok.xml")
        ok2 = B.sipp_gateway(r, "gw_ok2", "gw_ok.xml")
        P = dict((v, B.Proxy(r, "cg_" + v, v, [(ok1, 20), (ok2, 10)]))
                 for v in variants)

        def burst(tag, n):
            cs = [B.Caller(r, "c_%s_%s" % (v, tag), P[v], rate, n)
                  for v in variants]
            for c in cs:
                c.wait()
                if not c.ok():
                    raise RuntimeError("%s: sipp ok/failed/created %s"
                                       % (c.name, c.counts()))
        burst("warmup", WARMUP_CALLS)
        time.sleep(DRAIN_S)
        burst("measured", calls)
        # the same wall time for any number of calls (see the docstring)
        time.sleep(max(0.0, WINDOW_S - calls / float(rate)))
        time.sleep(DRAIN_S)
    finally:
        harness.wait_until = wait_until
        r.stop_all()
    files = dict((v, glob.glob(os.path.join(work, "cg_%s.*" % v)))
                 for v in variants)
    for v, fs in files.items():
        harness.wait_until(lambda: all(_complete(f) for f in fs), 30,
                           what="callgrind output of %s" % v)
    return files


def _complete(path):
    with open(path, errors="replace") as f:
        return any(line.startswith("totals:") for line in f)


def self_costs(path):
    """Instructions by function (self cost) in one callgrind output file,
    and the file's total."""
    names, cost, total = {}, collections.Counter(), 0
    fn, skip = None, False
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
            if m:
                if m.group(3):
                    names[m.group(2)] = m.group(3)
                if m.group(1) == "fn":
                    fn = names.get(m.group(2), m.group(2))
                continue
            if line.startswith("calls="):
                skip = True  # the next cost line is the call's, inclusive
                continue
            if line.startswith("totals:"):
                total = int(line.split()[1])
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                if skip:
                    skip = False
                    continue
                parts = line.split()
                if len(parts) >= 2 and fn is not None:
                    cost[fn] += int(parts[1])
    return cost, total


def per_call(low, high, n_low, n_high):
    """{variant: (instructions per call, Counter of per-call self cost by
    function)} from the two runs' files."""
    res = {}
    for v in low:
        a, b = collections.Counter(), collections.Counter()
        ta = tb = 0
        for f in low[v]:
            c, t = self_costs(f)
            a.update(c)
            ta += t
        for f in high[v]:
            c, t = self_costs(f)
            b.update(c)
            tb += t
        n = float(n_high - n_low)
        fns = collections.Counter(dict(
            (k, (b[k] - a[k]) / n) for k in set(a) | set(b)))
        res[v] = ((tb - ta) / n, fns)
    return res


def markdown(results, args, variants):
    L = ["Instructions per call, counted by callgrind (`bench/sip/"
         "instructions.py`): the healthy scenario of figure 1 (both "
         "gateways answer 200), each configuration in its own Kamailio, "
         "%d calls at %d calls/s and %d calls over the same time, per call "
         "= (instructions of the first run - of the second) / %d, all "
         "processes of the instance. Exact and the same "
         "from run to run with TLSF; with q_malloc (Kamailio's default) "
         "they follow the heap's history, see the script's docstring."
         % (args.calls_high, args.rate, args.calls_low,
            args.calls_high - args.calls_low), ""]
    head = "| allocator | " + " | ".join(
        B.LABEL.get(v, v) for v in variants) + " | " + " | ".join(
        "%s / floor" % B.LABEL.get(v, v) for v in variants if v != "floor")
    if "ref" in variants:
        head += " | this build / reference"
    L += [head + " |", "|" + "---|" * (head.count(" | ") + 1)]
    for alloc, res in results:
        row = "| %s | " % alloc + " | ".join(
            "%.0f" % res[v][0] for v in variants)
        row += " | " + " | ".join(
            "%.4fx" % (res[v][0] / res["floor"][0])
            for v in variants if v != "floor")
        if "ref" in variants:
            row += " | %.4fx" % (res["gwf"][0] / res["ref"][0])
        L.append(row + " |")
    L.append("")
    bases = ["floor"] + (["ref"] if "ref" in variants else [])
    for (alloc, res), base in [(r, b) for r in results for b in bases]:
        d = res["gwf"][1].copy()
        d.subtract(res[base][1])
        top = [(k, x) for k, x in d.most_common() if x >= 20][:15]
        L += ["Where gwfailover's instructions beyond the %s's go (%s; "
              "per call, self cost by function, %+.0f in all):" % (
                  B.LABEL.get(base, base), alloc,
                  res["gwf"][0] - res[base][0]), ""]
        L += ["| function | + per call |", "|---|---|"]
        L += ["| `%s` | %.0f |" % (k.split(" [")[0], x) for k, x in top]
        L.append("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alloc", default="tlsf",
                    help="allocators to count with, e.g. tlsf,qm")
    ap.add_argument("--calls-low", type=int, default=100)
    ap.add_argument("--calls-high", type=int, default=500)
    ap.add_argument("--rate", type=int, default=20)
    ap.add_argument("--ref-so", help="another build of the module")
    ap.add_argument("--json", help="also write the counts to this file")
    args = ap.parse_args()
    if subprocess.run(["which", "valgrind"],
                      capture_output=True).returncode != 0:
        print("valgrind not found: run make deps", file=sys.stderr)
        return 2
    variants = ["floor", "gwf"]
    if args.ref_so:
        B.REF_SO = os.path.abspath(args.ref_so)
        variants = ["floor", "ref", "gwf"]
    global WINDOW_S
    WINDOW_S = args.calls_high / float(args.rate)
    low_rate = max(1, int(round(args.calls_low / WINDOW_S)))
    results = []
    for alloc in args.alloc.split(","):
        B.log("callgrind, %s: %d calls" % (alloc, args.calls_low))
        low = callgrind_runs(variants, alloc, args.calls_low, low_rate)
        B.log("callgrind, %s: %d calls" % (alloc, args.calls_high))
        high = callgrind_runs(variants, alloc, args.calls_high, args.rate)
        results.append((alloc, per_call(low, high, args.calls_low,
                                        args.calls_high)))
    print(markdown(results, args, variants))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict((alloc, dict((v, res[v][0]) for v in variants))
                           for alloc, res in results), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
