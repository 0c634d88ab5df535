#!/usr/bin/python3
"""One initiator, many sessions: lab-iscsi-perf --sessions 1 against --sessions N, on one tgtd.

Starts ONE tgtd on loopback with --targets targets (each a null LUN, 512-byte blocks) and, for
every repetition, runs lab-iscsi-perf once with a single session and once with N sessions
spread evenly over the targets (the order flipping between repetitions, so a burst of load on
this shared machine falls on both sides), each session keeping -m requests of -b blocks in
flight. It reports medians and the spread (min-max) of:

- logins per second: the tool's own "logged in N sessions in T s" line (--login-concurrency
  logins in progress at once; login only, READ CAPACITY and logout not included);
- peak RSS of the tool (its VmHWM, which it prints after the run; not wait4's ru_maxrss, which
  keeps the forked Python's) and memory per session, (RSS at N - RSS at 1) / (N - 1);
- CPU time per I/O of the I/O phase (the tool's "I/O phase:" line: its user+system time over the
  run, logins and logouts excluded), and of the whole process (wait4, everything included);
- IOPS (the final "iops average" line);
- tgtd's CPU time per I/O over the run (/proc/PID/stat) and its peak VmRSS while the run lasts
  (sampled every 100 ms), since tgtd on the same two cores is what limits IOPS.

Needs root (tgtd). tgtd raises its own RLIMIT_NOFILE to fs.nr_open; we raise ours (inherited by
lab-iscsi-perf, which also raises its soft limit itself) to cover N sockets.

    /usr/bin/python3 bench/scale_sessions.py [--sessions 1000] [--targets 4] [--reps 3]
        [--seconds 5] [--qd 1] [--blocks 8] [--login-concurrency 64] [--json out.json]
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from perf_vs_libiscsi import (DEFAULT_OURS, Tgtd, check_transfer, final_figures,  # noqa: E402
                              run_tool, unavailable_reason, write_record)

LOGGED_IN = re.compile(r"^logged in (\d+) sessions in ([\d.]+) s \((\d+) logins/s", re.M)
IO_PHASE = re.compile(r"^I/O phase: (\d+) commands over (\d+) sessions \((\d+) to (\d+) each\) "
                      r"in ([\d.]+) s, CPU ([\d.]+) s \([\d.]+ us/IO\), peak RSS (\d+) KiB", re.M)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    sessions: int
    logins_per_s: float
    login_s: float
    rss_kib: int              # the tool's peak RSS
    iops: int
    cpu_us_per_io: float      # I/O phase only
    total_cpu_us_per_io: float  # the whole process, logins and logouts included
    least_per_session: int    # commands completed by the least busy session
    tgtd_cpu_us_per_io: float
    tgtd_peak_rss_kib: int


def tgtd_cpu_s(pid: int) -> float:
    """tgtd's user+system time so far (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PeakRss(threading.Thread):
    """Samples a process's VmRSS every 100 ms until stopped; keeps the largest."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self._done = pid, vm_rss_kib(pid), threading.Event()
        self.start()

    def run(self) -> None:
        while not self._done.wait(0.1):
            self.peak = max(self.peak, vm_rss_kib(self.pid))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def add_targets(tgt: Tgtd, count: int) -> list[str]:
    """Targets 2..count beside tgt's first, each with a null LUN 1 open to every initiator;
    returns the URLs of all of them."""
    urls = [tgt.url(Tgtd.NULL_LUN)]
    for tid in range(2, count + 1):
        iqn = f"{tgt.iqn}-t{tid}"
        tgt.tgtadm("--mode", "target", "--op", "new", "--tid", str(tid), "--targetname", iqn)
        tgt.tgtadm("--mode", "logicalunit", "--op", "new", "--tid", str(tid), "--lun",
                   str(Tgtd.NULL_LUN), "--bstype", "null", "--backing-store", "/dev/null")
        tgt.tgtadm("--mode", "target", "--op", "bind", "--tid", str(tid),
                   "--initiator-address", "ALL")
        urls.append(f"iscsi://{tgt.portal}/{iqn}/{Tgtd.NULL_LUN}")
    return urls


def run_once(args, tgt: Tgtd, urls: list[str], sessions: int) -> Run:
    # N sessions spread evenly: --sessions per URL, over as many URLs as divide N.
    use = urls if sessions % len(urls) == 0 and sessions >= len(urls) else urls[:1]
    argv = [str(args.ours), "-t", str(args.seconds), "-b", str(args.blocks), "-m", str(args.qd),
            "--sessions", str(sessions // len(use)),
            "--login-concurrency", str(args.login_concurrency), *use]
    cpu0 = tgtd_cpu_s(tgt.pid)
    sampler = PeakRss(tgt.pid)
    out, usage = run_tool(argv)
    tgtd_peak = sampler.stop()
    tgtd_cpu = tgtd_cpu_s(tgt.pid) - cpu0
    check_transfer(argv, out, args.blocks)
    figures, login, phase = final_figures(out), LOGGED_IN.search(out), IO_PHASE.search(out)
    if figures is None or login is None or phase is None:
        raise RuntimeError(f"unexpected output of {' '.join(argv)}:\n{out[-2000:]}")
    if int(login.group(1)) != sessions or int(phase.group(2)) != sessions:
        raise RuntimeError(f"asked for {sessions} sessions, the tool says:\n{out[-2000:]}")
    ios = int(phase.group(1))
    return Run(sessions=sessions,
               logins_per_s=sessions / max(float(login.group(2)), 1e-9),
               login_s=float(login.group(2)),
               rss_kib=int(phase.group(7)),
               iops=figures[0],
               cpu_us_per_io=float(phase.group(6)) * 1e6 / max(1, ios),
               total_cpu_us_per_io=(usage.ru_utime + usage.ru_stime) * 1e6 / max(1, ios),
               least_per_session=int(phase.group(3)),
               tgtd_cpu_us_per_io=tgtd_cpu * 1e6 / max(1, ios),
               tgtd_peak_rss_kib=tgtd_peak)


def spread(values: list[float], fmt: str) -> str:
    """median (min-max)"""
    return (f"{format(statistics.median(values), fmt)} "
            f"({format(min(values), fmt)}-{format(max(values), fmt)})")


COLUMNS = [  # (title, Run attribute, format)
    ("logins/s", "logins_per_s", ".0f"),
    ("tool RSS MiB", "rss_mib", ".1f"),
    ("IOPS", "iops", ".0f"),
    ("CPU us/IO (I/O phase)", "cpu_us_per_io", ".2f"),
    ("CPU us/IO (whole run)", "total_cpu_us_per_io", ".2f"),
    ("tgtd CPU us/IO", "tgtd_cpu_us_per_io", ".2f"),
    ("tgtd peak RSS MiB", "tgtd_rss_mib", ".1f"),
]


def value(r: Run, attr: str) -> float:
    if attr == "rss_mib":
        return r.rss_kib / 1024
    if attr == "tgtd_rss_mib":
        return r.tgtd_peak_rss_kib / 1024
    return getattr(r, attr)


def report(args, runs: dict[int, list[Run]]) -> list[dict]:
    header = "| sessions | " + " | ".join(c[0] for c in COLUMNS) + " |"
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    rows = []
    for n, rs in runs.items():
        cells = [spread([value(r, attr) for r in rs], fmt) for _, attr, fmt in COLUMNS]
        print(f"| {n} | " + " | ".join(cells) + " |")
        rows.append({"sessions": n, **{attr: statistics.median(value(r, attr) for r in rs)
                                       for _, attr, _ in COLUMNS},
                     "runs": [vars(r) for r in rs]})
    one, many = runs[1], runs[args.sessions]
    # Pairs from the same repetition, so each ratio compares runs made close together.
    per_session = [(m.rss_kib - o.rss_kib) / (args.sessions - 1) for o, m in zip(one, many)]
    cpu_ratio = [m.cpu_us_per_io / o.cpu_us_per_io for o, m in zip(one, many)]
    tgtd_ratio = [m.tgtd_cpu_us_per_io / o.tgtd_cpu_us_per_io for o, m in zip(one, many)]
    print()
    print(f"memory per session (tool, (RSS at {args.sessions} - RSS at 1) / {args.sessions - 1}): "
          f"{spread(per_session, '.1f')} KiB")
    print(f"CPU per I/O at {args.sessions} sessions / at 1 (I/O phase): {spread(cpu_ratio, '.2f')}")
    print(f"tgtd CPU per I/O at {args.sessions} sessions / at 1: {spread(tgtd_ratio, '.2f')}")
    print(f"least busy of {args.sessions} sessions completed "
          f"{min(r.least_per_session for r in many)} commands (in the worst run)")
    rows.append({"memory_per_session_kib": statistics.median(per_session),
                 "cpu_per_io_ratio": statistics.median(cpu_ratio),
                 "tgtd_cpu_per_io_ratio": statistics.median(tgtd_ratio)})
    return rows


def raise_fd_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise SystemExit(f"scale_sessions: {need} file descriptors needed, hard RLIMIT_NOFILE "
                             f"is {hard} (raise it: ulimit -Hn)")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=1000, help="sessions of the many-session run")
    ap.add_argument("--targets", type=int, default=4, help="targets on the one tgtd")
    ap.add_argument("--reps", type=int, default=3, help="runs at each point (median, spread)")
    ap.add_argument("--seconds", type=int, default=5, help="-t of each run")
    ap.add_argument("--qd", type=int, default=1, help="-m: requests in flight per session")
    ap.add_argument("--blocks", type=int, default=8, help="-b: 512-byte blocks per request")
    ap.add_argument("--login-concurrency", type=int, default=64)
    ap.add_argument("--ours", type=Path, default=DEFAULT_OURS, help="the lab-iscsi-perf binary")
    ap.add_argument("--json", type=Path, help="also write the runs and medians here")
    args = ap.parse_args()
    if args.sessions < 2 or args.targets < 1 or args.reps < 1:
        ap.error("--sessions must be at least 2, --targets and --reps at least 1")
    why = unavailable_reason()
    if why:
        print(f"scale_sessions: {why}", file=sys.stderr)
        return 2
    if not os.access(args.ours, os.X_OK):
        print(f"scale_sessions: {args.ours} not found (build target lab-iscsi-perf)",
              file=sys.stderr)
        return 2
    raise_fd_limit(args.sessions + 256)

    runs: dict[int, list[Run]] = {1: [], args.sessions: []}
    load_before = os.getloadavg()
    started = time.time()
    with Tgtd(null_lun=True, file_lun_bytes=0) as tgt:
        urls = add_targets(tgt, args.targets)
        for rep in range(args.reps):
            order = [1, args.sessions] if rep % 2 == 0 else [args.sessions, 1]
            for n in order:
                r = run_once(args, tgt, urls, n)
                runs[n].append(r)
                print(f"  rep {rep + 1}/{args.reps} {n:>5} sessions: {r.logins_per_s:7.0f} logins/s "
                      f"{r.iops:>7} IOPS {r.cpu_us_per_io:6.2f} CPU us/IO "
                      f"RSS {r.rss_kib / 1024:6.1f} MiB; tgtd {r.tgtd_cpu_us_per_io:6.2f} CPU us/IO "
                      f"{r.tgtd_peak_rss_kib / 1024:6.1f} MiB", flush=True)
    load_after = os.getloadavg()
    print()
    print(f"medians (min-max) of {args.reps} runs of {args.seconds} s each, {args.blocks * 512} B "
          f"reads, QD {args.qd} per session, {args.targets} targets on one tgtd on loopback, "
          f"logins {args.login_concurrency} at once; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after ({os.cpu_count()} CPUs, {time.time() - started:.0f} s)")
    rows = report(args, runs)
    write_record(args.json, args, load_before, load_after, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
