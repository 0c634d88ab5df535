"""`iscsilab conformance list` and `iscsilab conformance run`: the RFC 7143 target conformance
suite from the command line.

    iscsilab conformance list [-k EXPR]
    iscsilab conformance run --target tgtd [--out DIR] [-k EXPR]
    iscsilab conformance run --portal HOST:PORT --target-iqn IQN [--lun N] [--provides nop-in]
                             [--chap USER:SECRET [--chap-target USER:SECRET]] [--show]
    iscsilab conformance run --target lio,tgtd [--out DIR] [-k EXPR]

`--target lio,tgtd` runs the suite against both (one after the other), then prints the tests
whose results differ and, for each, which side follows the RFC as the test's requirement reads.

`--target tgtd` starts Debian's tgtd on loopback (iscsilab.peers.tgtd, needs root and the tgt
package) and tests its file-backed LUN; `--target lio` boots a lab (default configuration) and
runs the suite inside its namespace; `--portal` tests any target a vendor points it at. The
exit status is 0 when nothing failed unexpectedly, 1 otherwise, 2 for a usage problem.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .driver import Target
from .registry import all_cases, matcher
from .runner import (ContextFactory, junit_xml, load_expected, ok, run_case, summary)

SYMBOLS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP",
           "xfailed": "XFAIL", "xpassed": "XPASS"}


class TgtdControl:
    """What a test may change on a tgtd the run started (its iSCSI parameters)."""

    def __init__(self, tgtd):
        self.tgtd = tgtd

    def enable_nop_in(self, interval: int) -> None:
        self.tgtd.set_param("nop_count", 3)
        self.tgtd.set_param("nop_interval", interval)

    def disable_nop_in(self) -> None:
        self.tgtd.set_param("nop_interval", 0)

    def set_param(self, name: str, value: str) -> None:
        """An iSCSI key's value on the target side (for logins after the call)."""
        self.tgtd.set_param(name, value)


def warm_up(target: Target, timeout: float = 60.0, chap=None) -> None:
    """One login before the tests, with a long timeout: a target that has just been configured
    (a lab under TCG) may take many seconds over its first login, which is no test's business."""
    from .chap import chap_login
    from .driver import Connection, Session
    try:
        sess = Session(Connection(target, timeout=timeout))
        if chap is not None:
            chap_login(sess, chap)
        else:
            sess.login()
        sess.conn.close()
    except Exception as e:  # noqa: BLE001 - the tests report what is wrong in detail
        print(f"warm-up login failed: {str(e).splitlines()[0]}", file=sys.stderr)


def cmd_list(args) -> int:
    try:
        pick = matcher(args.k)
    except ValueError as e:
        print(f"iscsilab conformance: {e}", file=sys.stderr)
        return 2
    cases = [c for c in all_cases() if pick(c)]
    for c in cases:
        print(c.line())
    print(f"{len(cases)} tests", file=sys.stderr)
    return 0


