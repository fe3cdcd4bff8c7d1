"""The soak's chaos timeline: drawn from the seed before the run starts
(so a seed replays the same events at the same moments), then played by a
thread while the caller places its calls.

Each gateway of set 1 alternates healthy periods (2-10 s) and faults
(1-6 s) of a random kind, independently of the others, so faults overlap
at random. The RPC client acts every 0.7 s on average. The webhook listener
changes between up, hanging and gone every 3-10 s.
"""

import threading
import time

FAULTS = (("silent", 12), ("503", 12), ("503ra", 8), ("only100", 6),
          ("malformed", 8), ("flap", 8), ("dead", 6))
# Retry-After values as carriers (or broken carriers) send them
RETRY_AFTERS = ("0", "1", "3", "30", "4294967296", "-1", "abc",
                "99999999999999999999", "2 (maintenance)", "10;duration=5",
                "")
RPC_OPS = (("list", 20), ("get", 15), ("stats", 8), ("eject", 8),
           ("restore", 8), ("reset", 4), ("ds_list", 8), ("reload", 5),
           ("webhook_status", 5), ("classify", 5), ("bad", 8))
BAD_ARGS = (("gwfailover.get", "sip:192.0.2.1:5999"),
            ("gwfailover.eject", "sip:192.0.2.1:5999", 5),
            ("gwfailover.eject", "not a uri", -5),
            ("gwfailover.eject", "s:", 1),
            ("gwfailover.restore", "sip:192.0.2.1:5999"),
            ("gwfailover.reset", "s:x" * 1),
            ("gwfailover.classify", 99),
            ("gwfailover.classify", "s:abc"),
            ("gwfailover.get",),
            ("gwfailover.config", "s:no_such_param", 1))


def _pick(rng, weighted):
    names, weights = zip(*weighted)
    return rng.choices(names, weights)[0]


def draw(rng, duration, gw_names):
    """[(t, action, args)] sorted by t, within [0, duration)."""
    ev = []
    for name in gw_names:
        t = rng.uniform(0, 4)
        while t < duration:
            fault = _pick(rng, FAULTS)
            ra = None
            if fault == "503ra":
                ra = rng.choice(RETRY_AFTERS)
            ev.append((t, "mode", (name, fault, ra)))
            t += rng.uniform(1, 6)
            ev.append((t, "mode", (name, "ok", None)))
            t += rng.uniform(2, 10)
    t = 0.5
    while t < duration:
        ev.append((t, "rpc", (_pick(rng, RPC_OPS), rng.randrange(1 << 30))))
        t += rng.expovariate(1 / 0.7)
    t = rng.uniform(2, 6)
    while t < duration:
        ev.append((t, "webhook", (rng.choice(("up", "up", "hang",
                                              "down")),)))
        t += rng.uniform(3, 10)
    ev.sort(key=lambda e: e[0])
    return ev


class Runner:
    """Plays a timeline against a Soak (soak.py)."""

    def __init__(self, soak, timeline):
        self.s = soak
        self.timeline = timeline
        self.stop = threading.Event()
        self.manual = set()     # URIs ejected by hand and not restored
        self.extra_in = False   # gw5 in the dispatcher list
        self.played = 0
        self.errors = []

    def run(self):
        t0 = time.monotonic()
        for t, action, args in self.timeline:
            wait = t0 + t - time.monotonic()
            if wait > 0 and self.stop.wait(wait):
                return
            if self.stop.is_set():
                return
            try:
                getattr(self, "_" + action)(*args)
            except Exception as e:  # noqa: BLE001 - reported by the check
                self.errors.append("%.1fs %s %r: %r" % (t, action, args, e))
            self.played += 1

    # ------------------------------------------------------------ actions

    def _gw(self, name):
        for gw in self.s.gws:
            if gw.gname == name:
                return gw
        raise KeyError(name)

    def _mode(self, name, fault, ra):
        gw = self._gw(name)
        if fault == "503ra":
            gw.set_mode("503", retry_after=ra)
        else:
            gw.set_mode(fault)
        self.s.history.mode(name, fault, ra)

    def _webhook(self, mode):
        self.s.listener_mode(mode)

    def _rpc(self, op, r):
        s = self.s
        in_set = s.gws[:5] if self.extra_in else s.gws[:4]
        gw = in_set[r % len(in_set)]
        if op == "list":
            s.rpc("gwfailover.list")
        elif op == "get":
            s.rpc("gwfailover.get", gw.uri)
        elif op == "stats":
            s.rpc("stats.get_statistics", "gwfailover:")
        elif op == "eject":
            secs = 1 + (r >> 8) % 8
            res = s.rpc("gwfailover.eject", gw.uri, secs)
            if isinstance(res, dict):
                self.manual.add(gw.uri)
                s.history.eject(gw.uri, secs)
        elif op == "restore":
            res = s.rpc("gwfailover.restore", gw.uri)
            if isinstance(res, dict):
                self.manual.discard(gw.uri)
                s.history.restore(gw.uri)
        elif op == "reset":
            s.rpc("gwfailover.reset", gw.uri)
        elif op == "ds_list":
            s.rpc("dispatcher.list")
        elif op == "reload":
            want = not self.extra_in
            s.ds_list(want)
            res = s.rpc("dispatcher.reload")
            if isinstance(res, Exception):
                # refused ("ongoing reload": dispatcher's reload_delta, 5 s
                # by default): the file goes back to what it has
                s.ds_list(self.extra_in)
                return
            self.extra_in = want
            s.history.reload(s.gws[4].uri, self.extra_in)
            if not self.extra_in:
                self.manual.discard(s.gws[4].uri)
        elif op == "webhook_status":
            s.rpc("gwfailover.webhook_status")
        elif op == "classify":
            s.rpc("gwfailover.classify", (408, 480, 486, 500, 503, 603)[r % 6])
        elif op == "bad":
            args = BAD_ARGS[r % len(BAD_ARGS)]
            res = s.rpc(*args)
            if isinstance(res, dict) and args[0] == "gwfailover.eject":
                self.errors.append("bad RPC %r was accepted: %r" % (args, res))
