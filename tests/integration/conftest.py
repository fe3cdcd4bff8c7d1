"""pytest fixtures: a Run per test (processes stopped by PID at teardown,
logs kept under tests/logs/<test> when the test fails) and a proxy factory."""

import os
import re
import shutil
import subprocess

import pytest

import harness

LOGS_ROOT = os.path.join(harness.TESTS_DIR, "logs")
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "proxy.cfg.tmpl")

PROXY_DEFAULTS = harness.PROXY_DEFAULTS


def pytest_report_header(config):
    """Which Kamailio this run tests, so a log shows which one passed."""
    try:
        out = subprocess.run([harness.KAMAILIO, "-v"], capture_output=True,
                             text=True, timeout=10).stdout
        version = out.splitlines()[0].replace("version: ", "")
    except (OSError, IndexError, subprocess.SubprocessError):
        version = "not runnable"
    lines = ["kamailio under test: %s (%s, modules from %s)"
             % (version, harness.KAMAILIO, harness.stock_module_dir())]
    if harness.SANITIZE:
        lines.append("GWF_SANITIZE: gwfailover.so under ASan and UBSan, "
                     "runtime %s preloaded" % harness.asan_runtime())
    return lines


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


# Lines that must never appear in the log of a Kamailio that started
# normally: a crash, a tm/core bug report, or memory trouble.
BAD_LOG = ("CRITICAL:", "BUG:", "signal 11", "Segmentation", "core dumped",
           "could not allocate shared memory", "no picked branch")


# A sanitizer report in a Kamailio log (GWF_SANITIZE=1): UBSan's go there,
# ASan's to files of their own (sanitizer_reports), to stderr only if those
# cannot be written. "ERROR: AddressSanitizer: ..." (also SEGV, ABRT, ...),
# "WARNING: AddressSanitizer ..." (e.g. a failed allocation), the
# "AddressSanitizer:DEADLYSIGNAL" ASan prints to stderr even then, and
# UBSan's "<file>:<line>:<col>: runtime error: ...".
SANITIZER_LINE = re.compile(r"(ERROR|WARNING): (Address|Leak|Undefined"
                            r"Behavior)Sanitizer|AddressSanitizer:DEADLYSIGNAL"
                            r"|:\d+:\d+: runtime error: ")


# A known core message of a Kamailio with TCP enabled while it shuts down:
# tcp_main finds the unix socket of a process that already exited closed,
# once per such process. Not a fault of the module; tolerated only in the
# part of the log written after the test asked Kamailio to stop.
TCP_SHUTDOWN_LINE = re.compile(
    r"CRITICAL: <core> \[core/pass_fd\.c:\d+\]: receive_fd\(\): EOF on \d+\s*$")


def sanitizer_reports(r):
    """(GWF_SANITIZE) "<file>: <first line of the report>" for each
    non-empty sanitizer log file (sanitizer.<pid>) in the run
    directory of Run r, whichever Kamailio wrote it (also one that was
    expected not to start)."""
    out = []
    try:
        names = sorted(os.listdir(r.dir))
    except OSError:
        return out
    for name in names:
        if not re.match(r"sanitizer\.\d+$", name):
            continue
        path = os.path.join(r.dir, name)
        with open(path, errors="replace") as f:
            text = f.read()
        if not text.strip():
            continue
        lines = text.splitlines()
        first = next((line for line in lines if SANITIZER_LINE.search(line)),
                     lines[0])
        out.append("%s: %s" % (path, first.strip()))
    return out


def bad_log_lines(r):
    """BAD_LOG lines in the logs of the Kamailios of Run r that were
    expected to start, sanitizer reports in any of them, and the sanitizer
    log files of the run (sanitizer_reports)."""
    bad = sanitizer_reports(r)
    for k in getattr(r, "kamailios", []):
        bad += [line for line in k.log().splitlines()
                if SANITIZER_LINE.search(line)]
    for k in getattr(r, "kamailios", []):
        if not k.expect_start:
            continue
        text = k.log()
        cut = k.proc.stop_offset
        lines = text.splitlines() if cut is None else text[:cut].splitlines()
        tail = [] if cut is None else text[cut:].splitlines()
        bad += [line for line in lines if any(b in line for b in BAD_LOG)]
        bad += [line for line in tail if any(b in line for b in BAD_LOG)
                and not TCP_SHUTDOWN_LINE.search(line)]
    return bad


