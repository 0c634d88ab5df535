#!/usr/bin/python3
"""Boot-to-ready of the lab (kernel start -> LIO provisioned and portals listening), with a
breakdown, for the boot-time configfs script and for rtslib-fb in the agent, side by side.

    sudo bench/lab_boot.py [--runs 3] [--lab-file lab.yaml]

Prints the median of each stage over the runs, QEMU's own CPU time up to ready (close to the
wall time on an idle host: TCG runs the single vCPU in one thread) and the host's load average,
since the machine this runs on is usually shared. A benchmark: it asserts nothing.
"""
import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "target-lab"))

from iscsilab.lab import Lab  # noqa: E402
from iscsilab.provision.config import default_config, load_config  # noqa: E402


def boot_once(config, provision: str) -> dict:
    os.environ["ISCSILAB_PROVISION"] = provision
    lab = Lab(config, name=f"bench-{provision}")
    try:
        lab.up()
        return dict(lab.timings)
    finally:
        lab.down()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--lab-file")
    args = p.parse_args()
    config = load_config(args.lab_file) if args.lab_file else default_config()
    for provision in ("configfs", "rtslib"):
        runs = [boot_once(config, provision) for _ in range(args.runs)]
        print(f"\n== LIO provisioned by {'the boot-time configfs script' if provision == 'configfs' else 'rtslib-fb in the agent'}"
              f" — median of {args.runs} runs, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for key in runs[0]:
            values = [r.get(key, 0.0) for r in runs]
            print(f"  {statistics.median(values):7.2f} s  {key}   (min {min(values):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