def _portal(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def cmd_run(args) -> int:
    try:
        pick = matcher(args.k)
    except ValueError as e:
        print(f"iscsilab conformance: {e}", file=sys.stderr)
        return 2
    cases = [c for c in all_cases() if pick(c)]
    if not cases:
        print("iscsilab conformance: no test matches", file=sys.stderr)
        return 2
    if bool(args.target) == bool(args.portal):
        print("iscsilab conformance: give --target tgtd|lio[,...] or --portal HOST:PORT "
              "--target-iqn IQN", file=sys.stderr)
        return 2
    targets = [t.strip() for t in (args.target or "").split(",") if t.strip()]
    if any(t not in ("tgtd", "lio") for t in targets) or len(set(targets)) != len(targets):
        print(f"iscsilab conformance: --target takes tgtd, lio or both (lio,tgtd), not "
              f"{args.target!r}", file=sys.stderr)
        return 2
    if len(targets) > 1:
        return run_several(args, targets)
    if (args.chap or args.chap_target) and not args.portal:
        print("iscsilab conformance: --chap is for --portal runs (the lab's and tgtd's targets "
              "need no authentication)", file=sys.stderr)
        return 2
    if args.chap_target and not args.chap:
        print("iscsilab conformance: --chap-target needs --chap", file=sys.stderr)
        return 2
    started = None
    provides = set(args.provides or ())
    control = None
    try:
        if args.target == "tgtd":
            from ..peers.tgtd import Tgtd, TgtdError
            try:
                started = Tgtd()
            except TgtdError as e:
                print(f"iscsilab conformance: tgtd: {e}", file=sys.stderr)
                return 2
            target = Target(started.host, started.port, started.iqn, lun=Tgtd.FILE_LUN)
            control = TgtdControl(started)
            name = "tgtd"
        elif args.target == "lio":
            return run_against_lab(args)
        else:
            if not args.target_iqn:
                print("iscsilab conformance: --portal needs --target-iqn", file=sys.stderr)
                return 2
            host, port = args.portal
            facts = {"nop_in_interval": args.nop_in_interval}
            if args.chap:
                from .chap import Credentials
                try:
                    facts["chap"] = Credentials.parse(args.chap, args.chap_target)
                except ValueError as e:
                    print(f"iscsilab conformance: {e}", file=sys.stderr)
                    return 2
                provides.add("chap")
                print(f"CHAP: {facts['chap'].shown(reveal=args.show)}")
            target = Target(host, port, args.target_iqn, lun=args.lun, facts=facts)
            name = args.name or "portal"
        expected = load_expected(args.expected or name)
        factory = ContextFactory(target, provides, control=control, timeout=args.timeout)
        warm_up(target, chap=target.facts.get("chap"))
        results = []
        t0 = time.monotonic()
        for c in cases:
            r = run_case(c, factory, expected)
            results.append(r)
            print(f"{SYMBOLS[r.outcome]:<5} {c.id:<10} {c.section:<9} {c.requirement}"
                  + (f"\n      {r.message}" if r.message and r.outcome != "passed" else ""),
                  flush=True)
            if args.verbose and r.detail and r.outcome in ("failed", "error"):
                print(r.detail, flush=True)
        seconds = time.monotonic() - t0
        print(f"{name}: {len(results)} tests, {summary(results)} in {seconds:.1f} s")
        if args.results:
            write_results(Path(args.results), results)
        if args.out:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"conformance-{name}.xml").write_text(junit_xml(
                results, f"conformance.{name}", seconds))
            with open(out / f"conformance-{name}.log", "w") as f:
                for r in results:
                    f.write(f"{SYMBOLS[r.outcome]} {r.case.id} {r.case.section} "
                            f"{r.case.requirement}\n")
                    if r.message:
                        f.write(f"  {r.message}\n")
                    if r.detail and r.outcome in ("failed", "error", "xfailed"):
                        f.write(r.detail.rstrip() + "\n")
            print(f"JUnit: {out / f'conformance-{name}.xml'}")
        return 0 if ok(results) else 1
    finally:
        if started is not None:
            started.close()


def run_against_lab(args) -> int:
    """--target lio: boots a lab with the default configuration (one target, one 64 MiB block
    LUN 0), then runs this command with --portal inside the lab's network namespace, where the
    portal is reachable, and stops the lab. Boots a VM: on a shared machine, under /work/vmrun."""
    import subprocess

    from .. import net
    from ..lab import Lab
    from ..provision.config import default_config
    config = default_config()
    # LIO negotiates ErrorRecoveryLevel from the node ACL's default_erl (a demo-mode ACL copies
    # the TPG attribute; iscsi_target_login.c overrides the TPG's ErrorRecoveryLevel parameter
    # with it at every login), 0 unless told otherwise. At 2 a session offering 1 gets 1 and
    # the ERL/SNACK tests run; every other test offers 0 and gets 0.
    config.targets[0].tpgs[0].attributes["default_erl"] = "2"
    # InitialR2T is OR: with the TPG at No a session offering No gets No (FFP-032, FFP-048 run)
    # and one offering Yes, every other test, still gets Yes.
    config.targets[0].tpgs[0].parameters["InitialR2T"] = "No"
    lab = Lab(config, owned=True)
    try:
        lab.up()
        portal = lab.portals()[0]
        argv = [sys.executable, "-m", "iscsilab", "conformance", "run", "--portal",
                portal.address, "--target-iqn", portal.target, "--lun", "0", "--name", "lio",
                "--timeout", str(args.timeout)]
        for flag, value in (("--out", args.out), ("-k", args.k), ("--expected", args.expected),
                            ("--results", args.results)):
            if value:
                argv += [flag, str(Path(value).resolve()) if flag in ("--out", "--results")
                         else value]
        if args.verbose:
            argv.append("-v")
        return subprocess.run(net.exec_argv(lab.netns, argv), check=False).returncode
    finally:
        lab.down()


