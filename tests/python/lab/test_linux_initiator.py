"""The Linux initiator guest (issue 13) against the lab's LIO: a second guest in the lab's
namespace runs open-iscsi's iscsid; iscsiadm discovers and logs in, the SCSI disk appears, an
O_DIRECT write reads back intact, logout and stop leave no session, daemon, guest or tap behind.
Boots its own lab and the initiator guest (two VMs at once, like the side-by-side test), before
the session lab (see conftest.py).
"""
import os
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from iscsilab.initiator.linux.guest import LinuxInitiatorGuest
from iscsilab.lab import Lab
from iscsilab.provision.config import default_config

from test_00_lifecycle import _cmdline, nothing_left

pytestmark = pytest.mark.own_labs

NAME = "iqn.2026-11.org.example:linux-guest"
SETTINGS = {"node.conn[0].timeo.noop_out_interval": 7, "node.conn[0].timeo.noop_out_timeout": 9,
            "node.session.timeo.replacement_timeout": 33}
HOST_NAME_FILE = Path("/etc/iscsi/initiatorname.iscsi")


def qemus_under(path: Path) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()
            and b"qemu" in _cmdline(p) and str(path).encode() in _cmdline(p)]


def taps(lab: Lab) -> list[str]:
    out = lab.exec(["ip", "-o", "link", "show"], check=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def target_sessions(lab: Lab, target: str) -> list[str]:
    return [s["initiator"] for s in lab.agent.call("lio.sessions", target=target, tag=1)]


NOP_5_5 = {"node.conn[0].timeo.noop_out_interval": 5, "node.conn[0].timeo.noop_out_timeout": 5,
           "node.session.timeo.replacement_timeout": 60}


@contextmanager
def started_guest(lab_prefix: str, **guest_options):
    """A lab of its own and the Linux guest started in it: yields (lab, guest). Afterwards the
    guest stops and the lab goes down, and neither may leave anything behind."""
    lab = Lab(default_config(), name=f"{lab_prefix}{os.getpid() % 100000}")
    lab.up()
    try:
        ini = LinuxInitiatorGuest(lab, name=NAME, **guest_options)
        ini.start()
        try:
            yield lab, ini
        finally:
            left = ini.stop()
        assert left == {"sessions": [], "maps": [], "daemons": []}
    finally:
        lab.down()
    assert nothing_left(lab.name)


@contextmanager
def logged_in_guest(lab_prefix: str, settings: dict, seed: int):
    """started_guest, logged in to the lab's first target through nic0 with 64 blocks written
    from `seed`: yields (lab, guest, disk)."""
    with started_guest(lab_prefix, settings=settings) as (lab, ini):
        target, portal = lab.portals()[0].target, lab.portal("nic0")
        ini.discover(portal)
        ini.login(target, portal)
        [disk] = ini.wait_disks(target)
        ini.direct_io(disk["dev"], lba=0, blocks=64, seed=seed)
        yield lab, ini, disk


def wait_for(what: str, check, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.5)


def test_iscsiadm_login_io_logout_leaves_nothing():
    host_name_before = HOST_NAME_FILE.read_bytes() if HOST_NAME_FILE.exists() else None
    lab = Lab(default_config(), name=f"lx{os.getpid() % 100000}")
    lab.up()
    try:
        ini = LinuxInitiatorGuest(lab, name=NAME, settings=SETTINGS)
        ini.start()
        guest_dir = ini.run_dir
        try:
            assert qemus_under(guest_dir), "the initiator guest's QEMU runs"
            assert {"itap0", "itap1"} <= set(taps(lab))
            # The guest's open-iscsi configuration is its own, not the host's.
            names = ini.agent.call("read_file", path="/etc/iscsi/initiatorname.iscsi")
            assert names.strip() == f"InitiatorName={NAME}"

            found = ini.discover(lab.portal())
            assert sorted(found) == sorted((p.target, p.address) for p in lab.portals())
            target, portal = lab.portals()[0].target, lab.portal("nic0")
            record = ini.iscsiadm("-m", "node", "-T", target, "-p", portal)
            for key, value in SETTINGS.items():
                assert f"{key} = {value}\n" in record, f"{key} from the settings in the node record"

            ini.login(target, portal)
            [session] = ini.sessions()
            assert (session["target"], session["state"]) == (target, "LOGGED_IN")
            assert f"{session['address']}:{session['port']}" == portal
            assert session["recovery_tmo"] == "33"
            assert target_sessions(lab, target) == [NAME], "LIO sees the guest's InitiatorName"

            [disk] = ini.wait_disks(target)
            assert disk["lun"] == 0 and disk["bytes"] == 64 << 20
            done = ini.direct_io(disk["dev"], lba=2048, blocks=128, seed=0x5EED)
            assert done["mismatched"] == 0
            assert done["written"] == done["read"] == 128 * disk["block_size"]
            # Read again without writing: the blocks are on the target, not in a cache (O_DIRECT).
            again = ini.direct_io(disk["dev"], lba=2048, blocks=128, seed=0x5EED, write=False)
            assert again["written"] == 0 and again["mismatched"] == 0

            ini.logout(target, portal)
            assert ini.sessions() == []
            deadline = time.monotonic() + 30
            while target_sessions(lab, target) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert target_sessions(lab, target) == [], "LIO dropped the session"
            assert "detected conn error" not in ini.kernel_log()
        finally:
            left = ini.stop()
        assert left == {"sessions": [], "maps": [], "daemons": []}
        assert not guest_dir.exists()
        assert qemus_under(guest_dir) == []
        assert not {"itap0", "itap1"} & set(taps(lab))
        # The target guest is unharmed by the other guest's coming and going.
        assert lab.alive() and lab.agent.call("ping")["uptime"] > 0
    finally:
        lab.down()
    assert nothing_left(lab.name)
    host_name_after = HOST_NAME_FILE.read_bytes() if HOST_NAME_FILE.exists() else None
    assert host_name_after == host_name_before, "the host's /etc/iscsi is untouched"


def test_lab_down_takes_the_initiator_guest_with_it():
    """A runner that never stops its initiator guest (a crash, a forgotten stop) leaves nothing
    either: the guest's QEMU goes with the lab."""
    lab = Lab(default_config(), name=f"lxd{os.getpid() % 100000}")
    lab.up()
    try:
        ini = LinuxInitiatorGuest(lab, name=NAME).start()
        pids = qemus_under(ini.run_dir)
        assert len(pids) == 1
    finally:
        lab.down()
    assert not ini.alive()
    assert qemus_under(lab.run_dir) == []
    assert nothing_left(lab.name)


# CI runs nop-timeout[fault=freeze,initiator=linux] (ci/test, scenarios stage): the same freeze
# through the scenario driver, with tighter timers.
@pytest.mark.on_demand
def test_nop_timeout_of_a_frozen_target_seen_by_the_linux_initiator():
    """With noop_out_interval/timeout 5/5 the kernel sends a NOP-Out 5 s after it last heard
    from the target and gives up 5 s later: a frozen target is detected 5-10 s after the freeze
    (measured 6.6-10.0 s in 5 rounds, see the issue 13 notes), as ISCSI_ERR_NOP_TIMEDOUT (1022),
    and the session comes back once the target runs again. Bounds are generous: the machine is
    shared and both guests run under TCG."""
    with logged_in_guest("lxn", NOP_5_5, seed=3) as (lab, ini, disk):
        clock = ini.clock()
        assert clock["error"] < 0.5
        frozen_at = time.monotonic()
        lab.faults.freeze()
        try:
            after = frozen_at + clock["offset"] - clock["error"]
            ping = ini.kernel_wait(["ping timeout of 5 secs expired"], after, timeout=40)
            error = ini.kernel_wait(["detected conn error"], after, timeout=20)
        finally:
            lab.faults.thaw()
        assert ping is not None and error is not None
        assert error["text"].strip() == "connection1:0: detected conn error (1022)"
        detected = error["stamp"] - clock["offset"] - frozen_at
        assert 4.0 < detected < 20.0, f"detected {detected:.2f} s after the freeze"
        assert ping["stamp"] <= error["stamp"]
        wait_for("LOGGED_IN again", lambda: ini.sessions()[0]["state"] == "LOGGED_IN", 60)
        assert ini.direct_io(disk["dev"], lba=0, blocks=64, seed=3, write=False)["mismatched"] == 0
        assert "ISCSI_ERR_NOP_TIMEDOUT" in ini.iscsid_log()


def path_states(ini: LinuxInitiatorGuest) -> dict[str, tuple[str, str]]:
    """multipathd's view of each path: {dev: (dm state, checker state)}."""
    out = ini.multipathd("show", "paths", "format", "%d %t %T")
    return {f[0]: (f[1], f[2]) for f in (line.split() for line in out.splitlines()[1:]) if len(f) == 3}


# CI runs mp-failover[fault=link,initiator=linux] (ci/test, scenarios stage): the same link
# loss under dm-multipath through the scenario driver; this one adds udev's by-path links.
@pytest.mark.on_demand
def test_dm_multipath_over_both_portals_fails_over_and_back():
    """udevd and multipathd in the initiator guest without systemd: one session per portal, one
    multipath map over both disks, O_DIRECT I/O through the map; with the target's nic0 down
    its path fails and I/O goes on through nic1; with nic0 up again the path is reinstated;
    stopping leaves no map, session or daemon."""
    with started_guest("lxm", settings={"node.session.timeo.replacement_timeout": 5},
                       multipath={"polling_interval": 2, "no_path_retry": 12}) as (lab, ini):
        target = lab.portals()[0].target
        ini.discover(lab.portal("nic0"))
        for p in lab.portals():
            ini.login(p.target, p.address)
        disks = {d["dev"].rsplit("/", 1)[1] for d in ini.wait_disks(target, count=2)}
        [mp] = wait_for("one map over both disks",
                        lambda: [m for m in ini.maps() if set(m["slaves"]) == disks], 60)
        assert path_states(ini) == {d: ("active", "ready") for d in disks}
        links = ini.agent.call("run", argv=["ls", "/dev/disk/by-path"])["stdout"].split()
        assert sorted(links) == sorted(f"ip-{p.address}-iscsi-{p.target}-lun-0"
                                       for p in lab.portals()), "udev made the by-path links"
        dev = f"/dev/mapper/{mp['name']}"
        ini.direct_io(dev, lba=512, blocks=128, seed=11)

        nic0_disk = next(s["disks"][0]["dev"].rsplit("/", 1)[1] for s in ini.sessions()
                         if s["address"] == lab.portals()[0].ip)
        lab.faults.link_down("nic0")
        try:
            wait_for("nic0's path failed",
                     lambda: path_states(ini).get(nic0_disk, ("",))[0] == "failed", 90)
            ini.direct_io(dev, lba=1024, blocks=64, seed=12)   # through nic1 alone
        finally:
            lab.faults.link_up("nic0")
        wait_for("nic0's path reinstated",
                 lambda: path_states(ini) == {d: ("active", "ready") for d in disks}, 120)
        ini.direct_io(dev, lba=512, blocks=128, seed=11, write=False)
        ini.direct_io(dev, lba=1024, blocks=64, seed=12, write=False)


@pytest.mark.on_demand  # 1-4 min of NOP cycles; CI has the same faults against our initiator
def test_namespace_faults_reach_the_linux_initiator_guest():
    """The namespace routes the initiator guest's traffic (it is not local to the namespace):
    the blackhole and the TCP reset faults act on it through nft's forward hook. A blackhole
    is a NOP timeout (1022) for the kernel, a reset a closed connection (1020); the session
    comes back once the fault is lifted."""
    with logged_in_guest("lxf", NOP_5_5, seed=5) as (lab, ini, disk):
        for fault, code in ((lab.faults.blackhole, 1022), (lab.faults.tcp_reset, 1020)):
            clock = ini.clock()
            started = time.monotonic()
            fault("nic0")
            try:
                error = ini.kernel_wait(["detected conn error"],
                                        started + clock["offset"] - clock["error"], timeout=30)
            finally:
                fault("nic0", on=False)
            assert error is not None, f"{fault.__name__}: no connection error within 30 s"
            assert error["text"].strip() == f"connection1:0: detected conn error ({code})"
            wait_for("LOGGED_IN again", lambda: ini.sessions()[0]["state"] == "LOGGED_IN", 60)
            assert ini.direct_io(disk["dev"], lba=0, blocks=64, seed=5, write=False)["mismatched"] == 0
