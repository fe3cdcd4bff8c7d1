"""gwfailover demo: two gateways behind cfg/kamailio.cfg, on loopback.

The primary gateway (priority 20) answers every INVITE with 503, the backup
(priority 10) answers 200. A sipp caller places a few calls through
Kamailio: the first calls reach the primary and fail over to the backup;
after failure_threshold faults gwfailover ejects the primary from the
dispatcher set and the remaining calls go straight to the backup.

The demo shows what an operator sees: `kamcmd gwfailover.list` before the
calls and after the primary has been ejected, the log lines of the config's
event_route[gwfailover:gw-down] / [gwfailover:gw-up],
`kamcmd stats.get_statistics gwfailover:`, and at the end the webhook events
Kamailio posted: the demo runs a small HTTP listener on 127.0.0.1 (a free
port, in a thread of its own, answering 200), starts Kamailio with
-A WEBHOOK_URL / WEBHOOK_SECRET / NODE_NAME pointing at it, checks the
X-Gwfailover-Signature of every request and prints the events it got.

Run from the repository root:  /usr/bin/python3 scripts/demo.py
(`make demo` builds the module first). Exits non-zero when the demo did not
behave as described; the logs are then kept under /tmp. Every wait is
bounded and every process the demo starts is stopped by its PID.
"""

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
from webhook_listener import WebhookListener  # noqa: E402

CFG = os.path.join(ROOT, "cfg", "kamailio.cfg")
DS_LIST = os.path.join(ROOT, "cfg", "dispatcher.list")

CALLS = 10
RATE = 4                # calls per second
FAILURE_THRESHOLD = 3   # faults that eject the primary
EJECT_TIME_S = 60       # longer than the demo: the primary stays out
DELAY_BASE_MS = 50      # failover delay, kept short for the demo
DELAY_MIN_MS = 20
DELAY_MAX_MS = 200
NODE_NAME = "gwfailover-demo"   # "node" field of the webhook events
WEBHOOK_PATH = "/hook"
WEBHOOK_WAIT_S = 5      # bound for the gateway_ejected webhook to arrive

# Ports of cfg/dispatcher.list; others are taken when these are busy.
DEFAULT_SIP_PORT = 5070
DEFAULT_PRIMARY_PORT = 5071
DEFAULT_BACKUP_PORT = 5072


