"""`iscsilab fuzz lio` and `iscsilab fuzz replay`: the LIO network fuzzer from the command line.

    iscsilab fuzz lio --minutes N [--cases N] [--out DIR] [--seed S] [--target lio|tgtd]
    iscsilab fuzz lio --portal HOST:PORT --target-iqn IQN ...      (any target; no console)
    iscsilab fuzz replay FILE [--target lio|tgtd | --portal HOST:PORT --target-iqn IQN]

`--target lio` (the default) boots a lab (a VM: on a shared machine run it under /work/vmrun).
Exit status: fuzz lio 0 when it found nothing new (findings listed in fuzz/lio/known.txt do
not count), 1 with new findings (see DIR/findings/); replay 1
when the reproducer's finding (or any) shows up, 0 when the target stays healthy; 2 for a
usage problem or a reproducer that does not parse.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _portal(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _backend(args):
    from .backends import LabBackend, PortalBackend, TgtdBackend
    if args.portal:
        if not args.target_iqn:
            raise SystemExit("iscsilab fuzz: --portal needs --target-iqn")
        return PortalBackend(*args.portal, args.target_iqn, lun=args.lun)
    return TgtdBackend() if args.target == "tgtd" else LabBackend()


def cmd_lio(args) -> int:
    from .campaign import KNOWN_FILE, Campaign, load_known
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    out = Path(args.out or f"liofuzz-{time.strftime('%Y%m%d-%H%M%S')}")
    if not args.minutes and not args.cases:
        print("iscsilab fuzz lio: give --minutes N or --cases N", file=sys.stderr)
        return 2
    print(f"iscsilab fuzz lio: seed {seed}, findings in {out}/findings", file=sys.stderr)
    try:
        known = {} if args.known == "none" else load_known(args.known or KNOWN_FILE)
    except (ValueError, OSError) as e:
        print(f"iscsilab fuzz lio: {e}", file=sys.stderr)
        return 2
    camp = Campaign(_backend(args), out, seed, probe_every=args.probe_every,
                    minimize_seconds=args.minimize_seconds, hang_bound=args.hang_bound,
                    known=known, jobs=args.jobs)
    stats = camp.run(seconds=args.minutes * 60 if args.minutes else None, cases=args.cases)
    for sig, count in sorted(stats.unique.items()):
        print(f"finding x{count}: {sig}")
    for sig, count in sorted(stats.known.items()):
        print(f"known x{count}: {sig}  ({known[sig]})")
    print(f"{stats.cases} cases, {len(stats.unique)} unique findings, {stats.reboots} reboots; "
          f"kinds {stats.kinds}")
    return 1 if stats.unique else 0


def cmd_replay(args) -> int:
    from . import program as pg
    from .campaign import Campaign
    try:
        prog = pg.load(args.file)
    except (pg.ProgramError, OSError) as e:
        print(f"iscsilab fuzz replay: {e}", file=sys.stderr)
        return 2
    want = next((c.split(":", 1)[1].strip() for c in prog.comments
                 if c.startswith("signature:")), None)
    out = Path(args.out or f"liofuzz-replay-{time.strftime('%Y%m%d-%H%M%S')}")
    camp = Campaign(_backend(args), out, seed=0)
    backend = camp.backend
    backend.start()
    try:
        camp._bind()
        found, outcome = camp.judge(prog, probe=True)
        if args.wait and not any(f.kind == "kernel" for f in found):
            found = camp.late_kernel(want, args.wait) + found
        print(f"replayed {len(prog.steps)} steps in {outcome.seconds:.1f} s: "
              f"{outcome.received} PDUs received, {outcome.closed_by_target} connections "
              f"closed by the target, {outcome.full_feature} logins to full feature")
        for f in found:
            print(f"finding: {f.signature}\n{f.detail}")
        if want:
            print(f"expected {want}: {'REPRODUCED' if any(f.signature == want for f in found) else 'not reproduced'}")
        return 1 if found else 0
    finally:
        backend.close()


def cmd_cases(args) -> int:
    """Cases FROM..TO of a seed as one program (a run's history, rebuilt offline). Kind
    'bytes' draws from the good sessions a run recorded: give its corpus/ for the same cases."""
    import random
    import re
    from . import program as pg
    from .generator import Settings, generate
    corpus_files = []
    if args.corpus:
        corpus_files = sorted(Path(args.corpus).glob("session-*.repro"),
                              key=lambda p: int(re.findall(r"\d+", p.name)[0]))
    settings = Settings(args.target_iqn, lun=args.lun)
    steps = []
    for n in range(args.first, args.last + 1):
        corpus = [pg.load(p) for p in corpus_files
                  if int(re.findall(r"\d+", p.name)[0]) < n][:64]
        prog, kind = generate(random.Random(f"{args.seed}:{n}"), settings, corpus)
        steps += prog.steps
    comments = [f"cases {args.first}..{args.last} of seed {args.seed} (iscsilab fuzz cases)"]
    text = pg.dumps(pg.Program(steps, comments))
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def add_parsers(sub) -> None:
    fz = sub.add_parser("fuzz", help="network fuzzing of a target (LIO in the lab)"
                        ).add_subparsers(dest="cmd", required=True)

    def target_args(p):
        p.add_argument("--target", choices=("lio", "tgtd"), default="lio",
                       help="lio: boot a lab (default); tgtd: Debian's tgtd on loopback")
        p.add_argument("--portal", type=_portal, metavar="HOST:PORT", help="any target")
        p.add_argument("--target-iqn", metavar="IQN")
        p.add_argument("--lun", type=int, default=0)
        p.add_argument("--out", metavar="DIR", help="findings/, corpus/, findings.json")

    lio = fz.add_parser("lio", help="state-aware fuzzing of LIO over TCP")
    target_args(lio)
    lio.add_argument("--minutes", type=float, default=0.0)
    lio.add_argument("--cases", type=int, help="stop after N cases (smoke runs)")
    lio.add_argument("--seed", type=int, help="case n uses Random('SEED:n') (default: random)")
    lio.add_argument("--jobs", type=int, default=1,
                     help="cases run at the same time, each on its own connections "
                          "(a batch); findings not tied to a connection are traced back to "
                          "one case by replaying the batch's cases one by one")
    lio.add_argument("--probe-every", type=int, default=1,
                     help="a fresh-session login+write+read health probe every N batches")
    lio.add_argument("--hang-bound", type=float, default=20.0,
                     help="seconds a fresh login may take before the target counts as hung")
    lio.add_argument("--minimize-seconds", type=float, default=180.0,
                     help="time budget to minimize one new finding")
    lio.add_argument("--known", metavar="FILE",
                     help="signatures already reported (default fuzz/lio/known.txt; 'none'): "
                          "counted, not saved, minimized or failed on")
    lio.set_defaults(func=cmd_lio)

    cs = fz.add_parser("cases", help="regenerate cases FROM..TO of a seed as one reproducer")
    cs.add_argument("--seed", type=int, required=True)
    cs.add_argument("first", type=int)
    cs.add_argument("last", type=int)
    cs.add_argument("--target-iqn", default="iqn.2026-11.org.example:t0",
                    help="the lab's default target (the IQN the run logged in to)")
    cs.add_argument("--lun", type=int, default=0)
    cs.add_argument("--corpus", metavar="DIR", help="the run's corpus/ (for kind 'bytes')")
    cs.add_argument("--out", metavar="FILE")
    cs.set_defaults(func=cmd_cases)

    rp = fz.add_parser("replay", help="replay a reproducer against a fresh target")
    rp.add_argument("file")
    rp.add_argument("--wait", type=float, default=20.0,
                    help="seconds to watch the console for a late kernel report (default 20)")
    target_args(rp)
    rp.set_defaults(func=cmd_replay)
