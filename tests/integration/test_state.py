"""What the module learnt survives a restart (issue 16): the state file,
against a real Kamailio (stopped and started again), dispatcher and sipp.

The resume process writes state_file (at most once a second while the
state changes; atomically: temporary file, fsync, rename) and the main
process once more at shutdown. At startup the ejected and half-open
gateways in it are restored before the first call is routed, and marked
in the dispatcher; ejections that ended meanwhile and gateways the
dispatcher no longer has are dropped; a missing, truncated, corrupt,
foreign or huge file gives one warning and a clean start."""

import os
import re
import signal
import threading
import time

import pytest

import harness
from conftest import modparams

FAILOVER = "gwf_failover();"


def state_params(path, **extra):
    return modparams(state_file=path, **extra)


def get(k, uri):
    return k.jsonrpc_value("gwfailover.get", uri)


def read_state(path):
    """The state file checked the way the module reads it: header, gw
    lines, an end line with their count, a newline after each. Returns
    {uri: {key: value}}."""
    with open(path) as f:
        text = f.read()
    assert text.endswith("\n"), repr(text[-80:])
    lines = text.split("\n")[:-1]
    assert lines[0] == "gwfailover-state 1", lines[0]
    m = re.fullmatch(r"end count=(\d+)", lines[-1])
    assert m and int(m.group(1)) == len(lines) - 2, lines[-1]
    out = {}
    for line in lines[1:-1]:
        assert line.startswith("gw "), line
        kv = dict(p.split("=", 1) for p in line[3:].split(" "))
        out[kv["uri"]] = kv
    return out


def start(run, proxy, gateways, path, **extra):
    return proxy(gateways, FAILURE_BODY=FAILOVER,
                 MOD_PARAMS=state_params(path, **extra))


def primary_and_backup(run, code=503):
    primary = harness.Gateway(run, "primary", "uas_reply.xml", CODE=code,
                              REASON="Service Unavailable", EXTRA="")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    return primary, backup


def test_automatic_ejection_survives_a_restart(run, proxy):
    primary, backup = primary_and_backup(run)
    gws = [(1, primary.uri, 20), (1, backup.uri, 10)]
    path = run.path("gwf.state")
    k = start(run, proxy, gws, path, failure_threshold=2, eject_time_s=60)
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=2, rate=5, timeout=20)
    assert res.finals() == [200, 200]
    assert get(k, primary.uri)["state"] == "open"
    harness.wait_until(lambda: os.path.exists(path)
                       and primary.uri in read_state(path), 3,
                       what="the state file to have the ejection")
    ent = read_state(path)[primary.uri]
    assert (ent["state"], ent["why"], ent["code"], ent["arg"], ent["mult"],
            ent["manual"]) == ("open", "faults", "503", "2", "1", "0"), ent
    # until: about 60 s (+ up to 10 % jitter) from now, wall clock
    left = int(ent["until"]) / 1000.0 - time.time()
    assert 50 < left <= 67, left
    k.proc.stop()
    assert k.proc.popen.returncode is not None

    invites = len(primary.invites())
    k2 = start(run, proxy, gws, path, failure_threshold=2, eject_time_s=60)
    g = get(k2, primary.uri)
    assert g["state"] == "open" and g["restored"] == 1, g
    assert "2 consecutive faults, last 503" in g["reason"], g
    assert 45 < g["half_open_in_s"] <= 67, g
    assert k2.dispatcher_flags()[primary.uri].startswith("I"), \
        k2.dispatcher_flags()
    assert k2.gwf_stats()["state_restored"] == 1
    assert "1 gateway restored, 0 ended while down" in k2.log()
    res = harness.run_caller(run, "caller2", "uac_call.xml", k2.sip_port,
                             calls=3, rate=5, timeout=20)
    assert res.finals() == [200] * 3
    assert len(primary.invites()) == invites  # no INVITE to it


def test_manual_ejection_survives_a_restart(run, proxy):
    primary, backup = primary_and_backup(run)
    gws = [(1, primary.uri, 20), (1, backup.uri, 10)]
    path = run.path("gwf.state")
    k = start(run, proxy, gws, path)
    k.rpc("gwfailover.eject", primary.uri, 300)
    # shutdown writes it too: no waiting for the resume process here
    k.proc.stop()
    ent = read_state(path)[primary.uri]
    assert (ent["state"], ent["manual"], ent["why"], ent["arg"]) == \
        ("open", "1", "manual_eject", "300"), ent
    k2 = start(run, proxy, gws, path)
    g = get(k2, primary.uri)
    assert g["state"] == "open" and g["restored"] == 1, g
    assert g["reason"] == "manual eject for 300 s", g
    assert 290 < g["half_open_in_s"] <= 300, g
    res = harness.run_caller(run, "caller", "uac_call.xml", k2.sip_port,
                             calls=2, rate=5, timeout=20)
    assert res.finals() == [200, 200]
    assert primary.invites() == []
    # restored state is the live state: restore it by hand, and the next
    # state file says so
    k2.rpc("gwfailover.restore", primary.uri)
    assert get(k2, primary.uri)["restored"] == 0
    harness.wait_until(lambda: read_state(path) == {}, 3,
                       what="the state file to be empty again")


