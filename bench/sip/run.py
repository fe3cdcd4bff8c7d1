#!/usr/bin/python3
"""SIP benchmarks (issue 6): gwfailover against plain dispatcher failover,
side by side, on the same machine and in the same run.

Four proxy configurations, one skeleton (bench/sip/proxy.cfg) that includes
one of:
  floor       no failover logic (Kamailio's own cost of relaying a call)
  A           baseline A: ds_next_dst() in failure_route on 408/5xx
  B           baseline B: A + ds_mark_dst("tp") with ds_probing_threshold,
              OPTIONS probing, random 1..100 ms delay via async_ms_route()
  gwf         the gwfailover module (default delays: 0..100 ms)

Figures (see docs/benchmarks.md for what each one means):
  1  Kamailio CPU per call, from /proc: sum over every process of the
     Kamailio process group. (a) every call fails over (primary answers
     503, ejection kept off), (b) 503 outage with default thresholds
     (ejection on), (c) both gateways healthy. The configurations of a
     scenario run at the same time (own Kamailio and caller each); rounds
     alternate the scenarios and the start order; medians and spread over
     the rounds.
  2  highest call rate with zero failed calls, every call failing over,
     found by stepping the rate up, then bisecting.
  3  blackhole: the primary stops answering mid-run, with tm's fr_timer
     at 2 s and at 30 s (Kamailio's default), one after the other
     (--fr3). At 20 calls/s, 300 calls: --only 3 --rate34 20 --outage-s 13.
  4  503 storm with Retry-After.
  6  shared memory: bytes per gateway slot; shm in use before and after
     20,000 calls.
  7  outage timelines (do no harm): both gateways failing briefly, a dead
     primary with a briefly failing backup, a flapping primary; failed
     calls and recovery time against plain ds_next_dst() failover.

Everything runs on 127.0.0.1. Each process is started in its own session,
recorded, and stopped by PID (SIGTERM, then SIGKILL of its process group);
every wait is bounded. Logs go to bench/out/sip/ (kept).

Usage: /usr/bin/python3 bench/sip/run.py [--quick] [--json F] [--markdown F]
       [--only 1,2,3,4,6,7] [--fr3 2000:3,30000:2]
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from pygw import PyGateway  # noqa: E402

OUT_DIR = os.path.join(BENCH, "out")
LOGS_ROOT = os.path.join(OUT_DIR, "sip")

VARIANT_FILES = {"floor": "floor.cfg", "A": "baseline_a.cfg",
                 "B": "baseline_b.cfg", "gwf": "gwfailover.cfg",
                 "ref": "gwfailover.cfg"}
LABEL = {"floor": "floor", "A": "baseline A", "B": "baseline B",
         "gwf": "gwfailover", "ref": "gwfailover (--ref-so)"}
REF_SO = None  # --ref-so: another build of the module, for A/B runs
CLK_TCK = os.sysconf("SC_CLK_TCK")

FR_TIMER_MS = 2000     # tm fr_timer, unless a Proxy is given another
CHILDREN = 4           # SIP workers, all configurations
THRESHOLD = 5          # failure_threshold = ds_probing_threshold
GWF_NO_EJECT = 1000    # highest failure_threshold; reset by RPC meanwhile
DS_NO_EJECT = 1000000  # ds_probing_threshold that is never reached
SIPP_BUFF = 4194304    # sipp socket buffers (the kernel caps at rmem_max)
EJECT_TIME_S = 30      # gwfailover eject_time_s (gwfailover.cfg)
ANSWER_MARGIN_MS = 10000  # caller's wait for an answer beyond one fr_timer
SLOW_CALLS_TARGET = 2  # figure 3: "at most a couple of calls over 1 s"
DRAIN_S = 6.0          # tm wait_timer (5 s) + margin: transactions freed


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# ------------------------------------------------------------------ /proc

def cpu_of(pids):
    """(stat_s, sched_s): CPU time of the processes, in seconds.

    stat_s sums utime+stime from /proc/<pid>/stat (clock ticks, 10 ms).
    sched_s sums the first field of /proc/<pid>/schedstat: the same kernel
    counter (sum_exec_runtime, which utime+stime are scaled to) in
    nanoseconds; None if the kernel has no schedstat. A process that is gone
    counts 0 (none is expected to exit while measured)."""
    ticks, ns, have_sched = 0, 0, True
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
        try:
            with open("/proc/%d/schedstat" % pid) as f:
                ns += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            have_sched = False
    return ticks / float(CLK_TCK), (ns / 1e9 if have_sched else None)


class Cpu:
    """A CPU sample of one Kamailio: both counters and the time taken."""

    def __init__(self, pids):
        self.t = time.monotonic()
        self.stat, self.sched = cpu_of(pids)

    def minus(self, other):
        """CPU seconds between two samples: schedstat when available (ns
        resolution), else /proc/<pid>/stat."""
        if self.sched is not None and other.sched is not None:
            return self.sched - other.sched
        return self.stat - other.stat

    def minus_stat(self, other):
        return self.stat - other.stat


def udp_rcvbuf_errors():
    """Datagrams the kernel dropped because a socket's receive buffer was
    full (all sockets of the machine: /proc/net/snmp, Udp RcvbufErrors)."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, IndexError, ValueError):
        return -1


udp_drops_by_port = harness.udp_drops_by_port


# ------------------------------------------------------------------ stats

def median(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs):
    return (min(xs), max(xs)) if xs else (float("nan"), float("nan"))


def pct(xs, p):
    """p-th percentile (nearest rank) of xs."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


# ------------------------------------------------------------------ processes

render = harness.render


class Proxy:
    """One Kamailio running proxy.cfg with one configuration."""

    def __init__(self, run, name, variant, gateways, ds_threshold=THRESHOLD,
                 gwf_threshold=THRESHOLD, max_gateways=1024, shm_mb=1024,
                 fr_timer_ms=FR_TIMER_MS):
        self.run = run
        self.name = name
        self.variant = variant
        self.fr_timer_ms = fr_timer_ms
        self.port = harness.free_udp_port()
        self.gw_ports = [int(uri.rsplit(":", 1)[1]) for uri, _ in gateways]
        self.ctl = run.path(name + ".ctl")
        gwf_like = variant in ("gwf", "ref")
        self.no_eject = gwf_like and gwf_threshold >= GWF_NO_EJECT
        ds = run.write(name + ".list", "".join(
            "1 %s 0 %d\n" % (uri, prio) for uri, prio in gateways))
        vfile = run.write(name + "_" + VARIANT_FILES[variant], render(
            os.path.join(HERE, VARIANT_FILES[variant]),
            {"DS_THRESHOLD": ds_threshold, "GWF_THRESHOLD": gwf_threshold,
             # where every call must fail over, nothing may eject: not
             # the threshold, and not silence detection either (an
             # overloaded sipp gateway at the top of figure 2's ladder
             # can leave INVITEs unanswered for over a second)
             "GWF_SILENCE_MS": 0 if self.no_eject else 1000,
             "GWF_SO": REF_SO if variant == "ref" else harness.MODULE_SO,
             "GWF_MAX_GATEWAYS": max_gateways}))
        self.cfg = run.write(name + ".cfg", render(
            os.path.join(HERE, "proxy.cfg"),
            {"CHILDREN": CHILDREN, "SIP_PORT": self.port,
             "MPATH": harness.stock_module_dir() + "/",
             "CTL_SOCK": self.ctl, "FR_TIMER": fr_timer_ms, "DS_LIST": ds,
             "VARIANT": vfile}))
        argv = [harness.KAMAILIO, "-f", self.cfg, "-DD", "-E",
                "-w", run.dir, "-Y", run.dir, "-m", str(shm_mb), "-M", "8",
                "-a", "no"]
        self.proc = run.spawn(name, argv)
        harness.wait_until(self._ready, 20, step=0.1,
                           what="kamailio %s to start" % name)
        self.pids = harness.group_pids(self.proc.pid)
        self.idle_rate = 0.0  # CPU s per s when idle, measured later

    def _ready(self):
        if not self.proc.running():
            raise RuntimeError("kamailio %s exited:\n%s"
                               % (self.name, self.proc.output()[-3000:]))
        return os.path.exists(self.ctl) and \
            self.rpc_raw("core.uptime").returncode == 0

    def rpc_raw(self, *args):
        return subprocess.run([harness.KAMCMD, "-s", "unix:" + self.ctl] +
                              [str(a) for a in args], capture_output=True,
                              text=True, timeout=10)

    def rpc(self, *args):
        res = self.rpc_raw(*args)
        if res.returncode != 0 or res.stdout.startswith("error"):
            raise RuntimeError("kamcmd %s: %s %s" % (args, res.stdout,
                                                     res.stderr))
        return res.stdout

    def cpu(self):
        # listed again each time: a process forked late is not missed
        self.pids = harness.group_pids(self.proc.pid)
        return Cpu(self.pids)

    def shm(self):
        out = self.rpc("core.shmmem")
        return dict((k, int(v)) for k, v in
                    re.findall(r"^\s*(\w+):\s*(\d+)\s*$", out, re.M))

    def tm_current(self):
        m = re.search(r"current:\s*(\d+)", self.rpc("tm.stats"))
        return int(m.group(1)) if m else -1

    def wait_tm_idle(self, timeout=15):
        try:
            harness.wait_until(lambda: self.tm_current() == 0, timeout,
                               step=0.25, what="%s transactions" % self.name)
            return True
        except TimeoutError:
            return False

    def reset_breakers(self):
        if self.variant in ("gwf", "ref"):
            self.rpc("gwfailover.reset", "all")

    def gwf_stats(self):
        out = self.rpc("stats.get_statistics", "gwfailover:")
        return dict((n, int(v)) for n, v in re.findall(
            r"gwfailover:(\w+) = (-?\d+)", out))

    def log_text(self):
        return self.proc.output()

    def bad_log_lines(self):
        bad = ("CRITICAL:", "BUG:", "signal 11", "Segmentation",
               "could not allocate shared memory", "no picked branch",
               "no async workers")
        return [line for line in self.log_text().splitlines()
                if any(b in line for b in bad)]

    def stop(self):
        self.proc.stop()


class BreakerKeeper(threading.Thread):
    """For the "every call fails over" runs of gwfailover: the highest
    failure_threshold is 1000, so the primary's count of consecutive
    failures is cleared by RPC (gwfailover.reset) often enough that it is
    never ejected. Costs one ctl RPC per period in the measured Kamailio."""

    def __init__(self, proxy, period):
        super().__init__(daemon=True)
        self.proxy, self.period = proxy, period
        # After its calls, a run that overloaded Kamailio still has INVITEs
        # in flight that end as local timeouts fr_timer later; they count
        # as consecutive faults too, so the resets go on that long.
        self.linger_s = proxy.fr_timer_ms / 1000.0 + 2.0
        self.until = None  # monotonic time to end, once stop() was called
        self.resets = 0

    def run(self):
        while self.until is None or time.monotonic() < self.until:
            time.sleep(self.period)
            try:
                self.proxy.reset_breakers()
                self.resets += 1
            except Exception:  # noqa: BLE001 - checked through the stats
                pass

    def stop(self):
        """Returns at once; the thread ends linger_s later."""
        self.until = time.monotonic() + self.linger_s


def keeper_for(proxy, rate):
    if not proxy.no_eject:
        return None
    # at most ~300 failures between two resets
    k = BreakerKeeper(proxy, max(0.05, min(1.0, 300.0 / rate)))
    k.start()
    return k


def sipp_gateway(run, name, scenario):
    """A sipp UAS (no message trace: at these rates tracing costs more CPU
    than the proxy); -aa answers the dispatcher's OPTIONS probes 200."""
    port = harness.free_udp_port()
    proc = run.spawn(name, [harness.SIPP, "-sf", os.path.join(HERE, scenario),
                            "-i", "127.0.0.1", "-p", str(port), "-nostdin",
                            "-aa", "-buff_size", str(SIPP_BUFF),
                            "-max_log_size", "2000000",
                            "-trace_err", "-error_file",
                            run.path(name + "_errors.log"),
                            "-max_recv_loops", "1000", "-timeout", "1800s"])

    def bound():
        if not proc.running():
            raise RuntimeError("gateway %s exited: %s" % (name,
                                                          proc.output()))
        return not _port_free(port)
    harness.wait_until(bound, 10, what="gateway %s to listen" % name)
    return "sip:127.0.0.1:%d" % port


