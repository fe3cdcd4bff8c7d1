"""Integration test harness: a real Kamailio, sipp gateways and sipp callers
on 127.0.0.1.

Every process is started in its own session and recorded; Run.stop_all()
stops them by PID (SIGTERM, then SIGKILL of the process group) even when a
test fails. Every wait is bounded. Each test works in its own directory under
tests/logs/, kept when the test fails and removed when it passes.
"""

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TESTS_DIR)
SIPP_DIR = os.path.join(TESTS_DIR, "sipp")
MODULE_SO = os.path.join(ROOT, "modules", "gwfailover", "gwfailover.so")
KAMAILIO = os.environ.get("KAMAILIO_BIN", "/usr/sbin/kamailio")
KAMCMD = os.environ.get("KAMCMD_BIN", "/usr/sbin/kamcmd")
SIPP = os.environ.get("SIPP_BIN", "/usr/bin/sipp")


def stock_module_dir():
    """Directory of the Kamailio modules: $KAMAILIO_MPATH (a build tree's
    src/modules, for a Kamailio built from source), else that of the
    packaged Kamailio (where tm.so lives)."""
    if os.environ.get("KAMAILIO_MPATH"):
        return os.environ["KAMAILIO_MPATH"].rstrip("/")
    out = subprocess.run(["dpkg", "-L", "kamailio"], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        if line.endswith("/modules/tm.so"):
            return os.path.dirname(line)
    raise RuntimeError("cannot find the kamailio modules directory")


# ---------------------------------------------------------------- sanitizers
#
# GWF_SANITIZE=1 (make asan-integration): the module is built with
# -fsanitize=address,undefined (make module SANITIZE=1) and every Kamailio
# runs with the ASan runtime preloaded (it must come first in the library
# list; the packaged kamailio is not instrumented, so only the module's
# code is checked, plus the libc calls any code makes on malloc'd memory).
# The UBSan runtime comes in as the module's own dependency. ASan's reports
# go to <run dir>/sanitizer.<pid>, UBSan's to Kamailio's stderr (its log,
# kamailio.out: with both runtimes loaded, gcc 12's UBSan does not follow
# its log_path); the run fixture fails the test on either
# (conftest.bad_log_lines). See docs/testing.md, "Sanitizers".
SANITIZE = os.environ.get("GWF_SANITIZE", "") not in ("", "0")


def module_is_sanitized(path=MODULE_SO):
    """True if the .so was built with ASan (it needs __asan_init)."""
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def asan_runtime():
    """Path of the ASan runtime of the compiler that built the module:
    $GWF_ASAN_LIB, else what gcc names (libasan.so, a link to the
    versioned library)."""
    lib = os.environ.get("GWF_ASAN_LIB")
    if not lib:
        lib = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                             capture_output=True, text=True,
                             check=True).stdout.strip()
    lib = os.path.realpath(lib)
    if not os.path.isfile(lib):
        raise RuntimeError("GWF_SANITIZE=1 but no ASan runtime at %s "
                           "(gcc's libasan; set GWF_ASAN_LIB)" % lib)
    return lib


# ASan: a memory error stops the process (halt_on_error=1, also the only
# choice without -fsanitize-recover=address: after a bad access its state
# is not to be trusted); it exits (abort_on_error=0) rather than dumping a
# core of the shadow memory. Leak detection is off: Kamailio never frees
# what its processes hold at exit (its own and its libraries' mallocs), so
# every one of its dozen processes would report at each shutdown, slowly
# (LeakSanitizer stops the process to scan it) and about nothing of ours:
# the module's memory is pkg and shm, Kamailio's own pools, which
# LeakSanitizer does not see. handle_abort=1 prints a stack trace for an
# abort() too, e.g. q_malloc's on an overwritten fragment mark.
ASAN_OPTIONS = ["detect_leaks=0", "halt_on_error=1", "abort_on_error=0",
                "handle_abort=1", "disable_coredump=1"]
# UBSan: report and go on (every finding of a test is in its log, and the
# test fails on the first one anyway), with a stack trace.
UBSAN_OPTIONS = ["print_stacktrace=1", "halt_on_error=0"]


