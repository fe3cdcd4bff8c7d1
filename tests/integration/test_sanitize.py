"""The sanitizer run of the suite (GWF_SANITIZE=1, make asan-integration;
docs/testing.md, "Sanitizers") checks what it claims to:

- a sanitizer log file in a test's run directory, or a sanitizer line in a
  Kamailio log, fails the test (the run fixture's check), an empty file
  does not;
- under GWF_SANITIZE, every Kamailio process (the main one and its forked
  children) has the ASan and UBSan runtimes mapped and the module built
  with them, and an ASan report from one of them lands in
  <run dir>/sanitizer.<pid> where that check finds it (UBSan's go to the
  Kamailio log, where the same check looks). The report is provoked from outside (a
  SIGSEGV sent to a SIP worker, which ASan's handler reports like a real
  crash), so no deliberate bug has to live in the module.
"""

import os
import shutil
import signal
import types

import pytest

import harness
from conftest import LOGS_ROOT, bad_log_lines, sanitizer_reports, \
    start_proxy

ASAN_REPORT = """=================================================================
==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6020 at pc 0x7f bp 0x7ff sp 0x7fe
WRITE of size 1 at 0x6020 thread T0
    #0 0x7f in gwf_something gwfailover_rpc.c:123
"""
UBSAN_LINE = ("gwfailover_gw.c:321:17: runtime error: signed integer "
              "overflow: 2147483647 + 1 cannot be represented in type 'int'")


class FakeKamailio:
    def __init__(self, text, expect_start=True):
        self.text = text
        self.expect_start = expect_start
        self.proc = types.SimpleNamespace(stop_offset=None)

    def log(self):
        return self.text


def test_a_sanitizer_report_fails_the_run(tmp_path):
    r = types.SimpleNamespace(dir=str(tmp_path), kamailios=[])
    assert bad_log_lines(r) == []
    (tmp_path / "sanitizer.17").write_text("")  # opened, nothing reported
    (tmp_path / "sanitizer.txt").write_text("not a sanitizer log")
    assert bad_log_lines(r) == []
    (tmp_path / "sanitizer.4242").write_text(ASAN_REPORT)
    assert sanitizer_reports(r) == [
        "%s: ==4242==ERROR: AddressSanitizer: heap-buffer-overflow on "
        "address 0x6020 at pc 0x7f bp 0x7ff sp 0x7fe"
        % (tmp_path / "sanitizer.4242")]
    assert bad_log_lines(r) == sanitizer_reports(r)
    # reports written to Kamailio's stderr (no log file could be opened),
    # also from a Kamailio that was expected not to start
    os.unlink(tmp_path / "sanitizer.4242")
    r.kamailios = [FakeKamailio(" 0(1) INFO: fine\n" + UBSAN_LINE + "\n"),
                   FakeKamailio("==7==WARNING: AddressSanitizer failed to "
                                "allocate 0x1000 bytes\n", expect_start=False)]
    assert bad_log_lines(r) == [
        UBSAN_LINE,
        "==7==WARNING: AddressSanitizer failed to allocate 0x1000 bytes"]


def children(pid):
    """PIDs of the processes whose parent is pid."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(name))
    return out


def mapped(pid):
    with open("/proc/%d/maps" % pid) as f:
        return f.read()


@pytest.mark.skipif(not harness.SANITIZE, reason="GWF_SANITIZE is not set")
def test_every_kamailio_process_runs_under_the_sanitizers(request):
    # A Run of its own: its Kamailio is made to report, which would fail
    # the run fixture's check.
    r = harness.Run(request.node.name, LOGS_ROOT)
    try:
        gw = harness.Gateway(r, "gw", "uas_200.xml")
        k = start_proxy(r, [(1, gw.uri, 10)],
                        FAILURE_BODY="gwf_failover();")
        res = harness.run_caller(r, "caller", "uac_call.xml", k.sip_port,
                                 calls=2, rate=10, timeout=20)
        assert res.finals() == [200, 200]
        assert harness.module_is_sanitized()
        kids = children(k.proc.pid)
        assert len(kids) >= 4, kids  # SIP workers, timers, ctl, ours...
        for pid in [k.proc.pid] + kids:
            maps = mapped(pid)
            assert "/libasan.so" in maps and "/libubsan.so" in maps, pid
            assert harness.MODULE_SO in maps, pid
        assert sanitizer_reports(r) == [] and bad_log_lines(r) == []

        victim = kids[0]
        os.kill(victim, signal.SIGSEGV)
        path = os.path.join(r.dir, "sanitizer.%d" % victim)
        harness.wait_until(lambda: os.path.exists(path) and
                           "SUMMARY: AddressSanitizer" in open(path).read(),
                           10, what="ASan's report in " + path)
        reports = sanitizer_reports(r)
        assert len(reports) == 1, reports
        assert reports[0].startswith(path + ": ==%d==ERROR: AddressSanitizer"
                                     ": SEGV" % victim), reports
        harness.wait_until(lambda: "AddressSanitizer:DEADLYSIGNAL" in k.log(),
                           5, what="ASan's note in the Kamailio log")
        assert bad_log_lines(r) == reports + ["AddressSanitizer:DEADLYSIGNAL"]
    finally:
        r.stop_all()
    if not os.environ.get("GWF_KEEP_LOGS"):
        shutil.rmtree(r.dir, ignore_errors=True)
