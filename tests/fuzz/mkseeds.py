#!/usr/bin/env python3
"""Write the seed corpus of the fuzz targets into corpus/<target>/.

The seeds are real inputs: the built-in rules and the manual's examples,
replies with the Retry-After headers carriers send, the RPC arguments of
the manual, webhook events as the module emits them. Rerun after changing
this file (it rewrites only the seeds it names, never the files someone
added by hand, such as regression inputs of findings).
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = b"\xff"  # field separator of fuzz_field() (fuzz_check.h)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_rules: option byte (bit 0: on top of the built-in table), text
DEFAULT_RULES = (
    "timeout=failover,count; 408=failover,count; 500=failover,count; "
    "502=failover,count; 503=failover,count; 504=failover,count; "
    "503+retry_after=failover,eject; 480=failover,ignore; "
    "401=stop,ignore; 403=stop,ignore; 404=stop,ignore; "
    "407=stop,ignore; 484=stop,ignore; 486=stop,ignore; "
    "487=stop,ignore; 600=stop,ignore; 603=stop,ignore; "
    "604=stop,ignore; 606=stop,ignore; 3xx=stop,ignore; "
    "4xx=stop,ignore; 5xx=failover,ignore; 6xx=stop,ignore; "
    "noanswer=stop,ignore; unreachable=failover,eject")
RULES = {
    "default": (0, DEFAULT_RULES),
    "manual-480": (1, "480=stop,ignore"),
    "manual-503-retry": (1, "503+retry_after=retry"),
    "manual-range": (1, "580-599=failover,count"),
    "manual-multi": (1, "404=failover,ignore; 500-599=failover,count;\n"
                        "  6XX = stop , ignore ;"),
    "noanswer": (1, "noanswer=failover,ignore; timeout=retry,eject"),
    "err-range": (0, "599-500=stop"),
    "err-health": (0, "503=failover,count,eject"),
    "err-retry-timeout": (0, "timeout+retry_after=stop"),
    "unreachable-count": (1, "unreachable=failover,count"),
    "err-empty": (0, " ; ;"),
}
for name, (opt, text) in RULES.items():
    write("fuzz_rules", name, bytes([opt]) + text.encode())

# ---- fuzz_retry_after: raw reply bytes
REPLIES = {
    "plain": b"SIP/2.0 503 Service Unavailable\r\n"
             b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776asdhds\r\n"
             b"From: <sip:alice@example.com>;tag=1928301774\r\n"
             b"To: <sip:bob@example.net>;tag=a6c85cf\r\n"
             b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
             b"CSeq: 314159 INVITE\r\n"
             b"Retry-After: 120\r\n"
             b"Content-Length: 0\r\n\r\n",
    "comment-params": b"SIP/2.0 503 Maintenance\r\n"
                      b"Retry-After: 18000 (scheduled maintenance);"
                      b"duration=3600\r\nContent-Length: 0\r\n\r\n",
    "lf-only": b"SIP/2.0 503 X\nretry-after:5\n\n",
    "blanks": b"SIP/2.0 503 X\r\nRETRY-AFTER \t: \t 9\r\n\r\n",
    "huge": b"SIP/2.0 503 X\r\nRetry-After: 99999999999999999999\r\n\r\n",
    "zero": b"SIP/2.0 503 X\r\nRetry-After: 0\r\n\r\n",
    "none": b"SIP/2.0 500 Server Internal Error\r\nVia: a\r\n\r\n",
    "in-body": b"SIP/2.0 503 X\r\nContent-Length: 17\r\n\r\n"
               b"Retry-After: 5\r\n",
    "bad-value": b"SIP/2.0 503 X\r\nRetry-After: soon\r\n\r\n",
    "two": b"SIP/2.0 503 X\r\nRetry-After: 3\r\nRetry-After: 9\r\n\r\n",
}
for name, data in REPLIES.items():
    write("fuzz_retry_after", name, data)

# ---- fuzz_trigger: mask (4), format size (1), list text
TRIGGERS = {
    "all": (0x1f, 96, "all"),
    "none": (0, 3, "none"),
    "empty": (0, 4, ""),
    "manual": (0x3, 12, "threshold, silence"),
    "mixed-case": (0xffffffff, 20, " Retry_After ,EJECT_RULE,\ttrial"),
    "err-empty-item": (0x10, 0, "silence,,trial"),
    "err-unknown": (0x8, 50, "silence,bogus"),
}
for name, (mask, size, text) in TRIGGERS.items():
    write("fuzz_trigger", name,
          struct.pack(">IB", mask, size) + text.encode())

# ---- fuzz_jitter: the modparam text
for name in ("none", "full", "equal", "decorrelated", "FULL", "Equal ",
             "bogus"):
    write("fuzz_jitter", name.strip() + ("-blank" if name != name.strip()
                                         else ""), name.encode())


# ---- fuzz_rpcargs: commands, each an op byte (op % 5: 0 get/restore/reset,
# 1 eject, 2 classify, 3 integer with a range, 4 set alone; op >> 6 % 3 + 1
# arguments) and its arguments separated by 0xff
def cmd(op, nargs, *args):
    return bytes([op | ((nargs - 1) << 6)]) + SEP.join(args) + SEP


RPC = {
    "get": cmd(0, 1, b"sip:gw1.example.com:5060")
           + cmd(0, 2, b"sip:gw1.example.com:5060", b"1")
           + cmd(0, 2, b"sip:gw2.example.com;transport=tcp", b"2"),
    "eject": cmd(1, 3, b"sip:192.0.2.10:5060", b"300", b"1")
             + cmd(1, 2, b"sip:192.0.2.10:5060", b"86400")
             + cmd(1, 2, b"sip:192.0.2.10:5060", b"0"),
    "classify": cmd(2, 1, b"503") + cmd(2, 2, b"408", b"timeout")
                + cmd(2, 1, b"486") + cmd(2, 1, b"700"),
    "ints": cmd(3, 1, b"-2147483648") + struct.pack(">ii", -2**31, 0)
            + cmd(3, 1, b"2147483648") + struct.pack(">ii", 0, 2**31 - 1)
            + cmd(4, 1, b"00000000000000000007") + cmd(4, 1, b"+7"),
    "full-table": b"".join(cmd(0, 2, b"sip:gw%d@example.com" % i, b"1")
                           for i in range(6))
                  + cmd(0, 1, b"sip:" + b"a" * 300),
}
for name, data in RPC.items():
    write("fuzz_rpcargs", name, data)

# ---- fuzz_whbody: event header (struct layout in fuzz_whbody.c), then URI,
# reason, node, id and secret separated by 0xff
KINDS = {"down": 0, "reopened": 1, "half-open": 2, "up": 3, "set-down": 4,
         "set-up": 5, "set-panic": 6, "set-calm": 7, "would-eject": 8}


def event(kind, why, prev, uri, reason, node=b"proxy-a", codes=(503, 503, 503)):
    codes = list(codes) + [0] * (8 - len(codes))
    hdr = struct.pack(">BBB", kind, why, prev)
    hdr += struct.pack(">iiI", 1, codes[0], 3)  # set, code, consec_faults
    hdr += struct.pack(">I", 30000)  # open_ms
    hdr += struct.pack(">Q", 2)  # ejections
    hdr += struct.pack(">Q", 1795370617123)  # wall_ms: 2026-11-21
    hdr += struct.pack(">IIII", 3, 2, 0, 2)  # gateways, healthy, refused, mult
    hdr += struct.pack(">I", 60000)  # next_eject_ms
    hdr += struct.pack(">B", len([c for c in codes if c]))
    hdr += b"".join(struct.pack(">h", c) for c in codes)
    hdr += struct.pack(">I", 0)  # suppressed
    return hdr + SEP.join([uri, reason, node, b"5f3a9c0e12d4b7a1-42",
                           b"s3cret"])


WH = {
    "down": event(KINDS["down"], 1, 0, b"sip:gw1.example.com:5060",
                  b"3 consecutive faults, last 503"),
    "manual-eject": event(KINDS["down"], 5, 0, b"sip:192.0.2.10:5060",
                          b"manual eject for 300 s"),
    "half-open": event(KINDS["half-open"], 6, 1, b"sip:gw1.example.com",
                       b"ejection time over"),
    "restored": event(KINDS["up"], 8, 2, b"sip:gw1.example.com",
                      b"2 trial calls succeeded"),
    "set-panic": event(KINDS["set-panic"], 1, 0, b"sip:gw2.example.com",
                       b"3 consecutive faults, last a timeout (408)"),
    "set-calm": event(KINDS["set-calm"], 0, 0, b"", b""),
    "would-eject": event(KINDS["would-eject"], 2, 0, b"sip:gw3.example.com",
                         b"Retry-After 120 s (503)"),
    "quotes-control": event(KINDS["down"], 1, 0,
                            b'sip:"gw"\\1@example.com;x=\x01\x1f\t\n\x7f',
                            b'say "hi"\r\n'),
    "utf8": event(KINDS["reopened"], 4, 2,
                  "sip:b\u00fccher@\u4f8b\u3048.jp;x=\U0001f600".encode(),
                  "trial call failed (503) \u2014 ok".encode(),
                  node="n\u00f6de".encode()),
    "invalid-utf8": event(KINDS["down"], 1, 0,
                          b"sip:\xff\xfe@\xc0\xaf.\xed\xa0\x80\xf4\x90\x80\x80"
                          b"\xe2\x82",
                          b"bad \x80 reason \xc3", node=b"node-\xe9"),
}
for name, data in WH.items():
    write("fuzz_whbody", name, data)


# ---- fuzz_state: a state file as the module writes it
STATE = {
    "empty": "gwfailover-state 1\nend count=0\n",
    "two": "gwfailover-state 1\n"
           "gw set=1 uri=sip:10.0.0.1:5060 state=open until=1764860123456 "
           "mult=2 manual=0 why=faults code=503 arg=5\n"
           "gw set=2 uri=sip:gw.example.com;transport=tcp state=half-open "
           "until=0 mult=1 manual=0 why=time_over code=0 arg=0\n"
           "end count=2\n",
    "manual": "gwfailover-state 1\n"
              "gw set=1 uri=sip:10.0.0.3:5060 state=open until=1764860400000 "
              "mult=0 manual=1 why=manual_eject code=0 arg=300\n"
              "end count=1\n",
    "newer": "gwfailover-state 2\n"
             "gw set=1 uri=sip:a state=open until=5 color=red why=moon\n"
             "end count=1\n",
    "truncated": "gwfailover-state 1\ngw set=1 uri=sip:a state=open unt",
}
for name, text in STATE.items():
    write("fuzz_state", name, text.encode())
