"""Every fault observed from outside: a login or read that hangs, fails or resets as the fault
says, and works again once the fault is undone. libiscsi's tools are the observers.

"hung" means the tool was still waiting when our timeout hit; "failed" means it gave up by
itself (refused, reset, unreachable, login rejected).
"""
import subprocess
import time

import pytest

from iscsilab.errors import GuestGone

from conftest import T0, T1

QUICK = 6  # seconds before an attempt counts as hung


def attempt(libiscsi, portal, target=T0, lun=2, timeout=QUICK, **kw):
    """(outcome, seconds) of READ CAPACITY through `portal`: 'ok', 'failed' or 'hung'."""
    started = time.monotonic()
    try:
        proc = libiscsi.run("iscsi-readcapacity16", f"iscsi://{portal}/{target}/{lun}",
                            timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        return "hung", time.monotonic() - started
    return ("ok" if proc.returncode == 0 else "failed"), time.monotonic() - started


@pytest.fixture
def faults(lab):
    yield lab.faults
    lab.faults.clear()


def test_link_down_via_qmp_hangs_that_path_only(lab, libiscsi, faults):
    faults.link_down("nic0", via="qmp")
    assert attempt(libiscsi, lab.portal("nic0"))[0] == "hung"
    assert attempt(libiscsi, lab.portal("nic1"))[0] == "ok"  # the other path of multipath
    faults.link_up("nic0", via="qmp")
    assert attempt(libiscsi, lab.portal("nic0"), timeout=30)[0] == "ok"


def test_tap_down_fails_fast_as_unreachable(lab, libiscsi, faults):
    faults.link_down("nic1", via="tap")
    outcome, seconds = attempt(libiscsi, lab.portal("nic1"))
    assert outcome == "failed" and seconds < QUICK
    faults.link_up("nic1", via="tap")
    assert attempt(libiscsi, lab.portal("nic1"), timeout=30)[0] == "ok"


def test_blackhole_hangs_and_lifts(lab, libiscsi, faults):
    faults.blackhole("nic0")
    assert attempt(libiscsi, lab.portal("nic0"))[0] == "hung"
    faults.blackhole("nic0", on=False)
    assert attempt(libiscsi, lab.portal("nic0"), timeout=30)[0] == "ok"


def test_tcp_reset_fails_at_once(lab, libiscsi, faults):
    faults.tcp_reset("nic0")
    outcome, seconds = attempt(libiscsi, lab.portal("nic0"))
    assert outcome == "failed" and seconds < QUICK
    faults.tcp_reset("nic0", on=False)
    assert attempt(libiscsi, lab.portal("nic0"))[0] == "ok"


def test_netem_delay_slows_and_full_loss_hangs(lab, libiscsi, faults):
    _, baseline = attempt(libiscsi, lab.portal("nic1"), timeout=30)
    faults.netem("nic1", delay_ms=400)
    outcome, delayed = attempt(libiscsi, lab.portal("nic1"), timeout=30)
    assert outcome == "ok"
    # Login, READ CAPACITY and logout are at least four target replies, each 400 ms late.
    assert delayed > baseline + 1.2
    faults.netem("nic1", loss_pct=100)
    assert attempt(libiscsi, lab.portal("nic1"))[0] == "hung"
    faults.netem_clear("nic1")
    assert attempt(libiscsi, lab.portal("nic1"), timeout=30)[0] == "ok"


def test_host_side_rate_limit_slows_what_initiators_send(lab, libiscsi, faults):
    _, baseline = attempt(libiscsi, lab.portal("nic0"), timeout=30)
    # 250 bytes/s after a 700-byte burst: login, command and logout send ~1.5 KB (+4 s here).
    faults.rate_limit("nic0", kbit=2, burst_bytes=700)
    outcome, limited = attempt(libiscsi, lab.portal("nic0"), timeout=30)
    assert outcome == "ok" and limited > baseline + 1.5
    faults.rate_limit_clear("nic0")
    assert attempt(libiscsi, lab.portal("nic0"))[0] == "ok"


def test_freeze_hangs_everything_and_thaw_resumes(lab, libiscsi, faults):
    faults.freeze()
    with lab.qmp() as qmp:
        assert qmp.status() == "paused"
    assert attempt(libiscsi, lab.portal("nic0"))[0] == "hung"
    with pytest.raises(GuestGone, match="did not answer ping in time"):
        lab.agent.call("ping", timeout=2)  # the agent client says so instead of hanging
    faults.thaw()
    assert attempt(libiscsi, lab.portal("nic0"), timeout=30)[0] == "ok"


def test_portal_removal_refuses_that_portal_only(lab, libiscsi, faults):
    faults.portal_remove(T0, "nic0")
    try:
        outcome, seconds = attempt(libiscsi, lab.portal("nic0"))
        assert outcome == "failed" and seconds < QUICK
        assert attempt(libiscsi, lab.portal("nic1"))[0] == "ok"
    finally:
        faults.portal_add(T0, "nic0")
    assert attempt(libiscsi, lab.portal("nic0"))[0] == "ok"


def test_tpg_disable_refuses_logins(lab, libiscsi, faults):
    from iscsilab.peers.libiscsi import Creds
    creds = Creds("t1-user", "t1-secret-0001")
    portal = lab.portal("nic0", T1)
    faults.tpg_disable(T1)
    try:
        assert attempt(libiscsi, portal, T1, 0, creds=creds)[0] == "failed"
    finally:
        faults.tpg_enable(T1)
    assert attempt(libiscsi, portal, T1, 0, creds=creds)[0] == "ok"


@pytest.fixture
def header_digest_required(lab):
    # libiscsi's tools offer "None,CRC32C" whatever the URL says; a target that accepts only
    # CRC32C makes them use it.
    lab.provisioner.set_parameters(T0, {"HeaderDigest": "CRC32C"})
    yield
    lab.provisioner.set_parameters(T0, {"HeaderDigest": "CRC32C,None"})


def test_header_digest_error_seen_by_the_initiator(lab, libiscsi, faults, header_digest_required):
    proxy = faults.corrupt_proxy("nic0", listen_port=3270, direction="to_initiator", pdu=0,
                                 byte=20, header_digest=True, connection=1)
    try:
        proc = libiscsi.run("iscsi-inq", f"iscsi://{proxy.address}/{T0}/0", debug=1, timeout=30)
    finally:
        faults.stop_proxy(proxy)
    report = proxy.report()
    assert [f["direction"] for f in report["flipped"]] == ["to_initiator"]
    assert "header checksum verification failed" in proc.stderr
    # libiscsi drops the connection, reconnects (the proxy spares the 2nd) and completes.
    assert report["connections"] == 2 and proc.returncode == 0


def test_header_digest_error_seen_by_the_target(lab, libiscsi, faults, header_digest_required):
    lab.console.mark()
    proxy = faults.corrupt_proxy("nic0", listen_port=3271, direction="to_target", pdu=0,
                                 byte=20, header_digest=True, connection=1)
    try:
        proc = libiscsi.run("iscsi-inq", f"iscsi://{proxy.address}/{T0}/0", timeout=30)
    finally:
        faults.stop_proxy(proxy)
    assert proc.returncode == 0 and proxy.report()["connections"] == 2
    deadline = time.monotonic() + 10
    while "HeaderDigest CRC32C failed" not in lab.console.text()[-4000:]:
        assert time.monotonic() < deadline, "LIO did not log the header digest failure"
        time.sleep(0.2)
