#!/usr/bin/python3
"""make soak: a seeded chaos soak of gwfailover inside a real Kamailio.

Kamailio runs the example configuration (cfg/kamailio.cfg, its routing as
it is; only ports, paths, the ejection time, tm's fr_inv_timer and the
webhook URL come from -A defines). Four scripted gateways form set 1, a
fifth comes and goes with dispatcher.reload. One caller places SOAK_CALLS
calls of every kind (answered, cancelled at random moments, callee
answers, ringing until fr_inv_timer). Meanwhile a timeline drawn from the
seed turns gateways silent, 503 (with and without Retry-After, absurd
values included), malformed, flapping, 100-only, dead and back; an RPC
client ejects, restores, resets, lists, reads and reloads; the webhook
listener goes away, hangs and comes back.

The run fails, printing the seed to replay it, if a call gets no final
reply or a wrong one, Kamailio logs CRITICAL/BUG or a sanitizer report or
loses a process, shared memory or file descriptors grew, the module's
counters disagree with what the gateways, the caller and the webhook
listener saw, or a gateway ends in a state the timeline cannot explain.

Usage: soak.py [--calls N] [--seed S] [--rate R]
       (SOAK_CALLS, SOAK_SEED, SOAK_RATE in the environment)
Logs: tests/logs/soak-<seed>/ (kept when the run fails or GWF_KEEP_LOGS).
"""

import argparse
import json
import os
import random
import re
import shutil
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from conftest import bad_log_lines  # noqa: E402
from test_example_cfg import ExampleKamailio  # noqa: E402
from webhook_listener import HANG, WebhookListener  # noqa: E402

import soak_timeline  # noqa: E402
from soak_gw import ChaosGateway  # noqa: E402
from soak_uac import Caller  # noqa: E402
import soak_check  # noqa: E402

LOGS_ROOT = os.path.join(TESTS, "logs")
EJECT_TIME_S = 2           # GWF_EJECT_TIME_S: ejections end within the soak
FR_INV_TIMER_MS = 4000     # calls that ring end within the soak
FINAL_CALLS = 60           # after the chaos: every one must be answered


class Soak:
    def __init__(self, seed, calls, rate):
        self.seed = seed
        self.calls = calls
        self.rate = rate
        self.rng = random.Random(seed)
        self.run = harness.Run("soak-%d" % seed, LOGS_ROOT)
        self.gws = []
        self.listener = None
        self.k = None
        self.rpc_ops = {}
        self.rpc_faults = {}
        self.listener_stops = 0
        self.listener_answered = 0
        self.timeline = None
        self.history = soak_check.History()
        self.eject_time_s = EJECT_TIME_S

    # ------------------------------------------------------------ set-up

    def ds_list(self, with_extra):
        lines = []
        for i, gw in enumerate(self.gws[:4]):
            lines.append("1 %s 0 %d" % (gw.uri, 40 - 10 * i))
        if with_extra:
            lines.append("1 %s 0 5" % self.gws[4].uri)
        path = self.run.path("dispatcher.list")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
        return path

    def start(self):
        for i in range(5):
            gw = ChaosGateway("gw%d" % (i + 1), self.rng.randrange(1 << 30))
            gw.start()
            self.gws.append(gw)
        self.listener = WebhookListener()
        self.hook_port = self.listener.port
        self.k = ExampleKamailio(
            self.run, self.ds_list(False),
            GWF_EJECT_TIME_S=EJECT_TIME_S,
            TM_FR_INV_TIMER=FR_INV_TIMER_MS,
            WEBHOOK_URL='"http://127.0.0.1:%d/hook"' % self.hook_port)

    # ------------------------------------------------------------ RPC

    def rpc(self, *args):
        name = args[0]
        self.rpc_ops[name] = self.rpc_ops.get(name, 0) + 1
        try:
            return self.k.rpc_value(*args)
        except harness.RpcFault as e:
            self.rpc_faults[name] = self.rpc_faults.get(name, 0) + 1
            return e

    # ------------------------------------------------------------ webhook

    def listener_mode(self, mode):
        lis = self.listener
        if mode == "down":
            if not lis.stopped:
                self.listener_answered += _answered(lis)
                lis.stop()
                self.listener_stops += 1
            return
        if lis.stopped:
            self.listener = lis = WebhookListener(port=self.hook_port)
        lis.default = HANG if mode == "hang" else 200

    # ------------------------------------------------------------ phases

    def measure(self):
        """shm in use and fds of every Kamailio process, once no
        transaction is left (tm's wait timer gone by)."""
        harness.wait_until(lambda: _tm_current(self.k) == 0, 60, step=0.5,
                           what="tm transactions to end")
        time.sleep(1.0)
        shm = self.k.rpc_value("core.shmmem")
        pids = harness.group_pids(self.k.proc.pid)
        fds = dict((p, _fd_count(p)) for p in pids)
        names = {}
        for line in self.k.rpc("core.psx").splitlines():
            m = re.match(r"\s*PID:\s*(\d+)", line)
            if m:
                pid = int(m.group(1))
            m = re.match(r"\s*DSC:\s*(.*)", line)
            if m:
                names[pid] = m.group(1).strip()
        return {"shm_used": int(shm["used"]),
                "shm_real_used": int(shm["real_used"]), "fds": fds,
                "names": names,
                "fd_targets": dict((p, _fd_targets(p)) for p in pids)}

    def warm_up(self):
        caller = Caller(self.k.sip_port, random.Random(self.seed ^ 1), 20, 40,
                        "warm")
        caller.kinds_only("answer")
        caller.run()
        bad = [c for c in caller.order if c.final is None or c.final >= 300]
        if bad:
            raise soak_check.SoakFailure(
                "warm-up: %d of 40 calls not answered (first: %s %s)"
                % (len(bad), bad[0].call_id, bad[0].final))
        self.warm_invites = sum(len(gw.snapshot()) for gw in self.gws)
        # a webhook delivered before the baseline: libcurl keeps its
        # connection to the listener open (its connection cache), one fd
        # of the webhook process that is no leak
        last = self.gws[3].uri
        self.rpc("gwfailover.eject", last, 1)
        self.rpc("gwfailover.restore", last)
        harness.wait_until(lambda: _answered(self.listener) >= 2, 10,
                           what="the warm-up webhooks")
        time.sleep(0.5)
        self.warm_hooks = _answered(self.listener)
        # one of each gateway RPC, so that their first-use allocations are
        # in the baseline
        self.rpc("gwfailover.list")
        self.rpc("dispatcher.list")
        self.rpc("gwfailover.webhook_status")

    def chaos(self):
        duration = self.calls / float(self.rate)
        self.timeline = soak_timeline.draw(self.rng, duration,
                                           [g.gname for g in self.gws])
        caller = Caller(self.k.sip_port, random.Random(self.seed ^ 2),
                        self.rate, self.calls, "soak%d" % self.seed)
        runner = soak_timeline.Runner(self, self.timeline)
        t = threading.Thread(target=runner.run, name="timeline", daemon=True)
        t.start()
        caller.run()
        runner.stop.set()
        t.join(30)
        self.caller = caller
        return runner

    def heal(self, runner):
        """The end of the outage: every gateway answers, the listener is
        up, the operator takes back the ejections made by hand."""
        for gw in self.gws:
            if gw.mode != "ok":
                gw.set_mode("ok")
                self.history.mode(gw.gname, "ok")
        self.listener_mode("up")
        for uri in sorted(runner.manual):
            self.rpc("gwfailover.restore", uri)
            self.history.restore(uri)
        runner.manual.clear()

    def final_calls(self):
        caller = Caller(self.k.sip_port, random.Random(self.seed ^ 3), 20,
                        FINAL_CALLS, "final%d" % self.seed)
        caller.kinds_only("answer")
        caller.run()
        self.final = caller
        return caller