def sanitizer_env(run_dir):
    """Environment of a Kamailio under GWF_SANITIZE: ours, plus the ASan
    runtime preloaded and the sanitizers logging into run_dir/sanitizer.<pid>
    (both runtimes share the report file: the path is the same for both so
    that whichever sets it last does not move it). ASAN_OPTIONS or
    UBSAN_OPTIONS already set are appended (their values win)."""
    if ":" in run_dir:
        raise RuntimeError("a sanitizer log_path cannot contain ':': %s"
                           % run_dir)
    env = dict(os.environ)
    env["LD_PRELOAD"] = " ".join(
        [asan_runtime()] + ([env["LD_PRELOAD"]] if env.get("LD_PRELOAD")
                            else []))
    env["ASAN_OPTIONS"] = ":".join(
        ASAN_OPTIONS + ["log_path=" + os.path.join(run_dir, "sanitizer")]
        + ([env["ASAN_OPTIONS"]] if env.get("ASAN_OPTIONS") else []))
    env["UBSAN_OPTIONS"] = ":".join(
        UBSAN_OPTIONS + ["log_path=" + os.path.join(run_dir, "sanitizer")]
        + ([env["UBSAN_OPTIONS"]] if env.get("UBSAN_OPTIONS") else []))
    return env


_module_checked = False


def check_module_build():
    """The module must match GWF_SANITIZE: a sanitizer build does not load
    without its runtime preloaded, and a plain build under GWF_SANITIZE
    would check nothing while the run looks like a sanitizer run."""
    global _module_checked
    if _module_checked or not os.path.exists(MODULE_SO):
        return
    built = module_is_sanitized()
    if SANITIZE and not built:
        raise RuntimeError("GWF_SANITIZE=1 but %s is not a sanitizer build: "
                           "make module SANITIZE=1" % MODULE_SO)
    if built and not SANITIZE:
        raise RuntimeError("%s is a sanitizer build (SANITIZE=1): run the "
                           "suite with GWF_SANITIZE=1 (make asan-integration)"
                           " or rebuild it with make module" % MODULE_SO)
    _module_checked = True


# Ports: each run of the suite takes a block chosen from its PID, and each
# test takes ports from it in order, checking that they are free, so tests
# never collide with each other. The blocks lie below the kernel's ephemeral
# range: a port checked free there can be taken, before sipp binds it, by
# any socket bound to port 0 (a UDP client, curl's connection), which once
# failed a CI run with "Unable to bind main socket".


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_PORT_LOW = 10000
_PORT_HIGH = max(_PORT_LOW + 2000, min(_ephemeral_low(), 65536) - 1)
_next_port = _PORT_LOW + (os.getpid() * 100) % (_PORT_HIGH - _PORT_LOW - 1000)


def tcp_listening(port):
    """Does something accept TCP connections on 127.0.0.1:<port>?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect(("127.0.0.1", port))
            return True
        except OSError:
            return False


def udp_drops_by_port():
    """{local port: datagrams the kernel dropped} of the UDP sockets on
    127.0.0.1 (/proc/net/udp, last column: a full receive buffer)."""
    out = {}
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                parts = line.split()
                addr, port = parts[1].split(":")
                if addr == "0100007F":
                    out[int(port, 16)] = out.get(int(port, 16), 0) + \
                        int(parts[-1])
    except (OSError, ValueError, IndexError, StopIteration):
        pass
    return out


def free_udp_port():
    global _next_port
    for _ in range(2000):
        port = _next_port
        _next_port += 1
        if _next_port > _PORT_HIGH:
            _next_port = _PORT_LOW
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free UDP port on 127.0.0.1")


def group_pids(pgid):
    """PIDs of every process whose process group is pgid (a Kamailio and
    all its children)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            pids.append(int(d))
    return sorted(pids)


def wait_until(pred, timeout, step=0.05, what="condition"):
    """Poll pred() until it is truthy or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s"
                               % (timeout, what))
        time.sleep(step)


def counters(names, **values):
    """{name: 0} for every counter in names, with values given by name;
    a name not in names is a mistake in the test."""
    unknown = set(values) - set(names)
    assert not unknown, unknown
    want = dict.fromkeys(names, 0)
    want.update(values)
    return want


_EJECTED_RE = re.compile(
    r"gateway (\S+) \(set (\d+)\) ejected for (\d+) ms: ([^\n]*)")


def ejections(log):
    """[(uri, set, ms, reason)] of the "gateway ... ejected for N ms:
    reason" lines of a Kamailio log, in order."""
    return [(m.group(1), int(m.group(2)), int(m.group(3)), m.group(4).strip())
            for m in _EJECTED_RE.finditer(log)]


