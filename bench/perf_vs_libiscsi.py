#!/usr/bin/python3
"""lab-iscsi-perf against libiscsi's iscsi-perf, on the same tgtd null LUN, in one run.

Starts ONE tgtd on loopback (iscsilab.peers.tgtd.Tgtd, LUN 1 = null backing store, 512-byte
blocks) and runs both tools alternately -- for every repetition and every point, one run of each,
the order flipping between repetitions, so load on this shared machine falls on both sides of
a ratio -- then prints medians:

    4 KiB QD1    iscsi-perf -b 8    -m 1
    4 KiB QD32   iscsi-perf -b 8    -m 32
    1 MiB QD8    iscsi-perf -b 2048 -m 8

IOPS and MB/s come from each tool's final line, `iops average N (M MB/s)` (MB = 2^20 bytes).
CPU time per I/O is the tool's user+system time (os.wait4 on its process, so login and READ
CAPACITY are included: a few ms against seconds of I/O) divided by IOPS x seconds run.

Needs root (tgtd) and Debian's libiscsi-bin. Run with Debian's interpreter:

    /usr/bin/python3 bench/perf_vs_libiscsi.py [--reps 5] [--seconds 5] [--ours PATH] [--json F]
    /usr/bin/python3 bench/perf_vs_libiscsi.py --instructions [--points "4 KiB QD1"]

--instructions counts instead of timing: each tool runs under valgrind's callgrind (Debian's
valgrind) for 2 s and for 5 s, and the difference of the instructions it executed, divided by the
difference of the I/Os it did, is its user-space instructions per I/O -- login, READ CAPACITY and
start-up cancel out. Unlike IOPS and CPU time on a shared machine it comes out the same every
run, so it shows what a change to the code did. It counts no kernel work and no waiting.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TOP / "target-lab"))

from iscsilab.peers.tgtd import Tgtd, unavailable_reason  # noqa: E402

LIBISCSI_PERF = "/usr/bin/iscsi-perf"
DEFAULT_OURS = TOP / "build" / "default" / "initiator" / "cli" / "lab-iscsi-perf"

# (label, blocks per request at 512-byte blocks, requests in flight)
POINTS = [("4 KiB QD1", 8, 1), ("4 KiB QD32", 8, 32), ("1 MiB QD8", 2048, 8)]
BLOCK_BYTES = 512  # tgt's null backing store; checked against each tool's banner

FINAL = re.compile(r"^iops average (\d+) \((\d+) MB/s\) *$")
TRANSFER = re.compile(r"FIXED transfer size of (\d+) blocks \((\d+) byte\)")


@dataclass
class Run:
    iops: int
    mbps: int
    cpu_us_per_io: float


@dataclass
class Series:
    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)


def print_ratio_table(labels: list[str], series: dict, sides: tuple[str, ...], column: str,
                      ratio: str) -> list[dict]:
    """Prints the medians of every point and side as a Markdown table; the first side's row also
    gets its IOPS and CPU ratios to the second side's ("IOPS <ratio>", "CPU <ratio>"). Returns the
    rows (medians and every run) for the JSON record."""
    width = max(len(column), *(len(s) for s in sides))
    iops_title, cpu_title = f"IOPS {ratio}", f"CPU {ratio}"
    header = (f"| {'point':<11} | {column:<{width}} | {'IOPS':>8} | {'MB/s':>6} | {'CPU us/IO':>9} | "
              f"{iops_title} | {cpu_title} |")
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    rows = []
    for label in labels:
        first, second = series[(label, sides[0])], series[(label, sides[1])]
        iops_ratio = first.median("iops") / max(1, second.median("iops"))
        cpu_ratio = first.median("cpu_us_per_io") / max(1e-9, second.median("cpu_us_per_io"))
        for side in sides:
            s = series[(label, side)]
            mine = side == sides[0]
            print(f"| {label:<11} | {side:<{width}} | {s.median('iops'):>8.0f} | {s.median('mbps'):>6.0f} | "
                  f"{s.median('cpu_us_per_io'):>9.1f} | {(f'{iops_ratio:.2f}' if mine else ''):>{len(iops_title)}} | "
                  f"{(f'{cpu_ratio:.2f}' if mine else ''):>{len(cpu_title)}} |")
            rows.append({"point": label, column: side, "iops": s.median("iops"),
                         "mbps": s.median("mbps"), "cpu_us_per_io": s.median("cpu_us_per_io"),
                         "runs": [vars(r) for r in s.runs]})
    return rows


def write_record(path: Path | None, args, load_before, load_after, rows: list[dict]) -> None:
    """The runs and medians as JSON, when --json asked for them."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"reps": args.reps, "seconds": args.seconds,
                                    "load_before": load_before, "load_after": load_after,
                                    "results": rows}, indent=2))


