"""The split-brain guard without a kernel patch: nftables in the guest allows one established TCP
connection per portal (iscsilab/guard/nft.py). The same proofs as test_guard_kernel.py, and the
fallback's known differences asserted as such:
- a refusal is a TCP reset of the connect, not a Login Response: the initiator cannot tell it
  from a target that is down;
- per portal, not per TPG: the other portal of the same TPG takes a second session;
- connections, not sessions: a discovery session to a busy portal is refused too;
- no reinstatement: a reconnecting instance is refused until the old connection is gone from
  conntrack, which can be well after LIO dropped the session.
"""
from __future__ import annotations

import time

import pytest

from iscsilab.guard import nft
from iscsilab.initiator import InitiatorProcess, RemoteError
from iscsilab.lab import Lab
from iscsilab.provision.config import parse_config

from test_guard_kernel import (LIO_NOPIN_RESPONSE_TIMEOUT, LIO_NOPIN_TIMEOUT, FAST_NOP, VM, P0, P1,
                               target_sessions, wait_sessions)

pytestmark = pytest.mark.own_labs

TARGET = "iqn.2026-11.org.example:g-nft"
LAB = f"""lab:
  guard: nftables
  targets:
    - name: {TARGET}
      tpgs:
        - portals: [nic0, nic1]
          attributes: {{authentication: 0, generate_node_acls: 1, demo_mode_write_protect: 0,
                        cache_dynamic_acls: 1}}
          luns:
            - {{lun: 0, backstore: {{type: ramdisk, size: 16MiB}}}}
"""


@pytest.fixture(scope="module")
def nlab():
    lab = Lab(parse_config(LAB, "test_guard_nftables.py"))
    lab.up()
    lab.console.mark()
    yield lab
    lab.down()


def reset_by_network(exc: RemoteError) -> bool:
    """What the fallback's refusal looks like to an initiator: a failed TCP connect."""
    return exc.code != "session_limit" and "refused" in exc.message.lower()


def refused_relogins(ini) -> int:
    """Relogins of session "s" that the network refused (login_failed events)."""
    return sum(1 for e in ini.events("s")
               if e["type"] == "login_failed" and "refused" in e["detail"].lower())


def test_second_instance_is_refused_while_the_first_writes(nlab):
    with InitiatorProcess(nlab, VM) as first, InitiatorProcess(nlab, VM) as second:
        first.login("s", TARGET, P0, isid="400000000001")
        first.write("s", lba=0, blocks=64, seed=31)
        before = nft.refusals(nlab.agent)[("10.77.0.2", 3260)]
        with pytest.raises(RemoteError) as refused:
            second.login("s", TARGET, P0, isid="400000000002")
        assert reset_by_network(refused.value), refused.value   # difference: not a Login Response
        assert nft.refusals(nlab.agent)[("10.77.0.2", 3260)] > before
        wait_sessions(nlab, TARGET, 1)
        first.write("s", lba=64, blocks=64, seed=32)
        assert first.verify("s", lba=0, blocks=64, seed=31)["ok"]
        assert first.verify("s", lba=64, blocks=64, seed=32)["ok"]
        first.logout("s")
        # Admitted once the first connection has closed: no timer, only the guest's own work.
        deadline = time.monotonic() + 60
        while True:
            try:
                second.login("s", TARGET, P0, isid="400000000002")
                break
            except RemoteError as exc:
                assert reset_by_network(exc) and time.monotonic() < deadline, exc
                time.sleep(0.5)
        assert second.verify("s", lba=64, blocks=64, seed=32)["ok"]
        second.logout("s")


def test_difference_the_other_portal_takes_a_second_session(nlab):
    with InitiatorProcess(nlab, VM) as first, InitiatorProcess(nlab, VM) as second:
        first.login("s", TARGET, P0, isid="400000000001")
        second.login("s", TARGET, P1, isid="400000000002")   # the kernel guard refuses this
        wait_sessions(nlab, TARGET, 2)
        first.logout("s")
        second.logout("s")
    wait_sessions(nlab, TARGET, 0)


def test_difference_discovery_is_refused_while_a_session_is_up(nlab):
    with InitiatorProcess(nlab, VM) as first:
        first.login("s", TARGET, P0, isid="400000000001")
        on_p0 = nlab.exec(["iscsi-ls", "-i", VM, "iscsi://10.77.0.2"], timeout=60)
        on_p1 = nlab.exec(["iscsi-ls", "-i", VM, "iscsi://10.77.1.2"], timeout=60)
        first.logout("s")
    assert on_p0.returncode != 0, on_p0.stdout
    assert on_p1.returncode == 0 and TARGET in on_p1.stdout, on_p1.stderr


def test_racing_connects_to_one_portal_end_with_exactly_one_session(nlab):
    with InitiatorProcess(nlab, VM) as ini:
        for r in range(15):
            results = ini.login_many(TARGET, [
                {"key": f"r{r}-{i}", "portal": P0, "isid": f"4000000{r:03x}{i:02x}"} for i in range(6)])
            ok = [x for x in results if x["ok"]]
            assert len(ok) == 1, f"round {r}: {results}"
            wait_sessions(nlab, TARGET, 1)
            ini.logout(ok[0]["key"])
            wait_sessions(nlab, TARGET, 0)


def test_difference_no_reinstatement_until_conntrack_forgets_the_old_connection(nlab):
    """The first instance loses its link and reconnects with the same ISID on the same portal.
    LIO drops the silent session 30..45 s later, but the fallback keeps refusing after that:
    the old connection stays in conntrack (its FIN cannot get through) until the link is back."""
    with InitiatorProcess(nlab, VM) as first:
        first.login("s", TARGET, P0, isid="400000000007", settings=FAST_NOP)
        first.write("s", lba=0, blocks=32, seed=41)
        (port,) = nlab.faults.connections(P0)
        nlab.faults.blackhole_connection(port)
        t_cut = time.monotonic()
        try:
            wait_sessions(nlab, TARGET, 0,
                          timeout=LIO_NOPIN_TIMEOUT + LIO_NOPIN_RESPONSE_TIMEOUT + 30)
            lio_dropped = time.monotonic() - t_cut
            # Still refused after LIO dropped the session: two more relogins (our backoff is
            # at most 4 s apart) are both refused by the network.
            refused_before = refused_relogins(first)
            deadline = time.monotonic() + 2 * 4 + 30
            while refused_relogins(first) < refused_before + 2:
                assert time.monotonic() < deadline, first.events("s")
                time.sleep(0.5)
            st = first.state("s")
            assert st["state"] != "LOGGED_IN" and st["reinstatements"] == 0, st
            assert target_sessions(nlab, TARGET) == 0
        finally:
            nlab.faults.blackhole_connection(port, on=False)
        t_back = time.monotonic()
        deadline = t_back + 60
        while (st := first.state("s"))["state"] != "LOGGED_IN" or st["reinstatements"] < 1:
            assert time.monotonic() < deadline, st
            time.sleep(0.5)
        back = time.monotonic() - t_back
        assert first.verify("s", lba=0, blocks=32, seed=41)["ok"]
        first.logout("s")
    print(f"nftables: LIO dropped the old session {lio_dropped:.1f} s after the link loss; two "
          f"relogins after that refused; recovered {back:.1f} s after the old connection could "
          "close")


def test_no_kernel_problem_during_the_nftables_tests(nlab):
    assert nlab.console.new_findings() == []
