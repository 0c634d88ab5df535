"""The split-brain guard in the kernel: LIO booted with iscsi-lab's patched iscsi_target_mod
(target-lab/kernel/), one target per policy in one guest, driven by our initiator from processes
in the lab's namespace (two processes = two instances of one VM: same IQN, other ISIDs).

The target without the attribute (g-off) is the control: the same steps there must give two
sessions, or the guard tests would pass against a target that refuses everything.
"""
from __future__ import annotations

import re
import time

import pytest

from iscsilab.initiator import InitiatorProcess, RemoteError
from iscsilab.lab import Lab
from iscsilab.provision.config import parse_config

pytestmark = pytest.mark.own_labs

STRICT = "iqn.2026-11.org.example:g-strict"
REINSTATE = "iqn.2026-11.org.example:g-reinstate"
OFF = "iqn.2026-11.org.example:g-off"
VM = "iqn.2026-11.org.example:vm1"       # the InitiatorName both instances of the VM share
P0, P1 = "10.77.0.2:3260", "10.77.1.2:3260"

# LIO's defaults for a dynamic node ACL (drivers/target/iscsi/iscsi_target_nodeattrib.h,
# NA_NOPIN_TIMEOUT / NA_NOPIN_RESPONSE_TIMEOUT): a NOP-In every 15 s, the connection is dropped
# when one is not answered in 30 s. A silent initiator is therefore dropped 30..45 s after it
# went silent.
LIO_NOPIN_TIMEOUT = 15
LIO_NOPIN_RESPONSE_TIMEOUT = 30

LAB = f"""lab:
  guard: kernel
  targets:
""" + "".join(f"""    - name: {iqn}
      tpgs:
        - portals: [nic0, nic1]
          attributes: {{{attr}authentication: 0, generate_node_acls: 1, demo_mode_write_protect: 0,
                        cache_dynamic_acls: 1}}
          luns:
            - {{lun: 0, backstore: {{type: ramdisk, size: 16MiB}}}}
""" for iqn, attr in ((STRICT, "single_session: strict, "), (REINSTATE, "single_session: reinstate, "),
                      (OFF, "")))

# Fast NOP on our side so that a cut connection is noticed in seconds; recovery keeps trying
# for two minutes.
FAST_NOP = {"node.conn[0].timeo.noop_out_interval": "2", "node.conn[0].timeo.noop_out_timeout": "2",
            "node.session.timeo.replacement_timeout": "150"}


@pytest.fixture(scope="module")
def glab():
    lab = Lab(parse_config(LAB, "test_guard_kernel.py"))
    lab.up()
    lab.console.mark()
    yield lab
    lab.down()


def guest(lab, script: str) -> str:
    res = lab.agent.call("run", argv=["sh", "-c", script])
    assert res["rc"] == 0, res["stderr"]
    return res["stdout"]


def target_sessions(lab, iqn: str) -> int:
    """LIO's own count of the target's sessions (tiqn_nsessions)."""
    return int(guest(lab, f"cat /sys/kernel/config/target/iscsi/{iqn}/fabric_statistics/"
                          "iscsi_instance/sessions"))


def wait_sessions(lab, iqn: str, want: int, timeout: float = 60) -> None:
    """Until LIO counts `want` sessions: it counts a new session only after it has sent the last
    Login Response (iscsi_post_login_handler), and drops one after the Logout Response, so a
    count read just after a login or logout returned may be the old one."""
    deadline = time.monotonic() + timeout
    while (n := target_sessions(lab, iqn)) != want:
        assert time.monotonic() < deadline, f"{iqn}: {n} sessions, expected {want}"
        time.sleep(0.2)


def guard_log(lab) -> list[str]:
    return [l for l in guest(lab, "dmesg").splitlines() if "single_session guard" in l]


def refused_by_guard(exc: RemoteError) -> bool:
    return (exc.type == "SessionLimitError" and exc.code == "session_limit"
            and "single-session guard" in exc.message)


def login_until_admitted(ini, key, target, portal, isid, timeout: float) -> float:
    """Retries a refused login; returns how long it took. Any other failure is an error."""
    t0 = time.monotonic()
    while True:
        try:
            ini.login(key, target, portal, isid=isid)
            return time.monotonic() - t0
        except RemoteError as exc:
            assert refused_by_guard(exc), exc
            assert time.monotonic() - t0 < timeout, f"still refused after {timeout} s"
            time.sleep(0.5)