def port_free(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def pick_port(preferred, taken):
    port = preferred
    while not port_free(port) or port in taken:
        port = harness.free_udp_port()
    taken.add(port)
    return port


def start_gateway(run, name, port, scenario, **subst):
    """A sipp UAS on 127.0.0.1:<port>; returns (proc, trace path)."""
    scen = run.template(scenario, **subst) if subst else \
        os.path.join(harness.SIPP_DIR, scenario)
    trace = run.path(name + "_messages.log")
    proc = run.spawn(name, [
        harness.SIPP, "-sf", scen, "-i", "127.0.0.1", "-p", str(port),
        "-nostdin", "-trace_msg", "-message_file", trace,
        "-trace_err", "-error_file", run.path(name + "_errors.log"),
        "-max_recv_loops", "1000", "-timeout", "120s"])
    harness.wait_until(lambda: not port_free(port) or not proc.running(),
                       10, what="gateway %s to listen" % name)
    if not proc.running():
        raise RuntimeError("gateway %s exited:\n%s" % (name, proc.output()))
    return proc, trace


def write_dispatcher_list(run, primary_port, backup_port):
    """cfg/dispatcher.list with the demo's gateway ports."""
    with open(DS_LIST) as f:
        text = f.read()
    text = text.replace("127.0.0.1:%d" % DEFAULT_PRIMARY_PORT,
                        "127.0.0.1:%d" % primary_port)
    text = text.replace("127.0.0.1:%d" % DEFAULT_BACKUP_PORT,
                        "127.0.0.1:%d" % backup_port)
    return run.write("dispatcher.list", text)


def kamailio_defines(sip_port, ds_list, ctl_sock, webhook_url,
                     webhook_secret):
    """The -A overrides of cfg/kamailio.cfg used by the demo."""
    defines = [
        "LISTEN_ADDR=127.0.0.1",
        "SIP_PORT=%d" % sip_port,
        "CHILDREN=2",
        'MPATH="%s/"' % harness.stock_module_dir(),
        'GWF_SO="%s"' % harness.MODULE_SO,
        'DS_LIST="%s"' % ds_list,
        'CTL_SOCK="unix:%s"' % ctl_sock,
        "GWF_FAILURE_THRESHOLD=%d" % FAILURE_THRESHOLD,
        "GWF_EJECT_TIME_S=%d" % EJECT_TIME_S,
        "GWF_DELAY_BASE_MS=%d" % DELAY_BASE_MS,
        "GWF_DELAY_MIN_MS=%d" % DELAY_MIN_MS,
        "GWF_DELAY_MAX_MS=%d" % DELAY_MAX_MS,
        'WEBHOOK_URL="%s"' % webhook_url,
        'WEBHOOK_SECRET="%s"' % webhook_secret,
        'NODE_NAME="%s"' % NODE_NAME,
    ]
    argv = []
    for d in defines:
        argv += ["-A", d]
    return argv


def kamcmd(ctl_sock, *args):
    return subprocess.run([harness.KAMCMD, "-s", "unix:" + ctl_sock] +
                          list(args), capture_output=True, text=True,
                          timeout=10)


def start_kamailio(run, sip_port, ds_list, webhook_url, webhook_secret):
    ctl_sock = run.sock("ctl.sock")
    argv = [harness.KAMAILIO, "-f", CFG, "-DD", "-E", "-w", run.dir,
            "-Y", run.dir, "-m", "64", "-M", "8", "-a", "no"]
    argv += kamailio_defines(sip_port, ds_list, ctl_sock, webhook_url,
                             webhook_secret)
    proc = run.spawn("kamailio", argv)

    def ready():
        if not proc.running():
            raise RuntimeError("kamailio exited with %s:\n%s"
                               % (proc.popen.returncode,
                                  proc.output()[-4000:]))
        return os.path.exists(ctl_sock) and \
            kamcmd(ctl_sock, "core.uptime").returncode == 0
    harness.wait_until(ready, 15, step=0.1, what="kamailio to start")
    return proc, ctl_sock


def dispatcher_entries(ctl_sock):
    """[(uri, flags, priority)] from `kamcmd dispatcher.list`."""
    res = kamcmd(ctl_sock, "dispatcher.list")
    if res.returncode != 0:
        raise RuntimeError("kamcmd dispatcher.list failed: %s %s"
                           % (res.stdout, res.stderr))
    entries, cur = [], None
    for line in res.stdout.splitlines():
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if key == "URI":
            cur = [value, "", ""]
            entries.append(cur)
        elif key == "FLAGS" and cur:
            cur[1] = value
        elif key == "PRIORITY" and cur:
            cur[2] = value
    return [tuple(e) for e in entries]


def kamcmd_out(ctl_sock, *args):
    res = kamcmd(ctl_sock, *args)
    if res.returncode != 0:
        raise RuntimeError("kamcmd %s failed: %s %s"
                           % (" ".join(args), res.stdout, res.stderr))
    return res.stdout


def parse_gateways(out):
    """{uri: gateway struct} from `kamcmd gwfailover.list` output."""
    reply = harness.parse_kamcmd(out)
    return dict((gw["uri"], gw) for gw in reply.get("gateways", []))


def show_gateways(title, ctl_sock, names):
    """Print `kamcmd gwfailover.list` as is; return it parsed."""
    out = kamcmd_out(ctl_sock, "gwfailover.list")
    print("\n%s:\n$ kamcmd gwfailover.list" % title)
    for line in out.rstrip("\n").splitlines():
        note = ""
        m = re.match(r"\s*uri:\s*(\S+)", line)
        if m and m.group(1) in names:
            note = "    <- " + names[m.group(1)]
        print("  " + line.replace("\t", "    ") + note)
    return parse_gateways(out)


def show_stats(ctl_sock):
    """Print `kamcmd stats.get_statistics gwfailover:`; return {name: n}."""
    out = kamcmd_out(ctl_sock, "stats.get_statistics", "gwfailover:")
    print("\n$ kamcmd stats.get_statistics gwfailover:")
    for line in out.rstrip("\n").splitlines():
        print("  " + line.strip())
    return dict((name, int(value)) for name, value in
                re.findall(r"gwfailover:(\w+) = (-?\d+)", out))


def event_lines(kam):
    """Log lines of the config's gw-down / gw-up event routes."""
    return [line.strip() for line in kam.output().splitlines()
            if "gw-down: gateway" in line or "gw-up: gateway" in line]


def signature_ok(secret, body, header):
    """X-Gwfailover-Signature check as the manual describes it: HMAC-SHA256
    of the raw body (bytes as received, before any JSON parsing), compared
    in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body,
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), (header or "").encode())


def webhook_events(listener, secret):
    """[(request, parsed body or None, signature ok)] of every request the
    listener recorded, in arrival order."""
    events = []
    for req in listener.requests:
        try:
            body = req.json()
        except ValueError:
            body = None
        events.append((req, body, signature_ok(
            secret, req.body, req.header("X-Gwfailover-Signature"))))
    return events


def is_ejection_of(body, uri):
    return isinstance(body, dict) and \
        body.get("event") == "gateway_ejected" and body.get("gateway") == uri


def show_webhooks(listener, events):
    """Print the events the listener got: a summary line (event, gateway,
    set, state, reason), the request line and signature, the body."""
    print("\nWebhook events received by the local listener (%s):"
          % listener.url(WEBHOOK_PATH))
    if not events:
        print("  (none)")
    for n, (req, body, sig_ok) in enumerate(events, 1):
        if isinstance(body, dict):
            where = body.get("gateway") or "gateways %s" % body.get("gateways")
            print("  %d. %s  %s  set %s  -> %s  (%s)" % (
                n, body.get("event"), where, body.get("set"),
                body.get("state", "healthy %s" % body.get("healthy")),
                body.get("reason", "")))
        else:
            print("  %d. (not a JSON object)" % n)
        sig = req.header("X-Gwfailover-Signature") or "(no signature)"
        print("     %s %s  X-Gwfailover-Signature: %s (%s)" % (
            req.method, req.path, sig, "valid" if sig_ok else "INVALID"))
        for line in pretty(body, req.body):
            print("     " + line)


def pretty(body, raw):
    """Lines of a JSON object, one member a line (arrays kept on theirs);
    the raw body when it is not one."""
    if not isinstance(body, dict):
        return raw.decode("utf-8", "replace").splitlines() or ["(empty)"]
    members = ["  %s: %s" % (json.dumps(k), json.dumps(v))
               for k, v in body.items()]
    return ["{"] + [m + "," for m in members[:-1]] + members[-1:] + ["}"]


def save_webhooks(run, listener):
    """The raw requests, for the logs kept when the demo fails."""
    with open(run.path("webhooks.log"), "w") as f:
        for req in listener.requests:
            f.write("%.3f %s %s -> %s\n%r\n%s\n\n" % (
                req.time, req.method, req.path, req.status, req.headers,
                req.body.decode("utf-8", "replace")))


def invites(trace):
    """Call-IDs of the INVITE transactions a gateway received, in order."""
    seen, calls = set(), []
    for m in harness.parse_trace(trace):
        if m.direction == "received" and m.method == "INVITE" \
                and m.branch not in seen:
            seen.add(m.branch)
            calls.append(m.call_id)
    return calls


def module_log_lines(kam):
    keep = ("ejected", "half-open", "restored", "no further attempt",
            "no healthy gateway")
    return [line.strip() for line in kam.output().splitlines()
            if "gwfailover" in line and any(k in line for k in keep)]


def bad_log_lines(run):
    """Crash or bug reports in the log of the stopped Kamailio."""
    bad = ("CRITICAL:", "BUG:", "signal 11", "Segmentation", "core dumped")
    lines = []
    for proc in run.procs:
        if proc.name != "kamailio":
            continue
        with open(proc.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        lines += ["kamailio log: " + line.strip()
                  for line in text.splitlines()
                  if any(b in line for b in bad)]
    return lines[:10]


def demo(run, listener):
    taken = set()
    sip_port = pick_port(DEFAULT_SIP_PORT, taken)
    primary_port = pick_port(DEFAULT_PRIMARY_PORT, taken)
    backup_port = pick_port(DEFAULT_BACKUP_PORT, taken)
    primary_uri = "sip:127.0.0.1:%d" % primary_port
    backup_uri = "sip:127.0.0.1:%d" % backup_port
    names = {primary_uri: "primary (answers 503)",
             backup_uri: "backup (answers 200)"}

    print("gwfailover demo: %d calls at %d/s through Kamailio on "
          "127.0.0.1:%d" % (CALLS, RATE, sip_port))
    print("  config: %s" % os.path.relpath(CFG, ROOT))
    print("  failure_threshold=%d eject_time_s=%d delay %d..%d ms (base %d)"
          % (FAILURE_THRESHOLD, EJECT_TIME_S, DELAY_MIN_MS, DELAY_MAX_MS,
             DELAY_BASE_MS))
    webhook_url = listener.url(WEBHOOK_PATH)
    # A fresh random key per run, as the manual recommends for
    # webhook_secret; the listener side checks every signature with it.
    webhook_secret = secrets.token_hex(16)
    print("  webhooks: POST to %s (local listener), signed, node %s"
          % (webhook_url, NODE_NAME))

    _, primary_trace = start_gateway(
        run, "primary", primary_port, "uas_reply.xml",
        CODE=503, REASON="Service Unavailable", EXTRA="")
    _, backup_trace = start_gateway(run, "backup", backup_port, "uas_200.xml")
    ds_list = write_dispatcher_list(run, primary_port, backup_port)
    kam, ctl_sock = start_kamailio(run, sip_port, ds_list, webhook_url,
                                   webhook_secret)

    before = show_gateways("Gateways before the calls", ctl_sock, names)

    print("\nPlacing %d calls ..." % CALLS)
    res = harness.run_caller(run, "caller", "uac_call.xml", sip_port,
                             calls=CALLS, rate=RATE, timeout=20)
    finals = res.finals()

    # The event routes run in the module's resume process shortly after the
    # ejection: give the gw-down line a (bounded) moment to show up.
    try:
        harness.wait_until(lambda: event_lines(kam), 5,
                           what="the gw-down event route")
    except TimeoutError:
        pass

    after = show_gateways("Gateways after the primary failed", ctl_sock,
                          names)
    flags = dict((uri, f) for uri, f, _ in dispatcher_entries(ctl_sock))

    lines = module_log_lines(kam)
    if lines:
        print("\nKamailio log (gwfailover):")
        for line in lines:
            print("  " + line)
    events = event_lines(kam)
    print("\nEvent route log lines (event_route[gwfailover:gw-down/gw-up]):")
    for line in events or ["(none)"]:
        print("  " + line)

    stats = show_stats(ctl_sock)

    # The webhook process posts the ejection right after it happened; give
    # it a (bounded) moment in case it is still on its way.
    try:
        harness.wait_until(
            lambda: any(is_ejection_of(body, primary_uri) for _, body, _ in
                        webhook_events(listener, webhook_secret)),
            WEBHOOK_WAIT_S, what="the gateway_ejected webhook")
    except TimeoutError:
        pass
    hooks = webhook_events(listener, webhook_secret)
    show_webhooks(listener, hooks)
    ejections = [body for _, body, _ in hooks
                 if is_ejection_of(body, primary_uri)]
    bad_sigs = [n for n, (_, _, ok) in enumerate(hooks, 1) if not ok]

    primary_calls = invites(primary_trace)
    backup_calls = invites(backup_trace)
    answered = [code for code in finals if code == 200]
    answered_ids = set()
    for m in res.msgs:
        if m.direction == "received" and not m.is_request \
                and m.cseq_method == "INVITE" and m.code == 200:
            answered_ids.add(m.call_id)
    failed_over = [c for c in set(primary_calls) if c in answered_ids]
    ejected = flags.get(primary_uri, "").startswith("I")

    print("\nSummary")
    print("  calls sent:                     %d" % len(finals))
    print("  calls answered (200):           %d" % len(answered))
    print("  INVITEs received by primary:    %d" % len(primary_calls))
    print("  INVITEs received by backup:     %d" % len(backup_calls))
    print("  calls failed over to backup:    %d" % len(failed_over))
    print("  primary ejected:                %s (state %s, FLAGS %s)"
          % ("yes" if ejected else "no",
             after.get(primary_uri, {}).get("state", "?"),
             flags.get(primary_uri, "?")))
    names = [str(body.get("event")) if isinstance(body, dict) else "?"
             for _, body, _ in hooks]
    print("  webhook events received:        %d%s"
          % (len(hooks), " (%s, signatures %s)" % (
              ", ".join(names),
              "INVALID: %s" % bad_sigs if bad_sigs else "valid")
             if hooks else ""))

    problems = []
    if res.rc != 0:
        problems.append("sipp caller exited with %s" % res.rc)
    if len(finals) != CALLS:
        problems.append("%d calls placed, expected %d" % (len(finals), CALLS))
    if len(answered) != CALLS:
        problems.append("%d of %d calls answered: %s"
                        % (len(answered), CALLS, finals))
    if len(primary_calls) != FAILURE_THRESHOLD:
        problems.append("primary received %d INVITEs, expected %d "
                        "(failure_threshold)"
                        % (len(primary_calls), FAILURE_THRESHOLD))
    if len(failed_over) != len(primary_calls):
        problems.append("only %d of the %d calls the primary failed were "
                        "answered" % (len(failed_over), len(primary_calls)))
    if len(backup_calls) != CALLS:
        problems.append("backup received %d INVITEs, expected %d"
                        % (len(backup_calls), CALLS))
    if not ejected:
        problems.append("primary not ejected")
    if set(before) != {primary_uri, backup_uri} or \
            any(gw.get("state") != "closed" for gw in before.values()):
        problems.append("gwfailover.list before the calls: %s" % before)
    if after.get(primary_uri, {}).get("state") != "open":
        problems.append("gwfailover.list: primary not open after the calls")
    if after.get(backup_uri, {}).get("state") != "closed":
        problems.append("gwfailover.list: backup not closed after the calls")
    down = [line for line in events
            if "gw-down: gateway %s " % primary_uri in line]
    if len(down) != 1 or len(events) != 1:
        problems.append("expected one gw-down event line for the primary, "
                        "got %s" % events)
    if stats.get("ejections") != 1:
        problems.append("statistic ejections is %s, expected 1"
                        % stats.get("ejections"))
    if stats.get("failovers") != FAILURE_THRESHOLD:
        problems.append("statistic failovers is %s, expected %d"
                        % (stats.get("failovers"), FAILURE_THRESHOLD))
    want = {"event": "gateway_ejected", "gateway": primary_uri, "set": 1,
            "state": "open", "previous_state": "closed",
            "reason": "%d consecutive faults, last 503" % FAILURE_THRESHOLD,
            "node": NODE_NAME, "manual": False}
    if len(ejections) != 1:
        problems.append("expected one gateway_ejected webhook for the "
                        "primary within %d s, got %d"
                        % (WEBHOOK_WAIT_S, len(ejections)))
    elif any(ejections[0].get(k) != v for k, v in want.items()):
        problems.append("gateway_ejected webhook %s, expected %s"
                        % (ejections[0], want))
    if len(hooks) != len(ejections):
        problems.append("unexpected webhook requests: %s"
                        % [req for req, body, _ in hooks
                           if not is_ejection_of(body, primary_uri)])
    if bad_sigs:
        problems.append("bad or missing X-Gwfailover-Signature on webhook "
                        "request(s) %s" % bad_sigs)
    if any(req.path != WEBHOOK_PATH or req.method != "POST"
           for req, _, _ in hooks):
        problems.append("webhook requests not POST %s: %s"
                        % (WEBHOOK_PATH, hooks))
    return problems


def main():
    # SIGTERM (e.g. from a CI timeout) cleans up like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if not os.path.exists(harness.MODULE_SO):
        print("error: %s not built; run `make module`" % harness.MODULE_SO,
              file=sys.stderr)
        return 2
    logs_root = tempfile.mkdtemp(prefix="gwfailover-demo-")
    run = harness.Run("demo", logs_root)
    problems = ["demo did not finish"]
    listener = None
    try:
        # Port 0: the kernel picks a free port, never one in use.
        listener = WebhookListener(host="127.0.0.1", port=0, default=200)
        problems = demo(run, listener)
    except KeyboardInterrupt:
        problems = ["interrupted"]
    except Exception as e:  # report it, keep the logs, still clean up
        problems = ["%s: %s" % (type(e).__name__, e)]
    finally:
        # The listener first (bounded: joins its threads with a timeout),
        # then every process by its PID.
        if listener is not None:
            listener.stop(timeout=5.0)
            save_webhooks(run, listener)
        run.stop_all()
    problems += bad_log_lines(run)
    if problems:
        print("\nDEMO FAILED:")
        for p in problems:
            print("  - " + p)
        print("logs kept in %s" % run.dir)
        return 1
    shutil.rmtree(logs_root, ignore_errors=True)
    print("\nDemo OK: every call answered, the primary was ejected after %d "
          "faults, and its signed gateway_ejected webhook arrived."
          % FAILURE_THRESHOLD)
    return 0


if __name__ == "__main__":
    sys.exit(main())
