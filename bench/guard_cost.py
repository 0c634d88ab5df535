#!/usr/bin/python3
"""What the single-session guard costs: login latency on three TPGs of one guest booted with the
guard module (off, strict, reinstate), measured in the same run, interleaved, and the refusal
latency (how fast a second instance hears "no").

    sudo bench/guard_cost.py [--runs 30]

The guard adds one lock and one walk of the TPG's session list to a leading login, so the
expected cost is nothing measurable next to the login itself; this measures it anyway. Each
login is a full leading login (TCP connect, Login Request/Response, no CHAP) followed by a
logout, from our initiator in the lab's namespace. The guest runs under TCG, so absolute times
are the emulator's; the ratios are what to read.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "target-lab"))

from iscsilab.initiator import InitiatorProcess, RemoteError  # noqa: E402
from iscsilab.lab import Lab  # noqa: E402
from iscsilab.provision.config import parse_config  # noqa: E402

TARGETS = {"off": "iqn.2026-11.org.example:cost-off",
           "strict": "iqn.2026-11.org.example:cost-strict",
           "reinstate": "iqn.2026-11.org.example:cost-reinstate"}
PORTAL = "10.77.0.2:3260"


def lab_yaml() -> str:
    out = "lab:\n  name: guardcost\n  guard: kernel\n  targets:\n"
    for policy, iqn in TARGETS.items():
        out += f"""    - name: {iqn}
      tpgs:
        - portals: [nic0]
          attributes: {{single_session: {policy}, authentication: 0, generate_node_acls: 1,
                        demo_mode_write_protect: 0, cache_dynamic_acls: 1}}
          luns:
            - {{lun: 0, backstore: {{type: ramdisk, size: 4MiB}}}}
"""
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()

    times: dict[str, list[float]] = {p: [] for p in TARGETS}
    refusals: list[float] = []
    with Lab(parse_config(lab_yaml(), "bench/guard_cost.py")) as lab, \
            InitiatorProcess(lab, "iqn.2026-11.org.example:bench") as ini, \
            InitiatorProcess(lab, "iqn.2026-11.org.example:bench") as other:
        for run in range(args.runs + 1):
            order = list(TARGETS) if run % 2 else list(reversed(TARGETS))
            for policy in order:
                r = ini.login("s", TARGETS[policy], PORTAL, isid="400000000001")
                if run:  # the first round warms up (ACL creation, caches)
                    times[policy].append(r["seconds"])
                if policy == "strict" and run:
                    t0 = time.monotonic()
                    try:
                        other.login("x", TARGETS[policy], PORTAL, isid="400000000002")
                        raise SystemExit("the guard let a second session in")
                    except RemoteError:
                        refusals.append(time.monotonic() - t0)
                ini.logout("s")
        uptime = Path("/proc/loadavg").read_text().split()[:3]

    base = statistics.median(times["off"])
    print(f"guard cost: {args.runs} leading logins per TPG, interleaved, one guest (TCG); "
          f"host load {' '.join(uptime)}")
    print(f"{'TPG single_session':<20} {'median ms':>10} {'p90 ms':>8} {'vs off':>7}")
    for policy, values in times.items():
        med = statistics.median(values)
        print(f"{policy:<20} {med * 1e3:>10.2f} {pct(values, 0.9) * 1e3:>8.2f} {med / base:>7.2f}")
    print(f"{'refusal (strict)':<20} {statistics.median(refusals) * 1e3:>10.2f} "
          f"{pct(refusals, 0.9) * 1e3:>8.2f}")


if __name__ == "__main__":
    main()