def ejected_for(log, reason, base_ms, jitter_pct=10):
    """Assert that some gateway was ejected for <reason>, for an automatic
    ejection's first length: base_ms plus at most jitter_pct percent (the
    jitter drawn per ejection, eject_jitter_percent). Returns the ms."""
    lengths = [ms for _, _, ms, why in ejections(log) if why == reason]
    assert lengths, "no ejection '%s' in %s" % (reason, ejections(log))
    ms = lengths[0]
    assert base_ms <= ms <= base_ms * (100 + jitter_pct) // 100, (reason, ms)
    return ms


def settle(get, want, timeout=5.0, step=0.05):
    """Wait (bounded) until get() == want, then assert it, so a mismatch
    shows the whole difference. Events, the resume and the webhook
    processes act shortly after a call ends: values must get there, not
    merely pass through."""
    try:
        wait_until(lambda: get() == want, timeout, step=step,
                   what="values to settle")
    except TimeoutError:
        pass
    assert get() == want


class Proc:
    """One process started by a Run."""

    def __init__(self, name, argv, workdir, env=None):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(workdir, name + ".out")
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True, env=env)
        self.pid = self.popen.pid
        self.stop_offset = None  # log size when stop() was first called

    def running(self):
        return self.popen.poll() is None

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError("%s (pid %d) still running after %.1fs"
                               % (self.name, self.pid, timeout))

    def output(self):
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, grace=5.0):
        if self.stop_offset is None:
            self.stop_offset = len(self.output())
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Children (Kamailio workers) share the process group: make sure
        # none outlives the test.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


def render(path, values):
    """The text of template <path> with every @KEY@ of <values> replaced;
    a key left unreplaced is an error (a typo would otherwise reach
    Kamailio or sipp as literal text)."""
    with open(path) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace("@%s@" % key, str(value))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ValueError("%s: unset template keys %s" % (path, left))
    return text


# Keys of tests/integration/proxy.cfg.tmpl besides those Kamailio() fills.
PROXY_DEFAULTS = {
    "CHILDREN": 2,
    # UDP only; the transport tests put TCP listen lines here
    "TRANSPORTS": "disable_tcp=yes",
    "CORE_PARAMS": "",
    "EXTRA_MODULES": "",
    "FR_TIMER": 2000,
    "FR_INV_TIMER": 30000,
    "MOD_PARAMS": "",
    "REQUEST_BODY": "",
    "FAILURE_BODY": "",
    "EXTRA_ROUTES": "",
}


