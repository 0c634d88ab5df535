"""Fault injection against a running lab, each fault with its undo.

Where each fault acts, and why:
- link down/up: QMP set_link (the guest sees carrier loss) or the tap in the namespace.
- blackhole / TCP reset: nft in the lab's namespace (host kernel), on the tap: works even while
  the guest is frozen, and needs no guest agent. The same rules sit on the forward hook, for the
  traffic the namespace routes between the target and the Linux initiator guest (net.attach_peer).
- delay / loss: netem inside the guest on the NIC (this host kernel has no sch_netem; the
  guest's Debian kernel does). It shapes what the target sends.
- rate limit: tbf on the tap (host-side tc). It shapes what the initiators send.
- freeze / thaw: QMP stop / cont: the whole target stops, TCP connections stay open.
- portal removal, TPG disable: through the provisioner (rtslib-fb in the guest).
- byte corruption: a proxy process in the namespace (corrupt_proxy.py).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .. import net
from ..agent.client import AgentClient
from ..errors import LabError
from ..host import package_dir
from ..provision.provisioner import Provisioner
from ..vm.qemu import die_with_parent
from ..vm.qmp import QMP

NFT_TABLE = "iscsilab_faults"


@dataclass
class ProxyHandle:
    address: str          # ip:port the initiator should use instead of the portal
    pid: int
    report_path: Path

    def report(self) -> dict:
        try:
            return json.loads(self.report_path.read_text())
        except (OSError, ValueError):
            return {}


class Faults:
    def __init__(self, netns: str, links: list[net.Link], qmp_socket: Path, agent: AgentClient,
                 provisioner: Provisioner, run_dir: Path, tie_to_parent: bool):
        self.netns = netns
        self.links = {l.nic: l for l in links}
        self.qmp_socket = qmp_socket
        self.agent = agent
        self.provisioner = provisioner
        self.run_dir = run_dir
        self.tie_to_parent = tie_to_parent
        # nft rules per fault, kept in the run dir so that separate `lab fault` commands add
        # to and remove from one ruleset instead of replacing each other's.
        self._rules_file = run_dir / "faults-nft.json"
        self._guest_devs: dict[str, str] = {}
        self._flaps: dict[str, tuple] = {}

    def link(self, nic: str) -> net.Link:
        if nic not in self.links:
            raise LabError(f"no NIC {nic} (this lab has {', '.join(self.links)})")
        return self.links[nic]

    # ---- links
    def link_down(self, nic: str, via: str = "qmp") -> None:
        self._set_link(nic, False, via)

    def link_up(self, nic: str, via: str = "qmp") -> None:
        self._set_link(nic, True, via)

    def _set_link(self, nic: str, up: bool, via: str) -> None:
        link = self.link(nic)
        if via == "qmp":
            with QMP(self.qmp_socket) as qmp:
                qmp.set_link(nic, up)
        elif via == "tap":
            net.set_link(self.netns, link.tap, up)
        else:
            raise LabError(f"link fault via {via!r}: use 'qmp' or 'tap'")

    # ---- nft in the namespace
    def blackhole(self, nic: str, on: bool = True) -> None:
        """Silently drops everything between the namespace and the guest on `nic`."""
        tap = self.link(nic).tap
        self._rule(f"blackhole-{nic}", on, f'oifname "{tap}" drop', f'iifname "{tap}" drop')

    def blackhole_connection(self, local_port: int, on: bool = True) -> None:
        """Silently drops one TCP connection of an initiator in the namespace, by its local
        port: that initiator loses its link, every other one keeps working."""
        self._rule(f"blackhole-port-{local_port}", on, f"tcp sport {local_port} drop",
                   f"tcp dport {local_port} drop")

    def connections(self, portal: str) -> list[int]:
        """Local ports of the namespace's established TCP connections to `portal` (ip:port)."""
        ip, _, port = portal.rpartition(":")
        out = net.run(self.netns, ["ss", "-Htn", "state", "established", "dst", f"{ip}:{port}"],
                      capture_output=True, text=True)
        if out.returncode != 0:
            raise LabError(f"ss in {self.netns}: {out.stderr.strip()}")
        return sorted(int(line.split()[-2].rpartition(":")[2]) for line in out.stdout.splitlines()
                      if line.strip())

    def tcp_reset(self, nic: str, on: bool = True) -> None:
        """Answers every TCP segment towards the guest on `nic` with a RST (connect refused,
        established connections reset)."""
        tap = self.link(nic).tap
        self._rule(f"reset-{nic}", on, f'oifname "{tap}" meta l4proto tcp reject with tcp reset')

    def _rule(self, key: str, on: bool, out_rule: str, in_rule: str | None = None) -> None:
        rules = self._read_rules()
        if on:
            rules[key] = [out_rule, in_rule]
        else:
            rules.pop(key, None)
        self._load_rules(rules)

    def _read_rules(self) -> dict:
        try:
            return json.loads(self._rules_file.read_text())
        except (OSError, ValueError):
            return {}

    def _load_rules(self, rules: dict) -> None:
        outs = "\n".join(f"    {o}" for o, _ in rules.values())
        ins = "\n".join(f"    {i}" for _, i in rules.values() if i)
        # Replace the whole table at once, so the ruleset is always exactly the recorded rules.
        script = f"""table inet {NFT_TABLE}
delete table inet {NFT_TABLE}
table inet {NFT_TABLE} {{
  chain out {{ type filter hook output priority 0; policy accept;
{outs}
  }}
  chain in {{ type filter hook input priority 0; policy accept;
{ins}
  }}
  chain through {{ type filter hook forward priority 0; policy accept;
{outs}
{ins}
  }}
}}
"""
        net.nft(self.netns, script)
        tmp = self._rules_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(rules))
        os.replace(tmp, self._rules_file)

    # ---- host-side tc on the tap
    def rate_limit(self, nic: str, kbit: int, burst_bytes: int = 1600) -> None:
        """Limits what the initiators send towards the guest on `nic` (tbf on the tap, in
        the host kernel: what reaches the target arrives at `kbit` kbit/s)."""
        net.tc(self.netns, "qdisc", "replace", "dev", self.link(nic).tap, "root", "tbf",
               "rate", f"{kbit}kbit", "burst", str(burst_bytes), "latency", "10s")

    def rate_limit_clear(self, nic: str) -> None:
        try:
            net.tc(self.netns, "qdisc", "del", "dev", self.link(nic).tap, "root")
        except LabError:
            pass  # no limit was set

    # ---- netem in the guest
    def guest_dev(self, nic: str) -> str:
        if nic not in self._guest_devs:
            out = self.agent.call("run", argv=["ip", "-o", "-4", "addr", "show"])["stdout"]
            for line in out.splitlines():
                parts = line.split()
                if parts[3].split("/")[0] == self.link(nic).guest_ip:
                    self._guest_devs[nic] = parts[1]
        return self._guest_devs[nic]

    def netem(self, nic: str, delay_ms: float = 0, jitter_ms: float = 0, loss_pct: float = 0) -> None:
        """Delays and/or drops what the target sends on `nic` (netem in the guest)."""
        args = netem_args(delay_ms, jitter_ms, loss_pct)
        self._guest(["tc", "qdisc", "replace", "dev", self.guest_dev(nic), "root", "netem", *args])

    def netem_clear(self, nic: str) -> None:
        self._guest(["tc", "qdisc", "del", "dev", self.guest_dev(nic), "root"], check=False)

    def _guest(self, argv: list[str], check: bool = True) -> None:
        res = self.agent.call("run", argv=argv)
        if check and res["rc"] != 0:
            raise LabError(f"guest: {' '.join(argv)}: {res['stderr'].strip()}")

    def netem_to_target(self, nic: str, delay_ms: float = 0, jitter_ms: float = 0,
                        loss_pct: float = 0) -> None:
        """Delays and/or drops what the initiators send on `nic`, the other way from netem():
        the guest redirects the NIC's ingress through an ifb device with netem on it (this
        host's kernel has no netem), so each direction can be shaped on its own."""
        dev = self.guest_dev(nic)
        ifb = f"ifb-{nic}"
        args = netem_args(delay_ms, jitter_ms, loss_pct)
        script = (f"modprobe ifb numifbs=0 2>/dev/null; ip link show {ifb} >/dev/null 2>&1 || "
                  f"ip link add {ifb} type ifb; ip link set {ifb} up; "
                  f"tc qdisc replace dev {ifb} root netem {' '.join(args)}; "
                  f"tc qdisc show dev {dev} ingress | grep -q ingress || "
                  f"tc qdisc add dev {dev} handle ffff: ingress; "
                  f"tc filter replace dev {dev} parent ffff: protocol all prio 1 matchall "
                  f"action mirred egress redirect dev {ifb}")
        self._guest(["sh", "-c", script])

    def netem_to_target_clear(self, nic: str) -> None:
        dev = self.guest_dev(nic)
        self._guest(["sh", "-c", f"tc qdisc del dev {dev} ingress 2>/dev/null; "
                                 f"ip link del ifb-{nic} 2>/dev/null; true"], check=False)

    # ---- a link that goes down and up
    def flap(self, nic: str, period: float, via: str = "qmp") -> None:
        """Takes `nic`'s link down and up every `period` seconds (down for `period`, up for
        `period`) until flap_stop(); a thread of this process does it."""
        self.flap_stop(nic)
        stop = threading.Event()

        def run():
            down = True
            while not stop.is_set():
                try:
                    self._set_link(nic, not down, via)
                except LabError:
                    pass            # the lab went down under us: stop() follows
                down = not down
                stop.wait(period)
            try:
                self._set_link(nic, True, via)
            except LabError:
                pass

        t = threading.Thread(target=run, daemon=True, name=f"flap-{nic}")
        self._flaps[nic] = (stop, t)
        t.start()

    def flap_stop(self, nic: str) -> None:
        if nic in self._flaps:
            stop, t = self._flaps.pop(nic)
            stop.set()
            t.join(timeout=10)

    # ---- the whole target
    def freeze(self) -> None:
        with QMP(self.qmp_socket) as qmp:
            qmp.stop()

    def thaw(self) -> None:
        with QMP(self.qmp_socket) as qmp:
            qmp.cont()

    # ---- LIO objects
    def portal_remove(self, target: str, nic: str, port: int = 3260, tag: int = 1) -> None:
        self.provisioner.portal(target, nic, add=False, port=port, tag=tag)

    def portal_add(self, target: str, nic: str, port: int = 3260, tag: int = 1) -> None:
        self.provisioner.portal(target, nic, add=True, port=port, tag=tag)

    def tpg_disable(self, target: str, tag: int = 1) -> None:
        self.provisioner.tpg_enable(target, False, tag)

    def tpg_enable(self, target: str, tag: int = 1) -> None:
        self.provisioner.tpg_enable(target, True, tag)

    # ---- corruption on the path
    def corrupt_proxy(self, nic: str = "nic0", listen_port: int = 3270, target_port: int = 3260,
                      direction: str = "to_initiator", pdu: int | None = None, byte: int = 20,
                      after_bytes: int | None = None, header_digest: bool = False,
                      data_digest: bool = False, connection: int = 0,
                      xor: int = 0x01, data_in_every: int | None = None,
                      drop_every: int | None = None, drop_opcode: int | None = None) -> ProxyHandle:
        """Starts a proxy on the namespace side of `nic` that flips one byte per connection (or
        one in every `data_in_every`-th Data-In PDU), or leaves out every `drop_every`-th PDU of
        opcode `drop_opcode`."""
        link = self.link(nic)
        report = self.run_dir / f"proxy-{listen_port}.json"
        report.unlink(missing_ok=True)
        argv = [sys.executable if sys.executable.startswith("/usr/bin/") else "/usr/bin/python3",
                "-m", "iscsilab.faults.corrupt_proxy",
                "--listen", f"{link.host_ip}:{listen_port}", "--connect", f"{link.guest_ip}:{target_port}",
                "--direction", direction, "--byte", str(byte), "--report", str(report),
                "--connection", str(connection), "--xor", hex(xor)]
        if drop_every is not None:
            argv += ["--drop-every", str(drop_every), "--drop-opcode", hex(drop_opcode)]
        elif data_in_every is not None:
            argv += ["--data-in-every", str(data_in_every)]
        else:
            argv += ["--pdu", str(pdu)] if pdu is not None else ["--after-bytes", str(after_bytes)]
        argv += ["--header-digest"] if header_digest else []
        argv += ["--data-digest"] if data_digest else []
        env = dict(os.environ, PYTHONPATH=str(package_dir()))
        proc = subprocess.Popen(net.exec_argv(self.netns, argv), env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=open(self.run_dir / "proxy.log", "ab"),
                                preexec_fn=die_with_parent if self.tie_to_parent else None)
        (self.run_dir / "helpers").mkdir(exist_ok=True)
        (self.run_dir / "helpers" / f"{proc.pid}.pid").write_text(str(proc.pid))
        deadline = time.monotonic() + 10
        while not report.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"corruption proxy did not start: see {self.run_dir / 'proxy.log'}")
            time.sleep(0.05)
        return ProxyHandle(f"{link.host_ip}:{listen_port}", proc.pid, report)

    def stop_proxy(self, handle: ProxyHandle) -> None:
        stop_helper(self.run_dir, handle.pid)

    # ---- undo everything this object did
    def clear(self, proxies: bool = True) -> None:
        """Undoes every fault: freeze first (the rest needs a running guest), then links, nft
        rules, corruption proxies (unless proxies=False: sessions may still go through one)
        and netem."""
        for nic in list(self._flaps):
            self.flap_stop(nic)
        with QMP(self.qmp_socket) as qmp:
            if qmp.status() == "paused":
                qmp.cont()
        for nic in self.links:
            self.link_up(nic, via="qmp")
            net.set_link(self.netns, self.links[nic].tap, True)
        if self._read_rules():
            self._load_rules({})
        if proxies:
            stop_all_helpers(self.run_dir)
        for nic in self.links:
            self.rate_limit_clear(nic)
        # netem both ways, every NIC, in one guest call: qdiscs that are not there are no error.
        self._guest(["sh", "-c", "; ".join(
            f"tc qdisc del dev {self.guest_dev(nic)} root 2>/dev/null; "
            f"tc qdisc del dev {self.guest_dev(nic)} ingress 2>/dev/null; "
            f"ip link del ifb-{nic} 2>/dev/null" for nic in self.links) + "; true"], check=False)


def netem_args(delay_ms: float, jitter_ms: float, loss_pct: float) -> list[str]:
    """netem's arguments for a delay (with jitter) and/or a loss rate, one direction."""
    args = []
    if delay_ms:
        args += ["delay", f"{delay_ms}ms"] + ([f"{jitter_ms}ms"] if jitter_ms else [])
    if loss_pct:
        args += ["loss", f"{loss_pct}%"]
    if not args:
        raise LabError("netem: give delay_ms and/or loss_pct")
    return args


def stop_helper(run_dir: Path, pid: int) -> None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        cmdline = b""
    # Only our own proxy: a pid file can outlive its process and the pid be reused.
    if b"iscsilab.faults.corrupt_proxy" in cmdline and str(run_dir).encode() in cmdline:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    (run_dir / "helpers" / f"{pid}.pid").unlink(missing_ok=True)


def stop_all_helpers(run_dir: Path) -> None:
    for pidfile in (run_dir / "helpers").glob("*.pid"):
        stop_helper(run_dir, int(pidfile.stem))
