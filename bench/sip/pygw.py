"""A scriptable SIP gateway on 127.0.0.1 for the outage figures.

sipp cannot change its behaviour in the middle of a run, and a gateway that
is stopped and restarted on the same port loses the record of what it
received. This gateway runs in a thread of the benchmark driver, answers
according to a schedule (a function of the time since start()), and records
every request it receives with its arrival time, so the driver can count
exactly which INVITEs reached it and when.

Behaviours:
  "ok"      INVITE -> 200 with SDP (Record-Route copied), BYE -> 200,
            OPTIONS -> 200, ACK absorbed
  "503"     INVITE and OPTIONS -> 503 Service Unavailable, with
            "Retry-After: <n>" when retry_after is set; ACK absorbed
  "silent"  blackhole: records and never answers anything

Low call rates only (tens of calls per second): it is Python.
"""

import re
import select
import socket
import threading
import time

_HDR_RE = re.compile(r"^([A-Za-z-]+)\s*:\s*(.*)$")
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id",
            "l": "content-length", "m": "contact", "c": "content-type"}


class Request:
    __slots__ = ("time", "method", "call_id", "branch", "behaviour")

    def __init__(self, t, method, call_id, branch, behaviour):
        self.time = t
        self.method = method
        self.call_id = call_id
        self.branch = branch
        self.behaviour = behaviour


def _parse(data):
    text = data.decode("utf-8", "replace")
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    first = lines[0]
    headers = []  # (lower name, raw line) in order
    for line in lines[1:]:
        m = _HDR_RE.match(line)
        if not m:
            continue
        name = m.group(1).lower()
        name = _COMPACT.get(name, name)
        headers.append((name, line, m.group(2)))
    return first, headers


class PyGateway(threading.Thread):
    def __init__(self, schedule, retry_after=None, name="gw"):
        """schedule(t) -> "ok" | "503" | "silent", t = seconds since
        start_clock() (or since the thread started)."""
        super().__init__(daemon=True, name=name)
        self.schedule = schedule
        self.retry_after = retry_after
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.uri = "sip:127.0.0.1:%d" % self.port
        self.requests = []   # Request, in arrival order
        self.replies = []    # (time, code, cseq method)
        self._halt = threading.Event()
        self._t0 = None
        self._tags = 0

    def start_clock(self, t0=None):
        """Schedule time 0 (time.time()); default: now."""
        self._t0 = time.time() if t0 is None else t0

    def behaviour(self, now):
        if self._t0 is None:
            return self.schedule(0.0)
        return self.schedule(now - self._t0)

    def stop(self):
        self._halt.set()
        self.join(5)
        self.sock.close()

    def invites(self):
        """INVITE transactions received (retransmissions folded)."""
        seen, out = set(), []
        for r in self.requests:
            if r.method == "INVITE" and (r.call_id, r.branch) not in seen:
                seen.add((r.call_id, r.branch))
                out.append(r)
        return out

    def run(self):
        while not self._halt.is_set():
            ready, _, _ = select.select([self.sock], [], [], 0.1)
            if not ready:
                continue
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                break
            now = time.time()
            try:
                self._handle(data, addr, now)
            except Exception:  # noqa: BLE001 - a bad packet must not stop it
                pass

    def _handle(self, data, addr, now):
        first, headers = _parse(data)
        if first.startswith("SIP/2.0"):
            return  # no requests of our own: replies are not expected
        method = first.split(" ", 1)[0]
        get = dict((n, v) for n, _, v in reversed(headers))
        via = get.get("via", "")
        m = re.search(r"branch=([^;,\s]+)", via)
        branch = m.group(1) if m else ""
        beh = self.behaviour(now)
        self.requests.append(Request(now, method, get.get("call-id", ""),
                                     branch, beh))
        if beh == "silent" or method == "ACK":
            return
        if method == "INVITE":
            if beh == "503":
                self._reply(addr, headers, 503, "Service Unavailable",
                            to_tag=True, retry_after=self.retry_after)
            else:
                self._reply(addr, headers, 200, "OK", to_tag=True, sdp=True,
                            rr=True)
        elif method == "OPTIONS":
            if beh == "503":
                self._reply(addr, headers, 503, "Service Unavailable",
                            to_tag=True, retry_after=self.retry_after)
            else:
                self._reply(addr, headers, 200, "OK", to_tag=True)
        elif method in ("BYE", "CANCEL"):
            self._reply(addr, headers, 200, "OK")
        else:
            self._reply(addr, headers, 405, "Method Not Allowed",
                        to_tag=True)

    def _reply(self, addr, headers, code, reason, to_tag=False, sdp=False,
               rr=False, retry_after=None):
        out = ["SIP/2.0 %d %s" % (code, reason)]
        cseq = ""
        for name, line, value in headers:
            if name == "via":
                out.append(line)
            elif name == "record-route" and rr:
                out.append(line)
            elif name == "to":
                if to_tag and ";tag=" not in value:
                    self._tags += 1
                    line = line + ";tag=pygw%d" % self._tags
                out.append(line)
            elif name in ("from", "call-id"):
                out.append(line)
            elif name == "cseq":
                out.append(line)
                cseq = value
        if retry_after is not None:
            out.append("Retry-After: %d" % retry_after)
        body = ""
        if code == 200 and sdp:
            out.append("Contact: <sip:gw@127.0.0.1:%d>" % self.port)
            body = ("v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                    "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                    "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
            out.append("Content-Type: application/sdp")
        out.append("Content-Length: %d" % len(body))
        msg = "\r\n".join(out) + "\r\n\r\n" + body
        self.sock.sendto(msg.encode(), addr)
        self.replies.append((time.time(), code, cseq.split(" ")[-1]))
