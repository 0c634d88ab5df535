"""The lab as an initiator sees it: libiscsi's tools run in the lab's namespace against LIO.

Discovery authentication, CHAP at TPG level (t1) and ACL level (t2, one-way and mutual), LUN
sizes per backstore type and mapped LUNs are checked from outside, the way users would.
"""
import pytest

from iscsilab.peers.libiscsi import Creds

from conftest import T0, T1, T2

DISCOVERY = Creds("disc-user", "disc-secret-0001")
T1_CHAP = Creds("t1-user", "t1-secret-0001")
ONEWAY = "iqn.2026-11.org.example:oneway"
MUTUAL = "iqn.2026-11.org.example:mutual"


def test_discovery_without_credentials_is_refused(lab, libiscsi):
    proc = libiscsi.ls(lab.portal("nic0"), luns=False)
    assert proc.returncode != 0
    assert "Target:" not in proc.stdout


def test_discovery_with_credentials_lists_every_target_and_portal(lab, libiscsi):
    proc = libiscsi.ls(lab.portal("nic0"), creds=DISCOVERY, luns=False)
    assert proc.returncode == 0, proc.stderr
    seen = {tuple(line.split()[0:2]) for line in proc.stdout.splitlines() if line.startswith("Target:")}
    expected = {(f"Target:{p.target}", f"Portal:{p.address},{p.tag}") for p in lab.portals()}
    assert seen == expected


def test_discovery_with_wrong_password_is_refused(lab, libiscsi):
    proc = libiscsi.ls(lab.portal("nic0"), creds=Creds("disc-user", "not-the-secret-1"), luns=False)
    assert proc.returncode != 0


@pytest.mark.parametrize("lun, size", [(0, 64 << 20), (1, 32 << 20), (2, 32 << 20)],
                         ids=["block", "fileio", "ramdisk"])
def test_lun_sizes_on_both_portals(lab, libiscsi, lun, size):
    for nic in ("nic0", "nic1"):
        seen = libiscsi.capacity(lab.portal(nic, T0), T0, lun)
        # The block LUN may have been grown by the resize test: never below its configured size.
        assert seen >= size if lun == 0 else seen == size


def test_inquiry_names_lio_and_the_backstore(lab, libiscsi):
    proc = libiscsi.inq(lab.portal("nic0", T0), T0, 1)
    assert proc.returncode == 0, proc.stderr
    assert "Vendor:LIO-ORG" in proc.stdout and "FILEIO" in proc.stdout


def test_tpg_chap_accepts_the_right_secret(lab, libiscsi):
    assert libiscsi.capacity(lab.portal("nic0", T1), T1, 0, creds=T1_CHAP) == 16 << 20


@pytest.mark.parametrize("creds", [None, Creds("t1-user", "wrong-secret-001")], ids=["none", "wrong"])
def test_tpg_chap_refuses(lab, libiscsi, creds):
    proc = libiscsi.run("iscsi-readcapacity16", f"iscsi://{lab.portal('nic0', T1)}/{T1}/0", creds=creds)
    assert proc.returncode != 0
    assert "Total size" not in proc.stdout


def test_acl_one_way_chap(lab, libiscsi):
    creds = Creds("oneway-user", "oneway-secret-01")
    portal = lab.portal("nic1", T2)
    assert libiscsi.capacity(portal, T2, 0, creds=creds, initiator=ONEWAY) == 16 << 20
    # The same secret from an initiator that has no ACL: LIO refuses the login.
    proc = libiscsi.run("iscsi-readcapacity16", f"iscsi://{portal}/{T2}/0", creds=creds,
                        initiator="iqn.2026-11.org.example:stranger")
    assert proc.returncode != 0


def test_acl_mutual_chap_and_remapped_lun(lab, libiscsi):
    portal = lab.portal("nic1", T2)
    good = Creds("mutual-user", "mutual-secret-01", "t2-target", "t2-target-secret")
    # Mapped LUN 0 of this ACL is the TPG's LUN 1: the 24 MiB pscsi disk.
    assert libiscsi.capacity(portal, T2, 0, creds=good, initiator=MUTUAL) == 24 << 20
    liar = Creds("mutual-user", "mutual-secret-01", "t2-target", "not-the-target-1")
    proc = libiscsi.run("iscsi-readcapacity16", f"iscsi://{portal}/{T2}/0", creds=liar,
                        initiator=MUTUAL, debug=1)
    assert proc.returncode != 0
    assert "CHAP_R" in proc.stdout + proc.stderr  # libiscsi refused the target's answer


def test_pscsi_lun_is_a_passthrough_disk(lab, libiscsi):
    good = Creds("mutual-user", "mutual-secret-01", "t2-target", "t2-target-secret")
    proc = libiscsi.inq(lab.portal("nic1", T2), T2, 0, creds=good, initiator=MUTUAL)
    assert proc.returncode == 0, proc.stderr
    assert "Vendor:QEMU" in proc.stdout  # QEMU's scsi-hd answers INQUIRY, not LIO