def _port_free(port):
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Caller:
    """A sipp UAC placing <calls> calls at <rate> per second to a proxy."""

    def __init__(self, run, name, proxy, rate, calls, rtt=False,
                 timeout=None, recv_timeout_ms=10000):
        self.run, self.name, self.rate, self.calls = run, name, rate, calls
        self.stat_file = run.path(name + "_stat.csv")
        self.timeout = timeout or int(calls / rate + 30)
        port = harness.free_udp_port()
        # sipp places no new call while -l calls are open; a call can stay
        # open up to recv_timeout (a silent gateway, then fr_timer), so
        # leave room for every call placed meanwhile, or the rate drops.
        limit = max(1000, int(rate * max(20, recv_timeout_ms / 1000.0 + 5)))
        argv = [harness.SIPP, "127.0.0.1:%d" % proxy.port,
                "-sf", os.path.join(HERE, "uac.xml"), "-i", "127.0.0.1",
                "-p", str(port), "-s", "bench", "-m", str(calls),
                "-r", str(int(rate)), "-rp", "1000",
                "-l", str(limit), "-nostdin",
                "-buff_size", str(SIPP_BUFF), "-max_log_size", "2000000",
                "-trace_stat", "-stf", self.stat_file, "-fd", "1",
                "-trace_err", "-error_file", run.path(name + "_errors.log"),
                "-recv_timeout", str(recv_timeout_ms),
                "-timeout", "%ds" % self.timeout, "-timeout_error"]
        if rtt:
            argv += ["-trace_rtt", "-rtt_freq", "1"]
        self.t0 = time.time()
        self.m0 = time.monotonic()
        self.proc = run.spawn(name, argv)
        self.rc = None
        self.elapsed = None

    def running(self):
        return self.proc.running()

    def wait(self, stop_on_failure=False):
        """Wait for sipp to finish (bounded). With stop_on_failure, stop it
        as soon as its statistics (written every second) count a failed
        call: the run has failed, the rest would only cost time."""
        pid = self.proc.pid
        last = [0.0]
        self.stopped_early = False

        def sample():
            c = cpu_of([pid])
            if c[1] is not None or c[0]:
                last[0] = c[1] if c[1] is not None else c[0]
        # sipp's own CPU, read while it still exists
        n = 0
        while self.proc.running() and \
                time.monotonic() - self.m0 < self.timeout + 15:
            sample()
            n += 1
            if stop_on_failure and n % 5 == 0 and self.counts()[1] > 0:
                self.stopped_early = True
                self.proc.stop()
                break
            time.sleep(0.05)
        try:
            self.rc = self.proc.wait(self.timeout + 15)
        except TimeoutError:
            self.proc.stop()
            self.rc = None
        self.elapsed = time.monotonic() - self.m0
        self.cpu_s = last[0]
        return self

    def counts(self):
        """(successful, failed, created) from sipp's statistics file."""
        try:
            with open(self.stat_file) as f:
                lines = [line.rstrip("\n") for line in f if line.strip()]
            head, last = lines[0].split(";"), lines[-1].split(";")
            col = lambda n: int(last[head.index(n)])  # noqa: E731
            return (col("SuccessfulCall(C)"), col("FailedCall(C)"),
                    col("TotalCallCreated"))
        except (OSError, IndexError, ValueError):
            return (0, 0, 0)

    # sipp's failure counters, in words; an unexpected reply is told apart
    # by its code, from the error log
    FAILURES = {"FailedTimeoutOnRecv(C)": "no answer within recv_timeout",
                "FailedMaxUDPRetrans(C)": "unanswered retransmissions",
                "FailedCallRejected(C)": "rejected by sipp",
                "FailedCannotSendMessage(C)": "sipp could not send",
                "FailedUnexpectedMessage(C)": "other unexpected message"}
    _UNEXPECTED_RE = re.compile(
        r"Aborting call on unexpected message for Call-Id '[^']*': while "
        r"expecting '[^']*' \(index \d+\), received 'SIP/2\.0 (\d{3})"
        r"[^']*?\nCSeq: *\d+ (\w+)")

    def failures(self):
        """{cause: calls} of the failed calls: "<code> to <method>" for an
        error reply (e.g. "408 to INVITE"), else sipp's failure counter in
        words."""
        out = {}
        try:
            with open(self.run.path(self.name + "_errors.log")) as f:
                for code, method in self._UNEXPECTED_RE.findall(f.read()):
                    key = "%s to %s" % (code, method)
                    out[key] = out.get(key, 0) + 1
        except OSError:
            pass
        replies = sum(out.values())
        try:
            with open(self.stat_file) as f:
                lines = [line.rstrip("\n") for line in f if line.strip()]
            head, last = lines[0].split(";"), lines[-1].split(";")
            for col, words in self.FAILURES.items():
                n = int(last[head.index(col)])
                if col == "FailedUnexpectedMessage(C)":
                    n -= replies  # those are listed by their code already
                if n > 0:
                    out[words] = n
        except (OSError, IndexError, ValueError):
            pass
        return out

    def ok(self):
        s, f, c = self.counts()
        return self.rc == 0 and f == 0 and s == self.calls and c == self.calls

    def rtts(self):
        """[(start_s, answer_ms)] per answered call, start in sipp's clock
        (seconds since sipp started), from the -trace_rtt file."""
        files = glob.glob(os.path.join(self.run.dir,
                                       "uac_%d_rtt.csv" % self.proc.pid))
        out = []
        if not files:
            return out
        with open(files[0]) as f:
            for line in f:
                parts = line.strip().split(";")
                if len(parts) < 3 or parts[2] != "answer":
                    continue
                try:
                    date_ms, rt_ms = float(parts[0]), float(parts[1])
                except ValueError:
                    continue
                out.append(((date_ms - rt_ms) / 1000.0, rt_ms))
        return out