def _answered(lis):
    return sum(1 for r in lis.requests if r.status == 200)


def _tm_current(k):
    """Transactions tm holds now (kamcmd tm.stats: keys such as "6xx" are
    no names for parse_kamcmd)."""
    m = re.search(r"^\s*current:\s*(\d+)", k.rpc("tm.stats"), re.M)
    return int(m.group(1)) if m else -1


def _fd_targets(pid):
    out = []
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except OSError:
                pass
    except OSError:
        pass
    return sorted(out)


def _fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int,
                    default=int(os.environ.get("SOAK_CALLS", "10000")))
    ap.add_argument("--seed", type=int,
                    default=int(os.environ["SOAK_SEED"])
                    if os.environ.get("SOAK_SEED") else None)
    ap.add_argument("--rate", type=int,
                    default=int(os.environ.get("SOAK_RATE", "50")))
    args = ap.parse_args()
    seed = args.seed if args.seed is not None \
        else random.SystemRandom().randrange(1, 1 << 31)
    sanitize = " (module under ASan/UBSan)" if harness.SANITIZE else ""
    print("soak: seed %d, %d calls at %d calls/s%s; replay with "
          "SOAK_SEED=%d SOAK_CALLS=%d" % (seed, args.calls, args.rate,
                                          sanitize, seed, args.calls),
          flush=True)
    s = Soak(seed, args.calls, args.rate)
    failures = []
    t0 = time.monotonic()
    try:
        s.start()
        s.warm_up()
        before = s.measure()
        stats_before = s.k.gwf_stats()
        runner = s.chaos()
        s.heal(runner)
        failures += soak_check.calls(s.caller, s.gws)
        soak_check.settle(s)
        s.final_calls()
        failures += soak_check.final_calls(s.final)
        after = s.measure()
        failures += soak_check.resources(s, before, after)
        failures += soak_check.counters(s, stats_before, runner)
        failures += soak_check.states(s, runner)
        summary = soak_check.summary(s, runner, before, after, stats_before)
    except soak_check.SoakFailure as e:
        failures.append(str(e))
        summary = None
    except Exception as e:  # noqa: BLE001 - report with the seed
        import traceback
        traceback.print_exc()
        failures.append("soak aborted: %r" % (e,))
        summary = None
    finally:
        for gw in s.gws:
            gw.stop()
        if s.listener is not None:
            s.listener.stop()
        s.run.stop_all()
    failures += ["kamailio log: " + line for line in bad_log_lines(s.run)]
    if summary:
        print(summary)
    took = time.monotonic() - t0
    if failures:
        print("SOAK FAILED (seed %d, %d calls, %.0f s); replay with "
              "SOAK_SEED=%d SOAK_CALLS=%d; logs in %s"
              % (seed, args.calls, took, seed, args.calls, s.run.dir))
        for f in failures[:40]:
            print("  - " + f)
        if len(failures) > 40:
            print("  ... and %d more" % (len(failures) - 40))
        return 1
    print("soak passed: seed %d, %d calls, %.0f s" % (seed, args.calls, took))
    if not os.environ.get("GWF_KEEP_LOGS"):
        shutil.rmtree(s.run.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
