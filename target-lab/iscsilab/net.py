"""The lab's network: one namespace per lab, a tap per guest NIC, addresses, links, tc and nft.

Every address lives inside the lab's own namespace (10.77.<nic>.0/24 by default), so two labs
can use the same addresses side by side and nothing reaches the host's network. The initiator
side (libiscsi tools, our initiator, the corrupting proxy) runs in the namespace too.
"""
from __future__ import annotations

import ctypes
import ipaddress
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass

from .errors import LabError

NS_PREFIX = "iscsilab-"
SUBNET = "10.77.{index}.0/24"


@dataclass(frozen=True)
class Link:
    """One guest NIC as seen from the namespace: the tap and both ends' addresses."""
    nic: str
    tap: str
    host_ip: str
    guest_ip: str
    prefix: int


def plan(nics: int) -> list[Link]:
    links = []
    for i in range(nics):
        net = ipaddress.ip_network(SUBNET.format(index=i))
        links.append(Link(f"nic{i}", f"tap{i}", str(net[1]), str(net[2]), net.prefixlen))
    return links


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def namespaces() -> list[str]:
    out = _ip("-o", "netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def exists(ns: str) -> bool:
    return ns in namespaces()


def create(ns: str, links: list[Link]) -> None:
    _ip("netns", "add", ns)
    try:
        _ip("-n", ns, "link", "set", "lo", "up")
        for link in links:
            _ip("-n", ns, "tuntap", "add", "dev", link.tap, "mode", "tap")
            _ip("-n", ns, "addr", "add", f"{link.host_ip}/{link.prefix}", "dev", link.tap)
            _ip("-n", ns, "link", "set", link.tap, "up")
    except LabError:
        delete(ns)
        raise


def delete(ns: str) -> None:
    """Deletes the namespace; its taps go with it. Missing namespaces are fine."""
    if exists(ns):
        _ip("netns", "delete", ns, check=False)


def set_link(ns: str, dev: str, up: bool) -> None:
    _ip("-n", ns, "link", "set", dev, "up" if up else "down")


def exec_argv(ns: str, argv: list[str]) -> list[str]:
    """The argv that runs `argv` inside the namespace."""
    return ["ip", "netns", "exec", ns, *argv]


def run(ns: str, argv: list[str], timeout: float | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(exec_argv(ns, argv), timeout=timeout, **kwargs)


def tc(ns: str, *args: str) -> None:
    """Host-side traffic control on a tap. The host kernel may lack qdiscs (e.g. netem): the
    faults layer then applies netem inside the guest instead."""
    proc = subprocess.run(exec_argv(ns, ["tc", *args]), capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(f"tc {' '.join(args)} in {ns}: {proc.stderr.strip()}")


def nft(ns: str, script: str) -> None:
    """Loads an nft script in the namespace (host kernel); used for blackholes and resets."""
    proc = subprocess.run(exec_argv(ns, ["nft", "-f", "-"]), input=script, capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(f"nft in {ns}: {proc.stderr.strip()}")


CLONE_NEWNET = 0x40000000


class ListenProbe:
    """Watches, from inside the namespace, for every address to accept TCP connections.

    Runs in its own thread, which alone enters the namespace (setns changes only the calling
    thread's network namespace), so the probe costs no process start and times readiness to
    within its 50 ms poll interval.
    """

    def __init__(self, ns: str, addresses: list[tuple[str, int]], timeout: float,
                 on_ready=None):
        self.ns, self.addresses, self.timeout = ns, addresses, timeout
        self.on_ready = on_ready          # called in the probe thread the moment all listen
        self.ready_value = None           # what on_ready returned
        self.ready_at: float | None = None
        self.error: str | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{self.ns}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                self.error = f"setns into {self.ns}: {os.strerror(ctypes.get_errno())}"
                return
        finally:
            os.close(fd)
        deadline = time.monotonic() + self.timeout
        pending = list(dict.fromkeys(self.addresses))
        while pending and time.monotonic() < deadline and not self._cancelled.is_set():
            try:
                socket.create_connection(pending[0], timeout=0.2).close()
                pending.pop(0)
            except OSError:
                time.sleep(0.05)
        if pending:
            self.error = f"{pending[0][0]}:{pending[0][1]} did not accept connections in {self.timeout:.0f} s"
        else:
            self.ready_at = time.monotonic()
            if self.on_ready:
                self.ready_value = self.on_ready()

    def cancel(self) -> None:
        self._cancelled.set()

    def wait(self, timeout: float | None = None) -> float:
        """The monotonic time at which the last address started listening."""
        self._thread.join(timeout)
        if self.ready_at is None:
            raise LabError(self.error or "portal probe still running")
        return self.ready_at