# ------------------------------------------------------------------ figure 1

GROUPS = (("healthy", ("floor", "A", "B", "gwf")),
          ("failover", ("A", "B", "gwf")),
          ("outage", ("A", "B", "gwf")))
# --ref-so: the healthy scenario only, floor and the two module builds side
# by side (an A/B of a change to the module's per-call cost)
GROUPS_AB = (("healthy", ("floor", "ref", "gwf")),)


def fig1_cpu(run, args, res):
    """CPU per call. The configurations of one scenario are measured at the
    same time, each with its own Kamailio and its own caller at the same
    rate (they share the gateways): machine drift then hits them alike. On
    this kind of VM, runs of the same configuration one after the other
    differed by up to 10 %, simultaneous ones by about 1 %. Rounds alternate
    the scenarios and rotate the order in which the callers start.
    Returns the Kamailio instances, kept running for figures 2 and 6."""
    groups = GROUPS_AB if REF_SO else GROUPS
    log("figure 1: starting gateways and proxies")
    ok1 = sipp_gateway(run, "gw_ok1", "gw_ok.xml")
    ok2 = sipp_gateway(run, "gw_ok2", "gw_ok.xml")
    bad = sipp_gateway(run, "gw_503", "gw_503.xml")
    healthy = [(ok1, 20), (ok2, 10)]
    failing = [(bad, 20), (ok2, 10)]

    P = {}  # (scenario, config) -> Proxy
    for scen, configs in groups:
        for v in configs:
            kw = {}
            if scen == "failover":
                kw = {"ds_threshold": DS_NO_EJECT,
                      "gwf_threshold": GWF_NO_EJECT}
            P[(scen, v)] = Proxy(run, "%s_%s" % (scen, v), v,
                                 healthy if scen == "healthy" else failing,
                                 **kw)
    rate, secs = args.rate, args.secs
    calls = int(rate * secs)
    pending = []  # [due, keys, c0 by key, t_end]
    samples = dict((k, []) for k in P)       # CPU s per call, per round
    samples_stat = dict((k, []) for k in P)
    samples_marg = dict((k, []) for k in P)  # idle CPU taken out entirely
    problems = []
    measuring = [False]

    def service():
        now = time.monotonic()
        for item in list(pending):
            due, keys, cstart, t_end = item
            if now < due:
                continue
            for key in keys:
                p = P[key]
                c1 = p.cpu()
                if measuring[0]:
                    cpu = c1.minus(cstart[key]) - p.idle_rate * (c1.t - t_end)
                    samples[key].append(cpu / calls)
                    samples_marg[key].append(
                        (c1.minus(cstart[key]) - p.idle_rate *
                         (c1.t - cstart[key].t)) / calls)
                    samples_stat[key].append(
                        (c1.minus_stat(cstart[key]) -
                         p.idle_rate * (c1.t - t_end)) / calls)
            pending.remove(item)

    def group_run(scen, configs, tag, n):
        keys = [(scen, v) for v in configs]
        while any(set(keys) & set(item[1]) for item in pending):
            time.sleep(0.05)
            service()
        keepers = []
        for key in keys:
            P[key].reset_breakers()
        for key in keys:
            k = keeper_for(P[key], rate)
            if k:
                keepers.append(k)
        cstart = dict((key, P[key].cpu()) for key in keys)
        callers = [(key, Caller(run, "f1_%s_%s_%s" % (scen, key[1], tag),
                                P[key], rate, n)) for key in keys]
        while any(c.running() for _, c in callers):
            service()
            time.sleep(0.05)
        for key, c in callers:
            c.wait()
            if not c.ok():
                problems.append("%s/%s %s: sipp ok/failed/created %s "
                                "(rc %s)" % (scen, key[1], tag, c.counts(),
                                             c.rc))
        t_end = time.monotonic()
        for k in keepers:
            k.stop()
        pending.append([t_end + DRAIN_S, keys, cstart, t_end])

    # Warm-up, not measured: the module learns its gateways, and every
    # instance touches the shared memory pages it needs in steady state.
    # A transaction lives about 5 s after its final reply (tm's wait
    # timer), so fewer calls than two rounds' worth leave fresh pages to
    # fault in during the first measured rounds - more of them for a
    # configuration keeping more per-transaction state, which showed as a
    # few percent of "per-call" cost in profiles (clear_page from
    # shmem_fault) that vanished at steady state.
    log("figure 1: warm-up")
    for scen, configs in groups:
        group_run(scen, configs, "warmup", int(rate * max(2.0, 2 * secs)))
    while pending:
        time.sleep(0.1)
        service()
    # Idle CPU of each instance (all idle at once): subtracted for the
    # drain time that each measurement window has after its calls.
    c0 = dict((k, p.cpu()) for k, p in P.items())
    time.sleep(args.idle_s)
    for k, p in P.items():
        c1 = p.cpu()
        p.idle_rate = c1.minus(c0[k]) / (c1.t - c0[k].t)

    measuring[0] = True
    for rnd in range(args.rounds):
        log("figure 1: round %d/%d (%d calls at %d/s per configuration "
            "and run)" % (rnd + 1, args.rounds, calls, rate))
        order = groups[rnd % len(groups):] + groups[:rnd % len(groups)]
        for scen, configs in order:
            r = rnd % len(configs)
            group_run(scen, configs[r:] + configs[:r], "r%d" % rnd, calls)
    while pending:
        time.sleep(0.1)
        service()
    measuring[0] = False

    out = {"rate": rate, "calls_per_run": calls, "rounds": args.rounds,
           "drain_s": DRAIN_S, "problems": problems, "cells": {},
           "idle_ms_per_s": dict(("%s/%s" % k, P[k].idle_rate * 1000)
                                 for k in P)}
    for key in P:
        out["cells"]["%s/%s" % key] = {
            "us_per_call": [x * 1e6 for x in samples[key]],
            "us_per_call_stat": [x * 1e6 for x in samples_stat[key]],
            "us_per_call_no_idle": [x * 1e6 for x in samples_marg[key]]}

    def ratios(scen, v1, v2, smp=samples):
        a, b = smp[(scen, v1)], smp[(scen, v2)]
        return [x / y for x, y in zip(a, b) if y > 0]
    out["ratios"] = {}
    out["ratios_no_idle"] = {}
    for scen, configs in groups:
        for base in ("floor", "A", "B", "ref"):
            for v in ("gwf", "A", "B", "ref"):
                if base in configs and v in configs and v != base:
                    name = "%s %s/%s" % (scen, v, base)
                    out["ratios"][name] = ratios(scen, v, base)
                    out["ratios_no_idle"][name] = ratios(scen, v, base,
                                                         samples_marg)
    if not REF_SO:
        out["outage_gwf_stats"] = P[("outage", "gwf")].gwf_stats()
        out["failover_gwf_stats"] = P[("failover", "gwf")].gwf_stats()
    res["fig1"] = out
    return P


# ------------------------------------------------------------------ figure 2

def fig2_rate(run, args, res, P):
    """Highest rate with zero failed calls, every call failing over. The
    rate climbs a ladder (x rate2_factor per rung); at each rung A, B and
    gwfailover run one after the other, so the configurations are compared
    at the same rates and at nearly the same time. A failed run is run
    once more after the others (a single disturbance from outside - the
    machine is shared - must not decide); a configuration leaves the ladder
    when both runs at a rung fail. The whole ladder is climbed reps2
    times."""
    configs = ["A", "B", "gwf"]
    secs = args.secs2
    rates, r = [], float(args.rate2_start)
    while r <= args.rate2_max:
        rates.append(int(r))
        r *= args.rate2_factor
    searches = []
    for rep in range(args.reps2):
        st = dict((v, {"sustained": 0, "first_fail": None, "steps": []})
                  for v in configs)
        active = list(configs[rep % 3:] + configs[:rep % 3])
        for rate in rates:
            if not active:
                break
            again = [v for v in active
                     if not fig2_run(run, P, v, st[v], rate, secs, rep,
                                     retry=False)]
            for v in active:
                if v in again and not fig2_run(run, P, v, st[v], rate, secs,
                                               rep, retry=True):
                    st[v]["first_fail"] = rate
                else:
                    st[v]["sustained"] = rate
            active = [v for v in active if st[v]["first_fail"] is None]
        searches.append(st)
    res["fig2"] = {"secs_per_step": secs, "searches": searches,
                   "factor": args.rate2_factor, "start": args.rate2_start,
                   "rates": rates}


