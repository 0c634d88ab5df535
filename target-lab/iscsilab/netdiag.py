"""What both ends of the lab's network look like, for a lab whose portal stopped answering.

A reused lab has, rarely, stopped answering on a NIC in the middle of a scenario ("No route to
host" from the namespace, while the guest agent, which talks over virtio-serial, still answers).
This collects what is needed to tell where the packets stop: the namespace's links, neighbours,
qdiscs and nft rules; the guest's links with their counters, neighbours, qdiscs, memory and
virtio interrupts; QEMU's own view of its NICs. Every part is best effort: the part that failed
says why, and the rest is still collected.
"""
from __future__ import annotations

from . import net
from .errors import LabError

HOST_COMMANDS = [
    ["ip", "-s", "-d", "link"],
    ["ip", "addr"],
    ["ip", "neigh"],
    ["tc", "-s", "qdisc"],
    ["nft", "list", "ruleset"],
    ["ss", "-tan"],
]

GUEST_COMMANDS = [
    "ip -s -d link", "ip addr", "ip neigh", "tc -s qdisc", "nft list ruleset",
    "cat /proc/net/snmp", "grep virtio /proc/interrupts", "head -5 /proc/meminfo",
    "cat /proc/net/sockstat", "cat /proc/loadavg", "ss -tan | head -40", "dmesg | tail -40"]
GUEST_SCRIPT = "; ".join(f'echo "### {c}"; {c} 2>&1' for c in GUEST_COMMANDS)


def collect(lab, timeout: float = 20.0) -> str:
    """A plain-text report of both ends of the lab's network."""
    parts = []
    for argv in HOST_COMMANDS:
        try:
            proc = net.run(lab.netns, argv, timeout=timeout, capture_output=True, text=True)
            out = proc.stdout + proc.stderr
        except Exception as exc:  # noqa: BLE001 - a missing tool or a gone namespace
            out = f"(failed: {exc})\n"
        parts.append(f"### host namespace {lab.netns}: {' '.join(argv)}\n{out}")
    try:
        res = lab.agent.call("run", argv=["sh", "-c", GUEST_SCRIPT], timeout=timeout)
        parts.append(f"### guest (over the agent)\n{res['stdout']}{res['stderr']}")
    except Exception as exc:  # noqa: BLE001 - the guest may be what failed
        parts.append(f"### guest: the agent did not answer ({exc})\n")
    try:
        from .vm.qmp import QMP
        with QMP(lab.run_dir / "qmp.sock") as qmp:
            parts.append("### QEMU: query-status\n" + str(qmp.status()) + "\n")
            cmds = ["info network"]
            for nic in lab.faults.links:
                dev = f"/machine/peripheral/{nic}/virtio-backend"
                # The rings as QEMU sees them: buffers the guest posted (shadow_avail_idx) and
                # took (last_avail_idx), used entries and whether the guest was signalled.
                cmds += [f"info virtio-status {dev}", f"info virtio-queue-status {dev} 0",
                         f"info virtio-queue-status {dev} 1"]
            for cmd in cmds:
                out = str(qmp.execute("human-monitor-command", **{"command-line": cmd}))
                if "virtio-status" in cmd:      # its feature lists are long and never change
                    out = "\n".join(l for l in out.splitlines()
                                    if l.split(":")[0].strip() in ("broken", "disabled", "started",
                                                                   "vm_running", "isr"))
                parts.append(f"### QEMU: {cmd}\n{out}\n")
    except Exception as exc:  # noqa: BLE001
        parts.append(f"### QEMU: QMP did not answer ({exc})\n")
    return "\n".join(parts)


def guest_health(lab, timeout: float = 10.0) -> dict:
    """A few numbers that would grow if a reused guest were leaking: memory, sockets, slab."""
    res = lab.agent.call("run", argv=["sh", "-c", "cat /proc/meminfo /proc/net/sockstat"],
                         timeout=timeout)
    out: dict = {}
    for line in res["stdout"].splitlines():
        key, _, rest = line.partition(":")
        words = rest.split()
        if key in ("MemAvailable", "MemFree", "Slab", "Shmem") and words:
            out[key + "_kb"] = int(words[0])
        elif key in ("TCP", "sockets") and "inuse" in words:
            out[f"{key.lower()}_inuse"] = int(words[words.index("inuse") + 1])
            if "tw" in words:
                out["tcp_tw"] = int(words[words.index("tw") + 1])
    return out


