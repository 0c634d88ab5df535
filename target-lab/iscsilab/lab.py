"""A lab: namespace + QEMU guest running LIO + agent, provisioned from a LabConfig.

This is the Python API users script against (the CLI and the pytest fixture are thin on top):

    with Lab() as lab:                       # default: one target, one 64 MiB block LUN
        print(lab.portals())                 # [Portal(target=..., ip='10.77.0.2', port=3260)]
        lab.exec(["iscsi-ls", f"iscsi://{lab.portal()}"])
        lab.faults.freeze(); lab.faults.thaw()
"""
from __future__ import annotations

import itertools
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import host, isns, net, state
from .agent.client import AgentClient
from .errors import GuestGone, LabError
from .faults.faults import Faults
from .provision import fastpath
from .provision.config import LabConfig, default_config
from .provision.provisioner import Provisioner
from .vm import qemu
from .vm.console import ConsoleLog
from .vm.qmp import QMP

_counter = itertools.count()


@dataclass(frozen=True)
class PortalInfo:
    target: str
    tag: int
    nic: str
    ip: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


class Lab:
    def __init__(self, config: LabConfig | None = None, name: str | None = None,
                 accel: str = "tcg", owned: bool = True):
        self.config = config or default_config()
        self.name = name or self.config.name or f"t{os.getpid() % 100000}-{next(_counter)}"
        self.accel = accel
        self.owned = owned            # owned: dies with this process (tests); else outlives it
        self.run_dir = host.runtime_dir(self.name)
        self.netns = net.NS_PREFIX + self.name
        self.links = net.plan(self.config.nics)
        self.timings: dict[str, float] = {}
        self._proc: subprocess.Popen | None = None
        self._qemu_pid: int | None = None
        self._probe: net.ListenProbe | None = None
        self.agent = AgentClient(self.run_dir / "agent.sock", alive=self.alive)
        self.provisioner = Provisioner(self.agent, {l.nic: l.guest_ip for l in self.links})
        self.faults = Faults(self.netns, self.links, self.run_dir / "qmp.sock", self.agent,
                             self.provisioner, self.run_dir, tie_to_parent=owned)
        self.console = ConsoleLog(self.run_dir / "console.log")
        self.isns: isns.IsnsServer | None = None   # lab.isns: the namespace's iSNS server

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> "Lab":
        return self.up()

    def __exit__(self, *exc) -> None:
        self.down()

    def up(self, boot_timeout: float = 240.0) -> "Lab":
        host.require_rootless_support("iscsilab lab up")
        host.require_packages()
        abi = host.kernel_abi()
        t0 = time.monotonic()
        host.runtime_root()  # created, or checked to be ours, before anything in it is trusted
        state.reap_stale()
        try:
            self.run_dir.mkdir()
        except FileExistsError:
            raise LabError(f"lab {self.name!r} is already up ({self.run_dir}); "
                           f"use `iscsilab lab down --name {self.name}` first") from None
        try:
            self._record(status="starting")
            net.create(self.netns, self.links)
            if self.config.isns:
                self.isns = isns.IsnsServer(self.netns, self.run_dir, tie_to_parent=self.owned).start()
                self.provisioner.listeners.append(self._isns_sync)
            boot_script = self._write_boot_script()
            replace = {}
            if self.config.guard == "kernel":
                from .guard import kmod  # builds once per kernel and patch, then cached
                replace["iscsi_target_mod"] = kmod.build_module(abi)
            spec = qemu.VmSpec(run_dir=self.run_dir, abi=abi, enter=net.exec_argv(self.netns, []),
                               memory_mb=self.config.memory_mb, accel=self.accel,
                               nics=[qemu.Nic(l.nic, l.tap, f"52:54:00:77:00:{i:02x}",
                                              f"{l.guest_ip}/{l.prefix}")
                                     for i, l in enumerate(self.links)],
                               scsi_disks=self._scsi_disks(), boot_script=boot_script,
                               replace_modules=replace)
            t_spawn = time.monotonic()
            self._proc = qemu.start(spec, tie_to_parent=self.owned)
            self._qemu_pid = self._proc.pid
            self._record(status="booting")
            qemu_pid = self._qemu_pid
            probe = self._probe = net.ListenProbe(
                self.netns, [(p.ip, p.port) for p in self.portals()], boot_timeout,
                on_ready=lambda: qemu.cpu_seconds(qemu_pid))
            try:
                ping = self.agent.call("ping", timeout=60 if self.accel == "kvm" else boot_timeout)
            except GuestGone as exc:
                if self.accel != "kvm":
                    raise
                raise LabError(f"{exc}; with --accel kvm the guest may hang on this host "
                               "(it does on some): use the default TCG") from None
            t_agent = time.monotonic()
            if boot_script:
                boot_script.unlink()  # it may hold CHAP secrets: gone once the guest read it
            if ping.get("boot_error"):
                raise LabError(f"provisioning at boot failed in the guest: {ping['boot_error']}")
            applied = None if boot_script else self.provisioner.apply(self.config)
            if boot_script:
                self.provisioner.track(self.config)   # provisioned at boot: what LIO serves
            if self.config.guard == "nftables":
                from .guard import nft
                nft.install(self.agent, [(p.ip, p.port) for p in self.portals()])
            t_ready = probe.wait(timeout=60)
            self.timings = boot_timings(t0, t_spawn, t_agent, t_ready, ping, probe.ready_value,
                                        fast=boot_script is not None,
                                        rtslib_seconds=applied["seconds"] if applied else 0.0)
            self._record(status="up")
            findings = self.console.findings()
            if findings:
                raise LabError(f"the guest kernel reported a problem while booting: {findings[0]}")
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        if self.isns is not None:
            self.provisioner.listeners.remove(self._isns_sync)
            self.isns.stop()
            self.isns = None
        if self._proc is not None:
            qemu.quit_started(self._proc, self.run_dir / "qmp.sock")
        state.teardown(self.run_dir, state.read(self.run_dir) or {"netns": self.netns,
                                                                  "qemu_pid": self._qemu_pid})
        self._proc = None

    @classmethod
    def attach(cls, name: str) -> "Lab":
        """The lab `name` started by another process (e.g. `iscsilab lab up`)."""
        run_dir = host.runtime_dir(name)
        record = state.read(run_dir)
        if record is None or state.is_stale(run_dir, record):
            raise LabError(f"no lab named {name!r} is up (start one with `iscsilab lab up`)")
        lab = cls(LabConfig(nics=record["nics"], guard=record.get("guard", "none")), name=name,
                  owned=False)
        lab._qemu_pid = record["qemu_pid"]
        lab._portals = [PortalInfo(**p) for p in record["portals"]]
        lab.timings = record.get("timings", {})
        return lab

    def alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return self._qemu_pid is not None and qemu.is_our_qemu(self._qemu_pid, self.run_dir)

    # ------------------------------------------------------------ what users need
    def portals(self) -> list[PortalInfo]:
        if hasattr(self, "_portals"):
            return self._portals
        ips = {l.nic: l.guest_ip for l in self.links}
        return [PortalInfo(t.name, tpg.tag, p.nic, ips[p.nic], p.port)
                for t in self.config.targets for tpg in t.tpgs for p in tpg.portals]

    def portal(self, nic: str = "nic0", target: str | None = None) -> str:
        for p in self.portals():
            if p.nic == nic and (target is None or p.target == target):
                return p.address
        raise LabError(f"no portal on {nic}" + (f" for {target}" if target else ""))

    def exec(self, argv: list[str], timeout: float | None = 60, check: bool = False,
             env: dict | None = None) -> subprocess.CompletedProcess:
        """Runs argv in the lab's namespace, output captured as text."""
        proc = net.run(self.netns, argv, timeout=timeout, capture_output=True, text=True,
                       env=None if env is None else {**os.environ, **env})
        if check and proc.returncode != 0:
            raise LabError(f"{argv[0]} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
        return proc

    def targetcli(self, *args: str, timeout: float = 120) -> str:
        """Runs targetcli in the guest and returns its output. targetcli-fb asks the system
        D-Bus for tcmu-runner's handlers and fails without a bus, so one is started first."""
        script = ("[ -S /run/dbus/system_bus_socket ] || { mkdir -p /run/dbus && "
                  "dbus-daemon --system --fork; } >/dev/null 2>&1; exec targetcli \"$@\"")
        res = self.agent.call("run", argv=["sh", "-c", script, "targetcli", *args], timeout=timeout)
        if res["rc"] != 0:
            raise LabError(f"targetcli {' '.join(args)} failed in the guest ({res['rc']}): "
                           f"{(res['stdout'] + res['stderr']).strip()[-500:]}")
        return res["stdout"]

    def qmp(self) -> QMP:
        return QMP(self.run_dir / "qmp.sock")

    # ------------------------------------------------------------ internals
    def _isns_sync(self) -> None:
        """LIO's targets and portals changed (or were provisioned): the iSNS server follows."""
        if self.isns is not None:
            self.isns.sync(isns.entities_of(self.provisioner.live))

    def _write_boot_script(self) -> Path | None:
        """The configfs script for the guest's boot, or None when the config needs rtslib-fb
        (ISCSILAB_PROVISION=rtslib forces the rtslib-fb path, to compare the two)."""
        if os.environ.get("ISCSILAB_PROVISION") == "rtslib" or not fastpath.supported(self.config):
            return None
        path = self.run_dir / "boot.sh"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(fastpath.script(self.config, {l.nic: l.guest_ip for l in self.links}))
        return path

    def _scsi_disks(self) -> list[tuple[str, Path]]:
        disks = []
        for bs in self.config.backstores():
            if bs.type == "pscsi":
                image = self.run_dir / f"{bs.name}.raw"
                with open(image, "wb") as f:
                    f.truncate(bs.size)
                disks.append((bs.name, image))
        return disks

    def _record(self, status: str) -> None:
        state.write(self.run_dir, {
            "name": self.name, "status": status, "netns": self.netns, "nics": self.config.nics,
            "guard": self.config.guard,
            "qemu_pid": self._qemu_pid, "owner_pid": os.getpid() if self.owned else None,
            "portals": [p.__dict__ for p in self.portals()], "timings": self.timings,
            "created": time.time(),
        })


def boot_timings(t0: float, t_spawn: float, t_agent: float, t_ready: float, ping: dict,
                 cpu_at_ready: float, fast: bool, rtslib_seconds: float) -> dict[str, float]:
    """The boot-to-ready breakdown: host clock for the host's steps, guest uptime marks (from
    /init and stage2, returned by the agent's ping) for the guest's."""
    kernel_start = t_agent - ping["uptime"]
    times = ping["times"]

    def mark(key: str) -> float:
        return times.get(key, 0.0)

    timings = {
        "host setup (netns, initramfs, kernel cache)": t_spawn - t0,
        "QEMU start to kernel start (firmware, kernel load)": kernel_start - t_spawn,
        "kernel start to /init": mark("init"),
        "/init: modules (virtio, 9p, LIO)": mark("modules") - mark("init"),
        "/init: NICs and 9p mount": mark("lower") - mark("modules"),
    }
    if fast:
        timings["/init: LIO config (configfs script)"] = mark("provisioned") - mark("lower")
        timings["after ready: switch_root, agent python start"] = mark("agent") - mark("provisioned")
    else:
        timings["switch_root, agent python start"] = mark("agent") - mark("lower")
        timings["LIO config (rtslib-fb in the agent)"] = rtslib_seconds
    timings["boot_to_ready (kernel start -> portals listening)"] = t_ready - kernel_start
    # On a shared, loaded host the wall clock says little about the lab itself; QEMU's own CPU
    # time up to ready is closer to what an idle machine would take (TCG, one vCPU).
    timings["QEMU CPU time, start -> ready"] = cpu_at_ready
    timings["total (command start -> ready)"] = t_ready - t0
    timings["total (command start -> agent answering)"] = max(t_ready, t_agent) - t0
    return timings
