"""Runs libiscsi's target conformance suite (`iscsi-test-cu`) against a lab LUN and judges it
against a per-backstore list of expected failures, writing JUnit XML.

    ./conformance/libiscsi/run --backstore ramdisk            # boots its own lab, iSCSI.* suites
    ./conformance/libiscsi/run --lab default --target iqn... --lun 0 --backstore block --tests ALL

iscsi-test-cu writes CUnit's own XML (CUnitAutomated-Results.xml) into its working directory;
this module converts it. Exit status: 0 when every failure is expected, 1 otherwise. A test on
the list that passes is reported as "now passes: remove it from the list", not as a failure.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "target-lab"))

from iscsilab.errors import LabError  # noqa: E402

EXPECTED_DIR = HERE / "expected"
CI_TESTS = "iSCSI"


@dataclass
class Result:
    name: str                          # FAMILY.Suite.Test, as --list prints it
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class Verdict:
    unexpected_failures: list[Result]
    expected_failures: list[Result]
    now_passing: list[str]
    results: list[Result]
    hanging: list[str] = field(default_factory=list)   # listed as HANGS: not run

    @property
    def ok(self) -> bool:
        return not self.unexpected_failures


def parse_cunit(xml_text: str, family: str) -> list[Result]:
    """Results from CUnit's CUnitAutomated-Results.xml (one record per failed assertion).
    CUnit names suites without their family: `family` is the one that ran (ALL is libiscsi's
    family holding every test once; SCSI, iSCSI and LINUX hold subsets of the same tests)."""
    root = ET.fromstring(xml_text)
    results: dict[str, Result] = {}
    for suite in root.iter("CUNIT_RUN_SUITE"):
        suite_name = suite.findtext(".//SUITE_NAME", "").strip()
        for record in suite.iter("CUNIT_RUN_TEST_RECORD"):
            for outcome in record:
                name = f"{family}.{suite_name}.{outcome.findtext('TEST_NAME', '').strip()}"
                result = results.setdefault(name, Result(name))
                if outcome.tag == "CUNIT_RUN_TEST_FAILURE":
                    result.failures.append(
                        f"{outcome.findtext('FILE_NAME', '').strip()}:{outcome.findtext('LINE_NUMBER', '').strip()}: "
                        f"{outcome.findtext('CONDITION', '').strip()}")
    return list(results.values())


def suite_test(name: str) -> str:
    """`Suite.Test` of `Family.Suite.Test`: the same test runs under ALL and under its family."""
    return name.split(".", 1)[1]


def load_expected(backstore: str) -> dict[str, str]:
    """name -> reason, from expected/<backstore>.txt (`Family.Suite.Test  # reason`)."""
    path = EXPECTED_DIR / f"{backstore}.txt"
    expected = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, reason = line.partition("#")
            if name.strip():
                expected[name.strip()] = reason.strip()
    return expected


def judge(results: list[Result], expected: dict[str, str]) -> Verdict:
    listed = {suite_test(n) for n in expected}
    failed = [r for r in results if not r.passed]
    ran = {suite_test(r.name) for r in results}
    failed_names = {suite_test(r.name) for r in failed}
    return Verdict(
        unexpected_failures=[r for r in failed if suite_test(r.name) not in listed],
        expected_failures=[r for r in failed if suite_test(r.name) in listed],
        now_passing=sorted(n for n in expected if suite_test(n) in ran and suite_test(n) not in failed_names),
        results=results)


def junit_xml(verdict: Verdict, suite: str, seconds: float, expected: dict[str, str]) -> str:
    ts = ET.Element("testsuite", name=suite, tests=str(len(verdict.results) + len(verdict.hanging)),
                    failures=str(len(verdict.unexpected_failures)),
                    skipped=str(len(verdict.expected_failures) + len(verdict.hanging)),
                    time=f"{seconds:.1f}")
    for name in verdict.hanging:
        family_suite, _, test = name.rpartition(".")
        reason = next((why for n, why in expected.items() if suite_test(n) == suite_test(name)), "")
        ET.SubElement(ET.SubElement(ts, "testcase", classname=family_suite, name=test), "skipped",
                      message=f"not run: {reason}")
    for r in verdict.results:
        family_suite, _, test = r.name.rpartition(".")
        case = ET.SubElement(ts, "testcase", classname=family_suite, name=test)
        reason = next((why for n, why in expected.items() if suite_test(n) == suite_test(r.name)), None)
        if r.failures and reason is not None:
            ET.SubElement(case, "skipped", message=f"expected failure: {reason}").text = \
                "\n".join(r.failures)
        elif r.failures:
            ET.SubElement(case, "failure", message=r.failures[0]).text = "\n".join(r.failures)
    return ET.tostring(ts, encoding="unicode")


def listing(selection: str) -> list[str]:
    """Every test `iscsi-test-cu --list` has under `selection` (FAMILY[.SUITE[.TEST]])."""
    out = subprocess.run(["iscsi-test-cu", "--list"], capture_output=True, text=True).stdout.split()
    return [n for n in out if n.count(".") == 2 and (n == selection or n.startswith(selection + "."))]


def invocations(selection: str, hanging: set[str]) -> list[str]:
    """--test arguments that run `selection` minus known hangs: CUnit selects one family,
    suite or test per run, so a suite holding a hanging test runs test by test."""
    names = listing(selection)
    if not any(suite_test(n) in hanging for n in names):
        return [selection]
    runs: list[str] = []
    for name in names:
        family_suite = name.rsplit(".", 1)[0]
        suite_has_hang = any(suite_test(n) in hanging for n in names if n.startswith(family_suite + "."))
        if suite_test(name) in hanging:
            continue
        if not suite_has_hang:
            if family_suite not in runs:
                runs.append(family_suite)
        else:
            runs.append(name)
    return runs


def run(lab, portal: str, target: str, lun: int, backstore: str, tests: str = CI_TESTS,
        junit: Path | None = None, timeout: float = 600, initiator: str | None = None,
        env: dict[str, str] | None = None) -> Verdict:
    """Runs the suite from the lab's namespace and judges it; `lab` has exec().
    `initiator` and `env` (e.g. peers.libiscsi.Creds(...).env() for CHAP) reach iscsi-test-cu.

    Tests listed with a reason starting with HANGS are not run (a hang stalls CUnit's whole
    run); an invocation that still times out counts its tests as failed, and the run goes on."""
    expected = load_expected(backstore)
    hanging = {suite_test(n) for n, why in expected.items() if why.upper().startswith("HANGS")}
    results: list[Result] = []
    started = time.monotonic()
    for selection in invocations(tests, hanging):
        results += _run_one(lab, portal, target, lun, selection, timeout, initiator, env)
    seconds = time.monotonic() - started
    verdict = judge(results, expected)
    verdict.hanging = sorted(n for n in listing(tests) if suite_test(n) in hanging)
    if junit:
        tmp = Path(str(junit) + ".tmp")
        tmp.write_text(junit_xml(verdict, f"libiscsi.{backstore}", seconds, expected))
        os.replace(tmp, junit)
    return verdict


def _run_one(lab, portal: str, target: str, lun: int, selection: str, timeout: float,
             initiator: str | None, env: dict[str, str] | None) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="iscsi-test-cu-") as work:
        name = ["--initiator-name", initiator] if initiator else []
        argv = ["sh", "-c", 'cd "$0" && shift && exec iscsi-test-cu --dataloss --xml "$@"', work, "-",
                *name, "--test", selection, f"iscsi://{portal}/{target}/{lun}"]
        try:
            proc = lab.exec(argv, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return [Result(n, [f"timed out after {timeout:.0f} s (a hang: list it as HANGS)"])
                    for n in listing(selection)]
        results_file = Path(work, "CUnitAutomated-Results.xml")
        if not results_file.exists():
            raise LabError(f"iscsi-test-cu wrote no results (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout)[-500:]}")
        return parse_cunit(results_file.read_text(errors="replace"), selection.split(".")[0])


def report(verdict: Verdict) -> str:
    lines = [f"{len(verdict.results)} tests: {sum(r.passed for r in verdict.results)} passed, "
             f"{len(verdict.expected_failures)} expected failures, "
             f"{len(verdict.unexpected_failures)} unexpected failures"]
    lines += [f"  UNEXPECTED FAILURE {r.name}: {r.failures[0]}" for r in verdict.unexpected_failures]
    lines += [f"  now passes (remove it from the list): {n}" for n in verdict.now_passing]
    if verdict.hanging:
        lines.append(f"  not run, known to hang: {', '.join(verdict.hanging)}")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backstore", default="ramdisk", choices=("ramdisk", "fileio", "block", "pscsi"))
    p.add_argument("--tests", default=CI_TESTS, help="FAMILY[.SUITE[.TEST]] or ALL (default: iSCSI)")
    p.add_argument("--lab", help="use this running lab instead of booting one")
    p.add_argument("--target", default="iqn.2026-11.org.example:t0")
    p.add_argument("--lun", type=int, default=0)
    p.add_argument("--nic", default="nic0")
    p.add_argument("--junit", type=Path, default=Path("libiscsi-junit.xml"))
    args = p.parse_args()
    from iscsilab.lab import Lab
    from iscsilab.provision.config import Backstore, default_config
    try:
        if args.lab:
            lab = Lab.attach(args.lab)
            verdict = run(lab, lab.portal(args.nic, args.target), args.target, args.lun,
                          args.backstore, args.tests, args.junit)
        else:
            config = default_config()
            config.targets[0].tpgs[0].luns[0].backstore = Backstore(args.backstore, "cu-lun0", 64 << 20)
            with Lab(config) as lab:
                verdict = run(lab, lab.portal(args.nic), config.targets[0].name, 0,
                              args.backstore, args.tests, args.junit)
    except LabError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    print(report(verdict))
    print(f"JUnit XML: {args.junit}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
