"""The Linux initiator guest: a second QEMU guest in a lab's namespace, booted like the target
guest (Debian's kernel, the host's root over 9p, no disk image, the same agent), running
open-iscsi's iscsid and iscsiadm against the lab's LIO.

    with Lab(config) as lab, LinuxInitiatorGuest(lab, settings={...}) as ini:
        target, portal = ini.discover(lab.portal())[0]
        ini.login(target, portal)
        disk = ini.wait_disks(target)[0]
        ini.direct_io(disk["dev"], lba=0, blocks=64, seed=1)
        ini.logout(target, portal)

It sits on the lab's network through taps of its own (net.attach_peer: address .3 on each of the
target's subnets, proxy ARP in the namespace), and its run dir lives inside the lab's, so the
lab's teardown (and the reaper of stale labs) takes it down too. iscsid.conf is written from
open-iscsi settings (the scenarios' key names) into a tmpfs of the guest (guest_ops).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

from ... import host, net, state
from ...agent.client import AgentClient
from ...errors import LabError
from ...vm import qemu
from ...vm.console import ConsoleLog

DEFAULT_NAME = "iqn.2026-11.org.example:linux-initiator"
AGENT_MODULE = "iscsilab.initiator.linux.guest_ops"
# iscsiadm's exit code for "no records/sessions found" (ISCSI_ERR_NO_OBJS_FOUND).
NO_OBJS_FOUND = 21
# Lines of iscsid.conf we always write: the node is logged in by the lab, never at start-up, and
# iscsiadm must not try to start a missing iscsid through systemctl (there is no systemd here).
BASE_CONF = {"iscsid.startup": "/bin/false", "node.startup": "manual"}
_KEY = re.compile(r"^(node|discovery|iscsid)\.[A-Za-z0-9_.\[\]]+$")
# multipath.conf's defaults we always write: maps for every LIO LU with paths (greedy: no wwids
# file to learn first), named mpatha, mpathb, ...
MULTIPATH_BASE = {"user_friendly_names": "yes", "find_multipaths": "greedy"}
_MP_KEY = re.compile(r"^[a-z_]+$")


def iscsid_conf(settings: dict | None) -> str:
    """iscsid.conf text from open-iscsi settings ({"node.conn[0].timeo.noop_out_interval": 5,
    ...}); booleans as open-iscsi spells them (Yes/No)."""
    lines = ["# written by iscsi-lab for its Linux initiator guest"]
    for key, value in {**BASE_CONF, **(settings or {})}.items():
        if not _KEY.match(key):
            raise LabError(f"{key!r} is not an open-iscsi setting (node.*, discovery.*, iscsid.*)")
        text = ("Yes" if value else "No") if isinstance(value, bool) else str(value)
        if "\n" in text:
            raise LabError(f"setting {key}: a value cannot span lines")
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


_STAMP = re.compile(r"^\[\s*(\d+\.\d+)\]\s?(.*)$")


def kernel_lines(dmesg: str) -> list[tuple[float, str]]:
    """(seconds since the guest booted, text) for each stamped line of dmesg."""
    out = []
    for line in dmesg.splitlines():
        m = _STAMP.match(line)
        if m:
            out.append((float(m.group(1)), m.group(2)))
    return out


def multipath_conf(settings: dict | None) -> str:
    """multipath.conf text: the settings (multipath.conf's own names, as the scenarios' multipath
    step takes them: polling_interval, path_selector, no_path_retry, ...) in `defaults`."""
    lines = ["# written by iscsi-lab for its Linux initiator guest", "defaults {"]
    for key, value in {**MULTIPATH_BASE, **(settings or {})}.items():
        text = str(value)
        if not _MP_KEY.match(key) or any(c in text for c in '\n"{}'):
            raise LabError(f"multipath setting {key}: {text!r} cannot go into multipath.conf")
        lines.append(f'    {key} "{text}"' if " " in text else f"    {key} {text}")
    lines += ["}", "blacklist {", '    devnode "^(ram|loop|zram|sr|vd)[0-9]*"', "}"]
    return "\n".join(lines) + "\n"


class LinuxInitiatorGuest:
    def __init__(self, lab, name: str = DEFAULT_NAME, settings: dict | None = None,
                 multipath: dict | None = None, udev: bool = False, memory_mb: int = 768):
        """settings: open-iscsi's (iscsid.conf); multipath: None for no multipathd, else
        multipath.conf's defaults ({} for ours); udev: systemd-udevd even without multipathd
        (for /dev/disk/by-* links)."""
        self.lab = lab
        self.name = name
        self.settings = dict(settings or {})
        self.multipath = None if multipath is None else dict(multipath)
        self.udev = udev or multipath is not None
        self.memory_mb = memory_mb
        self.run_dir = lab.run_dir / "linux-initiator"
        self.links = net.plan_peer(lab.links)
        self.agent = AgentClient(self.run_dir / "agent.sock", alive=self.alive)
        self.console = ConsoleLog(self.run_dir / "console.log")
        self.timings: dict[str, float] = {}
        self._proc: subprocess.Popen | None = None
        self._attached = False

    def __enter__(self) -> "LinuxInitiatorGuest":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ lifecycle
    def start(self, boot_timeout: float = 240.0) -> "LinuxInitiatorGuest":
        host.require_linux_initiator_packages()
        t0 = time.monotonic()
        try:
            self.run_dir.mkdir()
        except FileExistsError:
            raise LabError(f"lab {self.lab.name!r} already has a Linux initiator guest "
                           f"({self.run_dir})") from None
        try:
            net.attach_peer(self.lab.netns, self.links, self.lab.links)
            self._attached = True
            spec = qemu.VmSpec(
                run_dir=self.run_dir, abi=host.kernel_abi(),
                enter=net.exec_argv(self.lab.netns, []), memory_mb=self.memory_mb,
                accel=self.lab.accel, agent_module=AGENT_MODULE,
                nics=[qemu.Nic(l.nic, l.tap, f"52:54:00:78:00:{i:02x}", f"{l.guest_ip}/{l.prefix}")
                      for i, l in enumerate(self.links)])
            self._proc = qemu.start(spec, tie_to_parent=True)
            state.write(self.run_dir, {"qemu_pid": self._proc.pid, "owner_pid": os.getpid(),
                                       "kind": "linux-initiator"})
            ping = self.agent.call("ping", timeout=boot_timeout)
            t_agent = time.monotonic()
            started = self.agent.call("iscsid_start", conf=iscsid_conf(self.settings),
                                      initiatorname=self.name, timeout=90)
            self.timings = {"boot (QEMU start -> agent answering)": t_agent - t0,
                            "guest uptime at agent": ping["uptime"],
                            "iscsid start": started["seconds"]}
            if self.udev:
                self.timings["udevd start, trigger, settle"] = self.agent.call(
                    "udev_start", timeout=120)["seconds"]
            if self.multipath is not None:
                self.timings["multipathd start"] = self.agent.call(
                    "multipathd_start", conf=multipath_conf(self.multipath), timeout=90)["seconds"]
            findings = self.console.findings()
            if findings:
                raise LabError(f"the initiator guest's kernel reported a problem: {findings[0]}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, clean: bool = True) -> dict:
        """Stops multipathd and flushes its maps, logs out every session, deletes the node
        records, stops udevd and iscsid, quits QEMU and removes the taps. Returns what was found
        left in the guest before it went down: {"sessions": [...], "maps": [...], "daemons":
        [{pid, comm, state}]}, all empty on a clean stop. clean=False: QEMU quits at once, the
        sessions' connections drop without a logout."""
        left: dict = {"sessions": None, "maps": None, "daemons": None}
        if clean and self._proc is not None and self.alive():
            try:
                if self.multipath is not None:
                    self.agent.call("multipath_down", timeout=90)
                self.iscsiadm("-m", "session", "-u", ok=(0, NO_OBJS_FOUND), timeout=120)
                self.iscsiadm("-m", "node", "-o", "delete", ok=(0, NO_OBJS_FOUND))
                left["sessions"] = self.sessions()
                left["maps"] = self.maps()
                left["daemons"] = self.agent.call("daemons_stop", timeout=60)["left"]
            except LabError as exc:  # the guest may be the problem: it goes down regardless
                left["error"] = str(exc)
        if self._proc is not None:
            qemu.quit_started(self._proc, self.run_dir / "qmp.sock")
            self._proc = None
        if self._attached:
            net.detach_peer(self.lab.netns, self.links)
            self._attached = False
        shutil.rmtree(self.run_dir, ignore_errors=True)
        return left

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ------------------------------------------------------------ open-iscsi
    def iscsiadm(self, *args: str, ok: tuple[int, ...] = (0,), timeout: float = 60) -> str:
        """Runs iscsiadm in the guest; an exit code outside `ok` raises with its output."""
        res = self.agent.call("iscsiadm", argv=list(args), seconds=timeout, timeout=timeout + 10)
        if res["rc"] not in ok:
            raise LabError(f"iscsiadm {' '.join(args)} exited {res['rc']} in the initiator guest: "
                           f"{(res['stdout'] + res['stderr']).strip()[-800:]}")
        return res["stdout"]

    def discover(self, portal: str) -> list[tuple[str, str]]:
        """SendTargets discovery: [(target, "ip:port"), ...]; the node records are created."""
        out = self.iscsiadm("-m", "discovery", "-t", "sendtargets", "-p", portal)
        found = []
        for line in out.splitlines():
            # "10.77.0.2:3260,1 iqn.2026-11.org.example:t0"
            address, _, target = line.strip().partition(" ")
            if target:
                found.append((target, address.split(",")[0]))
        return found

    def login(self, target: str, portal: str, timeout: float = 120) -> None:
        self.iscsiadm("-m", "node", "-T", target, "-p", portal, "--login", timeout=timeout)

    def logout(self, target: str, portal: str, timeout: float = 120) -> None:
        self.iscsiadm("-m", "node", "-T", target, "-p", portal, "--logout", timeout=timeout)

    def sessions(self) -> list[dict]:
        """The guest kernel's sessions with their disks (guest_ops.sessions)."""
        return self.agent.call("sessions")

    def wait_disks(self, target: str, count: int = 1, timeout: float = 60) -> list[dict]:
        """The SCSI disks of `target`'s session once at least `count` are there."""
        deadline = time.monotonic() + timeout
        while True:
            disks = [d for s in self.sessions() if s["target"] == target for d in s["disks"]]
            if len(disks) >= count:
                return sorted(disks, key=lambda d: d["lun"])
            if time.monotonic() > deadline:
                raise LabError(f"{len(disks)} of {count} disk(s) of {target} appeared in the "
                               f"initiator guest within {timeout:.0f} s")
            time.sleep(0.5)

    def direct_io(self, dev: str, lba: int, blocks: int, seed: int, write: bool = True) -> dict:
        """O_DIRECT write (unless write=False) and read-back of the block pattern; raises when
        a block read back differs."""
        res = self.agent.call("direct_io", dev=dev, lba=lba, blocks=blocks, seed=seed,
                              write=write, timeout=120)
        if res["mismatched"]:
            raise LabError(f"{dev}: {res['mismatched']} of {blocks} blocks read back differ "
                           f"(first at LBA {res['first_mismatch']})")
        return res

    def clock(self, samples: int = 5) -> dict:
        """The guest's kernel-log clock on the host's CLOCK_MONOTONIC: host = guest - offset,
        within +-error (half the round trip of the best of `samples` marks)."""
        best = None
        for i in range(samples):
            token = f"{os.getpid()}-{time.monotonic_ns()}-{i}"
            before = time.monotonic()
            self.agent.call("kmsg_mark", token=token)
            after = time.monotonic()
            if best is None or after - before < best[1] - best[0]:
                best = (before, after, token)
        before, after, token = best
        [stamp] = [t for t, line in kernel_lines(self.kernel_log()) if f"iscsilab-mark {token}" in line]
        return {"offset": stamp - (before + after) / 2, "error": (after - before) / 2}

    def maps(self) -> list[dict]:
        """The guest's device-mapper multipath maps: [{"dm", "name", "uuid", "slaves"}]."""
        return self.agent.call("maps")

    def multipathd(self, *args: str) -> str:
        """A multipathd command (`show paths`, `show maps`, ...) and its output."""
        res = self.agent.call("run", argv=["multipathd", *args])
        if res["rc"] != 0:
            raise LabError(f"multipathd {' '.join(args)} exited {res['rc']}: "
                           f"{(res['stdout'] + res['stderr']).strip()[-500:]}")
        return res["stdout"]

    def kernel_wait(self, patterns: list[str], after: float = 0.0, timeout: float = 30) -> dict | None:
        """The first kernel log record stamped after `after` (guest seconds) holding one of
        `patterns`: {"stamp", "text"}, or None if none came within `timeout`."""
        return self.agent.call("kmsg_wait", patterns=patterns, after=after, seconds=timeout,
                               timeout=timeout + 15)

    def kernel_log(self) -> str:
        """The guest's kernel ring buffer (dmesg), with its own timestamps."""
        return self.agent.call("run", argv=["dmesg"])["stdout"]

    def iscsid_log(self) -> str:
        return self.agent.call("read_file", path="/run/iscsilab/iscsid.log")
