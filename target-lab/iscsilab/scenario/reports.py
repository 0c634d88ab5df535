"""What a run leaves in --out (default build/reports/scenarios/), for people and for CI:

  results.json              every cell and repeat: steps, events, measurements, outcome
  junit.xml                 one testcase per cell (and repeat), one per expectation
  index.html                one page: the summary table, each cell's timeline and failures
  <cell>/result.json        the cell's record (the same data as in results.json)
  <cell>/timeline.png       faults, events, I/O completions per 100 ms, expectation bands
  <cell>/console.log        failed cells: the guest's kernel log ...
  <cell>/lio.json           ... and LIO's configuration as rtslib-fb dumps it (secrets masked)
  sweep-<scenario>.png      matrix sweeps: each measured interval against the swept setting

and the summary table on stdout.
"""
from __future__ import annotations

import html
import json
import statistics
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from .record import write_json


def write_cell(run, plotter: "Plotter | None" = None) -> None:
    """The cell's result.json now; its timeline now, or by `plotter` beside the next cell."""
    write_json(run.out / "result.json", run.record)
    if plotter is not None:
        plotter.submit(run.record, run.out / "timeline.png")
    else:
        draw_timeline(run.record, run.out / "timeline.png")


def draw_timeline(record: dict, path: Path) -> None:
    try:
        from .plots import timeline
        timeline(record, path)
    except Exception as exc:  # noqa: BLE001 - a plot that fails must not lose the result
        path.with_suffix(".error").write_text(f"{type(exc).__name__}: {exc}\n")