def why_unreachable(lab, portals=None, timeout: float = 8.0) -> str | None:
    """None when every portal (default: all of the lab's) takes a connection from the
    namespace within `timeout`, else why not."""
    portals = lab.portals() if portals is None else portals
    probe = net.ListenProbe(lab.netns, [(p.ip, p.port) for p in portals], timeout=timeout)
    try:
        probe.wait(timeout + 5)
        return None
    except LabError as exc:
        return str(exc)


def recovery_experiment(lab) -> str:
    """Tries, one after the other, what could bring a stalled NIC back, and says what each did:
    a diagnosis (which side of the ring is stuck), not a repair (the lab is dropped anyway)."""
    lines = []
    for name, action in [
        ("nothing (a second probe)", lambda: None),
        ("QMP set_link off/on on every NIC", lambda: _qmp_link_bounce(lab)),
        ("ip link down/up in the guest on every NIC", lambda: _guest_link_bounce(lab)),
    ]:
        try:
            action()
            why = why_unreachable(lab)
        except Exception as exc:  # noqa: BLE001
            why = f"the action failed: {exc}"
        lines.append(f"{name}: " + ("every portal answers" if why is None else f"still lost ({why})"))
        if why is None:
            break
    return "\n".join(lines) + "\n"


def _qmp_link_bounce(lab) -> None:
    from .vm.qmp import QMP
    with QMP(lab.run_dir / "qmp.sock") as qmp:
        for nic in lab.faults.links:
            qmp.set_link(nic, False)
            qmp.set_link(nic, True)


def _guest_link_bounce(lab) -> None:
    devs = [lab.faults.guest_dev(nic) for nic in lab.faults.links]
    script = "; ".join(f"ip link set {d} down; ip link set {d} up" for d in devs)
    lab.agent.call("run", argv=["sh", "-c", script], timeout=20)


def _counters(lines: str) -> dict[str, tuple[int, int]]:
    """`ip -s link` output -> {dev: (rx_packets, tx_packets)}."""
    out, dev, want = {}, None, None
    rx = 0
    for line in lines.splitlines():
        words = line.split()
        if line[:1].isdigit() and len(words) > 1:
            dev = words[1].rstrip(":").split("@")[0]
        elif words[:1] in (["RX:"], ["TX:"]):
            want = words[0]
        elif want and words and words[0].isdigit() and dev:
            if want == "RX:":
                rx = int(words[1])
            else:
                out[dev] = (rx, int(words[1]))
            want = None
    return out


def wire_lost(lab) -> str | None:
    """When a portal of the lab does not take connections although the guest is alive and LIO
    still listens on it, and the namespace cannot even resolve the guest's address: the lab's
    virtual wire (QEMU's NIC or the tap) has stopped, not LIO and not the initiator. Returns
    what was seen, or None when the lab is reachable or the fault may be the target's."""
    try:
        lab.faults.clear()      # a failed cell may have left its blackhole or link fault on
    except Exception:  # noqa: BLE001
        return None
    lost = [p for p in lab.portals() if why_unreachable(lab, [p], timeout=5.0)]
    if not lost:
        return None
    try:
        res = lab.agent.call("run", argv=["sh", "-c", "ss -Hltn; echo '###'; ip -s link"],
                             timeout=20)
    except Exception:  # noqa: BLE001 - a guest that does not answer is not a wire fault
        return None
    listening, _, guest_links = res["stdout"].partition("###")
    host_links = net.run(lab.netns, ["ip", "-s", "link"], capture_output=True, text=True,
                         timeout=20).stdout
    guest_counts, host_counts = _counters(guest_links), _counters(host_links)
    seen = []
    for p in lost:
        if f"{p.ip}:{p.port}" not in listening:
            return None           # LIO stopped listening: the target's doing, not the wire's
        neigh = net.run(lab.netns, ["ip", "neigh", "show", p.ip], capture_output=True,
                        text=True, timeout=20).stdout.split()
        state = neigh[-1] if neigh else "none"
        if state not in ("FAILED", "INCOMPLETE"):
            return None           # the address resolves: packets get through at layer 2
        link = lab.faults.link(p.nic)
        sent = host_counts.get(link.tap, (0, 0))[1]
        got = guest_counts.get(lab.faults.guest_dev(p.nic), (0, 0))[0]
        seen.append(f"{p.nic} ({p.ip}:{p.port}): LIO listens, the guest answers its agent, but "
                    f"the namespace cannot resolve {p.ip} (neighbour {state}); the tap sent "
                    f"{sent} packets, the guest received {got}")
    return "; ".join(seen)

