"""Where the fuzzer's target lives: a lab it boots (and reboots after a crash or hang), tgtd on
loopback, or any portal. Each gives a Target, a socket factory and, for the lab, the console."""
from __future__ import annotations

import ctypes
import os
import socket

from ..conformance.driver import Target
from ..errors import LabError
from .detect import ConsoleWatch

CLONE_NEWNET = 0x40000000


def netns_socket_factory(ns: str):
    """Sockets connected from inside the named network namespace: this thread enters it just
    for socket(), then returns (a socket keeps the namespace it was made in). Needs root."""
    from .. import host
    if host.rootless():
        raise LabError("fuzz lio needs root (it opens sockets in the lab's namespace)")
    libc = ctypes.CDLL(None, use_errno=True)

    def factory(addr: str, port: int, timeout: float) -> socket.socket:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {ns}")
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            finally:
                if libc.setns(own, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back to our namespace")
                os.close(fd)
        finally:
            os.close(own)
        try:
            sock.settimeout(timeout)
            sock.connect((addr, port))
            sock.settimeout(None)
        except OSError:
            sock.close()
            raise
        return sock
    return factory


class PortalBackend:
    """Any target: no console, no reboot."""
    name = "portal"
    can_reboot = False

    def __init__(self, host: str, port: int, iqn: str, lun: int = 0):
        self.target = Target(host, port, iqn, lun=lun)
        self.factory = None
        self.console: ConsoleWatch | None = None

    def start(self) -> None:
        pass

    def reboot(self) -> None:
        raise LabError("this target cannot be restarted by the fuzzer")

    def close(self) -> None:
        pass


class TgtdBackend(PortalBackend):
    """Debian's tgtd on loopback (restarted on reboot()): for trying the fuzzer without a VM."""
    name = "tgtd"
    can_reboot = True

    def __init__(self):
        self.tgtd = None
        self.console = None
        self.factory = None

    def start(self) -> None:
        from ..peers.tgtd import Tgtd
        self.tgtd = Tgtd()
        self.target = Target(self.tgtd.host, self.tgtd.port, self.tgtd.iqn, lun=Tgtd.FILE_LUN)

    def reboot(self) -> None:
        self.close()
        self.start()

    def close(self) -> None:
        if self.tgtd is not None:
            self.tgtd.close()
            self.tgtd = None


class LabBackend:
    """A lab with the default configuration (one target, one 64 MiB block LUN 0)."""
    name = "lio"
    can_reboot = True

    def __init__(self):
        self.lab = None
        self.boots = 0

    def start(self) -> None:
        from ..lab import Lab
        self.lab = Lab(None, owned=True).up()
        self.boots += 1
        portal = self.lab.portals()[0]
        self.target = Target(portal.ip, portal.port, portal.target, lun=0)
        self.factory = netns_socket_factory(self.lab.netns)
        self.console = ConsoleWatch(self.lab.run_dir / "console.log")
        self.console.skip_to_end()

    def console_text(self) -> str:
        return self.console.tail(400) if self.console else ""

    def reboot(self) -> None:
        self.close()
        self.start()

    def close(self) -> None:
        if self.lab is not None:
            self.lab.down()
            self.lab = None
