"""SIP message helpers of the soak: parse a datagram, build a reply to a
request. Only what the soak's own caller and gateways need; every message
they read comes from Kamailio (or from themselves), so the parser is lenient
and never raises on junk: a datagram it cannot read gives None."""

import re

_HDR_RE = re.compile(r"^([A-Za-z-]+)\s*:\s*(.*)$")
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id",
            "l": "content-length", "m": "contact", "c": "content-type"}


class Msg:
    """One SIP message: first line, headers (lower name -> [values] in
    order, and the raw lines in order), body."""

    __slots__ = ("first", "headers", "lines", "body", "code", "method",
                 "ruri")

    def __init__(self, first, headers, lines, body):
        self.first = first
        self.headers = headers
        self.lines = lines
        self.body = body
        self.code = None
        self.method = None
        self.ruri = None
        parts = first.split(" ", 2)
        if first.startswith("SIP/2.0 ") and len(parts) >= 2:
            try:
                self.code = int(parts[1])
            except ValueError:
                self.code = None
        elif len(parts) == 3:
            self.method, self.ruri = parts[0], parts[1]

    def h(self, name):
        vals = self.headers.get(name)
        return vals[0] if vals else None

    def hall(self, name):
        return self.headers.get(name, [])

    @property
    def call_id(self):
        return self.h("call-id")

    @property
    def cseq(self):
        """(number, method) or (None, None)."""
        v = self.h("cseq")
        if not v:
            return None, None
        p = v.split()
        if len(p) != 2:
            return None, None
        try:
            return int(p[0]), p[1].upper()
        except ValueError:
            return None, None

    @property
    def top_branch(self):
        v = self.h("via")
        if not v:
            return None
        m = re.search(r";\s*branch=([^;,\s]+)", v)
        return m.group(1) if m else None

    def to_tag(self):
        v = self.h("to") or ""
        m = re.search(r";\s*tag=([^;>\s]+)", v)
        return m.group(1) if m else None


def parse(data):
    try:
        text = data.decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - junk is no message
        return None
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    if not lines or not lines[0]:
        return None
    headers, raw = {}, []
    for line in lines[1:]:
        m = _HDR_RE.match(line)
        if not m:
            continue
        name = m.group(1).lower()
        name = _COMPACT.get(name, name)
        # a header line may carry several comma-separated Via values
        vals = [m.group(2)]
        if name in ("via", "record-route", "route"):
            vals = [v.strip() for v in _split_commas(m.group(2))]
        for v in vals:
            headers.setdefault(name, []).append(v)
            raw.append((name, v))
    return Msg(lines[0], headers, raw, body)


def _split_commas(value):
    out, depth, cur = [], 0, []
    for ch in value:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "," and depth <= 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [v for v in out if v.strip()]


SDP = ("v=0\r\no=soak 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
       "t=0 0\r\nm=audio 9 RTP/AVP 0\r\n")


def reply(req, code, reason, to_tag=None, contact=None, extra=(),
          body=""):
    """The bytes of a reply <code> <reason> to request <req>: its Vias,
    From, Call-ID and CSeq; To with <to_tag> added when it has none;
    Record-Route copied for 1xx/2xx; <extra> header lines as they are."""
    out = ["SIP/2.0 %d %s" % (code, reason)]
    for v in req.hall("via"):
        out.append("Via: " + v)
    if 100 < code < 300:
        for v in req.hall("record-route"):
            out.append("Record-Route: " + v)
    out.append("From: " + (req.h("from") or ""))
    to = req.h("to") or ""
    if to_tag and code > 100 and ";tag=" not in to.replace(" ", ""):
        to += ";tag=" + to_tag
    out.append("To: " + to)
    out.append("Call-ID: " + (req.call_id or ""))
    out.append("CSeq: " + (req.h("cseq") or ""))
    if contact:
        out.append("Contact: " + contact)
    out.extend(extra)
    if body:
        out.append("Content-Type: application/sdp")
    out.append("Content-Length: %d" % len(body.encode()))
    return ("\r\n".join(out) + "\r\n\r\n" + body).encode()