def fig2_run(run, P, v, s, rate, secs, rep, retry):
    """One run of configuration v at <rate>; True if it passed."""
    p = P[("failover", v)]
    p.wait_tm_idle(8)
    p.reset_breakers()
    keeper = keeper_for(p, rate)
    calls = int(rate * secs)
    gw_pids = [pr.pid for pr in run.procs if pr.name in ("gw_503", "gw_ok2")]
    c0 = p.cpu()
    g0 = Cpu(gw_pids)
    drops0 = udp_rcvbuf_errors()
    ports0 = udp_drops_by_port()
    caller = Caller(run, "f2_%d_%s_%d%s" % (rep, v, rate, "_retry" if retry
                                             else ""),
                    p, rate, calls, timeout=int(secs + 12),
                    recv_timeout_ms=2500)
    caller.wait(stop_on_failure=True)
    c1 = p.cpu()
    g1 = Cpu(gw_pids)
    if keeper:
        keeper.stop()
    drops = udp_rcvbuf_errors() - drops0
    ports1 = udp_drops_by_port()
    kam_drops = ports1.get(p.port, 0) - ports0.get(p.port, 0)
    gw_drops = sum(ports1.get(g, 0) - ports0.get(g, 0) for g in p.gw_ports)
    succ, failed, created = caller.counts()
    passed = caller.ok() and caller.elapsed <= secs + 1.5 and \
        not caller.stopped_early
    dt = max(0.001, c1.t - c0.t)
    cores = c1.minus(c0) / dt
    # Kamailio, the sipp caller and the two sipp gateways together
    busy = (c1.minus(c0) + g1.minus(g0) + caller.cpu_s) / dt
    s["steps"].append({"rate": rate, "ok": passed, "retry": retry,
                       "successful": succ, "failed": failed,
                       "created": created,
                       "elapsed_s": round(caller.elapsed, 2),
                       "stopped_at_first_failure": caller.stopped_early,
                       "kamailio_cores": round(cores, 3),
                       "with_sipp_cores": round(busy, 3),
                       "udp_drops": drops, "udp_drops_kamailio": kam_drops,
                       "udp_drops_gateways": gw_drops,
                       "uac_cpu_s": round(caller.cpu_s, 3)})
    log("figure 2 (search %d): %-3s %5d/s %s%s (ok %d failed %d, %.1f s; "
        "cores busy: kamailio %.2f, with sipp %.2f; UDP datagrams dropped %d, "
        "at kamailio %d)" % (rep + 1, v, rate, "pass" if passed else "FAIL",
                             " (again)" if retry else "", succ, failed,
                             caller.elapsed, cores, busy, drops, kam_drops))
    return passed


# ------------------------------------------------------------------ figure 6

def fig6_shm(run, args, res, P):
    out = {}
    # (a) bytes per gateway: the gateway table is allocated in shm at
    # startup for max_gateways entries (as a power-of-two number of slots,
    # at least twice max_gateways). Compare two sizes right after start.
    small, big = 16, 16384
    dummy = [("sip:127.0.0.1:9", 10)]
    pa = Proxy(run, "shm_gw%d" % small, "gwf", dummy, max_gateways=small)
    pb = Proxy(run, "shm_gw%d" % big, "gwf", dummy, max_gateways=big)
    time.sleep(1.0)
    ua, ub = pa.shm(), pb.shm()
    out["bytes_per_gateway"] = (ub["used"] - ua["used"]) / float(big - small)
    out["used_small"], out["used_big"] = ua["used"], ub["used"]
    out["max_gateways"] = [small, big]
    pa.stop()
    pb.stop()
    # shm in use at rest, same gateways and history, per configuration
    out["at_rest"] = {}
    for v in ("A", "B", "gwf"):
        P[("failover", v)].wait_tm_idle(10)
        out["at_rest"][v] = P[("failover", v)].shm()["used"]
    # (b) shm in use before and after 20,000 calls that all fail over
    # (suspend, delayed resume, second gateway), each time once the
    # transactions of earlier calls are freed.
    rows = {}
    for v in args.fig6_configs:
        p = P[("failover", v)]
        rate = args.rate6
        p.reset_breakers()
        p.wait_tm_idle(10)
        time.sleep(0.5)
        before = p.shm()
        keeper = keeper_for(p, rate)
        caller = Caller(run, "f6_%s" % v, p, rate, args.calls6,
                        timeout=int(args.calls6 / rate * 2 + 30))
        caller.wait()
        if keeper:
            keeper.stop()
        idle = p.wait_tm_idle(15)
        time.sleep(0.5)
        after = p.shm()
        succ, failed, created = caller.counts()
        rows[v] = {"calls": created, "successful": succ, "failed": failed,
                   "rate": rate, "freed": idle,
                   "used_before": before["used"], "used_after": after["used"],
                   "real_used_before": before["real_used"],
                   "real_used_after": after["real_used"]}
        if v == "gwf":
            rows[v]["gwf_stats"] = p.gwf_stats()
        log("figure 6: %s used %d -> %d, real_used %d -> %d (%d ok, %d "
            "failed)" % (v, before["used"], after["used"],
                         before["real_used"], after["real_used"], succ,
                         failed))
    out["calls"] = rows
    res["fig6"] = out


# ------------------------------------------------------------------ figures 3/4

def finish_row(p, row, stats=None):
    """Add to <row> of proxy <p> its gwfailover statistics (only <stats>
    when given; gwfailover only) and any bad log lines."""
    if p.variant == "gwf":
        try:
            st = p.gwf_stats()
            row["gwf_stats"] = st if stats is None else \
                dict((k, st.get(k)) for k in stats)
        except Exception as exc:  # noqa: BLE001
            row["gwf_stats"] = repr(exc)
    bad = p.bad_log_lines()
    if bad:
        row["bad_log"] = bad[:5]


def stop_setups(setups):
    """Stop every (proxy, primary, backup) of <setups>."""
    for p, prim, back in setups.values():
        p.stop()
        prim.stop()
        back.stop()


def start_outage(run, name, rep, sched_p, sched_b, rate, length,
                 retry_after=None, fr_timer_ms=FR_TIMER_MS, **proxy_kw):
    """For A, B and gwfailover at once: a primary and a backup (scripted
    gateways on <sched_p>/<sched_b>, clocks started with the caller), a
    proxy with tm's <fr_timer_ms> and a caller of <length> s of calls at
    <rate>. Waits for the callers.
    Returns (setups {v: (proxy, primary, backup)}, callers {v: Caller})."""
    calls = int(rate * length)
    # A call may wait one fr_timer for a silent gateway before it fails
    # over: only a call still unanswered well after that is lost (counted
    # failed), and the last call, placed at <length>, gets that long too.
    recv_ms = fr_timer_ms + ANSWER_MARGIN_MS
    timeout = int(length + recv_ms / 1000.0 + 30)
    setups = {}
    for v in ("A", "B", "gwf"):
        prim = PyGateway(sched_p, retry_after=retry_after,
                         name="%s_%s_primary" % (name, v))
        back = PyGateway(sched_b, name="%s_%s_backup" % (name, v))
        prim.start()
        back.start()
        p = Proxy(run, "%s%d_%s" % (name, rep, v), v,
                  [(prim.uri, 20), (back.uri, 10)], fr_timer_ms=fr_timer_ms,
                  **proxy_kw)
        setups[v] = (p, prim, back)
    time.sleep(0.5)
    callers = {}
    for v, (p, prim, back) in setups.items():
        c = Caller(run, "%s%d_%s_uac" % (name, rep, v), p, rate, calls,
                   rtt=True, timeout=timeout, recv_timeout_ms=recv_ms)
        prim.start_clock(c.t0)
        back.start_clock(c.t0)
        callers[v] = c
    for c in callers.values():
        c.wait()
    return setups, callers


