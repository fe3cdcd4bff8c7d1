"""The Debian package (make deb): built from this tree for the installed
Kamailio, installed with dpkg -i, loaded by name by a real Kamailio that
fails a call over, and purged again.

Runs as root only (dpkg), and only against the installed Kamailio: a
package depends on the exact kamailio package it was built for, and Debian
12 has no Kamailio 6.0 package (the 6.0 run of the suite skips it)."""

import os
import subprocess

import pytest

import harness
from conftest import modparams

PKG = "kamailio-gwfailover-modules"
MKDEB = os.path.join(harness.ROOT, "scripts", "mkdeb.sh")


def sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def installed_so():
    return os.path.join(harness.stock_module_dir(), "gwfailover.so")


@pytest.fixture
def deb(run):
    if os.environ.get("KAMAILIO_MPATH"):
        pytest.skip("packages are built for the installed Kamailio only; "
                    "Debian 12 has no kamailio 6.0 package to depend on")
    if harness.SANITIZE:
        pytest.skip("a sanitizer build is not packaged (mkdeb.sh refuses "
                    "it); the plain suite tests the package")
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    owner = sh("dpkg", "-S", installed_so())
    if os.path.exists(installed_so()) and PKG not in owner.stdout:
        pytest.skip("%s exists and is not from %s (make install?): not "
                    "overwritten" % (installed_so(), PKG))
    res = sh("bash", MKDEB, run.dir)
    assert res.returncode == 0, res.stderr
    path = res.stdout.strip().splitlines()[-1]
    yield path
    sh("dpkg", "--purge", PKG)


def field(deb, name):
    return sh("dpkg-deb", "-f", deb, name).stdout.strip()


def test_deb_installs_loads_by_name_fails_over_and_purges(run, proxy, deb):
    kamver = sh("dpkg-query", "-W", "-f=${Version}", "kamailio").stdout
    assert field(deb, "Package") == PKG
    assert "kamailio (= %s)" % kamver in field(deb, "Depends")
    assert "libcurl" in field(deb, "Depends")
    files = sh("dpkg-deb", "-c", deb).stdout
    for path in (installed_so(),
                 "/usr/share/doc/kamailio/modules/README.gwfailover.gz",
                 "/usr/share/doc/%s/copyright" % PKG,
                 "/usr/share/doc/%s/changelog.Debian.gz" % PKG,
                 "/usr/share/doc/%s/examples/kamailio.cfg" % PKG):
        assert "." + path in files, (path, files)

    res = sh("dpkg", "-i", deb)
    assert res.returncode == 0, res.stdout + res.stderr
    assert os.path.exists(installed_so())
    assert sh("dpkg-query", "-W", "-f=${Status}", PKG).stdout == \
        "install ok installed"

    # loadmodule "gwfailover.so": no path, found in Kamailio's own mpath
    primary = harness.Gateway(run, "primary", "uas_reply.xml", CODE=503,
                              REASON="Service Unavailable", EXTRA="")
    backup = harness.Gateway(run, "backup", "uas_200.xml")
    k = proxy([(1, primary.uri, 20), (1, backup.uri, 10)],
              GWF_SO="gwfailover.so", FAILURE_BODY="gwf_failover();",
              MOD_PARAMS=modparams(delay_base_ms=0))
    assert 'loadmodule "gwfailover.so"' in open(k.cfg).read()
    res = harness.run_caller(run, "caller", "uac_call.xml", k.sip_port,
                             calls=2, rate=5, timeout=20)
    assert res.finals() == [200, 200]
    assert len(primary.invites()) == 2 and len(backup.invites()) == 2
    assert k.rpc_value("gwfailover.get", primary.uri)["counted"] == 2
    k.proc.stop()

    res = sh("dpkg", "--purge", PKG)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not os.path.exists(installed_so())
    assert "install ok installed" not in \
        sh("dpkg-query", "-W", "-f=${Status}", PKG).stdout
