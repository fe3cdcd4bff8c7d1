#!/usr/bin/python3
"""Benchmark (issue 5): does a webhook receiver that hangs slow down SIP?

Runs the same load twice, side by side, against a real Kamailio with the
gwfailover module, and prints the SIP call rate sustained in each:

  none     no webhook_url (webhooks off)
  hanging  webhook_url pointing at a listener that accepts every connection,
           reads the request and never answers (each post waits for
           webhook_timeout_ms; the URL's backlog grows and, once full,
           drops its oldest events)

Load: sipp places --calls calls at --rate calls/s to a set whose primary
answers 503 and whose backup answers 200. With failure_threshold 1 and
eject_time_s 1 the primary goes half-open every second and the trial call
ejects it again from a SIP worker (gateway events from SIP workers); a
background thread ejects and restores a third gateway, alone in set 2,
over JSON-RPC every --churn-ms (gateway and set events from the RPC
process). Every call must still be answered by the backup.

Reported per configuration: calls answered, calls failed, wall time of the
sipp run, answered calls per second, the webhook counters, and the ratio
hanging / none. Processes are started by PID and stopped by PID; every wait
is bounded (sipp -timeout). Takes well under 2 minutes with the defaults.

Usage: /usr/bin/python3 bench/webhook_hang.py [--calls N] [--rate R]
"""

import argparse
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
INTEGRATION = os.path.join(ROOT, "tests", "integration")
sys.path.insert(0, INTEGRATION)

import harness  # noqa: E402
from webhook_listener import HANG, WebhookListener  # noqa: E402

TEMPLATE = os.path.join(INTEGRATION, "proxy.cfg.tmpl")
# The tests' proxy with one SIP worker: a worker that waited for the
# webhook would stall every call (and with one UDP worker, replies are
# never reordered, which sipp's strict scenarios would count as failed
# calls).
PROXY_DEFAULTS = dict(harness.PROXY_DEFAULTS, CHILDREN=1,
                      FAILURE_BODY="gwf_failover();")
WH_STATS = ("webhook_queued", "webhook_sent", "webhook_retried",
            "webhook_dropped", "webhook_failed", "webhook_suppressed")


class BenchKamailio(harness.Kamailio):
    """harness.Kamailio with more shared memory: at a few hundred calls per
    second the transactions kept for tm's wait timer alone need more than
    the 64 MB the test harness gives."""

    shm_mb = 512

    def start(self, name, defines, expect_start):
        argv = [harness.KAMAILIO, "-f", self.cfg, "-DD", "-E",
                "-w", self.run.dir, "-Y", self.run.dir,
                "-m", str(self.shm_mb), "-M", "8", "-a", "no"]
        self.proc = self.run.spawn(name, argv)
        self.expect_start = expect_start
        self.run.kamailios = getattr(self.run, "kamailios", []) + [self]
        if expect_start:
            self.wait_ready()


def modparams(**params):
    lines = []
    for key, value in params.items():
        for v in (value if isinstance(value, list) else [value]):
            v = '"%s"' % v if isinstance(v, str) else str(v)
            lines.append('modparam("gwfailover", "%s", %s)' % (key, v))
    return "\n".join(lines)


def uas(run, name, scenario, **subst):
    """A sipp gateway without message tracing (tracing costs more CPU
    than the proxy at these rates)."""
    port = harness.free_udp_port()
    scen = run.template(scenario, **subst) if subst else \
        os.path.join(harness.SIPP_DIR, scenario)
    proc = run.spawn(name, [harness.SIPP, "-sf", scen, "-i", "127.0.0.1",
                            "-p", str(port), "-nostdin",
                            "-trace_err", "-error_file",
                            run.path(name + "_errors.log"),
                            "-max_recv_loops", "1000", "-timeout", "600s"])

    def bound():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return True
        return not proc.running()
    harness.wait_until(bound, 10, what="gateway %s to listen" % name)
    if not proc.running():
        raise RuntimeError("gateway %s exited: %s" % (name, proc.output()))
    return "sip:127.0.0.1:%d" % port


