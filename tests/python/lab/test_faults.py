"""Every fault observed from outside: a login or read that hangs, fails or resets as the fault
says, and works again once the fault is undone. libiscsi's tools are the observers.

"hung" means the tool was still waiting after HUNG_AFTER seconds; "failed" means it gave up by
itself, and libiscsi's own words say why (refused, unreachable, login rejected), so that a
refusal is never confused with a connect that timed out. An attempt that should end by itself
gets ENDS_WITHIN seconds, which only a broken lab uses up: on a loaded machine with a TCG guest
it may take several times its usual second, and it returns as soon as it ends.
"""
import re
import subprocess
import time
from dataclasses import dataclass

import pytest

from iscsilab import net
from iscsilab.errors import GuestGone

from conftest import T0, T1

# With LIBISCSI_TCP_SYNCNT=2 (peers/libiscsi.py) a connect whose SYNs all vanish gives up after
# 1 + 2 + 4 = 7 s: an attempt still waiting at 6 s is hung, whatever the machine's load (load
# only makes it wait longer).
HUNG_AFTER = 6
ENDS_WITHIN = 60
LOGIN_REFUSED = "Failed to log in to target. Status:"  # a Login Response refused it


@dataclass
class Attempt:
    outcome: str    # "ok", "failed" or "hung"
    seconds: float
    why: str        # libiscsi's reason when it failed: its "socket error ..." or login error line


def attempt(libiscsi, portal, target=T0, lun=2, timeout=ENDS_WITHIN, **kw) -> Attempt:
    """READ CAPACITY through `portal`, with libiscsi's debug log for its reasons."""
    started = time.monotonic()
    try:
        proc = libiscsi.run("iscsi-readcapacity16", f"iscsi://{portal}/{target}/{lun}",
                            timeout=timeout, debug=1, **kw)
    except subprocess.TimeoutExpired:
        a = Attempt("hung", time.monotonic() - started, "")
    else:
        reasons = [l.strip() for l in proc.stderr.splitlines()
                   if re.search(r"socket error|[Ll]ogin", l)]
        a = Attempt("ok" if proc.returncode == 0 else "failed", time.monotonic() - started,
                    " | ".join(reasons)[:400])
    print(f"{portal}: {a.outcome} after {a.seconds:.2f} s {a.why}")
    return a


def assert_failed_by_itself(a: Attempt, *reasons: str) -> None:
    """Gave up on an answer (one of `reasons`: a reset, an unreachable network, a refused
    login), not because a timer of its own ran out ("Connection timed out" after 7 s): "fast" is
    what the reason says, not a number of seconds."""
    assert a.outcome == "failed" and any(r in a.why for r in reasons), a


@pytest.fixture
def faults(lab):
    yield lab.faults
    lab.faults.clear()


def test_link_down_via_qmp_hangs_that_path_only(lab, libiscsi, faults):
    faults.link_down("nic0", via="qmp")
    assert attempt(libiscsi, lab.portal("nic0"), timeout=HUNG_AFTER).outcome == "hung"
    assert attempt(libiscsi, lab.portal("nic1")).outcome == "ok"  # the other path of multipath
    faults.link_up("nic0", via="qmp")
    assert attempt(libiscsi, lab.portal("nic0")).outcome == "ok"


def test_tap_down_fails_fast_as_unreachable(lab, libiscsi, faults):
    faults.link_down("nic1", via="tap")
    assert_failed_by_itself(attempt(libiscsi, lab.portal("nic1")), "unreachable",
                            "No route to host")
    faults.link_up("nic1", via="tap")
    assert attempt(libiscsi, lab.portal("nic1")).outcome == "ok"


def test_blackhole_hangs_and_lifts(lab, libiscsi, faults):
    faults.blackhole("nic0")
    assert attempt(libiscsi, lab.portal("nic0"), timeout=HUNG_AFTER).outcome == "hung"
    faults.blackhole("nic0", on=False)
    assert attempt(libiscsi, lab.portal("nic0")).outcome == "ok"


def test_tcp_reset_fails_at_once(lab, libiscsi, faults):
    faults.tcp_reset("nic0")
    assert_failed_by_itself(attempt(libiscsi, lab.portal("nic0")), "Connection refused")
    faults.tcp_reset("nic0", on=False)
    assert attempt(libiscsi, lab.portal("nic0")).outcome == "ok"


def test_netem_delay_slows_and_full_loss_hangs(lab, libiscsi, faults):
    baseline = attempt(libiscsi, lab.portal("nic1"))
    faults.netem("nic1", delay_ms=400)
    delayed = attempt(libiscsi, lab.portal("nic1"))
    assert delayed.outcome == "ok", delayed
    # netem holds every packet the target sends for 400 ms, and the tool waits for at least four
    # of them one after the other (SYN-ACK, Login Response, READ CAPACITY data, Logout
    # Response; five with libiscsi's two login steps): 1.6 s that no machine, however fast or
    # idle, can shorten, whatever the attempt without the delay took.
    print(f"netem 400 ms: {delayed.seconds:.2f} s, {baseline.seconds:.2f} s without")
    assert delayed.seconds >= 4 * 0.4, delayed
    faults.netem("nic1", loss_pct=100)
    assert attempt(libiscsi, lab.portal("nic1"), timeout=HUNG_AFTER).outcome == "hung"
    faults.netem_clear("nic1")
    assert attempt(libiscsi, lab.portal("nic1")).outcome == "ok"