def final_figures(out: str) -> tuple[int, int] | None:
    """The last `iops average N (M MB/s)` alone on a line (lines end at \\r or \\n)."""
    found = None
    for line in re.split(r"[\r\n]", out):
        m = FINAL.match(line)
        if m:
            found = int(m.group(1)), int(m.group(2))
    return found


def run_tool(argv: list[str]) -> tuple[str, "os.struct_rusage"]:
    """Runs one tool to completion: its stdout and stderr (together) and its wait4() usage (user
    and system time; not ru_maxrss, which Linux carries over from the forked Python across exec);
    raises if it exits non-zero."""
    r_fd, w_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: stdout and stderr into the pipe, then exec
        try:
            os.close(r_fd)
            os.dup2(w_fd, 1)
            os.dup2(w_fd, 2)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    os.close(w_fd)
    chunks = []
    with os.fdopen(r_fd, "rb") as f:
        for chunk in iter(lambda: f.read(65536), b""):
            chunks.append(chunk)
    _, status, usage = os.wait4(pid, 0)
    out = b"".join(chunks).decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {code}:\n{out[-2000:]}")
    return out, usage


def run_once(argv: list[str], seconds: int, blocks: int) -> Run:
    """Runs one tool to completion; figures from its final line, CPU from wait4()."""
    out, usage = run_tool(argv)
    check_transfer(argv, out, blocks)
    figures = final_figures(out)
    if figures is None:
        raise RuntimeError(f"{argv[0]}: no final 'iops average N (M MB/s)' line:\n{out[-2000:]}")
    iops, mbps = figures
    cpu_s = usage.ru_utime + usage.ru_stime
    ios = max(1, iops * seconds)
    return Run(iops, mbps, cpu_s * 1e6 / ios)


def check_transfer(argv: list[str], out: str, blocks: int) -> None:
    """The tool's banner must show the request size asked for, in 512-byte blocks."""
    m = TRANSFER.search(out)
    if not m or int(m.group(1)) != blocks or int(m.group(2)) != blocks * BLOCK_BYTES:
        raise RuntimeError(f"{argv[0]}: unexpected transfer size (want {blocks} x {BLOCK_BYTES} "
                           f"bytes):\n{out[-2000:]}")


CALLGRIND_TOTAL = re.compile(r"==\d+== Collected : (\d+)")


