#!/usr/bin/python3
"""What the NBD export costs: fio through nbdkit-lab-iscsi-plugin.so against lab-iscsi-perf,
on the same tgtd null LUN, in one run.

Starts ONE tgtd on loopback (iscsilab.peers.tgtd.Tgtd, LUN 1 = null backing store, 512-byte
blocks) and, for every repetition and point, runs each side once, alternating the order
between repetitions (as bench/perf_vs_libiscsi.py does, whose helpers this reuses):

    nbd    nbdkit -U - <plugin> url=<LUN 1> --run 'fio --ioengine=nbd --rw=randread ...'
    direct lab-iscsi-perf -r -b <blocks> -m <QD> <LUN 1>
    floor  nbdkit -U - null size=1G --run 'fio ...' (the same fio, no iSCSI)

at 4 KiB QD1, 4 KiB QD32 and 1 MiB QD8 (random reads). IOPS and MB/s are fio's (JSON output)
and lab-iscsi-perf's final line. CPU per I/O is user+system time from os.wait4: for the NBD
side that is nbdkit and everything it waited for (the shell and fio), so the plugin, nbdkit's
NBD server and fio's libnbd client together, login and start-up included (a few ms against
seconds of I/O). The ratio columns are nbd/direct. A third side, the floor, runs the same fio
through nbdkit's own null plugin (no iSCSI at all): what fio and nbdkit cost by themselves.

Needs root (tgtd), nbdkit, fio (with its nbd engine), the plugin and lab-iscsi-perf built:

    cmake --build --preset default --target nbdkit-lab-iscsi-plugin lab-iscsi-perf
    /usr/bin/python3 bench/nbd_vs_perf.py [--reps 3] [--seconds 5] [--json F]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from perf_vs_libiscsi import (BLOCK_BYTES, DEFAULT_OURS, POINTS, TOP, Run, Series, Tgtd,  # noqa: E402
                              print_ratio_table, run_once, unavailable_reason, write_record)

DEFAULT_PLUGIN = TOP / "build" / "default" / "initiator" / "nbd" / "nbdkit-lab-iscsi-plugin.so"
NBDKIT = "/usr/bin/nbdkit"
FIO = "/usr/bin/fio"


def run_nbd(plugin_args: list[str], seconds: int, blocks: int, qd: int, work: Path) -> Run:
    """nbdkit + fio as one process tree; figures from fio's JSON, CPU from wait4 on nbdkit."""
    out = work / "fio.json"
    out.unlink(missing_ok=True)
    fio = (f"{FIO} --name=nbd --ioengine=nbd --uri=\"$uri\" --rw=randread "
           f"--bs={blocks * BLOCK_BYTES} --iodepth={qd} --time_based --runtime={seconds} "
           f"--output-format=json --output={out}")
    argv = [NBDKIT, "-U", "-"] + plugin_args + ["--run", fio]
    pid = os.fork()
    if pid == 0:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not out.exists():
        raise RuntimeError(f"{' '.join(argv)} exited {code}")
    job = json.loads(out.read_text())["jobs"][0]
    if job.get("error"):
        raise RuntimeError(f"fio reported error {job['error']}")
    read = job["read"]
    iops = read["iops"]
    mbps = read["bw_bytes"] / (1 << 20)
    ios = max(1, read["total_ios"])
    return Run(int(iops), int(mbps), (usage.ru_utime + usage.ru_stime) * 1e6 / ios)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="runs of each side per point (median)")
    ap.add_argument("--seconds", type=int, default=5, help="seconds of each run")
    ap.add_argument("--plugin", type=Path, default=DEFAULT_PLUGIN)
    ap.add_argument("--ours", type=Path, default=DEFAULT_OURS, help="the lab-iscsi-perf binary")
    ap.add_argument("--json", type=Path, help="also write the runs and medians here")
    args = ap.parse_args()

    why = unavailable_reason()
    if why:
        print(f"nbd_vs_perf: {why}", file=sys.stderr)
        return 2
    for path, hint in ((args.plugin, "build target nbdkit-lab-iscsi-plugin"),
                       (args.ours, "build target lab-iscsi-perf"),
                       (Path(NBDKIT), "apt-get install nbdkit"), (Path(FIO), "apt-get install fio")):
        if not path.exists():
            print(f"nbd_vs_perf: {path} not found ({hint})", file=sys.stderr)
            return 2

    sides = ("nbd (fio+nbdkit)", "direct (lab-iscsi-perf)", "floor (fio+nbdkit null)")
    series = {(p[0], s): Series() for p in POINTS for s in sides}
    load_before = os.getloadavg()
    started = time.time()
    with Tgtd(null_lun=True, file_lun_bytes=0) as tgt, tempfile.TemporaryDirectory() as tmp:
        url = tgt.url(Tgtd.NULL_LUN)
        for rep in range(args.reps):
            for label, blocks, qd in POINTS:
                order = list(sides) if rep % 2 == 0 else list(reversed(sides))
                for side in order:
                    if side.startswith("nbd"):
                        run = run_nbd([str(args.plugin), f"url={url}"], args.seconds, blocks, qd,
                                      Path(tmp))
                    elif side.startswith("floor"):
                        # nbdkit's null plugin: fio and nbdkit's NBD server with no iSCSI at all
                        run = run_nbd(["null", "size=1G"], args.seconds, blocks, qd, Path(tmp))
                    else:
                        argv = [str(args.ours), "-r", "-t", str(args.seconds), "-b", str(blocks),
                                "-m", str(qd), url]
                        run = run_once(argv, args.seconds, blocks)
                    series[(label, side)].runs.append(run)
                    print(f"  rep {rep + 1}/{args.reps} {label:<11} {side:<24} {run.iops:>8} IOPS "
                          f"{run.mbps:>6} MB/s {run.cpu_us_per_io:7.1f} CPU us/IO", flush=True)
    load_after = os.getloadavg()

    print()
    print(f"medians of {args.reps} interleaved runs of {args.seconds} s each, random reads, tgtd "
          f"null LUN on loopback; load average {load_before[0]:.2f} before, {load_after[0]:.2f} "
          f"after ({os.cpu_count()} CPUs, {time.time() - started:.0f} s)")
    rows = print_ratio_table([p[0] for p in POINTS], series, sides, "side", "nbd/direct")
    write_record(args.json, args, load_before, load_after, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
