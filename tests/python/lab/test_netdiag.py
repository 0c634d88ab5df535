"""netdiag.wire_lost tells a stopped virtual wire (the lab's fault) from a target that stopped
listening or a fault a scenario left on. The real stall (QEMU's NIC stops delivering, rarely,
on a long-reused lab) cannot be made on purpose: a guest NIC that stops answering ARP
(`ip link set ethX arp off`) stands in for it, because from the namespace it looks the same:
LIO listens, the agent answers, the guest's address does not resolve."""
import pytest

from iscsilab import net, netdiag



def flush_neighbours(lab) -> None:
    net.run(lab.netns, ["ip", "neigh", "flush", "all"], check=True)


def set_arp(lab, nic: str, on: bool) -> None:
    dev = lab.faults.guest_dev(nic)
    res = lab.agent.call("run", argv=["ip", "link", "set", dev, "arp", "on" if on else "off"])
    assert res["rc"] == 0, res["stderr"]


@pytest.fixture
def silent_nic0(lab):
    set_arp(lab, "nic0", False)
    flush_neighbours(lab)
    try:
        yield lab
    finally:
        set_arp(lab, "nic0", True)
        flush_neighbours(lab)


def test_a_sound_lab_has_no_wire_fault(lab):
    assert netdiag.wire_lost(lab) is None


def test_a_nic_that_answers_nothing_while_lio_listens_is_a_wire_fault(silent_nic0):
    seen = netdiag.wire_lost(silent_nic0)
    assert seen is not None
    assert "nic0" in seen and "LIO listens" in seen
    assert "neighbour FAILED" in seen or "neighbour INCOMPLETE" in seen
    assert "nic1" not in seen           # the other NIC still answers


def test_a_portal_lio_no_longer_listens_on_is_not_a_wire_fault(silent_nic0):
    lab = silent_nic0
    on_nic0 = [p for p in lab.portals() if p.nic == "nic0"]   # every TPG listening there
    for p in on_nic0:
        lab.faults.portal_remove(p.target, "nic0", tag=p.tag)
    try:
        assert netdiag.wire_lost(lab) is None
    finally:
        for p in on_nic0:
            lab.faults.portal_add(p.target, "nic0", tag=p.tag)


def test_a_blackhole_left_on_is_taken_back_not_called_a_wire_fault(lab):
    lab.faults.blackhole("nic0")
    flush_neighbours(lab)
    try:
        assert netdiag.wire_lost(lab) is None     # it clears the faults first
    finally:
        lab.faults.blackhole("nic0", on=False)


def test_the_report_covers_both_ends_and_the_rings(lab):
    text = netdiag.collect(lab)
    for part in ("### host namespace", "ip neigh", "### guest (over the agent)",
                 "virtio-queue-status /machine/peripheral/nic0/virtio-backend 0",
                 "shadow_avail_idx"):
        assert part in text, part