def test_patched_module_is_loaded_and_tools_still_work(glab):
    assert "O" in guest(glab, "cat /sys/module/iscsi_target_mod/taint")  # out of tree: ours
    base = "/sys/kernel/config/target/iscsi"
    values = {iqn: guest(glab, f"cat {base}/{iqn}/tpgt_1/attrib/single_session").strip()
              for iqn in (STRICT, REINSTATE, OFF)}
    assert values == {STRICT: "1", REINSTATE: "2", OFF: "0"}
    # Out of range is refused by the kernel, like any other TPG attribute.
    res = glab.agent.call("run", argv=["sh", "-c",
                                       f"echo 3 > {base}/{OFF}/tpgt_1/attrib/single_session"])
    assert res["rc"] != 0
    assert "Illegal value 3 for single_session" in guest(glab, "dmesg | tail -5")
    assert guest(glab, f"cat {base}/{OFF}/tpgt_1/attrib/single_session").strip() == "0"
    # rtslib-fb sees and sets it like any attribute; targetcli still lists the targets.
    assert "single_session" in glab.provisioner.capabilities(OFF)["attributes"]
    glab.provisioner.set_attributes(OFF, {"single_session": "0"})
    listing = glab.targetcli("ls", "/iscsi", "1")
    assert STRICT in listing and REINSTATE in listing and OFF in listing


@pytest.mark.parametrize("target", [STRICT, REINSTATE])
def test_second_instance_is_refused_while_the_first_writes(glab, target):
    with InitiatorProcess(glab, VM) as first, InitiatorProcess(glab, VM) as second:
        first.login("s", target, P0, isid="400000000001")
        first.write("s", lba=0, blocks=64, seed=11)
        before = len(guard_log(glab))

        with pytest.raises(RemoteError) as refused:
            second.login("s", target, P1, isid="400000000002")
        assert refused_by_guard(refused.value), refused.value
        assert "0x0206" in refused.value.message
        line = guard_log(glab)[before:]
        assert line and f"TPG {target},1 refused login from {VM} ISID 0x400000000002" in line[-1]
        wait_sessions(glab, target, 1)

        # The first instance is untouched: it keeps writing, and what it wrote reads back.
        first.write("s", lba=64, blocks=64, seed=12)
        assert first.verify("s", lba=0, blocks=64, seed=11)["ok"]
        assert first.verify("s", lba=64, blocks=64, seed=12)["ok"]

        first.logout("s")
        # LIO ends the session just after it answered the Logout: no timer, only its own work,
        # which a TCG guest on a loaded machine may take seconds for.
        took = login_until_admitted(second, "s", target, P1, "400000000002", timeout=60)
        assert second.verify("s", lba=0, blocks=64, seed=11)["ok"]
        second.logout("s")
        print(f"{target}: second instance admitted {took:.2f} s after the first logged out")


def test_without_the_attribute_both_instances_get_in(glab):
    """The control: the same two logins on the unguarded target give two sessions."""
    with InitiatorProcess(glab, VM) as first, InitiatorProcess(glab, VM) as second:
        first.login("s", OFF, P0, isid="400000000001")
        second.login("s", OFF, P1, isid="400000000002")
        wait_sessions(glab, OFF, 2)
        first.logout("s")
        second.logout("s")


ROUNDS = 15
RACERS = 6


@pytest.mark.parametrize("target", [STRICT, REINSTATE])
def test_racing_leading_logins_end_with_exactly_one_session(glab, target):
    """RACERS leading logins released at once by a barrier, spread over both portals (two LIO
    login threads), every round; exactly one may win.

    What this can and cannot tell: LIO 6.1 already runs the leading logins of one TPG one at a
    time (tpg->np_login_sem, held from iscsi_target_locate_portal() to the end of the login), so
    on this kernel a check without the guard's reservation passes this test too. Verified by
    hand: a variant module without the reservation (ISCSILAB_GUARD_MODULE=...), with 20 ms of
    netem delay on both NICs to widen the window, gave one session in every round. The
    reservation is kept so that the guard does not depend on that semaphore."""
    with InitiatorProcess(glab, VM) as ini:
        winners = []
        for r in range(ROUNDS):
            results = ini.login_many(target, [
                {"key": f"r{r}-{i}", "portal": (P0, P1)[i % 2], "isid": f"4000000{r:03x}{i:02x}"}
                for i in range(RACERS)])
            ok = [x for x in results if x["ok"]]
            refused = [x for x in results if not x["ok"]]
            assert len(ok) == 1, f"round {r}: {len(ok)} sessions: {results}"
            for x in refused:
                assert x["error"]["type"] == "SessionLimitError", x
            wait_sessions(glab, target, 1)
            winners.append(ok[0]["key"])
            ini.logout(ok[0]["key"])
            wait_sessions(glab, target, 0)
        print(f"{target}: {ROUNDS} rounds of {RACERS} racing logins, one session each; "
              f"winners {winners}")


