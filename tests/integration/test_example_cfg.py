"""The example configuration cfg/kamailio.cfg, started for real with the -A
overrides it documents (ports, paths, gwfailover parameters)."""

import os

import harness

CFG = os.path.join(harness.ROOT, "cfg", "kamailio.cfg")


class ExampleKamailio(harness.Kamailio):
    """Kamailio on cfg/kamailio.cfg: no template, only -A defines.

    Reuses harness.Kamailio's readiness check and RPC helpers."""

    def __init__(self, run, ds_list, expect_start=True, **params):
        self.run = run
        self.sip_port = harness.free_udp_port()
        self.ctl = run.path("ctl.sock")
        self.cfg = CFG
        defines = [
            "LISTEN_ADDR=127.0.0.1",
            "SIP_PORT=%d" % self.sip_port,
            "CHILDREN=2",
            'MPATH="%s/"' % harness.stock_module_dir(),
            'GWF_SO="%s"' % harness.MODULE_SO,
            'DS_LIST="%s"' % ds_list,
            'CTL_SOCK="unix:%s"' % self.ctl,
        ]
        defines += ["%s=%s" % (k, v) for k, v in sorted(params.items())]
        self.start("kamailio", defines, expect_start)


def test_example_cfg_fails_over_and_ejects_primary(run):
    threshold = 4
    calls = 8
    primary = harness.Gateway(run, "primary", "uas_reply.xml", CODE=503,
                              REASON="Service Unavailable", EXTRA="")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    ds_list = harness.dispatcher_list(
        run, [(1, primary.uri, 20), (1, backup.uri, 10)])
    k = ExampleKamailio(run, ds_list,
                        GWF_FAILURE_THRESHOLD=threshold,
                        GWF_EJECT_TIME_S=60,
                        GWF_DELAY_BASE_MS=20,
                        GWF_DELAY_MIN_MS=10,
                        GWF_DELAY_MAX_MS=100)
    # The listen and ctl overrides took effect: we reached it on both.
    assert k.dispatcher_flags() == {primary.uri: "AX", backup.uri: "AX"}

    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=calls, rate=5, timeout=20)
    assert res.rc == 0, res.output
    assert res.finals() == [200] * calls

    # failure_threshold faults, then the primary is out of rotation.
    primary_calls = [m.call_id for m in primary.invites()]
    assert len(primary_calls) == threshold
    assert [m.code for m in primary.sent()] == [503] * threshold
    flags = k.dispatcher_flags()
    assert flags[primary.uri].startswith("I"), flags
    assert flags[backup.uri].startswith("A"), flags
    log = k.log()
    assert "gateway %s (set 1) ejected for 60000 ms" % primary.uri in log, \
        log[-3000:]

    # The backup got every call, the primary's failed ones included.
    backup_calls = [m.call_id for m in backup.invites()]
    assert len(backup_calls) == calls
    assert set(primary_calls) <= set(backup_calls)
    # The failure_route's xlog line, once per primary failure.
    assert log.count("gateway %s failed with 503" % primary.uri) == threshold


def test_example_cfg_module_params_come_from_defines(run):
    ds_list = harness.dispatcher_list(run, [(1, "sip:127.0.0.1:9", 10)])
    k = ExampleKamailio(run, ds_list, expect_start=False,
                        GWF_FAILURE_THRESHOLD=0)
    assert k.exit_code() != 0
    log = k.log()
    assert "modparam 'failure_threshold' must be in 1..1000 (got 0)" in log, \
        log[-3000:]
