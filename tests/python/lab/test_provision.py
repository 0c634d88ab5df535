"""Live provisioning through rtslib-fb in the guest, checked from outside where possible:
resize seen by READ CAPACITY, LUNs added and removed live, feature-detected attributes,
sessions, and the saveconfig round trip (dump -> save -> clear -> restore -> dump identical).
"""
import json

import pytest

from iscsilab.errors import AgentError
from iscsilab.provision.config import Backstore

from conftest import T0, T1


def test_block_lun_grows_live_and_read_capacity_sees_it(lab, libiscsi):
    portal = lab.portal("nic0", T0)
    before = libiscsi.capacity(portal, T0, 0)
    grown = before + (32 << 20)
    assert lab.provisioner.resize("t0-block", grown) == grown
    assert libiscsi.capacity(portal, T0, 0) == grown
    assert libiscsi.capacity(lab.portal("nic1", T0), T0, 0) == grown


def test_fileio_resize_is_refused_with_a_reason(lab):
    with pytest.raises(AgentError, match="only block"):
        lab.provisioner.resize("t0-fileio", 64 << 20)


def test_lun_added_and_removed_live(lab, libiscsi):
    portal = lab.portal("nic0", T0)
    lab.provisioner.add_lun(T0, 7, Backstore("ramdisk", "t0-live7", 8 << 20))
    try:
        assert libiscsi.capacity(portal, T0, 7) == 8 << 20
    finally:
        lab.provisioner.remove_lun(T0, 7)
    proc = libiscsi.run("iscsi-readcapacity16", f"iscsi://{portal}/{T0}/7")
    assert proc.returncode != 0
    assert "t0-live7" not in json.dumps(lab.provisioner.dump())


def test_attributes_are_detected_from_the_running_kernel(lab):
    caps = lab.provisioner.capabilities(T0)
    assert {"authentication", "generate_node_acls", "login_timeout"} <= set(caps["attributes"])
    assert {"HeaderDigest", "MaxRecvDataSegmentLength"} <= set(caps["parameters"])
    with pytest.raises(AgentError, match="no attribute 'no_such_knob'"):
        lab.provisioner.set_attributes(T0, {"no_such_knob": 1})


def test_sessions_are_visible_while_logged_in(lab, libiscsi):
    # iscsi-perf keeps a session open for its duration: longer than the test may wait for it,
    # so that the session cannot end before a slow guest lists it; killed once seen.
    import subprocess
    import time
    from iscsilab import net
    wait = 60
    argv = net.exec_argv(lab.netns, ["iscsi-perf", "-i", "iqn.2026-11.org.example:watcher",
                                     "-t", str(wait + 30), f"iscsi://{lab.portal('nic0', T0)}/{T0}/2"])
    perf = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + wait
        names = []
        while "iqn.2026-11.org.example:watcher" not in names:
            assert perf.poll() is None, f"iscsi-perf exited ({perf.returncode}) before it was seen"
            assert time.monotonic() < deadline, f"not listed after {wait} s: {names}"
            names = [s["initiator"] for s in lab.provisioner.sessions(T0)]
            time.sleep(0.3)
    finally:
        perf.kill()
        perf.wait()


def test_saveconfig_round_trip_is_identical(lab, libiscsi):
    before = lab.provisioner.dump()
    text = json.dumps(before)
    for secret in ("t1-secret-0001", "disc-secret-0001", "mutual-secret-01", "t2-target-secret"):
        assert secret not in text  # dumps carry fingerprints, never secrets
    assert "<secret " in text
    lab.provisioner.save()
    lab.provisioner.clear()
    assert lab.provisioner.dump()["targets"] == []
    assert lab.provisioner.restore() == []
    assert lab.provisioner.dump() == before
    # And the restored LIO serves CHAP-protected LUNs again.
    from iscsilab.peers.libiscsi import Creds
    assert libiscsi.capacity(lab.portal("nic0", T1), T1, 0, creds=Creds("t1-user", "t1-secret-0001")) \
        == 16 << 20
