"""Issue 2: the module loads into the packaged Kamailio, refuses bad
parameters at startup with a message naming them, and calls go through."""

import pytest

import harness
from conftest import modparams


def test_module_loads_and_answers_rpc(run, proxy):
    gw = harness.Gateway(run, "gw", "uas_200.xml")
    k = proxy([(1, gw.uri, 10)], MOD_PARAMS=modparams(failure_threshold=3))
    assert "gwfailover" in k.rpc("core.modules")
    assert "gwfailover: loaded" not in k.log()  # no noise at init


def test_call_through_dispatcher_is_answered(run, proxy):
    primary = harness.Gateway(run, "primary", "uas_200.xml")
    backup = harness.Gateway(run, "backup", "uas_reply.xml",
                             CODE=503, REASON="Service Unavailable", EXTRA="")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)])
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=3, rate=10, timeout=20)
    assert res.rc == 0, res.output
    assert res.finals() == [200, 200, 200]
    assert len(primary.invites()) == 3
    assert backup.invites() == []


BAD_PARAMS = [
    ({"failure_threshold": 0},
     "modparam 'failure_threshold' must be in 1..1000 (got 0)"),
    ({"max_attempts": 99},
     "modparam 'max_attempts' must be in 1..16 (got 99)"),
    ({"delay_min_ms": 500, "delay_max_ms": 100},
     "modparam 'delay_min_ms' (500) must not exceed 'delay_max_ms' (100)"),
    ({"retry_after_min_s": 10, "retry_after_max_s": 5},
     "modparam 'retry_after_min_s' (10) must not exceed"),
    ({"max_attempts": 8},
     "modparam 'max_attempts' 8 needs up to 15 branches per call, but core"
     " 'max_branches' is 12"),
    ({"default_rules": 0},
     "no classification rules: 'default_rules' is 0 and no 'rule' is set"),
    ({"max_gateways": -1},
     "modparam 'max_gateways' must be in 1..1000000 (got -1)"),
    ({"failover_callback": "ksr_x"},
     "modparam 'failover_callback' (ksr_x) needs a KEMI config"),
]


@pytest.mark.parametrize("params,message", BAD_PARAMS,
                         ids=[next(iter(p)) + "_" + str(i)
                              for i, (p, _) in enumerate(BAD_PARAMS)])
def test_bad_modparam_refuses_startup(run, proxy, params, message):
    k = proxy([(1, "sip:127.0.0.1:9", 10)], expect_start=False,
              MOD_PARAMS=modparams(**params))
    assert k.exit_code() != 0
    log = k.log()
    assert message in log, log[-3000:]
    assert "error while initializing modules" in log


# Parse-time errors: the core stops at the config line of the bad value.
PARSE_ERRORS = [
    ('modparam("gwfailover", "rule", "503=reroute")',
     "modparam 'rule': unknown action at offset 4 ('reroute')"),
    ('modparam("gwfailover", "rule", "5x=failover")',
     "modparam 'rule':"),
    ('modparam("gwfailover", "jitter", "gaussian")',
     "modparam 'jitter': unknown mode 'gaussian'"),
    ('modparam("gwfailover", "progress_reply", "100 Trying")',
     "modparam 'progress_reply': 100 Trying is tm's own"),
    ('modparam("gwfailover", "progress_reply", "200 OK")',
     "modparam 'progress_reply': expected a provisional code 101..199 first"
     " at offset 0 ('200')"),
]


@pytest.mark.parametrize("line,message", PARSE_ERRORS,
                         ids=["rule_action", "rule_code", "jitter",
                              "progress_100", "progress_200"])
def test_bad_modparam_value_names_it(run, proxy, line, message):
    k = proxy([(1, "sip:127.0.0.1:9", 10)], expect_start=False,
              MOD_PARAMS=line)
    assert k.exit_code() != 0
    log = k.log()
    assert message in log, log[-3000:]
    assert "Can't set module parameter" in log
