"""The `iscsilab` command: lab up/down/status/console/exec/fault, guard, run (scenarios), schema.

Each subcommand is a few lines over the Python API (lab.py); errors the user can act on are
printed as one line without a traceback, with exit status 2.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

from . import net, state
from .errors import LabError
from .host import runtime_dir

DEFAULT_NAME = "default"


def cmd_up(args) -> int:
    from .lab import Lab
    from .provision.config import load_config
    config = load_config(args.file) if args.file else None
    lab = Lab(config, name=args.name or (config.name if config else None) or DEFAULT_NAME,
              accel=args.accel, owned=False)
    lab.up()
    print(f"lab {lab.name} is up ({lab.netns}); portals:")
    print_portals(lab.portals())
    if args.timings:
        print_timings(lab.timings)
    return 0


def print_portals(portals) -> None:
    for p in portals:
        print(f"  {p.address}  {p.target}  (tpg {p.tag}, {p.nic})")


def print_timings(timings: dict) -> None:
    print("timings (seconds):")
    for key, value in timings.items():
        print(f"  {value:7.2f}  {key}")


def cmd_status(args) -> int:
    from .lab import Lab
    labs = state.running()
    if args.name:
        labs = [(d, r) for d, r in labs if d.name == args.name]
    if not labs:
        print("no lab is up" + (f" named {args.name}" if args.name else ""))
        return 1
    for run_dir, record in labs:
        lab = Lab.attach(run_dir.name)
        guard = record.get("guard", "none")
        print(f"lab {lab.name}: {record['status']}, netns {lab.netns}, qemu pid {record['qemu_pid']}"
              + (f", split-brain guard: {guard}" if guard != "none" else ""))
        print_portals(lab.portals())
    return 0


def cmd_down(args) -> int:
    names = [args.name] if args.name else [d.name for d, _ in state.running()] if args.all else [DEFAULT_NAME]
    for name in names:
        run_dir = runtime_dir(name)
        if not run_dir.exists():
            print(f"no lab named {name}")
            continue
        state.teardown(run_dir, state.read(run_dir))
        print(f"lab {name} is down")
    state.reap_stale()
    return 0


def cmd_console(args) -> int:
    from .lab import Lab
    lab = Lab.attach(args.name or DEFAULT_NAME)
    if args.follow:
        return subprocess.call(["tail", "-n", "50", "-f", str(lab.console.path)])
    print(lab.console.tail(args.lines))
    for finding in lab.console.findings():
        print(f"\n*** {finding}", file=sys.stderr)
    return 0


def cmd_exec(args) -> int:
    from .lab import Lab
    lab = Lab.attach(args.name or DEFAULT_NAME)
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise LabError("lab exec: give a command after --")
    enter = net.exec_argv(lab.netns, argv)
    os.execvp(enter[0], enter)


def cmd_fault(args) -> int:
    from .lab import Lab
    lab = Lab.attach(args.name or DEFAULT_NAME)
    f = lab.faults
    target = args.target or lab.portals()[0].target
    kind, on = args.kind, args.state != "off"
    if kind == "link":
        (f.link_up if args.state == "up" else f.link_down)(args.nic, via=args.via)
    elif kind == "blackhole":
        f.blackhole(args.nic, on)
    elif kind == "reset":
        f.tcp_reset(args.nic, on)
    elif kind == "netem":
        if on:
            f.netem(args.nic, delay_ms=args.delay_ms, loss_pct=args.loss)
        else:
            f.netem_clear(args.nic)
    elif kind == "rate":
        f.rate_limit(args.nic, args.kbit) if on else f.rate_limit_clear(args.nic)
    elif kind == "freeze":
        f.freeze() if on else f.thaw()
    elif kind == "portal":
        (f.portal_add if args.state in ("on", "up") else f.portal_remove)(target, args.nic)
    elif kind == "tpg":
        (f.tpg_enable if args.state in ("on", "up") else f.tpg_disable)(target)
    elif kind == "corrupt":
        if not on:
            from .faults.faults import stop_all_helpers
            stop_all_helpers(lab.run_dir)
        else:
            proxy = f.corrupt_proxy(args.nic, listen_port=args.listen_port, direction=args.direction,
                                    pdu=args.pdu, byte=args.byte, after_bytes=args.after_bytes,
                                    header_digest=args.header_digest, data_digest=args.data_digest,
                                    data_in_every=args.data_in_every)
            print(f"corrupting proxy on {proxy.address} -> {lab.portal(args.nic)}; "
                  f"report: {proxy.report_path}")
    elif kind == "clear":
        f.clear()
    print(f"fault {kind} {args.state or ''} applied to lab {lab.name}")
    return 0


def cmd_guard_build(args) -> int:
    from .guard import kmod
    src = kmod.find_sources(args.kernel)
    cached = kmod.cached_module(src).exists()
    path = kmod.build_module(src.abi, log=lambda line: print(line, file=sys.stderr))
    print(f"{path}{' (cached)' if cached else ''}")
    return 0


def cmd_guard_nft(args) -> int:
    from .guard import nft
    print(nft.ruleset([(ip, int(port)) for ip, _, port in (p.rpartition(":") for p in args.portal)],
                      args.limit), end="")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="iscsilab", description="A lab of real Linux LIO targets in QEMU.")
    sub = p.add_subparsers(dest="group", required=True)
    lab = sub.add_parser("lab", help="start, inspect and break labs").add_subparsers(dest="cmd", required=True)

    up = lab.add_parser("up", help="start a lab (no file: one target, one LUN)")
    up.add_argument("file", nargs="?")
    up.add_argument("--name")
    up.add_argument("--accel", choices=("tcg", "kvm"), default="tcg",
                    help="kvm only where it works; it hangs on some hosts")
    up.add_argument("--timings", action="store_true", help="print the boot-to-ready breakdown")
    up.set_defaults(func=cmd_up)

    st = lab.add_parser("status", help="labs that are up and their portals")
    st.add_argument("--name")
    st.set_defaults(func=cmd_status)

    down = lab.add_parser("down", help="stop a lab and remove everything it made")
    down.add_argument("--name")
    down.add_argument("--all", action="store_true")
    down.set_defaults(func=cmd_down)

    con = lab.add_parser("console", help="the guest's kernel log")
    con.add_argument("--name")
    con.add_argument("-f", "--follow", action="store_true")
    con.add_argument("-n", "--lines", type=int, default=60)
    con.set_defaults(func=cmd_console)

    ex = lab.add_parser("exec", help="run a command in the lab's namespace: lab exec -- CMD ...")
    ex.add_argument("--name")
    ex.add_argument("argv", nargs=argparse.REMAINDER)
    ex.set_defaults(func=cmd_exec)

    fa = lab.add_parser("fault", help="inject or clear a fault")
    fa.add_argument("kind", choices=("link", "blackhole", "reset", "netem", "rate", "freeze", "portal",
                                     "tpg", "corrupt", "clear"))
    fa.add_argument("state", nargs="?", default="on", choices=("on", "off", "up", "down"))
    fa.add_argument("--name")
    fa.add_argument("--nic", default="nic0")
    fa.add_argument("--via", choices=("qmp", "tap"), default="qmp")
    fa.add_argument("--target")
    fa.add_argument("--delay-ms", type=float, default=100)
    fa.add_argument("--loss", type=float, default=0)
    fa.add_argument("--kbit", type=int, default=64, help="rate: kbit/s towards the target")
    fa.add_argument("--direction", choices=("to_initiator", "to_target"), default="to_initiator",
                    help="corrupt: which way the flipped byte travels")
    fa.add_argument("--pdu", type=int, help="corrupt: header of the n-th PDU after login (0-based)")
    fa.add_argument("--byte", type=int, default=20, help="corrupt: byte within that PDU's header")
    fa.add_argument("--after-bytes", type=int, help="corrupt: stream offset instead of --pdu")
    fa.add_argument("--data-in-every", type=int,
                    help="corrupt: byte --byte of every n-th Data-In PDU instead of --pdu")
    fa.add_argument("--header-digest", action="store_true", help="corrupt: digests were negotiated")
    fa.add_argument("--data-digest", action="store_true")
    fa.add_argument("--listen-port", type=int, default=3270)
    fa.set_defaults(func=cmd_fault)

    guard = sub.add_parser("guard", help="the single-session (split-brain) guard").add_subparsers(
        dest="cmd", required=True)
    gb = guard.add_parser("build", help="build (or find cached) LIO's iscsi_target_mod.ko with "
                                        "the guard patch for the guest's kernel; prints its path")
    gb.add_argument("--kernel", help="kernel ABI (default: the one the lab boots)")
    gb.set_defaults(func=cmd_guard_build)
    gn = guard.add_parser("nft", help="print the nftables fallback's ruleset for some portals")
    gn.add_argument("portal", nargs="+", help="ip:port")
    gn.add_argument("--limit", type=int, default=1, help="connections per portal")
    gn.set_defaults(func=cmd_guard_nft)

    from .scenario.commands import add_parsers   # iscsilab run, iscsilab schema
    add_parsers(sub)
    from .conformance.commands import add_parsers as add_conformance_parsers
    add_conformance_parsers(sub)                  # iscsilab conformance list|run
    from .liofuzz.commands import add_parsers as add_fuzz_parsers
    add_fuzz_parsers(sub)                         # iscsilab fuzz lio|replay
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        sys.exit(args.func(args))
    except LabError as exc:
        print(f"iscsilab: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("iscsilab: interrupted", file=sys.stderr)
        sys.exit(130)
