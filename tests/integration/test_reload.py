"""dispatcher.reload while gwfailover runs: the dispatcher list grows and
shrinks under the module, against a real Kamailio, dispatcher and sipp.

- gwfailover.list right after a reload that added many gateways (its
  bookkeeping must be sized for them: the ctl process's pkg memory is
  checked by q_malloc's fragment patterns);
- the dispatcher list reader says nothing when it reads a normal list.
"""

import time

import harness
from conftest import modparams

FAILOVER = "gwf_failover();"

# Memory checks for the proxy: the q_malloc manager (the default, named
# here so that a change of default does not silently turn the check off),
# whose debug build (DBG_SR_MEMORY) marks the end of every fragment and
# aborts with "BUG: qm: fragm. ... end overwritten" when a free finds the
# mark changed; mem_safety=0 also aborts on a bad or double free instead of
# ignoring it. The run fixture fails a test whose Kamailio logs "BUG:".
QM_ARGV = ["-x", "qm", "-X", "qm"]
QM_CORE = "mem_safety=0\nmem_join=1"
# Reload as often as the test needs (default: at most one per 5 s).
RELOAD_ANYTIME = 'modparam("dispatcher", "reload_delta", 0)'


def nobody(i):
    """URI of gateway number i; no call ever reaches it."""
    return "sip:127.0.%d.%d:5060" % (1 + i // 250, 1 + i % 250)


def gw_list(k):
    res = k.rpc_value("gwfailover.list")
    assert isinstance(res, dict) and res["count"] == len(res["gateways"]), res
    return res["gateways"]


def test_list_right_after_a_reload_that_adds_gateways(run, proxy):
    layout = [(1, nobody(i), 10) for i in range(2)]
    k = proxy(layout, argv=QM_ARGV, CORE_PARAMS=QM_CORE,
              FAILURE_BODY=FAILOVER,
              MOD_PARAMS="\n".join([RELOAD_ANYTIME, modparams()]))
    assert sorted(g["uri"] for g in gw_list(k)) == \
        sorted(u for _, u, _ in layout)
    # Each reload adds 80..100 gateways (well past the allocator's
    # rounding of the old code's bitmap), then the list runs at once: the
    # resume process learns new gateways only once a second, so the list
    # is almost always the first to meet them. Several rounds make sure at
    # least one is. (kamcmd takes replies up to 128 KB: some 300
    # gateways.)
    for n in (100, 180, 260):
        layout = [(1 + i // 2 % 2, nobody(i), 10) for i in range(n)]
        harness.dispatcher_list(run, layout)
        k.rpc("dispatcher.reload")
        gws = gw_list(k)
        assert sorted((g["set"], g["uri"]) for g in gws) == \
            sorted((s, u) for s, u, _ in layout)
        assert all(g["state"] == "closed" and g["dispatcher"] == "AX"
                   for g in gws), gws[:3]
    assert k.alive()


def uri_nobody():
    """URI of a gateway no call ever reaches (nothing listens there)."""
    return "sip:127.0.0.1:%d" % harness.free_udp_port()


def reload(run, k, layout):
    harness.dispatcher_list(run, layout)
    k.rpc("dispatcher.reload")


# ------------------------------------------------------------ the reader

def test_normal_dispatcher_list_gives_no_reader_warning(run, proxy):
    a, b, c = uri_nobody(), uri_nobody(), uri_nobody()
    k = proxy([(1, a, 20), (1, b, 10), (2, c, 10)],
              MOD_PARAMS="\n".join([RELOAD_ANYTIME, modparams()]))
    # The resume process reads the list at once and then every second:
    # after two sweeps and a reload, every destination is known.
    time.sleep(1.5)
    reload(run, k, [(1, a, 20), (1, b, 10), (2, c, 10), (3, a, 10)])
    harness.wait_until(
        lambda: k.rpc_value("gwfailover.config")["gateways_known"] == 4, 5,
        what="the sweep to learn the new destination")
    time.sleep(1.2)
    gws = k.rpc_value("gwfailover.list")["gateways"]
    assert [(g["set"], g["uri"], g["state"]) for g in gws] == [
        (1, a, "closed"), (1, b, "closed"), (2, c, "closed"),
        (3, a, "closed")]
    log = k.log()
    assert "dispatcher.list reported" not in log, log[-3000:]
    assert not [line for line in log.splitlines()
                if "WARNING" in line and "gwfailover" in line], log[-3000:]