class Plotter:
    """Draws timelines in a process of its own while the next cell runs (a plot takes about
    half a second of CPU; matplotlib's pyplot is not for threads). close() waits for them."""

    def __init__(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        self.pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self.pending = []

    def submit(self, record: dict, path: Path) -> None:
        self.pending.append(self.pool.submit(draw_timeline, record, path))

    def close(self) -> None:
        for f in self.pending:
            try:
                f.result(timeout=120)
            except Exception:  # noqa: BLE001 - draw_timeline records its own errors
                pass
        self.pool.shutdown(wait=True, cancel_futures=True)


def save_lab_evidence(run, lab) -> None:
    """For a failed cell: the guest's console, LIO's configuration and both ends of the lab's
    network at the end."""
    from .. import netdiag
    try:
        (run.out / "console.log").write_text(lab.console.text())
    except OSError:
        pass
    try:
        write_json(run.out / "lio.json", lab.provisioner.dump())
    except Exception as exc:  # noqa: BLE001 - the guest may be the thing that failed
        (run.out / "lio.json.error").write_text(f"{exc}\n")
    (run.out / "network.txt").write_text(netdiag.collect(lab))


# ------------------------------------------------------------------------ measurements
def key_intervals(record: dict) -> dict[str, float | None]:
    """The measured intervals worth a column: every expectation with a measured time, named by
    its label or its step and subject."""
    out = {}
    for e in record.get("expectations", []):
        name = e.get("label") or f"{e['index']} {e['subject']}"
        out[name] = e.get("measured")
    return out


def spread(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}s"
    return f"{statistics.median(values):.2f}s [{min(values):.2f}-{max(values):.2f}]"


def by_cell(runs) -> dict[str, list]:
    grouped: dict[str, list] = defaultdict(list)
    for r in runs:
        grouped[r.cell.id].append(r)
    return grouped


def summary_rows(runs) -> list[dict]:
    rows = []
    for cell_id, rs in by_cell(runs).items():
        outcomes = [r.record["outcome"] for r in rs]
        passed = outcomes.count("passed")
        result = "passed" if passed == len(rs) else ("FAILED" if passed == 0 else f"FLAKY {passed}/{len(rs)}")
        intervals: dict[str, list] = defaultdict(list)
        for r in rs:
            for k, v in key_intervals(r.record).items():
                intervals[k].append(v)
        rows.append({"cell": cell_id, "result": result, "runs": len(rs),
                     "seconds": statistics.median(r.record.get("duration", 0) for r in rs),
                     "intervals": {k: spread(v) for k, v in intervals.items()},
                     "raw": {k: v for k, v in intervals.items()},
                     "failures": [f for r in rs for f in r.record.get("failures", [])],
                     "known": [k for r in rs for k in r.record.get("lab", {}).get("known_kernel_reports", [])],
                     "dir": str(rs[0].out.parent if len(rs) > 1 else rs[0].out)})
    return rows


def summary_table(rows: list[dict], width: int = 60) -> str:
    lines = []
    name_w = min(48, max([len(r["cell"]) for r in rows] + [8]))
    lines.append(f"{'scenario':<{name_w}}  {'result':<11} {'time':>7}  measured (median [min-max] over runs)")
    lines.append("-" * (name_w + 2 + 11 + 9 + 2 + width))
    for r in rows:
        meas = "; ".join(f"{k} {v}" for k, v in r["intervals"].items())
        lines.append(f"{r['cell'][:name_w]:<{name_w}}  {r['result']:<11} {r['seconds']:6.1f}s  {meas}")
    return "\n".join(lines)


# ------------------------------------------------------------------------ the whole run
def write_run(runs, out: Path, lab_stats, seconds: float) -> list[dict]:
    rows = summary_rows(runs)
    write_json(out / "results.json", {
        "seconds": seconds, "lab": lab_stats.__dict__,
        "cells": [{"cell": r.cell.id, "repeat": r.repeat, "source": r.cell.source,
                   "params": r.cell.params, "dir": str(r.out), **r.record} for r in runs]})
    write_junit(runs, out / "junit.xml")
    sweeps = []
    try:
        from .plots import sweeps as plot_sweeps
        sweeps = plot_sweeps(runs, out)
    except Exception as exc:  # noqa: BLE001
        (out / "sweeps.error").write_text(f"{type(exc).__name__}: {exc}\n")
    write_html(runs, rows, out / "index.html", lab_stats, seconds, sweeps)
    print_summary(rows, out, lab_stats, seconds)
    return rows


def print_summary(rows, out: Path, lab_stats, seconds: float) -> None:
    if not rows:
        print("no scenario ran")
        return
    print()
    print(summary_table(rows))
    failed = [r for r in rows if r["result"] != "passed"]
    for r in rows:
        for k in r["known"]:
            print(f"\n{r['cell']}: known kernel report (not a failure): {k['report'][:100]}\n"
                  f"  {k['reason']}")
    for r in failed:
        print(f"\n{r['cell']}: {r['result']}")
        for f in r["failures"][:8]:
            print(f"  - {f}")
    for w in getattr(lab_stats, "wire_faults", []):
        print(f"\n{w['cell']}: the lab's virtual wire stopped (not LIO, not the initiator): "
              f"{w['seen']}\n  the cell ran again on a new lab: {w['rerun']}")
    boots = lab_stats.boots
    mean_boot = statistics.mean(lab_stats.boot_seconds) if lab_stats.boot_seconds else 0
    resets = statistics.mean(lab_stats.reset_seconds) if lab_stats.reset_seconds else 0
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed ({seconds / 60:.1f} min); "
          f"labs booted {boots}, reused {lab_stats.reuses} times "
          f"(a boot took {mean_boot:.1f} s, a reset {resets:.1f} s: reuse saved "
          f"~{lab_stats.reuses * max(0.0, mean_boot - resets):.0f} s)")
    print(f"reports: {out}/index.html, junit.xml, results.json")


