"""libiscsi's target conformance suite (iscsi-test-cu, iSCSI.* suites) against lab LUNs, judged
by conformance/libiscsi/expected/<backstore>.txt. JUnit XML goes to $ISCSILAB_JUNIT_DIR when
set (CI collects it), else to pytest's tmp dir. The whole suite: conformance/libiscsi/run --tests ALL.
"""
import importlib.util
import os
import sys
from pathlib import Path

import pytest

from conftest import T0

RUNNER = Path(__file__).resolve().parents[3] / "conformance" / "libiscsi" / "cu_runner.py"


def load_runner():
    spec = importlib.util.spec_from_file_location("cu_runner", RUNNER)
    module = importlib.util.module_from_spec(spec)
    sys.modules["cu_runner"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# On t0 (demo mode, no CHAP): against t2's pscsi LUN behind mutual CHAP, iscsi-test-cu fails
# to log in again after the CmdSN tests drop the connection ("Can not reconnect right now").
@pytest.mark.parametrize("lun, backstore", [(2, "ramdisk"), (0, "block"), (3, "pscsi")])
def test_iscsi_suites_have_no_unexpected_failures(lab, tmp_path, lun, backstore):
    runner = load_runner()
    out_dir = Path(os.environ.get("ISCSILAB_JUNIT_DIR", tmp_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    junit = out_dir / f"libiscsi-{backstore}.xml"
    verdict = runner.run(lab, lab.portal("nic0", T0), T0, lun, backstore, "iSCSI", junit)
    assert len(verdict.results) + len(verdict.hanging) >= 10, "iscsi-test-cu ran suspiciously few tests"
    assert verdict.ok, runner.report(verdict)
    assert junit.read_text().startswith("<testsuite")
