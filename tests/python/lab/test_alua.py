"""ALUA and multipath plumbing in the lab, against real LIO: one backstore exported through two
TPGs (two target ports, one on each NIC), ALUA target port groups on it, access-state changes
with and without a transition, a flapping link, and netem on the way to the target. Boots a lab
of its own (the rtslib-fb path: the boot script does not make ALUA groups)."""
import time

import pytest

from iscsilab.initiator import InitiatorProcess, RemoteError
from iscsilab.lab import Lab
from iscsilab.provision.config import parse_config

pytestmark = pytest.mark.own_labs

LAB = """\
lab:
  targets:
    - name: iqn.2026-11.org.example:mp
      tpgs:
        - tag: 1
          portals: [nic0]
          attributes: {authentication: 0, generate_node_acls: 1, demo_mode_write_protect: 0}
          luns:
            - lun: 0
              alua_group: ao
              backstore:
                type: block
                size: 32MiB
                name: mp-lun0
                alua_groups:
                  - {name: ao, id: 1, state: active/optimized, preferred: true}
                  - {name: ano, id: 2, state: active/non-optimized}
        - tag: 2
          portals: [nic1]
          attributes: {authentication: 0, generate_node_acls: 1, demo_mode_write_protect: 0}
          luns:
            - {lun: 0, backstore: mp-lun0, alua_group: ano}
"""
TARGET = "iqn.2026-11.org.example:mp"
FAST = {"node.conn[0].timeo.noop_out_interval": 0}


@pytest.fixture(scope="module")
def alab():
    with Lab(parse_config(LAB, "test_alua.py")) as lab:
        yield lab


@pytest.fixture
def two_paths(alab):
    with InitiatorProcess(alab, "iqn.2026-11.org.example:mphost") as ini:
        ini.login("a", TARGET, alab.portal("nic0"), isid="400000000011", settings=FAST)
        ini.login("b", TARGET, alab.portal("nic1"), isid="400000000012", settings=FAST)
        yield ini


def designators(page: bytes) -> dict[int, bytes]:
    """VPD 0x83: designator type -> value (the first of each type)."""
    out, i = {}, 4
    while i + 4 <= len(page):
        kind, length = page[i + 1] & 0x0F, page[i + 3]
        out.setdefault(kind, page[i + 4:i + 4 + length])
        i += 4 + length
    return out


def test_one_backstore_through_two_tpgs_is_one_lu_with_two_target_ports(two_paths):
    two_paths.write("a", lba=0, blocks=16, seed=5)
    assert two_paths.verify("b", lba=0, blocks=16, seed=5)["ok"]   # written on one, read on the other
    vpd = {k: bytes.fromhex(two_paths.call("vpd", key=k, page=0x83)) for k in ("a", "b")}
    da, db = designators(vpd["a"]), designators(vpd["b"])
    assert da[3] == db[3]                       # the same NAA identifier: one LU
    assert int.from_bytes(da[5][2:4], "big") == 1 and int.from_bytes(db[5][2:4], "big") == 2
    assert da[4] != db[4]                       # different relative target ports


def test_standby_and_transitioning_answer_with_their_sense(alab, two_paths):
    p = alab.provisioner
    try:
        p.alua_state("mp-lun0", "ano", "standby")
        with pytest.raises(RemoteError) as e:
            two_paths.call("read", key="b", lba=0, blocks=1)
        assert (e.value.error.get("asc"), e.value.error.get("ascq")) == (0x04, 0x0B), e.value
        two_paths.call("read", key="a", lba=0, blocks=1)          # the other group still serves
        p.alua_state("mp-lun0", "ano", "active/non-optimized", transition_ms=4000)
        with pytest.raises(RemoteError) as e:
            two_paths.call("read", key="b", lba=0, blocks=1)
        assert (e.value.error.get("asc"), e.value.error.get("ascq")) == (0x04, 0x0A), e.value
        deadline = time.monotonic() + 30
        while True:                                # LIO ends the transition by itself
            try:
                two_paths.call("read", key="b", lba=0, blocks=1)
                break
            except RemoteError:
                assert time.monotonic() < deadline, "still transitioning after 30 s"
                time.sleep(0.2)
    finally:
        p.alua_state("mp-lun0", "ano", "active/non-optimized")


def test_a_flapping_link_goes_down_and_up(alab):
    dev = alab.faults.guest_dev("nic1")

    def carrier():
        return alab.agent.call("run", argv=["cat", f"/sys/class/net/{dev}/carrier"])["stdout"].strip()

    seen = set()
    alab.faults.flap("nic1", period=0.5)
    try:
        deadline = time.monotonic() + 20
        while seen != {"0", "1"} and time.monotonic() < deadline:
            seen.add(carrier())
            time.sleep(0.1)
    finally:
        alab.faults.flap_stop("nic1")
    assert seen == {"0", "1"}
    assert carrier() == "1"                        # stopping leaves the link up


def test_netem_each_way_delays_a_ping(alab, two_paths):
    def rtt():
        return min(two_paths.nop("a")["seconds"] for _ in range(3))

    base = rtt()
    alab.faults.netem_to_target("nic0", delay_ms=300)
    try:
        assert rtt() >= base + 0.25                # initiator -> target only
    finally:
        alab.faults.netem_to_target_clear("nic0")
    alab.faults.netem("nic0", delay_ms=300)
    try:
        assert rtt() >= base + 0.25                # target -> initiator
    finally:
        alab.faults.netem_clear("nic0")
    assert rtt() < base + 0.25