def write_junit(runs, path: Path) -> None:
    suite = ET.Element("testsuite", name="iscsilab scenarios")
    tests = failures = 0
    total_time = 0.0
    for r in runs:
        rec = r.record
        name = r.cell.id + (f" (run {r.repeat + 1})" if any(x.repeat for x in runs) else "")
        classname = "scenarios." + Path(r.cell.source).stem
        case = ET.SubElement(suite, "testcase", classname=classname, name=name,
                             time=f"{rec.get('duration', 0):.3f}", file=r.cell.source)
        tests += 1
        total_time += rec.get("duration", 0)
        again = (rec.get("lab") or {}).get("wire_fault_rerun")
        if again:
            ET.SubElement(case, "system-out").text = (
                f"ran again on a new lab: the lab's virtual wire stopped ({again['seen']}); "
                f"first attempt: {again['first_attempt']}")
        if rec["outcome"] != "passed":
            failures += 1
            f = ET.SubElement(case, "failure", message=(rec["failures"] or ["failed"])[0][:500])
            f.text = "\n".join(rec["failures"])
        for e in rec.get("expectations", []):
            tests += 1
            measured = "not measured" if e.get("measured") is None else f"measured {e['measured']:.3f} s"
            sub = ET.SubElement(suite, "testcase", classname=classname + "." + r.cell.scenario,
                                name=f"{name} :: step {e['index']} expect {e['text']}",
                                time=f"{e['measured'] or 0:.3f}")
            ET.SubElement(sub, "system-out").text = f"{measured}; {e['message']}"
            if not e["passed"]:
                failures += 1
                ET.SubElement(sub, "failure", message=f"{measured}: {e['message']}"[:500])
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("time", f"{total_time:.3f}")
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def write_html(runs, rows, path: Path, lab_stats, seconds: float, sweeps: list[Path]) -> None:
    e = html.escape
    parts = ["<!doctype html><meta charset=utf-8><title>iscsilab run</title>",
             "<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
             ".passed{color:#070}.FAILED,.FLAKY{color:#b00;font-weight:bold}"
             "img{max-width:100%;border:1px solid #ddd}pre{background:#f6f6f6;padding:8px}</style>",
             f"<h1>iscsilab run</h1><p>{len(rows)} scenario cells in {seconds / 60:.1f} min; "
             f"labs booted {lab_stats.boots}, reused {lab_stats.reuses} times.</p>",
             "<table><tr><th>scenario</th><th>result</th><th>time</th><th>measured</th>"
             "<th>files</th></tr>"]
    for r in rows:
        d = Path(r["dir"])
        rel = d.relative_to(path.parent) if d.is_relative_to(path.parent) else d
        cls = r["result"].split()[0]
        meas = "<br>".join(f"{e(k)}: {e(v)}" for k, v in r["intervals"].items())
        parts.append(f"<tr><td><a href='#{e(r['cell'])}'>{e(r['cell'])}</a></td>"
                     f"<td class='{cls}'>{e(r['result'])}</td><td>{r['seconds']:.1f}s</td>"
                     f"<td>{meas}</td><td><a href='{e(str(rel))}'>{e(str(rel))}/</a></td></tr>")
    parts.append("</table>")
    for p in sweeps:
        parts.append(f"<h2>{e(p.stem)}</h2><img src='{e(p.name)}'>")
    for run in runs:
        rec = run.record
        rel = run.out.relative_to(path.parent) if run.out.is_relative_to(path.parent) else run.out
        parts.append(f"<h2 id='{e(run.cell.id)}'>{e(run.cell.id)}"
                     + (f" (run {run.repeat + 1})" if run.repeat else "") +
                     f" — <span class='{'passed' if rec['outcome'] == 'passed' else 'FAILED'}'>"
                     f"{e(rec['outcome'])}</span></h2>")
        parts.append(f"<p>{e(run.cell.description)}</p><p><small>{e(run.cell.source)}</small></p>")
        if (run.out / "timeline.png").exists():
            parts.append(f"<img src='{e(str(rel))}/timeline.png'>")
        if rec["failures"]:
            parts.append("<pre>" + e("\n".join(rec["failures"])) + "</pre>")
        parts.append("<table><tr><th>step</th><th>what</th><th>start</th><th>result</th></tr>")
        for s in rec["steps"]:
            parts.append(f"<tr><td>{e(s['index'])}</td><td>{e(s['text'])}<br><small>{e(s['where'])}"
                         f"</small></td><td>{s['start']:.2f}s</td><td class='{'passed' if s['status'] == 'passed' else 'FAILED'}'>"
                         f"{e(s['status'])} {e(s['error'])}</td></tr>")
        parts.append("</table>")
        links = [f for f in ("result.json", "console.log", "lio.json") if (run.out / f).exists()]
        parts.append("<p>" + " · ".join(f"<a href='{e(str(rel))}/{f}'>{f}</a>" for f in links) + "</p>")
    path.write_text("\n".join(parts))


def load_results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())
