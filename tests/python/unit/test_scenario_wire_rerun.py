"""The runner's answer to a stopped virtual wire (no VM): a failed cell whose lab's wire stopped
runs once more on a new lab, the first attempt's report is kept beside it, the summary names it,
and a run that keeps losing its wire stops re-running. The cell runs, the lab and the wire check
are fakes here (named so); tests/python/lab/test_netdiag.py checks the wire check on a real lab."""
import json

from iscsilab import netdiag
from iscsilab.scenario import runner
from iscsilab.scenario.load import load_text
from iscsilab.scenario.runner import CellRun

SCENARIO = """\
name: wire
lab:
  targets: [{name: "iqn.2026-11.org.example:t0", tpgs: [{portals: [nic0]}]}]
matrix:
  n: [1, 2, 3, 4, 5]
steps:
  - wait: 1
"""


class FakeLab:
    downs = 0

    def down(self):
        FakeLab.downs += 1


def fake_record(cell, outcome):
    return {"cell": cell.id, "outcome": outcome, "duration": 1.0,
            "failures": [] if outcome == "passed" else ["stop load: stalled"], "steps": [],
            "expectations": [], "events": [], "faults": [], "io": {}, "measurements": [],
            "integrity": {}, "lab": {}}


def install_fakes(monkeypatch, outcomes: dict, wire: str | None):
    """outcomes: cell id -> list of outcomes, one per attempt."""
    attempts = {}

    def fake_run_one(cell, r, cell_out, pool, display, plotter):
        pool.lab = pool.lab or FakeLab()
        n = attempts[cell.id] = attempts.get(cell.id, 0) + 1
        outcome = outcomes.get(cell.id, ["passed"] * 9)[n - 1]
        rec = fake_record(cell, outcome)
        (cell_out / "result.json").write_text(json.dumps(rec))
        return CellRun(cell, r, rec, cell_out)

    monkeypatch.setattr(runner, "run_one", fake_run_one)
    monkeypatch.setattr(netdiag, "wire_lost", lambda lab: wire)
    monkeypatch.setattr(netdiag, "recovery_experiment", lambda lab: "nothing: still lost\n")
    return attempts


def test_a_cell_whose_wire_stopped_runs_again_and_keeps_its_first_report(tmp_path, monkeypatch,
                                                                         capsys):
    cells = load_text(SCENARIO, "wire.yaml")
    attempts = install_fakes(monkeypatch, {cells[1].id: ["failed", "passed"]},
                             "nic0 (10.77.0.2:3260): LIO listens ... neighbour FAILED")
    runs = runner.run(cells, tmp_path)
    assert [r.record["outcome"] for r in runs] == ["passed"] * 5
    assert attempts[cells[1].id] == 2 and attempts[cells[0].id] == 1
    again = runs[1].record["lab"]["wire_fault_rerun"]
    assert "neighbour FAILED" in again["seen"]
    first = json.loads((tmp_path / (runner.slug(cells[1].id) + ".wire-fault") /
                        "result.json").read_text())
    assert first["outcome"] == "failed"
    saved = json.loads((runs[1].out / "result.json").read_text())
    assert saved["lab"]["wire_fault_rerun"]["seen"] == again["seen"]
    out = capsys.readouterr().out
    assert "the lab's virtual wire stopped" in out and "5 passed, 0 failed" in out
    junit = (tmp_path / "junit.xml").read_text()
    assert "ran again on a new lab: the lab's virtual wire stopped" in junit
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["lab"]["wire_faults"][0]["cell"] == cells[1].id
    assert results["lab"]["reboots"]["the lab's virtual wire stopped"] == 1


def test_a_failure_that_is_not_the_wire_is_not_run_again(tmp_path, monkeypatch, capsys):
    cells = load_text(SCENARIO, "wire.yaml")
    attempts = install_fakes(monkeypatch, {cells[0].id: ["failed", "passed"]}, None)
    runs = runner.run(cells, tmp_path)
    assert runs[0].record["outcome"] == "failed" and attempts[cells[0].id] == 1
    assert "1 failed" in capsys.readouterr().out


def test_a_run_that_keeps_losing_its_wire_stops_running_cells_again(tmp_path, monkeypatch):
    cells = load_text(SCENARIO, "wire.yaml")
    attempts = install_fakes(monkeypatch, {c.id: ["failed", "failed"] for c in cells}, "lost")
    runs = runner.run(cells, tmp_path)
    assert [attempts[c.id] for c in cells] == [2] * runner.MAX_WIRE_RERUNS + [1] * (
        5 - runner.MAX_WIRE_RERUNS)
    assert all(r.record["outcome"] == "failed" for r in runs)