def test_ejection_that_ended_while_down_is_not_restored(run, proxy):
    primary = harness.Gateway(run, "primary", "uas_200.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    gws = [(1, primary.uri, 20), (1, backup.uri, 10)]
    path = run.path("gwf.state")
    k = start(run, proxy, gws, path)
    k.rpc("gwfailover.eject", primary.uri, 2)
    k.proc.stop()
    assert primary.uri in read_state(path)
    time.sleep(2.5)
    k2 = start(run, proxy, gws, path)
    g = get(k2, primary.uri)
    assert g["state"] == "closed" and g["restored"] == 0, g
    assert "0 gateways restored, 1 ended while down" in k2.log()
    res = harness.run_caller(run, "caller", "uac_call.xml", k2.sip_port,
                             calls=1, rate=5, timeout=20)
    assert res.finals() == [200]
    assert len(primary.invites()) == 1


def test_half_open_gateway_is_restored_half_open(run, proxy):
    primary = harness.Gateway(run, "primary", "uas_200.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    gws = [(1, primary.uri, 20), (1, backup.uri, 10)]
    path = run.path("gwf.state")
    k = start(run, proxy, gws, path)
    k.rpc("gwfailover.eject", primary.uri, 1)
    harness.wait_until(lambda: get(k, primary.uri)["state"] == "half-open",
                       5, what="half-open")
    k.proc.stop()
    assert read_state(path)[primary.uri]["state"] == "half-open"
    k2 = start(run, proxy, gws, path)
    harness.wait_until(lambda: get(k2, primary.uri)["state"] == "half-open",
                       3, what="half-open after the restart")
    # its trial call succeeds: back in service
    res = harness.run_caller(run, "caller", "uac_call.xml", k2.sip_port,
                             calls=1, rate=5, timeout=20)
    assert res.finals() == [200]
    assert len(primary.invites()) == 1
    assert get(k2, primary.uri)["state"] == "closed"


def test_gateway_the_dispatcher_dropped_is_not_restored(run, proxy):
    old = harness.Gateway(run, "old", "uas_200.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    path = run.path("gwf.state")
    k = start(run, proxy, [(1, old.uri, 20), (1, backup.uri, 10)], path)
    k.rpc("gwfailover.eject", old.uri, 300)
    k.proc.stop()
    k2 = start(run, proxy, [(1, backup.uri, 10)], path)
    assert "0 gateways restored, 0 ended while down, 1 no longer in the" \
        " dispatcher" in k2.log()
    assert k2.gwf_stats()["state_restored"] == 0


GOOD = ("gwfailover-state 1\n"
        "gw set=1 uri=@URI@ state=open until=@UNTIL@ mult=1 manual=1 "
        "why=manual_eject code=0 arg=300\n"
        "end count=1\n")

CORRUPT = [
    ("truncated", lambda good: good[:good.index("end count")],
     "truncated: no end line"),
    ("cut_mid_line", lambda good: good[:40], "truncated: last line has no"
     " newline"),
    ("garbage", lambda good: "\x00\xff\x13garbage\n" * 50,
     "not a gwfailover state file"),
    ("foreign", lambda good: '{"gateways": []}\n',
     "not a gwfailover state file"),
    ("bad_value", lambda good: good.replace("state=open", "state=shut"),
     "state is neither open nor half-open"),
    ("huge", lambda good: "x" * (2 * 1024 * 1024),
     "larger than this gateway table can write"),
    ("empty", lambda good: "", "not a gwfailover state file"),
]


@pytest.mark.parametrize("name,make,message", CORRUPT,
                         ids=[c[0] for c in CORRUPT])
def test_bad_state_file_gives_a_warning_and_a_clean_start(
        run, proxy, name, make, message):
    primary = harness.Gateway(run, "primary", "uas_200.xml")
    path = run.path("gwf.state")
    good = GOOD.replace("@URI@", primary.uri).replace(
        "@UNTIL@", str(int((time.time() + 300) * 1000)))
    with open(path, "w", encoding="latin-1") as f:
        f.write(make(good))
    k = start(run, proxy, [(1, primary.uri, 10)], path,
              max_gateways=64)
    log = k.log()
    warnings = [line for line in log.splitlines()
                if "state file" in line and "WARNING" in line]
    assert len(warnings) == 1 and message in warnings[0] \
        and "starting clean" in warnings[0], warnings or log[-2000:]
    assert get(k, primary.uri)["state"] == "closed"
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=1, rate=5, timeout=20)
    assert res.finals() == [200]
    # the next write replaces it with a good one
    harness.wait_until(lambda: read_state(path) == {}, 3,
                       what="a good state file")


def test_a_newer_format_is_read_with_a_warning(run, proxy):
    primary = harness.Gateway(run, "primary", "uas_200.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    path = run.path("gwf.state")
    with open(path, "w") as f:
        f.write(GOOD.replace("gwfailover-state 1", "gwfailover-state 2")
                .replace("arg=300", "arg=300 region=eu-west")
                .replace("@URI@", primary.uri)
                .replace("@UNTIL@", str(int((time.time() + 300) * 1000))))
    k = start(run, proxy, [(1, primary.uri, 20), (1, backup.uri, 10)], path)
    assert "was written by a newer gwfailover (format 2, this one writes" \
        " 1): read what this version knows" in k.log()
    g = get(k, primary.uri)
    assert g["state"] == "open" and g["restored"] == 1, g


def test_a_fifo_at_the_path_does_not_hang_the_startup(run, proxy):
    primary = harness.Gateway(run, "primary", "uas_200.xml")
    path = run.path("gwf.state")
    os.mkfifo(path)
    k = start(run, proxy, [(1, primary.uri, 10)], path)
    assert "is not a regular file: starting clean" in k.log()
    harness.wait_until(lambda: os.path.isfile(path)
                       and read_state(path) == {}, 3,
                       what="a regular state file in its place")


def test_the_good_file_of_the_same_test_is_restored(run, proxy):
    """The file the corrupt cases start from is itself good (else they
    would prove nothing)."""
    primary = harness.Gateway(run, "primary", "uas_200.xml")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    path = run.path("gwf.state")
    with open(path, "w") as f:
        f.write(GOOD.replace("@URI@", primary.uri).replace(
            "@UNTIL@", str(int((time.time() + 300) * 1000))))
    k = start(run, proxy, [(1, primary.uri, 20), (1, backup.uri, 10)], path,
              max_gateways=64)
    assert get(k, primary.uri)["state"] == "open"
    assert "state file" not in "".join(
        line for line in k.log().splitlines() if "WARNING" in line)


def test_shutdown_during_a_burst_of_changes_leaves_a_valid_file(
        run, proxy):
    gws = [harness.Gateway(run, "gw%d" % i, "uas_200.xml") for i in range(6)]
    path = run.path("gwf.state")
    k = start(run, proxy, [(1, g.uri, 10 + i) for i, g in enumerate(gws)],
              path)
    stop = threading.Event()

    def churn():
        i = 0
        while not stop.is_set():
            g = gws[i % len(gws)]
            try:
                if i % 2:
                    k.rpc_raw("gwfailover.eject", g.uri, 60 + i)
                else:
                    k.rpc_raw("gwfailover.restore", g.uri)
            except Exception:  # noqa: BLE001 - Kamailio is going away
                pass
            i += 1
    threads = [threading.Thread(target=churn, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(2.5)  # the resume process writes meanwhile
    os.kill(k.proc.pid, signal.SIGTERM)
    k.proc.stop()
    stop.set()
    for t in threads:
        t.join(5)
    state = read_state(path)  # complete and well-formed
    assert not os.path.exists(path + ".tmp")
    for uri, ent in state.items():
        assert ent["state"] == "open" and ent["manual"] == "1", ent
    k2 = start(run, proxy, [(1, g.uri, 10 + i) for i, g in enumerate(gws)],
               path)
    assert "%d gateway" % len(state) in k2.log()
    for g in gws:
        assert get(k2, g.uri)["state"] == \
            ("open" if g.uri in state else "closed")


def test_state_file_in_a_missing_directory_refuses_startup(run, proxy):
    k = proxy([(1, "sip:127.0.0.1:9", 10)], expect_start=False,
              MOD_PARAMS=state_params("/nonexistent-gwf/dir/gwf.state"))
    assert k.exit_code() != 0
    assert "modparam 'state_file' (/nonexistent-gwf/dir/gwf.state):" \
        " directory /nonexistent-gwf/dir does not exist" in k.log()