def tbf_sent(lab, nic: str) -> tuple[int, int]:
    """(bytes, overlimits) of the tbf on `nic`'s tap, from tc -s."""
    out = net.run(lab.netns, ["tc", "-s", "qdisc", "show", "dev", lab.faults.link(nic).tap],
                  capture_output=True, text=True).stdout
    m = re.search(r"qdisc tbf .*?Sent (\d+) bytes \d+ pkt \(dropped \d+, overlimits (\d+)", out, re.S)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def test_host_side_rate_limit_slows_what_initiators_send(lab, libiscsi, faults):
    baseline = attempt(libiscsi, lab.portal("nic0"))
    # 250 bytes/s after a 700-byte burst: login, command and logout send ~1.7 KB (+4 s).
    faults.rate_limit("nic0", kbit=2, burst_bytes=700)
    before = tbf_sent(lab, "nic0")
    limited = attempt(libiscsi, lab.portal("nic0"))
    after = tbf_sent(lab, "nic0")
    sent = after[0] - before[0]
    # A bucket of 700 bytes refilled at 250 bytes/s passes B bytes in no less than
    # (B - 700) / 250 s. B: what the tbf counted over the attempt, less the few bare TCP segments
    # (66 bytes each: last ACK, FIN, ACK of the target's FIN) it may have passed after the tool
    # had its last answer. A bound from what was shaped, not from a second timed run.
    least = (sent - 700 - 4 * 66) / 250
    print(f"tbf 2 kbit/s, burst 700: {limited.seconds:.2f} s (at least {least:.2f} s for "
          f"{sent} bytes, {after[1] - before[1]} overlimits), {baseline.seconds:.2f} s without")
    assert limited.outcome == "ok", limited
    assert least > 1, f"only {sent} bytes went through the tbf"
    assert limited.seconds >= least, limited
    faults.rate_limit_clear("nic0")
    assert attempt(libiscsi, lab.portal("nic0")).outcome == "ok"


def test_freeze_hangs_everything_and_thaw_resumes(lab, libiscsi, faults):
    faults.freeze()
    with lab.qmp() as qmp:
        assert qmp.status() == "paused"
    assert attempt(libiscsi, lab.portal("nic0"), timeout=HUNG_AFTER).outcome == "hung"
    with pytest.raises(GuestGone, match="did not answer ping in time"):
        lab.agent.call("ping", timeout=2)  # the agent client says so instead of hanging
    faults.thaw()
    assert attempt(libiscsi, lab.portal("nic0")).outcome == "ok"


def test_portal_removal_refuses_that_portal_only(lab, libiscsi, faults):
    faults.portal_remove(T0, "nic0")
    try:
        # No listener left there (a reset), or, as here, one kept for another target's TPG on
        # that address: LIO answers the login with a refusal.
        assert_failed_by_itself(attempt(libiscsi, lab.portal("nic0")), "Connection refused",
                                LOGIN_REFUSED)
        assert attempt(libiscsi, lab.portal("nic1")).outcome == "ok"
    finally:
        faults.portal_add(T0, "nic0")
    assert attempt(libiscsi, lab.portal("nic0")).outcome == "ok"


def test_tpg_disable_refuses_logins(lab, libiscsi, faults):
    from iscsilab.peers.libiscsi import Creds
    creds = Creds("t1-user", "t1-secret-0001")
    portal = lab.portal("nic0", T1)
    faults.tpg_disable(T1)
    try:
        assert_failed_by_itself(attempt(libiscsi, portal, T1, 0, creds=creds), LOGIN_REFUSED)
    finally:
        faults.tpg_enable(T1)
    assert attempt(libiscsi, portal, T1, 0, creds=creds).outcome == "ok"


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
        proc = libiscsi.run("iscsi-inq", f"iscsi://{proxy.address}/{T0}/0", debug=1,
                           timeout=ENDS_WITHIN)
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
        proc = libiscsi.run("iscsi-inq", f"iscsi://{proxy.address}/{T0}/0", timeout=ENDS_WITHIN)
    finally:
        faults.stop_proxy(proxy)
    assert proc.returncode == 0 and proxy.report()["connections"] == 2
    # LIO logged it before it answered the reconnect; on its way out of a TCG guest's console
    # under load it may take a while.
    deadline = time.monotonic() + ENDS_WITHIN
    while "HeaderDigest CRC32C failed" not in lab.console.text()[-4000:]:
        assert time.monotonic() < deadline, "LIO did not log the header digest failure"
        time.sleep(0.2)
