"""The caller of the soak: a SIP UAC on 127.0.0.1 that places calls at a
fixed rate through the proxy, each of one kind (header X-Soak, which the
soak's gateways obey), and records every reply, so the soak can check each
call's outcome.

Kinds:
  answer          the callee answers (200); the caller ACKs and hangs up
  busy, notfound, decline
                  the callee answers 486 / 404 / 603
  ring            the callee rings and never answers: tm's fr_inv_timer
  cancel_early    the caller cancels right after the proxy's 100, before
                  any gateway replied
  cancel_ringing  the caller cancels once it hears 180
  cancel_late     the caller cancels at a random moment up to 2.5 s in
                  (during a failover delay, on a silent gateway, ...)
For the cancel kinds the callee rings and answers only after 2.5 s.

RFC 3261 as far as the soak needs it: INVITE retransmitted (T1 doubling)
until a reply, CANCEL and BYE until theirs; ACK for every final (a new
transaction for a 2xx, along the Record-Route set). One thread, one
socket, select().
"""

import heapq
import random
import select
import socket
import time

import soak_sip

KINDS = (("answer", 55), ("busy", 6), ("notfound", 5), ("decline", 5),
         ("ring", 2), ("cancel_early", 7), ("cancel_ringing", 10),
         ("cancel_late", 10))
T1 = 0.5
CALL_DEADLINE_S = 60.0


class Call:
    __slots__ = ("n", "call_id", "kind", "branch", "t0", "replies",
                 "final", "final_t", "oks", "cancel_t", "cancel_code",
                 "cancel_code_t", "invite", "retx", "retx_due", "heard",
                 "cancel_at", "bye_pending", "byes_ok", "from_tag", "done_t",
                 "cancel_msg", "cancel_retx", "final_reason")

    def __init__(self, n, call_id, kind):
        self.n = n
        self.call_id = call_id
        self.kind = kind
        self.branch = "z9hG4bK-soak-%d" % n
        self.t0 = None
        self.replies = []       # (t, code) of every INVITE reply
        self.final = None       # first final code
        self.final_t = None
        self.oks = set()        # To-tags of the 2xx received
        self.cancel_t = None    # when the caller sent CANCEL
        self.cancel_code = None
        self.cancel_code_t = None
        self.invite = None
        self.retx = 0
        self.retx_due = None
        self.heard = False
        self.cancel_at = None   # time to cancel (cancel_late)
        self.bye_pending = {}   # to-tag -> (bytes, tries)
        self.byes_ok = 0
        self.from_tag = "c%d" % n
        self.done_t = None
        self.cancel_msg = None
        self.cancel_retx = 0
        self.final_reason = None