def instructions_once(argv: list[str], seconds: int, blocks: int) -> tuple[int, int]:
    """(instructions, I/Os) of one run under callgrind."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + argv
    cmd[cmd.index("-t") + 1] = str(seconds)
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    out = r.stdout + r.stderr
    m = CALLGRIND_TOTAL.search(out)
    figures = final_figures(out)
    if r.returncode != 0 or not m or figures is None:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{out[-2000:]}")
    return int(m.group(1)), figures[0] * seconds


def count_instructions(tools: dict[str, str], points, url: str) -> int:
    short, long_ = 2, 5
    print(f"user-space instructions per I/O (callgrind, difference of a {long_} s and a {short} s "
          "run, so start-up and login cancel out):")
    print(f"| {'point':<11} | {'tool':<20} | {'instructions/IO':>15} | {'ours/libiscsi':>13} |")
    print(f"|{'-' * 13}|{'-' * 22}|{'-' * 17}|{'-' * 15}|")
    for label, blocks, qd in points:
        per_io = {}
        for name, path in tools.items():
            argv = [path, "-t", "0", "-b", str(blocks), "-m", str(qd), url]
            i1, n1 = instructions_once(argv, short, blocks)
            i2, n2 = instructions_once(argv, long_, blocks)
            if n2 <= n1:
                raise RuntimeError(f"{name}: no more I/Os in {long_} s than in {short} s")
            per_io[name] = (i2 - i1) / (n2 - n1)
        ratio = per_io["lab-iscsi-perf"] / per_io["libiscsi iscsi-perf"]
        for name, v in per_io.items():
            mine = name == "lab-iscsi-perf"
            print(f"| {label:<11} | {name:<20} | {v:>15.0f} | {(f'{ratio:.2f}' if mine else ''):>13} |",
                  flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="runs of each tool per point (median)")
    ap.add_argument("--seconds", type=int, default=5, help="-t of each run")
    ap.add_argument("--ours", type=Path, default=DEFAULT_OURS, help="the lab-iscsi-perf binary")
    ap.add_argument("--libiscsi", type=Path, default=Path(LIBISCSI_PERF))
    ap.add_argument("--points", default="all",
                    help="comma-separated subset of: " + ", ".join(p[0] for p in POINTS))
    ap.add_argument("--json", type=Path, help="also write the runs and medians here")
    ap.add_argument("--instructions", action="store_true",
                    help="count user-space instructions per I/O under callgrind instead of timing")
    args = ap.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        print("perf_vs_libiscsi: --instructions needs valgrind (apt-get install valgrind)",
              file=sys.stderr)
        return 2

    why = unavailable_reason()
    if why:
        print(f"perf_vs_libiscsi: {why}", file=sys.stderr)
        return 2
    for tool in (args.ours, args.libiscsi):
        if not os.access(tool, os.X_OK):
            print(f"perf_vs_libiscsi: {tool} not found (build target lab-iscsi-perf; "
                  "apt-get install libiscsi-bin)", file=sys.stderr)
            return 2
    points = POINTS if args.points == "all" else [
        p for p in POINTS if p[0] in {s.strip() for s in args.points.split(",")}]
    if not points:
        print(f"perf_vs_libiscsi: no point matches {args.points!r}", file=sys.stderr)
        return 2

    tools = {"lab-iscsi-perf": str(args.ours), "libiscsi iscsi-perf": str(args.libiscsi)}
    if args.instructions:
        with Tgtd(null_lun=True, file_lun_bytes=0) as tgt:
            return count_instructions(tools, points, tgt.url(Tgtd.NULL_LUN))
    series = {(p[0], t): Series() for p in points for t in tools}
    load_before = os.getloadavg()
    started = time.time()
    with Tgtd(null_lun=True, file_lun_bytes=0) as tgt:
        url = tgt.url(Tgtd.NULL_LUN)
        for rep in range(args.reps):
            for label, blocks, qd in points:
                order = list(tools.items())
                if rep % 2:
                    order.reverse()
                for name, path in order:
                    argv = [path, "-t", str(args.seconds), "-b", str(blocks), "-m", str(qd), url]
                    run = run_once(argv, args.seconds, blocks)
                    series[(label, name)].runs.append(run)
                    print(f"  rep {rep + 1}/{args.reps} {label:<11} {name:<20} "
                          f"{run.iops:>8} IOPS {run.mbps:>6} MB/s {run.cpu_us_per_io:7.1f} CPU us/IO",
                          flush=True)
    load_after = os.getloadavg()

    print()
    print(f"medians of {args.reps} interleaved runs of {args.seconds} s each, tgtd null LUN on "
          f"loopback; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"({os.cpu_count()} CPUs, {time.time() - started:.0f} s)")
    rows = print_ratio_table([p[0] for p in points], series,
                             ("lab-iscsi-perf", "libiscsi iscsi-perf"), "tool", "ours/libiscsi")
    write_record(args.json, args, load_before, load_after, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
