"""Starts and stops the QEMU guest that runs LIO.

The guest boots the host's Debian kernel with our initramfs, mounts the host's root read-only
over virtio-9p and runs the agent (see guest/init, guest/stage2). TCG is the default because
KVM hangs on the machines this lab was built on; `accel="kvm"` is opt-in.
"""
from __future__ import annotations

import compileall
import ctypes
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import LabError
from ..host import package_dir
from . import initramfs, kernel
from .qmp import QMP

PR_SET_PDEATHSIG = 1
# Kernel options that skip work a lab guest does not need (each measured under TCG): no TSC
# recalibration, no legacy keyboard/mouse probing, no crypto self-tests, no CPU-bug mitigations.
FAST_BOOT = os.environ.get("ISCSILAB_BOOT_ARGS", "tsc=reliable no_timer_check mitigations=off "
                           "i8042.noaux i8042.nokbd i8042.nopnp cryptomgr.notests "
                           "random.trust_cpu=on").split()


@dataclass
class Nic:
    name: str          # QEMU device id, also the name used by set_link: nic0, nic1, ...
    tap: str           # tap device in the lab's namespace
    mac: str
    guest_cidr: str    # address/prefix the guest puts on this NIC


@dataclass
class VmSpec:
    run_dir: Path
    abi: str
    nics: list[Nic]
    enter: list[str] = field(default_factory=list)  # argv prefix that enters the lab's namespace
    memory_mb: int = 1024
    accel: str = "tcg"
    scsi_disks: list[tuple[str, Path]] = field(default_factory=list)  # (id, raw image)
    boot_script: Path | None = None   # run by the guest's stage 2 before the agent starts
    # Module name -> file loaded instead (the split-brain guard's iscsi_target_mod.ko).
    replace_modules: dict[str, Path] = field(default_factory=dict)
    # The guest agent's handler module (stage2 passes it to iscsilab.agent.guest): LIO for the
    # target guest, open-iscsi for the initiator guest (iscsilab.initiator.linux_guest_ops).
    agent_module: str = "iscsilab.provision.lio_guest"

    @property
    def console(self) -> Path:
        return self.run_dir / "console.log"

    @property
    def qmp_socket(self) -> Path:
        return self.run_dir / "qmp.sock"

    @property
    def agent_socket(self) -> Path:
        return self.run_dir / "agent.sock"


def command_line(spec: VmSpec, initrd: Path) -> list[str]:
    append = ["console=ttyS0", "loglevel=5", "panic=-1", *FAST_BOOT,
              f"iscsilab.pkg={package_dir()}"]
    append += [f"iscsilab.nic={n.mac},{n.guest_cidr}" for n in spec.nics]
    if spec.boot_script:
        append.append(f"iscsilab.boot={spec.boot_script}")
    append.append(f"iscsilab.agent={spec.agent_module}")
    accel = ["-accel", "kvm", "-cpu", "host"] if spec.accel == "kvm" else ["-accel", "tcg", "-cpu", "max"]
    argv = [
        "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none",
        "-no-reboot", "-machine", "q35", *accel, "-smp", "1", "-m", str(spec.memory_mb),
        *os.environ.get("ISCSILAB_QEMU_ARGS", "").split(),   # boot experiments (bench/lab_boot.py)
        "-kernel", str(kernel.boot_image(spec.abi)), "-initrd", str(initrd),
        "-append", " ".join(append),
        "-chardev", f"file,id=con,path={spec.console}", "-serial", "chardev:con",
        "-qmp", f"unix:{spec.qmp_socket},server=on,wait=off",
        "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
        "-device", "virtio-serial-pci,id=vser",
        "-chardev", f"socket,id=agent,path={spec.agent_socket},server=on,wait=off",
        "-device", "virtserialport,chardev=agent,name=iscsilab.agent",
    ]
    for nic in spec.nics:
        argv += ["-netdev", f"tap,id={nic.name}-net,ifname={nic.tap},script=no,downscript=no",
                 "-device", f"virtio-net-pci,netdev={nic.name}-net,id={nic.name},mac={nic.mac}"]
    if spec.scsi_disks:
        argv += ["-device", "virtio-scsi-pci,id=scsi0"]
        for lun, (disk_id, image) in enumerate(spec.scsi_disks):
            argv += ["-drive", f"file={image},if=none,id={disk_id},format=raw,cache=unsafe",
                     "-device", f"scsi-hd,drive={disk_id},bus=scsi0.0,channel=0,scsi-id=0,lun={lun},"
                                f"serial={disk_id}"]
    return [*spec.enter, *argv]


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL when the process that started it dies."""
    # QEMU goes when the runner that owns the lab dies, even by SIGKILL; `lab up` from the CLI
    # does not set this, its labs outlive the command on purpose.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start(spec: VmSpec, tie_to_parent: bool) -> subprocess.Popen:
    initrd = initramfs.build(spec.abi, spec.replace_modules)
    # The guest imports this package over 9p under TCG: compiling it there costs seconds at
    # every boot, here milliseconds once (up-to-date files are skipped).
    compileall.compile_dir(package_dir() / "iscsilab", quiet=2)  # a read-only checkout is fine
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    log = open(spec.run_dir / "qemu.log", "wb")
    try:
        proc = subprocess.Popen(command_line(spec, initrd), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=die_with_parent if tie_to_parent else None)
    except FileNotFoundError:
        raise LabError("qemu-system-x86_64 not found; install it with: "
                       "apt-get install -y qemu-system-x86") from None
    finally:
        log.close()
    # The sockets appear once QEMU has parsed its command line; fail early if it did not.
    deadline = time.monotonic() + 20
    while not (spec.qmp_socket.exists() and spec.agent_socket.exists()):
        if proc.poll() is not None:
            raise LabError(f"QEMU exited at start (status {proc.returncode}): "
                           f"{(spec.run_dir / 'qemu.log').read_text(errors='replace').strip()[-800:]}")
        if time.monotonic() > deadline:
            raise LabError("QEMU did not create its sockets within 20 s")
        time.sleep(0.02)
    return proc


def cpu_seconds(pid: int) -> float:
    """User + system CPU time QEMU has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def is_our_qemu(pid: int, run_dir: Path) -> bool:
    """True if `pid` is still a QEMU started for `run_dir` (guards against reused pids)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(b"qemu-system" in a for a in cmdline) and any(str(run_dir).encode() in a for a in cmdline)


def kill(pid: int, run_dir: Path, grace: float = 3.0) -> None:
    if not is_our_qemu(pid, run_dir):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_our_qemu(pid, run_dir) or _is_zombie(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def quit_started(proc: subprocess.Popen, qmp_socket: Path) -> None:
    """Stops a QEMU this process started: 'quit' over QMP (2 s to connect, 5 s to exit), then
    a kill, so that a guest that hangs or ignores QMP still goes."""
    try:
        with QMP(qmp_socket, timeout=2) as q:
            q.quit()
        proc.wait(timeout=5)
    except Exception:  # noqa: BLE001 - falls through to the hard kill below
        pass
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True
