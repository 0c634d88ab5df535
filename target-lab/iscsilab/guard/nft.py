"""The split-brain guard without a kernel patch: nftables in the guest limits each portal to one
established TCP connection.

    table inet iscsilab_guard {
      chain input {
        type filter hook input priority filter; policy accept;
        ip daddr 10.77.0.2 tcp dport 3260 ct state new ct count over 1 counter reject with tcp reset
      }
    }

What it does not do, compared with the kernel guard (tests/python/lab/test_guard_nftables.py
asserts each of these):
- It counts TCP connections, not sessions: while a session is up, a discovery session
  (SendTargets) to the same portal is refused too, and so is a second connection of the same
  session (MC/S).
- It is per portal, not per TPG: a TPG with two portals takes one session on each.
- It cannot tell a reinstatement: an initiator that lost its link and reconnects is refused until
  the target has dropped the old connection (LIO's NOP-In timeout) and conntrack has forgotten it.
- The refusal is a TCP reset of the SYN ("connection refused" to the initiator), not a Login
  Response, so the initiator cannot tell it from a target that is down.
"""
from __future__ import annotations

from ..errors import LabError

TABLE = "iscsilab_guard"


def ruleset(portals: list[tuple[str, int]], limit: int = 1) -> str:
    """nft -f input that limits each (ip, port) to `limit` connections."""
    if limit < 1:
        raise LabError(f"nftables guard: the limit must be at least 1, got {limit}")
    lines = [f"table inet {TABLE} {{", "  chain input {",
             "    type filter hook input priority filter; policy accept;"]
    for ip, port in sorted(set(portals)):
        family = "ip6" if ":" in ip else "ip"
        lines.append(f"    {family} daddr {ip} tcp dport {port} ct state new "
                     f"ct count over {limit} counter reject with tcp reset")
    lines += ["  }", "}"]
    # Replace, not add: delete the table first (creating it empty makes the delete safe).
    return f"table inet {TABLE}\ndelete table inet {TABLE}\n" + "\n".join(lines) + "\n"


def install(agent, portals: list[tuple[str, int]], limit: int = 1) -> None:
    res = agent.call("run", argv=["nft", "-f", "-"], input=ruleset(portals, limit))
    if res["rc"] != 0:
        raise LabError(f"nftables guard: nft -f failed in the guest: {res['stderr'].strip()}")


def remove(agent) -> None:
    agent.call("run", argv=["nft", "delete", "table", "inet", TABLE])


def refusals(agent) -> dict[tuple[str, int], int]:
    """Connections refused so far, per portal (the rules' counters)."""
    res = agent.call("run", argv=["nft", "list", "table", "inet", TABLE])
    if res["rc"] != 0:
        raise LabError(f"nftables guard: not installed ({res['stderr'].strip()})")
    out = {}
    for line in res["stdout"].splitlines():
        words = line.split()
        if "daddr" in words and "packets" in words:
            ip = words[words.index("daddr") + 1]
            port = int(words[words.index("dport") + 1])
            out[(ip, port)] = int(words[words.index("packets") + 1])
    return out
