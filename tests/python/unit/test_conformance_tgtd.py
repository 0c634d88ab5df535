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


def test_the_auth_tests_pass_against_tgtd_with_chap_accounts_and_never_print_a_secret(capsys):
    """`--chap`/`--chap-target` against tgtd with an incoming and an outgoing account bound to
    its target: the AUTH tests (mutual CHAP included) run and pass."""
    from iscsilab.cli import parser
    with tgtd() as t:
        t.tgtadm("--mode", "account", "--op", "new", "--user", "conf-user", "--password",
                 "conf-secret-123")
        t.tgtadm("--mode", "account", "--op", "bind", "--tid", str(t.tid), "--user", "conf-user")
        t.tgtadm("--mode", "account", "--op", "new", "--user", "conf-target", "--password",
                 "target-secret-456")
        t.tgtadm("--mode", "account", "--op", "bind", "--tid", str(t.tid), "--user",
                 "conf-target", "--outgoing")
        args = parser().parse_args([
            "conformance", "run", "--portal", f"{t.host}:{t.port}", "--target-iqn", t.iqn,
            "--lun", str(Tgtd.FILE_LUN), "--name", "tgtd-chap", "-k", "AUTH- or LOGIN-001", "-v",
            "--chap", "conf-user:conf-secret-123", "--chap-target",
            "conf-target:target-secret-456"])
        assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "tgtd-chap: 6 tests, 6 passed" in out, out
    assert "conf-secret-123" not in out and "target-secret-456" not in out
