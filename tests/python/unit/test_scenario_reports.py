"""Report writing from recorded cells (no VM): JUnit with a testcase per cell and per expectation
and the measured time in the message, results.json, the summary table with spreads and flakes,
the HTML page, the timeline and sweep plots as PNG files."""
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from iscsilab.scenario import reports
from iscsilab.scenario.load import load_text
from iscsilab.scenario.runner import CellRun, LabStats

SCENARIO = """\
name: nop
lab:
  targets: [{name: "iqn.2026-11.org.example:t0", tpgs: [{portals: [nic0]}]}]
matrix:
  interval: [1, 5]
steps:
  - wait: 1
"""


def record(cell_id, outcome, measured, passed=True):
    return {
        "cell": cell_id, "outcome": outcome, "duration": 12.5,
        "failures": [] if outcome == "passed" else ["step 4 (nop.yaml:9:5): expect conn_error: late"],
        "steps": [{"index": "1", "kind": "wait", "text": "wait for=1", "where": "nop.yaml:7:5",
                   "start": 0.1, "end": 1.1, "status": "passed", "error": "", "label": None,
                   "details": {}}],
        "expectations": [{"index": "4", "subject": "conn_error", "label": "detected",
                          "text": "conn_error ISCSI_ERR_NOP_TIMEDOUT from cut within [2, 6] s",
                          "window": [2, 6], "anchor": 3.0, "measured": measured, "passed": passed,
                          "message": "conn_error: ping timed out"}],
        "events": [{"initiator": "host0", "session": "s0", "type": "conn_error", "t": 3 + measured,
                    "conn_error": 22, "conn_error_name": "ISCSI_ERR_NOP_TIMEDOUT", "detail": ""},
                   {"initiator": "host0", "session": "s0", "type": "login", "t": 0.5,
                    "conn_error": 0, "conn_error_name": None, "detail": ""}],
        "faults": [{"kind": "freeze", "on": 3.0, "off": 9.0}],
        "io": {"load": {"completions": [[t / 10, True] for t in range(0, 30)] +
                        [[t / 10, True] for t in range(90, 120)] + [[9.05, False]],
                        "failed": []}},
        "measurements": [], "integrity": {}, "lab": {},
    }


def runs(tmp_path: Path):
    cells = load_text(SCENARIO, "nop.yaml")
    out = []
    for cell in cells:
        for r, m in enumerate([4.9, 5.1, 5.0]):
            outcome = "failed" if (cell.params["interval"] == 5 and r == 1) else "passed"
            out.append(CellRun(cell, r, record(cell.id, outcome, m + cell.params["interval"],
                                               outcome == "passed"),
                               tmp_path / cell.id / f"run{r + 1}"))
    return out


def test_junit_has_a_case_per_cell_and_per_expectation_with_the_measured_time(tmp_path):
    rs = runs(tmp_path)
    reports.write_junit(rs, tmp_path / "junit.xml")
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    cases = suite.findall("testcase")
    assert len(cases) == 12 and suite.get("tests") == "12" and suite.get("failures") == "2"
    exp = [c for c in cases if ":: step 4 expect" in c.get("name")]
    assert len(exp) == 6
    failed = [c for c in exp if c.find("failure") is not None]
    assert len(failed) == 1 and "measured 10.100 s" in failed[0].find("failure").get("message")
    assert "measured" in exp[0].find("system-out").text


def test_summary_shows_spread_over_repeats_and_flakes(tmp_path):
    rows = reports.summary_rows(runs(tmp_path))
    by = {r["cell"]: r for r in rows}
    assert by["nop[interval=1]"]["result"] == "passed"
    assert by["nop[interval=5]"]["result"] == "FLAKY 2/3"
    assert by["nop[interval=1]"]["intervals"]["detected"] == "6.00s [5.90-6.10]"
    table = reports.summary_table(rows)
    assert "FLAKY 2/3" in table and "detected 6.00s [5.90-6.10]" in table


def test_the_whole_run_writes_json_html_and_plots(tmp_path, capsys):
    rs = runs(tmp_path)
    for r in rs:
        reports.write_cell(r)
        assert (r.out / "result.json").exists()
        assert (r.out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    reports.write_run(rs, tmp_path, LabStats(boots=1, boot_seconds=[5.0], reuses=5,
                                             reset_seconds=[1.0]), 80.0)
    data = json.loads((tmp_path / "results.json").read_text())
    assert len(data["cells"]) == 6 and data["lab"]["boots"] == 1
    page = (tmp_path / "index.html").read_text()
    assert "nop[interval=5]" in page and "timeline.png" in page and "FLAKY 2/3" in page
    sweep = tmp_path / "sweep-nop-interval.png"
    assert sweep.read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out
    assert "1 passed, 1 failed" in out and "reuse saved ~20 s" in out
