"""What `ci/main` shows of our initiator against a running lab: discovery, login, data written
and read back, a NOP round trip, the session's counters, and — when the lab runs the guard — a
second instance of the same VM refused. Each line says what happened, in words."""
from __future__ import annotations

import time

from .initiator import InitiatorProcess, RemoteError

VM = "iqn.2026-11.org.example:vm1"


def run(lab, out=print) -> bool:
    """Returns False if anything did not behave; prints one line per step."""
    ok = True
    portal = lab.portals()[0]
    with InitiatorProcess(lab, VM) as ini:
        found = ini.discover(portal.address)
        out(f"discovery at {portal.address}: " +
            "; ".join(f"{t['name']} at {', '.join(t['portals'])}" for t in found))
        t0 = time.monotonic()
        s = ini.login("a", portal.target, portal.address, isid="400000000001")
        out(f"login to {portal.target}: TSIH {s['tsih']:#06x} in {(time.monotonic() - t0) * 1e3:.0f} ms")
        blocks = 2048
        t0 = time.monotonic()
        ini.write("a", lba=0, blocks=blocks, seed=7)
        v = ini.verify("a", lba=0, blocks=blocks, seed=7)
        took = time.monotonic() - t0
        out(f"wrote and read back {blocks} blocks: {'identical' if v['ok'] else 'DIFFERENT'} "
            f"({took:.2f} s)")
        ok &= v["ok"]
        out(f"NOP-Out ping answered in {ini.nop('a')['seconds'] * 1e3:.1f} ms")
        st = ini.stats("a")
        out("counters (iscsiadm --stats names): " + ", ".join(
            f"{k} {st[k]}" for k in ("txdata_octets", "rxdata_octets", "scsicmd_pdus", "dataout_pdus",
                                     "datain_pdus", "digest_err", "timeout_err") if k in st))
        if lab.config.guard != "none":
            with InitiatorProcess(lab, VM) as twin:
                try:
                    twin.login("b", portal.target, portal.address, isid="400000000002")
                    out("guard: a second instance of the VM got a session: the guard did NOT work")
                    ok = False
                except RemoteError as exc:
                    out(f"guard ({lab.config.guard}): a second instance of the VM (same IQN, "
                        f"other ISID) is refused: {exc.message}")
        ini.logout("a")
        out("logged out")
    return ok