def outage_run(run, args, kind, rep, fr_timer_ms=FR_TIMER_MS):
    """One repetition of figure 3 (kind "blackhole") or 4 ("storm") for A,
    B and gwfailover at once: three independent proxies (tm's fr_timer
    <fr_timer_ms>), each with its own primary and backup gateway and its
    own caller, at a low rate."""
    fr_s = fr_timer_ms / 1000.0
    rate = args.rate34
    pre = 2.0
    if kind == "blackhole":
        length = pre + args.outage_s
        retry_after = None

        def schedule(t):
            return "ok" if t < pre else "silent"
    else:
        length = pre + args.storm_s + 3.0
        retry_after = args.retry_after

        def schedule(t):
            return "503" if pre <= t < pre + args.storm_s else "ok"
    calls = int(rate * length)
    name = kind if fr_timer_ms == FR_TIMER_MS else "%s_fr%gs_" % (kind, fr_s)
    setups, callers = start_outage(run, name, rep, schedule, lambda t: "ok",
                                   rate, length, retry_after=retry_after,
                                   fr_timer_ms=fr_timer_ms)
    rows = {}
    for v, (p, prim, back) in setups.items():
        c = callers[v]
        succ, failed, created = c.counts()
        rtts = c.rtts()
        invites = prim.invites()
        # failed: every call not completed, whatever the reason - an error
        # reply, no answer within fr_timer + ANSWER_MARGIN_MS at the caller,
        # or not placed at all (sipp stopped); sipp's own count beside it
        fails = c.failures()
        row = {"calls": created, "successful": succ, "failed": calls - succ,
               # not answered: failed, less the calls that were answered
               # and whose BYE then failed (the gateway died mid-call: no
               # call lost to failover, and it happens to any configuration)
               "not_answered": calls - succ - sum(
                   n for why, n in fails.items() if why.endswith("to BYE")),
               "sipp_failed": failed, "failures": fails,
               "rtt_rows": len(rtts), "sipp_rc": c.rc,
               # every call placed and ended (completed or failed), and an
               # answer time for each completed one (a call whose BYE failed
               # was answered too: it has one as well)
               "all_seen": created == calls and succ + failed == calls
               and succ <= len(rtts) <= calls}
        # sipp's clock -> ours: the first call reached the primary (healthy
        # at the start) a moment after sipp sent it.
        offset = None
        if rtts and invites:
            offset = invites[0].time - min(s for s, _ in rtts)
        if kind == "blackhole":
            t_out = prim._t0 + pre
            dead = [r for r in invites if r.time >= t_out]
            # The earliest any configuration can eject a silent gateway:
            # its THRESHOLD-th INVITE after the outage has timed out.
            if len(dead) >= THRESHOLD:
                t_should = dead[THRESHOLD - 1].time + fr_s + 0.25
            else:
                t_should = t_out + fr_s
            after = [r for r in dead if r.time > t_should]
            # gwfailover lets one trial call through once eject_time_s is
            # over: an INVITE after a silence of about eject_time_s is that
            # trial (the ejection may be well before t_should: silence
            # detection does not wait for timeouts).
            trials = set(id(r) for prev, r in zip(dead, dead[1:])
                         if r.time - prev.time >= EJECT_TIME_S - 2.0)
            before_trial = [r for r in after if id(r) not in trials]
            row.update({"invites_to_dead": len(dead),
                        "invites_after_ejection_due": len(after),
                        "invites_after_due_before_trial": len(before_trial),
                        "invites_trial_time": len(after) - len(before_trial),
                        "ejection_due_s": round(t_should - t_out, 3),
                        "dead_invite_times_s": [round(r.time - t_out, 3)
                                                for r in after][:20]})
            t_event = t_out
        else:
            firsts = [t for t, code, m in prim.replies
                      if code == 503 and m == "INVITE"]
            t_first = firsts[0] if firsts else prim._t0 + pre
            window = [r for r in invites
                      if t_first < r.time <= t_first + retry_after]
            storm = [r for r in invites if r.behaviour == "503"]
            row.update({"invites_in_retry_after_window": len(window),
                        "invites_answered_503": len(storm),
                        "retry_after_s": retry_after})
            t_event = t_first
        # answer times of the calls placed from the event on
        if offset is not None:
            ev = [ms for s, ms in rtts if s + offset >= t_event]
        else:
            ev = [ms for _, ms in rtts]
        row.update({"event_calls": len(ev),
                    "slow_over_1s": sum(1 for ms in ev if ms > 1000),
                    # waited a whole timeout before it could fail over
                    # (tm's timers fire up to a tick, 1/16 s, early)
                    "waited_fr_timer": sum(1 for ms in ev
                                           if ms >= fr_timer_ms - 100),
                    "p50_ms": pct(ev, 50), "p99_ms": pct(ev, 99),
                    "max_ms": max(ev) if ev else float("nan")})
        finish_row(p, row)
        rows[v] = row
    stop_setups(setups)
    return rows


def fig34(run, args, res, kind):
    """Figure 3 at each (fr_timer, repetitions) of args.fr3, one after the
    other; figure 4 at the default fr_timer, args.reps34 times."""
    fig = "3" if kind == "blackhole" else "4"
    plan = args.fr3 if kind == "blackhole" else [(FR_TIMER_MS, args.reps34)]
    variants = []
    for fr, nreps in plan:
        reps = []
        for rep in range(nreps):
            log("figure %s: %s, fr_timer %d ms, repetition %d/%d" % (
                fig, kind, fr, rep + 1, nreps))
            reps.append(outage_run(run, args, kind, rep, fr))
        variants.append({"fr_timer_ms": fr, "reps": reps})
    out = {"rate": args.rate34, "threshold": THRESHOLD,
           "outage_s": args.outage_s if kind == "blackhole" else args.storm_s}
    if kind == "blackhole":
        out.update(variants=variants, slow_calls_target=SLOW_CALLS_TARGET)
    else:
        out.update(variants[0])
    res["fig" + fig] = out



# ------------------------------------------------------------------ figure 7