class Run:
    """Working directory and process registry of one test."""

    def __init__(self, name, logs_root):
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        self.dir = os.path.join(logs_root, safe)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.procs = []
        self.sock_dir = None

    def path(self, name):
        return os.path.join(self.dir, name)

    def sock(self, name):
        """Path for a unix socket. A socket path holds at most 104 bytes
        here (ctl and jsonrpcs refuse longer ones), and the run directory
        can be deeper than that (a CI checkout, a long test name), so
        sockets live in a short directory of their own under /tmp."""
        if self.sock_dir is None:
            self.sock_dir = tempfile.mkdtemp(prefix="gwf-")
        return os.path.join(self.sock_dir, name)

    def spawn(self, name, argv, env=None):
        proc = Proc(name, argv, self.dir, env=env)
        self.procs.append(proc)
        return proc

    def stop_all(self):
        # Callers and gateways first, Kamailio last, so its log shows the end.
        for proc in sorted(self.procs, key=lambda p: p.name == "kamailio"):
            proc.stop()
        if self.sock_dir is not None:
            shutil.rmtree(self.sock_dir, ignore_errors=True)
            self.sock_dir = None

    def write(self, name, text):
        path = self.path(name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def template(self, scenario, **subst):
        """Copy tests/sipp/<scenario> into the run dir, replacing @KEY@."""
        text = render(os.path.join(SIPP_DIR, scenario), subst)
        tag = "_".join(str(v) for v in subst.values() if str(v).isalnum())
        name = scenario.replace(".xml", ("_" + tag if tag else "") + ".xml")
        return self.write(name, text)


# ---------------------------------------------------------------- sipp traces

_BLOCK_RE = re.compile(
    r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n"
    r"(?:UDP|TCP) message (sent|received) (?:\(\d+ bytes\)|\[\d+\] bytes ?):\n\n",
    re.M)


class SipMsg:
    def __init__(self, stamp, direction, text):
        self.time = time.mktime(time.strptime(stamp.split(".")[0],
                                              "%Y-%m-%d %H:%M:%S")) \
            + float("0." + stamp.split(".")[1])
        self.direction = direction
        self.text = text
        lines = text.split("\n")
        self.first_line = lines[0].strip()
        self.headers = {}
        for line in lines[1:]:
            if not line.strip():
                break
            if ":" in line:
                key, value = line.split(":", 1)
                self.headers.setdefault(key.strip().lower(), value.strip())

    @property
    def is_request(self):
        return not self.first_line.startswith("SIP/2.0")

    @property
    def method(self):
        return self.first_line.split(" ", 1)[0] if self.is_request else None

    @property
    def code(self):
        return None if self.is_request else int(self.first_line.split()[1])

    @property
    def call_id(self):
        return self.headers.get("call-id", "")

    @property
    def branch(self):
        m = re.search(r"branch=([^;\s,]+)", self.headers.get("via", ""))
        return m.group(1) if m else ""

    @property
    def cseq_method(self):
        parts = self.headers.get("cseq", "").split()
        return parts[1] if len(parts) > 1 else ""


def parse_trace(path):
    """All messages of a sipp -trace_msg file, in order."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", "replace")
    msgs = []
    matches = list(_BLOCK_RE.finditer(data))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(data)
        body = data[m.end():end].replace("\r\n", "\n").strip("\n")
        msgs.append(SipMsg(m.group(1), m.group(2), body))
    return msgs


# ---------------------------------------------------------------- sipp roles

class Gateway:
    """A sipp UAS on 127.0.0.1:<port> playing one scenario."""

    def __init__(self, run, name, scenario, port=None, extra=(), **subst):
        self.run = run
        self.name = name
        self.port = port or free_udp_port()
        self.uri = "sip:127.0.0.1:%d" % self.port
        self.trace = run.path(name + "_messages.log")
        scen = run.template(scenario, **subst) if subst else \
            os.path.join(SIPP_DIR, scenario)
        self.proc = run.spawn(name, [
            SIPP, "-sf", scen, "-i", "127.0.0.1", "-p", str(self.port),
            "-nostdin", "-trace_msg", "-message_file", self.trace,
            "-trace_err", "-error_file", run.path(name + "_errors.log"),
            "-max_recv_loops", "1000", "-timeout", "600s"] + list(extra))
        wait_until(lambda: self._bound() or not self.proc.running(), 10,
                   what="gateway %s to listen" % name)
        if not self.proc.running():
            raise RuntimeError("gateway %s exited: %s" % (name, self.proc.output()))

    def _bound(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", self.port))
            except OSError:
                return True
        return False

    def stop(self):
        """Stop this gateway (e.g. to put another scenario on its port)."""
        self.proc.stop()
        wait_until(lambda: not self._bound(), 5,
                   what="port %d to be released" % self.port)

    def messages(self):
        return parse_trace(self.trace)

    def invites(self):
        """INVITE transactions received (retransmissions folded), in order."""
        seen, out = set(), []
        for m in self.messages():
            if m.direction == "received" and m.method == "INVITE" \
                    and m.branch not in seen:
                seen.add(m.branch)
                out.append(m)
        return out

    def sent(self, code=None):
        return [m for m in self.messages() if m.direction == "sent"
                and not m.is_request and (code is None or m.code == code)]


class CallerResult:
    def __init__(self, rc, msgs, output):
        self.rc = rc
        self.msgs = msgs
        self.output = output

    def finals(self):
        """Final response code of each INVITE the caller sent, by Call-ID, in
        call order (None for a call that got no final reply)."""
        order, final = [], {}
        for m in self.msgs:
            if m.direction == "sent" and m.method == "INVITE" \
                    and m.call_id not in final:
                order.append(m.call_id)
                final[m.call_id] = None
            elif m.direction == "received" and not m.is_request \
                    and m.cseq_method == "INVITE" and m.code >= 200:
                if final.get(m.call_id) is None:
                    final[m.call_id] = m.code
        return [final[c] for c in order]

    def first(self, predicate):
        for m in self.msgs:
            if predicate(m):
                return m
        return None


def run_caller(run, name, scenario, target_port, calls=1, rate=1.0,
               timeout=60, service="callee", extra=(), **subst):
    """Run a sipp UAC to completion (bounded) and return its result."""
    port = free_udp_port()
    trace = run.path(name + "_messages.log")
    scen = run.template(scenario, **subst) if subst else \
        os.path.join(SIPP_DIR, scenario)
    # "-r N -rp M" places N calls every M ms: express any rate that way.
    # sipp places its first call one period/N after it starts, so a single
    # call goes at a high rate: at -r 1 it would idle a second first.
    if calls == 1:
        rate = 1000
    r, rp = (int(rate), 1000) if rate >= 1 else (1, int(1000 / rate))
    argv = [SIPP, "127.0.0.1:%d" % target_port, "-sf", scen, "-i", "127.0.0.1",
            "-p", str(port), "-s", service, "-m", str(calls),
            "-r", str(r), "-rp", str(rp),
            "-nostdin", "-trace_msg", "-message_file", trace,
            "-trace_err", "-error_file", run.path(name + "_errors.log"),
            "-timeout", "%ds" % timeout, "-timeout_error",
            "-recv_timeout", "%d" % (timeout * 1000)] + list(extra)
    proc = run.spawn(name, argv)
    rc = proc.wait(timeout + 15)
    return CallerResult(rc, parse_trace(trace), proc.output())


class CallerThread(threading.Thread):
    """run_caller() in the background, so the test can change gateways or
    look at the proxy while calls are in progress; .res when joined."""

    def __init__(self, run, k, calls, rate, name="caller",
                 scenario="uac_call.xml", timeout=60, **subst):
        super().__init__(daemon=True)
        self.args = (run, name, scenario, k.sip_port)
        self.kw = dict(calls=calls, rate=rate, timeout=timeout, **subst)
        self.res = None

    def run(self):
        self.res = run_caller(*self.args, **self.kw)


def answer_times(res):
    """[(time the INVITE was sent, final code or None, ms from the INVITE
    to its final reply or None)] of each call of a CallerResult, in call
    order; times from the caller's own trace (one clock)."""
    order, sent, final = [], {}, {}
    for m in res.msgs:
        if m.direction == "sent" and m.method == "INVITE" \
                and m.call_id not in sent:
            order.append(m.call_id)
            sent[m.call_id] = m.time
        elif m.direction == "received" and not m.is_request \
                and m.cseq_method == "INVITE" and m.code >= 200 \
                and m.call_id not in final:
            final[m.call_id] = (m.code, m.time)
    out = []
    for c in order:
        code, t = final.get(c, (None, None))
        out.append((sent[c], code,
                    None if t is None else (t - sent[c]) * 1000.0))
    return out


def call_outcomes(res):
    """[(time the INVITE was sent, final code or None)] of each call of a
    CallerResult, in call order."""
    return [(sent, code) for sent, code, _ in answer_times(res)]


# ---------------------------------------------------------------- kamailio

class Kamailio:
    """A real kamailio process running a config rendered from a template."""

    # Extra command line arguments; subclasses that call start() without
    # this constructor get none.
    extra_argv = ()

    def __init__(self, run, cfg_template, name="kamailio", defines=(),
                 subst=None, expect_start=True, argv=()):
        self.run = run
        self.extra_argv = list(argv)
        self.sip_port = free_udp_port()
        self.ctl = run.sock("ctl.sock")
        values = {
            "SIP_PORT": self.sip_port,
            "CTL_SOCK": self.ctl,
            "MPATH": stock_module_dir() + "/",
            "GWF_SO": MODULE_SO,
            "SOCK_DIR": os.path.dirname(run.sock("jsonrpc.sock")),
        }
        values.update(subst or {})
        self.cfg = run.write(name + ".cfg", render(cfg_template, values))
        self.start(name, defines, expect_start)

    def start(self, name, defines, expect_start):
        """Run kamailio on self.cfg with -A <defines> and the extra command
        line arguments given to the constructor (e.g. ["-x", "qm"]);
        register it so the run fixture checks its log; wait until it
        answers RPC."""
        argv = [KAMAILIO, "-f", self.cfg, "-DD", "-E", "-w", self.run.dir,
                "-Y", self.run.dir, "-m", "64", "-M", "8", "-a", "no"]
        for d in defines:
            argv += ["-A", d]
        argv += list(self.extra_argv)
        env = None
        check_module_build()
        if SANITIZE:
            env = sanitizer_env(self.run.dir)
            # Kamailio's q_malloc (the default for both pools), named so that
            # a change of default cannot silently drop its checks of the
            # pkg and shm fragments, which ASan does not see (see
            # docs/testing.md); a test that chose a manager keeps it.
            if "-x" not in argv and "-X" not in argv:
                argv += ["-x", "qm", "-X", "qm"]
        self.proc = self.run.spawn(name, argv, env=env)
        self.expect_start = expect_start
        if not hasattr(self.run, "kamailios"):
            self.run.kamailios = []
        self.run.kamailios.append(self)
        if expect_start:
            self.wait_ready()

    def wait_ready(self, timeout=15):
        def ready():
            if not self.proc.running():
                raise RuntimeError("kamailio exited with %s:\n%s"
                                   % (self.proc.popen.returncode,
                                      self.proc.output()[-4000:]))
            return os.path.exists(self.ctl) and \
                self.rpc_raw("core.uptime").returncode == 0
        wait_until(ready, timeout, step=0.1, what="kamailio to start")

    def rpc_raw(self, *args):
        return subprocess.run([KAMCMD, "-s", "unix:" + self.ctl] +
                              [str(a) for a in args],
                              capture_output=True, text=True, timeout=10)

    def gwf_stats(self):
        """{name: int} of the gwfailover statistics (kamcmd)."""
        out = self.rpc("stats.get_statistics", "gwfailover:")
        return dict((name, int(value)) for name, value in
                    re.findall(r"^\s*gwfailover:(\w+) = (-?\d+)\s*$", out,
                               re.M))

    def rpc(self, *args):
        res = self.rpc_raw(*args)
        if res.returncode != 0:
            raise RuntimeError("kamcmd %s failed: %s %s"
                               % (" ".join(map(str, args)), res.stdout, res.stderr))
        return res.stdout

    # ------------------------------------------------ structured RPC

    def rpc_value(self, *args):
        """Run `kamcmd <args>` and return its reply parsed into Python
        values (see parse_kamcmd); a fault raises RpcFault(code, message).
        kamcmd sends numeric-looking arguments as integers; prefix "s:" to
        send one as a string (e.g. "s:" is the empty string)."""
        # "--": an argument such as "-5" is not a kamcmd option.
        res = self.rpc_raw("--", *args)
        if res.returncode != 0:
            raise RuntimeError("kamcmd %s failed (rc %d): %s %s"
                               % (" ".join(map(str, args))[:300],
                                  res.returncode, res.stdout, res.stderr))
        fault = parse_kamcmd_fault(res.stdout)
        if fault is not None:
            raise fault
        return parse_kamcmd(res.stdout)

    _jsonrpc_ids = itertools.count(1)

    def jsonrpc(self, method, *params, timeout=5.0, raw_params=None):
        """Send one JSON-RPC 2.0 request to jsonrpcs' unix datagram socket
        (@SOCK_DIR@/jsonrpc.sock) and return the parsed reply object: a dict
        with "result" or "error" ({"code", "message"}) and "id".
        raw_params, when given, is sent as "params" as it is (any JSON
        value, or a str of raw JSON text); otherwise params is the list of
        positional arguments (omitted when there are none)."""
        server = getattr(self, "jsonrpc_sock", None) or \
            self.run.sock("jsonrpc.sock")
        req_id = next(Kamailio._jsonrpc_ids)
        if raw_params is None:
            body = {"jsonrpc": "2.0", "method": method, "id": req_id}
            if params:
                body["params"] = list(params)
            data = json.dumps(body)
        else:
            p = raw_params if isinstance(raw_params, str) \
                else json.dumps(raw_params)
            data = '{"jsonrpc": "2.0", "method": %s, "params": %s, "id": %d}' \
                % (json.dumps(method), p, req_id)
        # The reply goes back to the sender's address: bind our own socket.
        client = self.run.sock("jc%d.sock" % req_id)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(client)
            sock.settimeout(timeout)
            sock.sendto(data.encode(), server)
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no JSON-RPC reply to %s within %.1fs"
                                       % (method, timeout))
                sock.settimeout(left)
                try:
                    reply = json.loads(sock.recv(1 << 17).decode("utf-8",
                                                                 "replace"))
                except socket.timeout:
                    raise TimeoutError("no JSON-RPC reply to %s within %.1fs"
                                       % (method, timeout))
                if reply.get("id") == req_id:
                    return reply
        finally:
            sock.close()
            try:
                os.unlink(client)
            except OSError:
                pass

    def jsonrpc_value(self, method, *params, **kw):
        """jsonrpc() returning the "result"; an "error" raises RpcFault."""
        reply = self.jsonrpc(method, *params, **kw)
        if "error" in reply:
            err = reply["error"]
            raise RpcFault(err.get("code"), err.get("message", ""))
        return reply.get("result")

    def alive(self):
        """True if the process runs and answers core.uptime over ctl."""
        return self.proc.running() and \
            self.rpc_raw("core.uptime").returncode == 0

    def dispatcher_flags(self):
        """{uri: flags} from `kamcmd dispatcher.list` (e.g. 'AP', 'IP')."""
        out = self.rpc("dispatcher.list")
        flags, uri = {}, None
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("URI:"):
                uri = line.split(":", 1)[1].strip()
            elif line.startswith("FLAGS:") and uri:
                flags[uri] = line.split(":", 1)[1].strip()
        return flags

    def log(self):
        return self.proc.output()

    def exit_code(self, timeout=15):
        return self.proc.wait(timeout)


