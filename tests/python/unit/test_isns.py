"""iSNS from Python: iscsilab._core's registration calls against a real isnsd on loopback (the
lab uses them to register LIO's portals), their refusals in words, and the lab's mapping of
LIO's live TPGs to iSNS entities."""
import os
import socket
import subprocess
import time

import pytest

from _core_testlib import core
from iscsilab import isns

INITIATOR = "iqn.2026-12.org.example:py-host"
TARGET = "iqn.2026-12.org.example:py-t0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def isnsd(tmp_path):
    if not os.access(isns.ISNSD, os.X_OK):
        pytest.fail(f"{isns.ISNSD} missing: apt-get install -y open-isns-server (ci/setup does)")
    port = _free_port()
    (tmp_path / "db").mkdir()
    conf = tmp_path / "isnsd.conf"
    conf.write_text(f"BindAddress = 127.0.0.1:{port}\nSourceName = py.isns.test\n"
                    f"Database = {tmp_path / 'db'}\nPIDFile = {tmp_path / 'isnsd.pid'}\n"
                    f"ControlSocket = {tmp_path / 'control'}\nSecurity = 0\nSLPRegister = 0\n"
                    "ESIRetries = 0\nDefaultDiscoveryDomain = 1\n")
    with open(tmp_path / "isnsd.log", "wb") as log:
        proc = subprocess.Popen([isns.ISNSD, "-f", "-c", str(conf)], stdout=log, stderr=log,
                                start_new_session=True)
    try:
        end = time.monotonic() + 10
        while not isns._listening(proc.pid, "127.0.0.1", port):
            assert proc.poll() is None and time.monotonic() < end, (tmp_path / "isnsd.log").read_text()
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


def portals_of(found):
    return {t.name: sorted(f"{a.portal},{a.tpgt}" for a in t.addresses) for t in found}


def test_register_change_and_deregister_a_target(isnsd):
    c = core()
    assert c.isns_discover(isnsd, INITIATOR) == []
    c.isns_register_target(isnsd, TARGET, [("127.0.0.1", 3260, 1), ("127.0.0.2", 3261, 2)])
    assert portals_of(c.isns_discover(isnsd, INITIATOR)) == {
        TARGET: ["127.0.0.1:3260,1", "127.0.0.2:3261,2"]}
    # Registering again replaces the portals: a removed one is gone on the next query.
    c.isns_register_target(isnsd, TARGET, [("127.0.0.1", 3260, 1)])
    assert portals_of(c.isns_discover(isnsd, INITIATOR)) == {TARGET: ["127.0.0.1:3260,1"]}
    c.isns_register_target(isnsd, TARGET + "-b", [("127.0.0.3", 3260, 1)], entity="lab-b")
    assert set(portals_of(c.isns_discover(isnsd, INITIATOR))) == {TARGET, TARGET + "-b"}
    c.isns_deregister_target(isnsd, TARGET)
    c.isns_deregister_target(isnsd, TARGET + "-b", entity="lab-b")
    assert c.isns_discover(isnsd, INITIATOR) == []


@pytest.mark.parametrize("portals, words", [
    ([("127.0.0.1", 70000, 1)], r"portal \(127.0.0.1, 70000, 1\): expected a port in 1..65535"),
    ([("127.0.0.1", 3260, -1)], r"expected a portal group tag in 0..65535"),
    ([("", 3260, 1)], r"expected an IPv4 or IPv6 address"),
])
def test_bad_portals_are_refused_naming_what_was_expected(portals, words):
    with pytest.raises(ValueError, match=words):
        core().isns_register_target("127.0.0.1:1", TARGET, portals)


def test_bad_server_and_timeout_are_refused_in_words():
    c = core()
    with pytest.raises(ValueError, match="server: expected host\\[:port\\]"):
        c.isns_discover("127.0.0.1:notaport", INITIATOR)
    with pytest.raises(ValueError, match=r"timeout: expected seconds in \(0, 3600\]"):
        c.isns_discover("127.0.0.1", INITIATOR, timeout=0)


def test_nobody_listening_is_a_connection_error_naming_the_server():
    port = _free_port()
    with pytest.raises(core().IscsiError, match=f"iSNS server 127.0.0.1:{port}") as e:
        core().isns_discover(f"127.0.0.1:{port}", INITIATOR, timeout=2)
    assert isinstance(e.value, ConnectionError)


def test_entities_are_lios_enabled_tpgs_with_their_portals():
    live = {(TARGET, 1): {"enable": True, "portals": [("10.77.1.2", 3260), ("10.77.0.2", 3260)]},
            (TARGET, 2): {"enable": False, "portals": [("10.77.0.2", 3261)]},
            ("iqn.2026-12.org.example:none", 1): {"enable": True, "portals": []}}
    assert isns.entities_of(live) == {TARGET: [("10.77.0.2", 3260, 1), ("10.77.1.2", 3260, 1)]}