def test_racing_logins_without_the_attribute_all_get_in(glab):
    """The control for the race: unguarded, the same burst gives RACERS sessions."""
    with InitiatorProcess(glab, VM) as ini:
        results = ini.login_many(OFF, [
            {"key": f"c{i}", "portal": (P0, P1)[i % 2], "isid": f"40000000ff{i:02x}"}
            for i in range(RACERS)])
        assert all(x["ok"] for x in results), results
        wait_sessions(glab, OFF, RACERS)
        for x in results:
            ini.logout(x["key"])


def cut_and_time_recovery(glab, target: str) -> tuple[float, list]:
    """The first instance loses its link (its TCP connection is blackholed, nothing else is);
    its engine notices (NOP timeout) and logs in again with the same ISID. Returns the seconds
    from the cut until the session is LOGGED_IN again, checking the data on both sides of it."""
    with InitiatorProcess(glab, VM) as first:
        first.login("s", target, P0, isid="400000000007", settings=FAST_NOP)
        first.write("s", lba=0, blocks=32, seed=21)
        (port,) = glab.faults.connections(P0)
        glab.faults.blackhole_connection(port)
        t_cut = time.monotonic()
        try:
            deadline = t_cut + 120
            while True:
                time.sleep(0.5)
                st = first.state("s")
                if st["reinstatements"] >= 1 and st["state"] == "LOGGED_IN":
                    break
                assert time.monotonic() < deadline, f"not recovered after 120 s: {st}"
            took = time.monotonic() - t_cut
            assert first.verify("s", lba=0, blocks=32, seed=21)["ok"]
            first.write("s", lba=32, blocks=32, seed=22)
            assert first.verify("s", lba=32, blocks=32, seed=22)["ok"]
            wait_sessions(glab, target, 1)
            events = first.events("s")
            first.logout("s")
        finally:
            glab.faults.blackhole_connection(port, on=False)
        wait_sessions(glab, target, 0, timeout=60)
        return took, events


def test_reinstatement_allowed_under_reinstate(glab):
    took, _ = cut_and_time_recovery(glab, REINSTATE)
    print(f"reinstate: recovered {took:.1f} s after the link loss")
    # NOP timeout (interval 2 + timeout 2) + DefaultTime2Wait (2) + a relogin, with slack for a
    # TCG guest on a loaded machine.
    assert took < 2 + 2 + 2 + 24, f"recovered after {took:.1f} s"


def test_reinstatement_refused_under_strict_until_lio_drops_the_old_session(glab):
    before = len(guard_log(glab))
    took, events = cut_and_time_recovery(glab, STRICT)
    refusals = guard_log(glab)[before:]
    assert refusals, "the relogins should have been refused while the old session lived"
    assert all(f"from {VM} ISID 0x400000000007" in l for l in refusals)
    assert any("single-session guard" in e["detail"] for e in events if e["type"] == "login_failed")
    # LIO drops a silent connection 30..45 s after it went silent (NOP-In every 15 s, 30 s to
    # answer; the 2 s below it: a NOP-In sent just before the cut, its answer lost); our relogin
    # backoff adds at most 4 s, and a TCG guest on a loaded machine the rest of the slack.
    lo, hi = LIO_NOPIN_RESPONSE_TIMEOUT - 2, LIO_NOPIN_TIMEOUT + LIO_NOPIN_RESPONSE_TIMEOUT + 20
    assert lo <= took <= hi, f"recovered after {took:.1f} s, expected {lo}..{hi}"
    print(f"strict: refused {len(refusals)} times, recovered {took:.1f} s after the link loss "
          f"(LIO default NOP-In {LIO_NOPIN_TIMEOUT} s, response timeout {LIO_NOPIN_RESPONSE_TIMEOUT} s)")


def test_no_kernel_problem_during_the_guard_tests(glab):
    assert glab.console.new_findings() == []