def gwf_stats(k):
    out = k.rpc("stats.get_statistics", "gwfailover:")
    return dict((name, int(value)) for name, value in
                re.findall(r"^\s*gwfailover:(\w+) = (-?\d+)\s*$", out, re.M))


def sipp_counts(stat_file):
    """(successful, failed, created) from the last line of a sipp -stf
    file."""
    with open(stat_file) as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    head = lines[0].split(";")
    last = lines[-1].split(";")

    def col(name):
        return int(last[head.index(name)])
    return (col("SuccessfulCall(C)"), col("FailedCall(C)"),
            col("TotalCallCreated"))


class Churn(threading.Thread):
    """Ejects and restores <uri> over JSON-RPC every <period> s until
    stopped."""

    def __init__(self, k, uri, period):
        super().__init__(daemon=True)
        self.k, self.uri, self.period = k, uri, period
        self.stop_event = threading.Event()
        self.rpcs = 0
        self.slowest = 0.0
        self.errors = []

    def run(self):
        method = "gwfailover.eject"
        while not self.stop_event.is_set():
            t = time.monotonic()
            try:
                self.k.jsonrpc_value(method, self.uri, timeout=5)
                self.rpcs += 1
            except Exception as exc:  # noqa: BLE001 - reported
                self.errors.append(repr(exc))
                if len(self.errors) > 20:
                    return
            self.slowest = max(self.slowest, time.monotonic() - t)
            method = "gwfailover.restore" if method == "gwfailover.eject" \
                else "gwfailover.eject"
            self.stop_event.wait(self.period)

    def stop(self):
        self.stop_event.set()
        self.join(10)