class RpcFault(Exception):
    """An RPC fault: code (int) and message, from kamcmd or jsonrpcs."""

    def __init__(self, code, message):
        super().__init__("%s - %s" % (code, message))
        self.code = code
        self.message = message


_FAULT_RE = re.compile(r"\Aerror: (-?\d+) - (.*)\Z", re.S)


def parse_kamcmd_fault(out):
    """RpcFault for kamcmd's fault output ("error: <code> - <text>\n"), or
    None if the output is a normal reply."""
    m = _FAULT_RE.match(out.rstrip("\n"))
    if not m:
        return None
    return RpcFault(int(m.group(1)), m.group(2))


def _kamcmd_scalar(text):
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def parse_kamcmd(out):
    """Parse kamcmd's default output into Python values.

    kamcmd prints one record per line: "name: value", a bare "value", or
    "{" / "name: {" ... "}" for a struct (binrpc sends arrays as structs
    too). A struct whose members all have names becomes a dict (a name seen
    twice collects a list), one whose members have none a list. Integers
    become int (kamcmd prints ints and numeric strings alike). Several
    top-level records give a list, one gives that record, none None."""
    root = []
    stack = [root]
    for line in out.splitlines():
        text = line.strip()
        if not text:
            continue
        if text in ("}", "]"):
            if len(stack) == 1:
                raise ValueError("unbalanced kamcmd output:\n" + out)
            stack.pop()
            continue
        name, value = None, text
        m = re.match(r"([A-Za-z_][A-Za-z0-9_.-]*):(?: (.*))?\Z", text)
        if m:
            name, value = m.group(1), m.group(2) or ""
        if value in ("{", "["):
            child = []
            stack[-1].append((name, child))
            stack.append(child)
        else:
            stack[-1].append((name, _kamcmd_scalar(value)))
    if len(stack) != 1:
        raise ValueError("unbalanced kamcmd output:\n" + out)

    def build(members):
        values = [(n, build(v) if isinstance(v, list) else v)
                  for n, v in members]
        if values and all(n is not None for n, _ in values):
            d = {}
            for n, v in values:
                if n in d:
                    if not isinstance(d[n], _Repeated):
                        d[n] = _Repeated([d[n]])
                    d[n].append(v)
                else:
                    d[n] = v
            return {k: (list(v) if isinstance(v, _Repeated) else v)
                    for k, v in d.items()}
        return [v for _, v in values]

    if not root:
        return None  # no record at all (kamcmd printed nothing)
    top = build(root)
    if isinstance(top, list) and len(top) == 1:
        return top[0]
    return top


class _Repeated(list):
    pass


def dispatcher_list(run, entries, name="dispatcher.list"):
    """Write a dispatcher list file: entries are (set, uri, priority)."""
    lines = ["%d %s 0 %d" % (setid, uri, prio) for setid, uri, prio in entries]
    return run.write(name, "\n".join(lines) + "\n")
