"""The target conformance suite against Debian's tgtd on loopback, judged by
iscsilab/conformance/expected/tgtd.txt: what `iscsilab conformance run --target tgtd` does, so
that CI runs it with the Python tests. JUnit XML goes to $ISCSILAB_JUNIT_DIR when set (CI
collects it), else to pytest's tmp dir."""
import os
from pathlib import Path

from _core_testlib import tgtd
from iscsilab.conformance import commands, registry, runner
from iscsilab.conformance.driver import Target
from iscsilab.peers.tgtd import Tgtd


def test_the_suite_has_no_unexpected_result_against_tgtd(tmp_path):
    with tgtd() as t:
        target = Target(t.host, t.port, t.iqn, lun=Tgtd.FILE_LUN)
        factory = runner.ContextFactory(target, control=commands.TgtdControl(t))
        expected = runner.load_expected("tgtd")
        results = [runner.run_case(c, factory, expected) for c in registry.all_cases()]
    out_dir = Path(os.environ.get("ISCSILAB_JUNIT_DIR", tmp_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    junit = runner.junit_xml(results, "conformance.tgtd", sum(r.seconds for r in results))
    (out_dir / "conformance-tgtd.xml").write_text(junit)
    bad = [f"{r.case.id} {r.outcome}: {r.message}" for r in results
           if r.outcome in ("failed", "error", "xpassed")]
    assert not bad, "\n".join(bad)
    assert sum(r.outcome == "passed" for r in results) >= 50
