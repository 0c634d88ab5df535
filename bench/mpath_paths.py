#!/usr/bin/python3
"""One path against two: lab-iscsi-perf on one tgtd LU through one portal, and through two
portals as one multipath device (multibus, round-robin 0), in the same run.

Starts ONE tgtd on loopback (iscsilab.peers.tgtd.Tgtd, LUN 1 = null backing store, 512-byte
blocks), adds a second portal (tgtadm --mode portal), and for every repetition and point runs
lab-iscsi-perf once with one URL and once with both URLs (the order flipping between
repetitions, so load on this shared machine falls on both sides), then prints medians of IOPS
and MB/s and the two-path/one-path ratio:

    4 KiB QD32   -b 8    -m 32
    1 MiB QD8    -b 2048 -m 8

A benchmark, not a test: on loopback both paths end in the same tgtd process, so a second path
adds a TCP connection and a second session (and with them a second receive thread of tgtd's
event loop's work), not a second wire. What it shows is what the multipath layer costs and
whether spreading over two sessions helps or hurts this target.

Needs root (tgtd). Run with Debian's interpreter:

    /usr/bin/python3 bench/mpath_paths.py [--reps 3] [--seconds 5] [--ours PATH] [--json F]
        [--selector "round-robin 0"] [--write]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TOP / "target-lab"))

from iscsilab.peers.tgtd import Tgtd, unavailable_reason  # noqa: E402

DEFAULT_OURS = TOP / "build" / "default" / "initiator" / "cli" / "lab-iscsi-perf"
POINTS = [("4 KiB QD32", 8, 32), ("1 MiB QD8", 2048, 8)]
FINAL = re.compile(r"^iops average (\d+) \((\d+) MB/s\) *$")
PATH_LINE = re.compile(r"^path (\S+) LUN \d+: (\d+) commands")


def run_once(ours: Path, urls: list[str], blocks: int, qd: int, seconds: int, selector: str,
             write: bool) -> tuple[int, int, dict[str, int]]:
    argv = [str(ours), "-t", str(seconds), "-b", str(blocks), "-m", str(qd)]
    if write:
        argv.append("-w")
    if len(urls) > 1:
        argv += ["-M", f"path_selector={selector}"]
    argv += urls
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    figures = None
    per_path = {}
    for line in re.split(r"[\r\n]", r.stdout):
        m = FINAL.match(line)
        if m:
            figures = int(m.group(1)), int(m.group(2))
        p = PATH_LINE.match(line)
        if p:
            per_path[p.group(1)] = int(p.group(2))
    if figures is None:
        raise SystemExit(f"no final line from {' '.join(argv)}:\n{r.stdout}")
    return figures[0], figures[1], per_path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--ours", type=Path, default=DEFAULT_OURS)
    ap.add_argument("--selector", default="round-robin 0")
    ap.add_argument("--write", action="store_true", help="WRITE(16) instead of READ(16)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    reason = unavailable_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    if not args.ours.exists():
        print(f"{args.ours} is not built (cmake --build --preset default)", file=sys.stderr)
        return 2
    results: dict[str, dict[str, list[tuple[int, int]]]] = {}
    shares: dict[str, list[float]] = {}
    with Tgtd(file_lun_bytes=0) as t:
        second = t.add_portal()
        one = [t.url(Tgtd.NULL_LUN)]
        two = one + [f"iscsi://{second}/{t.iqn}/{Tgtd.NULL_LUN}"]
        for label, blocks, qd in POINTS:
            results[label] = {"1 path": [], "2 paths": []}
            shares[label] = []
            for rep in range(args.reps):
                order = [("1 path", one), ("2 paths", two)]
                if rep % 2:
                    order.reverse()
                for name, urls in order:
                    iops, mbps, per_path = run_once(args.ours, urls, blocks, qd, args.seconds,
                                                    args.selector, args.write)
                    results[label][name].append((iops, mbps))
                    if len(per_path) == 2:
                        counts = list(per_path.values())
                        shares[label].append(min(counts) / max(1, sum(counts)))
                    print(f"  {label:11} {name:7} rep {rep + 1}: {iops} IOPS {mbps} MB/s"
                          + (f"  (per path: {per_path})" if per_path else ""), flush=True)
    op = "WRITE" if args.write else "READ"
    print(f"\n{op}, tgtd null LUN on loopback, {args.seconds} s per run, median of {args.reps}; "
          f"two paths: multibus, {args.selector}")
    print(f"{'point':12} {'1 path IOPS':>12} {'MB/s':>6} {'2 paths IOPS':>13} {'MB/s':>6} {'ratio':>6} "
          f"{'smaller path share':>19}")
    summary = {}
    for label, _b, _q in POINTS:
        one_iops = statistics.median(r[0] for r in results[label]["1 path"])
        one_mbps = statistics.median(r[1] for r in results[label]["1 path"])
        two_iops = statistics.median(r[0] for r in results[label]["2 paths"])
        two_mbps = statistics.median(r[1] for r in results[label]["2 paths"])
        share = statistics.median(shares[label]) if shares[label] else 0.0
        ratio = two_iops / one_iops if one_iops else 0.0
        print(f"{label:12} {one_iops:12.0f} {one_mbps:6.0f} {two_iops:13.0f} {two_mbps:6.0f} "
              f"{ratio:6.2f} {share:18.0%}")
        summary[label] = {"one_path": {"iops": one_iops, "mbps": one_mbps},
                          "two_paths": {"iops": two_iops, "mbps": two_mbps},
                          "ratio": ratio, "smaller_path_share": share,
                          "runs": results[label]}
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