def one_config(name, webhook, args, logs_root):
    run = harness.Run("webhook_hang_" + name, logs_root)
    lis = churn = None
    try:
        primary = uas(run, "primary", "uas_reply.xml", CODE=503,
                      REASON="Service Unavailable", EXTRA="")
        backup = uas(run, "backup", "uas_200.xml")
        lone = "sip:127.0.0.1:%d" % harness.free_udp_port()
        params = dict(failure_threshold=1, eject_time_s=1, delay_base_ms=0,
                      node_name="bench")
        if webhook:
            lis = WebhookListener(default=HANG)
            params.update(webhook_url=lis.url("/hang"),
                          webhook_timeout_ms=args.timeout_ms)
        subst = dict(PROXY_DEFAULTS)
        subst["MOD_PARAMS"] = modparams(**params)
        subst["DS_LIST"] = harness.dispatcher_list(
            run, [(1, primary, 20), (1, backup, 10), (2, lone, 10)])
        k = BenchKamailio(run, TEMPLATE, subst=subst)

        churn = Churn(k, lone, args.churn_ms / 1000.0)
        churn.start()
        time.sleep(0.5)  # events already flowing when the calls start

        stat_file = run.path("uac_stats.csv")
        port = harness.free_udp_port()
        argv = [harness.SIPP, "127.0.0.1:%d" % k.sip_port,
                "-sf", os.path.join(harness.SIPP_DIR, "uac_call.xml"),
                "-i", "127.0.0.1", "-p", str(port), "-s", "callee",
                "-m", str(args.calls), "-r", str(args.rate), "-rp", "1000",
                "-l", str(args.rate * 4), "-nostdin",
                "-trace_stat", "-stf", stat_file, "-fd", "1",
                "-trace_err", "-error_file", run.path("uac_errors.log"),
                "-recv_timeout", "8000",
                "-timeout", "%ds" % args.sipp_timeout, "-timeout_error"]
        t0 = time.monotonic()
        uac = run.spawn("uac", argv)
        try:
            rc = uac.wait(args.sipp_timeout + 15)
        except TimeoutError:
            uac.stop()
            rc = None
        elapsed = time.monotonic() - t0
        churn.stop()
        ok, failed, created = sipp_counts(stat_file)
        stats = gwf_stats(k)
        result = dict(name=name, rc=rc, ok=ok, failed=failed,
                      created=created, elapsed=elapsed,
                      cps=ok / elapsed if elapsed > 0 else 0.0,
                      rpcs=churn.rpcs, rpc_slowest=churn.slowest,
                      rpc_errors=churn.errors[:3],
                      ejections=stats.get("ejections"),
                      half_opens=stats.get("half_opens"),
                      wh=dict((n, stats.get(n)) for n in WH_STATS),
                      connections=len(lis.connections) if lis else 0,
                      alive=k.alive(), dir=run.dir)
        if webhook:
            try:
                result["wh_status"] = k.jsonrpc_value(
                    "gwfailover.webhook_status")
            except Exception as exc:  # noqa: BLE001 - reported
                result["wh_status"] = repr(exc)
        return result
    finally:
        if churn is not None:
            churn.stop()
        if lis is not None:
            lis.stop()
        run.stop_all()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=8000)
    ap.add_argument("--rate", type=int, default=1000,
                    help="calls per second offered by sipp")
    ap.add_argument("--timeout-ms", type=int, default=3000,
                    help="webhook_timeout_ms of the hanging configuration")
    ap.add_argument("--churn-ms", type=int, default=50,
                    help="period of the RPC eject/restore of gateway 3")
    ap.add_argument("--sipp-timeout", type=int, default=40,
                    help="bound of one sipp run, seconds")
    ap.add_argument("--keep", action="store_true",
                    help="keep the logs even when all went well")
    args = ap.parse_args()

    if not os.path.exists(harness.MODULE_SO):
        sys.exit("module not built: %s" % harness.MODULE_SO)
    logs_root = tempfile.mkdtemp(prefix="gwf-bench-webhook-")
    started = time.monotonic()
    results = []
    for name, webhook in (("none", False), ("hanging", True)):
        print("running %-8s (%d calls at %d/s)..." % (name, args.calls,
                                                      args.rate), flush=True)
        results.append(one_config(name, webhook, args, logs_root))

    print()
    print("%-8s %6s %6s %6s %9s %9s %6s  %s" % (
        "config", "calls", "ok", "failed", "elapsed_s", "ok_per_s",
        "rpcs", "webhook queued/sent/failed/dropped/suppressed/retried"))
    for r in results:
        w = r["wh"]
        wtext = "-" if r["name"] == "none" else "%s/%s/%s/%s/%s/%s" % (
            w["webhook_queued"], w["webhook_sent"], w["webhook_failed"],
            w["webhook_dropped"], w["webhook_suppressed"],
            w["webhook_retried"])
        print("%-8s %6d %6d %6d %9.2f %9.1f %6d  %s" % (
            r["name"], r["created"], r["ok"], r["failed"], r["elapsed"],
            r["cps"], r["rpcs"], wtext))
    none, hang = results
    ratio = hang["cps"] / none["cps"] if none["cps"] else float("nan")
    print()
    print("ratio hanging/none (answered calls per second): %.3f" % ratio)
    for r in results:
        print("%-8s ejections %s, half-opens %s, slowest RPC %.3f s, "
              "listener connections %d, kamailio alive %s%s" % (
                  r["name"], r["ejections"], r["half_opens"],
                  r["rpc_slowest"], r["connections"], r["alive"],
                  (", RPC errors %s" % r["rpc_errors"])
                  if r["rpc_errors"] else ""))
    if "wh_status" in hang:
        print("hanging  webhook_status: %s" % (hang["wh_status"],))
    print("total %.1f s" % (time.monotonic() - started))

    bad = [r for r in results if r["failed"] or r["ok"] != args.calls
           or not r["alive"] or r["rpc_errors"]]
    if bad or args.keep:
        print("logs kept in %s" % logs_root)
    else:
        shutil.rmtree(logs_root, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
