"""The `iscsilab run` and `iscsilab schema` subcommands (registered by iscsilab/cli.py)."""
from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from ..errors import LabError


def add_parsers(sub) -> None:
    run = sub.add_parser(
        "run", help="play scenario files against real LIO and report",
        description="Runs scenario files against real LIO in QEMU. No path: the default set "
                    "(scenarios tagged `default` under scenarios/). Exit status: 0 all passed, "
                    "1 a scenario failed, 2 a file is invalid or the lab cannot run.")
    run.add_argument("paths", nargs="*", help="scenario files or directories")
    run.add_argument("--all", action="store_true", help="every scenario under scenarios/, not only the default set")
    run.add_argument("--list", action="store_true", help="list the cells that would run")
    run.add_argument("--validate", action="store_true", help="check the files, run nothing")
    run.add_argument("-k", dest="keyword", help="select by name or tag: words, and, or, not")
    run.add_argument("--repeat", type=int, default=1, help="run every cell N times (flakes are reported)")
    run.add_argument("--shard", help="K/N: run the K-th of N shares of the cells (for CI machines)")
    run.add_argument("--out", help="reports directory (default build/reports/scenarios)")
    run.add_argument("--keep-lab", action="store_true", help="leave the last lab up (debugging)")
    run.add_argument("--accel", choices=("tcg", "kvm"), default="tcg")
    run.add_argument("--initiator", metavar="KINDS",
                     help="initiator kinds, comma-separated (iscsi-lab,linux): each scenario runs "
                          "once per kind it is written for, and the kinds' figures are printed "
                          "side by side")
    run.set_defaults(func=cmd_run)

    sch = sub.add_parser("schema", help="the scenario file schema (JSON) or its reference page")
    sch.add_argument("--markdown", action="store_true", help="the reference page instead")
    sch.set_defaults(func=cmd_schema)


def parse_shard(text: str | None):
    if not text:
        return None
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise LabError(f"--shard {text!r}: expected K/N, like 2/4") from None
    if not 1 <= k <= n:
        raise LabError(f"--shard {text!r}: K must be between 1 and N")
    return k, n


def parse_kinds(text: str | None) -> list[str] | None:
    if text is None:
        return None
    from .schema import INITIATOR_KINDS
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in INITIATOR_KINDS]
    if bad or not kinds or len(set(kinds)) != len(kinds):
        raise LabError(f"--initiator {text!r}: expected kinds from {', '.join(INITIATOR_KINDS)}, "
                       "comma-separated, each once")
    return kinds


def cmd_run(args) -> int:
    from . import runner
    files = runner.find_files(args.paths)
    kinds = parse_kinds(args.initiator)
    cells, errors = runner.load_all(files, kinds)
    for e in errors:
        print(f"iscsilab: {e}", file=sys.stderr)
    if errors:
        return 2
    default_set = not args.paths and not args.all
    chosen = runner.select(cells, args.keyword, default_set, parse_shard(args.shard))
    if args.validate:
        print(f"{len(files)} files, {len(cells)} cells: valid")
        return 0
    if args.list:
        for c in chosen:
            print(f"{c.id:60} {' '.join(c.tags):30} {c.source}")
        print(f"{len(chosen)} of {len(cells)} cells")
        return 0
    if not chosen:
        print("iscsilab run: no scenario matches", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else runner.DEFAULT_OUT
    # SIGTERM (a CI job cancelled, `kill`) ends the run like Ctrl-C: labs, initiators and their
    # namespaces are taken down before the process goes. SIGINT is set too: a shell starts
    # background jobs with it ignored, and a run must still stop cleanly when asked.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    if kinds:
        for source in sorted({c.source for c in chosen}):
            have = {c.params.get("initiator") for c in cells if c.source == source}
            missing = [k for k in kinds if k not in have]
            if missing:
                print(f"iscsilab run: {source} is not written for {', '.join(missing)} "
                      "(its `kinds:`): not run with it", file=sys.stderr)
    runs = runner.run(chosen, out, repeat=args.repeat, accel=args.accel, keep_lab=args.keep_lab)
    if kinds and len(kinds) > 1:
        from .compare import render
        from .record import write_text
        table = render([r.record for r in runs])
        if table:
            print("\n" + table)
            write_text(out / "side-by-side.txt", table)
            from .plots import kinds as plot_kinds
            figure = plot_kinds([r.record for r in runs], out / "side-by-side.png")
            if figure:
                print(f"side by side: {out / 'side-by-side.txt'}, {figure}")
    return 0 if runs and all(r.record["outcome"] == "passed" for r in runs) else 1


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def cmd_schema(args) -> int:
    from .reference import markdown
    from .schema import full_schema
    if args.markdown:
        print(markdown(), end="")
    else:
        print(json.dumps(full_schema(), indent=1))
    return 0
