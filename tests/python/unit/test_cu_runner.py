"""conformance/libiscsi/cu_runner.py on recorded CUnit XML (no VM): parsing, judging against an
expected-failure list (family-independent), JUnit output."""
import importlib.util
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[3] / "conformance" / "libiscsi" / "cu_runner.py"
spec = importlib.util.spec_from_file_location("cu_runner", RUNNER)
cu = importlib.util.module_from_spec(spec)
sys.modules["cu_runner"] = cu
spec.loader.exec_module(cu)

RECORDED = """<?xml version="1.0" ?>
<CUNIT_TEST_RUN_REPORT><CUNIT_RESULT_LISTING>
<CUNIT_RUN_SUITE><CUNIT_RUN_SUITE_SUCCESS><SUITE_NAME> iSCSIcmdsn </SUITE_NAME>
 <CUNIT_RUN_TEST_RECORD><CUNIT_RUN_TEST_SUCCESS><TEST_NAME> iSCSICmdSnTooHigh </TEST_NAME></CUNIT_RUN_TEST_SUCCESS></CUNIT_RUN_TEST_RECORD>
</CUNIT_RUN_SUITE_SUCCESS></CUNIT_RUN_SUITE>
<CUNIT_RUN_SUITE><CUNIT_RUN_SUITE_SUCCESS><SUITE_NAME> iSCSIResiduals </SUITE_NAME>
 <CUNIT_RUN_TEST_RECORD><CUNIT_RUN_TEST_FAILURE><TEST_NAME> Write10Residuals </TEST_NAME><FILE_NAME> a.c </FILE_NAME><LINE_NUMBER> 135 </LINE_NUMBER><CONDITION> CU_ASSERT_EQUAL(x,0) </CONDITION></CUNIT_RUN_TEST_FAILURE></CUNIT_RUN_TEST_RECORD>
 <CUNIT_RUN_TEST_RECORD><CUNIT_RUN_TEST_FAILURE><TEST_NAME> Write10Residuals </TEST_NAME><FILE_NAME> a.c </FILE_NAME><LINE_NUMBER> 140 </LINE_NUMBER><CONDITION> CU_ASSERT(y) </CONDITION></CUNIT_RUN_TEST_FAILURE></CUNIT_RUN_TEST_RECORD>
 <CUNIT_RUN_TEST_RECORD><CUNIT_RUN_TEST_FAILURE><TEST_NAME> Read10Invalid </TEST_NAME><FILE_NAME> b.c </FILE_NAME><LINE_NUMBER> 9 </LINE_NUMBER><CONDITION> CU_ASSERT(z) </CONDITION></CUNIT_RUN_TEST_FAILURE></CUNIT_RUN_TEST_RECORD>
</CUNIT_RUN_SUITE_SUCCESS></CUNIT_RUN_SUITE>
</CUNIT_RESULT_LISTING></CUNIT_TEST_RUN_REPORT>"""


def test_parse_merges_assertions_per_test():
    results = {r.name: r for r in cu.parse_cunit(RECORDED, "iSCSI")}
    assert results["iSCSI.iSCSIcmdsn.iSCSICmdSnTooHigh"].passed
    assert len(results["iSCSI.iSCSIResiduals.Write10Residuals"].failures) == 2


def test_judge_matches_across_families_and_reports_fixed_tests():
    results = cu.parse_cunit(RECORDED, "ALL")  # the ALL family runs the same tests
    expected = {"iSCSI.iSCSIResiduals.Write10Residuals": "overflow",
                "iSCSI.iSCSIcmdsn.iSCSICmdSnTooHigh": "used to fail"}
    verdict = cu.judge(results, expected)
    assert [r.name for r in verdict.unexpected_failures] == ["ALL.iSCSIResiduals.Read10Invalid"]
    assert [r.name for r in verdict.expected_failures] == ["ALL.iSCSIResiduals.Write10Residuals"]
    assert verdict.now_passing == ["iSCSI.iSCSIcmdsn.iSCSICmdSnTooHigh"]
    assert not verdict.ok


def test_junit_marks_expected_failures_skipped_and_others_failed():
    results = cu.parse_cunit(RECORDED, "iSCSI")
    expected = {"iSCSI.iSCSIResiduals.Write10Residuals": "overflow"}
    suite = ET.fromstring(cu.junit_xml(cu.judge(results, expected), "libiscsi.ramdisk", 1.0, expected))
    assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    cases = {c.get("name"): c for c in suite}
    assert cases["Write10Residuals"].find("skipped").get("message") == "expected failure: overflow"
    assert cases["Read10Invalid"].find("failure") is not None


def test_every_expected_list_parses():
    for path in (RUNNER.parent / "expected").glob("*.txt"):
        for name in cu.load_expected(path.stem):
            assert name.count(".") == 2, f"{path.name}: {name}"
