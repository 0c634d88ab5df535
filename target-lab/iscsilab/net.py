"""The lab's network: one namespace per lab, a tap per guest NIC, addresses, links, tc and nft.

Every address lives inside the lab's own namespace (10.77.<nic>.0/24 by default), so two labs
can use the same addresses side by side and nothing reaches the host's network. The initiator
side (libiscsi tools, our initiator, the corrupting proxy) runs in the namespace too.

As root a namespace is a named one (`ip netns add`). Without root it is a user + network
namespace held open by a holder process (`unshare --user --net --map-root-user`, then `sleep`),
recorded in <runtime root>/.netns/<name> as "pid starttime"; everything enters it with
`nsenter --user --net --preserve-credentials`, where the user is root over the namespace's
network, so taps, addresses, tc, nft and QEMU on the taps work without privileges.
"""
from __future__ import annotations

import ctypes
import ipaddress
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import host
from .errors import LabError
from .vm.qemu import die_with_parent

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


def _ip_in(ns: str, *args: str) -> None:
    argv = exec_argv(ns, ["ip", *args]) if host.rootless() else ["ip", "-n", ns, *args]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(f"ip {' '.join(args)} in {ns}: {proc.stderr.strip()}")


# ---- rootless namespaces: holder processes
def _holders_dir() -> Path:
    return host.RUNTIME_ROOT / ".netns"


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def holder_pid(ns: str) -> int | None:
    """The pid of the process holding rootless namespace `ns`, if it still runs (the start
    time guards against a reused pid)."""
    try:
        pid_text, started = (_holders_dir() / ns).read_text().split()
    except (OSError, ValueError):
        return None
    pid = int(pid_text)
    return pid if _start_time(pid) == started else None