# Outage timelines of the do-no-harm rule: whole-set and partial outages,
# and a flapping primary. (title, seconds of calls, primary schedule,
# backup schedule, when every gateway that will recover has recovered;
# None: nothing to recover from).
TIMELINES = (
    ("both_brief",
     "both gateways answer 503 for 15 s (from 5 s), then are healthy again",
     50, lambda t: "503" if 5 <= t < 20 else "ok",
     lambda t: "503" if 5 <= t < 20 else "ok", 20.0),
    ("dead_primary",
     "the primary answers 503 for good; the backup answers 503 for 10 s "
     "(from 5 s), then is healthy again",
     55, lambda t: "503", lambda t: "503" if 5 <= t < 15 else "ok", 15.0),
    ("flapping",
     "the primary flaps: 3 s of 503, 3 s healthy, four times (from 3 s); "
     "the backup is healthy",
     30, lambda t: "503" if 3 <= t < 27 and int((t - 3) // 3) % 2 == 0
     else "ok", lambda t: "ok", None),
)
TIMELINE_THRESHOLD = 3  # failure_threshold = ds_probing_threshold here


def failed_over_time(starts, rate, length, step=0.05):
    """From the start times (s since the caller started) of the answered
    calls of a caller placing <rate> calls per second for <length> s:
    [(t, calls placed before t that were not answered)] every <step> s."""
    starts = sorted(starts)
    out, j = [], 0
    t = 0.0
    while t <= length + step / 2:
        while j < len(starts) and starts[j] < t:
            j += 1
        out.append((t, max(0, int(round(rate * t)) - j)))
        t += step
    return out


def recovery(curve, t_back, total):
    """(calls failed after t_back, seconds after t_back until no call
    failed any more). One call of slack for sipp's pacing."""
    before = [f for t, f in curve if t <= t_back]
    at_back = before[-1] if before else 0
    still = [t for t, f in curve if t >= t_back and f < total - 1]
    return max(0, total - at_back), \
        round((still[-1] - t_back) if still else 0.0, 2)


def timeline_run(run, args, rep, name, title, length, sched_p, sched_b,
                 t_back):
    """One timeline for A, B and gwfailover at once, each with its own
    primary, backup and caller."""
    rate = args.rate7
    length = length * args.timeline_scale
    scale = args.timeline_scale
    setups, callers = start_outage(
        run, name, rep, lambda t: sched_p(t / scale),
        lambda t: sched_b(t / scale), rate, length,
        ds_threshold=TIMELINE_THRESHOLD, gwf_threshold=TIMELINE_THRESHOLD)
    rows = {}
    for v, (p, prim, back) in setups.items():
        c = callers[v]
        succ, failed, created = c.counts()
        curve = failed_over_time([s for s, _ in c.rtts()], rate, length)
        total = created - succ
        row = {"calls": created, "successful": succ, "failed": total,
               "invites_answered_503": sum(
                   1 for g in (prim, back) for r in g.invites()
                   if r.behaviour == "503"),
               "primary_invites": len(prim.invites())}
        if t_back is not None:
            row["failed_after_recovery"], row["recovered_after_s"] = \
                recovery(curve, t_back * scale, total)
        finish_row(p, row, ("ejections", "ejections_refused",
                            "panic_retests", "restorations"))
        rows[v] = row
    stop_setups(setups)
    return rows


def fig7(run, args, res):
    out = {"rate": args.rate7, "threshold": TIMELINE_THRESHOLD,
           "scale": args.timeline_scale, "timelines": {}}
    for name, title, length, sp, sb, t_back in TIMELINES:
        log("figure 7: %s" % name)
        out["timelines"][name] = {
            "title": title, "seconds": length * args.timeline_scale,
            "recovery_at_s": None if t_back is None
            else t_back * args.timeline_scale,
            "rows": timeline_run(run, args, 0, name, title, length, sp, sb,
                                 t_back)}
    res["fig7"] = out

# ------------------------------------------------------------------ report

def fmt_range(xs, f="%.0f"):
    if not xs:
        return "-"
    lo, hi = spread(xs)
    return (f + " [" + f + "-" + f + "]") % (median(xs), lo, hi)


def fmt_ms(xs):
    """Answer times in ms (sipp measures whole milliseconds)."""
    if not xs:
        return "-"
    lo, hi = spread(xs)

    def one(x):
        return "<1" if x < 1 else "%.0f" % x
    return "%s [%s-%s]" % (one(median(xs)), one(lo), one(hi))


def fmt_ratio(xs):
    if not xs:
        return "-"
    lo, hi = spread(xs)
    return "%.3fx [%.3f-%.3f]" % (median(xs), lo, hi)


def verdict(ok, text):
    return ("**meets**: " if ok else "**misses**: ") + text


def all_seen_line(reps):
    """Figures 3 and 4: did sipp see every call through?"""
    seen = all(r[v]["all_seen"] for r in reps for v in r)
    return ("sipp placed every call, saw each one end (completed or "
            "failed) and has an answer time for each completed one: %s."
            % ("yes" if seen else "**no**, see bench/out/sip.json"))


def fig3_markdown(f):
    """Figure 3: one table, a row per configuration and fr_timer, then the
    targets at every fr_timer and what each fr_timer showed."""
    variants, most = f["variants"], f["slow_calls_target"]
    frs = [x["fr_timer_ms"] for x in variants]
    every = "both" if len(frs) == 2 else "every"
    thr = f["threshold"]
    L = ["### 3. Blackhole outage", ""]
    L.append(
        "%d calls/s; after 2 s the primary stops answering anything for the "
        "remaining %g s of calls; backup healthy. tm's fr_timer %s ms "
        "(Kamailio's default is 30000), one value after the other; "
        "threshold %d (ds_probing_threshold for B, failure_threshold for "
        "gwfailover). Answer times (calls > 1 s, p50, p99, max) are those of "
        "the calls placed from the outage on that the caller completed; a "
        "call it did not complete is failed and has none: an error reply "
        "(a 408 once fr_timer is over and nothing fails it over), or no "
        "answer within fr_timer + %d s. \"Due\": the primary's %d-th INVITE "
        "after the outage plus fr_timer + 0.25 s - the earliest any "
        "configuration can have seen %d failures. gwfailover can eject "
        "earlier: with its default silence detection (silence_ms 1000, "
        "silence_invites 3) it ejects a gateway that has not replied to "
        "anything for 1 s, without waiting for timeouts. Median [min-max] "
        "over %s; the three configurations run at the same time, each with "
        "its own gateways." % (
            f["rate"], f["outage_s"], " and ".join(str(x) for x in frs), thr,
            ANSWER_MARGIN_MS // 1000, thr, thr,
            ", ".join("%d repetitions at %d ms" % (len(x["reps"]),
                                                   x["fr_timer_ms"])
                      for x in variants)))
    L += ["", all_seen_line([r for x in variants for r in x["reps"]]), ""]
    L.append("| configuration | fr_timer | calls > 1 s | p50 ms | p99 ms | "
             "max ms | failed calls | INVITEs to the dead primary | after "
             "ejection was due, not trials | half-open trials (after %d s "
             "without INVITEs) |" % EJECT_TIME_S)
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for x in variants:
        for v in ("A", "B", "gwf"):
            col = lambda n: [r[v][n] for r in x["reps"]]  # noqa: E731
            L.append("| %s | %d ms | %s | %s | %s | %s | %s | %s | %s | %s |"
                     % (LABEL[v], x["fr_timer_ms"],
                        fmt_range(col("slow_over_1s")),
                        fmt_ms(col("p50_ms")), fmt_ms(col("p99_ms")),
                        fmt_ms(col("max_ms")), fmt_range(col("failed")),
                        fmt_range(col("invites_to_dead")),
                        fmt_range(col("invites_after_due_before_trial")),
                        fmt_range(col("invites_trial_time"))))
    L.append("")

    # The targets, met only if met at every fr_timer, by the worst
    # repetition: a median would hide a run that lost calls.
    def worst(n):
        return [(x["fr_timer_ms"], max(r["gwf"][n] for r in x["reps"]))
                for x in variants]

    def listed(pairs):
        return ", ".join("%d at %d ms" % (n, fr) for fr, n in pairs)
    fails, slow = worst("not_answered"), worst("slow_over_1s")
    L.append("- Target 0 calls not answered at %s fr_timer values "
             "(gwfailover, default parameters; a failed call whose BYE failed "
             "after it was answered is not one): " % every + verdict(
                 all(n == 0 for _, n in fails),
                 listed(fails) + " (worst repetition)."))
    L.append("- Target at most a couple (%d) of calls over 1 s at %s "
             "fr_timer values (gwfailover): " % (most, every) +
             verdict(all(n <= most for _, n in slow),
                     listed(slow) + " (worst repetition)."))
    for x in variants:
        reps, fr = x["reps"], x["fr_timer_ms"]
        slow = dict((v, median([r[v]["slow_over_1s"] for r in reps]))
                    for v in ("A", "B", "gwf"))
        sg, sa, sb = slow["gwf"], slow["A"], slow["B"]
        waited = ", ".join("%s %g" % (LABEL[v], median(
            [r[v]["waited_fr_timer"] for r in reps])) for v in ("A", "B",
                                                                "gwf"))
        L.append("- fr_timer %d ms: calls slower than 1 s, ratio "
                 "gwfailover / A %.2fx, gwfailover / B %.2fx; answered only "
                 "after about a whole fr_timer (at least fr_timer - 0.1 s): "
                 "%s." % (fr, sg / sa if sa else float("nan"),
                          sg / sb if sb else float("nan"), waited))
        L.append("- fr_timer %d ms: target fewer calls slower than 1 s than "
                 "baseline B: " % fr + verdict(sg < sb, "%g vs %g." % (sg,
                                                                      sb)))
        ag = max(r["gwf"]["invites_after_due_before_trial"] for r in reps)
        L.append("- fr_timer %d ms: target zero INVITEs to the ejected "
                 "gateway until its half-open trial: " % fr + verdict(
                     ag == 0, "%d at most; then %s trial INVITE(s) %d s "
                     "after the ejection (eject_time_s), each a real call "
                     "sent to the still silent gateway, and the gateway is "
                     "ejected again. B sends no call to it, only OPTIONS "
                     "probes." % (ag, "/".join(
                         str(r["gwf"]["invites_trial_time"]) for r in reps),
                         EJECT_TIME_S)))
        causes = []
        for v in ("A", "B", "gwf"):
            total = {}
            for r in reps:
                for why, n in r[v].get("failures", {}).items():
                    total[why] = total.get(why, 0) + n
            if total:
                causes.append("%s: %s" % (LABEL[v], ", ".join(
                    "%s %d" % kv for kv in sorted(total.items()))))
        if causes:
            L.append("- fr_timer %d ms: failed calls by cause, all "
                     "repetitions together: %s." % (fr, "; ".join(causes)))
    if any("to BYE" in why for x in variants for r in x["reps"]
           for v in r for why in r[v].get("failures", {})):
        L.append("- A BYE answered 408: the primary answered that call just "
                 "before it went silent, and the BYE, routed to it, got no "
                 "answer (sipp wants a 200). It can happen to any "
                 "configuration.")
    L.append("")
    return L


def markdown_ab(f1):
    """Figure 1 with --ref-so: the two builds side by side."""
    c, r, rn = f1["cells"], f1["ratios"], f1["ratios_no_idle"]

    def cell(k):
        return fmt_range(c[k]["us_per_call"], "%.1f") + " us"
    return "\n".join([
        "### A/B: CPU per call, both gateways healthy (%d rounds of %d "
        "calls at %d/s)" % (f1["rounds"], f1["calls_per_run"], f1["rate"]),
        "",
        "- floor %s; reference build %s; this build %s" % (
            cell("healthy/floor"), cell("healthy/ref"), cell("healthy/gwf")),
        "- this build / floor %s; reference / floor %s; this build / "
        "reference %s" % (fmt_ratio(r["healthy gwf/floor"]),
                          fmt_ratio(r["healthy ref/floor"]),
                          fmt_ratio(r["healthy gwf/ref"])),
        "- idle CPU taken out: this build / floor %s; reference / floor %s"
        % (fmt_ratio(rn["healthy gwf/floor"]),
           fmt_ratio(rn["healthy ref/floor"])),
        "- reference: %s" % REF_SO,
        "- runs with failed calls: %s" % ("; ".join(f1["problems"]) or
                                          "none"), ""])


def markdown(res):
    L = []
    f1 = res.get("fig1")
    if f1 and REF_SO:
        return markdown_ab(f1)
    if f1:
        c = f1["cells"]
        r = f1["ratios"]
        L.append("### 1. Kamailio CPU per call")
        L.append("")
        L.append("CPU time of all processes of each Kamailio (its process "
                 "group, /proc/<pid>/schedstat: the counter that utime+stime "
                 "in /proc/<pid>/stat is scaled to, in ns), per call, at %d "
                 "calls/s per configuration, %d calls per run, including "
                 "the freeing of the transactions afterwards. The "
                 "configurations of a row run at the same time, each with "
                 "its own Kamailio and caller; rounds (%d) alternate the rows "
                 "and the start order. Median [min-max] over the rounds; "
                 "ratios are taken per round, then median [min-max]."
                 % (f1["rate"], f1["calls_per_run"], f1["rounds"]))
        L.append("")
        L.append("| scenario | floor | baseline A | baseline B | gwfailover "
                 "| gwfailover / A | gwfailover / B | gwfailover / floor |")
        L.append("|---|---|---|---|---|---|---|---|")

        def cell(k):
            return fmt_range(c[k]["us_per_call"], "%.0f") + " us" \
                if k in c and c[k]["us_per_call"] else "-"

        def rat(k):
            return fmt_ratio(r[k]) if k in r else "-"
        for scen, title in (
                ("failover", "every call fails over: primary 503, then "
                 "backup (ejection kept off)"),
                ("outage", "503 outage, default thresholds (ejection on)"),
                ("healthy", "both gateways healthy")):
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                title, cell(scen + "/floor"), cell(scen + "/A"),
                cell(scen + "/B"), cell(scen + "/gwf"),
                rat(scen + " gwf/A"), rat(scen + " gwf/B"),
                rat(scen + " gwf/floor")))
        L.append("")
        mb = median(r["failover gwf/B"])
        ma = median(r["failover gwf/A"])
        mf = median(r["healthy gwf/floor"])
        L.append("- Target CPU per failover call <= 1.0x baseline B: " +
                 verdict(mb <= 1.0, "%.3fx." % mb))
        L.append("- Target CPU per failover call <= 1.05x baseline A: " +
                 verdict(ma <= 1.05, "%.3fx." % ma))
        L.append("- Target with nothing failing <= 1.02x the floor: " +
                 verdict(mf <= 1.02, "%.3fx." % mf))
        L.append("- For reference, healthy: A / floor %s, B / floor %s; "
                 "every call failing over: B / A %s; outage: B / A %s." % (
                     rat("healthy A/floor"), rat("healthy B/floor"),
                     rat("failover B/A"), rat("outage B/A")))
        rn = f1.get("ratios_no_idle", {})
        if rn:
            L.append("- Per-call work alone (the idle CPU of the whole window "
                     "taken out): gwfailover / floor %s when healthy, "
                     "gwfailover / A %s and gwfailover / B %s when every "
                     "call fails over." % (
                         fmt_ratio(rn.get("healthy gwf/floor", [])),
                         fmt_ratio(rn.get("failover gwf/A", [])),
                         fmt_ratio(rn.get("failover gwf/B", []))))
        st = dict((k, v["us_per_call_stat"]) for k, v in c.items())

        def rstat(a, b):
            return fmt_ratio([x / y for x, y in zip(st[a], st[b]) if y > 0])
        L.append("- Cross-check with utime+stime from /proc/<pid>/stat "
                 "(10 ms ticks per process, so coarser): gwfailover / floor "
                 "%s healthy; gwfailover / A %s, gwfailover / B %s every "
                 "call failing over." % (
                     rstat("healthy/gwf", "healthy/floor"),
                     rstat("failover/gwf", "failover/A"),
                     rstat("failover/gwf", "failover/B")))
        idle = f1["idle_ms_per_s"]
        L.append("- Idle CPU (no calls), ms per second: " + ", ".join(
            "%s %.2f" % (LABEL[k.split("/")[1]], idle[k]) for k in
            ("healthy/floor", "healthy/A", "healthy/B", "healthy/gwf")) +
            " (B's async timer wakes up every 10 ms; gwfailover's resume "
            "process sleeps until a delayed call or a deadline is due).")
        if f1["problems"]:
            L.append("- Runs with failed calls: " + "; ".join(f1["problems"]))
        L.append("")
    f2 = res.get("fig2")
    if f2:
        S = f2["searches"]
        L.append("### 2. Highest call rate with zero failed calls "
                 "(every call fails over)")
        L.append("")
        L.append("The rate climbs %s calls/s (x%g per rung); at each rung "
                 "A, B and gwfailover run %g s of calls one after the other "
                 "(alone on the machine, at nearly the same time). A run "
                 "passes when sipp counts every call successful, none "
                 "failed, and finishes on time (a run is stopped at its "
                 "first failed call). A failed run is repeated once after "
                 "the others (the machine is shared); a configuration "
                 "leaves the ladder when both runs at a rung fail. The "
                 "ladder is climbed %d times; median [min-max]." % (
                     ", ".join(str(x) for x in f2["rates"][:8]) +
                     (", ..." if len(f2["rates"]) > 8 else ""),
                     f2["factor"], f2["secs_per_step"], len(S)))
        L.append("")
        L.append("| configuration | sustained calls/s | per search | "
                 "failing rung |")
        L.append("|---|---|---|---|")
        sus = {}
        for v in ("A", "B", "gwf"):
            sus[v] = [x[v]["sustained"] for x in S]
            L.append("| %s | %s | %s | %s |" % (
                LABEL[v], fmt_range(sus[v]),
                ", ".join(str(x) for x in sus[v]),
                ", ".join(str(x[v]["first_fail"] or "-") for x in S)))
        g, b = median(sus["gwf"]), median(sus["B"])
        per_b = [x / y for x, y in zip(sus["gwf"], sus["B"]) if y]
        per_a = [x / y for x, y in zip(sus["gwf"], sus["A"]) if y]
        L.append("")
        L.append("- Ratios per search: gwfailover / A %s, gwfailover / B "
                 "%s." % (fmt_ratio(per_a), fmt_ratio(per_b)))
        top = []
        for v in ("A", "B", "gwf"):
            best = None
            for x in S:
                for st in x[v]["steps"]:
                    if st["ok"] and (best is None or
                                     st["rate"] > best["rate"]):
                        best = st
            if best:
                top.append("%s %.2f (with the sipp caller and gateways "
                           "%.2f) at %d/s" % (
                               LABEL[v], best["kamailio_cores"],
                               best["with_sipp_cores"], best["rate"]))
        if top:
            L.append("- CPU at the highest passing step, cores busy of %d: "
                     % (os.cpu_count() or 0) + "; ".join(top) + ".")
        fails = [st for x in S for v in ("A", "B", "gwf")
                 for st in x[v]["steps"] if not st["ok"]]
        if fails:
            td = sum(st.get("udp_drops", 0) for st in fails)
            # two counters read at slightly different moments
            kd = min(td, sum(st.get("udp_drops_kamailio", 0)
                             for st in fails))
            L.append("- Failing steps lost %d UDP datagrams in the kernel, "
                     "%d of them at Kamailio's socket (receive buffer "
                     "full: Kamailio fell behind); a lost request or reply "
                     "fails the call." % (td, kd))
        L.append("- Target sustained rate >= baseline B's: " +
                 verdict(g >= b, "%.0f vs %.0f calls/s (medians)." % (g, b)))
        L.append("")
    f3 = res.get("fig3")
    if f3:
        L += fig3_markdown(f3)
    f4 = res.get("fig4")
    if f4:
        reps = f4["reps"]
        L.append("### 4. 503 storm with Retry-After")
        L.append("")
        L.append("%d calls/s; after 2 s the primary answers every INVITE "
                 "and OPTIONS with 503 and Retry-After: %d for %g s, "
                 "then 200 again. Counted: INVITEs the primary received "
                 "within Retry-After seconds of its first 503. Median "
                 "[min-max] over %d repetitions; the three "
                 "configurations run at the same time."
                 % (f4["rate"], reps[0]["gwf"]["retry_after_s"],
                    f4["outage_s"], len(reps)))
        L += ["", all_seen_line(reps), ""]
        L.append("| configuration | INVITEs in the Retry-After window "
                 "| calls > 1 s | p50 ms | p99 ms | max ms | failed "
                 "calls |")
        L.append("|---|---|---|---|---|---|---|")
        for v in ("A", "B", "gwf"):
            col = lambda n: [r[v][n] for r in reps]  # noqa: E731
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                LABEL[v], fmt_range(col("invites_in_retry_after_window")),
                fmt_range(col("slow_over_1s")), fmt_ms(col("p50_ms")),
                fmt_ms(col("p99_ms")), fmt_ms(col("max_ms")),
                fmt_range(col("failed"))))
        wg = max(r["gwf"]["invites_in_retry_after_window"] for r in reps)
        wa = median([r["A"]["invites_in_retry_after_window"]
                     for r in reps])
        wb = median([r["B"]["invites_in_retry_after_window"]
                     for r in reps])
        L.append("")
        L.append("- Ratio: gwfailover %d vs A %g and B %g INVITEs."
                 % (wg, wa, wb))
        L.append("- Target 0 INVITEs to the primary in its Retry-After "
                 "window: " + verdict(wg == 0, "%d at most." % wg))
        L.append("")
    f6 = res.get("fig6")
    if f6:
        L.append("### 6. Shared memory")
        L.append("")
        bpg = f6["bytes_per_gateway"]
        L.append("- Bytes per gateway: %.0f. The gateway table is allocated "
                 "once, at startup, for max_gateways gateways (%.0f bytes "
                 "per slot, twice as many slots as gateways, rounded up to "
                 "a power of two): shm in use right after start with "
                 "max_gateways %d: %d bytes, with %d: %d bytes. Default "
                 "max_gateways 1024: %.2f MiB. Nothing is allocated per "
                 "gateway later." % (
                     bpg, bpg / 2, f6["max_gateways"][0], f6["used_small"],
                     f6["max_gateways"][1], f6["used_big"],
                     bpg * 1024 / 1048576.0))
        rest = f6.get("at_rest", {})
        if rest:
            L.append("- shm in use at rest, same gateways and history: "
                     "baseline A %d, baseline B %d, gwfailover %d bytes "
                     "(gwfailover - A: %+d)." % (
                         rest["A"], rest["B"], rest["gwf"],
                         rest["gwf"] - rest["A"]))
        L.append("")
        L.append("| configuration | calls (every one fails over) | shm used "
                 "before | after | growth | real_used before | after |")
        L.append("|---|---|---|---|---|---|---|")
        for v, row in f6["calls"].items():
            L.append("| %s | %d at %d/s (%d failed) | %d | %d | %+d | %d | "
                     "%d |" % (LABEL[v], row["calls"], row["rate"],
                               row["failed"], row["used_before"],
                               row["used_after"],
                               row["used_after"] - row["used_before"],
                               row["real_used_before"],
                               row["real_used_after"]))
        g = f6["calls"].get("gwf")
        if g:
            growth = g["used_after"] - g["used_before"]
            L.append("")
            L.append("- Target no growth after %d calls: " % g["calls"] +
                     verdict(growth <= 0 and g["failed"] == 0,
                             "%+d bytes (shm used, transactions freed "
                             "before and after)." % growth))
        L.append("")
    f7 = res.get("fig7")
    if f7:
        L.append("### 7. Outage timelines: never worse than plain failover")
        L.append("")
        L.append("%d calls/s; each configuration has its own primary and "
                 "backup (scripted gateways that change behaviour on the "
                 "timeline) and its own caller, all three at the same time; "
                 "threshold %d (ds_probing_threshold for B, "
                 "failure_threshold for gwfailover); gwfailover otherwise "
                 "with its default parameters, OPTIONS probing only in B. "
                 "\"Failed after recovery\": calls placed after the "
                 "gateways were healthy again that still failed; "
                 "\"back after\": from that moment until no call failed "
                 "any more." % (f7["rate"], f7["threshold"]))
        L.append("")
        L.append("| timeline | configuration | failed calls | failed after "
                 "recovery | back after | INVITEs answered 503 |")
        L.append("|---|---|---|---|---|---|")
        verdicts = []
        for name, tl in f7["timelines"].items():
            rows = tl["rows"]
            for v in ("A", "B", "gwf"):
                r = rows[v]
                rec = tl["recovery_at_s"] is not None
                L.append("| %s | %s | %d of %d | %s | %s | %d |" % (
                    tl["title"] if v == "A" else "", LABEL[v], r["failed"],
                    r["calls"],
                    r.get("failed_after_recovery", "-") if rec else "-",
                    ("%.2f s" % r["recovered_after_s"]) if rec else "-",
                    r["invites_answered_503"]))
            a, g = rows["A"], rows["gwf"]
            # "within a few calls": sipp's pacing and the moment a
            # gateway changes behaviour blur a call or two
            verdicts.append((name, g["failed"] <= a["failed"] + 5,
                             "gwfailover %d failed calls, plain ds_next_dst() "
                             "%d" % (g["failed"], a["failed"])))
        L.append("")
        for name, ok, text in verdicts:
            L.append("- Target no more failed calls than plain failover "
                     "(%s): " % name + verdict(ok, text + "."))
        for name, tl in f7["timelines"].items():
            st = tl["rows"]["gwf"].get("gwf_stats")
            if isinstance(st, dict):
                L.append("- gwfailover in %s: %d ejections, %d refused by "
                         "the guard, %d panic re-tests." % (
                             name, st["ejections"] or 0,
                             st["ejections_refused"] or 0,
                             st["panic_retests"] or 0))
        L.append("")
    return "\n".join(L)


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="1,2,3,4,6,7",
                    help="figures to run, e.g. 1,3")
    ap.add_argument("--quick", action="store_true",
                    help="short runs, to check that everything works")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--ref-so", default=None,
                    help="A/B: figure 1's healthy scenario only, this build "
                    "of gwfailover.so beside the current one (--only 1)")
    ap.add_argument("--rate", type=int, default=200,
                    help="figure 1: calls per second")
    ap.add_argument("--secs", type=float, default=5.0,
                    help="figure 1: seconds of calls per run")
    ap.add_argument("--idle-s", type=float, default=3.0)
    ap.add_argument("--rate2-start", type=int, default=2000)
    ap.add_argument("--rate2-factor", type=float, default=1.2)
    ap.add_argument("--rate2-max", type=int, default=12000)
    ap.add_argument("--reps2", type=int, default=3)
    ap.add_argument("--secs2", type=float, default=3.0)
    ap.add_argument("--rate6", type=int, default=1000)
    ap.add_argument("--calls6", type=int, default=20000)
    ap.add_argument("--fig6-configs", default="gwf")
    ap.add_argument("--rate34", type=int, default=50)
    ap.add_argument("--reps34", type=int, default=3,
                    help="figure 4: repetitions")
    ap.add_argument("--fr3", default="2000:3,30000:2",
                    help="figure 3: tm fr_timer values in ms, each with "
                    ":repetitions (default --reps34), comma-separated; a "
                    "run at 30000 takes about 30 s longer")
    ap.add_argument("--outage-s", type=float, default=36.0)
    ap.add_argument("--storm-s", type=float, default=10.0)
    ap.add_argument("--retry-after", type=int, default=10)
    ap.add_argument("--rate7", type=int, default=20)
    ap.add_argument("--timeline-scale", type=float, default=1.0,
                    help="figure 7: time scale of the timelines")
    ap.add_argument("--json", default=os.path.join(OUT_DIR, "sip.json"))
    ap.add_argument("--markdown", default=os.path.join(OUT_DIR, "sip.md"))
    args = ap.parse_args()
    args.fig6_configs = [v for v in args.fig6_configs.split(",") if v]
    args.fr3 = [(int(fr), int(n) if n else args.reps34) for fr, _, n in
                (item.partition(":") for item in args.fr3.split(",") if item)]
    if args.quick:
        args.fr3 = [(fr, 1) for fr, _ in args.fr3]
        args.rounds, args.secs, args.idle_s = 1, 2.0, 1.0
        args.secs2, args.rate2_max, args.reps2 = 2.0, 1500, 1
        args.rate2_start = 1000
        args.calls6, args.reps34 = 2000, 1
        args.outage_s = args.storm_s = 5.0
        args.retry_after = 5
        args.timeline_scale = 0.4
    figs = set(x.strip() for x in args.only.split(","))
    if args.ref_so:
        global REF_SO
        REF_SO = os.path.abspath(args.ref_so)
        if figs != {"1"}:
            sys.exit("--ref-so goes with --only 1")
    # SIGTERM (e.g. from run_all.py's time limit) unwinds like an error, so
    # the finally blocks stop every process this run started.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))

    for path in (harness.KAMAILIO, harness.KAMCMD, harness.SIPP,
                 harness.MODULE_SO):
        if not os.path.exists(path):
            sys.exit("missing %s (make deps; make)" % path)
    shutil.rmtree(LOGS_ROOT, ignore_errors=True)
    os.makedirs(LOGS_ROOT, exist_ok=True)
    started = time.monotonic()
    res = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
           "args": vars(args)}
    run = harness.Run("steady", LOGS_ROOT)
    try:
        P = None
        if figs & {"1", "2", "6"}:
            if "1" in figs:
                P = fig1_cpu(run, args, res)
            else:
                args.rounds = 0
                P = fig1_cpu(run, args, res)
                res.pop("fig1", None)
            if "2" in figs:
                fig2_rate(run, args, res, P)
            if "6" in figs:
                fig6_shm(run, args, res, P)
            bad = dict((p.name, p.bad_log_lines()) for p in P.values())
            res["bad_log"] = dict((k, v[:5]) for k, v in bad.items() if v)
            # "every call fails over" is only true if the module never
            # ejected the primary of that instance
            ej = 0 if REF_SO else \
                P[("failover", "gwf")].gwf_stats().get("ejections", -1)
            res["failover_gwf_ejections"] = ej
            if ej != 0:
                res.setdefault("problems", []).append(
                    "the every-call-fails-over gwfailover instance ejected "
                    "its primary %d times" % ej)
    finally:
        run.stop_all()
    for kind, fig in (("blackhole", "3"), ("storm", "4")):
        if fig in figs:
            r = harness.Run(kind, LOGS_ROOT)
            try:
                fig34(r, args, res, kind)
            finally:
                r.stop_all()
    if "7" in figs:
        r = harness.Run("timelines", LOGS_ROOT)
        try:
            fig7(r, args, res)
        finally:
            r.stop_all()
    res["elapsed_s"] = round(time.monotonic() - started, 1)
    md = markdown(res)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(res, f, indent=1, default=str)
    with open(args.markdown, "w") as f:
        f.write(md + "\n")
    print(md)
    log("SIP benchmarks done in %.0f s; logs in %s" % (res["elapsed_s"],
                                                      LOGS_ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