@pytest.fixture
def run(request):
    r = harness.Run(request.node.name, LOGS_ROOT)
    yield r
    r.stop_all()
    bad = bad_log_lines(r)
    assert not bad, "kamailio log has:\n" + "\n".join(bad[:20])
    failed = any(getattr(request.node, "rep_" + w, None) is not None
                 and getattr(request.node, "rep_" + w).failed
                 for w in ("setup", "call"))
    if failed:
        print("\nlogs kept in %s" % r.dir)
    elif not os.environ.get("GWF_KEEP_LOGS"):
        shutil.rmtree(r.dir, ignore_errors=True)


def modparams(**params):
    """modparam lines for gwfailover from keyword arguments; a list value
    gives one line per item (repeatable parameters such as 'rule')."""
    lines = []
    for key, value in params.items():
        for v in (value if isinstance(value, list) else [value]):
            v = '"%s"' % v if isinstance(v, str) else str(v)
            lines.append('modparam("gwfailover", "%s", %s)' % (key, v))
    return "\n".join(lines)


@pytest.fixture(scope="module")
def module_run(request):
    """A Run shared by the tests of one module (tests/logs/<module>_shared),
    for a Kamailio that many read-only checks can share. At the end of the
    module its processes are stopped and its Kamailio logs checked like
    run's; the logs are kept if a test of the module failed."""
    name = request.module.__name__.rsplit(".", 1)[-1] + "_shared"
    r = harness.Run(name, LOGS_ROOT)
    failed_before = request.session.testsfailed
    yield r
    r.stop_all()
    bad = bad_log_lines(r)
    if bad or request.session.testsfailed > failed_before:
        print("\nlogs kept in %s" % r.dir)
    elif not os.environ.get("GWF_KEEP_LOGS"):
        shutil.rmtree(r.dir, ignore_errors=True)
    assert not bad, "kamailio log has:\n" + "\n".join(bad[:20])


def start_proxy(run, gateways, expect_start=True, argv=(), **keys):
    """Kamailio on proxy.cfg.tmpl in Run run: gateways=[(set, uri, prio)],
    template keys as keyword arguments (defaults PROXY_DEFAULTS), extra
    kamailio command line arguments in argv."""
    subst = dict(PROXY_DEFAULTS)
    subst.update(keys)
    subst["DS_LIST"] = harness.dispatcher_list(run, gateways)
    return harness.Kamailio(run, TEMPLATE, subst=subst,
                            expect_start=expect_start, argv=argv)


@pytest.fixture
def proxy(run):
    """proxy(gateways=[(set, uri, prio)], expect_start=True, argv=(),
    **KEYS)."""
    def start(gateways, expect_start=True, argv=(), **keys):
        return start_proxy(run, gateways, expect_start=expect_start,
                           argv=argv, **keys)
    return start


@pytest.fixture
def kemi_proxy(run):
    """Like proxy, but routing is proxy.lua through app_lua (KEMI)."""
    here = os.path.dirname(os.path.abspath(__file__))

    def start(gateways, nods_gw="sip:127.0.0.1:9", **keys):
        with open(os.path.join(here, "proxy.lua")) as f:
            lua = f.read().replace("@NODS_GW@", nods_gw)
        subst = dict(PROXY_DEFAULTS)
        subst.update(keys)
        subst["DS_LIST"] = harness.dispatcher_list(run, gateways)
        subst["LUA_SCRIPT"] = run.write("proxy.lua", lua)
        return harness.Kamailio(run, os.path.join(here, "proxy_kemi.cfg.tmpl"),
                                subst=subst)
    return start