def _create_rootless(ns: str) -> None:
    holders = host.private_dir(_holders_dir())
    # sleep keeps the namespaces alive after unshare has written the uid/gid maps; "ready"
    # says they exist. A new session: Ctrl-C on `lab up` must not kill a lab that is up.
    proc = subprocess.Popen(
        ["unshare", "--user", "--net", "--map-root-user", "--", "sh", "-c",
         "ip link set lo up && echo ready && exec sleep infinity >/dev/null 2>&1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    if proc.stdout.readline().strip() != "ready":
        err = proc.stderr.read().strip()
        proc.wait()
        raise LabError(
            f"no root, and `unshare --user --net --map-root-user` failed: {err or 'no output'}. "
            "The lab needs root (sudo) or unprivileged user namespaces "
            "(sysctl user.max_user_namespaces > 0; on Debian kernels older than 6.1 also "
            "kernel.unprivileged_userns_clone=1; no AppArmor restriction on user namespaces)")
    proc.stdout.close()
    proc.stderr.close()
    tmp = holders / f".{ns}.tmp"
    tmp.write_text(f"{proc.pid} {_start_time(proc.pid)}\n")
    os.replace(tmp, holders / ns)


def _delete_rootless(ns: str) -> None:
    pid = holder_pid(ns)
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    (_holders_dir() / ns).unlink(missing_ok=True)


# ---- either kind
def namespaces() -> list[str]:
    if host.rootless():
        if not _holders_dir().is_dir():
            return []
        names = []
        for entry in sorted(_holders_dir().iterdir()):
            if entry.name.startswith("."):
                continue
            if holder_pid(entry.name) is None:
                entry.unlink(missing_ok=True)  # its holder died: the namespace is gone
            else:
                names.append(entry.name)
        return names
    out = _ip("-o", "netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def exists(ns: str) -> bool:
    return ns in namespaces()


def create(ns: str, links: list[Link]) -> None:
    if host.rootless():
        _create_rootless(ns)
    else:
        _ip("netns", "add", ns)
    try:
        _ip_in(ns, "link", "set", "lo", "up")
        for link in links:
            _ip_in(ns, "tuntap", "add", "dev", link.tap, "mode", "tap")
            _ip_in(ns, "addr", "add", f"{link.host_ip}/{link.prefix}", "dev", link.tap)
            _ip_in(ns, "link", "set", link.tap, "up")
    except LabError:
        delete(ns)
        raise


def delete(ns: str) -> None:
    """Deletes the namespace; its taps go with it. Missing namespaces are fine."""
    if host.rootless():
        _delete_rootless(ns)
    elif exists(ns):
        _ip("netns", "delete", ns, check=False)


def plan_peer(links: list[Link], host_octet: int = 3, tap_prefix: str = "itap") -> list[Link]:
    """Links for a second guest (the Linux initiator guest) on the target's subnets: address
    .<host_octet> on each, through taps of its own, so the target sees it on its own LAN."""
    out = []
    for i, link in enumerate(links):
        net = ipaddress.ip_network(f"{link.host_ip}/{link.prefix}", strict=False)
        out.append(Link(link.nic, f"{tap_prefix}{i}", link.host_ip, str(net[host_octet]),
                        link.prefix))
    return out


def attach_peer(ns: str, peer: list[Link], links: list[Link]) -> None:
    """Adds the peer guest's taps. The namespace routes between the two taps of a subnet and
    answers ARP for each side on the other (proxy ARP), so neither guest needs a route or a
    bridge, and the target's tap keeps its address and its host-side faults (tc, link down).
    Traffic between the guests is forwarded, not delivered locally: nft rules on the namespace's
    input/output hooks do not see it."""
    sysctl = [("net/ipv4/ip_forward", "1")]
    for link, p in zip(links, peer):
        _ip_in(ns, "tuntap", "add", "dev", p.tap, "mode", "tap")
        _ip_in(ns, "link", "set", p.tap, "up")
        _ip_in(ns, "route", "add", f"{p.guest_ip}/32", "dev", p.tap)
        sysctl += [(f"net/ipv4/conf/{link.tap}/proxy_arp", "1"),
                   (f"net/ipv4/conf/{p.tap}/proxy_arp", "1")]
    script = "".join(f"echo {v} > /proc/sys/{k} && " for k, v in sysctl) + "true"
    proc = run(ns, ["sh", "-c", script], capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(f"proxy ARP / forwarding in {ns}: {proc.stderr.strip()}")


def detach_peer(ns: str, peer: list[Link]) -> None:
    """Removes the peer's taps (their routes go with them); a missing namespace or tap is fine."""
    if not exists(ns):
        return
    for p in peer:
        subprocess.run(exec_argv(ns, ["ip", "link", "del", p.tap]), capture_output=True)


def set_link(ns: str, dev: str, up: bool) -> None:
    _ip_in(ns, "link", "set", dev, "up" if up else "down")


def exec_argv(ns: str, argv: list[str]) -> list[str]:
    """The argv that runs `argv` inside the namespace."""
    if host.rootless():
        pid = holder_pid(ns)
        if pid is None:
            raise LabError(f"namespace {ns} is gone (its holder process exited): is the lab up?")
        return ["nsenter", f"--target={pid}", "--user", "--net", "--preserve-credentials",
                "--", *argv]
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
        if host.rootless():
            return self._run_in_child()
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

    def _run_in_child(self) -> None:
        """Without root this process cannot setns into the lab's network namespace (that takes
        CAP_SYS_ADMIN in its own user namespace too), so a small prober runs in there instead
        and says "ready"; its ~50 ms poll and the pipe keep the timing as good."""
        deadline = time.monotonic() + self.timeout
        try:
            proc = subprocess.Popen(
                exec_argv(self.ns, [sys.executable, "-c", _PROBE, repr(list(dict.fromkeys(self.addresses))),
                                    str(self.timeout)]),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                preexec_fn=die_with_parent)  # not left probing (and holding the namespace) after a crash
        except LabError as exc:
            self.error = str(exc)
            return
        with proc:
            while not self._cancelled.is_set() and time.monotonic() < deadline + 5:
                ready, _, _ = select.select([proc.stdout], [], [], 0.2)
                if ready:
                    line = proc.stdout.readline().strip()
                    if line == "ready":
                        self.ready_at = time.monotonic()
                        if self.on_ready:
                            self.ready_value = self.on_ready()
                    else:
                        self.error = line or "portal probe exited"
                    break
            if proc.poll() is None:
                proc.kill()
        if self.ready_at is None and self.error is None:
            self.error = "portal probe cancelled or timed out"

    def cancel(self) -> None:
        self._cancelled.set()

    def wait(self, timeout: float | None = None) -> float:
        """The monotonic time at which the last address started listening."""
        self._thread.join(timeout)
        if self.ready_at is None:
            raise LabError(self.error or "portal probe still running")
        return self.ready_at


# The prober run inside a rootless namespace: args are the address list and the timeout.
_PROBE = """
import ast, socket, sys, time
pending = ast.literal_eval(sys.argv[1]); deadline = time.monotonic() + float(sys.argv[2])
while pending and time.monotonic() < deadline:
    try:
        socket.create_connection(tuple(pending[0]), timeout=0.2).close(); pending.pop(0)
    except OSError:
        time.sleep(0.05)
print("ready" if not pending else "%s:%s did not accept connections in %s s" % (*pending[0], sys.argv[2]), flush=True)
"""