def add_parsers(sub) -> None:
    conf = sub.add_parser("conformance", help="RFC 7143 target conformance tests").add_subparsers(
        dest="cmd", required=True)
    ls = conf.add_parser("list", help="one test a line: ID, RFC section, level, requirement")
    ls.add_argument("-k", metavar="EXPR", help="select tests: words of ID/section/requirement "
                                               "with and/or/not")
    ls.set_defaults(func=cmd_list)

    run = conf.add_parser("run", help="run the tests against a target")
    run.add_argument("--target", metavar="tgtd|lio|lio,tgtd",
                     help="tgtd: Debian's tgtd started on loopback; lio: the lab; lio,tgtd: both, "
                          "then a table of the tests whose results differ")
    run.add_argument("--portal", type=_portal, metavar="HOST:PORT", help="any target")
    run.add_argument("--target-iqn", metavar="IQN")
    run.add_argument("--lun", type=int, default=0, help="LUN for the data tests (default 0)")
    run.add_argument("--name", help="name of a --portal run (JUnit suite, expected list)")
    run.add_argument("--expected", metavar="FILE",
                     help="expected-failure list (default: the one named after the target)")
    run.add_argument("--provides", action="append", choices=("nop-in",),
                     help="what the target does that some tests need (nop-in: it sends "
                          "NOP-Ins by itself)")
    run.add_argument("--nop-in-interval", type=float, default=5.0,
                     help="with --provides nop-in: the target's NOP-In interval in seconds")
    run.add_argument("--chap", metavar="USER:SECRET",
                     help="with --portal: log in with CHAP (and run the AUTH tests)")
    run.add_argument("--chap-target", metavar="USER:SECRET",
                     help="with --chap: mutual CHAP, the name and secret the target answers with")
    run.add_argument("--show", action="store_true",
                     help="print the CHAP secrets (they are shown as <secret> otherwise)")
    run.add_argument("--results", metavar="FILE", help=argparse.SUPPRESS)
    run.add_argument("--timeout", type=float, default=10.0,
                     help="seconds to wait for an answer that is due")
    run.add_argument("--out", metavar="DIR", help="write conformance-<name>.xml (JUnit) and .log")
    run.add_argument("-k", metavar="EXPR", help="select tests (as for list)")
    run.add_argument("-v", "--verbose", action="store_true", help="print transcripts of failures")
    run.set_defaults(func=cmd_run)


# ---- --target lio,tgtd: both runs, then where they differ

def write_results(path: Path, results) -> None:
    """One `ID outcome` a line: what run_several compares."""
    path.write_text("".join(f"{r.case.id} {r.outcome}\n" for r in results))


def read_results(path: Path) -> dict[str, str]:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            test_id, _, outcome = line.partition(" ")
            out[test_id] = outcome
    return out


# What an outcome says of the target, as the test's requirement reads: it follows the RFC
# (passed), it does not (failed, or an expected failure), or the run says nothing (skipped, an
# error in the test).
FOLLOWS = {"passed": True, "xpassed": True, "failed": False, "xfailed": False}


def diff_table(cases, outcomes: dict[str, dict[str, str]]) -> list[str]:
    """Rows of the tests whose outcomes differ between the runs, with who follows the RFC."""
    names = list(outcomes)
    rows = []
    for c in cases:
        got = {n: outcomes[n].get(c.id, "not run") for n in names}
        if len(set(got.values())) == 1:
            continue
        verdicts = {n: FOLLOWS.get(o) for n, o in got.items()}
        following = [n for n, v in verdicts.items() if v]
        if any(v is None for v in verdicts.values()):
            who = "not comparable (" + ", ".join(f"{n} {o}" for n, o in got.items()
                                                  if verdicts[n] is None) + ")"
        elif following and len(following) < len(names):
            who = ", ".join(following)
        else:
            who = "both" if following else "neither"
        rows.append((c.id, c.section, *[got[n] for n in names], who, c.requirement))
    if not rows:
        return ["no test differs"]
    head = ("ID", "Section", *names, "follows the RFC", "requirement")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head) - 1)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    return [fmt.format(*head)] + [fmt.format(*r) for r in rows]


def run_several(args, targets: list[str]) -> int:
    """Runs this command once per target (each in its own process, as a single run would be),
    keeping each run's outcomes, then prints the tests whose outcomes differ."""
    import subprocess
    import tempfile
    tmp = Path(tempfile.mkdtemp(prefix="conformance-"))
    codes, outcomes = [], {}
    for t in targets:
        res = tmp / f"{t}.results"
        argv = [sys.executable, "-m", "iscsilab", "conformance", "run", "--target", t,
                "--results", str(res), "--timeout", str(args.timeout)]
        for flag, value in (("--out", args.out), ("-k", args.k)):
            if value:
                argv += [flag, str(Path(value).resolve()) if flag == "--out" else value]
        if args.verbose:
            argv.append("-v")
        print(f"==== {t}", flush=True)
        codes.append(subprocess.run(argv, check=False).returncode)
        outcomes[t] = read_results(res)
    pick = matcher(args.k)
    table = diff_table([c for c in all_cases() if pick(c)], outcomes)
    print(f"==== where {' and '.join(targets)} differ "
          f"({len(table) - 1 if len(table) > 1 else 0} tests)")
    for line in table:
        print(line)
    if args.out:
        (Path(args.out) / "conformance-diff.txt").write_text("\n".join(table) + "\n")
    return 2 if 2 in codes else max(codes)
