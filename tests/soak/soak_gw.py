"""A chaos gateway of the soak: a SIP UAS on 127.0.0.1 whose behaviour the
soak's timeline changes while it runs, and which records what it received
and what it answered, so the soak can check every call against it.

Modes (set_mode):
  ok         answers as the call asks (its X-Soak header, see soak_uac):
             100, 180, then 200 / 486 / 404 / 603, or rings (180 and no
             answer: tm's fr_inv_timer ends it), or rings long (200 after
             RING_LONG_S, for the calls the caller cancels)
  silent     records every request, answers nothing
  503        503 Service Unavailable, with "Retry-After: <value>" if the
             mode has one (absurd values included)
  only100    100 Trying and nothing more
  malformed  each INVITE gets one of: junk bytes, a status code out of
             range, a 500 with a 3000-byte reason, a 183 without body then
             480 with an unparsable Retry-After
  flap       ok and 503 in turns of FLAP_S
  dead       a killed process: it reads and answers nothing, and the
             calls it had in progress are forgotten (nothing scheduled for
             them is ever sent). Its socket stays bound, as a frozen
             process's does, so that the kernel queues what arrives
             meanwhile: leaving the mode (the restart) records those
             INVITEs, unanswered, and drops the rest. For the proxy, whose
             UDP sockets do not read ICMP errors, this is the same as a
             closed port, and the soak can count every INVITE sent.

A CANCEL is answered 200 in every mode but silent and dead, and ends the
INVITE with 487 if it had no final reply yet. BYE and OPTIONS get 200.
"""

import heapq
import random
import select
import socket
import threading
import time

import soak_sip

RING_LONG_S = 2.5
FLAP_S = 0.3


class Record:
    """What one INVITE branch got from this gateway."""

    __slots__ = ("call_id", "branch", "t", "final", "final_t", "cancelled",
                 "req", "heard")

    def __init__(self, call_id, branch, t, req):
        self.call_id = call_id
        self.branch = branch
        self.t = t
        self.final = None      # final code sent to the INVITE (valid ones)
        self.final_t = None
        self.cancelled = False  # a CANCEL came before its final
        self.req = req
        self.heard = False     # a reply Kamailio can parse was sent