class Caller:
    def __init__(self, proxy_port, rng, rate, calls, prefix):
        self.proxy = ("127.0.0.1", proxy_port)
        self.rng = rng
        self.rate = rate
        self.total = calls
        self.prefix = prefix
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.calls = {}
        self.order = []
        self._heap = []
        self._seq = 0
        self.started = 0
        self.stray = 0
        kinds, weights = zip(*KINDS)
        self._kinds, self._weights = kinds, weights

    def kinds_only(self, kind):
        """Every call of one kind (the warm-up, the calls after the
        chaos)."""
        self._kinds, self._weights = (kind,), (1,)

    # ------------------------------------------------------------ sending

    def _tx(self, data):
        try:
            self.sock.sendto(data, self.proxy)
        except OSError:
            pass

    def _later(self, t, fn, *args):
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, fn, args))

    def _invite_bytes(self, c):
        body = soak_sip.SDP
        return ("INVITE sip:callee@127.0.0.1:%d SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:caller@127.0.0.1>;tag=%s\r\n"
                "To: <sip:callee@127.0.0.1>\r\n"
                "Call-ID: %s\r\n"
                "CSeq: 1 INVITE\r\n"
                "Contact: <sip:caller@127.0.0.1:%d>\r\n"
                "X-Soak: %s\r\n"
                "Content-Type: application/sdp\r\n"
                "Content-Length: %d\r\n\r\n%s"
                % (self.proxy[1], self.port, c.branch, c.from_tag, c.call_id,
                   self.port, c.kind, len(body), body)).encode()

    def _cancel_bytes(self, c):
        return ("CANCEL sip:callee@127.0.0.1:%d SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:caller@127.0.0.1>;tag=%s\r\n"
                "To: <sip:callee@127.0.0.1>\r\n"
                "Call-ID: %s\r\n"
                "CSeq: 1 CANCEL\r\n"
                "Content-Length: 0\r\n\r\n"
                % (self.proxy[1], self.port, c.branch, c.from_tag,
                   c.call_id)).encode()

    def _ack_negative(self, c, msg):
        self._tx(("ACK sip:callee@127.0.0.1:%d SIP/2.0\r\n"
                  "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"
                  "Max-Forwards: 70\r\n"
                  "From: <sip:caller@127.0.0.1>;tag=%s\r\n"
                  "To: %s\r\n"
                  "Call-ID: %s\r\n"
                  "CSeq: 1 ACK\r\n"
                  "Content-Length: 0\r\n\r\n"
                  % (self.proxy[1], self.port, c.branch, c.from_tag,
                     msg.h("to"), c.call_id)).encode())

    def _in_dialog(self, c, msg, method, cseq, n):
        """ACK or BYE for 2xx <msg>: R-URI its Contact, Route its
        Record-Route set reversed."""
        contact = msg.h("contact") or "<sip:callee@127.0.0.1>"
        ruri = contact.strip()
        if ruri.startswith("<"):
            ruri = ruri[1:ruri.index(">")] if ">" in ruri else ruri[1:]
        routes = list(reversed(msg.hall("record-route")))
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-soak-%s-%d-%s"
                 ";rport" % (self.port, method.lower(), c.n, n)]
        for r in routes:
            lines.append("Route: " + r)
        lines += ["Max-Forwards: 70",
                  "From: <sip:caller@127.0.0.1>;tag=%s" % c.from_tag,
                  "To: %s" % msg.h("to"),
                  "Call-ID: %s" % c.call_id,
                  "CSeq: %d %s" % (cseq, method),
                  "Content-Length: 0"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    # ------------------------------------------------------------ calls

    def _start_call(self, n, now):
        kind = self.rng.choices(self._kinds, self._weights)[0]
        c = Call(n, "%s-%d@soak" % (self.prefix, n), kind)
        self.calls[c.call_id] = c
        self.order.append(c)
        c.t0 = now
        c.invite = self._invite_bytes(c)
        self._tx(c.invite)
        c.retx_due = now + T1
        if kind == "cancel_late":
            c.cancel_at = now + self.rng.uniform(0.05, 2.4)
            self._later(c.cancel_at, self._cancel, c)
        self.started += 1

    def _cancel(self, c):
        if c.final is not None or c.cancel_t is not None:
            return
        if not c.heard:
            # RFC 3261 9.1: no CANCEL before a provisional; wait for it
            self._later(time.monotonic() + 0.02, self._cancel, c)
            return
        c.cancel_t = time.monotonic()
        c.cancel_msg = self._cancel_bytes(c)
        self._tx(c.cancel_msg)
        self._later(c.cancel_t + T1, self._cancel_retx, c)

    def _cancel_retx(self, c):
        if c.cancel_code is not None or c.cancel_retx >= 6:
            return
        c.cancel_retx += 1
        self._tx(c.cancel_msg)
        self._later(time.monotonic() + T1 * (2 ** c.cancel_retx),
                    self._cancel_retx, c)

    def _bye_retx(self, c, tag):
        entry = c.bye_pending.get(tag)
        if entry is None:
            return
        data, tries = entry
        if tries >= 6:
            del c.bye_pending[tag]
            return
        c.bye_pending[tag] = (data, tries + 1)
        self._tx(data)
        self._later(time.monotonic() + T1 * (2 ** (tries + 1)),
                    self._bye_retx, c, tag)

    def _reply(self, msg, now):
        c = self.calls.get(msg.call_id)
        if c is None:
            self.stray += 1
            return
        num, method = msg.cseq
        if method == "CANCEL":
            if c.cancel_code is None:
                c.cancel_code, c.cancel_code_t = msg.code, now
            return
        if method == "BYE":
            tag = msg.to_tag()
            if tag in c.bye_pending:
                del c.bye_pending[tag]
                c.byes_ok += 1
            return
        if method != "INVITE":
            return
        c.heard = True
        c.replies.append((now, msg.code))
        if msg.code < 200:
            if c.kind == "cancel_early" and c.cancel_t is None \
                    and msg.code == 100:
                self._later(now + self.rng.uniform(0, 0.03), self._cancel, c)
            elif c.kind == "cancel_ringing" and msg.code == 180:
                self._later(now + self.rng.uniform(0, 0.2), self._cancel, c)
            return
        if c.final is None:
            c.final, c.final_t = msg.code, now
            c.final_reason = msg.first.split(" ", 2)[2] \
                if msg.first.count(" ") >= 2 else ""
        if msg.code < 300:
            tag = msg.to_tag()
            if tag in c.oks:
                # a retransmitted 2xx: our ACK was lost, send it again
                self._tx(self._in_dialog(c, msg, "ACK", 1, "r%d" % now))
                return
            c.oks.add(tag)
            self._tx(self._in_dialog(c, msg, "ACK", 1, len(c.oks)))
            bye = self._in_dialog(c, msg, "BYE", 2, len(c.oks))
            c.bye_pending[tag] = (bye, 0)
            self._later(now + self.rng.uniform(0, 0.05), self._bye_retx, c,
                        tag)
        else:
            self._ack_negative(c, msg)

    def _retransmit(self, now):
        for c in self.order[-2000:]:
            if c.heard or c.retx_due is None or now < c.retx_due:
                continue
            if c.retx >= 6:
                c.retx_due = None
                continue
            c.retx += 1
            self._tx(c.invite)
            c.retx_due = now + min(4.0, T1 * (2 ** c.retx))

    def pending(self):
        return [c for c in self.order if c.final is None or c.bye_pending
                or (c.cancel_t is not None and c.cancel_code is None
                    and c.cancel_retx < 6)]

    # ------------------------------------------------------------ loop

    def run(self, on_tick=None):
        """Place every call at the rate, then wait until each has its final
        reply (and its BYEs done), at most CALL_DEADLINE_S after the last
        INVITE."""
        t_start = time.monotonic()
        n = 0
        last_retx = last_check = t_start
        end = None
        while True:
            now = time.monotonic()
            while n < self.total and t_start + n / self.rate <= now:
                self._start_call(n, now)
                n += 1
            if n >= self.total and end is None:
                end = now + CALL_DEADLINE_S
            if end is not None and now - last_check > 0.2:
                last_check = now
                if now > end or not self.pending():
                    return
            if on_tick is not None:
                on_tick(now - t_start)
            timeout = 0.01
            if self._heap:
                timeout = max(0.0, min(timeout, self._heap[0][0] - now))
            try:
                ready, _, _ = select.select([self.sock], [], [], timeout)
            except OSError:
                ready = []
            if ready:
                for _ in range(256):
                    try:
                        data = self.sock.recv(65535)
                    except (BlockingIOError, OSError):
                        break
                    msg = soak_sip.parse(data)
                    if msg is not None and msg.code is not None:
                        self._reply(msg, time.monotonic())
                    elif msg is not None and msg.method in ("BYE",):
                        self._tx(soak_sip.reply(msg, 200, "OK"))
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:
                _, _, fn, args = heapq.heappop(self._heap)
                fn(*args)
            if now - last_retx > 0.1:
                last_retx = now
                self._retransmit(now)