class ChaosGateway(threading.Thread):
    def __init__(self, name, seed):
        super().__init__(name=name, daemon=True)
        self.gname = name
        self.rng = random.Random(seed)
        self.sock = self._bind(0)
        self.port = self.sock.getsockname()[1]
        self.uri = "sip:127.0.0.1:%d" % self.port
        self.mode = "ok"
        self.retry_after = None
        self.lock = threading.Lock()
        self.records = {}        # (call_id, branch) -> Record
        self.by_call = {}        # call_id -> [Record]
        self.junk_sent = 0
        self.requests = 0
        self.restarts = 0
        self.stop_ev = threading.Event()
        self._heap = []          # (due, seq, generation, fn, args)
        self._seq = 0
        self._gen = 0            # bumped when killed: pending sends dropped
        self._tag = 0

    # ------------------------------------------------------------ control

    @staticmethod
    def _bind(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        s.bind(("127.0.0.1", port))
        s.setblocking(False)
        return s

    def set_mode(self, mode, retry_after=None):
        with self.lock:
            if mode == "dead" and self.mode != "dead":
                self._gen += 1
                self._heap = []
            elif mode != "dead" and self.mode == "dead":
                self._restart()
            self.mode = mode
            self.retry_after = retry_after

    def _restart(self):
        """Leaving "dead": what the kernel queued is read and not
        answered; the INVITEs among it are recorded. (holds the lock)"""
        self.restarts += 1
        while True:
            try:
                data, _ = self.sock.recvfrom(65535)
            except (BlockingIOError, OSError):
                return
            msg = soak_sip.parse(data)
            if msg is not None and msg.method == "INVITE":
                key = (msg.call_id, msg.top_branch)
                if key not in self.records:
                    rec = Record(msg.call_id, msg.top_branch,
                                 time.monotonic(), None)
                    self.records[key] = rec
                    self.by_call.setdefault(msg.call_id, []).append(rec)

    def stop(self):
        self.stop_ev.set()
        self.join(5)
        with self.lock:
            if self.sock is not None:
                self.sock.close()
                self.sock = None

    # ------------------------------------------------------------ loop

    def run(self):
        while not self.stop_ev.is_set():
            with self.lock:
                sock = None if self.mode == "dead" else self.sock
                due = self._heap[0][0] if self._heap else None
            now = time.monotonic()
            timeout = 0.05 if due is None else max(0.0, min(0.05, due - now))
            if sock is None:
                self.stop_ev.wait(timeout)
            else:
                try:
                    ready, _, _ = select.select([sock], [], [], timeout)
                except (OSError, ValueError):
                    ready = []
                if ready:
                    self._drain(sock)
            self._run_due()

    def _drain(self, sock):
        for _ in range(64):
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, OSError):
                return
            msg = soak_sip.parse(data)
            if msg is not None:
                with self.lock:
                    self._handle(msg, addr)

    def _run_due(self):
        now = time.monotonic()
        while True:
            with self.lock:
                if not self._heap or self._heap[0][0] > now:
                    return
                _, _, gen, fn, args = heapq.heappop(self._heap)
                if gen == self._gen:
                    fn(*args)

    def _later(self, delay, fn, *args):
        self._seq += 1
        heapq.heappush(self._heap, (time.monotonic() + delay, self._seq,
                                    self._gen, fn, args))

    def _send(self, data, addr):
        if self.sock is None:
            return
        try:
            self.sock.sendto(data, addr)
        except OSError:
            pass

    # ------------------------------------------------------------ SIP

    def _effective_mode(self):
        if self.mode == "flap":
            return "ok" if int(time.monotonic() / FLAP_S) % 2 == 0 else "503"
        return self.mode

    def _handle(self, msg, addr):
        self.requests += 1
        if msg.code is not None:
            return  # a reply: nothing of ours expects one
        mode = self._effective_mode()
        if msg.method == "INVITE":
            self._invite(msg, addr, mode)
        elif mode == "silent":
            return
        elif msg.method == "CANCEL":
            self._cancel(msg, addr)
        elif msg.method in ("BYE", "OPTIONS"):
            self._send(soak_sip.reply(msg, 200, "OK", to_tag=self._newtag()),
                       addr)
        # ACK: absorbed

    def _newtag(self):
        self._tag += 1
        return "%s-%d" % (self.gname, self._tag)

    def _invite(self, msg, addr, mode):
        key = (msg.call_id, msg.top_branch)
        rec = self.records.get(key)
        if rec is not None:
            return  # a retransmission: tm's, while we were slow or silent
        rec = Record(msg.call_id, msg.top_branch, time.monotonic(), msg)
        rec.req = (msg, addr, self._newtag())
        self.records[key] = rec
        self.by_call.setdefault(msg.call_id, []).append(rec)
        if mode == "silent":
            return
        kind = (msg.h("x-soak") or "answer").strip()
        if mode == "503":
            extra = ()
            if self.retry_after is not None:
                extra = ("Retry-After: %s" % self.retry_after,)
            self._final(rec, 503, "Service Unavailable", extra)
            return
        if mode == "malformed":
            self._malformed(rec)
            return
        self._prov(rec, 100, "Trying")
        if mode == "only100":
            return
        r = self.rng
        if kind in ("answer",):
            self._later(r.uniform(0, 0.02), self._prov, rec, 180, "Ringing")
            self._later(r.uniform(0.02, 0.1), self._final, rec, 200, "OK")
        elif kind == "busy":
            self._later(r.uniform(0, 0.05), self._final, rec, 486, "Busy Here")
        elif kind == "notfound":
            self._later(r.uniform(0, 0.05), self._final, rec, 404,
                        "Not Found")
        elif kind == "decline":
            self._later(r.uniform(0, 0.05), self._final, rec, 603, "Decline")
        elif kind == "ring":
            self._later(r.uniform(0, 0.02), self._prov, rec, 180, "Ringing")
        else:  # the caller cancels these: ring, answer late
            self._later(r.uniform(0, 0.02), self._prov, rec, 180, "Ringing")
            self._later(RING_LONG_S, self._final, rec, 200, "OK")

    def _prov(self, rec, code, reason):
        if rec.final is not None or rec.req is None:
            return
        msg, addr, tag = rec.req
        rec.heard = True
        self._send(soak_sip.reply(msg, code, reason, to_tag=tag), addr)

    def _final(self, rec, code, reason, extra=()):
        if rec.final is not None or rec.req is None:
            return
        msg, addr, tag = rec.req
        contact = "<sip:gw@127.0.0.1:%d>" % self.port if code < 300 else None
        body = soak_sip.SDP if code < 300 else ""
        rec.final = code
        rec.final_t = time.monotonic()
        rec.heard = True
        self._send(soak_sip.reply(msg, code, reason, to_tag=tag,
                                  contact=contact, extra=extra, body=body),
                   addr)

    def _malformed(self, rec):
        msg, addr, tag = rec.req
        pick = self.rng.randrange(4)
        # <heard> only once Kamailio got a reply it can parse (no 100
        # first here: junk alone leaves the INVITE unanswered)
        if pick == 0:
            self.junk_sent += 1
            self._send(bytes(self.rng.randrange(256) for _ in range(200)),
                       addr)
        elif pick == 1 and self.rng.random() < 0.5:
            self.junk_sent += 1
            self._send(soak_sip.reply(msg, 999, "Out Of Range", to_tag=tag)
                       .replace(b"SIP/2.0 999", b"SIP/2.0 99x", 1), addr)
        elif pick == 1:
            # any three digits parse: a final reply no caller can use
            rec.final = 999
            rec.final_t = time.monotonic()
            rec.heard = True
            self._send(soak_sip.reply(msg, 999, "Out Of Range", to_tag=tag),
                       addr)
        elif pick == 2:
            self._final(rec, 500, "X" * 3000)
        else:
            self._prov(rec, 183, "Session Progress")
            self._later(0.05, self._final, rec, 480, "Temporarily Unavailable",
                        ("Retry-After: soon (whenever)",))

    def _cancel(self, msg, addr):
        self._send(soak_sip.reply(msg, 200, "OK", to_tag=self._newtag()),
                   addr)
        rec = self.records.get((msg.call_id, msg.top_branch))
        if rec is None or rec.final is not None:
            return
        rec.cancelled = True
        self._final(rec, 487, "Request Terminated")

    # ------------------------------------------------------------ results

    def snapshot(self):
        with self.lock:
            return list(self.records.values())
